using System.Runtime.InteropServices;

namespace Kvmtune.Facts.IO;

/// <summary>What fstat/statx says of an open file: its type, owner, mode, size, inode and modification
/// time.</summary>
// Never passed to native code: the runtime may lay it out as it likes.
[StructLayout(LayoutKind.Auto)]
public readonly record struct StatInfo(
    uint Mode,
    uint Uid,
    uint Gid,
    long Size,
    uint Links,
    ulong Inode,
    long ModifiedSeconds = 0,
    uint ModifiedNanoseconds = 0
)
{
    private const uint TypeMask = 0xF000;
    public bool IsRegular => (Mode & TypeMask) == 0x8000;
    public bool IsDirectory => (Mode & TypeMask) == 0x4000;
    public bool IsLink => (Mode & TypeMask) == 0xA000;
    public bool IsCharDevice => (Mode & TypeMask) == 0x2000;
    public bool IsFifo => (Mode & TypeMask) == 0x1000;
    public bool IsSocket => (Mode & TypeMask) == 0xC000;

    /// <summary>The permission bits (with setuid, setgid and sticky).</summary>
    public uint Permissions => Mode & 0xFFF;

    /// <summary>Whether this file was modified after <paramref name="other"/> (test(1)'s -nt, to the
    /// nanosecond).</summary>
    public bool ModifiedAfter(StatInfo other) =>
        ModifiedSeconds > other.ModifiedSeconds
        || (ModifiedSeconds == other.ModifiedSeconds && ModifiedNanoseconds > other.ModifiedNanoseconds);
}

/// <summary>
/// The descriptor-based calls the safe writer is built on: every path is walked from an open folder, so no
/// component can be swapped for a link between the check and the use.
/// </summary>
public static partial class NativeSys
{
    public const int ORdOnly = 0,
        OWrOnly = 1,
        ORdWr = 2,
        OCreate = 0x40,
        OExclusive = 0x80,
        ONoCtty = 0x100;
    public const int OTruncate = 0x200,
        ONonBlock = 0x800,
        ODirectoryFlag = 0x10000,
        ONoFollow = 0x20000;
    public const int OCloseOnExec = 0x80000,
        OPathOnly = 0x200000;

    // openat2(2) resolve flags (linux/openat2.h).
    public const ulong ResolveNoXdev = 0x01,
        ResolveNoMagicLinks = 0x02,
        ResolveNoSymlinks = 0x04;
    public const ulong ResolveBeneath = 0x08,
        ResolveInRoot = 0x10;

    private const int AtFdCwd = -100,
        AtEmptyPath = 0x1000,
        AtSymlinkNoFollow = 0x100,
        AtRemoveDir = 0x200;
    private const long SysOpenat2 = 437; // x86_64 and aarch64 share this number (asm-generic).

    public const long SysfsMagic = 0x62656572,
        ProcMagic = 0x9fa0;

    /// <summary>Opens a file to read a person's input without blocking on a FIFO; -1 and errno on failure.</summary>
    public static int OpenForInput(string path, out int errno)
    {
        var fd = Open(path, ORdOnly | OCloseOnExec | ONonBlock | ONoCtty, 0);
        errno = fd < 0 ? Marshal.GetLastPInvokeError() : 0;
        return fd;
    }

    /// <summary>The type, owner and mode of an open descriptor; null when the kernel does not say.</summary>
    public static StatInfo? Fstat(int fd) => StatAt(fd, "", AtEmptyPath);

    /// <summary>A path's own type, owner and mode (a link is reported as a link); null when it is missing.</summary>
    public static StatInfo? Lstat(string path) => StatAt(AtFdCwd, path, AtSymlinkNoFollow);

    /// <summary>What a path names after following links; null when it is missing.</summary>
    public static StatInfo? Stat(string path) => StatAt(AtFdCwd, path, 0);

    public static uint EffectiveUid() => GetEuid();

