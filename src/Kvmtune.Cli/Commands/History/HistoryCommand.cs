using System.CommandLine;
using System.Text.Json;
using Kvmtune.Changes;
using Kvmtune.Cli.Options;

namespace Kvmtune.Cli.Commands.History;

/// <summary><c>kvmtune history</c>: each apply, what it changed, and how it ended.</summary>
public static class HistoryCommand
{
    public static Command Create(Option<string?> root, CliContext ctx)
    {
        var format = GlobalOptions.Format("text", "json");
        var journalDir = JournalOptions.Dir();
        var command = new Command(
            "history",
            "List each apply, its changes, and whether it completed, failed or was rolled back"
        )
        {
            format,
            journalDir,
        };
        command.SetAction(parse =>
        {
            var reader = RootResolver.Reader(parse, root, ctx);
            using var layer = new ChangeLayer(
                reader,
                JournalOptions.Open(parse, journalDir, reader),
                kernel: ctx.TreeKernel
            );
            var entries = layer.History().ToList();
            if (parse.GetValue(format) == "json")
            {
                ctx.Out.WriteLine(JsonSerializer.Serialize(entries, JournalJsonContext.Default.ListJournalEntry));
                return ExitCodes.Success;
            }
            if (entries.Count == 0)
                ctx.Out.WriteLine("no applies recorded");
            foreach (var e in entries)
            {
                ctx.Out.WriteLine(
                    $"{e.Id}  {e.State,-11}  profile {e.Profile}, {e.Operations.Count} " +
                        $"change(s){(e.Persist ? ", persistent" : "")}"
                );
                foreach (var op in e.Operations)
                    ctx.Out.WriteLine(
                        $"    {(op.RolledBack is not null ? "undone " : op.Applied ? "done   " : "pending")} " +
                            $"{op.Describe()} [{op.Section}]"
                    );
                foreach (var ev in e.Events)
                    ctx.Out.WriteLine($"    note: {ev}");
            }
            return ExitCodes.Success;
        });
        return command;
    }
}
