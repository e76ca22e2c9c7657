namespace Meta.Functional;

/// <summary>One named parameter tensor inside a flat parameter vector.</summary>
/// <param name="Name">Name, e.g. <c>layer1.weight</c>.</param>
/// <param name="Shape">Shape of one task's copy.</param>
/// <param name="Offset">Index of its first element in the flat vector.</param>
/// <param name="Layer">Index of the layer it belongs to.</param>
public sealed record ParameterSlot(string Name, long[] Shape, long Offset, int Layer)
{
    /// <summary>Number of elements.</summary>
    public long Size => Shape.Aggregate(1L, (a, b) => a * b);
}

/// <summary>
/// Where each parameter lives in a network's flat parameter vector. Shared weights θ are one tensor [P]; fast weights of
/// T tasks are one tensor [T, P]: a single autograd call yields every task's gradient, and an update is one operation.
/// </summary>
public sealed class ParameterLayout
{
    /// <summary>Creates a layout from slots in order; offsets must be contiguous.</summary>
    public ParameterLayout(IReadOnlyList<ParameterSlot> slots)
    {
        Slots = slots;
        Count = slots.Count == 0 ? 0 : slots[^1].Offset + slots[^1].Size;
    }

    /// <summary>The parameters in order.</summary>
    public IReadOnlyList<ParameterSlot> Slots { get; }

    /// <summary>Total number of scalars P.</summary>
    public long Count { get; }

    /// <summary>Builds a layout from (name, shape, layer) triples laid out back to back.</summary>
    public static ParameterLayout Of(params (string Name, long[] Shape, int Layer)[] parameters)
    {
        var slots = new List<ParameterSlot>(parameters.Length);
        long offset = 0;
        foreach (var (name, shape, layer) in parameters)
        {
            var slot = new ParameterSlot(name, shape, offset, layer);
            slots.Add(slot);
            offset += slot.Size;
        }
        return new ParameterLayout(slots);
    }
}
