using System.CommandLine;
using Kvmtune.Cli.Options;
using Kvmtune.Vms.Devices;

namespace Kvmtune.Cli.Commands.Irq.Pin;

/// <summary><c>kvmtune irq pin SPEC</c>: the IRQs of the devices a VM uses, on their device's node (guide
/// 3.2.1).</summary>
public static class IrqPinCommand
{
    public static Command Create(Option<string?> root, CliContext ctx)
    {
        var spec = VmOptions.SpecArgument();
        var name = new Option<string?>("--name") { Description = "The VM of the file (default: the only one)" };
        var dry = new Option<bool>("--dry-run") { Description = "Print the changes and make none" };
        var journal = JournalOptions.Dir();
        var pin = new Command(
            "pin",
            "Set smp_affinity_list of the MSI IRQs of every device a VM uses to the CPUs of the device's node " +
                "(journaled)"
        )
        {
            spec,
            name,
            dry,
            journal,
        };
        pin.SetAction(parse =>
        {
            var reader = RootResolver.Reader(parse, root, ctx);
            var (facts, specs, plan, _) = VmOptions.Load(parse, reader, spec);
            JournaledOperations.RequireRoot(reader, facts, parse.GetValue(dry));
            var selected = VmOptions.Select(specs, plan, parse.GetValue(name));
            if (selected.Count != 1)
                throw new CliException(ExitCodes.BadInput, "irq pin takes one VM: pick it with --name");
            var irq = IrqPlanner.Plan(facts, selected[0].Spec, selected[0].Vm);
            foreach (var note in irq.Notes)
                ctx.Error.WriteLine("kvmtune: " + note);
            return JournaledOperations.Apply(
                ctx,
                reader,
                parse.GetValue(journal),
                irq.Operations,
                $"irq pin {selected[0].Spec.Name}",
                parse.GetValue(dry)
            );
        });
        return pin;
    }
}
