using System.Text.RegularExpressions;

namespace Kvmtune.Guide.Sections;

public static partial class Section3_2_1_Numa
{
    /// <summary>The kernel attributes the fixes of section 3.2.1 write, each with how the write
    /// survives a reboot: its entries in <see cref="WriteAllowlist"/>.</summary>
    internal static IReadOnlyList<Tunable> Writable { get; } =
    [
        new(NumaBalancing(), Persistence.Sysctl),
        new(
            IrqAffinity(),
            Persistence.NotPersisted(
                "IRQ numbers are given out again at each boot and a saved line could pin another device: "
                    + "pin again after a reboot (kvmtune apply or kvmtune irq pin)"
            )
        ),
    ];

    [GeneratedRegex(@"^/proc/sys/kernel/numa_balancing$")]
    private static partial Regex NumaBalancing();

    [GeneratedRegex(@"^/proc/irq/[0-9]+/smp_affinity_list$")]
    private static partial Regex IrqAffinity();
}
