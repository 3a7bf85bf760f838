using AwesomeAssertions;
using CsCheck;
using Kvmtune.Core.Vms;

namespace Kvmtune.Tests.Vms;

/// <summary>Placement on random hosts and VM sets (CsCheck).</summary>
public sealed class PlacementPropertyTests
{
    private static readonly Gen<HostModel> Hosts =
        from nodes in Gen.Int[1, 4]
        from cores in Gen.Int[1, 6]
        from tpc in Gen.Int[1, 2]
        from pages in Gen.Int[0, 8].Array[nodes]
        from mem in Gen.Int[1, 16].Array[nodes]
        select Build(nodes, cores, tpc, pages, mem);

    private static HostModel Build(int nodes, int cores, int tpc, int[] pages, int[] memGib)
    {
        var list = new List<NodeModel>();
        var cpu = 0;
        for (var n = 0; n < nodes; n++)
        {
            var nodeCores = Enumerable.Range(0, cores).Select(_ => Enumerable.Range(cpu, tpc).Select(_ => cpu++).ToArray()).ToList();
            var cpus = nodeCores.SelectMany(c => c).ToList();
            list.Add(new NodeModel(n, cpus, nodeCores, [cpus[0]], new Dictionary<long, long> { [1 << 20] = pages[n] }, (long)memGib[n] << 20));
        }
        return new HostModel(list, tpc);
    }

    private static readonly Gen<VmSpec[]> VmSets =
        (from vcpus in Gen.Int[1, 4]
         from dedicated in Gen.Bool
         from huge in Gen.Bool
         from mem in Gen.Int[1, 4]
         select (vcpus, dedicated, huge, mem)).Array[1, 5]
        .Select(a => a.Select((v, i) => new VmSpec($"vm{i}", v.vcpus, (long)v.mem << 20, "throughput", v.dedicated, v.huge ? 1 << 20 : null, null, null,
            [], [], [], [], false, false, false, null, "gen", i)).ToArray());

    [Fact]
    public void No_dedicated_cpu_is_used_twice_and_no_node_overdraws_its_huge_pages() =>
        Gen.Select(Hosts, VmSets).Sample((host, vms) =>
        {
            var plan = new Planner(host, DeviceLocator.None).Plan(vms);
            var dedicated = plan.Vms.Where(v => v.Dedicated).SelectMany(v => v.VcpuPins.SelectMany(p => p.Cpus)).ToList();
            dedicated.Should().OnlyHaveUniqueItems();
            dedicated.Should().NotIntersectWith(host.Nodes.SelectMany(n => n.Housekeeping));
            foreach (var node in host.Nodes)
            {
                var used = plan.Vms.SelectMany(v => v.Memory).Where(m => m.Node == node.Id && m.PageSizeKib == 1 << 20).Sum(m => m.SizeKib / (1 << 20));
                used.Should().BeLessThanOrEqualTo(node.FreeHugepages[1 << 20], $"node {node.Id}");
            }
            (plan.Vms.Count + plan.Unplaced.Count).Should().Be(vms.Length);
        });

    [Fact]
    public void When_an_exhaustive_search_finds_single_node_homes_for_all_the_planner_does_too() =>
        Gen.Select(Hosts, VmSets).Sample((host, vms) =>
        {
            if (!ExhaustivelyPlaceable(host, vms)) return;
            var plan = new Planner(host, DeviceLocator.None).Plan(vms);
            plan.Unplaced.Should().BeEmpty();
            plan.Vms.Should().OnlyContain(v => v.Nodes.Count == 1);
        }, iter: 300);

    /// <summary>The test's own search: every assignment of VMs to single nodes, checking cores, pages and memory.</summary>
    private static bool ExhaustivelyPlaceable(HostModel host, VmSpec[] vms)
    {
        var freeCores = host.Nodes.ToDictionary(n => n.Id, n => n.Cores.Count(c => !c.Any(n.Housekeeping.Contains)));
        var freePages = host.Nodes.ToDictionary(n => n.Id, n => n.FreeHugepages[1 << 20]);
        var freeMem = host.Nodes.ToDictionary(n => n.Id, n => n.FreeMemoryKib);
        bool Go(int i)
        {
            if (i == vms.Length) return true;
            var v = vms[i];
            var cores = v.DedicatedCpus ? (v.Vcpus % host.ThreadsPerCore == 0 ? v.Vcpus / host.ThreadsPerCore : v.Vcpus) : 0;
            foreach (var n in host.Nodes)
            {
                var pages = v.HugepageKib is null ? 0 : v.MemoryKib / (1 << 20);
                var mem = v.HugepageKib is null ? v.MemoryKib : 0;
                if (freeCores[n.Id] < cores || freePages[n.Id] < pages || freeMem[n.Id] < mem) continue;
                if (!v.DedicatedCpus && n.Cores.Count - (host.Nodes.First(x => x.Id == n.Id).Cores.Count(c => !c.Any(n.Housekeeping.Contains)) - freeCores[n.Id]) == 0) continue;
                freeCores[n.Id] -= cores; freePages[n.Id] -= pages; freeMem[n.Id] -= mem;
                if (Go(i + 1)) return true;
                freeCores[n.Id] += cores; freePages[n.Id] += pages; freeMem[n.Id] += mem;
            }
            return false;
        }
        return Go(0);
    }
}
