using System.Runtime.InteropServices;

namespace Kvmtune.Facts.IO;

/// <summary>
/// Whole-file reads with plain open/read/close. FileStream adds an fstat, an flock and a second pread per
/// file, which doubles the cost of reading a thousand tiny sysfs attributes.
/// </summary>
public static partial class NativeFile
{
    private const int ORdonly = 0;
    private const int OCloexec = 0x80000;
    private const int OPath = 0x200000;
    private const int ODirectory = 0x10000;

    /// <summary>The most kvmtune reads of one file of a machine: far above any real sysfs, procfs or dpkg
    /// file.</summary>
    public const int MaxFileBytes = 64 << 20;

    private const int ScratchLimit = 1 << 20;

    /// <summary>An open folder; closed when disposed or, failing that, when collected.</summary>
    public sealed class DirHandle : SafeHandle
    {
        public DirHandle(int fd)
            : base(-1, ownsHandle: true) => SetHandle(fd);

        public int Fd => (int)handle;
        public override bool IsInvalid => handle == -1;

        protected override bool ReleaseHandle() => NativeFile.Close((int)handle) == 0;
    }

    /// <summary>The file's bytes, or null when it cannot be opened or read (missing, no permission, a
    /// folder).</summary>
    public static byte[]? ReadAll(string path, bool singleRead, ref byte[] scratch, long sizeHint = 0) =>
        ReadFd(Open(path, ORdonly | OCloexec), singleRead, ref scratch, sizeHint);

    /// <summary>A file by its name in an already open folder: the kernel walks one component, not the whole
    /// path.</summary>
    public static byte[]? ReadAllAt(DirHandle dir, string name, bool singleRead, ref byte[] scratch) =>
        ReadFd(OpenAt(dir.Fd, name, ORdonly | OCloexec), singleRead, ref scratch, 0);

    /// <summary>Opens a folder (following links) to read files in it by name; null when it is not one.</summary>
    public static DirHandle? OpenDirectory(string path)
    {
        var fd = Open(path, OPath | ODirectory | OCloexec);
        return fd < 0 ? null : new DirHandle(fd);
    }

    /// <summary>Reads an already open descriptor (closing it); null when it cannot be read or is too large. The
    /// size an ordinary file's fstat gave lets a large one be read into one buffer, without regrowing.</summary>
    public static byte[]? ReadOpened(int fd, bool singleRead, ref byte[] scratch, long sizeHint) =>
        ReadFd(fd, singleRead, ref scratch, sizeHint);

    private static byte[]? ReadFd(int fd, bool singleRead, ref byte[] scratch, long sizeHint)
    {
        if (fd < 0)
            return null;
        try
        {
            // One scratch buffer per reader, grown as needed: most attributes are a few bytes. A large ordinary
            // file (the dpkg status database) gets its own buffer of the size stat reports, read in one go.
            if (sizeHint >= MaxFileBytes)
                return null;
            // A file of up to 1 MiB grows the scratch buffer to its size, once, for the files read after it.
            if (sizeHint >= scratch.Length && sizeHint < ScratchLimit)
                scratch = new byte[sizeHint + 1];
            var buffer = sizeHint >= scratch.Length ? new byte[sizeHint + 1] : scratch;
            var length = 0;
            while (true)
            {
                if (length == buffer.Length)
                {
                    // A file past the limit (a 3 GB cpuinfo, /dev/zero behind a link) is not evidence: unreadable.
                    if (buffer.Length >= MaxFileBytes)
                        return null;
                    Array.Resize(ref buffer, (int)Math.Min(MaxFileBytes, buffer.Length * 4L));
                    if (sizeHint < scratch.Length)
                        scratch = buffer;
                }
                nint n;
                unsafe
                {
                    fixed (byte* p = &buffer[length])
                        n = Read(fd, p, buffer.Length - length);
                }
                if (n < 0)
                {
                    if (
                        Marshal.GetLastPInvokeError() == 4 /* EINTR */
                    )
                        continue;
                    return null; // EISDIR, EIO, EINVAL from write-only attributes
                }
                if (n == 0)
                    break;
                length += (int)n;
                // A sysfs attribute is produced by one show() call: a short read is the whole of it.
                if (singleRead && length < buffer.Length)
                    break;
            }
            return buffer.AsSpan(0, length).ToArray();
        }
        finally
        {
            _ = Close(fd);
        }
    }

