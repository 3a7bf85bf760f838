using System.Text.RegularExpressions;

namespace Kvmtune.Guide.Sections;

public static partial class Section3_4_Guest
{
    /// <summary>The kernel attributes the fixes of section 3.4 write, each with how the write
    /// survives a reboot: its entries in <see cref="WriteAllowlist"/>.</summary>
    internal static IReadOnlyList<Tunable> Writable { get; } =
        // Nanoseconds and factors, and guest_halt_poll_allow_shrink a boolean, Y/N or 1/0
        // (Documentation/virt/guest-halt-polling.rst).
        [new(HaltpollParams(), Persistence.Tmpfiles, HaltpollValue())];

    [GeneratedRegex(@"^([0-9]{1,19}|[YN])$")]
    private static partial Regex HaltpollValue();

    [GeneratedRegex(@"^/sys/module/haltpoll/parameters/guest_halt_poll_(ns|grow|shrink|grow_start|allow_shrink)$")]
    private static partial Regex HaltpollParams();
}
