using AwesomeAssertions;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.Devices;

public sealed class IrqPinTests
{
    [Fact]
    public void The_irqs_of_a_passthrough_nic_move_to_its_node_and_back()
    {
        using var h = new SyntheticHost();
        foreach (var irq in SyntheticHost.NicIrqs)
            h.Set($"/proc/irq/{irq}/smp_affinity_list", "0-7");
        h.Set("/proc/812/comm", "irqbalance");
        h.Set(
            "/vm.yaml",
            $"name: nfv1\nvcpus: 2\nmemory: 2GiB\nworkload: latency\nhugepages: none\npassthrough:\n  - {{ pci: " +
                $"\"{SyntheticHost.Nic}\" }}\n"
        );
        var before = TreeState.Of(h.Root);
        var run = KvmtuneRunner.Run("irq", "pin", h.Tree.Physical("/vm.yaml"), "--root", h.Root);
        run.ExitCode.Should().Be(0, run.Stderr);
        // Node 1 is CPUs 4-7; the dedicated latency VM's two vCPUs are pinned on it, so its device IRQs go to the
        // node's other CPUs (not onto the vCPUs they would interrupt).
        var facts = Kvmtune.Facts.Host.HostFacts.Read(new Kvmtune.Facts.IO.HostReader(h.Root));
        var specs = Kvmtune.Vms.VmSpecParser.ParseFile(h.Tree.Physical("/vm.yaml"), facts);
        var vm = new Kvmtune.Vms.Planner(facts).Plan(specs).Vms.Single();
        var wanted = Kvmtune.Facts.Parsing.CpuList.Format(
            new[] { 4, 5, 6, 7 }.Except(vm.VcpuPins.SelectMany(p => p.Cpus))
        );
        wanted.Should().NotBeEmpty();
        foreach (var irq in SyntheticHost.NicIrqs)
        {
            run.Stdout.Should().Contain($"/proc/irq/{irq}/smp_affinity_list: 0-7 -> {wanted} [3.2.1]");
            File.ReadAllText(h.Tree.Physical($"/proc/irq/{irq}/smp_affinity_list")).Trim().Should().Be(wanted);
        }
        run.Stderr.Should().Contain("irqbalance is running").And.Contain("IRQBALANCE_BANNED_CPULIST=");
        KvmtuneRunner.Run("rollback", "--root", h.Root).ExitCode.Should().Be(0);
        before.Diff(TreeState.Of(h.Root)).Should().BeEmpty();
    }
}
