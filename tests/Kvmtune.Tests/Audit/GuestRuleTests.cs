using AwesomeAssertions;
using Kvmtune.Facts.Host.Virtualization;
using Kvmtune.Guide;
using Kvmtune.Tests.Support;
using static Kvmtune.Guide.Audit.FindingStatus;

namespace Kvmtune.Tests.Audit;

/// <summary>Guide 3.4 rules on a synthetic guest, each in each of its states.</summary>
public sealed class GuestRuleTests
{
    private static SyntheticHost Guest()
    {
        var h = new SyntheticHost(guest: true);
        h.Set("/sys/class/dmi/id/sys_vendor", "QEMU");
        return h;
    }

    [Fact]
    public void A_guest_gets_guest_rules_and_no_host_rules()
    {
        using var h = Guest();
        var r = AuditHarness.Run(h.Root);
        r.Role.Should().Be(MachineRole.Guest);
        r.Findings.Should().OnlyContain(f => f.Id.StartsWith("guest.") || f.Id.StartsWith("conflict."));
        AuditHarness
            .Run(h.Root, role: MachineRole.Host)
            .Findings.Should()
            .Contain(f => f.Id == "host.bios.vtx", "--role host audits a guest as a host");
    }

    [Fact]
    public void The_haltpoll_driver_passes_and_another_driver_asks_for_cpuidle_haltpoll()
    {
        using var h = Guest();
        AuditHarness.Run(h.Root).Find("guest.cpuidle.haltpoll").Status.Should().Be(Pass);
        // Built in (CONFIG_HALTPOLL_CPUIDLE=y, /sys/module/cpuidle_haltpoll/parameters/force=N) yet another driver:
        // drivers/cpuidle/cpuidle-haltpoll.c haltpoll_want() is false, the host gave no KVM_HINTS_REALTIME.
        // modprobe cannot help; the host's hint or cpuidle_haltpoll.force=1 can.
        h.Set("/sys/devices/system/cpu/cpuidle/current_driver", "acpi_idle");
        var f = AuditHarness.Run(h.Root).Find("guest.cpuidle.haltpoll");
        f.Status.Should().Be(Warn);
        f.Changes.OfType<ModuleLoad>().Should().BeEmpty();
        f.Changes.OfType<ManualStep>()
            .Single()
            .Text.Should()
            .Contain("kvm-hint-dedicated=on")
            .And.Contain("<hint-dedicated state='on'/>");
        f.Changes.OfType<KernelArgument>().Single().Text.Should().Be("cpuidle_haltpoll.force=1");
        // haltpoll_init returns -ENODEV when idle= overrides the idle loop: that argument is the fix.
        h.Set("/proc/cmdline", "root=/dev/vda1 idle=halt");
        AuditHarness
            .Run(h.Root)
            .Find("guest.cpuidle.haltpoll")
            .Changes.OfType<KernelArgument>()
            .Single()
            .Should()
            .Match<KernelArgument>(k => k.Key == "idle" && k.Remove);
        // Shared vCPUs: KVM leaves the hint off on purpose and polling would take CPU time from other VMs.
        h.Set("/proc/cmdline", "root=/dev/vda1");
        var density = AuditHarness.Run(h.Root, "density").Find("guest.cpuidle.haltpoll");
        density.Status.Should().Be(Info);
        density.Changes.Should().BeEmpty();
    }

    [Fact]
    public void A_haltpoll_module_that_is_not_loaded_is_loaded_with_force()
    {
        using var h = Guest();
        h.Set("/sys/devices/system/cpu/cpuidle/current_driver", "none");
        h.Set($"/boot/config-{SyntheticHost.Release}", "CONFIG_KVM=m\nCONFIG_HALTPOLL_CPUIDLE=m\n");
        h.Remove("/sys/module/cpuidle_haltpoll");
        var f = AuditHarness.Run(h.Root).Find("guest.cpuidle.haltpoll");
        f.Status.Should().Be(Warn);
        f.Changes.OfType<ModuleOption>()
            .Single()
            .Should()
            .Be(new ModuleOption("3.4.1", "cpuidle_haltpoll", "force", "1"));
        f.Changes.OfType<ModuleLoad>().Single().Module.Should().Be("cpuidle_haltpoll");
    }

    [Fact]
    public void Guest_halt_poll_ns_must_be_in_range_and_zero_warns()
    {
        using var h = Guest();
        AuditHarness.Run(h.Root).Find("guest.haltpoll.ns").Status.Should().Be(Pass);
        AuditHarness.Run(h.Root, "density").Find("guest.haltpoll.ns").Status.Should().Be(Warn);
        h.Set("/sys/module/haltpoll/parameters/guest_halt_poll_ns", "0")
            .Set("/proc/cmdline", "root=/dev/vda1 haltpoll.guest_halt_poll_ns=0");
        var f = AuditHarness.Run(h.Root).Find("guest.haltpoll.ns");
        f.Status.Should().Be(Warn, "guest polling off costs latency, it breaks nothing");
        AuditHarness
            .Run(h.Root, "density")
            .Find("guest.haltpoll.ns")
            .Status.Should()
            .Be(Pass, "0 is inside density's own range");
        f.Changes.OfType<ModuleParameter>().Single().Value.Should().Be("50000");
        f.Changes.OfType<KernelArgument>().Single().Text.Should().Be("haltpoll.guest_halt_poll_ns=50000");
    }

