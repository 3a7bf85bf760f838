using Kvmtune.Facts.Parsing;
using Kvmtune.Guide.Audit;

namespace Kvmtune.Vms.Audit;

/// <summary>
/// Guide 3.3.1 (cpu-pm, mem-lock), 3.2.5 (merge against KSM) and 3.2.3 (huge pages) for a running VM.
/// </summary>
public static class VmMemoryRules
{
    public static IEnumerable<Finding> Evaluate(VmView v)
    {
        yield return CpuPm(v);
        yield return MemLock(v);
        yield return Merge(v);
        yield return Hugepages(v);
        yield return Prealloc(v);
    }

    private static Finding F(
        string id,
        string section,
        string title,
        FindingStatus s,
        string? current,
        string? expected,
        string why,
        IEnumerable<string> evidence,
        params VmFix[] fixes
    ) => new(id, section, title, s, current, expected, evidence.Distinct().ToList(), why, fixes);

    /// <summary>The one -overcommit QEMU keeps, with one flag changed.</summary>
    private static string Overcommit(VmView v, bool? memLock = null, bool? cpuPm = null)
    {
        var m = memLock ?? v.Vm.Config.MemLock;
        var p = cpuPm ?? v.Vm.Config.CpuPm;
        return $"-overcommit mem-lock={(m ? "on" : "off")},cpu-pm={(p ? "on" : "off")}";
    }

    private static string OvercommitText(VmView v) =>
        v.Vm.Config.OvercommitGiven
            ? $"mem-lock={(v.Vm.Config.MemLock ? "on" : "off")}, cpu-pm={(v.Vm.Config.CpuPm ? "on" : "off")}"
            : "no -overcommit (mem-lock=off, cpu-pm=off)";

    private static Finding CpuPm(VmView v)
    {
        const string id = "vm.cpu.pm",
            title = "cpu-pm for dedicated vCPUs";
        const string why =
            "-overcommit cpu-pm=on lets a dedicated vCPU idle in MWAIT/HLT without a VM exit, for "
            + "better latency and turbo on its siblings; on shared CPUs it takes time from every other thread there in "
            + "unpredictable ways (guide 3.3.1)";
        var evidence = v.ArgvEvidence.Concat(v.ThreadEvidence);
        var current =
            OvercommitText(v)
            + (
                v.KnownVcpus
                    ? v.Dedicated
                        ? "; dedicated vCPUs"
                        : "; vCPUs not dedicated"
                    : "; vCPU pinning unknown"
            );
        if (v.Tcg)
            return F(
                id,
                "3.3.1",
                title,
                FindingStatus.Info,
                current + "; accel tcg",
                "cpu-pm is a KVM setting",
                why,
                evidence
            );
        var on = v.Vm.Config.CpuPm;
        if (!v.KnownVcpus)
            return F(
                id,
                "3.3.1",
                title,
                FindingStatus.Unknown,
                current,
                "on exactly for a dedicated VM",
                why,
                evidence
            );
        var fixOn = v.Fix.Make(
            "3.3.1",
            $"<qemu:commandline><qemu:arg value='-overcommit'/><qemu:arg value='{Overcommit(v, cpuPm: true)[12..]}'/>"
                + "</qemu:commandline> (libvirt 9 has no element for cpu-pm; <locked/> must then not add a second "
                + "-overcommit)",
            Overcommit(v, cpuPm: true)
        );
        var fixOff = v.Fix.Make("3.3.1", "remove cpu-pm=on from <qemu:commandline>", Overcommit(v, cpuPm: false));
        return (v.Dedicated, on) switch
        {
            (true, true) => F(id, "3.3.1", title, FindingStatus.Pass, current, "on (dedicated vCPUs)", why, evidence),
            (true, false) => F(
                id,
                "3.3.1",
                title,
                FindingStatus.Warn,
                current,
                "on (dedicated vCPUs)",
                why,
                evidence,
                fixOn
            ),
            (false, true) => F(
                id,
                "3.3.1",
                title,
                FindingStatus.Warn,
                current,
                "off (vCPUs share their CPUs)",
                why,
                evidence,
                fixOff
            ),
            _ => F(id, "3.3.1", title, FindingStatus.Pass, current, "off (vCPUs share their CPUs)", why, evidence),
        };
    }

    /// <summary>
    /// On hugetlbfs: its mem-path under a hugetlbfs mount, or memfd hugetlb=on; where no mount could be read, the
    /// kernel's own count of the process's hugetlb pages (smaps_rollup) says so for a file backend.
    /// </summary>
    private static bool OnHugetlb(VmView v, VmRamBackend b) =>
        HugetlbMount(v, b) is not null
        || b.Hugetlb
        || (
            b.MemPath is not null
            && v.Host.Memory.HugetlbfsMounts.Count == 0
            && v.Vm.SmapsKib is { } s
            && s.GetValueOrDefault("Private_Hugetlb") + s.GetValueOrDefault("Shared_Hugetlb") > 0
        );

