using Meta.Checkpoints;
using Meta.Distributed;
using static TorchSharp.torch;

namespace Meta.Sampling;

/// <summary>
/// A task sampler inside a training run: draws each meta-batch, feeds the losses back, and is part of the checkpoint.
/// In a distributed run every rank holds an identical sampler (same seed): each draws the whole meta-batch, keeps its
/// own contiguous share of the tasks, and after the step the ranks' losses are gathered so that every rank inserts the
/// whole batch in the same order. The queues (and their random streams) therefore stay identical on all ranks, while
/// each rank trains on different tasks.
/// </summary>
public sealed class SamplerSession : ICheckpointable
{
    private readonly IAllReducer _group;
    private readonly int _metaBatch;
    private readonly int _offset;
    private readonly int _share;
    private TaskDraw? _full;

    /// <summary>Wraps <paramref name="sampler"/> for meta-batches of <paramref name="metaBatch"/> tasks over <paramref name="group"/>.</summary>
    public SamplerSession(ITaskSampler sampler, IAllReducer group, int metaBatch)
    {
        Sampler = sampler;
        _group = group;
        _metaBatch = metaBatch;
        _share = group.Share(metaBatch);
        _offset = Enumerable.Range(0, group.Rank).Sum(r => metaBatch / group.Size + (r < metaBatch % group.Size ? 1 : 0));
    }

    /// <summary>The sampler.</summary>
    public ITaskSampler Sampler { get; }

    /// <summary>The last full draw (all ranks' tasks), for metrics.</summary>
    public TaskDraw? LastDraw => _full;

    /// <summary>Draws one meta-batch and returns this rank's share of it (the whole batch in a single process).</summary>
    public TaskDraw Draw()
    {
        _full = Sampler.Draw(_metaBatch);
        if (_group.Size == 1) return _full;
        var d = _full.Parameters.Dims()[1];
        return new TaskDraw(
            _full.Parameters.narrow(0, _offset, _share),
            _full.Weights?.narrow(0, _offset, _share),
            _full.Cells?[_offset..(_offset + _share)],
            _full.Values[(int)(_offset * d)..(int)((_offset + _share) * d)],
            _full.ImportanceWeights?[_offset..(_offset + _share)]);
    }

    /// <summary>Inserts this rank's per-task query losses (and, distributed, every other rank's) into the sampler.</summary>
    public void Observe(TaskDraw share, Tensor taskLosses)
    {
        if (_group.Size == 1)
        {
            Sampler.Observe(share, taskLosses);
            return;
        }
        var local = taskLosses.to_type(ScalarType.Float64).contiguous().data<double>().ToArray();
        var width = _metaBatch / _group.Size + 1;                          // the largest share, padded
        var padded = new double[width];
        Array.Fill(padded, double.NaN);
        local.CopyTo(padded, 0);
        var gathered = _group.Gather(padded);
        var all = new double[_metaBatch];
        var next = 0;
        for (var r = 0; r < _group.Size; r++)
        {
            var count = _metaBatch / _group.Size + (r < _metaBatch % _group.Size ? 1 : 0);
            Array.Copy(gathered, r * width, all, next, count);
            next += count;
        }
        Sampler.Observe(_full!, all);
    }

    /// <inheritdoc />
    public void Save(string prefix, CheckpointWriter writer)
    {
        var state = Sampler.ExportState();
        writer.Text(prefix + "kind", state.Kind.ToString());
        writer.Int64(prefix + "draws", state.Draws);
        writer.Int64(prefix + "decayed", state.DecayedDraws);
        if (state.Random is { } random) writer.Doubles(prefix + "random", Bits(random));
        if (state.Queue is { } q)
        {
            writer.Doubles(prefix + "queue.Dims()", [.. q.Shape.Select(s => (double)s)]);
            writer.Doubles(prefix + "queue.losses", q.Losses);
            writer.Doubles(prefix + "queue.changes", q.Changes);
            writer.Doubles(prefix + "queue.counts", [.. q.Counts.Select(c => (double)c)]);
            writer.Doubles(prefix + "queue.random", Bits(q.Random));
        }
    }

    /// <inheritdoc />
    public void Load(string prefix, CheckpointReader reader)
    {
        var kind = reader.Text(prefix + "kind");
        if (kind != Sampler.Kind.ToString())
            throw new CheckpointException($"checkpoint sampler is {kind}, this run's is {Sampler.Kind}: the checkpoint is from another configuration");
        PriorityQueueState? queue = null;
        if (reader.Has(prefix + "queue.losses"))
        {
            queue = new PriorityQueueState(
                [.. reader.Doubles(prefix + "queue.Dims()").Select(s => (int)s)],
                reader.Doubles(prefix + "queue.losses"),
                reader.Doubles(prefix + "queue.changes"),
                [.. reader.Doubles(prefix + "queue.counts").Select(c => (long)c)],
                Unbits(reader.Doubles(prefix + "queue.random")));
        }
        var random = reader.Has(prefix + "random") ? Unbits(reader.Doubles(prefix + "random")) : null;
        try
        {
            Sampler.ImportState(new TaskSamplerState(Sampler.Kind, reader.Int64(prefix + "draws"), reader.Int64(prefix + "decayed"), random, queue));
        }
        catch (ArgumentException e)
        {
            throw new CheckpointException("checkpoint sampler state does not fit this run: " + e.Message);
        }
    }

    private static double[] Bits(ulong[] values) => [.. values.Select(v => BitConverter.Int64BitsToDouble((long)v))];

    private static ulong[] Unbits(double[] values) => [.. values.Select(v => (ulong)BitConverter.DoubleToInt64Bits(v))];
}
