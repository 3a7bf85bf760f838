using Kvmtune.Facts.Host;

namespace Kvmtune.Vms;

/// <summary>A node as the planner sees it: whole cores, the housekeeping CPUs, free huge pages and memory; the pools'
/// totals where known (what a reservation raises).</summary>
public sealed record NodeModel(
    int Id,
    IReadOnlyList<int> Cpus,
    IReadOnlyList<int[]> Cores,
    IReadOnlyList<int> Housekeeping,
    IReadOnlyDictionary<long, long> FreeHugepages,
    long FreeMemoryKib,
    IReadOnlyDictionary<long, long>? TotalHugepages = null
);

/// <summary>The host reduced to what placement needs; Packages maps a CPU to its package (socket) where
/// known.</summary>
public sealed record HostModel(
    IReadOnlyList<NodeModel> Nodes,
    int ThreadsPerCore,
    IReadOnlyDictionary<int, int>? Packages = null
)
{
    public static HostModel From(HostFacts f)
    {
        var isolation = CpuIsolation.Of(f) ?? new CpuIsolation([], null, f.Cpu.Online);
        var nodes = new List<NodeModel>();
        var online = f.Cpu.Online.ToHashSet();
        foreach (var node in f.Numa.Nodes)
        {
            var cpus = node.Cpus.Where(online.Contains).ToList();
            var cores = f.Cpu.CoresAmong(cpus).Select(c => c.ToArray()).ToList();
            var keep = isolation.HousekeepingAmong(cpus);
            var free = node.Hugepages.Where(p => p.Free is not null).ToDictionary(p => p.SizeKib, p => p.Free!.Value);
            var total = node
                .Hugepages.Where(p => p.Total is not null)
                .ToDictionary(p => p.SizeKib, p => p.Total!.Value);
            nodes.Add(
                new NodeModel(node.Id, cpus, cores, keep, free, node.MemoryFreeKib ?? node.MemoryTotalKib ?? 0, total)
            );
        }
        var tpc = nodes.SelectMany(n => n.Cores).Select(c => c.Length).DefaultIfEmpty(1).Max();
        var packages = f.Cpu.Cpus.Where(c => c.Package is not null).ToDictionary(c => c.Id, c => c.Package!.Value);
        return new HostModel(nodes, tpc, packages);
    }
}

/// <summary>The NUMA node of each device a VM spec can name; null where the firmware does not say.</summary>
public sealed record DeviceLocator(
    Func<string, int?> Pci,
    Func<string, int?> Dax,
    Func<string, int?> Net,
    Func<string, bool> HasBlock,
    Func<string, int?> Block
)
{
    public static readonly DeviceLocator None = new(_ => null, _ => null, _ => null, _ => false, _ => null);

    public static DeviceLocator From(HostFacts f) =>
        new(
            a => f.Pci.FirstOrDefault(x => x.Address == a)?.PlacementNode,
            p => f.Nvdimm.Dax.FirstOrDefault(d => d.DevicePath == p)?.NumaNode,
            n => f.Net.FirstOrDefault(x => x.Name == n)?.NumaNode,
            b => f.Block.Any(x => x.Name == b),
            b => f.Block.FirstOrDefault(x => x.Name == b)?.NumaNode
        );
}
