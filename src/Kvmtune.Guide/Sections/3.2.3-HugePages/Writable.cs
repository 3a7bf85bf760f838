using System.Text.RegularExpressions;

namespace Kvmtune.Guide.Sections;

public static partial class Section3_2_3_HugePages
{
    /// <summary>The kernel attributes the fixes of section 3.2.3 write, each with how the write
    /// survives a reboot: its entries in <see cref="WriteAllowlist"/>.</summary>
    internal static IReadOnlyList<Tunable> Writable { get; } =
    [
        // enabled: always, madvise, never; defrag also defer and defer+madvise (admin-guide/mm/transhuge.rst).
        new(Thp(), Persistence.Tmpfiles, ThpValue()),
        new(NodeHugepages(), Persistence.Tmpfiles, Values.Number()),
        new(GlobalHugepages(), Persistence.Tmpfiles, Values.Number()),
    ];

    [GeneratedRegex(@"^(always|madvise|never|defer|defer\+madvise)$")]
    private static partial Regex ThpValue();

    [GeneratedRegex(@"^/sys/kernel/mm/transparent_hugepage/(enabled|defrag)$")]
    private static partial Regex Thp();

    [GeneratedRegex(@"^/sys/devices/system/node/node[0-9]+/hugepages/hugepages-[0-9]+kB/nr_hugepages$")]
    private static partial Regex NodeHugepages();

    [GeneratedRegex(@"^/sys/kernel/mm/hugepages/hugepages-[0-9]+kB/nr_hugepages$")]
    private static partial Regex GlobalHugepages();
}
