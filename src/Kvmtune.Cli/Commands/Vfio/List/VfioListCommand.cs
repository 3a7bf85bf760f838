using System.CommandLine;
using System.Text;
using Kvmtune.Facts.Host;
using Kvmtune.Facts.Parsing;
using Kvmtune.Vms.Devices;

namespace Kvmtune.Cli.Commands.Vfio.List;

/// <summary><c>kvmtune vfio list</c>: SR-IOV and QuickAssist functions with their drivers, groups and nodes.</summary>
public static class VfioListCommand
{
    public static Command Create(Option<string?> root, CliContext ctx)
    {
        var list = new Command(
            "list",
            "QuickAssist and other SR-IOV devices: total and created VFs, drivers, IOMMU groups, NUMA nodes"
        );
        list.SetAction(parse =>
        {
            var facts = HostFacts.Read(RootResolver.Reader(parse, root, ctx));
            var sb = new StringBuilder();
            foreach (var p in facts.Pci.Where(VfioPlanner.IsListed))
            {
                var kind = VfioPlanner.Kind(p);
                sb.Append(
                    $"{p.Address}  {kind,-18} driver {p.Driver ?? "none",-10} iommu group " +
                        $"{p.IommuGroup?.ToString() ?? "-",-4} node {p.NumaNode?.ToString() ?? "-"}"
                );
                if (p.SriovTotalvfs is int t)
                    sb.Append($"  VFs {p.SriovNumvfs ?? 0}/{t}");
                if (p.Physfn is not null)
                    sb.Append($"  of {p.Physfn}");
                sb.AppendLine();
            }
            ctx.Out.Write(sb.Length == 0 ? "no SR-IOV or QuickAssist device\n" : SafeText.ForTerminal(sb.ToString()));
            return ExitCodes.Success;
        });
        return list;
    }
}
