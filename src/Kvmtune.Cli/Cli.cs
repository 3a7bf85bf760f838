using System.CommandLine;
using System.CommandLine.Help;
using Kvmtune.Cli.Commands.Apply;
using Kvmtune.Cli.Commands.Audit;
using Kvmtune.Cli.Commands.Completion;
using Kvmtune.Cli.Commands.Fleet;
using Kvmtune.Cli.Commands.History;
using Kvmtune.Cli.Commands.Inspect;
using Kvmtune.Cli.Commands.Irq;
using Kvmtune.Cli.Commands.Man;
using Kvmtune.Cli.Commands.Pmem;
using Kvmtune.Cli.Commands.Profiles;
using Kvmtune.Cli.Commands.Rollback;
using Kvmtune.Cli.Commands.Snapshot;
using Kvmtune.Cli.Commands.Vfio;
using Kvmtune.Cli.Commands.Vm;
using Kvmtune.Cli.Options;
using Kvmtune.Facts.IO;
using Kvmtune.Facts.Parsing;

namespace Kvmtune.Cli;

/// <summary>The command tree, and the one place exit codes and errors are decided.</summary>
public static class KvmtuneCli
{
    private const string Description =
        "kvmtune: audit, tune and launch KVM/QEMU hosts and guests after the Intel 3rd Gen Xeon tuning guide";

    /// <summary>Each top-level command and how to build it; a run builds only the one it uses.</summary>
    private static readonly (string Name, Func<Option<string?>, CliContext, Command> Create)[] Commands =
    [
        ("inspect", InspectCommand.Create),
        ("snapshot", SnapshotCommand.Create),
        ("audit", AuditCommand.Create),
        ("profiles", ProfilesCommand.Create),
        ("apply", ApplyCommand.Create),
        ("rollback", RollbackCommand.Create),
        ("history", HistoryCommand.Create),
        ("vm", VmCommand.Create),
        ("vfio", VfioCommand.Create),
        ("irq", IrqCommand.Create),
        ("pmem", PmemCommand.Create),
        ("fleet", (_, ctx) => FleetCommand.Create(ctx)),
    ];

    /// <summary>The whole command tree (help, man page, completion).</summary>
    public static Command Build(CliContext ctx) => Build(ctx, null);

    /// <summary>
    /// The command tree a run needs: with a known command first, only that command (building every command's options,
    /// validators and help text is most of a short run's start-up); `--version` alone needs none; anything else, all.
    /// </summary>
    public static Command Build(CliContext ctx, string[]? args)
    {
        var root = GlobalOptions.Root();
        // A plain command rather than System.CommandLine's RootCommand, whose constructor looks up the entry
        // assembly and its attributes by reflection for a name that is always "kvmtune" (4-5% of a short run).
        // Except before a leading [name] argument: that is a directive, which only a RootCommand reads ([suggest])
        // or refuses ([diagram], any other name); a plain command would skip it silently and run what follows.
        var first = args is { Length: > 0 } ? args[0] : null;
        var directive = first is ['[', .., ']'];
        var command = directive ? new RootCommand(Description) : new Command("kvmtune", Description);
        var only = Array.FindAll(Commands, c => c.Name == first);
        // The help and version options read their descriptions through System.CommandLine's ResourceManager, whose
        // creation reads assembly attributes by reflection (6% of a short inspect); a run of one known command whose
        // arguments cannot name either option does without them.
        if (!directive && (args is null || only.Length != 1 || Array.Exists(args, MayNameHelpOrVersion)))
        {
            command.Add(new HelpOption());
            command.Add(new VersionOption());
        }
        command.Add(root);
        if (args is ["--version"])
            return command;
        foreach (var (_, create) in only.Length == 1 ? only : Commands)
            command.Add(create(root, ctx));
        if (only.Length == 0)
        {
            command.Add(ManCommand.Create(() => command, ctx));
            command.Add(CompletionCommand.Create(() => command, ctx));
        }
        return command;
    }

    /// <summary>
    /// Whether an argument could be read as --help (-h, /h, -?, /?, with a ':' or '=' value, and -h or -? bundled
    /// with other one-letter options) or --version, or could bring them in (a response file, @FILE). It may say yes
    /// for a value that only looks like one: that costs the options' construction, never a different parse.
    /// </summary>
    private static bool MayNameHelpOrVersion(string arg) =>
        arg.StartsWith('@')
        || arg.StartsWith("--help", StringComparison.Ordinal)
        || arg.StartsWith("--version", StringComparison.Ordinal)
        || arg.StartsWith("/h", StringComparison.Ordinal)
        || arg.StartsWith("/?", StringComparison.Ordinal)
        || (
            arg.StartsWith('-')
            && !arg.StartsWith("--", StringComparison.Ordinal)
            && arg.AsSpan().IndexOfAny('h', '?') > 0
        );

    public static int Run(string[] args, CliContext ctx)
    {
        var command = Build(ctx, args);
        var parse = command.Parse(args);
        if (parse.Errors.Count > 0 && parse.Action is not System.CommandLine.Help.HelpAction)
        {
            foreach (var e in parse.Errors)
                ctx.Error.WriteLine($"kvmtune: {Clean(e.Message)}");
            ctx.Error.WriteLine("Run 'kvmtune --help' for usage.");
            return ExitCodes.BadInput;
        }
        try
        {
            return parse.Invoke(
                new InvocationConfiguration
                {
                    Output = new DeferredWriter(() => ctx.Out),
                    Error = new DeferredWriter(() => ctx.Error),
                    EnableDefaultExceptionHandler = false,
                }
            );
        }
        catch (Facts.InputException e)
        {
            ctx.Error.WriteLine($"kvmtune: {Clean(e.Message)}");
            return ExitCodes.BadInput;
        }
        catch (Changes.RefusedException e)
        {
            ctx.Error.WriteLine($"kvmtune: {Clean(e.Message)}");
            return ExitCodes.Refused;
        }
        catch (Changes.ApplyFailedException e)
        {
            ctx.Error.WriteLine($"kvmtune: apply failed: {Clean(e.Message)}");
            return ExitCodes.BadInput;
        }
        catch (UnsafePathException e)
        {
            ctx.Error.WriteLine($"kvmtune: {e.Message}; nothing was changed there");
            return ExitCodes.BadInput;
        }
        catch (CliException e)
        {
            ctx.Error.WriteLine($"kvmtune: {Clean(e.Message)}");
            return e.ExitCode;
        }
        catch (OutputException e)
        {
            ctx.Error.WriteLine(OutputException.Sentence(e));
            return ExitCodes.Internal;
        }
        catch (Exception e) when (e is UnauthorizedAccessException)
        {
            ctx.Error.WriteLine($"kvmtune: {Clean(e.Message)}");
            return ExitCodes.Refused;
        }
        catch (Exception e)
        {
            ctx.Error.WriteLine($"kvmtune: internal error: {e.GetType().Name}: {Clean(e.Message)}");
            // A bug report needs the place; KVMTUNE_DEBUG=1 prints it.
            if (ctx.Environment("KVMTUNE_DEBUG") == "1")
                ctx.Error.WriteLine(Clean(e.StackTrace ?? ""));
            return ExitCodes.Internal;
        }
    }

    /// <summary>An error can quote a file or a machine tree; its control characters are shown, not obeyed.</summary>
    private static string Clean(string message) => SafeText.ForTerminal(message);
}
