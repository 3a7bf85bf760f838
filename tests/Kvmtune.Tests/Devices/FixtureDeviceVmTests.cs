using AwesomeAssertions;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.Devices;

/// <summary>The fixtures' real DAX and PCI devices flow through vm plan, qemu and libvirt; the XML passes
/// virt-xml-validate.</summary>
public sealed class FixtureDeviceVmTests(FixtureTrees fixtures)
{
    [Theory]
    [InlineData(
        "32em64t-2n8c+dax+nvme+mic+dimms",
        "pmem:\n  - { path: /dev/dax1.3, size: 16GiB, align: 2MiB }\n",
        "1",
        "<path>/dev/dax1.3</path>"
    )]
    [InlineData(
        "32em64t-2n8c+dax+nvme+mic+dimms",
        "pmem:\n  - { path: /dev/dax0.0, size: 8GiB, align: 2MiB }\n",
        "0",
        "<path>/dev/dax0.0</path>"
    )]
    [InlineData(
        "40intel64-2g2n4c+pcilocality",
        "passthrough:\n  - { pci: \"0000:43:00.0\" }\n",
        "2",
        "<address domain=\"0x0000\" bus=\"0x43\" slot=\"0x00\" function=\"0x0\" />"
    )]
    public void Devices_of_a_real_host_place_the_vm_and_the_domain_validates(
        string fixture,
        string devices,
        string node,
        string xmlFragment
    )
    {
        Assert.SkipUnless(
            Processes.OnPath("virt-xml-validate"),
            "virt-xml-validate is not installed (libvirt-clients)"
        );
        using var t = new TestTree();
        t.File("/vm.yaml", "name: dev1\nvcpus: 2\nmemory: 2GiB\nhugepages: none\n" + devices);
        var root = fixtures.Root(fixture);
        using var host = new TestTree();
        if (devices.Contains("passthrough"))
        {
            // Passthrough needs the IOMMU on (as vfio bind does): the tree as booted with intel_iommu=on.
            host.CopyFrom(root).Dir("/sys/kernel/iommu_groups/0").Dir("/sys/kernel/iommu_groups/1");
            root = host.Root;
        }
        var plan = KvmtuneRunner.Run("vm", "plan", t.Physical("/vm.yaml"), "--root", root);
        plan.ExitCode.Should().Be(0, plan.Stderr + plan.Stdout);
        plan.Stdout.Should().StartWith($"dev1: node {node},");
        var qemu = KvmtuneRunner.Run("vm", "qemu", t.Physical("/vm.yaml"), "--root", root);
        qemu.Stdout.Should().Contain($"host-nodes={node},policy=bind");
        var xml = t.Physical("/dev1.xml");
        KvmtuneRunner
            .Run("vm", "libvirt", t.Physical("/vm.yaml"), "--root", root, "--output", xml)
            .ExitCode.Should()
            .Be(0);
        File.ReadAllText(xml)
            .Should()
            .Contain(xmlFragment)
            .And.Contain($"<memnode cellid=\"0\" mode=\"strict\" nodeset=\"{node}\" />");
        var validate = Processes.Run("virt-xml-validate", [xml, "domain"]);
        validate.ExitCode.Should().Be(0, validate.Stdout + validate.Stderr);
    }
}