    private static Facts.Host.Memory.HugetlbfsMount? HugetlbMount(VmView v, VmRamBackend b) =>
        b.MemPath is not string path
            ? null
            : v
                .Host.Memory.HugetlbfsMounts.Where(m =>
                    path == m.Path || path.StartsWith(m.Path.TrimEnd('/') + "/", StringComparison.Ordinal)
                )
                .MaxBy(m => m.Path.Length);

    private static Finding MemLock(VmView v)
    {
        const string id = "vm.mem.lock",
            title = "Guest memory locked";
        const string why =
            "-overcommit mem-lock=on keeps QEMU's and the guest's memory out of swap and reclaim, "
            + "removing worst-case latency, where the host's memory is not overcommitted (guide 3.3.1)";
        var status = v.Vm.StatusKib;
        var locked = status?.GetValueOrDefault("VmLck") is long l ? $"VmLck {Sizes.HumanKib(l)}" : "VmLck unknown";
        var evidence = v.ArgvEvidence.Append($"{v.Vm.ProcDir}/status");
        var current = $"{OvercommitText(v)}; {locked}";
        var reserved = v.Dedicated || v.Vm.Config.Ram.All(b => OnHugetlb(v, b));
        var ramKib = v.Vm.Config.MemoryBytes / 1024;
        var fix = v.Fix.Make(
            "3.3.1",
            $"<memoryBacking><locked/></memoryBacking> and <memtune><hard_limit unit='KiB'>{ramKib + (1 << 20)}"
                + "</hard_limit></memtune> (guest RAM plus 1 GiB for QEMU)",
            Overcommit(v, memLock: true)
        );
        if (v.Vm.Config.MemLock)
            return F(id, "3.3.1", title, FindingStatus.Pass, current, "mem-lock=on", why, evidence);
        if (reserved)
            return F(
                id,
                "3.3.1",
                title,
                FindingStatus.Warn,
                current,
                "mem-lock=on (dedicated CPUs or huge pages: its memory is not overcommitted)",
                why,
                evidence,
                fix
            );
        return F(
            id,
            "3.3.1",
            title,
            FindingStatus.Info,
            current,
            "mem-lock=on where the host's memory is not overcommitted",
            why,
            evidence,
            fix
        );
    }

    private static Finding Merge(VmView v)
    {
        const string id = "vm.mem.merge",
            title = "Memory merging (KSM) for this VM";
        const string why =
            "-machine mem-merge and each backend's merge= decide whether ksmd may scan and merge this "
            + "guest's pages: memory saved for dense hosts, scanning cost and copy-on-write faults for latency-bound "
            + "VMs (guide 3.2.5)";
        var c = v.Vm.Config;
        var run = v.Host.Memory.Ksm.Run;
        var evidence = v.ArgvEvidence.Concat(["/sys/kernel/mm/ksm/run", $"{v.Vm.ProcDir}/ksm_merging_pages"]);
        var merges = c.Ram.Select(b => (b, On: b.Merge ?? c.MemMerge)).ToList();
        var anyOn = merges.Any(m => m.On && !OnHugetlb(v, m.b));
        var current =
            $"mem-merge={(c.MemMerge ? "on" : "off")}"
            + string.Concat(
                merges.Where(m => m.b.Merge is not null).Select(m => $", {m.b.Id} merge={(m.On ? "on" : "off")}")
            )
            + $"; KSM run={(run?.ToString() ?? "unknown")}"
            + (v.Vm.KsmMergingPages is long p ? $"; ksm_merging_pages {p}" : "");
        if (run is null)
            return F(id, "3.2.5", title, FindingStatus.Unknown, current, "KSM state readable", why, evidence);
        if (run != 1)
            return F(
                id,
                "3.2.5",
                title,
                FindingStatus.Info,
                current + " (ksmd not running: merge has no effect)",
                "on for density VMs, off for dedicated ones",
                why,
                evidence
            );
        if (c.Ram.All(b => OnHugetlb(v, b)))
            return F(
                id,
                "3.2.5",
                title,
                FindingStatus.Info,
                current + " (RAM on hugetlbfs: KSM does not merge it)",
                "on for density VMs, off for dedicated ones",
                why,
                evidence
            );
        if (v.Dedicated && anyOn)
            return F(
                id,
                "3.2.5",
                title,
                FindingStatus.Warn,
                current,
                "off (dedicated VM)",
                why,
                evidence,
                v.Fix.Make("3.2.5", "<memoryBacking><nosharepages/></memoryBacking>", "-machine ...,mem-merge=off")
            );
        if (v.Dedicated)
            return F(id, "3.2.5", title, FindingStatus.Pass, current, "off (dedicated VM)", why, evidence);
        return F(
            id,
            "3.2.5",
            title,
            anyOn ? FindingStatus.Pass : FindingStatus.Info,
            current,
            "on (vCPUs not dedicated: memory may be shared)",
            why,
            evidence
        );
    }

