using System.CommandLine;
using Kvmtune.Cli.Options;
using Kvmtune.Facts.Host;
using Kvmtune.Reports;
using Kvmtune.Reports.Inspect;

namespace Kvmtune.Cli.Commands.Inspect;

/// <summary><c>kvmtune inspect</c>: the facts about this machine, for people or as JSON.</summary>
public static class InspectCommand
{
    public static Command Create(Option<string?> root, CliContext ctx)
    {
        var format = GlobalOptions.Format(InspectFormats.All);
        var planSpec = new Option<string?>("--plan")
        {
            Description = "With --format svg: a VM spec file whose placement the picture shows",
            HelpName = "SPEC",
        };
        var command = new Command(
            "inspect",
            "Show the host or guest facts: CPUs, NUMA, memory and huge pages, power management, KVM, devices"
        )
        {
            format,
            planSpec,
        };
        command.SetAction(parse =>
        {
            var reader = RootResolver.Reader(parse, root, ctx);
            var facts = HostFacts.Read(reader);
            var context = new RenderContext(new TextStyle(ctx.Colour), DateTimeOffset.UtcNow)
            {
                Plan = () => Vm.PlanPicture.Load(reader, facts, parse.GetValue(planSpec)),
            };
            ctx.WriteUtf8(stream => InspectFormats.All[parse.GetValue(format)!].Write(facts, context, stream));
            return ExitCodes.Success;
        });
        return command;
    }
}
