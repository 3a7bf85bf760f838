using System.CommandLine;
using Kvmtune.Cli.Commands.Pmem.Plan;

namespace Kvmtune.Cli.Commands.Pmem;

/// <summary><c>kvmtune pmem plan</c>.</summary>
public static class PmemCommand
{
    public static Command Create(Option<string?> root, CliContext ctx) =>
        new Command("pmem", "Intel Optane persistent memory in App Direct mode for VMs (guide 4)")
        {
            PmemPlanCommand.Create(root, ctx),
        };
}