    private static string Describe(VmView v, VmRamBackend b)
    {
        var mount = HugetlbMount(v, b);
        var page = mount?.PageSizeKib ?? (b.HugetlbSizeBytes is long hs ? hs / 1024 : v.Host.Memory.DefaultHugepageKib);
        var size = b.SizeBytes is long s ? Sizes.HumanKib(s / 1024) : "?";
        if (mount is not null)
            return $"{b.Id} {size} on hugetlbfs {mount.Path} ({(page is long k ? Sizes.HumanKib(k) : "?")} pages), "
                + $"prealloc={(b.Prealloc ? "on" : "off")}";
        if (b.Hugetlb)
            return $"{b.Id} {size} memfd hugetlb ({(page is long k ? Sizes.HumanKib(k) : "?")} pages), "
                + $"prealloc={(b.Prealloc ? "on" : "off")}";
        return $"{b.Id} {size} {b.Type}{(b.MemPath is string p ? " at " + p : "")}";
    }

    private static Finding Hugepages(VmView v)
    {
        const string id = "vm.mem.hugepages",
            title = "Guest RAM on huge pages";
        const string why =
            "Static huge pages (hugetlbfs) cut TLB misses for memory-intensive guests and are "
            + "reserved up front; without them only transparent huge pages, where the kernel finds them, back the "
            + "guest (guide 3.2.3)";
        var c = v.Vm.Config;
        var evidence = v.ArgvEvidence.Concat(["/proc/mounts", $"{v.Vm.ProcDir}/smaps_rollup"]);
        var s = v.Vm.SmapsKib;
        var smaps = s is null
            ? "smaps_rollup unreadable"
            : "Hugetlb "
                + $"{Sizes.HumanKib(s.GetValueOrDefault("Private_Hugetlb") + s.GetValueOrDefault("Shared_Hugetlb"))}"
                + $", THP {Sizes.HumanKib(s.GetValueOrDefault("AnonHugePages"))}"
                + $" of Rss {Sizes.HumanKib(s.GetValueOrDefault("Rss"))}";
        var current = string.Join("; ", c.Ram.Select(b => Describe(v, b))) + "; " + smaps;
        var huge = c.Ram.Count(b => OnHugetlb(v, b));
        const string expected = "every guest RAM backend on hugetlbfs";
        if (huge == c.Ram.Count)
            return F(id, "3.2.3", title, FindingStatus.Pass, current, expected, why, evidence);
        var page = v.Host.Memory.HugetlbfsMounts.FirstOrDefault();
        var mount = page?.Path ?? "/dev/hugepages";
        var sizeKib = page?.PageSizeKib ?? v.Host.Memory.DefaultHugepageKib ?? 2048;
        return F(
            id,
            "3.2.3",
            title,
            FindingStatus.Warn,
            current,
            expected,
            why,
            evidence,
            v.Fix.Make(
                "3.2.3",
                $"<memoryBacking><hugepages><page size='{sizeKib}' unit='KiB'/></hugepages></memoryBacking>",
                $"-object memory-backend-file,id=ram0,size={c.MemoryBytes >> 20}M,mem-path={mount},prealloc=on "
                    + "-machine ...,memory-backend=ram0 (huge pages reserved first: kvmtune apply or nr_hugepages)"
            )
        );
    }

    private static Finding Prealloc(VmView v)
    {
        const string id = "vm.mem.prealloc",
            title = "Huge pages allocated at start";
        const string why =
            "prealloc=on faults every huge page in when QEMU starts: the guest never waits for, or "
            + "runs short of, a page later (guide 3.2.3)";
        var c = v.Vm.Config;
        var evidence = v.ArgvEvidence.Append("/proc/mounts");
        var huge = c.Ram.Where(b => OnHugetlb(v, b)).ToList();
        if (huge.Count == 0)
            return F(
                id,
                "3.2.3",
                title,
                FindingStatus.Info,
                "no guest RAM on hugetlbfs",
                "prealloc=on for hugetlbfs RAM",
                why,
                evidence
            );

        var current = string.Join("; ", huge.Select(b => $"{b.Id} prealloc={(b.Prealloc ? "on" : "off")}"));
        if (huge.All(b => b.Prealloc))
            return F(id, "3.2.3", title, FindingStatus.Pass, current, "prealloc=on", why, evidence);
        return F(
            id,
            "3.2.3",
            title,
            FindingStatus.Warn,
            current,
            "prealloc=on",
            why,
            evidence,
            v.Fix.Make(
                "3.2.3",
                "<memoryBacking><allocation mode='immediate'/></memoryBacking>",
                "prealloc=on on each memory-backend-file (or -mem-prealloc)"
            )
        );
    }
}
