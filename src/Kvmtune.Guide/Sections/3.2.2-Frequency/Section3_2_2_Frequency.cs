using Kvmtune.Guide.Audit;
using Kvmtune.Guide.Profiles;

namespace Kvmtune.Guide.Sections;

/// <summary>Guide 3.2.2, processor frequency: the performance governor on every online CPU.</summary>
public static partial class Section3_2_2_Frequency
{
    private const string S = "3.2.2";

    public static IEnumerable<Finding> Evaluate(AuditContext c)
    {
        const string id = "host.cpu.governor",
            title = "CPUfreq governor";
        var want = c.Profile.Get(ProfileSchema.CpuGovernor);
        var wantText = c.Profile.Text(ProfileSchema.CpuGovernor);
        var online = c.Facts.Cpu.Cpus.Where(x => x.Online).ToList();
        var evidence = online
            .Take(4)
            .Select(x => $"/sys/devices/system/cpu/cpu{x.Id}/cpufreq/scaling_governor")
            .ToList();
        var rationale =
            "The performance governor holds every CPU at its highest frequency; ondemand and powersave add ramp-up " +
                "latency";
        var known = online.Where(x => x.Governor is not null).ToList();
        if (known.Count == 0)
        {
            yield return Rule.Make(
                id,
                S,
                title,
                FindingStatus.Unknown,
                online.Count == 0 ? "no CPU information" : "no cpufreq governor exposed (no cpufreq driver)",
                wantText,
                rationale,
                evidence
            );
            yield break;
        }
        var current = string.Join(
            ", ",
            known.GroupBy(x => x.Governor).Select(g => $"{g.Key} on {Rule.Cpus(g.Select(x => x.Id))}")
        );
        var missing = online.Where(x => x.Governor is null).Select(x => x.Id).ToList();
        if (missing.Count > 0)
            current += $"; unreadable on {Rule.Cpus(missing)}";
        if (want == Governor.Any)
        {
            yield return Rule.Make(id, S, title, FindingStatus.Info, current, "any", rationale, evidence);
            yield break;
        }
        var name = want.KernelName();
        var wrong = known.Where(x => x.Governor != name).ToList();
        if (wrong.Count == 0)
        {
            yield return Rule.Make(
                id,
                S,
                title,
                missing.Count > 0 ? FindingStatus.Unknown : FindingStatus.Pass,
                current,
                $"{wantText} on every online CPU",
                rationale,
                evidence
            );
            yield break;
        }
        var unavailable = wrong
            .Where(x => x.AvailableGovernors is { } a && !a.Contains(name))
            .Select(x => x.Id)
            .ToList();
        var changes = wrong
            .Where(x => !unavailable.Contains(x.Id))
            .Select(x =>
                (PlannedChange)new SysfsWrite(S, $"/sys/devices/system/cpu/cpu{x.Id}/cpufreq/scaling_governor", name)
            )
            .ToList();
        if (unavailable.Count > 0)
            changes.Add(
                new ManualStep(
                    S,
                    $"governor {name} is not offered on CPUs {Rule.Cpus(unavailable)} (scaling_available_governors); " +
                        $"load cpufreq_{name} or change the cpufreq driver"
                )
            );
        yield return Rule.Make(
            id,
            S,
            title,
            FindingStatus.Fail,
            current + $" (not {name}: {Rule.Cpus(wrong.Select(x => x.Id))})",
            $"{wantText} on every online CPU",
            rationale,
            wrong.Take(8).Select(x => $"/sys/devices/system/cpu/cpu{x.Id}/cpufreq/scaling_governor"),
            changes
        );
    }
}
