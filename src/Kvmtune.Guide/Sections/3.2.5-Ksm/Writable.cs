using System.Text.RegularExpressions;

namespace Kvmtune.Guide.Sections;

public static partial class Section3_2_5_Ksm
{
    /// <summary>The kernel attributes the fixes of section 3.2.5 write, each with how the write
    /// survives a reboot: its entries in <see cref="WriteAllowlist"/>.</summary>
    internal static IReadOnlyList<Tunable> Writable { get; } =
        // run 0, 1 or 2; the others counts or milliseconds; merge_across_nodes 0 or 1 (admin-guide/mm/ksm.rst).
        [new(Ksm(), Persistence.Tmpfiles, Values.Number())];

    [GeneratedRegex(@"^/sys/kernel/mm/ksm/(run|pages_to_scan|sleep_millisecs|max_page_sharing|merge_across_nodes)$")]
    private static partial Regex Ksm();
}
