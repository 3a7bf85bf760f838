using Kvmtune.Facts.Host.Virtualization;
using Kvmtune.Facts.Parsing;
using Kvmtune.Guide.Audit;
using Kvmtune.Guide.Profiles;

namespace Kvmtune.Guide.Sections;

/// <summary>Settings that are each fine alone but defeat each other, reported as findings of their own.</summary>
public static class Conflicts
{
    public static IEnumerable<Finding> Evaluate(AuditContext c)
    {
        var f = c.Facts;
        if (c.Role == MachineRole.Guest)
        {
            var idle = f.Kernel.CommandLine?.Value("idle");
            if (
                idle is not null
                && (
                    f.Kernel.IsLoaded("haltpoll") == true
                    || f.Kernel.IsLoaded("cpuidle_haltpoll") == true
                    || f.Power.CpuidleDriver == "haltpoll"
                )
            )
                yield return Rule.Make(
                    "conflict.guest_idle_haltpoll",
                    "3.4.1",
                    "idle= masks guest halt polling",
                    FindingStatus.Fail,
                    $"idle={idle} with haltpoll loaded",
                    "no idle= in the guest",
                    "The guide: the guest command line must not include idle=, or guest halt polling is masked",
                    ["/proc/cmdline", "/sys/module/haltpoll"],
                    new KernelArgument("3.4.1", "idle", null, Remove: true)
                );
            yield break;
        }

        // Daemons that rewrite what kvmtune sets: name each and what it overwrites.
        var daemons = new List<string>();
        if (f.Userspace.IsRunning("tuned") == true)
            daemons.Add(
                "tuned (its profile's governor, transparent_hugepages, sysctls such as numa_balancing, KSM "
                    + "run, and C-states through force_latency)"
            );
        if (f.Userspace.IsRunning("ksmtuned") == true && c.Profile.Get(ProfileSchema.MemoryKsm) != KsmMode.On)
            daemons.Add("ksmtuned (KSM run, pages_to_scan, sleep_millisecs)");
        if (f.Userspace.IsRunning("irqbalance") == true && c.Profile.Get(ProfileSchema.NumaIrqAffinity))
            daemons.Add(
                "irqbalance (IRQ smp_affinity every 10 s, unless banned; since 1.1.0 it skips isolated and nohz_full " +
                    "CPUs itself)"
            );
        if (daemons.Count > 0)
            yield return Rule.Make(
                "conflict.daemons",
                "3.2",
                "Daemons that overwrite kvmtune's settings",
                FindingStatus.Warn,
                "running: " + string.Join("; ", daemons),
                "none of them managing what kvmtune sets",
                "A setting kvmtune applies lasts only until the daemon's next pass; configure the daemon to match, "
                    + "or stop it",
                ["/proc"]
            );
        var ksmOn = f.Memory.Ksm.Run == 1;
        if (ksmOn && c.Profile.Get(ProfileSchema.QemuMemLock))
            yield return Rule.Make(
                "conflict.ksm_memlock",
                "3.2.5",
                "KSM on while VMs lock their memory",
                FindingStatus.Warn,
                "ksm run=1, profile uses mem-lock=on",
                "one or the other",
                "mem-lock=on keeps guest memory resident for latency while KSM rewrites it for density: merged pages " +
                    "are copied back on every write",
                ["/sys/kernel/mm/ksm/run"]
            );
        var reserved = f.Memory.HugepagePools.Where(p => p.Total > 0).ToList();
        if (ksmOn && reserved.Count > 0)
            yield return Rule.Make(
                "conflict.ksm_hugepages",
                "3.2.5",
                "KSM on with static huge pages reserved",
                FindingStatus.Warn,
                $"ksm run=1, {string.Join(", ", reserved.Select(p => Sizes.Pages(p.Total, p.SizeKib)))} reserved",
                "one or the other",
                "KSM never merges hugetlbfs pages, so VMs on static huge pages gain nothing from it and pay its " +
                    "scanning",
                ["/sys/kernel/mm/ksm/run", "/sys/kernel/mm/hugepages"]
            );
        var vfio = Section3_2_1_Numa.VfioDevices(c);
        if (
            f.Numa.NumaBalancing is int nb
            && nb != 0
            && vfio.Count > 0
            && f.Numa.Nodes.Count > 1
            && !f.Numa.Synthesized
        )
            yield return Rule.Make(
                "conflict.numa_balancing_vfio",
                "3.2.1",
                "NUMA balancing on with devices bound to vfio-pci",
                FindingStatus.Warn,
                $"numa_balancing={nb}, vfio-pci: {string.Join(", ", vfio.Select(d => d.Address))}",
                "numa_balancing=0 and manual placement",
                "VFIO pins guest memory, so balancing cannot move it and only adds scanning faults",
                ["/proc/sys/kernel/numa_balancing", "/sys/bus/pci/drivers/vfio-pci"],
                new SysfsWrite("3.2.1", "/proc/sys/kernel/numa_balancing", "0")
            );
        if (f.Kernel.CommandLine?.Value("nohz_full") is string nohz && CpuList.TryParse(nohz, out var cpus, out _))
        {
            var bare = f
                .Numa.Nodes.Where(n => n.Cpus.Count > 0 && n.Cpus.All(cpus.Contains))
                .Select(n => n.Id)
                .ToList();
            if (bare.Count > 0)
                yield return Rule.Make(
                    "conflict.nohz_no_housekeeping",
                    "3.2.7",
                    "nohz_full leaves a node without a housekeeping CPU",
                    FindingStatus.Fail,
                    $"nohz_full={nohz} covers every CPU of node {string.Join(", ", bare)}",
                    "one housekeeping CPU per node",
                    "Timers, RCU and workqueues of that node then run remotely or not at all; the guide keeps one " +
                        "housekeeping CPU per node",
                    ["/proc/cmdline"],
                    new KernelArgument("3.2.7", "nohz_full", CpuList.Format(Section3_2_7_Nohz.WantedNohzFull(f)))
                );
        }
        if (c.Profile.Get(ProfileSchema.QemuCpuPm) && c.Profile.Get(ProfileSchema.QemuOvercommit))
            yield return Rule.Make(
                "conflict.cpupm_overcommit",
                "3.3.1",
                "cpu-pm=on on an overcommitted host",
                FindingStatus.Fail,
                "profile sets both qemu.cpu_pm and qemu.overcommit",
                "cpu-pm only with dedicated CPUs",
                "With cpu-pm=on a vCPU idles in the guest and never yields its host CPU, so overcommitted VMs starve " +
                    "each other (guide 3.3.1)",
                [c.Profile.Source ?? "profile"]
            );
        var qemus = f.Userspace.QemuCommandLines;
        var pm = qemus
            .Where(q => q.Option("-overcommit")?.Contains("cpu-pm=on", StringComparison.Ordinal) == true)
            .ToList();
        var vcpus = qemus.Sum(q => q.Vcpus);
        if (pm.Count > 0 && f.Cpu.Threads is int threads && vcpus > threads)
            yield return Rule.Make(
                "conflict.cpupm_overcommit_running",
                "3.3.1",
                "Running VMs with cpu-pm=on overcommit the host",
                FindingStatus.Fail,
                $"{vcpus} vCPUs on {threads} host CPUs; cpu-pm=on in PIDs {string.Join(", ", pm.Select(q => q.Pid))}",
                "vCPUs <= host CPUs",
                "cpu-pm=on vCPUs never give their CPU back; with more vCPUs than CPUs some VMs stall",
                pm.Select(q => $"/proc/{q.Pid}/cmdline")
            );
    }
}
