using System.CommandLine;
using Kvmtune.Changes;
using Kvmtune.Cli.Options;
using Kvmtune.Reports;
using Kvmtune.Reports.History;

namespace Kvmtune.Cli.Commands.History;

/// <summary><c>kvmtune history</c>: each apply, what it changed, and how it ended.</summary>
public static class HistoryCommand
{
    public static Command Create(Option<string?> root, CliContext ctx)
    {
        var format = GlobalOptions.Format(HistoryFormats.All);
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
            ctx.Out.Write(
                HistoryFormats
                    .All[parse.GetValue(format)!]
                    .Render(entries, new RenderContext(new TextStyle(ctx.Colour), DateTimeOffset.UtcNow))
            );
            return ExitCodes.Success;
        });
        return command;
    }
}
