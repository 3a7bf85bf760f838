using System.Text.RegularExpressions;

namespace Kvmtune.Guide.Sections;

public static partial class Section3_2_3_HugePages
{
    /// <summary>The kernel attributes the fixes of section 3.2.3 write, each with how the write
    /// survives a reboot: its entries in <see cref="WriteAllowlist"/>.</summary>
    internal static IReadOnlyList<Tunable> Writable { get; } =
    [
        // enabled: always, madvise, never; defrag also defer and defer+madvise (admin-guide/mm/transhuge.rst).
        new(ThpEnabled(), Persistence.Tmpfiles, ThpEnabledValue()),
        new(ThpDefrag(), Persistence.Tmpfiles, ThpDefragValue()),
        new(NodeHugepages(), Persistence.Tmpfiles, Values.Number()),
        new(GlobalHugepages(), Persistence.Tmpfiles, Values.Number()),
    ];

    [GeneratedRegex(@"^(always|madvise|never)$")]
    private static partial Regex ThpEnabledValue();

    [GeneratedRegex(@"^(always|defer|defer\+madvise|madvise|never)$")]
    private static partial Regex ThpDefragValue();

    [GeneratedRegex(@"^/sys/kernel/mm/transparent_hugepage/enabled$")]
    private static partial Regex ThpEnabled();

    [GeneratedRegex(@"^/sys/kernel/mm/transparent_hugepage/defrag$")]
    private static partial Regex ThpDefrag();

    [GeneratedRegex(@"^/sys/devices/system/node/node[0-9]+/hugepages/hugepages-[0-9]+kB/nr_hugepages$")]
    private static partial Regex NodeHugepages();

    [GeneratedRegex(@"^/sys/kernel/mm/hugepages/hugepages-[0-9]+kB/nr_hugepages$")]
    private static partial Regex GlobalHugepages();
}
