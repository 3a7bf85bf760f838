using Kvmtune.Changes;
using Kvmtune.Facts;
using Kvmtune.Facts.Host;
using Kvmtune.Facts.Host.Devices;
using Kvmtune.Facts.Parsing;

namespace Kvmtune.Vms.Devices;

/// <summary>
/// Guide 3.2.1, IRQ affinity: the MSI interrupts of every device a VM uses (passthrough device, the NIC it links to,
/// its NVMe or other block device) moved to the housekeeping CPUs of the device's NUMA node: not the CPUs isolated
/// by nohz_full/isolcpus nor a dedicated VM's vCPUs. Managed IRQs are skipped: the kernel places those itself.
/// </summary>
public static class IrqPlanner
{
    public sealed record IrqPlan(IReadOnlyList<Operation> Operations, IReadOnlyList<string> Notes);

    public static IrqPlan Plan(HostFacts f, VmSpec spec, PlannedVm vm)
    {
        var ops = new List<Operation>();
        var notes = new List<string>();
        var devices = new List<(string Kind, PciDevice Dev)>();
        foreach (var p in spec.Passthrough)
            if (f.Pci.FirstOrDefault(x => x.Address == p.Pci) is { } d)
                devices.Add(("passthrough", d));
        foreach (var n in spec.Nics.Where(n => n.Link is not null))
            if (
                f.Net.FirstOrDefault(x => x.Name == n.Link)?.Pci is string addr
                && f.Pci.FirstOrDefault(x => x.Address == addr) is { } d
            )
                devices.Add(($"nic {n.Link}", d));
        foreach (var disk in spec.Disks.Where(d => d.Path.StartsWith("/dev/", StringComparison.Ordinal)))
            if (
                f.Block.FirstOrDefault(b => b.Name == disk.Path[5..])?.Pci is string addr
                && f.Pci.FirstOrDefault(x => x.Address == addr) is { } d
            )
                devices.Add(($"disk {disk.Path}", d));
        if (devices.Count == 0)
            notes.Add($"{spec.Name} uses no host PCI device (passthrough, nics[].link, /dev disks): no IRQ to move");
        var irqs = f.Irqs.ToDictionary(i => i.Irq);
        var iso = CpuIsolation.Of(f);
        // A dedicated VM's vCPUs are as much off limits as isolated CPUs: an IRQ there interrupts the guest.
        var vcpuCpus = vm.Dedicated ? vm.VcpuPins.SelectMany(p => p.Cpus).Distinct().ToList() : [];
        var managed = new List<int>();
        var unknownManaged = false;
        foreach (var (kind, dev) in devices)
        {
            if (dev.PlacementNode is not int node || f.Numa.Nodes.FirstOrDefault(n => n.Id == node) is not { } numaNode)
            {
                notes.Add($"{kind} {dev.Address}: the firmware gives no NUMA node; its IRQs stay where they are");
                continue;
            }
            var cpus = (iso ?? new CpuIsolation([], null, f.Cpu.Online)).IrqTargets(numaNode.Cpus, vcpuCpus);
            if (cpus is null)
            {
                notes.Add(
                    $"{kind} {dev.Address}: no housekeeping CPU is left outside the VM's vCPUs; its IRQs stay "
                        + $"where they are"
                );
                continue;
            }
            if (!cpus.Any(numaNode.Cpus.Contains))
                notes.Add(
                    $"{kind} {dev.Address}: node {node} has no housekeeping CPU; its IRQs go to "
                        + $"{CpuList.Format(cpus)} on another node"
                );
            if (dev.MsiIrqs.Count == 0)
                notes.Add($"{kind} {dev.Address}: no MSI interrupts (driver {dev.Driver ?? "none"})");
            foreach (var irq in dev.MsiIrqs)
            {
                irqs.TryGetValue(irq, out var i);
                // The kernel refuses smp_affinity writes to managed IRQs with EIO (kernel/irq/manage.c).
                if (i?.Managed == true)
                {
                    managed.Add(irq);
                    continue;
                }
                if (i?.Managed is null)
                    unknownManaged = true;
                var current = i?.Affinity is { } a ? CpuList.Format(a) : null;
                var wanted = CpuList.Format(cpus);
                if (current == wanted)
                    continue;
                ops.Add(
                    new ValueOperation
                    {
                        Section = "3.2.1",
                        FindingId = "irq.pin",
                        Path = $"/proc/irq/{irq}/smp_affinity_list",
                        Original =
                            current
                            ?? throw new InputException(null, null, $"/proc/irq/{irq}/smp_affinity_list", "unreadable"),
                        New = wanted,
                    }
                );
            }
        }
        if (managed.Count > 0)
            notes.Add(
                $"IRQs {CpuList.Format(managed)} are managed by the kernel (IRQD_AFFINITY_MANAGED): their "
                    + $"affinity cannot be set "
                    + "from user space; isolcpus=managed_irq,<vCPU CPUs> keeps them off isolated CPUs"
            );
        if (unknownManaged && ops.Count > 0)
            notes.Add(
                "/sys/kernel/debug/irq is not readable (mount debugfs), so managed IRQs cannot be told apart: "
                    + "the kernel "
                    + "refuses to move those with EIO"
            );
        if (f.Userspace.IsRunning("irqbalance") == true)
        {
            var vmCpus = vm.Dedicated ? CpuList.Format(vm.VcpuPins.SelectMany(p => p.Cpus)) : null;
            notes.Add(
                "irqbalance is running and rewrites IRQ affinities every 10 s: "
                    + (
                        vmCpus is null
                            ? "stop it (systemctl disable --now irqbalance) to keep these pins"
                            : $"set IRQBALANCE_BANNED_CPULIST={vmCpus} in /etc/default/irqbalance (the VM's " +
                                "dedicated CPUs) and restart it, or stop it"
                    )
            );
        }
        return new IrqPlan(ops, notes);
    }
}
