using System.Text.RegularExpressions;

namespace Kvmtune.Guide.Sections;

public static partial class Section3_4_Guest
{
    /// <summary>The kernel attributes the fixes of section 3.4 write, each with how the write
    /// survives a reboot: its entries in <see cref="WriteAllowlist"/>.</summary>
    internal static IReadOnlyList<Tunable> Writable { get; } = [new(HaltpollParams(), Persistence.Tmpfiles)];

    [GeneratedRegex(@"^/sys/module/haltpoll/parameters/guest_halt_poll_(ns|grow|shrink|grow_start|allow_shrink)$")]
    private static partial Regex HaltpollParams();
}
