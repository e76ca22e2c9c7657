using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Meta.Hosting;

/// <summary>The process exit code an experiment leaves behind.</summary>
public sealed class ExperimentExitCode
{
    /// <summary>Completed.</summary>
    public const int Success = 0;
    /// <summary>The run failed.</summary>
    public const int Failure = 1;
    /// <summary>Bad command line or configuration.</summary>
    public const int BadInput = 2;
    /// <summary>Stopped early by Ctrl+C / SIGTERM (128 + SIGINT).</summary>
    public const int Stopped = 130;

    /// <summary>The code; a failure until the experiment says otherwise.</summary>
    public int Value { get; set; } = Failure;
}

/// <summary>
/// Runs one experiment's trainer as a background service. When the trainer returns, the host is stopped with exit
/// code 0 (completed) or 130 (stopped early); a failure is logged and exits 1 (2 for a bad option).
/// </summary>
public sealed partial class ExperimentHostedService(
    IExperimentTrainer trainer,
    ExperimentRun run,
    ExperimentExitCode exitCode,
    IHostApplicationLifetime lifetime,
    ILogger<ExperimentHostedService> logger) : BackgroundService
{
    /// <inheritdoc />
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.Run(() =>
    {
        try
        {
            RunOutcome outcome;
            try
            {
                outcome = trainer.Run(stoppingToken);
            }
            finally
            {
                run.StopProgress();   // the live display ends before any error line is printed
            }
            exitCode.Value = outcome == RunOutcome.Completed ? ExperimentExitCode.Success : ExperimentExitCode.Stopped;
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            exitCode.Value = ExperimentExitCode.Stopped;
        }
        catch (Exception e) when (e is OptionException or Meta.Checkpoints.CheckpointException or Meta.Tasks.Images.DatasetException)
        {
            Console.Error.WriteLine("error: " + e.Message);
            exitCode.Value = ExperimentExitCode.BadInput;
        }
        catch (Exception e) when (e is NumericalFaultException or Meta.Distributed.DistributedException)
        {
            Console.Error.WriteLine("error: " + e.Message);
            exitCode.Value = ExperimentExitCode.Failure;
        }
        catch (Exception e)
        {
            LogFailed(logger, e);
            exitCode.Value = ExperimentExitCode.Failure;
        }
        finally
        {
            lifetime.StopApplication();
        }
    }, CancellationToken.None);

    [LoggerMessage(1, LogLevel.Critical, "the experiment failed")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
