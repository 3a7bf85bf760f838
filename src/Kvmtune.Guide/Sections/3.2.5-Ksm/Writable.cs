using System.Text.RegularExpressions;

namespace Kvmtune.Guide.Sections;

public static partial class Section3_2_5_Ksm
{
    /// <summary>The kernel attributes the fixes of section 3.2.5 write, each with how the write
    /// survives a reboot: its entries in <see cref="WriteAllowlist"/>.</summary>
    internal static IReadOnlyList<Tunable> Writable { get; } = [new(Ksm(), Persistence.Tmpfiles)];

    [GeneratedRegex(@"^/sys/kernel/mm/ksm/(run|pages_to_scan|sleep_millisecs|max_page_sharing|merge_across_nodes)$")]
    private static partial Regex Ksm();
}
