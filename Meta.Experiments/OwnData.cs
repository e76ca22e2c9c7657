using Meta;
using Meta.Tasks.Data;
using Meta.Tasks.Images;

namespace Meta.Experiments.OwnData;

// Experiments over users' own data, declared without code: the task family reads the file or folder named by --data.
// data/sine-tasks.csv ships with the program (24 sinusoid tasks of 20 points: task,x,y); the image folder does not —
// point --data at a folder with one subfolder per class (docs/extending.md, "Your own data without code").

/// <summary>MAML on the tasks of a CSV file (default: the shipped sinusoid sample): K = 5 rows, 10 query rows, one inner step.</summary>
[Experiment("csv-maml", Description = "MAML on few-shot regression tasks from a CSV file (--data, default the shipped data/sine-tasks.csv).")]
[Tasks<CsvRegressionTasks>, Maml]
[Default("Data", "data/sine-tasks.csv")]
[InnerSteps(1), InnerLr(0.01), MetaLr(0.001), MetaBatch(10), Shots(5, Query = 10)]
[Iterations(5_000), Seed(1)]
public partial class CsvMaml;

/// <summary>MAML on N-way K-shot classification over an image folder (one subfolder per class; --data).</summary>
[Experiment("folder-maml", Description = "MAML on 5-way 1-shot classification over an image folder (--data: one subfolder per class, or train/ and test/).")]
[Tasks<ImageFolderTasks>, Maml]
[Default("Data", "data/images"), Default("TestSteps", 3)]
[Shots(1, Query = 5), InnerSteps(1), InnerLr(0.4), MetaLr(0.001), MetaBatch(16), Iterations(2_000)]
public partial class FolderMaml;
