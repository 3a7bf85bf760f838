using Kvmtune.Core.Changes;
using Kvmtune.Core.Host;

namespace Kvmtune.Core.Audit.Rules;

/// <summary>Guide 2.1, BIOS settings, judged from what the OS can see of them.</summary>
public static class Section2_1_Bios
{
    private const string S = "2.1";
    private const string Cpuinfo = "/proc/cpuinfo";
    private const string Bios = "BIOS: ";

    public static IEnumerable<Finding> Evaluate(AuditContext c)
    {
        var f = c.Facts;
        if (f.Cpu.Architecture is not null && !f.Cpu.IsX86)
        {
            foreach (var (id, title) in new[] { ("vtx", "Intel VT-x"), ("vtd", "Intel VT-d"), ("ht", "Hyper-Threading"), ("power_policy", "CPU power and performance policy"), ("speedstep", "Enhanced Intel SpeedStep"), ("turbo", "Turbo Boost"), ("eet", "Energy Efficient Turbo"), ("hwp", "Hardware P-states"), ("c1e", "C1E"), ("c6", "Processor C6") })
                yield return Rule.NotApplicable($"host.bios.{id}", S, title, $"the guide's BIOS settings are for Intel Xeon; this machine is {f.Cpu.Architecture}");
            yield return Numa(c);
            yield break;
        }
        yield return VtX(c);
        yield return VtD(c);
        yield return HyperThreading(c);
        yield return Numa(c);
        yield return PowerPolicy(c);
        yield return SpeedStep(c);
        yield return Turbo(c);
        yield return Rule.Make("host.bios.eet", S, "Energy Efficient Turbo disabled", FindingStatus.Unknown, "not visible to the OS", "disabled",
            "Energy Efficient Turbo holds back turbo frequency to save power; its state is in MSR 0x1FC, which kvmtune does not read", [],
            new ManualStep(S, Bios + "Advanced/Power & Performance/CPU P State Control/CPU P State Control/Energy Efficient Turbo = Disabled"));
        yield return Hwp(c);
        yield return CState(c, "c1e", "C1E", ["C1E"], "Advanced/Power & Performance/CPU C State Control/C1E = Disabled");
        yield return CState(c, "c6", "Processor C6", ["C6", "C6S", "C6SP", "C6P"], "Advanced/Power & Performance/CPU C State Control/Processor C6 = Disabled");
    }

    private static Finding VtX(AuditContext c)
    {
        var f = c.Facts;
        const string id = "host.bios.vtx", title = "Intel Virtualization Technology (VT-x)";
        var want = c.Profile.Choice("bios.virtualization");
        var rationale = "KVM needs VT-x (or AMD-V); without it every VM is emulated";
        var evidence = new[] { Cpuinfo, "/proc/modules", "/dev/kvm" };
        if (f.Cpu.Flags.Count == 0)
            return Rule.Make(id, S, title, FindingStatus.Unknown, "CPU flags unreadable", "vmx flag, kvm_intel loaded, /dev/kvm present", rationale, evidence);
        var flag = f.Cpu.Virtualization;
        var module = flag == "svm" ? "kvm_amd" : "kvm_intel";
        var loaded = f.Kernel.IsLoaded(module);
        var current = $"{(flag ?? "no vmx/svm")} flag, {module} {(loaded switch { true => "loaded", false => "not loaded", _ => "unknown" })}, /dev/kvm {(f.Virtualization.Kvm.Exists ? "present" : "absent")}";
        if (flag is null)
            return Rule.Make(id, S, title, Rule.Missed(want), current, "vmx flag", rationale, evidence,
                new ManualStep(S, Bios + "Advanced/Processor Configuration/Intel(R) Virtualization Technology = Enabled"));
        if (loaded == false || !f.Virtualization.Kvm.Exists)
            return Rule.Make(id, S, title, Rule.Missed(want), current, $"{module} loaded, /dev/kvm present", rationale, evidence, new ModuleLoad(S, module));
        return Rule.Make(id, S, title, loaded is null ? FindingStatus.Unknown : FindingStatus.Pass, current, $"{flag} flag, {module} loaded, /dev/kvm present", rationale, evidence);
    }

