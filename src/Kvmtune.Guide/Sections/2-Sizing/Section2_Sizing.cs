using Kvmtune.Facts.Parsing;
using Kvmtune.Guide.Audit;

namespace Kvmtune.Guide.Sections;

/// <summary>Guide 2, hardware sizing: what each node offers, and how many VMs of a size fit.</summary>
public static class Section2_Sizing
{
    private const string S = "2";

    /// <summary>Memory kept for the host itself when counting what VMs can have.</summary>
    public const int HostReservePercent = 10;

    public static IEnumerable<Finding> Evaluate(AuditContext c)
    {
        var f = c.Facts;
        var evidence = new[] { "/sys/devices/system/node", "/sys/devices/system/cpu" };
        var nodes = f.Numa.Nodes;
        if (nodes.Count == 0)
        {
            yield return Rule.Make(
                "host.sizing.nodes",
                S,
                "Cores, threads and memory per node",
                FindingStatus.Unknown,
                "no NUMA node information",
                null,
                "The number of cores and the memory per node bound how many VMs the host can hold",
                evidence
            );
            yield break;
        }
        var lines = nodes.Select(n =>
        {
            var cores = f.Cpu.CoresAmong(n.Cpus).Count;
            return $"node {n.Id}: {cores} cores, {n.Cpus.Count} threads, " +
                $"{(n.MemoryTotalKib is long m ? Sizes.HumanKib(m) : "memory unknown")}";
        });
        yield return Rule.Make(
            "host.sizing.nodes",
            S,
            "Cores, threads and memory per node",
            FindingStatus.Info,
            string.Join("; ", lines),
            null,
            "The number of cores and the memory per node bound how many VMs the host can hold without crossing nodes",
            evidence
        );

        if (c.VmSize is not VmSize size)
            yield break;
        var fits = new List<string>();
        var total = 0L;
        var unknown = false;
        foreach (var n in nodes)
        {
            if (n.MemoryTotalKib is not long mem)
            {
                unknown = true;
                fits.Add($"node {n.Id}: memory unknown");
                continue;
            }
            var byCpu = n.Cpus.Count / size.Vcpus;
            var byMem = mem * (100 - HostReservePercent) / 100 / size.MemoryKib;
            var fit = Math.Min(byCpu, byMem);
            total += fit;
            fits.Add($"node {n.Id}: {fit} ({(byCpu <= byMem ? "bounded by threads" : "bounded by memory")})");
        }
        yield return Rule.Make(
            "host.sizing.vm_fit",
            S,
            $"VMs of {size} that fit without crossing a node",
            unknown ? FindingStatus.Unknown : FindingStatus.Info,
            $"{total} in all; " + string.Join("; ", fits),
            null,
            $"Each VM kept within one node, one vCPU per host thread, {HostReservePercent}% of each node's memory " +
                "left to the host",
            evidence
        );
    }
}
