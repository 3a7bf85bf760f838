using System.CommandLine;
using Kvmtune.Cli.Options;
using Kvmtune.Reports;
using Kvmtune.Reports.Vm;
using Kvmtune.Vms;
using static Kvmtune.Cli.Options.VmOptions;

namespace Kvmtune.Cli.Commands.Vm.Plan;

/// <summary><c>kvmtune vm plan SPEC</c>: the resolved VMs, each decision with its reason.</summary>
public static class VmPlanCommand
{
    public static Command Create(Option<string?> root, CliContext ctx)
    {
        var spec = SpecArgument();
        var format = GlobalOptions.Format(PlanFormats.All);
        var accel = Accel();
        var command = new Command(
            "plan",
            "Place each VM on the host: node, pinned CPUs, huge pages, devices, each decision with its reason (exit "
                + "1 when one does not fit)"
        )
        {
            spec,
            format,
            accel,
        };
        command.SetAction(parse =>
        {
            var (facts, specs, placement, qemu) = Load(parse, root, spec, ctx);
            var plan = ResolvedPlan.Resolve(specs, placement, facts, AccelFor(parse, accel, facts), qemu);
            var context = new RenderContext(new TextStyle(ctx.Colour), DateTimeOffset.UtcNow);
            ctx.WriteUtf8(stream => PlanFormats.All[parse.GetValue(format)!].Write(plan, context, stream));
            return plan.Unplaced.Count > 0 ? ExitCodes.Failing : ExitCodes.Success;
        });
        return command;
    }
}
