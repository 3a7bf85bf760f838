using Kvmtune.Facts.Parsing;
using Kvmtune.Guide.Audit;
using Kvmtune.Guide.Profiles;

namespace Kvmtune.Guide.Sections;

/// <summary>Guide 3.2.5, Kernel Samepage Merging: on with sane scanning for density, off for latency;
/// ksmtuned.</summary>
public static partial class Section3_2_5_Ksm
{
    private const string S = "3.2.5";
    private const string Dir = "/sys/kernel/mm/ksm";

    public static IEnumerable<Finding> Evaluate(AuditContext c)
    {
        yield return Run(c);
        if (c.Profile.Get(ProfileSchema.MemoryKsm) == KsmMode.On)
        {
            yield return Scan(c);
            yield return MergeAcrossNodes(c);
            yield return MaxPageSharing(c);
        }
        yield return Ksmtuned(c);
    }

    /// <summary>
    /// ksmtuned owns ksmd while it runs: it starts and stops ksmd and sets pages_to_scan and sleep_millisecs from free
    /// memory every minute, so kvmtune's own values would be overwritten. Either ksmtuned, or kvmtune's static values.
    /// </summary>
    private static bool KsmtunedManages(AuditContext c) => c.Facts.Userspace.IsRunning("ksmtuned") == true;

    private static Finding Run(AuditContext c)
    {
        var k = c.Facts.Memory.Ksm;
        const string id = "host.memory.ksm",
            title = "KSM (ksmd) running";
        var want = c.Profile.Get(ProfileSchema.MemoryKsm);
        var wantText = c.Profile.Text(ProfileSchema.MemoryKsm);
        var evidence = new[] { $"{Dir}/run" };
        var rationale = c.Profile.Reason(ProfileSchema.MemoryKsm);
        if (k.Run is not int run)
        {
            if (c.Facts.Kernel.Config?.Get("CONFIG_KSM") == "n")
                return Rule.Make(
                    id,
                    S,
                    title,
                    want == KsmMode.On ? FindingStatus.Warn : FindingStatus.Pass,
                    "KSM not built into this kernel",
                    wantText,
                    rationale,
                    evidence.Append($"/boot/config-{c.Facts.Kernel.Release}")
                );
            return Rule.Make(id, S, title, FindingStatus.Unknown, "unknown", wantText, rationale, evidence);
        }
        var current = run switch
        {
            1 => "run=1 (merging)",
            2 => "run=2 (stopped, unmerged)",
            _ => "run=0 (stopped)",
        };
        if (want == KsmMode.Any)
            return Rule.Make(id, S, title, FindingStatus.Info, current, "any", rationale, evidence);
        var on = run == 1;
        if (want == KsmMode.On && KsmtunedManages(c))
            return Rule.Make(
                id,
                S,
                title,
                FindingStatus.Info,
                current + ", managed by ksmtuned",
                "run=1 when ksmtuned sees memory pressure",
                "ksmtuned starts ksmd only when free memory falls below its threshold (KSM_THRES_COEF) and stops it "
                    + "again",
                evidence.Append("/proc")
            );
        if (on == (want == KsmMode.On))
            return Rule.Make(
                id,
                S,
                title,
                FindingStatus.Pass,
                current,
                want == KsmMode.On ? "run=1" : "run=0 or 2",
                rationale,
                evidence
            );
        if (want == KsmMode.On)
            return Rule.Make(
                id,
                S,
                title,
                FindingStatus.Warn,
                current,
                "run=1",
                rationale,
                evidence,
                new SysfsWrite(S, $"{Dir}/run", "1")
            );
        // run=2 breaks every merged page back out: only when the memory for them is there (ksm.rst, pages_sharing
        // is how much KSM saves). Otherwise run=0 stops merging and keeps what is merged.
        var pageKib = 4L;
        var needKib = k.PagesSharing is long sharing ? sharing * pageKib : (long?)null;
        var avail = c.Facts.Memory.MemAvailableKib;
        var unmerge = needKib is long need && avail is long a && need < a / 2;
        var note =
            needKib is null || avail is null
                ? "pages_sharing or MemAvailable unreadable: run=0 stops ksmd and keeps merged pages; run=2 would "
                    + "unmerge them all"
            : unmerge
                ? $"unmerging needs about {Sizes.HumanKib(needKib.Value)} of {Sizes.HumanKib(avail.Value)} "
                    + $"available"
            : $"unmerging needs about {Sizes.HumanKib(needKib.Value)} but only {Sizes.HumanKib(avail.Value)} is "
                + $"available: run=0 keeps merged pages";
        return Rule.Make(
            id,
            S,
            title,
            FindingStatus.Warn,
            current,
            "run=0 or 2",
            $"{rationale}; {note}",
            evidence.Concat([$"{Dir}/pages_sharing", "/proc/meminfo"]),
            new SysfsWrite(S, $"{Dir}/run", unmerge ? "2" : "0")
        );
    }

