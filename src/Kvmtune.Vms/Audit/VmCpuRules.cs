using Kvmtune.Facts.Parsing;
using Kvmtune.Guide.Audit;
using static Kvmtune.Facts.Parsing.ShellWords;

namespace Kvmtune.Vms.Audit;

/// <summary>
/// Guide 3.2.1 for a running VM: vCPU pinning, dedicated CPUs, topology, emulator threads, memory and devices.
/// </summary>
public static class VmCpuRules
{
    private const string S = "3.2.1";

    public static IEnumerable<Finding> Evaluate(VmView v, IReadOnlyList<VmView> all)
    {
        yield return Pinned(v);
        yield return Shared(v, all);
        yield return Topology(v);
        yield return EmulatorOff(v);
        yield return MemoryNuma(v);
        yield return DeviceNuma(v);
    }

    private static Finding F(
        string id,
        string title,
        FindingStatus s,
        string? current,
        string? expected,
        string why,
        IEnumerable<string> evidence,
        params VmFix[] fixes
    ) => new(id, S, title, s, current, expected, evidence.Distinct().ToList(), why, fixes);

    private static string Name(VmView v) => Quote(v.Vm.Name);

    /// <summary>The node a VM's memory mostly lies on (else its first vCPU node, else node 0) and its CPUs.</summary>
    private static (int Node, IReadOnlyList<int> Cpus) HomeNode(VmView v)
    {
        int node =
            v.Vm.NumaKib is { Count: > 0 } m ? m.MaxBy(kv => kv.Value).Key
            : v.VcpuNodes.Count > 0 ? v.VcpuNodes[0]
            : v.Host.Numa.Nodes.FirstOrDefault()?.Id ?? 0;
        var cpus = v.Host.Numa.Nodes.FirstOrDefault(n => n.Id == node)?.Cpus ?? v.Host.Cpu.Online;
        return (node, cpus);
    }

    private static VmFix NamesFix(VmView v) =>
        v.Fix.Make(
            S,
            "libvirt always names QEMU's threads",
            $"-name guest={QemuEsc(v.Vm.Config.Name ?? v.Vm.Name)},debug-threads=on (QEMU then names each vCPU thread "
                + "'CPU n/KVM')"
        );

    private static string QemuEsc(string s) => s.Replace(",", ",,");

    private static Finding Pinned(VmView v)
    {
        const string id = "vm.cpu.pinned",
            title = "vCPU threads pinned";
        const string why =
            "A vCPU that the scheduler moves between nodes reaches its memory and devices remotely; "
            + "pinned to the CPUs of one node (numactl -N, or one CPU each for a dedicated VM) it stays local "
            + "(guide 3.2.1)";
        var evidence = v.ThreadEvidence.Append("/sys/devices/system/cpu/online");
        if (!v.KnownVcpus)
            return F(
                id,
                title,
                FindingStatus.Unknown,
                "the vCPU threads cannot be told apart (QEMU started without "
                    + "-name debug-threads=on, and its threads are allowed different CPUs)",
                "vCPUs on the CPUs of one node",
                why,
                evidence,
                NamesFix(v)
            );
        var online = v.Host.Cpu.Online;
        if (online.Count == 0)
            return F(
                id,
                title,
                FindingStatus.Unknown,
                v.VcpuText + " (the host's online CPUs are unreadable)",
                "vCPUs on the CPUs of one node",
                why,
                evidence
            );
        var threads = v.VcpuThreads!;

        var unpinned = threads.Where(t => online.Count > 0 && online.All(t.Cpus!.Contains)).ToList();
        var spanning = threads
            .Where(t =>
                !unpinned.Contains(t) && t.Cpus!.Select(c => v.NodeOf.GetValueOrDefault(c, -1)).Distinct().Count() > 1
            )
            .ToList();
        var current = (v.Anonymous ? "threads unnamed, all " : "") + v.VcpuText;
        var (node, cpus) = HomeNode(v);
        var list = CpuList.Format(cpus);
        var fix = v.Fix.Make(
            S,
            $"<cputune>{string.Concat(threads.Select(t => $"<vcpupin vcpu='{t.Vcpu}' cpuset='{list}'/>"))}</cputune> "
                + "(or one CPU each for a dedicated VM)",
            $"numactl -N {node} -m {node} before qemu-system-*, or pin each vCPU thread (kvmtune vm run does)",
            threads.Select(t => $"virsh vcpupin {Name(v)} {t.Vcpu} {list} --live --config"),
            v.Anonymous ? [$"taskset -apc {list} {v.Vm.Pid}"] : threads.Select(t => $"taskset -pc {list} {t.Tid}")
        );
        const string expected = "each vCPU on the CPUs of one node (a dedicated VM: one CPU each)";
        if (unpinned.Count > 0)
            return F(
                id,
                title,
                FindingStatus.Warn,
                current + $" (all {online.Count} online CPUs: not pinned)",
                expected,
                why
                    + (
                        v.Vm.Config.Passthrough.Count > 0
                            ? "; with passthrough devices the guest's memory is pinned by "
                                + "VFIO and cannot follow the vCPUs"
                            : ""
                    ),
                evidence,
                fix
            );
        if (spanning.Count > 0)
            return F(
                id,
                title,
                FindingStatus.Warn,
                current + $" ({spanning.Count} vCPU(s) span nodes)",
                expected,
                why,
                evidence,
                fix
            );
        return F(id, title, FindingStatus.Pass, current, expected, why, evidence);
    }

