using AwesomeAssertions;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.Devices;

public sealed class IrqPinTests
{
    [Fact]
    public void The_irqs_of_a_passthrough_nic_move_to_its_node_and_back()
    {
        using var h = new SyntheticHost();
        foreach (var irq in SyntheticHost.NicIrqs) h.Set($"/proc/irq/{irq}/smp_affinity_list", "0-7");
        h.Set("/proc/812/comm", "irqbalance");
        h.Set("/vm.yaml", $"name: nfv1\nvcpus: 2\nmemory: 2GiB\nworkload: latency\nhugepages: none\npassthrough:\n  - {{ pci: \"{SyntheticHost.Nic}\" }}\n");
        var before = TreeState.Of(h.Root);
        var run = KvmtuneRunner.Run("irq", "pin", h.Tree.Physical("/vm.yaml"), "--root", h.Root);
        run.ExitCode.Should().Be(0, run.Stderr);
        foreach (var irq in SyntheticHost.NicIrqs)
        {
            run.Stdout.Should().Contain($"/proc/irq/{irq}/smp_affinity_list: 0-7 -> 4-7 [3.2.1]");
            File.ReadAllText(h.Tree.Physical($"/proc/irq/{irq}/smp_affinity_list")).Trim().Should().Be("4-7");
        }
        run.Stderr.Should().Contain("irqbalance is running").And.Contain("IRQBALANCE_BANNED_CPULIST=");
        KvmtuneRunner.Run("rollback", "--root", h.Root).ExitCode.Should().Be(0);
        before.Diff(TreeState.Of(h.Root)).Should().BeEmpty();
    }
}
