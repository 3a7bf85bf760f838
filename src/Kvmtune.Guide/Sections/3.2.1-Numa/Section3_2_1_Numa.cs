using Kvmtune.Facts.Host;
using Kvmtune.Facts.Host.Devices;
using Kvmtune.Facts.Parsing;
using Kvmtune.Guide.Audit;
using Kvmtune.Guide.Profiles;

namespace Kvmtune.Guide.Sections;

/// <summary>Guide 3.2.1, NUMA affinity: automatic balancing or manual placement, device locality, IRQ
/// affinity.</summary>
public static partial class Section3_2_1_Numa
{
    private const string S = "3.2.1";

    public static IEnumerable<Finding> Evaluate(AuditContext c)
    {
        yield return Balancing(c);
        yield return Devices(c);
        yield return IrqAffinity(c);
        yield return Irqbalance(c);
    }

    /// <summary>Devices on vfio-pci or a variant: their guest memory is pinned, so balancing cannot move it.</summary>
    public static IReadOnlyList<PciDevice> VfioDevices(AuditContext c) =>
        c.Facts.Pci.Where(p => PciKernel.IsVfioDriver(p.Driver)).ToList();

    private static Finding Balancing(AuditContext c)
    {
        var f = c.Facts;
        const string id = "host.numa.balancing",
            title = "Automatic NUMA balancing vs manual placement";
        var want = c.Profile.Get(ProfileSchema.NumaBalancing);
        var vfio = VfioDevices(c);
        var expectOn = want switch
        {
            NumaBalancingMode.On => true,
            NumaBalancingMode.Off => false,
            _ => vfio.Count == 0,
        };
        var expected = expectOn ? "1 (on)" : "0 (off: manual placement)";
        var rationale =
            want == NumaBalancingMode.Auto
                ? (
                    vfio.Count == 0
                        ? "No device is bound to vfio-pci, so the kernel may move VM memory closer to its vCPUs"
                        : $"{vfio.Count} device(s) bound to vfio-pci pin VM memory; place VMs by hand instead"
                )
                : c.Profile.Reason(ProfileSchema.NumaBalancing);
        var evidence = new[] { "/proc/sys/kernel/numa_balancing", "/sys/bus/pci/drivers/vfio-pci" };
        if (!NumaKnown(c))
            return Rule.Make(
                id,
                S,
                title,
                FindingStatus.Unknown,
                $"NUMA nodes unknown; numa_balancing={f.Numa.NumaBalancing?.ToString() ?? "unknown"}",
                expected,
                rationale,
                evidence.Append("/sys/devices/system/node")
            );
        if (f.Numa.Nodes.Count == 1)
            return Rule.Make(
                id,
                S,
                title,
                FindingStatus.Info,
                $"one NUMA node; numa_balancing={f.Numa.NumaBalancing?.ToString() ?? "unknown"}",
                expected,
                "With one node there is nothing to balance",
                evidence
            );
        if (f.Numa.NumaBalancing is not int nb)
        {
            if (f.Kernel.Config?.Get("CONFIG_NUMA_BALANCING") == "n")
                return Rule.Make(
                    id,
                    S,
                    title,
                    expectOn ? FindingStatus.Warn : FindingStatus.Pass,
                    "not built into this kernel",
                    expected,
                    rationale,
                    evidence
                );
            return Rule.Make(id, S, title, FindingStatus.Unknown, "unknown", expected, rationale, evidence);
        }
        var on = nb != 0;
        var current = $"{nb} ({(on ? "on" : "off")})";
        if (on == expectOn)
            return Rule.Make(id, S, title, FindingStatus.Pass, current, expected, rationale, evidence);
        return Rule.Make(
            id,
            S,
            title,
            FindingStatus.Warn,
            current,
            expected,
            rationale,
            evidence,
            new SysfsWrite(S, "/proc/sys/kernel/numa_balancing", expectOn ? "1" : "0")
        );
    }

