namespace Meta.Distributed;

/// <summary>
/// N ranks inside one process, one thread each, meeting at a barrier for every collective: the reference the MPI
/// implementation is tested against. Create a group, then give <see cref="Rank"/>(r) to the thread playing rank r.
/// A rank that fails stops arriving; the others then time out with a clear error instead of waiting for ever.
/// </summary>
public sealed class InProcessGroup : IDisposable
{
    private readonly Barrier _barrier;
    private readonly double[][] _slots;
    private readonly TimeSpan _timeout;

    /// <summary>Creates a group of <paramref name="size"/> ranks; a collective waits at most <paramref name="timeout"/>.</summary>
    public InProcessGroup(int size, TimeSpan? timeout = null)
    {
        if (size < 1) throw new ArgumentOutOfRangeException(nameof(size), size, "a group needs at least one rank");
        Size = size;
        _slots = new double[size][];
        _barrier = new Barrier(size);
        _timeout = timeout ?? TimeSpan.FromSeconds(60);
    }

    /// <summary>Number of ranks.</summary>
    public int Size { get; }

    /// <summary>The reducer for rank <paramref name="rank"/>.</summary>
    public IAllReducer Rank(int rank) =>
        rank >= 0 && rank < Size ? new Member(this, rank) : throw new ArgumentOutOfRangeException(nameof(rank));

    /// <inheritdoc />
    public void Dispose() => _barrier.Dispose();

    private void Wait(int rank)
    {
        if (!_barrier.SignalAndWait(_timeout))
            throw new TimeoutException($"rank {rank}: the other ranks did not reach the collective within {_timeout.TotalSeconds:0} s");
    }

    private sealed class Member(InProcessGroup group, int rank) : IAllReducer
    {
        public int Rank => rank;
        public int Size => group.Size;

        public void SumInPlace(double[] values)
        {
            var all = Exchange(values);
            Array.Clear(values);
            foreach (var contribution in all)
            {
                if (contribution.Length != values.Length) throw new InvalidOperationException("ranks contributed buffers of different lengths");
                for (var i = 0; i < values.Length; i++) values[i] += contribution[i];
            }
        }

        public double[] Gather(double[] values) => [.. Exchange(values).SelectMany(v => v)];

        private double[][] Exchange(double[] values)
        {
            group._slots[rank] = [.. values];
            group.Wait(rank);                     // every rank has written
            var all = group._slots.Select(s => s).ToArray();
            group.Wait(rank);                     // every rank has read
            return all;
        }

        public void Dispose() { }
    }
}
