using System.Runtime.InteropServices;

namespace Meta;

/// <summary>
/// The few POSIX calls .NET does not offer. Making a rename durable: after a file is renamed into a folder, the folder's entry is only on disk once the folder
/// itself is fsynced (POSIX). Without it a power cut right after the rename can lose the new name.
/// </summary>
internal static class Posix
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

    /// <summary>Sends SIGTERM to process <paramref name="pid"/> (a clean stop request); does nothing off Unix.</summary>
    public static void Terminate(int pid)
    {
        if (OperatingSystem.IsWindows()) return;
        try
        {
            _ = Kill(pid, 15);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // No libc: the child runs on to its end.
        }
    }

    /// <summary>
    /// Creates <paramref name="path"/> only if it does not exist (mkdir(2), atomic): true when this call created it, false
    /// when it already existed; elsewhere than Unix, a check-then-create fallback. Throws <see cref="IOException"/> on
    /// other failures.
    /// </summary>
    public static bool CreateNewDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            if (Directory.Exists(path)) return false;
            Directory.CreateDirectory(path);
            return true;
        }
        if (MakeDirectory(path, Convert.ToInt32("777", 8)) == 0) return true;
        var errno = Marshal.GetLastPInvokeError();
        if (errno == AlreadyExists) return false;
        throw new IOException($"cannot create '{path}': {Marshal.GetPInvokeErrorMessage(errno)}", errno);
    }

    private const int AlreadyExists = 17;   // EEXIST

    private const int TrimThreshold = -1;   // M_TRIM_THRESHOLD
    private const int MmapMax = -4;         // M_MMAP_MAX
    private const int ArenaMax = -8;        // M_ARENA_MAX

    /// <summary>
    /// Sets glibc's malloc, from now on, to keep freed memory: one arena, no block mmap'd on its own, the heap's free top
    /// trimmed only beyond 2 GiB (what <see cref="NativeHeap.Tunables"/> sets from the start). Threads that already have
    /// an arena of their own keep it, and threads started later may be handed one of those, so only the main thread's
    /// arena is sure to keep its memory: the fallback for processes not started with the tunables. False when the calls
    /// are not there (not glibc).
    /// </summary>
    public static bool KeepFreedMemory()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            return Mallopt(ArenaMax, 1) == 1 && Mallopt(MmapMax, 0) == 1 && Mallopt(TrimThreshold, int.MaxValue) == 1;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    /// <summary>Whether the C library is glibc (the one whose tunables <see cref="NativeHeap"/> sets).</summary>
    public static bool IsGlibc()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            return GlibcVersion() != IntPtr.Zero;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    /// <summary>
    /// Replaces this process's program with <paramref name="path"/> run with <paramref name="arguments"/> (argv, the
    /// program name first) and <paramref name="environment"/> (execve(2): same process id, same open files). Returns only
    /// when that fails.
    /// </summary>
    public static void Execute(string path, IReadOnlyList<string> arguments, IReadOnlyList<string> environment)
    {
        var argv = Strings(arguments);
        var envp = Strings(environment);
        try
        {
            _ = ExecuteNative(path, argv, envp);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // No execve: the caller carries on in this process.
        }
        finally
        {
            foreach (var p in argv.Concat(envp)) Marshal.FreeCoTaskMem(p);
        }

        static IntPtr[] Strings(IReadOnlyList<string> values) => [.. values.Select(Marshal.StringToCoTaskMemUTF8), IntPtr.Zero];
    }

    [DllImport("libc", EntryPoint = "mallopt")]
    private static extern int Mallopt(int parameter, int value);

    [DllImport("libc", EntryPoint = "gnu_get_libc_version")]
    private static extern IntPtr GlibcVersion();

    [DllImport("libc", EntryPoint = "execve")]
    private static extern int ExecuteNative([MarshalAs(UnmanagedType.LPUTF8Str)] string path, IntPtr[] argv, IntPtr[] envp);

    [DllImport("libc", EntryPoint = "mkdir", SetLastError = true)]
    private static extern int MakeDirectory([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int mode);

    [DllImport("libc", EntryPoint = "kill")]
    private static extern int Kill(int pid, int signal);

    [DllImport("libc", EntryPoint = "open")]
    private static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", EntryPoint = "fsync")]
    private static extern int Fsync(int fd);

    [DllImport("libc", EntryPoint = "close")]
    private static extern int Close(int fd);
}
