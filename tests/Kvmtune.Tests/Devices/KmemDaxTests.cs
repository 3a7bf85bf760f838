using System.Text.RegularExpressions;
using AwesomeAssertions;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.Devices;

/// <summary>
/// A DAX device onlined as system RAM belongs to the host's page allocator: a spec naming it is refused (exit 2,
/// file, line and key) and <c>pmem plan</c> does not offer it. The trees imitate the kernel's sysfs: the dax bus of
/// drivers/dax/bus.c with the attributes of Documentation/ABI/testing/sysfs-bus-dax (size, align, numa_node,
/// target_node, resource, modalias), bound to drivers/dax/kmem.c, whose dax driver is named after its module, kmem
/// (dax_driver_register() passes KBUILD_MODNAME; drivers/dax/Makefile builds kmem.o), or to device_dax
/// (drivers/dax/device.c) for the control. The device sits under an nvdimm region's nd_dax device as
/// drivers/dax/pmem.c makes it (…/ndbus0/region0/dax0.0/dax0.0), or under the soft-reserved memory platform device
/// of drivers/dax/hmem/hmem.c (/sys/devices/platform/hmem.0/dax0.0).
/// </summary>
public sealed partial class KmemDaxTests
{
    private const string Region = "/sys/devices/LNXSYSTM:00/LNXSYBUS:00/ACPI0012:00/ndbus0/region0";
    private const long Size = 32L << 30;

    public enum Layout
    {
        Nvdimm,
        Hmem,
    }

    /// <summary>The synthetic 2-node host with one 32 GiB DAX device on node 1, bound to <paramref
    /// name="driver"/>.</summary>
    private static SyntheticHost Host(Layout layout, string driver)
    {
        var h = new SyntheticHost();
        var t = h.Tree;
        string device;
        if (layout == Layout.Nvdimm)
        {
            // drivers/nvdimm: the region, its namespace, and the nd_dax device (devtype names from dev->type->name).
            t.File($"{Region}/size", $"{Size}\n")
                .File($"{Region}/numa_node", "1\n")
                .File($"{Region}/devtype", "nd_pmem\n")
                .File($"{Region}/available_size", "0\n")
                .File($"{Region}/dax_seed", "dax0.1\n")
                .File($"{Region}/namespace0.0/size", $"{Size}\n")
                .File($"{Region}/namespace0.0/devtype", "nd_namespace_pmem\n")
                .File($"{Region}/namespace0.0/numa_node", "1\n")
                .File($"{Region}/dax0.0/devtype", "nd_dax\n")
                .File($"{Region}/dax0.0/namespace", "namespace0.0\n")
                .File($"{Region}/dax0.0/mode", "devdax\n")
                .File($"{Region}/dax0.0/align", "2097152\n")
                .File($"{Region}/dax0.0/numa_node", "1\n")
                .File($"{Region}/dax0.0/size", $"{Size}\n")
                .Link($"{Region}/dax0.0/driver", "../../../../../../../bus/nd/drivers/dax_pmem")
                .File($"{Region}/dax0.1/devtype", "nd_dax\n")
                .File($"{Region}/dax0.1/size", "0\n")
                .Link(
                    "/sys/bus/nd/devices/region0",
                    "../../../devices/LNXSYSTM:00/LNXSYBUS:00/ACPI0012:00/ndbus0/region0"
                )
                .Link(
                    "/sys/bus/nd/devices/namespace0.0",
                    "../../../devices/LNXSYSTM:00/LNXSYBUS:00/ACPI0012:00/ndbus0/region0/namespace0.0"
                );
            device = $"{Region}/dax0.0/dax0.0";
        }
        else
            device = "/sys/devices/platform/hmem.0/dax0.0";
        var up = string.Concat(
            Enumerable.Repeat("../", device.Split('/', StringSplitOptions.RemoveEmptyEntries).Length - 1)
        );
        t.File($"{device}/size", $"{Size}\n")
            .File($"{device}/align", "2097152\n")
            .File($"{device}/numa_node", "1\n")
            .File($"{device}/target_node", "2\n")
            .File($"{device}/resource", "0x2080000000\n")
            .File($"{device}/modalias", "dax:t0\n")
            .Link($"{device}/driver", $"{up}bus/dax/drivers/{driver}")
            .Link("/sys/bus/dax/devices/dax0.0", "../../.." + device["/sys".Length..])
            .Link($"/sys/bus/dax/drivers/{driver}/dax0.0", "../../../.." + device["/sys".Length..])
            .File("/dev/dax0.0", "");
        if (driver == "kmem")
        {
            // kmem onlines the memory into the device's target node, which the kernel then shows as a memory-only
            // node with its own distances.
            h.Set("/sys/devices/system/node/node0/distance", "10 21 17")
                .Set("/sys/devices/system/node/node1/distance", "21 10 28")
                .Set("/sys/devices/system/node/node2/distance", "17 28 10")
                .Set("/sys/devices/system/node/node2/cpulist", "")
                .Set(
                    "/sys/devices/system/node/node2/meminfo",
                    "Node 2 MemTotal:       33554432 kB\nNode 2 MemFree:        33000000 kB"
                );
        }
        t.File(
            "/vm.yaml",
            "name: pm1\nvcpus: 2\nmemory: 2GiB\nhugepages: none\npmem:\n"
                + "  - { path: /dev/dax0.0, size: 16GiB, align: 2MiB }\n"
        );
        return h;
    }

