using System.CommandLine;
using Kvmtune.Cli.Options;
using Kvmtune.Reports;
using Kvmtune.Reports.Fleet;

namespace Kvmtune.Cli.Commands.Fleet;

/// <summary><c>kvmtune fleet DIR</c>: many hosts' audit JSON merged into one table.</summary>
public static class FleetCommand
{
    public static Command Create(CliContext ctx)
    {
        var dir = new Argument<string>("DIR")
        {
            Description = "A folder of kvmtune audit JSON files (one per host; sub-folders too)",
        };
        var format = GlobalOptions.Format(FleetFormats.All);
        var output = new Option<string?>("--output", "-o")
        {
            Description = "Write to FILE instead of stdout",
            HelpName = "FILE",
        };
        var command = new Command(
            "fleet",
            "Merge many hosts' audit results: which hosts fail which checks, and what differs between hosts audited " +
                "alike"
        )
        {
            dir,
            format,
            output,
        };
        command.SetAction(parse =>
        {
            var report = FleetReport.Load(parse.GetValue(dir)!);
            OutputFile.Write(
                ctx,
                parse.GetValue(output),
                FleetFormats
                    .All[parse.GetValue(format)!]
                    .Render(
                        report,
                        new RenderContext(
                            new TextStyle(ctx.Colour && parse.GetValue(output) is null),
                            DateTimeOffset.UtcNow
                        )
                    )
            );
            return report.Hosts.Any(h => h.Findings.Values.Any(f => f.Status == "fail"))
                ? ExitCodes.Failing
                : ExitCodes.Success;
        });
        return command;
    }
}