    private static Finding VtD(AuditContext c)
    {
        var f = c.Facts;
        const string id = "host.bios.vtd", title = "Intel VT for Directed I/O (VT-d)";
        var want = c.Profile.Choice("bios.vtd");
        var i = f.Virtualization.Iommu;
        var amd = f.Cpu.Vendor == "AuthenticAMD";
        var table = amd ? i.IvrsTable : i.DmarTable;
        var tableName = amd ? "IVRS" : "DMAR";
        var arg = amd ? "amd_iommu" : "intel_iommu";
        var cmdArg = f.Kernel.CommandLine?.Value(arg);
        var evidence = new[] { $"/sys/firmware/acpi/tables/{tableName}", "/sys/kernel/iommu_groups", "/proc/cmdline" };
        var rationale = "VT-d lets VMs own devices (vfio passthrough, QAT VFs) and deliver their interrupts without exits";
        var current = $"ACPI {tableName} table {Rule.YesNo(table)}, IOMMU groups {(i.Groups?.ToString() ?? "unknown")}, {arg}={cmdArg ?? "(not set)"}";
        var expected = $"{tableName} table present, IOMMU groups > 0, {arg}=on";
        if (table is null && i.Groups is null)
            return Rule.Make(id, S, title, FindingStatus.Unknown, current, expected, rationale, evidence);
        if (table == false && i.Groups is null or 0)
            return Rule.Make(id, S, title, Rule.Missed(want), current, expected, rationale, evidence,
                new ManualStep(S, Bios + "Advanced/PCI Configuration/Integrated IO Configuration/Intel(R) VT for Directed I/O = Enabled"), new KernelArgument(S, arg, "on"));
        if (i.Groups is null or 0)
            return Rule.Make(id, S, title, Rule.Missed(want), current, expected, rationale, evidence, new KernelArgument(S, arg, "on"));
        return Rule.Make(id, S, title, FindingStatus.Pass, current, expected, rationale, evidence);
    }

    private static Finding HyperThreading(AuditContext c)
    {
        var f = c.Facts;
        const string id = "host.bios.ht", title = "Intel Hyper-Threading Technology";
        var want = c.Profile.Choice("bios.hyperthreading");
        var evidence = new[] { "/sys/devices/system/cpu/smt/active", "/sys/devices/system/cpu/smt/control", "/sys/devices/system/cpu/cpu0/topology/thread_siblings_list" };
        var rationale = "Hyper-Threading gives each core a second hardware thread for vCPUs and host work";
        bool? active = f.Cpu.SmtActive;
        var online = f.Cpu.Cpus.Where(x => x.Online).ToList();
        if (active is null && online.Count > 0 && online.All(x => x.ThreadSiblings is not null))
            active = online.Any(x => x.ThreadSiblings!.Count > 1);
        var current = active switch { true => "SMT active", false => $"SMT inactive (control: {f.Cpu.SmtControl ?? "unknown"})", _ => "unknown" };
        if (active is null) return Rule.Make(id, S, title, FindingStatus.Unknown, current, want, rationale, evidence);
        if (want == "any") return Rule.Make(id, S, title, FindingStatus.Info, current, "any", rationale, evidence);
        var ok = active == (want == "enabled");
        if (ok) return Rule.Make(id, S, title, FindingStatus.Pass, current, want, rationale, evidence);
        PlannedChange fix = f.Cpu.SmtControl is "off" or "forceoff"
            ? new KernelArgument(S, "nosmt", null, Remove: true)
            : new ManualStep(S, Bios + $"Advanced/Processor Configuration/Intel(R) Hyper-Threading Tech = {(want == "enabled" ? "Enabled" : "Disabled")}");
        return Rule.Make(id, S, title, FindingStatus.Warn, current, want, rationale, evidence, fix);
    }

