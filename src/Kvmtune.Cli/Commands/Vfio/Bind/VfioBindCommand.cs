using System.CommandLine;
using Kvmtune.Cli.Options;
using Kvmtune.Facts.Host;
using Kvmtune.Vms.Devices;

namespace Kvmtune.Cli.Commands.Vfio.Bind;

/// <summary><c>kvmtune vfio bind BDF</c>: driver_override, unbind, bind; journaled.</summary>
public static class VfioBindCommand
{
    public static Command Create(Option<string?> root, CliContext ctx)
    {
        var bdf = new Argument<string>("BDF") { Description = "The device (often a VF) to give to vfio-pci" };
        var bindDry = new Option<bool>("--dry-run") { Description = "Print the change and make none" };
        var bindJournal = JournalOptions.Dir();
        var bind = new Command(
            "bind",
            "Bind a device to vfio-pci (driver_override, unbind, bind; journaled); refused while the IOMMU is off or " +
                "its group is in use"
        )
        {
            bdf,
            bindDry,
            bindJournal,
        };
        bind.SetAction(parse =>
        {
            var reader = RootResolver.Reader(parse, root, ctx);
            var facts = HostFacts.Read(reader);
            JournaledOperations.RequireRoot(reader, facts, parse.GetValue(bindDry));
            var plan = VfioPlanner.Bind(facts, reader, parse.GetValue(bdf)!);
            return JournaledOperations.Apply(
                ctx,
                reader,
                parse.GetValue(bindJournal),
                plan.Operations,
                "vfio bind",
                parse.GetValue(bindDry),
                plan.Notes
            );
        });
        return bind;
    }
}