    private static Finding Scan(AuditContext c)
    {
        var k = c.Facts.Memory.Ksm;
        const string id = "host.memory.ksm_scan",
            title = "KSM scan rate";
        var pages = c.Profile.Get(ProfileSchema.MemoryKsmPagesToScan);
        var sleep = c.Profile.Get(ProfileSchema.MemoryKsmSleepMillisecs);
        var evidence = new[] { $"{Dir}/pages_to_scan", $"{Dir}/sleep_millisecs" };
        var rationale =
            "ksmd scans pages_to_scan pages every sleep_millisecs: too slow finds nothing, too fast costs a CPU";
        var expected = $"pages_to_scan {pages.Text}, sleep_millisecs {sleep.Text}";
        if (k.PagesToScan is not long p || k.SleepMillisecs is not long s)
            return Rule.Make(id, S, title, FindingStatus.Unknown, "unknown", expected, rationale, evidence);
        var current = $"pages_to_scan {p}, sleep_millisecs {s}";
        if (KsmtunedManages(c))
            return Rule.Make(
                id,
                S,
                title,
                FindingStatus.Info,
                current + ", set by ksmtuned",
                "ksmtuned's values",
                "ksmtuned rewrites pages_to_scan and sleep_millisecs every minute (KSM_NPAGES_*, KSM_SLEEP_MSEC in "
                    + "ksmtuned.conf)",
                evidence.Append("/proc")
            );
        var changes = new List<PlannedChange>();
        if (!pages.Contains(p))
            changes.Add(new SysfsWrite(S, $"{Dir}/pages_to_scan", Clamp(p, pages).ToString()));
        if (!sleep.Contains(s))
            changes.Add(new SysfsWrite(S, $"{Dir}/sleep_millisecs", Clamp(s, sleep).ToString()));
        return Rule.Make(
            id,
            S,
            title,
            changes.Count == 0 ? FindingStatus.Pass : FindingStatus.Warn,
            current,
            expected,
            rationale,
            evidence,
            changes
        );
    }

    private static Finding MergeAcrossNodes(AuditContext c)
    {
        var k = c.Facts.Memory.Ksm;
        const string id = "host.memory.ksm_numa",
            title = "KSM merges only within a NUMA node";
        var evidence = new[] { $"{Dir}/merge_across_nodes", "/sys/devices/system/node" };
        var rationale =
            "With merge_across_nodes=1 a merged page lives on one node and VMs on the others read it "
            + "remotely; "
            + "ksm.rst: set it to 0 on NUMA hosts for lower latency, at some cost in merging";
        if (!Section3_2_1_Numa.NumaKnown(c) || k.MergeAcrossNodes is not int m)
            return Rule.Make(
                id,
                S,
                title,
                FindingStatus.Unknown,
                $"merge_across_nodes={k.MergeAcrossNodes?.ToString() ?? "unknown"}",
                "0 on NUMA hosts",
                rationale,
                evidence
            );
        var current = $"merge_across_nodes={m}, {c.Facts.Numa.Nodes.Count} node(s)";
        if (c.Facts.Numa.Nodes.Count <= 1)
            return Rule.Make(id, S, title, FindingStatus.Info, current, "any (one node)", rationale, evidence);
        if (m == 0)
            return Rule.Make(id, S, title, FindingStatus.Pass, current, "0", rationale, evidence);
        // The kernel accepts a change only while no page is merged (ksm.rst): stop and unmerge first.
        return Rule.Make(
            id,
            S,
            title,
            FindingStatus.Info,
            current,
            "0",
            rationale + "; it can change only while nothing is merged (run=2 first)",
            evidence,
            new ManualStep(S, $"echo 2 > {Dir}/run; echo 0 > {Dir}/merge_across_nodes; echo 1 > {Dir}/run")
        );
    }

