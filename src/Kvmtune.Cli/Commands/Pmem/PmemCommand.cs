using System.CommandLine;
using Kvmtune.Core.Devices;
using Kvmtune.Core.Host;

namespace Kvmtune.Cli.Commands.Pmem;

/// <summary><c>kvmtune pmem plan</c>: guide 4.1 and 4.2 for this machine, with its real region and namespace names.</summary>
public static class PmemCommand
{
    public static Command Create(Option<string?> root, CliContext ctx)
    {
        var plan = new Command("plan", "Print the steps (ipmctl goal, reboot, ndctl create-namespace -m dax) for this machine; runs nothing");
        plan.SetAction(parse =>
        {
            var facts = HostFacts.Read(RootResolver.Reader(parse, root, ctx));
            foreach (var step in PmemPlanner.Steps(facts)) ctx.Out.WriteLine(step);
            return ExitCodes.Success;
        });
        return new Command("pmem", "Intel Optane persistent memory in App Direct mode for VMs (guide 4)") { plan };
    }
}
