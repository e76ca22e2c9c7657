using Meta.Algorithms;
using TorchSharp;
using static TorchSharp.torch;

namespace Meta.Functional;

// The MLP's analytic derivatives. Notation per layer l = 0 … L−1: h_0 = input, z_l = h_l·W_l + b_l, h_{l+1} = σ(z_l),
// output y = z_{L−1}. Backward: δ_{L−1} = ∂loss/∂y, ∇W_l = h_lᵀ·δ_l, ∇b_l = Σ_n δ_l, g_{l−1} = δ_l·W_lᵀ,
// δ_{l−1} = g_{l−1} ⊙ σ'(z_{l−1}). The Hessian-vector product applies Pearlmutter's R-operator (the directional
// derivative along v = (dW, db)) to the forward and backward passes:
//   R z_l = h_l·dW_l + db_l + R h_l·W_l,   R h_{l+1} = σ'(z_l) ⊙ R z_l,   R δ_{L−1} = (∂²loss/∂y²)·R y,
//   R ∇W_l = h_lᵀ·R δ_l + R h_lᵀ·δ_l,   R ∇b_l = Σ_n R δ_l,
//   R δ_{l−1} = (R δ_l·W_lᵀ + δ_l·dW_lᵀ) ⊙ σ'(z_{l−1}) + g_{l−1} ⊙ σ''(z_{l−1}) ⊙ R z_{l−1}.
// Every line is one or two batched calls over all tasks; no autograd graph is built.
public sealed partial class Mlp
{
    /// <inheritdoc />
    public bool SupportsAnalytic(ITaskLoss loss) =>
        ReferenceEquals(loss, TaskLoss.MeanSquaredErrorLoss) || ReferenceEquals(loss, TaskLoss.CrossEntropyLoss);

    /// <inheritdoc />
    public IAnalyticPass AnalyticPass(Tensor weights, Tensor input, Tensor target, ITaskLoss loss)
    {
        ArgumentNullException.ThrowIfNull(loss);
        if (!SupportsAnalytic(loss)) throw new ArgumentException($"the MLP has analytic derivatives for mse and cross-entropy, not {loss.Name}", nameof(loss));
        if (weights.dim() != 2 || weights.Dims()[1] != Layout.Count)
            throw new ArgumentException($"weights must be [tasks, {Layout.Count}], got [{string.Join(", ", weights.Dims())}]", nameof(weights));
        return new Pass(this, weights, input, target, ReferenceEquals(loss, TaskLoss.CrossEntropyLoss));
    }

    private sealed class Pass : IAnalyticPass
    {
        private readonly Mlp _net;
        private readonly long _tasks;
        private readonly int _layers;
        private readonly Tensor[] _w, _b, _h;          // W_l [T, in, out], b_l [T, 1, out], h_l [T, N, in]
        private readonly Tensor?[] _z;                  // pre-activations z_l (SiLU only: its derivatives need them)
        private readonly Tensor[] _d1;                  // σ'(z_l) for the hidden layers
        private readonly Tensor?[] _wT, _hT;            // transposes, made on first use
        private readonly Tensor _target;
        private readonly bool _crossEntropy;
        private readonly double _lossScale;             // MSE: 2 / (N·D); cross-entropy: 1 / N
        private Tensor? _residual;                      // MSE: y − target; cross-entropy: softmax(y) − one-hot(target)
        private Tensor? _probabilities, _logProbabilities;
        private Tensor[]? _deltas, _backs;              // δ_l and g_l of the unscaled loss, kept for Hessian-vector products