    /// <summary>NICs, storage and accelerators: the devices whose node a VM should share.</summary>
    public static IEnumerable<PciDevice> PlacementDevices(AuditContext c) =>
        c.Facts.Pci.Where(p => p.Category is not null and not "display" && p.Physfn is null);

    private static Finding Devices(AuditContext c)
    {
        var f = c.Facts;
        const string id = "host.numa.devices",
            title = "NUMA node of NICs, NVMe and accelerators";
        var devices = PlacementDevices(c).ToList();
        var rationale = "A VM runs best on the node its passthrough or backing devices hang off";
        var evidence = devices.Select(d => $"/sys/bus/pci/devices/{d.Address}/numa_node").ToList();
        if (devices.Count == 0)
            return Rule.Make(
                id,
                S,
                title,
                FindingStatus.Info,
                "no NIC, storage or accelerator PCI devices",
                null,
                rationale,
                ["/sys/bus/pci/devices"]
            );
        // numa_node -1 with a local_cpulist inside one node is placed there, as hwloc's lstopo does.
        evidence.AddRange(
            devices
                .Where(d => d.LocalityNode is not null)
                .Select(d => $"/sys/bus/pci/devices/{d.Address}/local_cpulist")
        );
        static string Label(HostFacts f, PciDevice d) =>
            d.Address + Names(f, d) + (d.LocalityNode is not null ? " (numa_node -1, by local_cpulist)" : "");
        var current = string.Join(
            "; ",
            devices
                .GroupBy(d => d.PlacementNode)
                .OrderBy(g => g.Key ?? -1)
                .Select(g =>
                    (g.Key is int n ? $"node {n}" : "no node") + ": " + string.Join(", ", g.Select(d => Label(f, d)))
                )
        );
        if (f.Numa.Nodes.Count > 1 && devices.All(d => d.PlacementNode is null))
            return Rule.Make(
                id,
                S,
                title,
                FindingStatus.Warn,
                current,
                "each device on a node",
                "The firmware reports no device locality (numa_node -1); check the ACPI _PXM/SRAT settings",
                evidence
            );
        return Rule.Make(id, S, title, FindingStatus.Info, current, null, rationale, evidence);
    }

    private static string Names(HostFacts f, PciDevice d)
    {
        var names = f
            .Net.Where(n => n.Pci == d.Address)
            .Select(n => n.Name)
            .Concat(f.Block.Where(b => b.Pci == d.Address).Select(b => b.Name))
            .ToList();
        return names.Count == 0 ? "" : $" ({string.Join(", ", names)})";
    }

