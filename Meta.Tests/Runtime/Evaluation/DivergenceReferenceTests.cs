using Meta.Algorithms;
using Meta.Evaluation;
using static TorchSharp.torch;

namespace Meta.Tests.Runtime.Evaluation;

/// <summary>The reference a task's adapted loss is measured against: its start, or its own spread if that is larger.</summary>
[Collection(TorchCollection.Name)]
public sealed class DivergenceReferenceTests
{
    [Fact]
    public void The_constant_prediction_loss_of_mean_squared_error_is_each_tasks_target_variance()
    {
        // Task 0: targets 1, 3 (mean 2, variance 1); task 1: 0.1, -0.1 (variance 0.01); one output each.
        using var y = tensor(new double[] { 1, 3, 0.1, -0.1 }, float64).view(2, 2, 1);
        var spread = Divergence.ConstantPredictionLoss(TaskLoss.MeanSquaredErrorLoss, y);
        Assert.Equal(1.0, spread[0], 12);
        Assert.Equal(0.01, spread[1], 12);
    }

    [Fact]
    public void A_task_the_initialisation_fits_almost_exactly_is_not_diverged_when_it_moves_within_its_own_spread()
    {
        // Started at 0.004 (a low-amplitude sinusoid near the mean prediction), variance 0.02, ended at 0.06: 15× its start
        // but 3× its spread — not thrown off. Ended at 0.3: above 10× both.
        var reference = Divergence.Reference([0.004], [0.02]);
        Assert.Equal(0.02, reference[0]);
        Assert.False(Divergence.IsDiverged(0.06, reference[0]));
        Assert.True(Divergence.IsDiverged(0.3, reference[0]));
        Assert.True(Divergence.IsDiverged(0.06, 0.004), "against its start alone it would have counted");
    }

    [Fact]
    public void A_start_that_is_not_a_number_stays_so_and_class_labels_give_no_spread()
    {
        Assert.True(double.IsNaN(Divergence.Reference([double.NaN], [1.0])[0]));
        using var labels = tensor(new long[] { 0, 1, 2, 1 }).view(2, 2);
        Assert.Equal([0.0, 0.0], Divergence.ConstantPredictionLoss(TaskLoss.MeanSquaredErrorLoss, labels));
        Assert.Throws<ArgumentException>(() => Divergence.Reference([1.0, 2.0], [1.0]));
    }
}
