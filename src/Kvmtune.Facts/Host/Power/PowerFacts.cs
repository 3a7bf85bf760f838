namespace Kvmtune.Facts.Host.Power;

/// <summary>Machine-wide power management: P-state driver, turbo, and the cpuidle driver and its states.</summary>
public sealed record PowerFacts(
    string? IntelPstateStatus,
    bool? NoTurbo,
    bool? Boost,
    bool? HwpDynamicBoost,
    int? MaxPerfPct,
    int? MinPerfPct,
    string? CpuidleDriver,
    string? CpuidleGovernor,
    IReadOnlyList<IdleState> IdleStates
);

/// <summary>A cpuidle state as the first online CPU reports it, and the CPUs that have it disabled.</summary>
public sealed record IdleState(
    int Index,
    string? Name,
    string? Description,
    long? LatencyUs,
    long? ResidencyUs,
    IReadOnlyList<int> DisabledOn,
    IReadOnlyList<int> EnabledOn
);
