namespace Kvmtune.Guide.Profiles;

/// <summary>How much a requirement matters: missing a required one fails, a recommended one warns.</summary>
public enum Need
{
    Required,
    Recommended,
    Any,
}

/// <summary>A firmware or kernel feature wanted on or off.</summary>
public enum Toggle
{
    Enabled,
    Disabled,
    Any,
}

/// <summary>The CPU power and performance policy (EPP) a profile accepts at the least.</summary>
public enum EnergyPolicy
{
    Performance,
    BalancePerformance,
    Any,
}

public enum Governor
{
    Performance,
    Powersave,
    Ondemand,
    Schedutil,
    Conservative,
    Any,
}

/// <summary>idle=poll on the host: wanted, ruled out, or left alone.</summary>
public enum IdlePollRequirement
{
    Required,
    Forbidden,
    Any,
}

/// <summary>Transparent huge pages mode.</summary>
public enum ThpMode
{
    Always,
    Madvise,
    Never,
    Any,
}

public enum HugePageSize
{
    OneGiB,
    TwoMiB,
    None,
}

public enum KsmMode
{
    On,
    Off,
    Any,
}

/// <summary>Automatic NUMA balancing; auto is on unless a device is bound to vfio-pci.</summary>
public enum NumaBalancingMode
{
    Auto,
    On,
    Off,
}

/// <summary>virtio-net queues in the guest.</summary>
public enum QueueCount
{
    PerVcpu,
    Any,
}

/// <summary>
/// The profile spelling of every choice value, and the kernel's word where the two are the same. The spellings are
/// what custom profiles, <c>profiles show</c>, JSON output and the docs use: changing one breaks them.
/// </summary>
public static class Choices
{
    public static readonly Spelling<Need> Needs = new(
        (Need.Required, "required"),
        (Need.Recommended, "recommended"),
        (Need.Any, "any")
    );

    public static readonly Spelling<Toggle> Toggles = new(
        (Toggle.Enabled, "enabled"),
        (Toggle.Disabled, "disabled"),
        (Toggle.Any, "any")
    );

    // intel_pstate.rst's energy_performance_preference words; "any" is kvmtune's own.
    public static readonly Spelling<EnergyPolicy> EnergyPolicies = new(
        (EnergyPolicy.Performance, "performance"),
        (EnergyPolicy.BalancePerformance, "balance_performance"),
        (EnergyPolicy.Any, "any")
    );

    // cpufreq.rst's governor names (scaling_governor); "any" is kvmtune's own.
    public static readonly Spelling<Governor> Governors = new(
        (Governor.Performance, "performance"),
        (Governor.Powersave, "powersave"),
        (Governor.Ondemand, "ondemand"),
        (Governor.Schedutil, "schedutil"),
        (Governor.Conservative, "conservative"),
        (Governor.Any, "any")
    );

    public static readonly Spelling<IdlePollRequirement> IdlePollRequirements = new(
        (IdlePollRequirement.Required, "required"),
        (IdlePollRequirement.Forbidden, "forbidden"),
        (IdlePollRequirement.Any, "any")
    );

    // transhuge.rst's modes (transparent_hugepage/enabled); "any" is kvmtune's own.
    public static readonly Spelling<ThpMode> ThpModes = new(
        (ThpMode.Always, "always"),
        (ThpMode.Madvise, "madvise"),
        (ThpMode.Never, "never"),
        (ThpMode.Any, "any")
    );

    public static readonly Spelling<HugePageSize> HugePageSizes = new(
        (HugePageSize.OneGiB, "1GiB"),
        (HugePageSize.TwoMiB, "2MiB"),
        (HugePageSize.None, "none")
    );

    public static readonly Spelling<KsmMode> KsmModes = new(
        (KsmMode.On, "on"),
        (KsmMode.Off, "off"),
        (KsmMode.Any, "any")
    );

    public static readonly Spelling<NumaBalancingMode> NumaBalancingModes = new(
        (NumaBalancingMode.Auto, "auto"),
        (NumaBalancingMode.On, "on"),
        (NumaBalancingMode.Off, "off")
    );

    public static readonly Spelling<QueueCount> QueueCounts = new(
        (QueueCount.PerVcpu, "per_vcpu"),
        (QueueCount.Any, "any")
    );

    /// <summary>The name scaling_governor takes: the profile spelling is the kernel's.</summary>
    public static string KernelName(this Governor g) =>
        g == Governor.Any ? throw new ArgumentOutOfRangeException(nameof(g), "any is no governor") : Governors.Text(g);

    /// <summary>The word transparent_hugepage/enabled takes: the profile spelling is the kernel's.</summary>
    public static string KernelName(this ThpMode m) =>
        m == ThpMode.Any ? throw new ArgumentOutOfRangeException(nameof(m), "any is no THP mode") : ThpModes.Text(m);

    /// <summary>The word energy_performance_preference takes: the profile spelling is the kernel's.</summary>
    public static string KernelName(this EnergyPolicy p) =>
        p == EnergyPolicy.Any
            ? throw new ArgumentOutOfRangeException(nameof(p), "any is no EPP value")
            : EnergyPolicies.Text(p);
}
