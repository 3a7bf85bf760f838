using System.CommandLine;
using Kvmtune.Cli.Options;
using Kvmtune.Facts.Host;
using Kvmtune.Guide.Audit;
using Kvmtune.Reports;
using Kvmtune.Reports.Audit;

namespace Kvmtune.Cli.Commands.Audit;

/// <summary><c>kvmtune audit</c>: every recommendation of the guide checked against a profile.</summary>
public static class AuditCommand
{
    public static Command Create(Option<string?> root, CliContext ctx)
    {
        var profile = ProfileOptions.Profile();
        var profileDir = ProfileOptions.ProfileDir();
        var role = AuditOptions.Role("Audit as a host or a guest; auto decides from cpuinfo and DMI");
        var format = GlobalOptions.Format(AuditFormats.All);
        var planSpec = new Option<string?>("--plan")
        {
            Description = "With --format html: a VM spec file whose placement the host picture shows",
            HelpName = "SPEC",
        };
        var output = new Option<string?>("--output", "-o")
        {
            Description = "Write to FILE (atomically) instead of stdout",
            HelpName = "FILE",
        };
        var only = new Option<string[]>("--only")
        {
            Description = "Only these finding ids, id prefixes or guide sections (comma-separated)",
            AllowMultipleArgumentsPerToken = true,
        };
        var skip = new Option<string[]>("--skip")
        {
            Description = "Leave out these finding ids, id prefixes or guide sections (comma-separated)",
            AllowMultipleArgumentsPerToken = true,
        };
        var vmSize = new Option<string?>("--vm-size")
        {
            Description = "Also count how many VMs of this size fit per node, e.g. 4c8g",
            HelpName = "SIZE",
        };
        var details = new Option<bool>("--details")
        {
            Description = "Show each finding's id, reason, evidence and every fix",
        };
        var command = new Command(
            "audit",
            "Check the machine against every recommendation of the tuning guide, for a profile (exit 1 when anything " +
                "fails)"
        )
        {
            profile,
            profileDir,
            role,
            format,
            output,
            only,
            skip,
            vmSize,
            details,
            planSpec,
        };
        command.SetAction(parse =>
        {
            var reader = RootResolver.Reader(parse, root, ctx);
            var p = ProfileOptions.Resolve(parse, profile, profileDir, reader);
            var size = parse.GetValue(vmSize) is string s ? VmSize.Parse(s) : null;
            var facts = HostFacts.Read(reader);
            var report = Auditor.Audit(
                reader,
                facts,
                p,
                AuditOptions.RoleOf(parse, role),
                size,
                AuditOptions.Split(parse.GetValue(only)),
                AuditOptions.Split(parse.GetValue(skip))
            );
            var style = new TextStyle(ctx.Colour && parse.GetValue(output) is null);
            var content = AuditFormats
                .All[parse.GetValue(format)!]
                .Render(
                    new AuditResult(report, facts),
                    new RenderContext(style, DateTimeOffset.UtcNow)
                    {
                        Details = parse.GetValue(details),
                        Plan = () => Vm.PlanPicture.Load(reader, facts, parse.GetValue(planSpec)),
                    }
                );
            OutputFile.Write(ctx, parse.GetValue(output), content);
            return report.AnyFail ? ExitCodes.Failing : ExitCodes.Success;
        });
        return command;
    }
}
