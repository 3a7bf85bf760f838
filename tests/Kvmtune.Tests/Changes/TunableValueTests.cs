using AwesomeAssertions;
using Kvmtune.Guide;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.Changes;

/// <summary>
/// Every attribute kvmtune may write has a grammar of the values it may write there, declared beside it in its
/// section's Writable.cs. The values here come from the kernel's documentation of each attribute (named per row),
/// not from kvmtune: what the kernel documents is accepted, anything else is refused before a write.
/// </summary>
public sealed class TunableValueTests
{
    [Theory]
    // admin-guide/mm/transhuge.rst
    [InlineData("/sys/kernel/mm/transparent_hugepage/enabled", "always", true)]
    [InlineData("/sys/kernel/mm/transparent_hugepage/enabled", "madvise", true)]
    [InlineData("/sys/kernel/mm/transparent_hugepage/enabled", "never", true)]
    [InlineData("/sys/kernel/mm/transparent_hugepage/defrag", "defer+madvise", true)]
    [InlineData("/sys/kernel/mm/transparent_hugepage/enabled", "sometimes", false)]
    [InlineData("/sys/kernel/mm/transparent_hugepage/enabled", "never always", false)]
    [InlineData("/sys/kernel/mm/transparent_hugepage/enabled", "defer", false)]
    // admin-guide/sysctl/kernel.rst: numa_balancing 0-3, io_uring_disabled 0-2
    [InlineData("/proc/sys/kernel/numa_balancing", "3", true)]
    [InlineData("/proc/sys/kernel/numa_balancing", "4", false)]
    [InlineData("/proc/sys/kernel/numa_balancing", "1\n", false)]
    [InlineData("/proc/sys/kernel/io_uring_disabled", "2", true)]
    [InlineData("/proc/sys/kernel/io_uring_disabled", "3", false)]
    // admin-guide/mm/hugetlbpage.rst: a page count
    [InlineData("/sys/devices/system/node/node1/hugepages/hugepages-2048kB/nr_hugepages", "512", true)]
    [InlineData("/sys/devices/system/node/node1/hugepages/hugepages-2048kB/nr_hugepages", "-1", false)]
    [InlineData("/sys/devices/system/node/node1/hugepages/hugepages-2048kB/nr_hugepages", "0x10", false)]
    // admin-guide/pm/cpufreq.rst, intel_pstate.rst
    [InlineData("/sys/devices/system/cpu/cpu3/cpufreq/scaling_governor", "performance", true)]
    [InlineData("/sys/devices/system/cpu/cpu3/cpufreq/energy_performance_preference", "balance_power", true)]
    [InlineData("/sys/devices/system/cpu/cpu3/cpufreq/scaling_max_freq", "3500000", true)]
    [InlineData("/sys/devices/system/cpu/cpu3/cpufreq/scaling_governor", "Performance!", false)]
    [InlineData("/sys/devices/system/cpu/cpufreq/boost", "2", false)]
    // admin-guide/pm/intel_epb.rst: 0-15 or five words
    [InlineData("/sys/devices/system/cpu/cpu2/power/energy_perf_bias", "balance-performance", true)]
    [InlineData("/sys/devices/system/cpu/cpu2/power/energy_perf_bias", "15", true)]
    [InlineData("/sys/devices/system/cpu/cpu2/power/energy_perf_bias", "16", false)]
    // admin-guide/pm/cpuidle.rst: stateN/disable
    [InlineData("/sys/devices/system/cpu/cpu0/cpuidle/state2/disable", "1", true)]
    [InlineData("/sys/devices/system/cpu/cpu0/cpuidle/state2/disable", "2", false)]
    // core-api/irq/irq-affinity.rst: smp_affinity_list takes a CPU list
    [InlineData("/proc/irq/45/smp_affinity_list", "0-3,8", true)]
    [InlineData("/proc/irq/45/smp_affinity_list", "0-3,", false)]
    [InlineData("/proc/irq/45/smp_affinity_list", "ff", false)]
    // virt/guest-halt-polling.rst: guest_halt_poll_allow_shrink is a boolean parameter
    [InlineData("/sys/module/haltpoll/parameters/guest_halt_poll_allow_shrink", "N", true)]
    [InlineData("/sys/module/haltpoll/parameters/guest_halt_poll_allow_shrink", "no", false)]
    // ABI/testing/sysfs-bus-pci: bind/unbind an address, new_id "vendor device", driver_override a name or nothing
    [InlineData("/sys/bus/pci/drivers/vfio-pci/bind", "0000:31:00.0", true)]
    [InlineData("/sys/bus/pci/drivers/vfio-pci/new_id", "8086 37c9", true)]
    [InlineData("/sys/bus/pci/drivers/vfio-pci/bind", "0000:31:00.0;reboot", false)]
    [InlineData("/sys/bus/pci/devices/0000:31:00.0/driver_override", "vfio-pci", true)]
    [InlineData("/sys/bus/pci/devices/0000:31:00.0/driver_override", "", true)]
    [InlineData("/sys/bus/pci/devices/0000:31:00.0/sriov_drivers_autoprobe", "2", false)]
    // ABI/stable/sysfs-block: an I/O scheduler's name
    [InlineData("/sys/block/nvme0n1/queue/scheduler", "mq-deadline", true)]
    [InlineData("/sys/block/nvme0n1/queue/scheduler", "[none]", false)]
    public void A_value_is_accepted_exactly_when_the_kernel_documents_it(string path, string value, bool accepted)
    {
        WriteAllowlist.AcceptsValue(path, value, out var why).Should().Be(accepted, why);
        if (!accepted)
            why.Should().Contain(path[(path.LastIndexOf('/') + 1)..]);
    }

    [Fact]
    public void Every_attribute_declares_a_grammar_that_refuses_something()
    {
        WriteAllowlist.Tunables.Should().NotBeEmpty();
        // A grammar that takes anything is no grammar: each refuses a value with a newline in it.
        WriteAllowlist.Tunables.Should().AllSatisfy(t => t.Value.IsMatch("1\n1").Should().BeFalse(t.Path.ToString()));
        // And the check takes the whole value: '$' alone would let a trailing newline through.
        WriteAllowlist.AcceptsValue("/sys/kernel/mm/ksm/run", "1\n", out _).Should().BeFalse();
        WriteAllowlist.AcceptsValue("/sys/kernel/mm/ksm/run", "1", out _).Should().BeTrue();
    }

    [Fact]
    public void A_custom_profile_value_outside_the_grammar_is_refused_with_its_line_and_nothing_is_written()
    {
        using var h = new SyntheticHost();
        h.Set("/p/odd.yaml", "inherits: balanced\nsysfs:\n  /sys/kernel/mm/transparent_hugepage/enabled: sometimes\n");
        var before = TreeState.Of(h.Root);
        var run = KvmtuneRunner.Run("apply", "--root", h.Root, "--profile", h.Tree.Physical("/p/odd.yaml"));
        run.ExitCode.Should().Be(2, run.Stdout);
        run.Stderr.Should().Contain("odd.yaml:3").And.Contain("'sometimes' is not a value enabled takes");
        before.Diff(TreeState.Of(h.Root)).Should().BeEmpty();
    }
}