    [Fact]
    public void Idle_on_the_guest_command_line_fails_and_conflicts_with_haltpoll()
    {
        using var h = Guest();
        AuditHarness.Run(h.Root).Find("guest.kernel.idle").Status.Should().Be(Pass);
        h.Set("/proc/cmdline", "root=/dev/vda1 idle=halt");
        var r = AuditHarness.Run(h.Root);
        r.Find("guest.kernel.idle").Status.Should().Be(Fail);
        r.Find("conflict.guest_idle_haltpoll").Status.Should().Be(Fail);
    }

    [Fact]
    public void Rq_affinity_must_be_2_on_every_multi_queue_block_device()
    {
        using var h = Guest();
        AuditHarness.Run(h.Root).Find("guest.block.rq_affinity").Status.Should().Be(Info, "no block devices");
        h.Tree.Link("/sys/block/vda", "../devices/pci0000:00/0000:00:04.0/virtio2/block/vda")
            .Link("/sys/block/vdb", "../devices/pci0000:00/0000:00:05.0/virtio3/block/vdb");
        foreach (var q in new[] { "0", "1", "2", "3" })
            h.Set($"/sys/devices/pci0000:00/0000:00:04.0/virtio2/block/vda/mq/{q}/nr_tags", "256");
        h.Set("/sys/devices/pci0000:00/0000:00:04.0/virtio2/block/vda/queue/rq_affinity", "1");
        h.Set("/sys/devices/pci0000:00/0000:00:05.0/virtio3/block/vdb/mq/0/nr_tags", "256")
            .Set("/sys/devices/pci0000:00/0000:00:05.0/virtio3/block/vdb/queue/rq_affinity", "1");
        var f = AuditHarness.Run(h.Root).Find("guest.block.rq_affinity");
        f.Status.Should().Be(Warn);
        f.Changes.OfType<SysfsWrite>()
            .Single()
            .Should()
            .Be(new SysfsWrite("3.4.2", "/sys/block/vda/queue/rq_affinity", "2"), "vdb has one queue");
        h.Set("/sys/devices/pci0000:00/0000:00:04.0/virtio2/block/vda/queue/rq_affinity", "2");
        AuditHarness.Run(h.Root).Find("guest.block.rq_affinity").Status.Should().Be(Pass);
    }

    [Fact]
    public void Virtio_net_queues_should_match_the_vcpus()
    {
        using var h = Guest();
        h.Tree.Link("/sys/class/net/eth0", "../../devices/pci0000:00/0000:00:03.0/virtio1/net/eth0");
        h.Tree.Link("/sys/devices/pci0000:00/0000:00:03.0/virtio1/net/eth0/device", "../../../virtio1");
        h.Tree.Link("/sys/devices/pci0000:00/0000:00:03.0/virtio1/driver", "../../../../bus/virtio/drivers/virtio_net");
        for (var q = 0; q < 2; q++)
            h.Tree.Dir($"/sys/devices/pci0000:00/0000:00:03.0/virtio1/net/eth0/queues/rx-{q}")
                .Dir($"/sys/devices/pci0000:00/0000:00:03.0/virtio1/net/eth0/queues/tx-{q}");
        var f = AuditHarness.Run(h.Root).Find("guest.net.queues");
        f.Status.Should().Be(Warn);
        f.Current.Should().Be("eth0: 2 rx / 2 tx");
        f.Fix.Persistent.Single()
            .Should()
            .Contain("queues=8")
            .And.Contain("vectors=18")
            .And.Contain("ethtool -L eth0 combined 8");
        for (var q = 2; q < 8; q++)
            h.Tree.Dir($"/sys/devices/pci0000:00/0000:00:03.0/virtio1/net/eth0/queues/rx-{q}");
        AuditHarness.Run(h.Root).Find("guest.net.queues").Status.Should().Be(Pass);
    }

    [Fact]
    public void Guest_halt_polling_must_be_able_to_shrink_on_shared_hosts()
    {
        using var h = Guest();
        // drivers/cpuidle/governors/haltpoll.c defaults: grow 2, grow_start 50000, shrink 2, allow_shrink Y.
        foreach (var (k, v) in new[] { ("grow", "2"), ("grow_start", "50000"), ("shrink", "2"), ("allow_shrink", "Y") })
            h.Set($"/sys/module/haltpoll/parameters/guest_halt_poll_{k}", v);
        AuditHarness.Run(h.Root).Find("guest.haltpoll.tunables").Status.Should().Be(Pass);
        h.Set("/sys/module/haltpoll/parameters/guest_halt_poll_allow_shrink", "N");
        var f = AuditHarness.Run(h.Root, "density").Find("guest.haltpoll.tunables");
        f.Status.Should().Be(Warn, "without shrinking an idle vCPU keeps polling the whole window on a shared host");
        f.Changes.OfType<ModuleParameter>()
            .Single()
            .Should()
            .Be(new ModuleParameter("3.4.1", "haltpoll", "guest_halt_poll_allow_shrink", "Y"));
        AuditHarness
            .Run(h.Root, "latency")
            .Find("guest.haltpoll.tunables")
            .Status.Should()
            .Be(Info, "dedicated vCPUs poll their own CPU");
        h.Remove("/sys/module/haltpoll/parameters/guest_halt_poll_grow");
        AuditHarness.Run(h.Root).Find("guest.haltpoll.tunables").Status.Should().Be(Unknown);
    }
}
