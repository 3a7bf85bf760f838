using Kvmtune.Facts.Host.Numa;
using Kvmtune.Facts.Parsing;
using Kvmtune.Guide.Audit;
using Kvmtune.Guide.Profiles;

namespace Kvmtune.Guide.Sections;

/// <summary>Guide 3.2.3, huge pages: static pools per node and size, a hugetlbfs per size, and THP.</summary>
public static partial class Section3_2_3_HugePages
{
    private const string S = "3.2.3";
    public const long OneGiBKib = 1 << 20;
    public const long TwoMiBKib = 2048;

    public static IEnumerable<Finding> Evaluate(AuditContext c)
    {
        yield return StaticPages(c);
        yield return Hugetlbfs(c);
        yield return Thp(c);
        yield return ThpDefrag(c);
    }

    private static Finding ThpDefrag(AuditContext c)
    {
        var t = c.Facts.Memory.Thp;
        const string id = "host.memory.thp_defrag",
            title = "Transparent huge page defrag";
        var evidence = new[] { "/sys/kernel/mm/transparent_hugepage/defrag" };
        // transhuge.rst: defrag=always stalls every faulting allocation in direct reclaim and compaction;
        // madvise (the kernel default) stalls only regions that asked for it, as QEMU's guest RAM does.
        var rationale =
            "defrag=always makes every page fault wait for reclaim and compaction "
            + "(Documentation/admin-guide/mm/transhuge.rst); "
            + "madvise, the kernel default, limits that to memory that asked for huge pages, as QEMU's guest RAM does";
        if (t.Defrag is null)
            return Rule.Make(
                id,
                S,
                title,
                FindingStatus.Unknown,
                "unknown",
                "madvise or defer+madvise",
                rationale,
                evidence
            );
        if (t.Enabled == "never")
            return Rule.Make(id, S, title, FindingStatus.Info, t.Defrag + " (THP off)", "any", rationale, evidence);
        if (t.Defrag != "always")
            return Rule.Make(id, S, title, FindingStatus.Pass, t.Defrag, "not always", rationale, evidence);
        return Rule.Make(
            id,
            S,
            title,
            FindingStatus.Warn,
            t.Defrag,
            "madvise",
            rationale,
            evidence,
            new SysfsWrite(S, "/sys/kernel/mm/transparent_hugepage/defrag", "madvise")
        );
    }

    /// <summary>The page size the profile asks for on this CPU: 1 GiB only with pdpe1gb; null for none.</summary>
    public static long? WantedPageKib(AuditContext c, out string? note)
    {
        note = null;
        switch (c.Profile.Get(ProfileSchema.MemoryHugepagesSize))
        {
            case HugePageSize.None:
                return null;
            case HugePageSize.TwoMiB:
                return TwoMiBKib;
        }
        if (c.Facts.Cpu.FlagKnown("pdpe1gb") == false)
        {
            note = "this CPU has no pdpe1gb flag: 2 MiB pages instead of 1 GiB";
            return TwoMiBKib;
        }
        return OneGiBKib;
    }

    /// <summary>Pages of a size each node should hold: the profile's share of the node's memory.</summary>
    public static long WantedPages(NumaNode node, long pageKib, long percent) =>
        node.MemoryTotalKib is long mem ? mem * percent / 100 / pageKib : 0;

    private static Finding StaticPages(AuditContext c)
    {
        var f = c.Facts;
        const string id = "host.memory.hugepages",
            title = "Static huge pages per node";
        var rationale =
            "Guest memory on static huge pages takes far fewer TLB misses, and is reserved before VMs start";
        var size = WantedPageKib(c, out var note);
        var percent = c.Profile.Get(ProfileSchema.MemoryHugepagesPercent);
        var pools = f
            .Numa.Nodes.Select(n =>
                $"node {n.Id}: "
                + (
                    n.Hugepages.Count == 0
                        ? "unknown"
                        : string.Join(", ", n.Hugepages.Select(p => Sizes.Pages(p.Total, p.SizeKib)))
                )
            )
            .ToList();
        var current = pools.Count == 0 ? "no node information" : string.Join("; ", pools);
        if (size is not long pageKib || percent == 0)
            return Rule.Make(
                id,
                S,
                title,
                FindingStatus.Info,
                current,
                "none required",
                c.Profile.Reason(ProfileSchema.MemoryHugepagesSize),
                ["/sys/devices/system/node/node0/hugepages"]
            );
        var expected =
            $"{percent}% of each node's memory in {Sizes.HumanKib(pageKib)} pages" + (note is null ? "" : $" ({note})");
        var evidence = f
            .Numa.Nodes.Select(n => $"/sys/devices/system/node/node{n.Id}/hugepages/hugepages-{pageKib}kB/nr_hugepages")
            .ToList();
        if (f.Numa.Nodes.Count == 0)
            return Rule.Make(id, S, title, FindingStatus.Unknown, current, expected, rationale, evidence);
        var changes = new List<PlannedChange>();
        string? argNote = null;
        var status = FindingStatus.Pass;
        var perNode = new List<string>();
        foreach (var n in f.Numa.Nodes)
        {
            var want = WantedPages(n, pageKib, percent);
            var pool = n.Hugepages.FirstOrDefault(p => p.SizeKib == pageKib);
            if (n.MemoryTotalKib is null || pool?.Total is not long have)
            {
                status = Worst(status, FindingStatus.Unknown);
                continue;
            }
            if (want == 0)
                continue; // a memory-less or tiny node
            perNode.Add($"{n.Id}:{want}");
            if (have >= want)
                continue;
            status = Worst(status, have == 0 ? FindingStatus.Fail : FindingStatus.Warn);
            changes.Add(
                new SysfsWrite(
                    S,
                    $"/sys/devices/system/node/node{n.Id}/hugepages/hugepages-{pageKib}kB/nr_hugepages",
                    want.ToString()
                )
            );
        }
        if (changes.Count > 0 && perNode.Count > 0)
        {
            var sizeArg = pageKib == OneGiBKib ? "1G" : "2M";
            changes.Add(new KernelArgument(S, "default_hugepagesz", sizeArg));
            changes.Add(new KernelArgument(S, "hugepagesz", sizeArg));
            changes.Add(
                new KernelArgument(S, "hugepages", HugepagesArgument(c.Facts.Kernel.Release, perNode, out argNote))
            );
        }
        if (note is not null && status == FindingStatus.Pass)
            status = FindingStatus.Warn;
        return Rule.Make(
            id,
            S,
            title,
            status,
            current,
            expected,
            (note ?? rationale) + (argNote is null ? "" : ". " + argNote),
            evidence,
            changes
        );
    }

