using System.CommandLine;
using Kvmtune.Cli.Options;
using Kvmtune.Facts.Host;
using Kvmtune.Vms.Devices;

namespace Kvmtune.Cli.Commands.Vfio.CreateVfs;

/// <summary><c>kvmtune vfio create-vfs PF --count N</c>: journaled, with autoprobe off while the VFs appear.</summary>
public static class VfioCreateVfsCommand
{
    public static Command Create(Option<string?> root, CliContext ctx)
    {
        var pf = new Argument<string>("PF") { Description = "The physical function, e.g. 0000:6b:00.0" };
        var count = new Option<int>("--count")
        {
            Description = "How many virtual functions (0 removes them)",
            Required = true,
        };
        var createDry = new Option<bool>("--dry-run") { Description = "Print the change and make none" };
        var createJournal = JournalOptions.Dir();
        var create = new Command(
            "create-vfs",
            "Create SR-IOV virtual functions on a physical function (writes sriov_numvfs; journaled)"
        )
        {
            pf,
            count,
            createDry,
            createJournal,
        };
        create.SetAction(parse =>
        {
            var reader = RootResolver.Reader(parse, root, ctx);
            var facts = HostFacts.Read(reader);
            JournaledOperations.RequireRoot(reader, facts, parse.GetValue(createDry));
            var plan = VfioPlanner.CreateVfs(facts, reader, parse.GetValue(pf)!, parse.GetValue(count));
            return JournaledOperations.Apply(
                ctx,
                reader,
                parse.GetValue(createJournal),
                plan.Operations,
                "vfio create-vfs",
                parse.GetValue(createDry),
                plan.Notes
            );
        });
        return create;
    }
}
