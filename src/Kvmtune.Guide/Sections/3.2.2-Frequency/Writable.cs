using System.Text.RegularExpressions;

namespace Kvmtune.Guide.Sections;

public static partial class Section3_2_2_Frequency
{
    /// <summary>The kernel attributes the fixes of section 3.2.2 write, each with how the write
    /// survives a reboot: its entries in <see cref="WriteAllowlist"/>.</summary>
    internal static IReadOnlyList<Tunable> Writable { get; } =
    [
        // A governor's name (cpufreq.rst), an EPP name or number (intel_pstate.rst), a frequency in kHz.
        new(Cpufreq(), Persistence.Tmpfiles, CpufreqValue()),
        // energy_perf_bias: 0 (performance) to 15 (powersave), or one of five words (admin-guide/pm/intel_epb.rst).
        new(Epb(), Persistence.Tmpfiles, EpbValue()),
        // no_turbo and hwp_dynamic_boost 0 or 1, min/max_perf_pct a percentage (intel_pstate.rst).
        new(Pstate(), Persistence.Tmpfiles, Values.Number()),
        new(Boost(), Persistence.Tmpfiles, Values.Flag()),
    ];

    [GeneratedRegex(
        @"^/sys/devices/system/cpu/cpu[0-9]+/cpufreq/"
             + @"(scaling_governor|energy_performance_preference|scaling_min_freq|scaling_max_freq)$"
    )]
    private static partial Regex Cpufreq();

    [GeneratedRegex(@"^([a-z_]{1,32}|[0-9]{1,10})$")]
    private static partial Regex CpufreqValue();

    [GeneratedRegex(@"^([0-9]|1[0-5]|performance|balance-performance|normal|balance-power|power)$")]
    private static partial Regex EpbValue();

    [GeneratedRegex(@"^/sys/devices/system/cpu/cpu[0-9]+/power/energy_perf_bias$")]
    private static partial Regex Epb();

    [GeneratedRegex(@"^/sys/devices/system/cpu/intel_pstate/(no_turbo|min_perf_pct|max_perf_pct|hwp_dynamic_boost)$")]
    private static partial Regex Pstate();

    [GeneratedRegex(@"^/sys/devices/system/cpu/cpufreq/boost$")]
    private static partial Regex Boost();
}
