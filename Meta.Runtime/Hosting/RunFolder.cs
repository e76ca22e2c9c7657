using System.Globalization;

namespace Meta.Hosting;

/// <summary>
/// The folder one run writes: <c>&lt;root&gt;/&lt;experiment&gt;/&lt;timestamp&gt;/</c>. Created, and checked writable, before any
/// training starts; files are written to a temporary name and renamed, so a reader never sees half a file.
/// </summary>
public sealed class RunFolder
{
    private RunFolder(string path) => Path = path;

    /// <summary>The absolute path of the run folder.</summary>
    public string Path { get; }

    /// <summary>Creates a fresh run folder under <paramref name="root"/>; throws <see cref="OptionException"/> if it cannot be written.</summary>
    public static RunFolder Create(string root, string experiment, DateTimeOffset now)
    {
        var stamp = now.UtcDateTime.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture);
        var basePath = System.IO.Path.GetFullPath(System.IO.Path.Combine(root, experiment, stamp));
        var path = basePath;
        try
        {
            // Atomic: two runs started in the same second never share a folder (mkdir fails for the second, which moves on).
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(basePath)!);
            for (var n = 2; !Posix.CreateNewDirectory(path); n++) path = $"{basePath}-{n}";
            var probe = System.IO.Path.Combine(path, ".write-test");
            System.IO.File.WriteAllText(probe, "");
            System.IO.File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new OptionException($"--output: cannot write the run folder '{path}': {e.Message}");
        }
        return new RunFolder(path);
    }

    /// <summary>Opens an existing run folder (to resume into it); throws <see cref="OptionException"/> if it cannot be written.</summary>
    public static RunFolder Open(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        try
        {
            var probe = System.IO.Path.Combine(full, ".write-test");
            System.IO.File.WriteAllText(probe, "");
            System.IO.File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new OptionException($"--resume: cannot write the run folder '{full}': {e.Message}");
        }
        return new RunFolder(full);
    }

    /// <summary>The full path of a file in the folder.</summary>
    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Writes a text file atomically (temporary file, flush, rename).</summary>
    public void WriteText(string name, string content)
    {
        var target = File(name);
        var temp = target + ".tmp";
        try
        {
            using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
            using (var writer = new StreamWriter(stream))
            {
                writer.Write(content);
                writer.Flush();
                stream.Flush(flushToDisk: true);
            }
            System.IO.File.Move(temp, target, overwrite: true);
        }
        catch
        {
            DeleteQuietly(temp);   // a full disk leaves the previous file (if any), never a half-written one or a .tmp
            throw;
        }
    }

    /// <summary>Deletes <paramref name="path"/> if it exists, ignoring failures (used to clean up after a failed write).</summary>
    internal static void DeleteQuietly(string path)
    {
        try
        {
            System.IO.File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Nothing more can be done; the failure that led here is what gets reported.
        }
    }
}
