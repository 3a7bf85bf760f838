using System.CommandLine;
using Kvmtune.Core.Devices;
using Kvmtune.Core.Host;

namespace Kvmtune.Cli.Commands.Pmem;

/// <summary><c>kvmtune pmem plan</c>: guide 4.1 and 4.2 for this machine, with its real region and namespace names.</summary>
public static class PmemCommand
{
    public static Command Create(Option<string?> root, CliContext ctx)
    {
        var execute = new Option<bool>("--execute") { Description = "Run the namespace step: ndctl create-namespace -m devdax on raw namespaces (journaled; never anything that needs a reboot)" };
        var ns = new Option<string?>("--namespace") { Description = "Only this namespace (with --execute)", HelpName = "NAME" };
        var journal = Apply.JournalOptions.Dir();
        var plan = new Command("plan", "Print the steps (ipmctl goal, reboot, ndctl create-namespace -m dax) for this machine; --execute runs the namespace step") { execute, ns, journal };
        plan.SetAction(parse =>
        {
            var reader = RootResolver.Reader(parse, root, ctx);
            var facts = HostFacts.Read(reader);
            if (!parse.GetValue(execute))
            {
                foreach (var step in PmemPlanner.Steps(facts)) ctx.Line(step);
                return ExitCodes.Success;
            }
            if (!reader.IsLive) throw new CliException(ExitCodes.Refused, "--execute runs ndctl on this machine: not with --root");
            Vfio.VfioCommand.RequireRoot(reader, facts, dryRun: false);
            var ops = PmemPlanner.DevdaxOperations(facts, parse.GetValue(ns));
            if (ops.Count == 0) { ctx.Line("pmem plan --execute: no raw namespace to turn into devdax"); return ExitCodes.Success; }
            return Vfio.VfioCommand.Apply(ctx, reader, parse.GetValue(journal), ops, "pmem devdax", dryRun: false);
        });
        return new Command("pmem", "Intel Optane persistent memory in App Direct mode for VMs (guide 4)") { plan };
    }
}