    [Theory]
    [InlineData(Layout.Nvdimm)]
    [InlineData(Layout.Hmem)]
    public void A_spec_naming_a_dax_device_onlined_as_ram_is_refused_with_file_line_and_key(Layout layout)
    {
        using var h = Host(layout, "kmem");
        var spec = h.Tree.Physical("/vm.yaml");
        foreach (var verb in new[] { "plan", "qemu", "libvirt" })
        {
            var r = KvmtuneRunner.Run("vm", verb, spec, "--root", h.Root);
            r.ExitCode.Should().Be(2, $"vm {verb}: {r.Stdout}");
            r.Stderr.Should()
                .Contain($"{spec}:6: pmem.path: /dev/dax0.0 is onlined as system RAM (driver kmem)")
                .And.Contain("daxctl reconfigure-device --mode=devdax");
            r.Stdout.Should().BeEmpty();
        }
    }

    [Theory]
    [InlineData(Layout.Nvdimm)]
    [InlineData(Layout.Hmem)]
    public void The_same_device_bound_to_device_dax_is_taken(Layout layout)
    {
        using var h = Host(layout, "device_dax");
        var r = KvmtuneRunner.Run("vm", "plan", h.Tree.Physical("/vm.yaml"), "--root", h.Root);
        r.ExitCode.Should().Be(0, r.Stderr);
        r.Stdout.Should().Contain("pm1: node 1").And.Contain("pmem /dev/dax0.0: node 1");
    }

    [Fact]
    public void Pmem_plan_does_not_offer_a_device_onlined_as_ram_but_says_how_to_turn_it_back()
    {
        using var h = Host(Layout.Nvdimm, "kmem");
        var r = KvmtuneRunner.Run("pmem", "plan", "--root", h.Root);
        r.ExitCode.Should().Be(0, r.Stderr);
        r.Stdout.Should()
            .Contain("/dev/dax0.0: system RAM (kmem, node 2), not for VMs")
            .And.Contain("daxctl offline-memory dax0.0 && daxctl reconfigure-device --mode=devdax dax0.0");
        SpecLine().IsMatch(r.Stdout).Should().BeFalse("no VM spec line is offered for it:\n" + r.Stdout);

        using var control = Host(Layout.Nvdimm, "device_dax");
        var offered = KvmtuneRunner.Run("pmem", "plan", "--root", control.Root);
        offered.Stdout.Should().Contain("/dev/dax0.0: devdax, 32G align 2M");
        var line = SpecLine().Match(offered.Stdout);
        line.Success.Should().BeTrue(offered.Stdout);
        control.Tree.File(
            "/offered.yaml",
            $"name: pm2\nvcpus: 2\nmemory: 2GiB\nhugepages: none\npmem:\n  - {line.Groups[1].Value}\n"
        );
        KvmtuneRunner
            .Run("vm", "plan", control.Tree.Physical("/offered.yaml"), "--root", control.Root)
            .ExitCode.Should()
            .Be(0, "what pmem plan offers, vm plan takes");
    }

    [GeneratedRegex(@"VM spec: pmem: \[ (\{ path: /dev/dax0\.0[^}]*\}) \]")]
    private static partial Regex SpecLine();
}
