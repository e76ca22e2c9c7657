using System.Diagnostics;
using System.Globalization;
using Meta.Functional;

namespace Meta.Benchmarks;

/// <summary>
/// What this machine's cores give work that shares nothing: the sinusoid MLP's managed MAML kernel (the standard
/// configuration: 25 tasks, K = 10, S = 1, second order) on private arrays, no libtorch call, timed alone on one thread and
/// then on two threads of this process at once, in alternating rounds. The combined two-thread rate ÷ the mean of the
/// one-thread rounds around it is the most any task split inside one process can reach here. With --alone it times only
/// one-thread rounds: start it twice at once to see what two separate processes get.
/// Usage: dotnet run -c Release --project Meta.Benchmarks -- cores [--iterations 4000] [--rounds 5] [--alone]
/// </summary>
internal static class CoresBenchmark
{
    public static int Run(int iterations, int rounds, bool alone)
    {
        if (alone)
        {
            for (var round = 0; round < rounds; round++)
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"one thread: {Rate(iterations, 1, 1, false):0} it/s"));
            return 0;
        }
        Console.WriteLine($"the MLP's managed kernel, standard configuration, {iterations} iterations per timing, {Environment.ProcessorCount} cores");
        Console.WriteLine("| round | one thread it/s | two threads: it/s each | combined ÷ one thread |");
        Console.WriteLine("|---:|---:|---:|---:|");
        for (var round = 0; round < rounds; round++)
        {
            var (one, pair) = Round(iterations, 1, false);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {round + 1} | {one:0} | {pair[0]:0}, {pair[1]:0} | {(pair[0] + pair[1]) / one:0.00}× |"));
        }
        return 0;
    }

    /// <summary>
    /// One round for the configuration with <paramref name="steps"/> inner steps (second order unless
    /// <paramref name="firstOrder"/>): the mean of a one-thread timing before and after, and the rates of the two threads
    /// timed at once between them. Their sum ÷ the first is the machine's two-core ceiling at that moment.
    /// </summary>
    public static (double One, double[] Pair) Round(int iterations, int steps, bool firstOrder)
    {
        var before = Rate(iterations, 1, steps, firstOrder);
        var pair = new double[2];
        var threads = Enumerable.Range(0, 2).Select(k => new Thread(() => pair[k] = Rate(iterations, 2 + k, steps, firstOrder))).ToArray();
        foreach (var thread in threads) thread.Start();
        foreach (var thread in threads) thread.Join();
        var after = Rate(iterations, 1, steps, firstOrder);
        return ((before + after) / 2, pair);
    }

    // Meta-iterations per second of the kernel on this thread (25 tasks, K = 10), after 300 untimed ones, on inputs drawn from seed.
    private static double Rate(int iterations, int seed, int steps, bool firstOrder)
    {
        var network = Mlp.ForSinusoid();
        var offsets = network.Layout.Slots.Select(slot => (int)slot.Offset).ToArray();
        const int tasks = 25, points = 10;
        var shape = new KernelShape([.. network.Widths], network.Activation, false, tasks, points, points, steps, firstOrder, offsets);
        var random = new Random(seed);
        float[] Draw(int count) => Enumerable.Range(0, count).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        var (theta, supportX, queryX, supportY, queryY) = (Draw(shape.Parameters), Draw(tasks * points), Draw(tasks * points), Draw(tasks * points), Draw(tasks * points));
        var (gradient, taskLosses) = (new float[shape.Parameters], new float[tasks]);
        void Step() => MlpKernel<float>.MetaStep(shape, 0.01f, theta, supportX, queryX, supportY, queryY, default, default, default, gradient, taskLosses);
        for (var i = 0; i < 300; i++) Step();
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < iterations; i++) Step();
        return iterations / clock.Elapsed.TotalSeconds;
    }
}
