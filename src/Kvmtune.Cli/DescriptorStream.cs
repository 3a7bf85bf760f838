using System.Runtime.InteropServices;
using Kvmtune.Facts.IO;

namespace Kvmtune.Cli;

/// <summary>
/// The process's standard output (or error) written with write(2), which advances the descriptor's shared offset
/// and honours O_APPEND as a shell's redirection expects. Not <c>Console.OpenStandardOutput</c>: its first write
/// sets up the console (a signal-handling thread, handlers for six signals, terminfo and a keypad sequence sent
/// to a terminal), a sixth of a short command's run that a tool writing a document does not need.
/// </summary>
public sealed class DescriptorStream(int fd) : Stream
{
    private const int BrokenPipe = 32,
        TryAgain = 11;

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        while (true)
        {
            var e = NativeSys.WriteAll(fd, buffer, out var written);
            buffer = buffer[written..];
            // A reader that went away (`kvmtune inspect | head`) ends the output, not the command, as the console's
            // stream does: what kvmtune does, and its exit code, do not depend on who reads.
            if (e is 0 or BrokenPipe)
                return;
            if (e != TryAgain)
                throw new OutputException(fd, e);
            var w = NativeSys.WaitWritable(fd);
            if (w != 0)
                throw new OutputException(fd, w);
        }
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void WriteByte(byte value) => Write([value]);

    public override void Flush() { }

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}

/// <summary>Standard output or error could not take what kvmtune wrote (a full disk, a closed descriptor).</summary>
public sealed class OutputException(int fd, int errno)
    : IOException($"{(fd == 2 ? "standard error" : "standard output")}: {Marshal.GetPInvokeErrorMessage(errno)}")
{
    /// <summary>What kvmtune says, once, when its output cannot be written (exit 4).</summary>
    public static string Sentence(IOException e) => $"kvmtune: cannot write the output: {e.Message}";
}
