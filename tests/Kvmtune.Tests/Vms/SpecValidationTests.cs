using AwesomeAssertions;
using Kvmtune.Facts;
using Kvmtune.Facts.Host;
using Kvmtune.Facts.IO;
using Kvmtune.Tests.Support;
using Kvmtune.Vms;

namespace Kvmtune.Tests.Vms;

public sealed class SpecValidationTests(FixtureTrees fixtures)
{
    private HostFacts Host => HostFacts.Read(new HostReader(fixtures.Root("32em64t-2n8c+dax+nvme+mic+dimms")));

    [Theory]
    [InlineData("name: a\nvcpus: 2\nmemory: 1GiB\nvcpu: 3\n", 4, "vcpu", "unknown key")]
    [InlineData("name: a\nvcpus: two\nmemory: 1GiB\n", 2, "vcpus", "not a whole number")]
    [InlineData("name: a\nvcpus: 2\nmemory: lots\n", 3, "memory", "not a size")]
    [InlineData("name: a\nvcpus: 2\nmemory: 1PiB\n", 3, "memory", "not a size")]
    [InlineData("name: a\nvcpus: 2\nmemory: 900GiB\n", 3, "memory", "more than the host has")]
    [InlineData("name: a\nvcpus: 2\nmemory: 1536MiB\nhugepages: 1GiB\n", 3, "memory", "whole number of 1GiB pages")]
    [InlineData("name: 'a b'\nvcpus: 2\nmemory: 1GiB\n", 1, "name", "only letters")]
    [InlineData("name: a;rm\nvcpus: 2\nmemory: 1GiB\n", 1, "name", "only letters")]
    [InlineData("name: a\nvcpus: 2\nmemory: 1GiB\nnuma_node: 7\n", 4, "numa_node", "does not exist")]
    [InlineData(
        "name: a\nvcpus: 2\nmemory: 1GiB\npassthrough:\n  - { pci: \"0000:99:00.0\" }\n",
        5,
        "passthrough.pci",
        "does not exist on this host"
    )]
    [InlineData(
        "name: a\nvcpus: 2\nmemory: 1GiB\npassthrough:\n  - { pci: \"31:00.0\" }\n",
        5,
        "passthrough.pci",
        "not a PCI address"
    )]
    [InlineData(
        "name: a\nvcpus: 2\nmemory: 1GiB\npmem:\n  - { path: /dev/dax9.9, size: 1GiB }\n",
        5,
        "pmem.path",
        "not a DAX device"
    )]
    [InlineData(
        "name: a\nvcpus: 2\nmemory: 1GiB\npmem:\n  - { path: /dev/dax1.3, size: 100GiB }\n",
        5,
        "pmem.size",
        "more than /dev/dax1.3 holds"
    )]
    [InlineData(
        "name: a\nvcpus: 2\nmemory: 1GiB\ndisks:\n  - { path: /x.raw, cache: fast }\n",
        5,
        "disks.cache",
        "not one of"
    )]
    [InlineData(
        "name: a\nvcpus: 2\nmemory: 1GiB\ndisks:\n  - { path: /x.raw, sise: 3 }\n",
        5,
        "disks.sise",
        "unknown key"
    )]
    [InlineData("name: a\nvcpus: 2\nmemory: 1GiB\nnics:\n  - { ifname: tap0, mac: zz }\n", 5, "nics.mac", "not a MAC")]
    [InlineData("name: a\nvcpus: 2\nmemory: 1GiB\nnics: tap0\n", 4, "nics", "must be a list")]
    [InlineData("name: a\nvcpus: 2\nmemory: 1GiB\ndedicated_cpus: maybe\n", 4, "dedicated_cpus", "not true or false")]
    [InlineData("name: a\nvcpus: 2\nmemory: 1GiB\ncpu_pm: true\ndedicated_cpus: false\n", 4, "cpu_pm", "dedicated")]
    [InlineData(
        "name: a\nvcpus: 2\nmemory: 1GiB\n---\nname: a\nvcpus: 1\nmemory: 1GiB\n",
        5,
        "name",
        "more than one VM"
    )]
    public void Bad_specs_name_the_file_line_and_key(string yaml, int line, string key, string problem)
    {
        var act = () => VmSpecParser.Parse(yaml, "vms.yaml", Host);
        var e = act.Should().Throw<InputException>().Which;
        e.File.Should().Be("vms.yaml");
        e.Line.Should().Be(line, e.Message);
        e.Key.Should().Be(key);
        e.Message.Should().Contain(problem);
    }

