using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Meta.Hosting;
using Meta.Tests.Hosting;

namespace Meta.Tests.Model;

public sealed partial class MetaModelTests
{
    [Fact]
    public void Export_writes_safetensors_that_read_back_bit_identical_with_metadata()
    {
        using var model = MetaModel.Load(run.Folder);
        var file = Path.Combine(run.Root, "export-roundtrip.safetensors");
        Assert.Equal(0, ModelCommands.Run(["export", run.Folder, "--format", "safetensors", "--output", file], TextWriter.Null, TextWriter.Null));
        var (tensors, metadata) = Safetensors.Read(file);
        var expected = model.NamedTensors();
        Assert.Equal(expected.Select(t => t.Name), tensors.Select(t => t.Name));
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Value.shape, tensors[i].Value.shape);
            Assert.Equal(expected[i].Value.data<float>().ToArray(), tensors[i].Value.data<float>().ToArray());
        }
        Assert.Equal("mlp", metadata["meta.network.kind"]);
        Assert.Equal("1,40,40,1", metadata["meta.network.widths"]);
        Assert.Equal("relu", metadata["meta.network.activation"]);
        Assert.Equal("maml", metadata["meta.algorithm"]);
        Assert.Equal("1", metadata["meta.format_version"]);
        // The header is 8-byte aligned and starts with its little-endian length.
        var bytes = File.ReadAllBytes(file);
        Assert.Equal(0UL, BitConverter.ToUInt64(bytes, 0) % 8);
        Assert.Equal(0, ModelCommands.Run(["export", run.Folder], TextWriter.Null, TextWriter.Null));
        Assert.True(File.Exists(Path.Combine(run.Folder, "model.safetensors")));
    }

    [SkippableFact]
    public void PyTorch_loads_the_export_and_its_forward_pass_equals_Metas_to_1e_6()
    {
        ModelParts.Require(ModelParts.HasPyTorch(), "/usr/bin/python3 cannot import torch", "python3-torch");
        using var model = MetaModel.Load(run.Folder);
        var file = Path.Combine(run.Root, "export-python.safetensors");
        model.ExportSafetensors(file);
        var x = new float[21, 1];
        for (var i = 0; i < 21; i++) x[i, 0] = -5f + i * 0.5f;
        using var unadapted = model.Adapt(new float[1, 1], new float[1, 1], steps: 0);
        var meta = unadapted.Predict(x);

        var script = Path.Combine(run.Root, "forward.py");
        File.WriteAllText(script, PythonForward);
        var info = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { script, file, string.Join(",", x.Cast<float>().Select(v => v.ToString("R", CultureInfo.InvariantCulture))) }) info.ArgumentList.Add(a);
        using var python = Process.Start(info)!;
        var stdout = python.StandardOutput.ReadToEndAsync();
        var stderr = python.StandardError.ReadToEndAsync();
        Assert.True(python.WaitForExit(120_000), "python did not finish");
        Assert.True(python.ExitCode == 0, "python failed: " + stderr.Result);
        var result = JsonDocument.Parse(stdout.Result).RootElement;
        log.WriteLine($"python read the file with {result.GetProperty("reader").GetString()}");
        var torchY = result.GetProperty("y").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        Assert.Equal(21, torchY.Length);
        var worst = torchY.Select((v, i) => Math.Abs(v - meta[i, 0])).Max();
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"largest |PyTorch − Meta| over 21 inputs: {worst:E2}"));
        Assert.True(worst <= 1e-6, $"PyTorch's forward pass differs from Meta's by {worst}");
    }

    /// <summary>Loads the export as a PyTorch user would and runs the MLP its metadata describes.</summary>
    private const string PythonForward = """
        import json, struct, sys
        import torch
        path, xs = sys.argv[1], [float(v) for v in sys.argv[2].split(",")]
        try:
            from safetensors import safe_open
            from safetensors.torch import load_file
            tensors = load_file(path)
            with safe_open(path, framework="pt") as f:
                metadata = f.metadata()
            reader = "safetensors.torch.load_file"
        except ImportError:
            # Without the safetensors package: the format is an 8-byte length, a JSON header, then raw little-endian data.
            with open(path, "rb") as f:
                raw = f.read()
            (n,) = struct.unpack("<Q", raw[:8])
            header = json.loads(raw[8:8 + n])
            metadata = header.pop("__metadata__")
            dtypes = {"F32": torch.float32, "F64": torch.float64, "I64": torch.int64}
            tensors = {}
            for name, entry in header.items():
                begin, end = entry["data_offsets"]
                data = bytearray(raw[8 + n + begin:8 + n + end])
                tensors[name] = torch.frombuffer(data, dtype=dtypes[entry["dtype"]]).reshape(entry["shape"])
            reader = "torch (safetensors package not installed: header parsed by hand)"
        assert metadata["meta.network.kind"] == "mlp"
        layers = len(metadata["meta.network.widths"].split(",")) - 1
        h = torch.tensor(xs, dtype=torch.float32).reshape(-1, 1)
        for k in range(1, layers + 1):
            h = h @ tensors[f"layer{k}.weight"] + tensors[f"layer{k}.bias"]
            if k < layers:
                h = {"relu": torch.relu, "tanh": torch.tanh, "silu": torch.nn.functional.silu, "sigmoid": torch.sigmoid}[metadata["meta.network.activation"]](h)
        print(json.dumps({"reader": reader, "y": h.reshape(-1).tolist()}))
        """;

    [Fact]
    public void The_adapt_command_adapts_to_a_support_csv_and_predicts_a_csv()
    {
        var (supportX, supportY, x, truth) = FreshTask();
        var support = Path.Combine(run.Root, "support.csv");
        var predict = Path.Combine(run.Root, "x.csv");
        var output = Path.Combine(run.Root, "predictions.csv");
        File.WriteAllLines(support, ["x,y", .. Enumerable.Range(0, 10).Select(i => Row(supportX[i, 0], supportY[i, 0]))]);
        File.WriteAllLines(predict, ["x", .. Enumerable.Range(0, 100).Select(i => Row(x[i, 0]))]);

        // The real program, as README shows it: `dotnet run --project Meta.Experiments -- adapt …`.
        var result = ExperimentProcess.Run(["adapt", run.Folder, "--support", support, "--steps", "10", "--predict", predict, "--output", output]);
        Assert.True(result.ExitCode == 0, result.Error + result.Output);
        Assert.Contains("predictions written to", result.Output, StringComparison.Ordinal);
        var lines = File.ReadAllLines(output);
        Assert.Equal("x,y", lines[0]);
        Assert.Equal(101, lines.Length);
        var predicted = new float[100, 1];
        for (var i = 0; i < 100; i++) predicted[i, 0] = float.Parse(lines[i + 1].Split(',')[1], CultureInfo.InvariantCulture);

        using var model = MetaModel.Load(run.Folder);
        using var adapted = model.Adapt(supportX, supportY, steps: 10);
        AssertClose(adapted.Predict(x), predicted);                  // the program runs libtorch with its own thread count
        using var unadapted = model.Adapt(supportX, supportY, steps: 0);
        Assert.True(Mse(predicted, truth) < Mse(unadapted.Predict(x), truth));

        // `latest` under a runs root, printing to stdout, and the MSE line when the file to predict has targets.
        File.WriteAllLines(predict, ["x1,y1", .. Enumerable.Range(0, 100).Select(i => Row(x[i, 0], truth[i, 0]))]);
        var (stdout, stderr) = (new StringWriter(), new StringWriter());
        Assert.Equal(0, ModelCommands.Run(["adapt", "latest", "--runs", run.Root, "--support", support, "--steps", "10", "--predict", predict], stdout, stderr));
        Assert.StartsWith("x1,y1\n", stdout.ToString(), StringComparison.Ordinal);
        Assert.StartsWith("mse against the targets in x.csv: ", stderr.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a,b\n1,2\n", "header column 'a' is not accepted")]
    [InlineData("x,y\n1,oops\n", "line 2, column y: 'oops' is not a finite number")]
    [InlineData("x\n1\n", "has 0 target columns")]
    [InlineData("x,y\n1,2,3\n", "line 2 has 3 cells")]
    [InlineData("x1,x2,y\n1,2,3\n", "has 2 input columns (x…); this model takes 1")]
    public void Bad_csv_files_are_one_line_errors_with_exit_code_2(string csv, string expected)
    {
        var support = Path.Combine(run.Root, "bad-" + Guid.NewGuid().ToString("N") + ".csv");
        File.WriteAllText(support, csv);
        var error = new StringWriter();
        var output = Path.Combine(run.Root, "never.csv");
        Assert.Equal(2, ModelCommands.Run(["adapt", run.Folder, "--support", support, "--predict", support, "--output", output], TextWriter.Null, error));
        Assert.Contains(expected, error.ToString(), StringComparison.Ordinal);
        Assert.StartsWith("error: ", error.ToString(), StringComparison.Ordinal);
        Assert.Single(error.ToString().TrimEnd('\n').Split('\n'));
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void The_model_commands_reject_bad_command_lines_in_one_line()
    {
        var error = new StringWriter();
        Assert.Equal(2, ModelCommands.Run(["adapt", run.Folder, "--predict", "x.csv"], TextWriter.Null, error));
        Assert.Equal("error: adapt needs --support\n", error.ToString());
        error = new StringWriter();
        Assert.Equal(2, ModelCommands.Run(["export", run.Folder, "--format", "onnx"], TextWriter.Null, error));
        Assert.Equal("error: --format: 'onnx' is not accepted; expected safetensors\n", error.ToString());
        error = new StringWriter();
        Assert.Equal(2, ModelCommands.Run(["export"], TextWriter.Null, error));
        Assert.StartsWith("error: export needs a run folder", error.ToString(), StringComparison.Ordinal);
    }

    private static string Row(params float[] values) => string.Join(",", values.Select(v => v.ToString("R", CultureInfo.InvariantCulture)));
}

/// <summary>Models whose every part is a user type (Meta.Experiments/Custom/Lines.cs), trained by the real program.</summary>
[Collection(TorchCollection.Name)]
public sealed class UserPartsModelTests
{
    [Fact]
    public void A_run_of_user_parts_loads_adapts_and_exports()
    {
        var output = Directory.CreateTempSubdirectory("meta-model-user-").FullName;
        try
        {
            var result = ExperimentProcess.Run(["lines-fourier", "--iterations", "40", "--test-tasks", "20", "--output", output]);
            Assert.True(result.ExitCode == 0, result.Output + result.Error);
            using var model = MetaModel.Load(Path.Combine(output, "lines-fourier", "latest"));
            Assert.Equal(typeof(Meta.Experiments.Custom.Lines), model.Family.GetType());
            Assert.Equal(typeof(Meta.Experiments.Custom.FourierNetwork), model.NetworkDefinition.GetType());
            Assert.Equal(typeof(Meta.Experiments.Custom.HandWrittenFomaml), model.AlgorithmDefinition.GetType());
            // A line y = 1.5·x − 2 from 5 points.
            var (sx, sy, x, truth) = (new float[5, 1], new float[5, 1], new float[50, 1], new float[50, 1]);
            for (var i = 0; i < 5; i++) (sx[i, 0], sy[i, 0]) = (-4f + 2f * i, 1.5f * (-4f + 2f * i) - 2f);
            for (var i = 0; i < 50; i++) (x[i, 0], truth[i, 0]) = (-5f + 0.2f * i, 1.5f * (-5f + 0.2f * i) - 2f);
            using var before = model.Adapt(sx, sy, steps: 0);
            using var after = model.Adapt(sx, sy, steps: 10);
            Assert.True(MetaModelTests.Mse(after.Predict(x), truth) < MetaModelTests.Mse(before.Predict(x), truth));
            var file = Path.Combine(output, "lines.safetensors");
            Assert.Equal(0, ModelCommands.Run(["export", "latest", "--runs", output, "--output", file], TextWriter.Null, TextWriter.Null));
            var (tensors, metadata) = Safetensors.Read(file);
            Assert.Equal("Meta.Experiments.Custom.FourierNetwork", metadata["meta.network.type"]);
            Assert.Equal(model.Network.Layout.Count, tensors.Sum(t => t.Value.numel()));
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }
}
