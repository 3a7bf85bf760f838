using Kvmtune.Core.Changes;
using Kvmtune.Core.Host;
using Kvmtune.Core.Host.Devices;
using Kvmtune.Core.Parsing;
using Kvmtune.Core.Vms;

namespace Kvmtune.Core.Devices;

/// <summary>
/// Guide 3.2.1, IRQ affinity: the MSI interrupts of every device a VM uses (passthrough device, the NIC it links to,
/// its NVMe or other block device) moved to the CPUs of the device's NUMA node.
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
            if (f.Pci.FirstOrDefault(x => x.Address == p.Pci) is { } d) devices.Add(("passthrough", d));
        foreach (var n in spec.Nics.Where(n => n.Link is not null))
            if (f.Net.FirstOrDefault(x => x.Name == n.Link)?.Pci is string addr && f.Pci.FirstOrDefault(x => x.Address == addr) is { } d) devices.Add(($"nic {n.Link}", d));
        foreach (var disk in spec.Disks.Where(d => d.Path.StartsWith("/dev/", StringComparison.Ordinal)))
            if (f.Block.FirstOrDefault(b => b.Name == disk.Path[5..])?.Pci is string addr && f.Pci.FirstOrDefault(x => x.Address == addr) is { } d) devices.Add(($"disk {disk.Path}", d));
        if (devices.Count == 0) notes.Add($"{spec.Name} uses no host PCI device (passthrough, nics[].link, /dev disks): no IRQ to move");
        var irqs = f.Irqs.ToDictionary(i => i.Irq);
        foreach (var (kind, dev) in devices)
        {
            if (dev.NumaNode is not int node) { notes.Add($"{kind} {dev.Address}: the firmware gives no NUMA node; its IRQs stay where they are"); continue; }
            var cpus = f.Numa.Nodes.First(n => n.Id == node).Cpus;
            if (dev.MsiIrqs.Count == 0) notes.Add($"{kind} {dev.Address}: no MSI interrupts (driver {dev.Driver ?? "none"})");
            foreach (var irq in dev.MsiIrqs)
            {
                var current = irqs.TryGetValue(irq, out var i) && i.Affinity is { } a ? CpuList.Format(a) : null;
                var wanted = CpuList.Format(cpus);
                if (current == wanted) continue;
                ops.Add(new ValueOperation
                {
                    Section = "3.2.1", FindingId = "irq.pin", Path = $"/proc/irq/{irq}/smp_affinity_list",
                    Original = current ?? throw new InputException(null, null, $"/proc/irq/{irq}/smp_affinity_list", "unreadable"),
                    New = wanted,
                });
            }
        }
        if (f.Userspace.IsRunning("irqbalance") == true)
        {
            var vmCpus = vm.Dedicated ? CpuList.Format(vm.VcpuPins.SelectMany(p => p.Cpus)) : null;
            notes.Add("irqbalance is running and rewrites IRQ affinities every 10 s: " + (vmCpus is null
                ? "stop it (systemctl disable --now irqbalance) to keep these pins"
                : $"set IRQBALANCE_BANNED_CPULIST={vmCpus} in /etc/default/irqbalance (the VM's dedicated CPUs) and restart it, or stop it"));
        }
        return new IrqPlan(ops, notes);
    }
}