    /// <summary>The first kernel whose hugepages= takes "node:count" pairs (kernel-parameters.txt, node
    /// format).</summary>
    public static readonly Version PerNodeHugepages = new(5, 16);

    /// <summary>
    /// hugepages= for the per-node counts: "0:N,1:M" on Linux 5.16 and later (commit "hugetlbfs: extend the
    /// definition of hugepages parameter to support node allocation"); older kernels take only a total, which they
    /// spread over the nodes in turn, so the total is given and the note says so. An unknown release gets the total
    /// too.
    /// </summary>
    public static string HugepagesArgument(string? release, IReadOnlyList<string> perNode, out string? note)
    {
        note = null;
        if (Section3_3_Qemu.KernelVersion(release) is { } v && v >= PerNodeHugepages)
            return string.Join(',', perNode);
        var total = perNode.Sum(p =>
            long.Parse(p[(p.IndexOf(':') + 1)..], System.Globalization.CultureInfo.InvariantCulture)
        );
        note =
            $"kernel {release ?? "of unknown release"} predates the per-node hugepages= syntax (Linux 5.16): "
            + $"hugepages={total} is spread over the nodes at boot; the runtime writes place each node's share";
        return total.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    private static FindingStatus Worst(FindingStatus a, FindingStatus b) => (FindingStatus)Math.Max((int)a, (int)b);

    /// <summary>Where kvmtune mounts a pool of a size, as the guide does: /dev/hugepages1G, /dev/hugepages2M.</summary>
    public static string MountPointFor(long pageKib) =>
        pageKib >= OneGiBKib ? $"/dev/hugepages{pageKib >> 20}G" : $"/dev/hugepages{pageKib >> 10}M";

    private static Finding Hugetlbfs(AuditContext c)
    {
        var f = c.Facts;
        const string id = "host.memory.hugetlbfs",
            title = "A hugetlbfs mount for each huge page size in use";
        var rationale = "QEMU's -mem-path (or memory-backend-file) needs a hugetlbfs of the page size it allocates";
        var evidence = new[] { "/proc/mounts" };
        var mounts = f.Memory.HugetlbfsMounts;
        var current =
            mounts.Count == 0
                ? "no hugetlbfs mounted"
                : string.Join(
                    ", ",
                    mounts.Select(m => $"{m.Path} ({(m.PageSizeKib is long s ? Sizes.HumanKib(s) : "?")})")
                );
        var sizes = f.Memory.HugepagePools.Where(p => p.Total > 0).Select(p => p.SizeKib).ToHashSet();
        if (c.Profile.Get(ProfileSchema.MemoryHugetlbfs) && WantedPageKib(c, out _) is long wanted)
            sizes.Add(wanted);
        if (sizes.Count == 0)
            return Rule.Make(id, S, title, FindingStatus.Info, current, "none needed", rationale, evidence);
        var missing = sizes.Where(s => mounts.All(m => m.PageSizeKib != s)).Order().ToList();
        var expected = "a mount for " + string.Join(", ", sizes.Order().Select(Sizes.HumanKib));
        if (missing.Count == 0)
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
            missing.Select(s => new HugetlbfsMountChange(S, MountPointFor(s), s))
        );
    }

    private static Finding Thp(AuditContext c)
    {
        var t = c.Facts.Memory.Thp;
        const string id = "host.memory.thp",
            title = "Transparent huge pages";
        var want = c.Profile.Get(ProfileSchema.MemoryThp);
        var wantText = c.Profile.Text(ProfileSchema.MemoryThp);
        var evidence = new[] { "/sys/kernel/mm/transparent_hugepage/enabled" };
        var rationale = c.Profile.Reason(ProfileSchema.MemoryThp);
        if (t.Enabled is null)
            return Rule.Make(id, S, title, FindingStatus.Unknown, "unknown", wantText, rationale, evidence);
        if (want == ThpMode.Any)
            return Rule.Make(id, S, title, FindingStatus.Info, t.Enabled, wantText, rationale, evidence);
        if (t.Enabled == want.KernelName())
            return Rule.Make(id, S, title, FindingStatus.Pass, t.Enabled, wantText, rationale, evidence);
        return Rule.Make(
            id,
            S,
            title,
            FindingStatus.Warn,
            t.Enabled,
            wantText,
            rationale,
            evidence,
            new SysfsWrite(S, "/sys/kernel/mm/transparent_hugepage/enabled", want.KernelName())
        );
    }
}
