using System.CommandLine;
using Kvmtune.Cli.Options;
using Kvmtune.Facts.Host;
using Kvmtune.Reports;
using Kvmtune.Reports.VmAudit;
using Kvmtune.Vms.Audit;

namespace Kvmtune.Cli.Commands.Vm.Audit;

/// <summary>
/// <c>kvmtune vm audit [NAME...]</c>: every running QEMU (and libvirt domain) against the guide's VM sections.
/// </summary>
public static class VmAuditCommand
{
    public static Command Create(Option<string?> root, CliContext ctx)
    {
        var names = new Argument<string[]>("NAME")
        {
            Description = "The VMs to audit: libvirt domain or QEMU -name (default: every running QEMU)",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var format = GlobalOptions.Format(VmAuditFormats.All);
        var output = new Option<string?>("--output", "-o")
        {
            Description = "Write to FILE (atomically) instead of stdout",
            HelpName = "FILE",
        };
        var details = new Option<bool>("--details")
        {
            Description = "Show each finding's id, reason, evidence and every fix",
        };
        var command = new Command(
            "audit",
            "Check every running QEMU and libvirt domain against the guide's VM "
                + "sections (pinning, NUMA, huge pages, overcommit, virtio-net, virtio-blk); exit 1 when any VM has " +
                    "a fail"
        )
        {
            names,
            format,
            output,
            details,
        };
        command.SetAction(parse =>
        {
            var reader = RootResolver.Reader(parse, root, ctx);
            var facts = HostFacts.Read(reader);
            var vms = RunningVmReader.Read(reader);
            var report = VmAuditor.Run(vms, facts, parse.GetValue(names) ?? []);
            var style = new TextStyle(ctx.Colour && parse.GetValue(output) is null);
            var content = VmAuditFormats
                .All[parse.GetValue(format)!]
                .Render(report, new RenderContext(style, DateTimeOffset.UtcNow) { Details = parse.GetValue(details) });
            OutputFile.Write(ctx, parse.GetValue(output), content);
            return report.AnyFail ? ExitCodes.Failing : ExitCodes.Success;
        });
        return command;
    }
}
