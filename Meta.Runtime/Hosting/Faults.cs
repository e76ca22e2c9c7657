using Meta.Checkpoints;
using Meta.Distributed;
using Meta.Tasks.Images;

namespace Meta.Hosting;

/// <summary>
/// Turns any exception that reaches the program's error boundary into its exit code and one line for stderr: bad input
/// (an option, a configuration source, a checkpoint, a data folder) exits 2; a failed run (a NaN, a full disk, anything
/// unexpected) exits 1. The line never carries a stack trace; for an unexpected failure the full exception goes to
/// <c>error.log</c> in the run folder when one exists.
/// </summary>
internal static class Faults
{
    private const int DiskFullUnix = 28;                        // ENOSPC
    private const int DiskFullWindows = unchecked((int)0x80070070);
    private const int QuotaUnix = 122;                          // EDQUOT

    /// <summary>The exit code and the one-line message (without the "error: " prefix) for <paramref name="exception"/>.</summary>
    public static (int Code, string Line) Describe(Exception exception, string? logFile)
    {
        var e = Unwrap(exception);
        return e switch
        {
            OptionException or CheckpointException or DatasetException => (ExperimentExitCode.BadInput, OneLine(e.Message)),
            NumericalFaultException or DistributedException or NativeLibraryLoadException => (ExperimentExitCode.Failure, OneLine(e.Message)),
            IOException io when IsDiskFull(io) =>
                (ExperimentExitCode.Failure, $"the disk is full ({OneLine(io.Message)}); free some space or point --output elsewhere, then continue with --resume latest"),
            IOException or UnauthorizedAccessException =>
                (ExperimentExitCode.Failure, $"cannot write or read a file: {OneLine(e.Message)}"),
            OutOfMemoryException =>
                (ExperimentExitCode.Failure, "out of memory; lower --meta-batch, --shots, --query-shots, --inner-steps or --eval-tasks"),
            _ => (ExperimentExitCode.Failure,
                $"the experiment failed: {e.GetType().Name}: {OneLine(e.Message)}" + (logFile is null ? "" : $" (details in {logFile})")),
        };
    }

    /// <summary>Whether <paramref name="e"/> says the disk (or the user's quota) is full.</summary>
    public static bool IsDiskFull(IOException e) =>
        e.HResult is DiskFullUnix or QuotaUnix or DiskFullWindows
        || e.Message.Contains("No space left", StringComparison.OrdinalIgnoreCase)
        || e.Message.Contains("quota exceeded", StringComparison.OrdinalIgnoreCase);

    private static Exception Unwrap(Exception e)
    {
        while (true)
        {
            switch (e)
            {
                case AggregateException { InnerExceptions.Count: 1 } a:
                    e = a.InnerExceptions[0];
                    continue;
                case System.Reflection.TargetInvocationException { InnerException: { } inner }:
                    e = inner;
                    continue;
                case TypeInitializationException { InnerException: { } inner }:
                    e = inner;
                    continue;
                default:
                    return e;
            }
        }
    }

    /// <summary>The message on one line (line breaks become "; ").</summary>
    public static string OneLine(string message) =>
        string.Join("; ", message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
