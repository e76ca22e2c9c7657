namespace Meta.Tasks.Images;

/// <summary>
/// Data that is missing, unreadable or unfit for the requested episodes. The message is one line that names the file or
/// folder, what was expected there and which option points to it, so a command line can print it as is and exit.
/// </summary>
public sealed class DatasetException(string message) : Exception(message)
{
    /// <summary>A folder or file that does not exist.</summary>
    public static DatasetException Missing(string dataset, string path, string expectedLayout, string option) =>
        new($"{dataset} data not found: '{path}' does not exist; expected {expectedLayout}; point {option} at the folder");

    /// <summary>A folder that exists but does not have the expected layout.</summary>
    public static DatasetException BadLayout(string dataset, string path, string problem, string expectedLayout, string option) =>
        new($"{dataset} data in '{path}' {problem}; expected {expectedLayout}; point {option} at the folder");

    /// <summary>A file that cannot be read or decoded.</summary>
    public static DatasetException Corrupt(string path, string problem) =>
        new($"cannot read '{path}': {problem}");
}