        public Pass(Mlp net, Tensor weights, Tensor input, Tensor target, bool crossEntropy)
        {
            _net = net;
            _tasks = weights.Dims()[0];
            _layers = net._widths.Length - 1;
            _target = target;
            _crossEntropy = crossEntropy;
            (_w, _b, _h) = (new Tensor[_layers], new Tensor[_layers], new Tensor[_layers]);
            (_z, _d1, _wT, _hT) = (new Tensor?[_layers], new Tensor[_layers - 1], new Tensor?[_layers], new Tensor?[_layers]);
            SplitInto(weights, _w, _b);
            var h = input.dim() > 3 ? input.flatten(2) : input;
            for (var l = 0; l < _layers - 1; l++)
            {
                _h[l] = h;
                var z = BatchedOps.AddBatchMatMul(_b[l], h, _w[l]);
                (h, _d1[l]) = Activate(net.Activation, z);
                if (net.Activation == Activation.Silu) _z[l] = z;
            }
            _h[_layers - 1] = h;
            Output = BatchedOps.AddBatchMatMul(_b[_layers - 1], h, _w[_layers - 1]);
            var points = Output.Dims()[1];
            _lossScale = crossEntropy ? 1.0 / points : 2.0 / (points * Output.Dims()[2]);
        }

        public Tensor Output { get; }

        public Tensor TaskLosses()
        {
            if (!_crossEntropy) return Residual().square().mean([1, 2]);
            _ = Residual();
            return _logProbabilities!.gather(2, _target.unsqueeze(2)).mean([1, 2]).neg_();
        }

        public Tensor Gradient(double scale = 1.0, Tensor? taskScale = null)
        {
            var c = _lossScale * scale;
            var delta = taskScale is null ? Residual().mul(c) : Residual().mul(taskScale.view(_tasks, 1, 1).mul(c));
            var (deltas, backs) = Backward(delta);
            if (scale == 1.0 && taskScale is null) (_deltas, _backs) = (deltas, backs);
            var pieces = new Tensor[2 * _layers];
            for (var l = 0; l < _layers; l++)
            {
                pieces[2 * l] = torch.bmm(HT(l), deltas[l]).view(_tasks, -1);
                pieces[2 * l + 1] = deltas[l].sum(1);
            }
            return torch.cat(pieces, 1);
        }

        public Tensor HessianVectorProduct(Tensor direction)
        {
            if (_deltas is null) (_deltas, _backs) = Backward(Residual().mul(_lossScale));
            var (dw, db) = (new Tensor[_layers], new Tensor[_layers]);
            SplitInto(direction, dw, db);

            // R-forward: R z_l and R h_l.
            var rz = new Tensor[_layers];
            var rh = new Tensor?[_layers];
            rz[0] = BatchedOps.AddBatchMatMul(db[0], _h[0], dw[0]);
            for (var l = 1; l < _layers; l++)
            {
                rh[l] = rz[l - 1].mul(_d1[l - 1]);
                rz[l] = BatchedOps.AddBatchMatMul(BatchedOps.AddBatchMatMul(db[l], _h[l], dw[l]), rh[l]!, _w[l]);
            }

            // R of the loss's gradient w.r.t. the output.
            var ry = rz[_layers - 1];
            Tensor rdelta;
            if (_crossEntropy)
            {
                var pry = _probabilities!.mul(ry);
                rdelta = pry.sub_(_probabilities.mul(pry.sum(2, keepdim: true))).mul_(_lossScale);
            }
            else rdelta = ry.mul(_lossScale);

            // R-backward.
            var d2 = SecondDerivatives();
            var pieces = new Tensor[2 * _layers];
            for (var l = _layers - 1; l >= 0; l--)
            {
                var rgw = torch.bmm(HT(l), rdelta);
                if (rh[l] is { } rhl) rgw = BatchedOps.AddBatchMatMul(rgw, rhl.transpose(1, 2), _deltas[l]);
                pieces[2 * l] = rgw.view(_tasks, -1);
                pieces[2 * l + 1] = rdelta.sum(1);
                if (l == 0) break;
                var next = BatchedOps.AddBatchMatMul(torch.bmm(rdelta, WT(l)), _deltas[l], dw[l].transpose(1, 2)).mul_(_d1[l - 1]);
                if (d2[l - 1] is { } second) next.add_(_backs![l - 1].mul(second).mul_(rz[l - 1]));
                rdelta = next;
            }
            return torch.cat(pieces, 1);
        }

        private (Tensor[] Deltas, Tensor[] Backs) Backward(Tensor outputDelta)
        {
            var deltas = new Tensor[_layers];
            var backs = new Tensor[_layers - 1];
            deltas[_layers - 1] = outputDelta;
            for (var l = _layers - 1; l > 0; l--)
            {
                backs[l - 1] = torch.bmm(deltas[l], WT(l));
                deltas[l - 1] = backs[l - 1].mul(_d1[l - 1]);
            }
            return (deltas, backs);
        }

