using Kvmtune.Facts.Host.Cpu;
using Kvmtune.Facts.IO;
using Kvmtune.Facts.Parsing;

namespace Kvmtune.Facts.Host.Power;

/// <summary>Reads intel_pstate, cpufreq boost and cpuidle into <see cref="PowerFacts"/>.</summary>
public static class PowerReader
{
    public static PowerFacts Read(HostReader r, CpuFacts cpu)
    {
        const string pstate = "/sys/devices/system/cpu/intel_pstate";
        const string idle = "/sys/devices/system/cpu/cpuidle";
        return new PowerFacts(
            IntelPstateStatus: r.ReadText(pstate + "/status"),
            NoTurbo: Bool(r.ReadText(pstate + "/no_turbo")),
            Boost: Bool(r.ReadText("/sys/devices/system/cpu/cpufreq/boost")),
            HwpDynamicBoost: Bool(r.ReadText(pstate + "/hwp_dynamic_boost")),
            MaxPerfPct: r.ReadInt(pstate + "/max_perf_pct"),
            MinPerfPct: r.ReadInt(pstate + "/min_perf_pct"),
            CpuidleDriver: r.ReadText(idle + "/current_driver"),
            CpuidleGovernor: r.ReadText(idle + "/current_governor") ?? r.ReadText(idle + "/current_governor_ro"),
            IdleStates: ReadStates(r, cpu)
        );
    }

    private static IReadOnlyList<IdleState> ReadStates(HostReader r, CpuFacts cpu)
    {
        var online = cpu.Online;
        if (online.Count == 0)
            return [];
        var firstDir = $"/sys/devices/system/cpu/cpu{online[0]}/cpuidle";
        var states = new List<IdleState>();
        foreach (var name in r.List(firstDir) ?? [])
        {
            if (KernelText.Suffix(name, "state") is not int index)
                continue;
            var dir = $"{firstDir}/{name}";
            var stateName = r.ReadText(dir + "/name");
            var disabled = new List<int>();
            var enabled = new List<int>();
            foreach (var id in online)
            {
                var v = r.ReadText($"/sys/devices/system/cpu/cpu{id}/cpuidle/{name}/disable");
                if (v == "1")
                    disabled.Add(id);
                else if (v == "0")
                    enabled.Add(id);
            }
            states.Add(
                new IdleState(
                    index,
                    stateName,
                    r.ReadText(dir + "/desc"),
                    r.ReadLong(dir + "/latency"),
                    r.ReadLong(dir + "/residency"),
                    disabled,
                    enabled
                )
            );
        }
        return states.OrderBy(s => s.Index).ToList();
    }

    internal static bool? Bool(string? v) =>
        v switch
        {
            "1" or "Y" or "y" => true,
            "0" or "N" or "n" => false,
            _ => null,
        };
}