    /// <summary>A symbolic link's target text, or null when the path is not a link.</summary>
    public static string? ReadLink(string path)
    {
        Span<byte> buffer = stackalloc byte[4096];
        var n = ReadLinkInto(path, buffer);
        return n <= 0 ? null : System.Text.Encoding.UTF8.GetString(buffer[..n]);
    }

    /// <summary>A link's target as the kernel holds it, bytes that need not be UTF-8; null when it is not a
    /// link.</summary>
    public static byte[]? ReadLinkBytes(string path)
    {
        Span<byte> buffer = stackalloc byte[4096];
        var n = ReadLinkInto(path, buffer);
        return n <= 0 ? null : buffer[..n].ToArray();
    }

    private static int ReadLinkInto(string path, Span<byte> buffer)
    {
        unsafe
        {
            fixed (byte* p = buffer)
                return (int)ReadLinkNative(path, p, buffer.Length);
        }
    }

    /// <summary>
    /// The names in a folder, or null when it cannot be listed. .NET's enumerator stats every symbolic link it
    /// meets to learn whether it leads to a folder; sysfs folders are mostly links, and the answer is not needed.
    /// </summary>
    public static List<string>? ListNames(string path) => ListNames(path, null);

    /// <summary>As <see cref="ListNames(string)"/>, with each name's d_type.</summary>
    public static List<string>? ListNames(string path, List<byte>? types) =>
        ListNames(Open(path, ORdonly | ODirectory | OCloexec), types);

    /// <summary>As <see cref="ListOpen"/>, closing the descriptor after.</summary>
    public static List<string>? ListNames(int fd, List<byte>? types)
    {
        if (fd < 0)
            return null;
        try
        {
            return ListOpen(fd, types);
        }
        finally
        {
            _ = Close(fd);
        }
    }

    /// <summary>
    /// The names in an open folder descriptor (left open), read with getdents64(2) itself: glibc's fdopendir adds an
    /// fstat and an fcntl to every listing (two of the six calls that list a sysfs folder from an open descriptor)
    /// and a 32 KiB buffer from malloc. Null when the folder cannot be read to its end. Each name's d_type is added
    /// to <paramref name="types"/>, when given, in the same order.
    /// </summary>
    public static List<string>? ListOpen(int fd, List<byte>? types)
    {
        if (fd < 0)
            return null;
        var names = new List<string>();
        Span<byte> buffer = stackalloc byte[16 << 10];
        while (true)
        {
            nint n;
            unsafe
            {
                fixed (byte* p = buffer)
                    n = GetDents64(fd, p, buffer.Length);
            }
            if (n < 0)
            {
                if (Marshal.GetLastPInvokeError() == 4)
                    continue; // EINTR: again
                return null;
            }
            if (n == 0)
                return names;
            var records = buffer[..(int)n];
            // struct linux_dirent64: d_ino (8), d_off (8), d_reclen (2), d_type (1), the NUL-terminated name.
            while (records.Length >= 19)
            {
                int length = MemoryMarshal.Read<ushort>(records[16..]);
                if (length < 19 || length > records.Length)
                    return null; // not what the kernel writes
                var name = records[19..length];
                var end = name.IndexOf((byte)0);
                if (end >= 0)
                    name = name[..end];
                if (!name.SequenceEqual("."u8) && !name.SequenceEqual(".."u8))
                {
                    names.Add(System.Text.Encoding.UTF8.GetString(name));
                    types?.Add(records[18]);
                }
                records = records[length..];
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "getdents64", SetLastError = true)]
    private static unsafe partial nint GetDents64(int fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "readlink", StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial nint ReadLinkNative(string path, byte* buffer, nint size);

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "openat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int OpenAt(int dirfd, string path, int flags);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static unsafe partial nint Read(int fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
