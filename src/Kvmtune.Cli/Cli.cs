using System.CommandLine;
using Kvmtune.Cli.Commands.Apply;
using Kvmtune.Cli.Commands.Audit;
using Kvmtune.Cli.Commands.History;
using Kvmtune.Cli.Commands.Rollback;
using Kvmtune.Cli.Commands.Vm;
using Kvmtune.Cli.Commands.Vfio;
using Kvmtune.Cli.Commands.Irq;
using Kvmtune.Cli.Commands.Pmem;
using Kvmtune.Cli.Commands.Fleet;
using Kvmtune.Cli.Commands.Docs;
using Kvmtune.Cli.Commands.Inspect;
using Kvmtune.Cli.Commands.Profiles;
using Kvmtune.Cli.Commands.Snapshot;

namespace Kvmtune.Cli;

/// <summary>The command tree, and the one place exit codes and errors are decided.</summary>
public static class KvmtuneCli
{
    public static RootCommand Build(CliContext ctx)
    {
        var root = GlobalOptions.Root();
        var command = new RootCommand("kvmtune: audit, tune and launch KVM/QEMU hosts and guests after the Intel 3rd Gen Xeon tuning guide")
        {
            root,
            InspectCommand.Create(root, ctx),
            SnapshotCommand.Create(root, ctx),
            AuditCommand.Create(root, ctx),
            ProfilesCommand.Create(root, ctx),
            ApplyCommand.Create(root, ctx),
            RollbackCommand.Create(root, ctx),
            HistoryCommand.Create(root, ctx),
            VmCommand.Create(root, ctx),
            VfioCommand.Create(root, ctx),
            IrqCommand.Create(root, ctx),
            PmemCommand.Create(root, ctx),
            FleetCommand.Create(ctx),
        };
        command.Add(DocsCommands.Man(() => command, ctx));
        command.Add(DocsCommands.Completion(() => command, ctx));
        return command;
    }

    public static int Run(string[] args, CliContext ctx)
    {
        var command = Build(ctx);
        var parse = command.Parse(args);
        if (parse.Errors.Count > 0 && parse.Action is not System.CommandLine.Help.HelpAction)
        {
            foreach (var e in parse.Errors) ctx.Error.WriteLine($"kvmtune: {Clean(e.Message)}");
            ctx.Error.WriteLine("Run 'kvmtune --help' for usage.");
            return ExitCodes.BadInput;
        }
        try
        {
            return parse.Invoke(new InvocationConfiguration { Output = ctx.Out, Error = ctx.Error, EnableDefaultExceptionHandler = false });
        }
        catch (Core.InputException e)
        {
            ctx.Error.WriteLine($"kvmtune: {Clean(e.Message)}");
            return ExitCodes.BadInput;
        }
        catch (Core.Changes.RefusedException e)
        {
            ctx.Error.WriteLine($"kvmtune: {Clean(e.Message)}");
            return ExitCodes.Refused;
        }
        catch (Core.Changes.ApplyFailedException e)
        {
            ctx.Error.WriteLine($"kvmtune: apply failed: {Clean(e.Message)}");
            return ExitCodes.BadInput;
        }
        catch (Core.IO.UnsafePathException e)
        {
            ctx.Error.WriteLine($"kvmtune: {e.Message}; nothing was changed there");
            return ExitCodes.BadInput;
        }
        catch (CliException e)
        {
            ctx.Error.WriteLine($"kvmtune: {Clean(e.Message)}");
            return e.ExitCode;
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
            if (ctx.Environment("KVMTUNE_DEBUG") == "1") ctx.Error.WriteLine(Clean(e.StackTrace ?? ""));
            return ExitCodes.Internal;
        }
    }

    /// <summary>An error can quote a file or a machine tree; its control characters are shown, not obeyed.</summary>
    private static string Clean(string message) => Core.Parsing.SafeText.ForTerminal(message);
}
