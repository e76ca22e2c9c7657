using Meta.Tasks;
using TorchSharp;
using static TorchSharp.torch;

namespace Meta.Training;

/// <summary>
/// The next iteration's episode, drawn during the current meta-step: with <c>--parallelism tasks</c>,
/// <see cref="TaskParallel.MetaStep"/> runs <see cref="Ahead"/>'s draw on the calling thread while the workers start on
/// the step's tasks, so sampling leaves the serial part of an iteration. The draws keep their order on
/// <see cref="RunSeeds.Tasks"/> (episode i, then i + 1, nothing from that generator in between: a step that may run
/// task-parallel draws no random numbers), so a run is the same episode for episode as without it; a checkpoint written
/// between the draw and the next iteration records the generator from before the draw (<see cref="RunSeeds"/>), so a
/// resumed run draws that episode again. Not for adaptive samplers, whose next tasks depend on this step's losses.
/// </summary>
public sealed class EpisodeLookahead(RunSeeds seeds) : IDisposable
{
    private Episode? _next;

    /// <summary>
    /// The episode drawn ahead for this iteration, its tensors now in the current dispose scope; null when none was drawn
    /// (the first iteration, or a step that did not split), in which case the caller draws it as usual.
    /// </summary>
    public Episode? Take()
    {
        if (_next is not { } episode) return null;
        _next = null;
        seeds.CaughtUp();
        if (torch.CurrentDisposeScope is { } scope)
            scope.Attach(episode.SupportX, episode.SupportY, episode.QueryX, episode.QueryY);
        return episode;
    }

    /// <summary>
    /// The work to hand to <see cref="TaskParallel.MetaStep"/> as its <c>alongside</c>: draws the next iteration's episode
    /// with <paramref name="draw"/> (which must draw from <see cref="RunSeeds.Tasks"/> and nothing else shared with the step).
    /// </summary>
    public Action Ahead(Func<Episode> draw)
    {
        ArgumentNullException.ThrowIfNull(draw);
        return () =>
        {
            Discard();
            seeds.BeginDrawAhead();
            using var scope = NewDisposeScope();            // the draw's intermediates go; the episode stays for the next iteration
            var episode = draw();
            foreach (var t in new[] { episode.SupportX, episode.SupportY, episode.QueryX, episode.QueryY }) t.DetachFromDisposeScope();
            _next = episode;
        };
    }

    /// <summary>Disposes an episode drawn ahead and not taken.</summary>
    public void Dispose()
    {
        Discard();
        seeds.CaughtUp();
    }

    private void Discard()
    {
        if (_next is not { } episode) return;
        _next = null;
        foreach (var t in new[] { episode.SupportX, episode.SupportY, episode.QueryX, episode.QueryY }) t.Dispose();
    }
}
