using System.Text.RegularExpressions;

namespace Kvmtune.Guide.Sections;

public static partial class Section3_2_4_CStates
{
    /// <summary>The kernel attributes the fixes of section 3.2.4 write, each with how the write
    /// survives a reboot: its entries in <see cref="WriteAllowlist"/>.</summary>
    internal static IReadOnlyList<Tunable> Writable { get; } =
        // stateN/disable: 0 or 1 (admin-guide/pm/cpuidle.rst).
        [new(Cpuidle(), Persistence.Tmpfiles, Values.Flag())];

    [GeneratedRegex(@"^/sys/devices/system/cpu/cpu[0-9]+/cpuidle/state[0-9]+/disable$")]
    private static partial Regex Cpuidle();
}
