using System.Text.Json;
using AwesomeAssertions;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.Host;

/// <summary><c>inspect --format json</c> on every real host tree agrees with what its kernel files say.</summary>
public sealed class FixtureInspectTests(FixtureTrees fixtures)
{
    [Theory]
    [MemberData(nameof(FixtureTrees.All), MemberType = typeof(FixtureTrees))]
    public void Inspect_json_matches_the_expected_file_in_every_field(string name)
    {
        var run = KvmtuneRunner.Run("inspect", "--format", "json", "--root", fixtures.Root(name));
        run.ExitCode.Should().Be(0, run.Stderr);
        using var actual = JsonDocument.Parse(run.Stdout);
        using var expected = JsonDocument.Parse(FixtureTrees.ExpectedJson(name));
        var a = actual.RootElement;
        var e = expected.RootElement;

        a.GetProperty("schema").GetString().Should().Be("kvmtune.inspect/v1");
        a.GetProperty("cpu")
            .GetProperty("packages")
            .GetInt32()
            .Should()
            .Be(e.GetProperty("packages").GetInt32(), "packages");
        a.GetProperty("cpu").GetProperty("cores").GetInt32().Should().Be(e.GetProperty("cores").GetInt32(), "cores");
        a.GetProperty("cpu").GetProperty("threads").GetInt32().Should().Be(e.GetProperty("pus").GetInt32(), "threads");

        var nodes = a.GetProperty("numa")
            .GetProperty("nodes")
            .EnumerateArray()
            .ToDictionary(n => n.GetProperty("id").GetInt32().ToString());
        var expectedNodes = e.GetProperty("nodes").EnumerateObject().ToList();
        nodes.Keys.Should().BeEquivalentTo(expectedNodes.Select(n => n.Name));
        foreach (var en in expectedNodes)
        {
            var node = nodes[en.Name];
            node.GetProperty("cpus")
                .EnumerateArray()
                .Select(c => c.GetInt32())
                .Should()
                .Equal(en.Value.GetProperty("cpus").EnumerateArray().Select(c => c.GetInt32()), $"node {en.Name} cpus");
            node.GetProperty("memory_total_kib")
                .GetInt64()
                .Should()
                .Be(en.Value.GetProperty("mem_kib").GetInt64(), $"node {en.Name} memory");
        }

        var pci = a.GetProperty("pci").EnumerateArray().ToDictionary(p => p.GetProperty("address").GetString()!);
        var expectedPci = e.GetProperty("pci").EnumerateObject().ToList();
        pci.Keys.Should().BeEquivalentTo(expectedPci.Select(p => p.Name));
        foreach (var ep in expectedPci)
        {
            var node = pci[ep.Name].GetProperty("numa_node");
            var want = ep.Value.GetInt32();
            if (want < 0)
                node.ValueKind.Should().Be(JsonValueKind.Null, $"{ep.Name} has numa_node -1");
            else
                node.GetInt32().Should().Be(want, ep.Name);
        }
    }

    [Fact]
    public void The_arm_server_is_read_without_x86_facts()
    {
        var run = KvmtuneRunner.Run("inspect", "--format", "json", "--root", fixtures.Root("128arm-2pa2n8cluster4co"));
        run.ExitCode.Should().Be(0, run.Stderr);
        using var doc = JsonDocument.Parse(run.Stdout);
        var cpu = doc.RootElement.GetProperty("cpu");
        cpu.GetProperty("architecture").GetString().Should().Be("aarch64");
        cpu.GetProperty("virtualization").ValueKind.Should().Be(JsonValueKind.Null);
    }

    [Fact]
    public void The_hybrid_cpu_counts_p_cores_with_two_threads_and_e_cores_with_one()
    {
        var facts = Kvmtune.Facts.Host.HostFacts.Read(
            new Kvmtune.Facts.IO.HostReader(fixtures.Root("20em64t-hybrid-1p6c2t+2ca4co1t"))
        );
        var perCore = facts
            .Cpu.Cpus.Where(c => c.Online)
            .GroupBy(c => string.Join(',', c.ThreadSiblings!))
            .Select(g => g.Count())
            .ToList();
        perCore.Count(n => n == 2).Should().Be(6);
        perCore.Count(n => n == 1).Should().Be(8);
    }

    [Fact]
    public void Dax_devices_and_nvdimm_regions_are_read_from_the_pmem_fixture()
    {
        var facts = Kvmtune.Facts.Host.HostFacts.Read(
            new Kvmtune.Facts.IO.HostReader(fixtures.Root("32em64t-2n8c+dax+nvme+mic+dimms"))
        );
        facts.Nvdimm.Dax.Select(d => d.Name).Should().Equal("dax0.0", "dax1.3", "dax1.4");
        var dax13 = facts.Nvdimm.Dax.Single(d => d.Name == "dax1.3");
        dax13.SizeBytes.Should().Be(63415779328);
        dax13.NumaNode.Should().Be(1);
        dax13.TargetNode.Should().Be(5);
        dax13.Driver.Should().Be("device_dax");
        dax13.Region.Should().Be("region1");
        facts.Nvdimm.Regions.Select(r => r.Name).Should().BeEquivalentTo("region0", "region1");
        facts.Nvdimm.Namespaces.Should().Contain(n => n.Name == "dax1.0" && n.Mode == "devdax");
    }
}
