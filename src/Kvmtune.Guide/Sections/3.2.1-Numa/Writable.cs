using System.Text.RegularExpressions;

namespace Kvmtune.Guide.Sections;

public static partial class Section3_2_1_Numa
{
    /// <summary>The kernel attributes the fixes of section 3.2.1 write: its entries in <see
    /// cref="WriteAllowlist"/>.</summary>
    internal static IReadOnlyList<Regex> Writable { get; } = [NumaBalancing(), IrqAffinity()];

    [GeneratedRegex(@"^/proc/sys/kernel/numa_balancing$")]
    private static partial Regex NumaBalancing();

    [GeneratedRegex(@"^/proc/irq/[0-9]+/smp_affinity_list$")]
    private static partial Regex IrqAffinity();
}
