using System.Globalization;
using System.Text;
using Meta.Algorithms;
using Meta.Checkpoints;
using Meta.Functional;
using Meta.Hosting;
using Meta.Tasks;
using Meta.Training;
using static TorchSharp.torch;

namespace Meta.Evaluation;

/// <summary>
/// The learning curve of training from scratch beside meta-training (seed 002's "TrainFromScratch"): one random
/// initialisation, fixed for the whole run, is trained on every training episode's support set by a few Adam steps
/// (from fresh moments each time) and scored on its query set — the same tasks the meta-learner just saw. The run's
/// meta-loss (the query loss after adaptation) and this loss are written per iteration and as window means
/// (<c>learning-curve.csv</c>, <c>learning-curve.png</c>), with the means over the last window in the summary.
/// </summary>
public sealed class ScratchCurve : ICheckpointable, IDisposable
{
    private readonly IFunctionalNetwork _network;
    private readonly ITaskLoss _loss;
    private readonly Tensor _initial;
    private readonly List<double> _losses = [];

    private ScratchCurve(IFunctionalNetwork network, ITaskLoss loss, Tensor initial, int steps, double learningRate)
    {
        if (steps < 1) throw new ArgumentOutOfRangeException(nameof(steps), steps, "at least one Adam step");
        if (!(learningRate > 0) || !double.IsFinite(learningRate)) throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, "must be finite and > 0");
        _network = network;
        _loss = loss;
        _initial = initial;
        Steps = steps;
        LearningRate = learningRate;
    }

    /// <summary>
    /// The curve for <paramref name="network"/>, from the run's baseline initialisation (the first draw of
    /// <see cref="RunSeeds.NewBaselines"/>, the same network the evaluation's "from scratch" row starts from).
    /// </summary>
    public static ScratchCurve Create(IFunctionalNetwork network, ITaskLoss loss, WeightInit init, RunSeeds seeds, int steps, double learningRate)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(seeds);
        using var stream = seeds.NewBaselines();
        return new ScratchCurve(network, loss, network.Initialize(init, stream).DetachFromDisposeScope(), steps, learningRate);
    }

    /// <summary>Adam steps per episode.</summary>
    public int Steps { get; }

    /// <summary>Adam's learning rate.</summary>
    public double LearningRate { get; }

    /// <summary>The from-scratch query loss of every iteration so far (mean over the iteration's tasks).</summary>
    public IReadOnlyList<double> Losses => _losses;

    /// <summary>Trains the fixed initialisation on <paramref name="episode"/>'s support sets (all tasks at once) and records the mean query loss.</summary>
    public double Observe(Episode episode)
    {
        ArgumentNullException.ThrowIfNull(episode);
        using var scope = NewDisposeScope();
        var weights = InnerLoop.Expand(_initial, episode.Tasks).to_type(episode.SupportX.dtype).clone();
        using var adam = new Adam(weights, LearningRate);   // elementwise: every task its own Adam, fresh moments
        for (var t = 1; t <= Steps; t++)
            adam.Step(InnerLoop.Gradient(_network, _loss, weights, episode.SupportX, episode.SupportY, differentiable: false));
        using var noGradQuery = no_grad();
        var loss = _loss.PerTask(_network.Forward(weights, episode.QueryX), episode.QueryY).mean().to_type(ScalarType.Float64).item<double>();
        _losses.Add(loss);
        return loss;
    }

    /// <summary>
    /// Writes <c>learning-curve.csv</c> and <c>learning-curve.png</c> (window means of the recorded meta losses and
    /// the from-scratch losses over <paramref name="window"/> iterations), adds a summary section and the results
    /// <c>curve.meta.last</c> and <c>curve.scratch.last</c> (means over the last window).
    /// </summary>
    public void Finish(ExperimentRun run, int window)
    {
        ArgumentNullException.ThrowIfNull(run);
        if (window < 1) throw new ArgumentOutOfRangeException(nameof(window), window, "at least 1");
        var meta = run.Losses;
        var count = Math.Min(meta.Count, _losses.Count);
        if (count == 0) return;
        var csv = new StringBuilder("iteration,meta_loss,scratch_loss\n");
        for (var i = 0; i < count; i++)
            csv.Append(CultureInfo.InvariantCulture, $"{i},{meta[meta.Count - count + i]:R},{_losses[_losses.Count - count + i]:R}\n");
        run.Folder.WriteText("learning-curve.csv", csv.ToString());

        var last = Math.Min(window, count);
        var metaLast = meta.Skip(meta.Count - last).Average();
        var scratchLast = _losses.Skip(_losses.Count - last).Average();
        run.Result("curve.meta.last", metaLast);
        run.Result("curve.scratch.last", scratchLast);
        var plotted = TryPlot(run.Folder.File("learning-curve.png"), [.. meta.Skip(meta.Count - count)], [.. _losses.Skip(_losses.Count - count)], window);
        var where = plotted
            ? string.Create(CultureInfo.InvariantCulture, $" Window means of {window} iterations: learning-curve.png; every iteration: learning-curve.csv.")
            : " Every iteration: learning-curve.csv.";
        run.AddSection("Learning curve against training from scratch", string.Create(CultureInfo.InvariantCulture,
            $"Every training episode also trains one fixed random initialisation by {Steps} Adam steps (lr {LearningRate}) on its support set. Mean query loss over the last {last} iterations: meta-learned {metaLast:0.0000}, from scratch {scratchLast:0.0000}.{where}"));
    }

    private static bool TryPlot(string path, double[] meta, double[] scratch, int window)
    {
        try
        {
            var plot = new ScottPlot.Plot();
            foreach (var (values, label) in new[] { (meta, "meta-learned (after adaptation)"), (scratch, "from scratch") })
            {
                var xs = new List<double>();
                var ys = new List<double>();
                for (var start = 0; start + window <= values.Length; start += window)
                {
                    xs.Add(start + window);
                    ys.Add(values.Skip(start).Take(window).Average());
                }
                if (xs.Count == 0) return false;
                var line = plot.Add.ScatterLine(xs.ToArray(), ys.ToArray());
                line.LegendText = label;
            }
            plot.Title($"query MSE, mean per {window} iterations");
            plot.XLabel("meta-iteration");
            plot.YLabel("query loss");
            plot.ShowLegend(ScottPlot.Edge.Bottom);   // below the axes: inside it covered the meta-learned curve
            plot.SavePng(path, 800, 480);
            return true;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return false;
        }
    }

    /// <inheritdoc />
    public void Save(string prefix, CheckpointWriter writer) => writer.Doubles(prefix + "losses", [.. _losses]);

    /// <inheritdoc />
    public void Load(string prefix, CheckpointReader reader)
    {
        _losses.Clear();
        _losses.AddRange(reader.Doubles(prefix + "losses"));
    }

    /// <inheritdoc />
    public void Dispose() => _initial.Dispose();
}
