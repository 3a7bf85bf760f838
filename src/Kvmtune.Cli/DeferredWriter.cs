using System.Text;

namespace Kvmtune.Cli;

/// <summary>
/// A writer that asks for the one it stands for at its first use: System.CommandLine is handed the output and
/// error writers before it is known whether help or an error will be written, and most runs write neither.
/// </summary>
internal sealed class DeferredWriter(Func<TextWriter> open) : TextWriter
{
    private TextWriter? _target;

    private TextWriter Target => _target ??= open();

    public override Encoding Encoding => Target.Encoding;

    public override void Write(char value) => Target.Write(value);

    public override void Write(string? value) => Target.Write(value);

    public override void Write(char[] buffer, int index, int count) => Target.Write(buffer, index, count);

    public override void Write(ReadOnlySpan<char> buffer) => Target.Write(buffer);

    public override void WriteLine() => Target.WriteLine();

    public override void WriteLine(string? value) => Target.WriteLine(value);

    public override void WriteLine(ReadOnlySpan<char> buffer) => Target.WriteLine(buffer);

    /// <summary>Nothing written, nothing to flush: the writer is not made for it.</summary>
    public override void Flush() => _target?.Flush();
}
