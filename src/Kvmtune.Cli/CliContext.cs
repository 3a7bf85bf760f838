using System.CommandLine;
using Kvmtune.Facts.IO;
using Kvmtune.Facts.Parsing;

namespace Kvmtune.Cli;

/// <summary>What a command needs from the outside world: its output streams, its environment, and the machine
/// root.</summary>
public sealed class CliContext
{
    private readonly Func<TextWriter> _openOut;
    private readonly Func<TextWriter> _openError;
    private readonly Stream? _stdout;
    private readonly bool _stdoutIsTerminal;
    private readonly bool _stderrIsTerminal;
    private TextWriter? _out;
    private TextWriter? _error;

    public CliContext(
        TextWriter stdout,
        TextWriter stderr,
        Func<string, string?> environment,
        bool stdoutIsTerminal,
        bool stderrIsTerminal = false
    )
        : this(() => stdout, () => stderr, null, environment, stdoutIsTerminal, stderrIsTerminal) { }

    private CliContext(
        Func<TextWriter> openOut,
        Func<TextWriter> openError,
        Stream? stdout,
        Func<string, string?> environment,
        bool stdoutIsTerminal,
        bool stderrIsTerminal
    )
    {
        _openOut = openOut;
        _openError = openError;
        _stdout = stdout;
        Environment = environment;
        _stdoutIsTerminal = stdoutIsTerminal;
        _stderrIsTerminal = stderrIsTerminal;
    }

    /// <summary>Progress lines for long operations go to a terminal only; pipes and logs stay quiet.</summary>
    public bool ShowProgress => _stderrIsTerminal;

    /// <summary>Standard output as text, made on first use: a command that writes a document as bytes
    /// (<see cref="WriteUtf8"/>) never allocates its buffers.</summary>
    public TextWriter Out => _out ??= _openOut();

    /// <summary>Standard error, made on first use (a command that succeeds quietly never sets up the
    /// console).</summary>
    public TextWriter Error => _error ??= _openError();

    /// <summary>
    /// A line for a person that quotes the machine (values read from sysfs, device names): its control characters
    /// are shown as \x1b and the like, never sent raw to the terminal.
    /// </summary>
    public void Line(string text) => Out.WriteLine(SafeText.ForTerminal(text));

    public Func<string, string?> Environment { get; }

    /// <summary>
    /// Output written as UTF-8 bytes: straight to the process's stdout after what is buffered (a large document is
    /// never one string), or as text to a writer that has no stream (the tests').
    /// </summary>
    public void WriteUtf8(Action<Stream> write)
    {
        if (_stdout is not null)
        {
            _out?.Flush();
            write(_stdout);
            _stdout.Flush();
            return;
        }
        using var bytes = new MemoryStream();
        write(bytes);
        Out.Write(System.Text.Encoding.UTF8.GetString(bytes.GetBuffer(), 0, (int)bytes.Length));
    }

    /// <summary>Writes out what standard output holds (nothing to do when no text was written).</summary>
    public void Flush() => _out?.Flush();

    /// <summary>
    /// What answers kvmtune's attribute writes in a tree under --root, before the write returns (tests give one that
    /// imitates the kernel). Null for the real process: the live kernel answers its own writes.
    /// </summary>
    public ITreeKernel? TreeKernel { get; init; }

    /// <summary>Colour only for a person at a terminal, and never when NO_COLOR is set (no-color.org).</summary>
    public bool Colour => _stdoutIsTerminal && string.IsNullOrEmpty(Environment("NO_COLOR"));

    /// <summary>The process's streams. Text on stdout is buffered (one write per 16 Ki characters rather than per
    /// line; 16 Ki keeps the buffers off the large-object heap) and written with write(2) rather than through the
    /// console (<see cref="DescriptorStream"/>); flush before exit. Both writers are made on first use.</summary>
    public static CliContext FromProcess()
    {
        var stdout = new DescriptorStream(1);
        return new(
            () => new StreamWriter(stdout, new System.Text.UTF8Encoding(false), 1 << 14) { AutoFlush = false },
            () => Console.Error,
            stdout,
            System.Environment.GetEnvironmentVariable,
            !Console.IsOutputRedirected,
            !Console.IsErrorRedirected
        );
    }
}

/// <summary>A failure the user can fix, with the exit code the contract gives it.</summary>
public sealed class CliException(int exitCode, string message) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}

public static class RootResolver
{
    /// <summary>
    /// --root, else KVMTUNE_ROOT, else "/". A root given but empty is bad input (exit 2), not the live host: a
    /// script whose variable came out empty must not tune the machine it runs on. So is a folder that is no
    /// machine tree at all (neither proc nor sys in it).
    /// </summary>
    public static HostReader Reader(ParseResult parse, Option<string?> rootOption, CliContext ctx)
    {
        var given = parse.GetResult(rootOption) is { Implicit: false };
        var root = given ? parse.GetValue(rootOption) ?? "" : ctx.Environment("KVMTUNE_ROOT");
        var source = given ? "--root" : "KVMTUNE_ROOT";
        if (root is null)
            return new HostReader("/");
        if (root.Length == 0)
            throw new CliException(
                ExitCodes.BadInput,
                $"{source} is empty: give the folder that stands for '/' (or leave {source} out for this machine)"
            );
        if (!Directory.Exists(root))
            throw new CliException(
                ExitCodes.BadInput,
                $"{source}: '{root}' is not a folder (give the folder that stands for '/', such as an extracted "
                    + "snapshot)"
            );
        // The root is resolved once, here: every reader and writer then uses the same canonical folder, so a link
        // swapped in later, or a root that leads to '/', cannot send them onto the live system.
        var canonical = NativeSys.CanonicalFolder(root)
            ?? throw new CliException(ExitCodes.BadInput, $"{source}: '{root}' cannot be opened");
        if (canonical == "/" && root.Trim('/').Length == 0)
            return new HostReader("/");
        if (canonical == "/")
            throw new CliException(
                ExitCodes.BadInput,
                $"{source}: '{root}' leads to '/', the live system: leave {source} out to work on this machine"
            );
        root = canonical;
        var machine = Directory.Exists(Path.Combine(root, "proc")) || Directory.Exists(Path.Combine(root, "sys"));
        if (!machine)
            throw new CliException(
                ExitCodes.BadInput,
                $"{source}: '{root}' is not a machine tree: "
                    + "it has neither a proc nor a sys folder (give the folder that stands for '/')"
            );
        return new HostReader(root);
    }
}

public static class ExitCodes
{
    public const int Success = 0;
    public const int Failing = 1;
    public const int BadInput = 2;
    public const int Refused = 3;
    public const int Internal = 4;
}
