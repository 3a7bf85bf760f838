using System.Text.RegularExpressions;

namespace Kvmtune.Guide.Sections;

public static partial class Section3_2_6_HaltPolling
{
    /// <summary>The kernel attributes the fixes of section 3.2.6 write, each with how the write
    /// survives a reboot: its entries in <see cref="WriteAllowlist"/>.</summary>
    internal static IReadOnlyList<Tunable> Writable { get; } =
        // Nanoseconds and factors (Documentation/virt/kvm/halt-polling.rst).
        [new(KvmParams(), Persistence.Tmpfiles, Values.Number())];

    [GeneratedRegex(@"^/sys/module/kvm/parameters/halt_poll_ns(_grow|_shrink|_grow_start)?$")]
    private static partial Regex KvmParams();
}
