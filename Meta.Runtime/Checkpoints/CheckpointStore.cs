using System.Globalization;

namespace Meta.Checkpoints;

/// <summary>
/// The checkpoints of one run: <c>&lt;run folder&gt;/checkpoints/iteration-NNNNNNNN.ckpt</c>, keeping the newest
/// <see cref="Keep"/>. A file appears only complete (atomic rename), so the newest file is always a whole checkpoint.
/// </summary>
public sealed class CheckpointStore
{
    /// <summary>File name extension of checkpoints.</summary>
    public const string Extension = ".ckpt";

    /// <summary>Creates the store in <paramref name="runFolder"/>.</summary>
    public CheckpointStore(string runFolder, int keep)
    {
        if (keep < 1) throw new ArgumentOutOfRangeException(nameof(keep), keep, "keep at least one checkpoint");
        Directory = Path.Combine(runFolder, "checkpoints");
        Keep = keep;
    }

    /// <summary>The checkpoints folder.</summary>
    public string Directory { get; }

    /// <summary>How many checkpoints are kept.</summary>
    public int Keep { get; }

    /// <summary>Writes the state of <paramref name="parts"/> as the checkpoint of <paramref name="manifest"/>'s iteration, then prunes old ones.</summary>
    public string Save(CheckpointManifest manifest, IReadOnlyList<(string Prefix, ICheckpointable Part)> parts)
    {
        System.IO.Directory.CreateDirectory(Directory);
        var writer = new CheckpointWriter();
        foreach (var (prefix, part) in parts) part.Save(prefix, writer);
        var path = Path.Combine(Directory, string.Create(CultureInfo.InvariantCulture, $"iteration-{manifest.Iteration:D8}{Extension}"));
        CheckpointFile.Write(path, manifest, writer);
        foreach (var old in List().SkipLast(Keep)) File.Delete(old);
        return path;
    }

    /// <summary>Checkpoint files, oldest first.</summary>
    public IReadOnlyList<string> List() =>
        System.IO.Directory.Exists(Directory)
            ? [.. System.IO.Directory.GetFiles(Directory, "iteration-*" + Extension).Order(StringComparer.Ordinal)]
            : [];

    /// <summary>The newest checkpoint file, or null.</summary>
    public string? Latest() => List().LastOrDefault();

    /// <summary>Restores <paramref name="parts"/> from <paramref name="reader"/>.</summary>
    /// <remarks>A part that rejects what it reads in its own way (an argument or TorchSharp error) is reported as a <see cref="CheckpointException"/> too.</remarks>
    public static void Restore(CheckpointReader reader, IReadOnlyList<(string Prefix, ICheckpointable Part)> parts)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(parts);
        foreach (var (prefix, part) in parts)
        {
            try
            {
                part.Load(prefix, reader);
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException or IndexOutOfRangeException
                                          or System.Runtime.InteropServices.ExternalException)
            {
                throw new CheckpointException($"checkpoint state '{prefix.TrimEnd('.')}' does not fit this run: {e.Message.Split('\n')[0].Trim()}");
            }
        }
    }
}

/// <summary>A tensor that is checkpointed in place (e.g. the meta-parameters).</summary>
public sealed class TensorState(TorchSharp.torch.Tensor tensor) : ICheckpointable
{
    /// <inheritdoc />
    public void Save(string prefix, CheckpointWriter writer) => writer.Tensor(prefix + "value", tensor);

    /// <inheritdoc />
    public void Load(string prefix, CheckpointReader reader) => reader.CopyInto(prefix + "value", tensor);
}