        private Tensor Residual()
        {
            if (_residual is not null) return _residual;
            if (!_crossEntropy) return _residual = Output.sub(_target);
            _logProbabilities = Output.log_softmax(2);
            _probabilities = _logProbabilities.exp();
            var oneHot = nn.functional.one_hot(_target, Output.Dims()[2]).to_type(Output.dtype);
            return _residual = _probabilities.sub(oneHot);
        }

        // σ''(z_l) for the hidden layers (null where it is zero: ReLU).
        private Tensor?[] SecondDerivatives()
        {
            var result = new Tensor?[_layers - 1];
            for (var l = 0; l < _layers - 1; l++)
            {
                var h = _h[l + 1];
                result[l] = _net.Activation switch
                {
                    Activation.Relu => null,
                    Activation.Tanh => h.mul(_d1[l]).mul_(-2.0),                               // −2h(1 − h²)
                    Activation.Sigmoid => h.mul(-2.0).add_(1.0).mul_(_d1[l]),                  // σ'(1 − 2σ)
                    Activation.Silu => SiluSecond(_z[l]!),
                    _ => throw new InvalidOperationException($"no second derivative for {_net.Activation}"),
                };
            }
            return result;
        }

        // SiLU: s = σ(z); silu'' = s(1 − s)(2 + z(1 − 2s)).
        private static Tensor SiluSecond(Tensor z)
        {
            var s = z.sigmoid();
            var ds = s.mul(s.neg().add_(1.0));
            return s.mul(-2.0).add_(1.0).mul_(z).add_(2.0).mul_(ds);
        }

        private Tensor WT(int l) => _wT[l] ??= _w[l].transpose(1, 2);

        private Tensor HT(int l) => _hT[l] ??= _h[l].transpose(1, 2);

        // Per-layer views of flat [T, P] weights: one as_strided call per slot where the rows are dense (the usual
        // case, also for θ expanded over tasks), otherwise a split and views.
        private void SplitInto(Tensor flat, Tensor[] w, Tensor[] b)
        {
            var slots = _net.Layout.Slots;
            if (flat.stride(1) == 1)
            {
                var (row, start) = (flat.stride(0), flat.storage_offset());
                for (var l = 0; l < _layers; l++)
                {
                    var (weight, bias) = (slots[2 * l], slots[2 * l + 1]);
                    w[l] = flat.as_strided([_tasks, weight.Shape[0], weight.Shape[1]], [row, weight.Shape[1], 1], start + weight.Offset);
                    b[l] = flat.as_strided([_tasks, 1, bias.Shape[0]], [row, bias.Shape[0], 1], start + bias.Offset);
                }
                return;
            }
            var parts = flat.split(_net._sizes, 1);
            for (var l = 0; l < _layers; l++)
            {
                w[l] = parts[2 * l].view(_tasks, slots[2 * l].Shape[0], slots[2 * l].Shape[1]);
                b[l] = parts[2 * l + 1].view(_tasks, 1, slots[2 * l + 1].Shape[0]);
            }
        }

        // σ(z) and σ'(z), the derivative written through the output where that is cheaper.
        private static (Tensor H, Tensor D1) Activate(Activation activation, Tensor z)
        {
            switch (activation)
            {
                case Activation.Relu:
                {
                    var h = nn.functional.relu(z);
                    return (h, h.sign());
                }
                case Activation.Tanh:
                {
                    var h = z.tanh();
                    return (h, h.square().neg_().add_(1.0));
                }
                case Activation.Sigmoid:
                {
                    var h = z.sigmoid();
                    return (h, h.neg().add_(1.0).mul_(h));
                }
                case Activation.Silu:
                {
                    var s = z.sigmoid();
                    var h = z.mul(s);
                    return (h, s.neg().add_(1.0).mul_(z).add_(1.0).mul_(s));               // s(1 + z(1 − s))
                }
                default:
                    throw new ArgumentOutOfRangeException(nameof(activation), activation, "unknown activation");
            }
        }
    }
}
