using Kvmtune.Facts.Host.Cpu;
using Kvmtune.Facts.IO;
using Kvmtune.Facts.Parsing;

namespace Kvmtune.Facts.Host.Numa;

/// <summary>Reads /sys/devices/system/node into <see cref="NumaFacts"/>.</summary>
public static class NumaReader
{
    private const string NodeDir = "/sys/devices/system/node";

    public static NumaFacts Read(HostReader r)
    {
        var online = CpuReader.ParseList(r.ReadText("/sys/devices/system/cpu/online"));
        // A set, and loops rather than LINQ, as in CpuReader: fewer interface calls to resolve at every start.
        var onlineCpus = online is null ? null : new HashSet<int>(online);
        var nodes = new List<NumaNode>();
        foreach (var name in r.List(NodeDir) ?? [])
        {
            if (KernelText.Suffix(name, "node") is not int id)
                continue;
            var dir = $"{NodeDir}/{name}";
            var cpus = NodeCpus(r, dir);
            if (onlineCpus is not null)
            {
                var kept = new List<int>(cpus.Count);
                for (var i = 0; i < cpus.Count; i++)
                {
                    if (onlineCpus.Contains(cpus[i]))
                        kept.Add(cpus[i]);
                }
                cpus = kept;
            }
            var mem = KernelText.MemInfo(r.ReadAll(dir + "/meminfo"));
            var distances = Distances(r.ReadText(dir + "/distance"));
            nodes.Add(
                new NumaNode(
                    id,
                    cpus,
                    mem.TryGetValue("MemTotal", out var total) ? total : null,
                    mem.TryGetValue("MemFree", out var free) ? free : null,
                    distances,
                    ReadPools(r, dir + "/hugepages")
                )
            );
        }
        nodes.Sort((a, b) => a.Id.CompareTo(b.Id));
        var synthesized = false;
        if (nodes.Count == 0 && r.Probe(NodeDir) == EntryKind.Missing)
        {
            // A kernel built without NUMA support has one node that holds everything.
            var meminfo = KernelText.MemInfo(r.ReadAll("/proc/meminfo"));
            var cpus = online;
            if (cpus is not null || meminfo.Count > 0)
            {
                nodes.Add(
                    new NumaNode(
                        0,
                        cpus ?? [],
                        meminfo.TryGetValue("MemTotal", out var t) ? t : null,
                        meminfo.TryGetValue("MemFree", out var f) ? f : null,
                        [10],
                        ReadPools(r, "/sys/kernel/mm/hugepages")
                    )
                );
                synthesized = true;
            }
        }
        return new NumaFacts(nodes, r.ReadInt("/proc/sys/kernel/numa_balancing"), synthesized);
    }

    /// <summary>A node's distance to each node, in node order; null when a field is not a number or is -1.</summary>
    private static List<int>? Distances(string? text)
    {
        if (text is null)
            return null;
        var distances = new List<int>();
        foreach (var field in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!int.TryParse(field, out var d) || d == -1)
                return null;
            distances.Add(d);
        }
        return distances;
    }

    /// <summary>A node's CPUs from the hex cpumap (every kernel has it), else cpulist (the same mask as ranges,
    /// added later), else its cpuN links.</summary>
    private static IReadOnlyList<int> NodeCpus(HostReader r, string dir)
    {
        var list =
            CpuReader.ParseMask(r.ReadText(dir + "/cpumap")) ?? CpuReader.ParseList(r.ReadText(dir + "/cpulist"));
        if (list is not null)
            return list;
        return (r.List(dir) ?? []).Select(n => KernelText.Suffix(n, "cpu")).OfType<int>().Order().ToList();
    }

    public static IReadOnlyList<HugePagePool> ReadPools(HostReader r, string dir)
    {
        var pools = new List<HugePagePool>();
        foreach (var name in r.List(dir) ?? [])
        {
            if (KernelText.HugePageDirSize(name) is not long size)
                continue;
            var p = $"{dir}/{name}";
            pools.Add(
                new HugePagePool(
                    size,
                    r.ReadLong(p + "/nr_hugepages"),
                    r.ReadLong(p + "/free_hugepages"),
                    r.ReadLong(p + "/surplus_hugepages")
                )
            );
        }
        return pools.OrderBy(p => p.SizeKib).ToList();
    }
}
