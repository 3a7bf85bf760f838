using System.CommandLine;
using Kvmtune.Facts.IO;
using Kvmtune.Facts.Parsing;

namespace Kvmtune.Cli;

/// <summary>What a command needs from the outside world: its output streams, its environment, and the machine
/// root.</summary>
public sealed class CliContext(
    TextWriter stdout,
    TextWriter stderr,
    Func<string, string?> environment,
    bool stdoutIsTerminal,
    bool stderrIsTerminal = false
)
{
    /// <summary>Progress lines for long operations go to a terminal only; pipes and logs stay quiet.</summary>
    public bool ShowProgress => stderrIsTerminal;

    public TextWriter Out { get; } = stdout;
    public TextWriter Error { get; } = stderr;

    /// <summary>
    /// A line for a person that quotes the machine (values read from sysfs, device names): its control characters
    /// are shown as \x1b and the like, never sent raw to the terminal.
    /// </summary>
    public void Line(string text) => Out.WriteLine(SafeText.ForTerminal(text));

    public Func<string, string?> Environment { get; } = environment;

    /// <summary>
    /// Output written as UTF-8 bytes: straight to the process's stdout after what is buffered (a large document is
    /// never one string), or as text to a writer that has no stream (the tests').
    /// </summary>
    public void WriteUtf8(Action<Stream> write)
    {
        if (Out is StreamWriter { Encoding: System.Text.UTF8Encoding } writer)
        {
            writer.Flush();
            write(writer.BaseStream);
            writer.BaseStream.Flush();
            return;
        }
        using var bytes = new MemoryStream();
        write(bytes);
        Out.Write(System.Text.Encoding.UTF8.GetString(bytes.GetBuffer(), 0, (int)bytes.Length));
    }

    /// <summary>
    /// What answers kvmtune's attribute writes in a tree under --root, before the write returns (tests give one that
    /// imitates the kernel). Null for the real process: the live kernel answers its own writes.
    /// </summary>
    public ITreeKernel? TreeKernel { get; init; }

    /// <summary>Colour only for a person at a terminal, and never when NO_COLOR is set (no-color.org).</summary>
    public bool Colour => stdoutIsTerminal && string.IsNullOrEmpty(Environment("NO_COLOR"));

    /// <summary>The process's streams, stdout buffered (one write per 16 Ki characters rather than per line); flush
    /// before exit. The buffers are allocated, and zeroed, at every start, whatever the command writes: 16 Ki keeps
    /// them off the large-object heap (64 Ki was 320 KiB touched page by page); large documents bypass them
    /// (<see cref="WriteUtf8"/>).</summary>
    public static CliContext FromProcess() =>
        new(
            new StreamWriter(Console.OpenStandardOutput(), new System.Text.UTF8Encoding(false), 1 << 14)
            {
                AutoFlush = false,
            },
            Console.Error,
            System.Environment.GetEnvironmentVariable,
            !Console.IsOutputRedirected,
            !Console.IsErrorRedirected
        );
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
