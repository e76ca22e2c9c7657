using System.Runtime.InteropServices;

namespace Meta.Checkpoints;

/// <summary>
/// Makes a rename durable: after a file is renamed into a folder, the folder's entry is only on disk once the folder
/// itself is fsynced (POSIX). Without it a power cut right after the rename can lose the new name.
/// </summary>
internal static class Durability
{
    private const int ReadOnly = 0;          // O_RDONLY
    private const int DirectoryFlag = 0x10000; // O_DIRECTORY on Linux (x86-64 and arm64)

    /// <summary>Flushes <paramref name="folder"/>'s directory entries to disk on Linux; elsewhere (and on failure) does nothing.</summary>
    public static void SyncDirectory(string folder)
    {
        if (!OperatingSystem.IsLinux()) return;
        try
        {
            var fd = Open(folder, ReadOnly | DirectoryFlag);
            if (fd < 0) return;
            _ = Fsync(fd);
            _ = Close(fd);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // No libc to call: the rename is still atomic, only not yet durable.
        }
    }

    [DllImport("libc", EntryPoint = "open")]
    private static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", EntryPoint = "fsync")]
    private static extern int Fsync(int fd);

    [DllImport("libc", EntryPoint = "close")]
    private static extern int Close(int fd);
}
