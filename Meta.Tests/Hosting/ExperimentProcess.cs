using System.Diagnostics;

namespace Meta.Tests.Hosting;

/// <summary>Runs the built Meta.Experiments program as a child process, as a user would.</summary>
internal static class ExperimentProcess
{
    public sealed record Result(int ExitCode, string Output, string Error);

    public static Process Start(IEnumerable<string> args, IDictionary<string, string>? environment = null) =>
        Start(Path.Combine(AppContext.BaseDirectory, "Meta.Experiments.dll"), args, environment);

    /// <summary>Starts the program <paramref name="dll"/> (a copy of Meta.Experiments elsewhere).</summary>
    public static Process Start(string dll, IEnumerable<string> args, IDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        info.ArgumentList.Add(dll);
        foreach (var a in args) info.ArgumentList.Add(a);
        if (environment is not null)
            foreach (var (k, v) in environment) info.Environment[k] = v;
        return Process.Start(info)!;
    }

    public static Result Run(IEnumerable<string> args, IDictionary<string, string>? environment = null, int timeoutSeconds = 120) =>
        Run(Path.Combine(AppContext.BaseDirectory, "Meta.Experiments.dll"), args, environment, timeoutSeconds);

    public static Result Run(string dll, IEnumerable<string> args, IDictionary<string, string>? environment = null, int timeoutSeconds = 120)
    {
        using var process = Start(dll, args, environment);
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeoutSeconds * 1000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("the experiment process did not finish");
        }
        return new Result(process.ExitCode, output.Result, error.Result);
    }
}
