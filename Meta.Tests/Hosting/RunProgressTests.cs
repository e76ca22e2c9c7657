using Meta.Hosting;
using Microsoft.Extensions.Logging.Abstractions;

namespace Meta.Tests.Hosting;

public sealed class RunProgressTests
{
    [Fact]
    public void Phases_count_their_units_and_end_when_the_next_begins()
    {
        Assert.False(RunProgress.Live);   // the test host's output is redirected: plain lines, no display thread
        using var progress = new RunProgress(NullLogger.Instance);
        var training = progress.Begin("training", 100, "it", done: 20);
        training.Report(40, 0.5);
        Assert.Equal(40, training.Done);
        Assert.False(training.Completed);

        var evaluation = progress.Begin("evaluation", 18, "cells");
        Assert.True(training.Completed);
        evaluation.Advance();
        evaluation.Advance(2);
        Assert.Equal(3, evaluation.Done);
        var frozen = training.Elapsed;
        Assert.Equal(frozen, training.Elapsed);   // a completed phase's time no longer grows

        progress.Stop();
        Assert.True(evaluation.Completed);
        Assert.Equal(["training", "evaluation"], progress.Durations().Select(d => d.Name));
    }
}