    internal static Finding Numa(AuditContext c)
    {
        var f = c.Facts;
        const string id = "host.bios.numa", title = "NUMA optimized (one node per socket or more)";
        var evidence = new[] { "/sys/devices/system/node", "/sys/devices/system/cpu/cpu0/topology/physical_package_id" };
        var rationale = "With NUMA off the firmware interleaves memory across sockets and every VM pays remote-access latency on half its memory";
        var nodes = f.Numa.Synthesized ? 1 : f.Numa.Nodes.Count;
        var current = $"{nodes} NUMA node(s), {(f.Cpu.Packages?.ToString() ?? "unknown")} package(s)";
        if (f.Cpu.Packages is not int packages || nodes == 0) return Rule.Make(id, S, title, FindingStatus.Unknown, current, "nodes >= packages", rationale, evidence);
        if (nodes >= packages) return Rule.Make(id, S, title, FindingStatus.Pass, current, "nodes >= packages", rationale, evidence);
        return Rule.Make(id, S, title, FindingStatus.Warn, current, "nodes >= packages", rationale, evidence,
            new ManualStep(S, Bios + "Advanced/Memory Configuration/Memory RAS and Performance Configuration/NUMA Optimized = Enabled"));
    }

    private static Finding PowerPolicy(AuditContext c)
    {
        var f = c.Facts;
        const string id = "host.bios.power_policy", title = "CPU power and performance policy";
        var want = c.Profile.Choice("bios.energy_policy");
        var online = f.Cpu.Cpus.Where(x => x.Online).ToList();
        var evidence = new[] { "/sys/devices/system/cpu/cpu0/cpufreq/energy_performance_preference", "/sys/devices/system/cpu/cpu0/power/energy_perf_bias" };
        var rationale = "The performance policy (EPP/EPB 0) makes the hardware favour frequency over power savings";
        var epp = online.Where(x => x.EnergyPerformancePreference is not null).ToList();
        var epb = online.Where(x => x.EnergyPerfBias is not null).ToList();
        if (epp.Count == 0 && epb.Count == 0)
            return Rule.Make(id, S, title, FindingStatus.Unknown, "EPP and EPB not exposed", want, rationale, evidence,
                new ManualStep(S, Bios + "Advanced/Power & Performance/CPU Power and Performance Policy = Performance"));
        var current = epp.Count > 0
            ? "EPP " + string.Join(", ", epp.GroupBy(x => x.EnergyPerformancePreference).Select(g => $"{g.Key} on {Rule.Cpus(g.Select(x => x.Id))}"))
            : "EPB " + string.Join(", ", epb.GroupBy(x => x.EnergyPerfBias).Select(g => $"{g.Key} on {Rule.Cpus(g.Select(x => x.Id))}"));
        if (want == "any") return Rule.Make(id, S, title, FindingStatus.Info, current, "any", rationale, evidence);
        var acceptedEpp = want == "performance" ? new[] { "performance" } : ["performance", "balance_performance"];
        var maxEpb = want == "performance" ? 0 : 6;
        var badEpp = epp.Where(x => !acceptedEpp.Contains(x.EnergyPerformancePreference)).ToList();
        var badEpb = epp.Count > 0 ? [] : epb.Where(x => x.EnergyPerfBias > maxEpb).ToList();
        if (badEpp.Count == 0 && badEpb.Count == 0) return Rule.Make(id, S, title, FindingStatus.Pass, current, want, rationale, evidence);
        var changes = new List<PlannedChange>();
        changes.AddRange(badEpp.Select(x => new SysfsWrite(S, $"/sys/devices/system/cpu/cpu{x.Id}/cpufreq/energy_performance_preference", want)));
        changes.AddRange(badEpb.Select(x => new SysfsWrite(S, $"/sys/devices/system/cpu/cpu{x.Id}/power/energy_perf_bias", want == "performance" ? "0" : "4")));
        changes.Add(new ManualStep(S, Bios + "Advanced/Power & Performance/CPU Power and Performance Policy = Performance"));
        return Rule.Make(id, S, title, FindingStatus.Warn, current, want, rationale, evidence, changes);
    }

