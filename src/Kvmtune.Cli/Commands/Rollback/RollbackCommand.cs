using System.CommandLine;
using Kvmtune.Changes;
using Kvmtune.Cli.Options;

namespace Kvmtune.Cli.Commands.Rollback;

/// <summary><c>kvmtune rollback</c>: restore exactly what an apply changed.</summary>
public static class RollbackCommand
{
    public static Command Create(Option<string?> root, CliContext ctx)
    {
        var id = new Argument<string?>("JOURNAL_ID")
        {
            Description = "The apply to undo (kvmtune history lists them); the last one when omitted",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var last = new Option<bool>("--last") { Description = "Undo the most recent apply (the default)" };
        var force = new Option<bool>("--force")
        {
            Description = "Also restore values someone changed again since the apply",
        };
        var journalDir = JournalOptions.Dir();
        var command = new Command("rollback", "Restore every original value and file that an apply changed")
        {
            id,
            last,
            force,
            journalDir,
        };
        command.SetAction(parse =>
        {
            var reader = RootResolver.Reader(parse, root, ctx);
            var which = parse.GetValue(id);
            if (which is not null && parse.GetValue(last))
                throw new CliException(ExitCodes.BadInput, "give a JOURNAL_ID or --last, not both");
            using var layer = new ChangeLayer(
                reader,
                JournalOptions.Open(parse, journalDir, reader),
                kernel: ctx.TreeKernel
            );
            var result = layer.Rollback(which, parse.GetValue(force));
            ctx.Out.WriteLine($"rollback {result.JournalId}:");
            foreach (var line in result.Lines)
                ctx.Out.WriteLine("  " + line);
            foreach (var w in result.Warnings)
                ctx.Error.WriteLine("kvmtune: " + w);
            return result.Failed ? ExitCodes.Failing : ExitCodes.Success;
        });
        return command;
    }
}