    /// <summary>The kernel's own default (mm/ksm.c: ksm_max_page_sharing = 256).</summary>
    public const long DefaultMaxPageSharing = 256;

    /// <summary>
    /// The guide names max_page_sharing without a value. ksm.rst: it "enforces a deduplication limit to avoid high
    /// latency for virtual memory operations that involve traversal of the virtual mappings that share the KSM page"
    /// (migration, compaction, swap of a shared page). Above the default those walks grow; below it, merging shrinks.
    /// </summary>
    private static Finding MaxPageSharing(AuditContext c)
    {
        var k = c.Facts.Memory.Ksm;
        const string id = "host.memory.ksm_max_page_sharing",
            title = "KSM sharing per page within the kernel's limit";
        var evidence = new[] { $"{Dir}/max_page_sharing" };
        const string rationale =
            "Each KSM page may be shared by at most max_page_sharing mappings; larger values make "
            + "page migration and compaction walk longer chains (ksm.rst), smaller ones merge less (default 256, " +
                "mm/ksm.c)";
        if (k.MaxPageSharing is not long v)
            return Rule.Make(
                id,
                S,
                title,
                FindingStatus.Unknown,
                "max_page_sharing unreadable",
                "256",
                rationale,
                evidence
            );
        var current = $"max_page_sharing={v}";
        if (v == DefaultMaxPageSharing)
            return Rule.Make(id, S, title, FindingStatus.Pass, current, "256", rationale, evidence);
        if (v < DefaultMaxPageSharing)
            return Rule.Make(
                id,
                S,
                title,
                FindingStatus.Info,
                current,
                "256",
                rationale + "; a lower value is a choice for shorter walks at the cost of memory",
                evidence
            );
        // Changing it needs every page unmerged first (ksm.rst), as merge_across_nodes does.
        return Rule.Make(
            id,
            S,
            title,
            FindingStatus.Warn,
            current,
            "256",
            rationale,
            evidence,
            new ManualStep(S, $"echo 2 > {Dir}/run; echo 256 > {Dir}/max_page_sharing; echo 1 > {Dir}/run")
        );
    }

    internal static long Clamp(long v, RangeValue r) => Math.Min(Math.Max(v, r.Min), r.Max);

    private static Finding Ksmtuned(AuditContext c)
    {
        var u = c.Facts.Userspace;
        const string id = "host.memory.ksmtuned",
            title = "ksmtuned";
        var want = c.Profile.Get(ProfileSchema.MemoryKsm);
        var evidence = new[] { "/usr/sbin/ksmtuned", "/proc" };
        bool? installed =
            u.Tool("ksmtuned") is not null ? true
            : u.ProgramFoldersPresent ? false
            : null;
        var running = u.IsRunning("ksmtuned");
        var current = $"installed {Rule.YesNo(installed)}, running {Rule.YesNo(running)}";
        if (running is null)
            return Rule.Make(
                id,
                S,
                title,
                FindingStatus.Unknown,
                current,
                null,
                "ksmtuned manages ksmd where it runs",
                evidence
            );
        if (want == KsmMode.On)
            return Rule.Make(
                id,
                S,
                title,
                FindingStatus.Info,
                current,
                "either ksmtuned or kvmtune's static values",
                running == true
                    ? "ksmtuned manages ksmd: it starts KSM under memory pressure and sets the scan rate, so kvmtune "
                        + "leaves run, pages_to_scan and sleep_millisecs to it"
                    : "Without ksmtuned kvmtune's static values hold (run=1 and the profile's scan rate); ksmtuned "
                        + "instead would start ksmd only under memory pressure",
                evidence
            );
        if (want == KsmMode.Off && running == true)
            return Rule.Make(
                id,
                S,
                title,
                FindingStatus.Warn,
                current,
                "not running",
                "ksmtuned turns KSM back on under memory pressure, undoing run=0",
                evidence,
                new ManualStep(S, "systemctl disable --now ksmtuned")
            );
        return Rule.Make(
            id,
            S,
            title,
            FindingStatus.Info,
            current,
            null,
            "ksmtuned only matters where KSM is on",
            evidence
        );
    }
}
