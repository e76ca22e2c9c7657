using Microsoft.Extensions.Hosting;

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

    /// <summary>Whether the experiment has ended and set <see cref="Value"/> (false if the host gave up waiting for it).</summary>
    public bool Decided { get; set; }
}

/// <summary>
/// Runs one experiment's trainer as a background service. When the trainer returns, the host is stopped with exit
/// code 0 (completed) or 130 (stopped early). A stop that arrives outside the training loop (pre-training a baseline,
/// evaluating) ends the run as stopped too: its checkpoint was written when training ended, and the summary says
/// <i>stopped</i>. A failure prints one line (<see cref="Faults"/>) and exits 1, or 2 for bad input; the full exception
/// of an unexpected failure goes to <c>error.log</c> in the run folder.
/// </summary>
public sealed class ExperimentHostedService(
    IExperimentTrainer trainer,
    ExperimentRun run,
    ExperimentExitCode exitCode,
    IHostApplicationLifetime lifetime) : BackgroundService
{
    /// <inheritdoc />
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.Run(() =>
    {
        run.Stopping = stoppingToken;
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
            try
            {
                run.FinishInterrupted();
            }
            catch (Exception e)
            {
                Fail(e);
            }
        }
        catch (Exception e)
        {
            Fail(e);
        }
        finally
        {
            exitCode.Decided = true;
            lifetime.StopApplication();
        }
    }, CancellationToken.None);

    private void Fail(Exception e)
    {
        var (code, line) = Faults.Describe(e, run.WriteErrorLog(e));
        Console.Error.WriteLine("error: " + line);
        exitCode.Value = code;
    }
}