    private static Finding SpeedStep(AuditContext c)
    {
        var f = c.Facts;
        const string id = "host.bios.speedstep", title = "Enhanced Intel SpeedStep (a cpufreq driver)";
        var online = f.Cpu.Cpus.Where(x => x.Online).ToList();
        var evidence = online.Count > 16 ? ["/sys/devices/system/cpu/cpu*/cpufreq/scaling_driver"] : online.Select(x => $"/sys/devices/system/cpu/cpu{x.Id}/cpufreq/scaling_driver").DefaultIfEmpty("/sys/devices/system/cpu").ToList();
        var rationale = "Without SpeedStep the OS has no P-state control: no governor, no turbo requests";
        var bios = new ManualStep(S, Bios + "Advanced/Power & Performance/CPU P State Control/CPU P State Control/Enhanced Intel SpeedStep(R) Tech = Enabled");
        if (online.Count == 0) return Rule.Make(id, S, title, FindingStatus.Unknown, "no CPU information", "a cpufreq driver", rationale, evidence);
        var drivers = online.Select(x => x.CpufreqDriver).Where(d => d is not null).Distinct().ToList();
        var without = online.Where(x => x.CpufreqDriver is null).Select(x => x.Id).ToList();
        if (without.Count == 0) return Rule.Make(id, S, title, FindingStatus.Pass, "cpufreq driver " + string.Join(", ", drivers), "a cpufreq driver on every CPU", rationale, evidence);
        if (drivers.Count == 0) return Rule.Make(id, S, title, FindingStatus.Warn, "no cpufreq driver on any CPU", "a cpufreq driver on every CPU", rationale, evidence, bios);
        return Rule.Make(id, S, title, FindingStatus.Warn, $"cpufreq driver {string.Join(", ", drivers)}, none on CPUs {Rule.Cpus(without)}", "a cpufreq driver on every CPU", rationale, evidence, bios);
    }

    private static Finding Turbo(AuditContext c)
    {
        var p = c.Facts.Power;
        const string id = "host.bios.turbo", title = "Intel Turbo Boost Technology";
        var want = c.Profile.Choice("bios.turbo");
        var evidence = new[] { "/sys/devices/system/cpu/intel_pstate/no_turbo", "/sys/devices/system/cpu/cpufreq/boost" };
        var rationale = "Turbo Boost lets busy cores run above base frequency";
        bool? on = p.NoTurbo is bool nt ? !nt : p.Boost;
        var current = p.NoTurbo is not null ? $"no_turbo={(p.NoTurbo.Value ? 1 : 0)}" : p.Boost is not null ? $"boost={(p.Boost.Value ? 1 : 0)}" : "unknown";
        if (on is null) return Rule.Make(id, S, title, FindingStatus.Unknown, current, want, rationale, evidence);
        if (want == "any") return Rule.Make(id, S, title, FindingStatus.Info, current, want, rationale, evidence);
        if (on == (want == "enabled")) return Rule.Make(id, S, title, FindingStatus.Pass, current, want, rationale, evidence);
        var enable = want == "enabled";
        PlannedChange write = p.NoTurbo is not null
            ? new SysfsWrite(S, "/sys/devices/system/cpu/intel_pstate/no_turbo", enable ? "0" : "1")
            : new SysfsWrite(S, "/sys/devices/system/cpu/cpufreq/boost", enable ? "1" : "0");
        return Rule.Make(id, S, title, FindingStatus.Warn, current, want, rationale, evidence, write,
            new ManualStep(S, Bios + $"Advanced/Power & Performance/CPU P State Control/CPU P State Control/Intel(R) Turbo Boost Technology = {(enable ? "Enabled" : "Disabled")}"));
    }