    public static uint EffectiveGid() => GetEgid();

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint GetEuid();

    [LibraryImport("libc", EntryPoint = "getegid")]
    private static partial uint GetEgid();

    /// <summary>A name in an open folder, not following a link at it; null when it is missing.</summary>
    public static StatInfo? LstatAt(int dirFd, string name) => StatAt(dirFd, name, AtSymlinkNoFollow);

    /// <summary>A path relative to an open folder, links followed, given in bytes and ended by a NUL (the launcher's
    /// check stats hundreds of names read from a file, with no string made for each); null when it is
    /// missing.</summary>
    public static StatInfo? StatAt(int dirFd, ReadOnlySpan<byte> nulTerminated)
    {
        if (nulTerminated.IsEmpty || nulTerminated[^1] != 0)
            throw new ArgumentException("the name must end with a NUL", nameof(nulTerminated));
        Span<byte> buf = stackalloc byte[256];
        buf.Clear();
        int rc;
        unsafe
        {
            fixed (byte* n = nulTerminated)
            fixed (byte* p = buf)
                rc = StatxBytes(dirFd, n, 0, 0x7ff, p);
        }
        return rc == 0 ? FromStatx(buf) : null;
    }

    private static StatInfo? StatAt(int dirFd, string path, int flags)
    {
        Span<byte> buf = stackalloc byte[256];
        buf.Clear();
        int rc;
        unsafe
        {
            fixed (byte* p = buf)
                rc = StatxNative(dirFd, path, flags, 0x7ff, p);
        }
        return rc == 0 ? FromStatx(buf) : null;
    }

    // struct statx is the same on every architecture, unlike struct stat (linux/stat.h: stx_mtime at 112).
    private static StatInfo FromStatx(ReadOnlySpan<byte> buf) =>
        new(
            Mode: BitConverter.ToUInt16(buf[28..]),
            Uid: BitConverter.ToUInt32(buf[20..]),
            Gid: BitConverter.ToUInt32(buf[24..]),
            Size: BitConverter.ToInt64(buf[40..]),
            Links: BitConverter.ToUInt32(buf[16..]),
            Inode: BitConverter.ToUInt64(buf[32..]),
            ModifiedSeconds: BitConverter.ToInt64(buf[112..]),
            ModifiedNanoseconds: BitConverter.ToUInt32(buf[120..])
        );

    /// <summary>The file system type (statfs f_type) of an open descriptor; 0 when unknown.</summary>
    public static long FilesystemType(int fd)
    {
        Span<long> buf = stackalloc long[16];
        unsafe
        {
            fixed (long* p = buf)
                return FstatfsNative(fd, p) == 0 ? buf[0] : 0;
        }
    }

    /// <summary>openat2(2): opens <paramref name="path"/> beneath <paramref name="dirFd"/> as the resolve flags allow.
    /// -errno on failure (ENOSYS where the kernel predates 5.6).</summary>
    public static int OpenAt2(int dirFd, ReadOnlySpan<char> path, int flags, int mode, ulong resolve)
    {
        // struct open_how { u64 flags; u64 mode; u64 resolve; }
        Span<ulong> how = [(ulong)(uint)flags, (ulong)(uint)mode, resolve];
        // The NUL-terminated name on the stack: a read of a tree opens hundreds of files.
        var max = System.Text.Encoding.UTF8.GetMaxByteCount(path.Length) + 1;
        Span<byte> bytes = max <= 1024 ? stackalloc byte[max] : new byte[max];
        bytes[System.Text.Encoding.UTF8.GetBytes(path, bytes)] = 0;
        // RESOLVE_IN_ROOT meets "..": any rename anywhere on the system makes the kernel answer EAGAIN, and
        // openat2(2) says to retry.
        for (var attempt = 0; ; attempt++)
        {
            long rc;
            unsafe
            {
                fixed (ulong* h = how)
                fixed (byte* p = bytes)
                    rc = Syscall(SysOpenat2, dirFd, (nint)p, (nint)h, 24);
            }
            if (rc >= 0)
                return (int)rc;
            var errno = Marshal.GetLastPInvokeError();
            if ((errno != 11 && errno != 4) || attempt >= 1000)
                return -errno; // EAGAIN, EINTR
        }
    }

