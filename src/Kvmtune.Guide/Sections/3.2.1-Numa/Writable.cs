using System.Text.RegularExpressions;

namespace Kvmtune.Guide.Sections;

public static partial class Section3_2_1_Numa
{
    /// <summary>The kernel attributes the fixes of section 3.2.1 write, each with how the write
    /// survives a reboot: its entries in <see cref="WriteAllowlist"/>.</summary>
    internal static IReadOnlyList<Tunable> Writable { get; } =
    [
        // kernel.numa_balancing: 0 off, 1 normal, 2 memory tiering, 3 both (admin-guide/sysctl/kernel.rst).
        new(NumaBalancing(), Persistence.Sysctl, NumaBalancingValue()),
        new(
            IrqAffinity(),
            Persistence.NotPersisted(
                "IRQ numbers are given out again at each boot and a saved line could pin another device: "
                    + "pin again after a reboot (kvmtune apply or kvmtune irq pin)"
            ),
            Values.CpuList()
        ),
    ];

    [GeneratedRegex(@"^[0-3]$")]
    private static partial Regex NumaBalancingValue();

    [GeneratedRegex(@"^/proc/sys/kernel/numa_balancing$")]
    private static partial Regex NumaBalancing();

    [GeneratedRegex(@"^/proc/irq/[0-9]+/smp_affinity_list$")]
    private static partial Regex IrqAffinity();
}