    private static Finding Hwp(AuditContext c)
    {
        var f = c.Facts;
        const string id = "host.bios.hwp", title = "Hardware P-States in Native Mode";
        var evidence = new[] { Cpuinfo, "/sys/devices/system/cpu/intel_pstate/status" };
        var rationale = "Native HWP lets the CPU pick P-states itself, faster than the OS can";
        if (f.Cpu.Vendor is not null && f.Cpu.Vendor != "GenuineIntel")
            return Rule.NotApplicable(id, S, title, $"Hardware P-states is an Intel setting; this CPU is {f.Cpu.Vendor}");
        if (f.Cpu.Flags.Count == 0) return Rule.Make(id, S, title, FindingStatus.Unknown, "CPU flags unreadable", "hwp flag, intel_pstate active", rationale, evidence);
        var hwp = f.Cpu.HasFlag("hwp");
        var status = f.Power.IntelPstateStatus;
        var current = $"hwp flag {Rule.YesNo(hwp)}, intel_pstate {status ?? "absent"}";
        if (hwp && status == "active") return Rule.Make(id, S, title, FindingStatus.Pass, current, "hwp flag, intel_pstate active", rationale, evidence);
        if (status is null && !hwp && f.Cpu.HasFlag("hypervisor"))
            return Rule.Make(id, S, title, FindingStatus.Info, current, "hwp flag, intel_pstate active", "P-states belong to the hypervisor host, not this guest", evidence);
        return Rule.Make(id, S, title, FindingStatus.Warn, current, "hwp flag, intel_pstate active", rationale, evidence,
            new ManualStep(S, Bios + "Advanced/Power & Performance/Hardware P States = Native Mode"));
    }

    private static Finding CState(AuditContext c, string key, string title, string[] names, string biosPath)
    {
        var f = c.Facts;
        var id = $"host.bios.{key}";
        var want = c.Profile.Choice("bios.cstates");
        var evidence = new[] { "/sys/devices/system/cpu/cpuidle/current_driver", "/sys/devices/system/cpu/cpu0/cpuidle" };
        var rationale = "Waking from C1E or C6 takes microseconds; a vCPU waiting on an interrupt pays it every time";
        var driver = f.Power.CpuidleDriver;
        var state = f.Power.IdleStates.FirstOrDefault(s => s.Name is not null && names.Contains(s.Name));
        var expected = want == "disabled" ? "not offered or disabled on every CPU" : want == "enabled" ? "enabled" : "any";
        if (state is null)
        {
            // Only a driver that lists its states, and lists them readably, tells us a state is not offered.
            if (driver == "intel_idle" && f.Power.IdleStates.Count > 0 && f.Power.IdleStates.All(s => s.Name is not null))
                return Rule.Make(id, S, title, want == "enabled" ? FindingStatus.Warn : want == "any" ? FindingStatus.Info : FindingStatus.Pass,
                    $"not offered by intel_idle (disabled in firmware)", expected, rationale, evidence);
            return Rule.Make(id, S, title, FindingStatus.Unknown, $"cpuidle driver {driver ?? "unknown"} does not name {title} states", expected, rationale, evidence,
                new ManualStep(S, "BIOS: " + biosPath));
        }
        var online = f.Cpu.Online;
        var enabledOn = online.Except(state.DisabledOn).ToList();
        var current = enabledOn.Count == 0 ? $"{state.Name} disabled on every CPU" : $"{state.Name} enabled on {Rule.Cpus(enabledOn)}";
        if (want == "any") return Rule.Make(id, S, title, FindingStatus.Info, current, expected, rationale, evidence);
        if (want == "disabled")
        {
            if (enabledOn.Count == 0) return Rule.Make(id, S, title, FindingStatus.Pass, current, expected, rationale, evidence);
            var changes = enabledOn.Select(cpu => (PlannedChange)new SysfsWrite(S, $"/sys/devices/system/cpu/cpu{cpu}/cpuidle/state{state.Index}/disable", "1")).ToList();
            changes.Add(new ManualStep(S, "BIOS: " + biosPath));
            return Rule.Make(id, S, title, FindingStatus.Fail, current, expected, rationale, evidence, changes);
        }
        if (state.DisabledOn.Count == 0) return Rule.Make(id, S, title, FindingStatus.Pass, current, expected, rationale, evidence);
        return Rule.Make(id, S, title, FindingStatus.Warn, current, expected, rationale, evidence,
            state.DisabledOn.Select(cpu => new SysfsWrite(S, $"/sys/devices/system/cpu/cpu{cpu}/cpuidle/state{state.Index}/disable", "0")));
    }
}