    private static Finding Shared(VmView v, IReadOnlyList<VmView> all)
    {
        const string id = "vm.cpu.shared",
            title = "Dedicated CPUs not shared";
        const string why =
            "A dedicated VM's vCPU owns its host CPU (cpu-pm, kvm-hint-dedicated and no halt exits "
            + "assume it): a second vCPU on that CPU, of this VM or another, waits for it (guide 3.2.1, 3.3.1)";
        var evidence = v.ThreadEvidence.Concat(all.Where(o => o != v).Select(o => $"{o.Vm.ProcDir}/task/*/status"));
        if (!v.KnownVcpus)
            return F(
                id,
                title,
                FindingStatus.Unknown,
                "the vCPU threads cannot be told apart",
                "one vCPU per dedicated CPU",
                why,
                evidence,
                NamesFix(v)
            );
        if (!v.Dedicated)
            return F(
                id,
                title,
                FindingStatus.Info,
                "not a dedicated VM (its vCPUs are not pinned one to a CPU of their own)",
                "one vCPU per dedicated CPU",
                why,
                evidence
            );
        var conflicts = new List<string>();
        foreach (var o in all.Where(o => o != v))
        {
            if (!o.KnownVcpus)
                continue;
            foreach (var cpu in v.VcpuCpus)
            {
                var theirs = o.VcpuThreads!.Where(t => t.Cpus!.Contains(cpu)).Select(t => t.Vcpu).ToList();
                if (theirs.Count > 0)
                    conflicts.Add(
                        $"CPU {cpu} also runs vCPU {string.Join(", ", theirs)} of VM '{o.Vm.Name}' "
                            + $"(PID {o.Vm.Pid}{(o.Dedicated ? "" : ", floating")})"
                    );
            }
        }
        var unknown = all.Where(o => o != v && !o.KnownVcpus).Select(o => o.Vm.Name).ToList();
        if (conflicts.Count > 0)
        {
            var free = v.Host.Cpu.Online.Except(all.Where(o => o.KnownVcpus).SelectMany(o => o.VcpuCpus)).ToList();
            return F(
                id,
                title,
                FindingStatus.Fail,
                string.Join("; ", conflicts),
                "one vCPU per dedicated CPU, of one VM",
                why,
                evidence,
                v.Fix.Make(
                    S,
                    "a <vcpupin> of its own CPU for each vCPU (kvmtune vm plan places VMs without overlap)",
                    "each vCPU thread on a CPU of its own (kvmtune vm run places VMs without overlap)",
                    [
                        $"virsh vcpupin {Name(v)} VCPU CPU --live --config (CPUs no VM holds: "
                            + $"{(free.Count == 0 ? "none" : CpuList.Format(free))})",
                    ],
                    [$"taskset -pc CPU TID (CPUs no VM holds: {(free.Count == 0 ? "none" : CpuList.Format(free))})"]
                )
            );
        }
        if (unknown.Count > 0)
            return F(
                id,
                title,
                FindingStatus.Unknown,
                $"CPUs {CpuList.Format(v.VcpuCpus)}: no other known vCPU on them; the vCPU threads of "
                    + $"{string.Join(", ", unknown)} cannot be told apart",
                "one vCPU per dedicated CPU",
                why,
                evidence
            );
        return F(
            id,
            title,
            FindingStatus.Pass,
            $"CPUs {CpuList.Format(v.VcpuCpus)} each run one vCPU of this VM only",
            "one vCPU per dedicated CPU, of one VM",
            why,
            evidence
        );
    }

