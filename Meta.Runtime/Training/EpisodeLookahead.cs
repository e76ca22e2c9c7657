using Meta.Tasks;
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
/// <remarks>
/// An episode taken here stays owned by the lookahead, not the iteration's dispose scope: the draw ahead during the next
/// iteration's step disposes it (on the calling thread while the workers compute, off the serial part of an iteration);
/// when no draw ahead runs in between, the take after next does, and the lookahead's disposal disposes whatever is left.
/// </remarks>
public sealed class EpisodeLookahead(RunSeeds seeds) : IDisposable
{
    private Episode? _next;
    private Episode? _taken;      // this iteration's
    private Episode? _retired;    // the iteration before's

    /// <summary>
    /// The episode drawn ahead for this iteration; null when none was drawn (the first iteration, or a step that did not
    /// split), in which case the caller draws it as usual. Its tensors stay valid through this iteration and until the next
    /// iteration's step draws ahead (see the remarks).
    /// </summary>
    public Episode? Take()
    {
        if (_next is not { } episode) return null;
        _next = null;
        seeds.CaughtUp();
        Dispose(ref _retired);                          // left over only when the last step did not draw ahead
        _retired = _taken;
        _taken = episode;
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
            Dispose(ref _retired);
            Dispose(ref _next);
            seeds.BeginDrawAhead();
            using var scope = NewDisposeScope();            // the draw's intermediates go; the episode stays for the next iteration
            var episode = draw();
            foreach (var t in new[] { episode.SupportX, episode.SupportY, episode.QueryX, episode.QueryY }) t.DetachFromDisposeScope();
            _next = episode;
        };
    }

    /// <summary>Disposes the episodes taken and not yet disposed, and one drawn ahead and not taken.</summary>
    public void Dispose()
    {
        Dispose(ref _retired);
        Dispose(ref _taken);
        Dispose(ref _next);
        seeds.CaughtUp();
    }

    private static void Dispose(ref Episode? episode)
    {
        if (episode is not { } e) return;
        episode = null;
        e.SupportX.Dispose();
        e.SupportY.Dispose();
        e.QueryX.Dispose();
        e.QueryY.Dispose();
    }
}