    /// <summary>openat(2); -errno on failure.</summary>
    public static int OpenAt(int dirFd, string name, int flags, int mode)
    {
        var fd = OpenAtNative(dirFd, name, flags, mode);
        return fd < 0 ? -Marshal.GetLastPInvokeError() : fd;
    }

    /// <summary>
    /// Opens a folder by absolute path (following links: the root itself may be one); -errno on failure.
    /// </summary>
    public static int OpenDirectory(string path, bool noFollow = false)
    {
        var fd = Open(path, ORdOnly | ODirectoryFlag | OCloseOnExec | (noFollow ? ONoFollow : 0), 0);
        return fd < 0 ? -Marshal.GetLastPInvokeError() : fd;
    }

    public static int MkdirAt(int dirFd, string name, int mode) =>
        MkdirAtNative(dirFd, name, mode) == 0 ? 0 : Marshal.GetLastPInvokeError();

    public static int RenameAt(int fromDir, string from, int toDir, string to) =>
        RenameAtNative(fromDir, from, toDir, to) == 0 ? 0 : Marshal.GetLastPInvokeError();

    public static int UnlinkAt(int dirFd, string name, bool directory) =>
        UnlinkAtNative(dirFd, name, directory ? AtRemoveDir : 0) == 0 ? 0 : Marshal.GetLastPInvokeError();

    public static int FchownFd(int fd, uint uid, uint gid) =>
        FchownNative(fd, uid, gid) == 0 ? 0 : Marshal.GetLastPInvokeError();

    public static int FchmodFd(int fd, uint mode) => FchmodNative(fd, mode) == 0 ? 0 : Marshal.GetLastPInvokeError();

    public static int FsyncFd(int fd) => FsyncNative(fd) == 0 ? 0 : Marshal.GetLastPInvokeError();

    public static void CloseFd(int fd) => _ = Close(fd);

    /// <summary>
    /// Random bytes from the kernel (getrandom(2)), as hex. Not System.Security.Cryptography: in a native image that
    /// loads OpenSSL, which a minimal host or the test guest does not have.
    /// </summary>
    public static string RandomHex(int bytes)
    {
        Span<byte> buffer = stackalloc byte[bytes];
        unsafe
        {
            fixed (byte* p = buffer)
                if (GetRandomNative(p, bytes, 0) != bytes)
                    throw new IOException("getrandom failed");
        }
        return Convert.ToHexString(buffer);
    }

    [LibraryImport("libc", EntryPoint = "getrandom", SetLastError = true)]
    private static unsafe partial nint GetRandomNative(byte* buffer, nint length, uint flags);

    /// <summary>A second descriptor for the same open file (F_DUPFD_CLOEXEC); -errno on failure.</summary>
    public static int Dup(int fd)
    {
        var d = FcntlNative(fd, 1030, 0);
        return d < 0 ? -Marshal.GetLastPInvokeError() : d;
    }

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int FcntlNative(int fd, int cmd, int arg);

    /// <summary>Reads into the span; the count, or -errno.</summary>
    public static int Read(int fd, Span<byte> buffer)
    {
        while (true)
        {
            nint n;
            unsafe
            {
                fixed (byte* p = buffer)
                    n = ReadNative(fd, p, buffer.Length);
            }
            if (n >= 0)
                return (int)n;
            var e = Marshal.GetLastPInvokeError();
            if (e != 4)
                return -e; // EINTR: again
        }
    }