    private static Finding IrqAffinity(AuditContext c)
    {
        var f = c.Facts;
        const string id = "host.numa.irq_affinity",
            title = "Device IRQs on housekeeping CPUs of their node";
        var want = c.Profile.Get(ProfileSchema.NumaIrqAffinity);
        var rationale =
            "An interrupt handled on another node drags the device's data across the interconnect, and one "
            + "handled on a CPU isolated for vCPUs (nohz_full, isolcpus) interrupts the guest: keep device IRQs on the "
            + "node's housekeeping CPUs (TuneD realtime bans the isolated CPUs from irqbalance). Managed IRQs are the "
            + "kernel's: writing their smp_affinity fails with EIO (kernel/irq/manage.c); isolcpus=managed_irq keeps "
            + "them "
            + "off isolated CPUs where it can";
        const string expected = "every device IRQ on a housekeeping CPU of its device's node";
        var iso = CpuIsolation.Of(f);
        var single = !NumaKnown(c) ? (bool?)null : f.Numa.Nodes.Count <= 1;
        if (single is null)
            return Rule.Make(
                id,
                S,
                title,
                FindingStatus.Unknown,
                "NUMA nodes unknown",
                expected,
                rationale,
                ["/sys/devices/system/node"]
            );
        if (single == true && iso is not { Any: true })
            return Rule.Make(
                id,
                S,
                title,
                FindingStatus.Info,
                "one NUMA node, no isolated CPUs",
                null,
                "With one node and no isolated CPU every IRQ is local",
                ["/sys/devices/system/node", "/proc/cmdline"]
            );
        var irqs = f.Irqs.ToDictionary(i => i.Irq);
        var misplaced = new List<(PciDevice Dev, int Irq, IReadOnlyList<int> Target)>();
        var managed = new List<int>();
        var evidence = new List<string> { "/proc/cmdline" };
        var unknown = 0;
        var checkedIrqs = 0;
        // A node's targets, as a list for the fix and a set for the test, once a node: a host has hundreds of
        // devices on a few nodes.
        var targets = new Dictionary<int, (IReadOnlyList<int> List, HashSet<int> Set)>();
        foreach (var d in f.Pci.Where(p => p.PlacementNode is not null && p.MsiIrqs.Count > 0))
        {
            var node = f.Numa.Nodes.FirstOrDefault(n => n.Id == d.PlacementNode);
            if (node is null || node.Cpus.Count == 0)
                continue;
            if (!targets.TryGetValue(node.Id, out var target))
            {
                var list = iso?.IrqTargets(node.Cpus) ?? node.Cpus;
                target = (list, [.. list]);
                targets[node.Id] = target;
            }
            foreach (var irq in d.MsiIrqs)
            {
                checkedIrqs++;
                evidence.Add($"/proc/irq/{irq}/effective_affinity_list");
                evidence.Add($"/proc/irq/{irq}/smp_affinity_list");
                if (!irqs.TryGetValue(irq, out var info) || (info.Effective ?? info.Affinity) is not { } cpus)
                {
                    unknown++;
                    continue;
                }
                if (cpus.All(target.Set.Contains))
                    continue;
                if (info.Managed == true)
                    managed.Add(irq);
                else
                    misplaced.Add((d, irq, target.List));
            }
        }
        if (checkedIrqs == 0)
            return Rule.Make(
                id,
                S,
                title,
                FindingStatus.Info,
                "no device with MSI interrupts and a node",
                null,
                rationale,
                ["/sys/bus/pci/devices"]
            );
        if (unknown == checkedIrqs)
            return Rule.Make(
                id,
                S,
                title,
                FindingStatus.Unknown,
                "IRQ affinities unreadable",
                expected,
                rationale,
                evidence
            );
        var isolatedNote = iso is { Any: true } ? $" (housekeeping CPUs {CpuList.Format(iso.Housekeeping)})" : "";
        if (misplaced.Count == 0 && managed.Count == 0)
            return Rule.Make(
                id,
                S,
                title,
                unknown > 0 ? FindingStatus.Unknown : FindingStatus.Pass,
                (unknown > 0 ? $"{unknown} IRQ affinities unreadable" : $"{checkedIrqs} device IRQs in place")
                    + isolatedNote,
                expected,
                rationale,
                evidence
            );
        var parts = new List<string>();
        if (misplaced.Count > 0)
            parts.Add(
                $"{misplaced.Count} IRQs off their node's housekeeping CPUs: "
                    + string.Join(", ", misplaced.Take(12).Select(o => $"{o.Irq} ({o.Dev.Address})"))
                    + (misplaced.Count > 12 ? ", ..." : "")
            );
        if (managed.Count > 0)
            parts.Add($"{managed.Count} managed IRQs ({CpuList.Format(managed)}) the kernel places itself: left alone");
        var changes = new List<PlannedChange>();
        if (want)
            changes.AddRange(
                misplaced.Select(o =>
                    (PlannedChange)new SysfsWrite(S, $"/proc/irq/{o.Irq}/smp_affinity_list", CpuList.Format(o.Target))
                )
            );
        var isolcpus = f.Kernel.CommandLine?.Value("isolcpus");
        if (
            want
            && managed.Count > 0
            && iso is { Isolated.Count: > 0 }
            && (isolcpus is null || !CpuIsolation.IsolcpusFlags(isolcpus).Contains("managed_irq"))
        )
            changes.Add(new KernelArgument(S, "isolcpus", "managed_irq,domain," + CpuList.Format(iso.Isolated)));
        foreach (var irq in managed)
            evidence.Add($"/sys/kernel/debug/irq/irqs/{irq}");
        return Rule.Make(
            id,
            S,
            title,
            want && misplaced.Count > 0 ? FindingStatus.Warn : FindingStatus.Info,
            string.Join("; ", parts) + isolatedNote,
            expected,
            rationale,
            evidence,
            changes
        );
    }

