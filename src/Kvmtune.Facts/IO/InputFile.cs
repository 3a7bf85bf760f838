using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Kvmtune.Facts.IO;

/// <summary>
/// Reads a file a person handed kvmtune (a VM spec, a profile, a journal entry): only a regular file, only up to
/// a limit, so /dev/zero, a FIFO or a 3 GB file is a clear error instead of a hang or an out-of-memory crash.
/// </summary>
public static class InputFile
{
    public const long DefaultLimit = 1 << 20;

    /// <summary>
    /// The file's text (UTF-8); an <see cref="InputException"/> naming the file when it is not acceptable.
    /// </summary>
    public static string ReadText(string path, long limit = DefaultLimit) =>
        Encoding.UTF8.GetString(ReadMemory(path, limit).Span);

    public static byte[] ReadBytes(string path, long limit = DefaultLimit) => ReadMemory(path, limit).ToArray();

    /// <summary>The file's bytes without a final copy (the buffer may be longer than the file).</summary>
    public static ReadOnlyMemory<byte> ReadMemory(string path, long limit = DefaultLimit)
    {
        byte[]? buffer = null;
        return ReadMemory(path, limit, ref buffer);
    }

    /// <summary>The file's bytes in <paramref name="buffer"/> where it is large enough, else in a new one left
    /// there: one buffer for thousands of files. They stay valid until the buffer is used again.</summary>
    public static ReadOnlyMemory<byte> ReadMemory(string path, long limit, ref byte[]? buffer)
    {
        // O_NONBLOCK: opening a FIFO must not wait for a writer; the type is checked on the open descriptor.
        var fd = NativeSys.OpenForInput(path, out var errno);
        if (fd < 0)
            throw new InputException(
                path,
                null,
                null,
                errno switch
                {
                    2 => "no such file",
                    13 => "permission denied",
                    20 => "a component of the path is not a folder",
                    _ => $"cannot read: {NativeSys.ErrorText(errno)}",
                }
            );
        using var handle = new SafeFileHandle(fd, ownsHandle: true);
        var st = NativeSys.Fstat(fd) ?? throw new InputException(path, null, null, "cannot read its type");
        if (st.IsDirectory)
            throw new InputException(path, null, null, "is a folder, not a file");
        if (!st.IsRegular)
            throw new InputException(path, null, null, "is not a regular file (a device, pipe or socket)");
        if (st.Size > limit)
            throw new InputException(path, null, null, $"is {st.Size} bytes; kvmtune reads at most {limit} bytes here");
        var size = Math.Max(16, st.Size + 1);
        if (buffer is null || buffer.Length < size)
            buffer = new byte[size];
        var total = 0;
        while (true)
        {
            var n = NativeSys.Read(fd, buffer.AsSpan(total));
            if (n < 0)
                throw new InputException(path, null, null, $"cannot read: {NativeSys.ErrorText(-n)}");
            if (n == 0)
                break;
            total += n;
            if (total > limit)
                throw new InputException(path, null, null, $"grows past {limit} bytes while being read");
            if (total == buffer.Length)
                Array.Resize(ref buffer, (int)Math.Min(limit + 1, buffer.Length * 2L));
        }
        return buffer.AsMemory(0, total);
    }

    /// <summary>
    /// An I/O error as a sentence (the exception's message can be a resource key in a trimmed build).
    /// </summary>
    public static string Describe(Exception e) =>
        e switch
        {
            FileNotFoundException => "no such file",
            DirectoryNotFoundException => "its folder does not exist",
            UnauthorizedAccessException => "permission denied",
            PathTooLongException => "the path is too long",
            _ => e.Message,
        };
}
