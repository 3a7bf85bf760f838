using AwesomeAssertions;
using CsCheck;
using Kvmtune.Facts.Host;
using Kvmtune.Facts.IO;
using Kvmtune.Tests.Support;
using Kvmtune.Vms;

namespace Kvmtune.Tests.Vms;

/// <summary>Random VM sets placed on every real hwloc tree: no exception, each vCPU on an online CPU of its
/// node.</summary>
public sealed class FixturePlacementPropertyTests(FixtureTrees fixtures)
{
    private static readonly Gen<(int Vcpus, bool Dedicated, int MemGib)[]> Sets = Gen.Select(
        Gen.Int[1, 16],
        Gen.Bool,
        Gen.Int[1, 8]
    ).Array[1, 6];

    [Theory]
    [MemberData(nameof(FixtureTrees.All), MemberType = typeof(FixtureTrees))]
    public void Random_vm_sets_place_on_online_cpus_of_the_right_node(string fixture)
    {
        var facts = HostFacts.Read(new HostReader(fixtures.Root(fixture)));
        // The kernel's own word on which CPU belongs to which node, and which are online.
        var nodeOf = facts.Numa.Nodes.SelectMany(n => n.Cpus.Select(c => (c, n.Id))).ToDictionary(x => x.c, x => x.Id);
        var online = facts.Cpu.Online.ToHashSet();
        var planner = new Planner(facts);
        Sets.Sample(
            set =>
            {
                var specs = set.Select(
                        (v, i) =>
                            new VmSpec
                            {
                                Name = $"vm{i}",
                                Vcpus = v.Vcpus,
                                MemoryKib = (long)v.MemGib << 20,
                                Workload = "throughput",
                                DedicatedCpus = v.Dedicated,
                                File = "gen",
                                Line = i,
                            }
                    )
                    .ToArray();
                var plan = planner.Plan(specs);
                (plan.Vms.Count + plan.Unplaced.Count).Should().Be(specs.Length);
                foreach (var vm in plan.Vms)
                {
                    vm.VcpuPins.Should().HaveCount(specs.Single(s => s.Name == vm.Name).Vcpus);
                    foreach (var g in vm.GuestNodes)
                        foreach (var v in g.Vcpus)
                            vm.VcpuPins.Single(p => p.Vcpu == v)
                                .Cpus.Should()
                                .OnlyContain(c => online.Contains(c) && nodeOf[c] == g.HostNode);
                }
                plan.Unplaced.Should().OnlyContain(u => !u.Reason.Contains("--name"));
            },
            iter: 40
        );
    }
}
