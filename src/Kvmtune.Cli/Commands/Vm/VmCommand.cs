using System.CommandLine;
using Kvmtune.Cli.Commands.Vm.Audit;
using Kvmtune.Cli.Commands.Vm.Libvirt;
using Kvmtune.Cli.Commands.Vm.Plan;
using Kvmtune.Cli.Commands.Vm.Qemu;
using Kvmtune.Cli.Commands.Vm.Run;
using Kvmtune.Cli.Commands.Vm.Status;
using Kvmtune.Cli.Commands.Vm.Stop;
using Kvmtune.Cli.Commands.Vm.Tune;

namespace Kvmtune.Cli.Commands.Vm;

/// <summary><c>kvmtune vm plan|qemu|libvirt|run|status|stop|audit|tune</c>.</summary>
public static class VmCommand
{
    public static Command Create(Option<string?> root, CliContext ctx) =>
        new(
            "vm",
            "Compose tuned VMs: NUMA placement, pinned vCPUs, the QEMU command line, libvirt XML; launch and stop "
                + "them; audit and tune the VMs that run"
        )
        {
            VmPlanCommand.Create(root, ctx),
            VmQemuCommand.Create(root, ctx),
            VmLibvirtCommand.Create(root, ctx),
            VmRunCommand.Create(root, ctx),
            VmStatusCommand.Create(ctx),
            VmStopCommand.Create(ctx),
            VmAuditCommand.Create(root, ctx),
            VmTuneCommand.Create(root, ctx),
        };
}
