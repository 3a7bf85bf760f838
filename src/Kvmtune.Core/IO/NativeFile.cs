using System.Runtime.InteropServices;

namespace Kvmtune.Core.IO;

/// <summary>
/// Whole-file reads with plain open/read/close. FileStream adds an fstat, an flock and a second pread per
/// file, which doubles the cost of reading a thousand tiny sysfs attributes.
/// </summary>
internal static partial class NativeFile
{
    private const int ORdonly = 0;
    private const int OCloexec = 0x80000;

    /// <summary>The file's bytes, or null when it cannot be opened or read (missing, no permission, a folder).</summary>
    public static byte[]? ReadAll(string path, bool singleRead, ref byte[] scratch, long sizeHint = 0)
    {
        var fd = Open(path, ORdonly | OCloexec);
        if (fd < 0) return null;
        try
        {
            // One scratch buffer per reader, grown as needed: most attributes are a few bytes. A large ordinary
            // file (the dpkg status database) gets its own buffer of the size stat reports, read in one go.
            var buffer = sizeHint >= scratch.Length ? new byte[sizeHint + 1] : scratch;
            var length = 0;
            while (true)
            {
                if (length == buffer.Length) { Array.Resize(ref buffer, buffer.Length * 4); if (sizeHint < scratch.Length) scratch = buffer; }
                nint n;
                unsafe
                {
                    fixed (byte* p = &buffer[length]) n = Read(fd, p, buffer.Length - length);
                }
                if (n < 0)
                {
                    if (Marshal.GetLastPInvokeError() == 4 /* EINTR */) continue;
                    return null; // EISDIR, EIO, EINVAL from write-only attributes
                }
                if (n == 0) break;
                length += (int)n;
                // A sysfs attribute is produced by one show() call: a short read is the whole of it.
                if (singleRead && length < buffer.Length) break;
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
        nint n;
        unsafe
        {
            fixed (byte* p = buffer) n = ReadLinkNative(path, p, buffer.Length);
        }
        return n <= 0 ? null : System.Text.Encoding.UTF8.GetString(buffer[..(int)n]);
    }

    /// <summary>
    /// The names in a folder, or null when it cannot be listed. .NET's enumerator stats every symbolic link it
    /// meets to learn whether it leads to a folder; sysfs folders are mostly links, and the answer is not needed.
    /// </summary>
    public static List<string>? ListNames(string path)
    {
        var dir = OpenDir(path);
        if (dir == 0) return null;
        try
        {
            var names = new List<string>();
            while (true)
            {
                var entry = ReadDir(dir);
                if (entry == 0) break;
                // struct dirent64: d_ino (8), d_off (8), d_reclen (2), d_type (1), then the NUL-terminated name.
                unsafe
                {
                    var name = System.Runtime.InteropServices.MemoryMarshal.CreateReadOnlySpanFromNullTerminated((byte*)entry + 19);
                    if (name.SequenceEqual("."u8) || name.SequenceEqual(".."u8)) continue;
                    names.Add(System.Text.Encoding.UTF8.GetString(name));
                }
            }
            return names;
        }
        finally
        {
            _ = CloseDir(dir);
        }
    }

    [LibraryImport("libc", EntryPoint = "opendir", StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint OpenDir(string path);

    [LibraryImport("libc", EntryPoint = "readdir64")]
    private static partial nint ReadDir(nint dir);

    [LibraryImport("libc", EntryPoint = "closedir")]
    private static partial int CloseDir(nint dir);

    [LibraryImport("libc", EntryPoint = "readlink", StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial nint ReadLinkNative(string path, byte* buffer, nint size);

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static unsafe partial nint Read(int fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