    private static Finding Topology(VmView v)
    {
        const string id = "vm.cpu.topology",
            title = "Guest threads on host sibling threads";
        const string why =
            "The guest schedules by the topology it is given: vCPUs it believes are threads of one "
            + "core should be hardware threads of one host core, and vCPUs it believes are separate cores should not "
            + "share one (guide 3.2.1; kvmtune's planner gives the guest the host's threads per core)";
        var c = v.Vm.Config;
        var evidence = v.ThreadEvidence.Concat(
            [
                "/sys/devices/system/cpu/cpu*/topology/thread_siblings",
                "/sys/devices/system/cpu/cpu*/topology/thread_siblings_list",
            ]
        );
        var expected = "each guest core's vCPUs on the sibling threads of one host core";
        if (!v.Dedicated)
            return F(
                id,
                title,
                FindingStatus.Info,
                $"guest {c.Sockets} socket(s) x {c.Cores} core(s) x {c.Threads} "
                    + "thread(s); vCPUs not pinned one to a CPU",
                expected,
                why,
                evidence
            );
        var hostCore = v
            .Host.Cpu.Cpus.Where(x => x.Package is not null && x.Core is not null)
            .ToDictionary(x => x.Id, x => (x.Package!.Value, x.Core!.Value));
        var threads = v.VcpuThreads!;
        if (threads.Any(t => !hostCore.ContainsKey(t.Cpus![0])))
            return F(
                id,
                title,
                FindingStatus.Unknown,
                "the host's core of some vCPU CPU is unreadable",
                expected,
                why,
                evidence
            );
        var per = Math.Max(1, c.Threads);
        var problems = new List<string>();
        foreach (var g in threads.GroupBy(t => t.Vcpu!.Value / per))
        {
            var cores = g.Select(t => hostCore[t.Cpus![0]]).Distinct().Count();
            if (per > 1 && cores > 1)
                problems.Add(
                    $"guest core {g.Key} (vCPUs {string.Join(",", g.Select(t => t.Vcpu))}) spans "
                        + $"{cores} host cores"
                );
        }
        foreach (
            var h in threads
                .GroupBy(t => hostCore[t.Cpus![0]])
                .Where(h => h.Select(t => t.Vcpu!.Value / per).Distinct().Count() > 1)
        )
            problems.Add(
                $"vCPUs {string.Join(",", h.Select(t => t.Vcpu))} are separate guest cores on one host core "
                    + $"(package {h.Key.Item1} core {h.Key.Item2})"
            );
        var current =
            $"guest threads per core {per}; "
            + string.Join(
                "; ",
                threads.Select(t => $"vCPU {t.Vcpu} on CPU {t.Cpus![0]} (core {hostCore[t.Cpus[0]].Item2})")
            );
        if (problems.Count == 0)
            return F(id, title, FindingStatus.Pass, current, expected, why, evidence);
        return F(
            id,
            title,
            FindingStatus.Warn,
            current + ": " + string.Join("; ", problems),
            expected,
            why,
            evidence,
            v.Fix.Make(
                S,
                "<cpu><topology threads='N'/></cpu> matching the host, and <vcpupin> of sibling threads",
                "-smp ...,threads=N matching the host, vCPUs of one guest core pinned to sibling threads"
            )
        );
    }

