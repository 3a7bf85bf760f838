using System.Runtime.InteropServices;

namespace Kvmtune.Facts.IO;

/// <summary>The few system calls the change layer needs that .NET does not expose: durable writes, locks, an abrupt
/// exit.</summary>
public static partial class NativeSys
{
    private const int OWronly = 1,
        OCreat = 0x40,
        OTrunc = 0x200,
        ORdonly = 0,
        OCloexec = 0x80000,
        ODirectory = 0x10000;
    private const int LockEx = 2,
        LockNb = 4;

    /// <summary>Writes bytes to an existing kernel attribute (no create, no truncate: sysfs has no length). Errno on
    /// failure, 0 on success.</summary>
    public static int WriteAttribute(string path, ReadOnlySpan<byte> data, bool truncate)
    {
        var fd = Open(path, OWronly | OCloexec | (truncate ? OTrunc : 0), 0);
        if (fd < 0)
            return Marshal.GetLastPInvokeError();
        try
        {
            unsafe
            {
                fixed (byte* p = data)
                {
                    var n = Write(fd, p, data.Length);
                    if (n < 0)
                        return Marshal.GetLastPInvokeError();
                }
            }
            return 0;
        }
        finally
        {
            _ = Close(fd);
        }
    }

    /// <summary>fsync a file or a folder by path, so a rename or a new entry survives a power cut.</summary>
    public static void Fsync(string path, bool directory)
    {
        var fd = Open(path, ORdonly | OCloexec | (directory ? ODirectory : 0), 0);
        if (fd < 0)
            throw new IOException(
                $"cannot open {path} to sync it: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}"
            );
        try
        {
            if (FsyncNative(fd) != 0)
                throw new IOException($"fsync {path}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }
        finally
        {
            _ = Close(fd);
        }
    }

    /// <summary>An exclusive, non-blocking lock held until the returned handle is disposed (or the process
    /// dies).</summary>
    public static IDisposable? TryLock(string path)
    {
        var fd = Open(path, OWronly | OCreat | OCloexec, 0b110_000_000);
        if (fd < 0)
            throw new IOException(
                $"cannot open lock file {path}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}"
            );
        if (Flock(fd, LockEx | LockNb) != 0)
        {
            _ = Close(fd);
            return null;
        }
        return new FdLock(fd);
    }

    /// <summary>An exclusive, non-blocking lock on an open descriptor (which the handle then owns); null when
    /// held.</summary>
    public static IDisposable? TryLockFd(int fd)
    {
        if (Flock(fd, LockEx | LockNb) != 0)
        {
            _ = Close(fd);
            return null;
        }
        return new FdLock(fd);
    }

    /// <summary>Ends the process at once: no finally blocks, no flushing, as a power cut would.</summary>
    public static void ExitAbruptly(int code) => ExitNative(code);

    public static string ErrorText(int errno) => Marshal.GetPInvokeErrorMessage(errno);

    /// <summary>Pins one thread (a Linux task id) to a set of CPUs; errno on failure, 0 on success.</summary>
    public static int SetAffinity(int tid, IReadOnlyList<int> cpus)
    {
        Span<ulong> mask = stackalloc ulong[16]; // 1024 CPUs, glibc's cpu_set_t
        mask.Clear();
        foreach (var c in cpus)
        {
            if (c < 0 || c >= 1024)
                return 22; // EINVAL
            mask[c / 64] |= 1UL << (c % 64);
        }
        unsafe
        {
            fixed (ulong* p = mask)
                return SchedSetAffinity(tid, (nint)(mask.Length * 8), p) == 0 ? 0 : Marshal.GetLastPInvokeError();
        }
    }

    [LibraryImport("libc", EntryPoint = "sched_setaffinity", SetLastError = true)]
    private static unsafe partial int SchedSetAffinity(int pid, nint size, ulong* mask);

    private sealed class FdLock(int fd) : IDisposable
    {
        private int _fd = fd;

        public void Dispose()
        {
            if (_fd >= 0)
                _ = Close(_fd);
            _fd = -1;
        }
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static unsafe partial nint Write(int fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int FsyncNative(int fd);

    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    private static partial int Flock(int fd, int operation);

    [LibraryImport("libc", EntryPoint = "_exit")]
    private static partial void ExitNative(int code);
}
