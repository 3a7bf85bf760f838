using System.CommandLine;
using Kvmtune.Cli.Commands.Vfio.Bind;
using Kvmtune.Cli.Commands.Vfio.CreateVfs;
using Kvmtune.Cli.Commands.Vfio.List;

namespace Kvmtune.Cli.Commands.Vfio;

/// <summary><c>kvmtune vfio list|create-vfs|bind</c>: guide section 5, journaled so rollback undoes it.</summary>
public static class VfioCommand
{
    public static Command Create(Option<string?> root, CliContext ctx) =>
        new("vfio", "SR-IOV virtual functions and vfio-pci for device passthrough (guide 5)")
        {
            VfioListCommand.Create(root, ctx),
            VfioCreateVfsCommand.Create(root, ctx),
            VfioBindCommand.Create(root, ctx),
        };
}