    private static Finding EmulatorOff(VmView v)
    {
        const string id = "vm.emulator.offvcpu",
            title = "Emulator and I/O threads off the vCPUs' CPUs";
        const string why =
            "QEMU's main loop, I/O threads and workers wake up at any time: on a dedicated vCPU's CPU "
            + "they preempt the guest; they belong on the node's housekeeping CPUs (guide 3.2.1)";
        var evidence = v.ThreadEvidence;
        const string expected = "main and I/O threads on CPUs no vCPU of this VM runs on";
        if (!v.KnownVcpus || v.Anonymous)
            return F(
                id,
                title,
                FindingStatus.Unknown,
                "the vCPU threads cannot be told apart",
                expected,
                why,
                evidence,
                NamesFix(v)
            );
        var others = v.Vm.Threads.Where(t => t.Role is VmThreadRole.Main or VmThreadRole.Iothread).ToList();
        var current =
            string.Join(
                "; ",
                others.Select(t =>
                    $"{(t.Role == VmThreadRole.Main ? "main thread" : t.Name)}"
                    + $" on {(t.Cpus is null ? "?" : CpuList.Format(t.Cpus))}"
                )
            ) + $"; vCPUs on {CpuList.Format(v.VcpuCpus)}";
        if (!v.Dedicated)
            return F(
                id,
                title,
                FindingStatus.Info,
                current + " (not a dedicated VM: sharing CPUs is expected)",
                expected,
                why,
                evidence
            );
        if (others.Any(t => t.Cpus is null))
            return F(id, title, FindingStatus.Unknown, current, expected, why, evidence);
        var onVcpu = others.Where(t => t.Cpus!.Intersect(v.VcpuCpus).Any()).ToList();
        if (onVcpu.Count == 0)
            return F(id, title, FindingStatus.Pass, current, expected, why, evidence);
        var (_, nodeCpus) = HomeNode(v);
        var spare = nodeCpus.Except(v.VcpuCpus).ToList();
        var list = spare.Count > 0 ? CpuList.Format(spare) : "HOUSEKEEPING_CPUS";
        return F(
            id,
            title,
            FindingStatus.Warn,
            current,
            expected,
            why,
            evidence,
            v.Fix.Make(
                S,
                $"<cputune><emulatorpin cpuset='{list}'/> and an <iothreadpin> for each iothread</cputune>",
                "each non-vCPU thread pinned off the vCPUs (kvmtune vm run does)",
                [
                    $"virsh emulatorpin {Name(v)} {list} --live --config",
                    .. others
                        .Where(t => t.Role == VmThreadRole.Iothread)
                        .Select(t =>
                            $"virsh iothreadpin {Name(v)} {t.Name![3..].Replace("iothread", "")} {list} "
                            + "--live --config"
                        ),
                ],
                onVcpu.Select(t => $"taskset -pc {list} {t.Tid}")
            )
        );
    }

    private static Finding MemoryNuma(VmView v)
    {
        const string id = "vm.mem.numa",
            title = "Memory on the nodes of its CPUs";
        const string why =
            "Memory on another node than the vCPUs costs a trip over the interconnect on every miss "
            + "(guide 3.2.1: numactl -m with -N, or libvirt's numatune)";
        var evidence = new[] { $"{v.Vm.ProcDir}/numa_maps", $"{v.Vm.ProcDir}/status" }.Concat(v.ThreadEvidence);
        var mems = v.Vm.MemsAllowed is { } m ? $"Mems_allowed {CpuList.Format(m)}" : "Mems_allowed unknown";
        if (v.Host.Numa.Nodes.Count <= 1)
            return F(
                id,
                title,
                FindingStatus.Pass,
                $"one NUMA node; {mems}",
                "memory on the vCPUs' nodes",
                why,
                evidence
            );
        if (v.Vm.NumaKib is not { } kib)
            return F(
                id,
                title,
                FindingStatus.Unknown,
                $"numa_maps unreadable; {mems}",
                "memory on the vCPUs' nodes",
                why,
                evidence
            );
        var nodes = v.VcpuNodes;
        var expected = nodes.Count > 0 ? $"memory on node(s) {CpuList.Format(nodes)}" : "memory on the vCPUs' nodes";
        var total = kib.Values.Sum();
        var text = string.Join(", ", kib.OrderBy(kv => kv.Key).Select(kv => $"N{kv.Key} {Sizes.HumanKib(kv.Value)}"));
        var current = $"{text}; vCPUs on node(s) {(nodes.Count == 0 ? "unknown" : CpuList.Format(nodes))}; {mems}";
        if (!v.KnownVcpus || nodes.Count == 0)
            return F(id, title, FindingStatus.Unknown, current, expected, why, evidence, NamesFix(v));
        var remote = kib.Where(kv => !nodes.Contains(kv.Key)).Sum(kv => kv.Value);
        if (total == 0 || remote * 20 <= total)
            return F(id, title, FindingStatus.Pass, current, expected, why, evidence);
        var from = CpuList.Format(kib.Keys.Where(k => !nodes.Contains(k)));
        var to = CpuList.Format(nodes);
        return F(
            id,
            title,
            FindingStatus.Warn,
            current + $" ({remote * 100 / total}% remote)",
            expected,
            why,
            evidence,
            v.Fix.Make(
                S,
                $"<numatune><memory mode='strict' nodeset='{to}'/></numatune>",
                $"numactl -m {to} before qemu-system-* (or memory backends with host-nodes={to},policy=bind)",
                [$"virsh numatune {Name(v)} --nodeset {to} --live --config", $"migratepages {v.Vm.Pid} {from} {to}"],
                [$"migratepages {v.Vm.Pid} {from} {to}"]
            )
        );
    }

