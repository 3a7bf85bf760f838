using System.CommandLine;
using Kvmtune.Cli.Options;
using Kvmtune.Facts.Host;
using Kvmtune.Vms.Devices;

namespace Kvmtune.Cli.Commands.Pmem.Plan;

/// <summary><c>kvmtune pmem plan</c>: guide 4.1 and 4.2 for this machine, with its real region and namespace
/// names.</summary>
public static class PmemPlanCommand
{
    public static Command Create(Option<string?> root, CliContext ctx)
    {
        var execute = new Option<bool>("--execute")
        {
            Description =
                "Run the namespace step for --namespace: ndctl create-namespace -m devdax, which destroys "
                + "the namespace's data (journaled: rollback restores the mode, not the data)",
        };
        var ns = new Option<string?>("--namespace")
        {
            Description = "The raw namespace to turn into devdax (required with --execute)",
            HelpName = "NAME",
        };
        var journal = JournalOptions.Dir();
        var plan = new Command(
            "plan",
            "Print the steps (ipmctl goal, reboot, ndctl create-namespace -m dax) for this machine; --execute runs " +
                "the namespace step"
        )
        {
            execute,
            ns,
            journal,
        };
        plan.SetAction(parse =>
        {
            var reader = RootResolver.Reader(parse, root, ctx);
            var facts = HostFacts.Read(reader);
            if (!parse.GetValue(execute))
            {
                foreach (var step in PmemPlanner.Steps(facts))
                    ctx.Line(step);
                return ExitCodes.Success;
            }
            // The namespace is checked first (named, unused, no file system), so a tree shows every refusal.
            var devdax = PmemPlanner.DevdaxOperations(facts, reader, parse.GetValue(ns));
            if (!reader.IsLive)
                throw new CliException(ExitCodes.Refused, "--execute runs ndctl on this machine: not with --root");
            JournaledOperations.RequireRoot(reader, facts, dryRun: false);
            return JournaledOperations.Apply(
                ctx,
                reader,
                parse.GetValue(journal),
                devdax.Operations,
                "pmem devdax",
                dryRun: false,
                devdax.Notes
            );
        });
        return plan;
    }
}
