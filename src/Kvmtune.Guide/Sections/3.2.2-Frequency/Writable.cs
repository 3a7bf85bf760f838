using System.Text.RegularExpressions;

namespace Kvmtune.Guide.Sections;

public static partial class Section3_2_2_Frequency
{
    /// <summary>The kernel attributes the fixes of section 3.2.2 write, each with how the write
    /// survives a reboot: its entries in <see cref="WriteAllowlist"/>.</summary>
    internal static IReadOnlyList<Tunable> Writable { get; } =
    [
        new(Cpufreq(), Persistence.Tmpfiles),
        new(Epb(), Persistence.Tmpfiles),
        new(Pstate(), Persistence.Tmpfiles),
        new(Boost(), Persistence.Tmpfiles),
    ];

    [GeneratedRegex(
        @"^/sys/devices/system/cpu/cpu[0-9]+/cpufreq/"
             + @"(scaling_governor|energy_performance_preference|scaling_min_freq|scaling_max_freq)$"
    )]
    private static partial Regex Cpufreq();

    [GeneratedRegex(@"^/sys/devices/system/cpu/cpu[0-9]+/power/energy_perf_bias$")]
    private static partial Regex Epb();

    [GeneratedRegex(@"^/sys/devices/system/cpu/intel_pstate/(no_turbo|min_perf_pct|max_perf_pct|hwp_dynamic_boost)$")]
    private static partial Regex Pstate();

    [GeneratedRegex(@"^/sys/devices/system/cpu/cpufreq/boost$")]
    private static partial Regex Boost();
}