    private static Finding DeviceNuma(VmView v)
    {
        const string id = "vm.dev.numa",
            title = "Passthrough devices and their IRQs on the VM's node";
        const string why =
            "A passthrough device's DMA and interrupts cross the interconnect when the VM runs on "
            + "another node; its MSI vectors' IRQs belong on the device's node (guide 3.2.1, IRQ affinity)";
        var pt = v.Vm.Passthrough;
        if (pt.Count == 0)
            return F(
                id,
                title,
                FindingStatus.Info,
                "no passthrough devices",
                "devices and IRQs on the VM's node",
                why,
                [$"{v.Vm.ProcDir}/cmdline"]
            );
        var evidence = pt.SelectMany(p =>
                new[]
                {
                    $"/sys/bus/pci/devices/{p.Address}/numa_node",
                    $"/sys/bus/pci/devices/{p.Address}/msi_irqs",
                }.Concat(p.Irqs.Select(i => $"/proc/irq/{i.Irq}/smp_affinity_list"))
            )
            .Concat(v.ThreadEvidence);
        var problems = new List<string>();
        var unknown = false;
        var fixes = new List<string>();
        foreach (var p in pt)
        {
            if (p.Node is not int node)
            {
                unknown = true;
                continue;
            }
            if (v.VcpuNodes.Count > 0 && !v.VcpuNodes.Contains(node))
                problems.Add($"{p.Address} on node {node}, vCPUs on {CpuList.Format(v.VcpuNodes)}");
            var nodeCpus = v.Host.Numa.Nodes.FirstOrDefault(n => n.Id == node)?.Cpus ?? [];
            foreach (var (irq, cpus) in p.Irqs)
            {
                if (cpus is null)
                {
                    unknown = true;
                    continue;
                }
                if (nodeCpus.Count > 0 && !cpus.All(nodeCpus.Contains))
                {
                    problems.Add($"{p.Address} IRQ {irq} on CPUs {CpuList.Format(cpus)}");
                    fixes.Add($"echo {CpuList.Format(nodeCpus)} > /proc/irq/{irq}/smp_affinity_list");
                }
            }
        }
        var current = string.Join(
            "; ",
            pt.Select(p => $"{p.Address} node {(p.Node?.ToString() ?? "unknown")}, " + $"{p.Irqs.Count} MSI IRQ(s)")
        );
        if (problems.Count > 0)
            return F(
                id,
                title,
                FindingStatus.Warn,
                current + ": " + string.Join("; ", problems),
                "devices and IRQs on the VM's node",
                why,
                evidence,
                new VmFix(S, fixes, ["kvmtune irq pin SPEC (journaled), and the VM's vCPUs on the device's node"])
            );
        return F(
            id,
            title,
            unknown ? FindingStatus.Unknown : FindingStatus.Pass,
            current,
            "devices and IRQs on the VM's node",
            why,
            evidence
        );
    }
}