    [Fact]
    public void An_error_in_the_yaml_is_reported_before_an_error_in_an_earlier_spec()
    {
        // Specs are read a document at a time; the YAML's own error, anywhere in the file, still comes first, as
        // when the file was read whole. The oracle that the second document is no YAML: YamlDotNet's loader.
        const string yaml = "name: 'a b'\nvcpus: 2\nmemory: 1GiB\n---\nname: [unclosed\n";
        var whole = () => new YamlDotNet.RepresentationModel.YamlStream().Load(new StringReader(yaml));
        var refused = whole.Should().Throw<YamlDotNet.Core.YamlException>().Which;
        var act = () => VmSpecParser.Parse(yaml, "vms.yaml", Host);
        var e = act.Should().Throw<InputException>().Which;
        e.Problem.Should().StartWith("not valid YAML");
        e.Line.Should().Be(refused.Start.Line);
        e.Key.Should().BeNull();
        // Without the broken document, the spec's own error.
        act = () => VmSpecParser.Parse(yaml[..yaml.IndexOf("---", StringComparison.Ordinal)], "vms.yaml", Host);
        act.Should().Throw<InputException>().Which.Key.Should().Be("name");
    }

    [Fact]
    public void The_cli_exits_2_with_file_line_and_key()
    {
        using var t = new TestTree();
        t.File("/vms.yaml", "name: a\nvcpus: 2\nmemory: 1GiB\nhugepage: 1GiB\n");
        var run = KvmtuneRunner.Run(
            "vm",
            "plan",
            t.Physical("/vms.yaml"),
            "--root",
            fixtures.Root("32em64t-2n8c+dax+nvme+mic+dimms")
        );
        run.ExitCode.Should().Be(2);
        run.Stderr.Should().Contain("vms.yaml:4: hugepage: unknown key");
    }

    [Fact]
    public void Workload_defaults_fill_what_is_not_given()
    {
        var specs = VmSpecParser.Parse(
            "name: lat\nvcpus: 4\nmemory: 4GiB\nworkload: latency\n---\nname: den\nvcpus: 4\nmemory: 4GiB\nworkload: " +
                "density\n",
            "v.yaml",
            Host
        );
        specs[0]
            .Should()
            .Match<VmSpec>(s => s.DedicatedCpus && s.HugepageKib == 1 << 20 && s.MemLock && s.CpuPm && !s.MemMerge);
        specs[1]
            .Should()
            .Match<VmSpec>(s => !s.DedicatedCpus && s.HugepageKib == null && !s.MemLock && !s.CpuPm && s.MemMerge);
    }

    [Fact]
    public void A_bare_memory_number_is_mib_as_in_qemu_and_virsh_never_bytes()
    {
        // qemu-system-x86_64(1): "-m [size=]megs ... the default unit is MiB"; virsh setmem's default unit is KiB
        // of a value given with --size, but a domain's <memory> and QEMU's -m read a bare 4096 as 4 GiB of MiB.
        var spec = VmSpecParser.Parse("name: a\nvcpus: 2\nmemory: 4096\nhugepages: none\n", "v.yaml", Host).Single();
        spec.MemoryKib.Should().Be(4L * 1024 * 1024);
    }

    [Fact]
    public void One_gib_pages_fall_back_to_2mib_without_pdpe1gb_and_are_refused_when_asked()
    {
        using var h = new SyntheticHost();
        h.Set("/proc/cpuinfo", System.IO.File.ReadAllText(h.Root + "/proc/cpuinfo").Replace(" pdpe1gb", ""));
        var facts = HostFacts.Read(new HostReader(h.Root));
        VmSpecParser
            .Parse("name: a\nvcpus: 2\nmemory: 2GiB\nworkload: latency\n", "v.yaml", facts)
            .Single()
            .HugepageKib.Should()
            .Be(2048);
        var act = () => VmSpecParser.Parse("name: a\nvcpus: 2\nmemory: 2GiB\nhugepages: 1GiB\n", "v.yaml", facts);
        act.Should().Throw<InputException>().WithMessage("*hugepages*pdpe1gb*");
    }
}