    /// <summary>
    /// Whether the node list is the kernel's: read from /sys/devices/system/node, or one node because the kernel
    /// config says CONFIG_NUMA is off. A tree that merely lacks the folder says nothing about nodes.
    /// </summary>
    public static bool NumaKnown(AuditContext c) =>
        c.Facts.Numa.Nodes.Count > 0 && (!c.Facts.Numa.Synthesized || c.Facts.Kernel.Config?.Get("CONFIG_NUMA") == "n");

    /// <summary>irqbalance from this release on bans isolated and nohz_full CPUs by itself.</summary>
    /// <summary>irqbalance bans isolated and nohz_full CPUs by itself since 1.1.0 (2015, commit 2dddcfe "cputree:
    /// default banning of isolated and adaptive-ticks cpus", setup_banned_cpus() in cputree.c).</summary>
    public static readonly Version IrqbalanceSkipsIsolated = new(1, 1);

    private static Finding Irqbalance(AuditContext c)
    {
        var u = c.Facts.Userspace;
        const string id = "host.numa.irqbalance",
            title = "irqbalance and pinned IRQs";
        var want = c.Profile.Get(ProfileSchema.NumaIrqAffinity);
        var evidence = new[] { "/proc", u.IrqbalanceConfig ?? "/etc/default/irqbalance", "/var/lib/dpkg/status" };
        var running = u.IsRunning("irqbalance");
        if (running is null)
            return Rule.Make(
                id,
                S,
                title,
                FindingStatus.Unknown,
                "process list unreadable",
                null,
                "irqbalance rewrites IRQ affinities every 10 s",
                evidence
            );
        if (running == false)
            return Rule.Make(
                id,
                S,
                title,
                FindingStatus.Pass,
                "irqbalance not running",
                want ? "IRQ affinities left as set" : null,
                "Nothing rewrites the IRQ affinities kvmtune sets",
                evidence
            );
        var banned = u.IrqbalanceBannedCpus;
        var version = u.IrqbalanceVersion;
        var iso = CpuIsolation.Of(c.Facts);
        var current =
            $"irqbalance {version?.ToString() ?? "(version unknown)"} running, banned CPUs "
            + (
                banned is null ? "unknown"
                : banned.Count == 0 ? "none"
                : CpuList.Format(banned)
            );
        // irqbalance 1.1+ reads /sys/devices/system/cpu/isolated and nohz_full and keeps IRQs off those CPUs itself.
        if (version >= IrqbalanceSkipsIsolated && iso is { Isolated.Count: > 0 })
            return Rule.Make(
                id,
                S,
                title,
                FindingStatus.Pass,
                current + $"; skips isolated CPUs {CpuList.Format(iso.Isolated)} by itself",
                "irqbalance keeps IRQs off the isolated CPUs",
                "irqbalance 1.1.0 and later leave isolcpus and nohz_full CPUs alone (cputree.c setup_banned_cpus)",
                evidence
            );
        return Rule.Make(
            id,
            S,
            title,
            want && (banned is null || banned.Count == 0) ? FindingStatus.Warn : FindingStatus.Info,
            current,
            "irqbalance stopped, or the VM CPUs in IRQBALANCE_BANNED_CPULIST",
            "irqbalance rewrites IRQ affinities every 10 s and would undo kvmtune's pinning; ban the CPUs dedicated "
                + "to VMs "
                + "(TuneD realtime does: [irqbalance] banned_cpus=${isolated_cores})",
            evidence,
            new ManualStep(
                S,
                "IRQBALANCE_BANNED_CPULIST=<the CPUs dedicated to VMs> in /etc/default/irqbalance, then systemctl " +
                    "restart irqbalance (or systemctl disable --now irqbalance)"
            )
        );
    }
}