    /// <summary>Writes the whole span; 0 or errno.</summary>
    public static int WriteAll(int fd, ReadOnlySpan<byte> data) => WriteAll(fd, data, out _);

    /// <summary>Writes the whole span; 0, or errno with how many bytes were written before it.</summary>
    public static int WriteAll(int fd, ReadOnlySpan<byte> data, out int written)
    {
        var done = 0;
        written = 0;
        while (done < data.Length)
        {
            nint n;
            unsafe
            {
                fixed (byte* p = data)
                    n = Write(fd, p + done, data.Length - done);
            }
            if (n < 0)
            {
                var e = Marshal.GetLastPInvokeError();
                if (e == 4)
                    continue;
                return e;
            }
            done += (int)n;
            written = done;
        }
        return 0;
    }

    /// <summary>
    /// Waits until a descriptor can take more bytes (one left non-blocking by whoever opened it answers EAGAIN
    /// when its pipe is full); 0 or errno.
    /// </summary>
    public static int WaitWritable(int fd)
    {
        while (true)
        {
            var pollFd = new PollFd { Fd = fd, Events = 4 }; // POLLOUT
            int n;
            unsafe
            {
                n = PollNative(&pollFd, 1, -1);
            }
            if (n >= 0)
                return 0;
            var e = Marshal.GetLastPInvokeError();
            if (e != 4)
                return e;
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static unsafe partial int PollNative(PollFd* fds, nuint count, int timeoutMs);

    /// <summary>
    /// A folder's canonical path (every link resolved, as the kernel sees it); null when it cannot be opened.
    /// </summary>
    public static string? CanonicalFolder(string path)
    {
        var fd = OpenDirectory(path);
        if (fd < 0)
            return null;
        try
        {
            return PathOf(fd);
        }
        finally
        {
            CloseFd(fd);
        }
    }

    /// <summary>Where an open descriptor really is (the kernel's own answer, /proc/self/fd).</summary>
    public static string? PathOf(int fd) => NativeFile.ReadLink($"/proc/self/fd/{fd}");

    /// <summary>The target text of a link in an open folder, or null when the name is not a link.</summary>
    public static string? ReadLinkAt(int dirFd, string name)
    {
        Span<byte> buffer = stackalloc byte[4096];
        nint n;
        unsafe
        {
            fixed (byte* p = buffer)
                n = ReadLinkAtNative(dirFd, name, p, buffer.Length);
        }
        return n <= 0 ? null : System.Text.Encoding.UTF8.GetString(buffer[..(int)n]);
    }

    [LibraryImport("libc", EntryPoint = "readlinkat", StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial nint ReadLinkAtNative(int dirFd, string path, byte* buffer, nint size);

    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static unsafe partial int StatxNative(int dirFd, string path, int flags, uint mask, byte* buffer);

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true)]
    private static unsafe partial int StatxBytes(int dirFd, byte* path, int flags, uint mask, byte* buffer);

    [LibraryImport("libc", EntryPoint = "fstatfs", SetLastError = true)]
    private static unsafe partial int FstatfsNative(int fd, long* buffer);

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, nint a, nint b, nint c, nint d);

    [LibraryImport("libc", EntryPoint = "openat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int OpenAtNative(int dirFd, string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "mkdirat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int MkdirAtNative(int dirFd, string path, int mode);

    [LibraryImport("libc", EntryPoint = "renameat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int RenameAtNative(int fromDir, string from, int toDir, string to);

    [LibraryImport("libc", EntryPoint = "unlinkat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int UnlinkAtNative(int dirFd, string path, int flags);

    [LibraryImport("libc", EntryPoint = "fchown", SetLastError = true)]
    private static partial int FchownNative(int fd, uint uid, uint gid);

    [LibraryImport("libc", EntryPoint = "fchmod", SetLastError = true)]
    private static partial int FchmodNative(int fd, uint mode);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static unsafe partial nint ReadNative(int fd, byte* buffer, nint count);
}
