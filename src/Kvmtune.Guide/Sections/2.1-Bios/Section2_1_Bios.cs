using Kvmtune.Guide.Audit;
using Kvmtune.Guide.Profiles;

namespace Kvmtune.Guide.Sections;

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
            foreach (
                var (id, title) in new[]
                {
                    ("vtx", "Intel VT-x"),
                    ("vtd", "Intel VT-d"),
                    ("ht", "Hyper-Threading"),
                    ("power_policy", "CPU power and performance policy"),
                    ("speedstep", "Enhanced Intel SpeedStep"),
                    ("turbo", "Turbo Boost"),
                    ("eet", "Energy Efficient Turbo"),
                    ("hwp", "Hardware P-states"),
                    ("c1e", "C1E"),
                    ("c6", "Processor C6"),
                }
            )
                yield return Rule.NotApplicable(
                    $"host.bios.{id}",
                    S,
                    title,
                    $"the guide's BIOS settings are for Intel Xeon; this machine is {f.Cpu.Architecture}"
                );
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
        yield return Rule.Make(
            "host.bios.eet",
            S,
            "Energy Efficient Turbo disabled",
            FindingStatus.Unknown,
            "not visible to the OS",
            "disabled",
            "Energy Efficient Turbo holds back turbo frequency to save power; its state is in MSR 0x1FC, which " +
                "kvmtune does not read",
            [],
            new ManualStep(
                S,
                Bios
                    + "Advanced/Power & Performance/CPU P State Control/CPU P State Control/Energy Efficient Turbo = " +
                        "Disabled"
            )
        );
        yield return Hwp(c);
        yield return CState(
            c,
            "c1e",
            "C1E",
            ["C1E"],
            0x01,
            "Advanced/Power & Performance/CPU C State Control/C1E = Disabled"
        );
        yield return CState(
            c,
            "c6",
            "Processor C6",
            ["C6", "C6S", "C6SP", "C6P"],
            0x20,
            "Advanced/Power & Performance/CPU C State Control/Processor C6 = Disabled"
        );
    }

    private static Finding VtX(AuditContext c)
    {
        var f = c.Facts;
        const string id = "host.bios.vtx",
            title = "Intel Virtualization Technology (VT-x)";
        var want = c.Profile.Get(ProfileSchema.BiosVirtualization);
        var rationale = "KVM needs VT-x (or AMD-V); without it every VM is emulated";
        var evidence = new[] { Cpuinfo, "/proc/modules", "/dev/kvm", "/dev" };
        if (f.Cpu.Flags.Count == 0)
            return Rule.Make(
                id,
                S,
                title,
                FindingStatus.Unknown,
                "CPU flags unreadable",
                "vmx flag, kvm_intel loaded, /dev/kvm present",
                rationale,
                evidence
            );
        var flag = f.Cpu.Virtualization;
        var module = flag == "svm" ? "kvm_amd" : "kvm_intel";
        var loaded = f.Kernel.IsLoaded(module);
        var current =
            $"{(flag ?? "no vmx/svm")} flag, {module} " +
                $"{(loaded switch { true => "loaded", false => "not loaded", _ => "unknown" })}, /dev/kvm " +
                    $"{(f.Virtualization.Kvm.Exists ? "present" : "absent")}";
        if (flag is null)
            return Rule.Make(
                id,
                S,
                title,
                Rule.Missed(want),
                current,
                "vmx flag",
                rationale,
                evidence,
                new ManualStep(
                    S,
                    Bios + "Advanced/Processor Configuration/Intel(R) Virtualization Technology = Enabled"
                )
            );
        if (loaded == false || f.Virtualization.Kvm.Present == false)
            return Rule.Make(
                id,
                S,
                title,
                Rule.Missed(want),
                current,
                $"{module} loaded, /dev/kvm present",
                rationale,
                evidence,
                new ModuleLoad(S, module)
            );
        if (f.Virtualization.Kvm.Present is null)
            return Rule.Make(
                id,
                S,
                title,
                FindingStatus.Unknown,
                current.Replace("/dev/kvm absent", "/dev not in this tree", StringComparison.Ordinal),
                $"{flag} flag, {module} loaded, /dev/kvm present",
                rationale,
                evidence
            );
        return Rule.Make(
            id,
            S,
            title,
            loaded is null ? FindingStatus.Unknown : FindingStatus.Pass,
            current,
            $"{flag} flag, {module} loaded, /dev/kvm present",
            rationale,
            evidence
        );
    }

    private static Finding VtD(AuditContext c)
    {
        var f = c.Facts;
        const string id = "host.bios.vtd",
            title = "Intel VT for Directed I/O (VT-d)";
        var want = c.Profile.Get(ProfileSchema.BiosVtd);
        var i = f.Virtualization.Iommu;
        var amd = f.Cpu.Vendor == "AuthenticAMD";
        var table = amd ? i.IvrsTable : i.DmarTable;
        var tableName = amd ? "IVRS" : "DMAR";
        var cmd = f.Kernel.CommandLine;
        var evidence = new[] { $"/sys/firmware/acpi/tables/{tableName}", "/sys/kernel/iommu_groups", "/proc/cmdline" };
        // AMD-Vi is on whenever the firmware has an IVRS table; amd_iommu= takes no "on" (kernel-parameters.txt lists
        // fullflush, off, force_isolation...). Intel needs intel_iommu=on unless CONFIG_INTEL_IOMMU_DEFAULT_ON.
        // iommu=pt keeps host devices on identity mappings, so only devices given to VMs pay for translation.
        var rationale =
            "VT-d lets VMs own devices (vfio passthrough, QAT VFs) and deliver their interrupts without "
            + "exits"
            + (
                amd
                    ? "; AMD-Vi is enabled by default when the firmware provides IVRS (kernel-parameters.txt: "
                        + "amd_iommu has no 'on')"
                    : "; the kernel enables it with intel_iommu=on, and iommu=pt spares host-owned devices the "
                        + "translation cost"
            );
        var args = amd
            ? $"amd_iommu={cmd?.Value("amd_iommu") ?? "(not set)"}, iommu={cmd?.Value("iommu") ?? "(not set)"}"
            : $"intel_iommu={cmd?.Value("intel_iommu") ?? "(not set)"}, iommu={cmd?.Value("iommu") ?? "(not set)"}";
        var current =
            $"ACPI {tableName} table {Rule.YesNo(table)}, IOMMU groups "
            + $"{(i.Groups?.ToString() ?? "unknown")}, {args}";
        var expected = amd
            ? "IVRS table present, IOMMU groups > 0 (no amd_iommu=off), iommu=pt"
            : "DMAR table present, IOMMU groups > 0, intel_iommu=on iommu=pt";
        var enable = new List<PlannedChange>();
        if (amd)
        {
            if (cmd?.Value("amd_iommu") == "off")
                enable.Add(new KernelArgument(S, "amd_iommu", null, Remove: true));
            if (cmd?.Value("iommu") == "off")
                enable.Add(new KernelArgument(S, "iommu", "pt"));
        }
        else
            enable.Add(new KernelArgument(S, "intel_iommu", "on"));
        if (cmd?.Value("iommu") is null)
            enable.Add(new KernelArgument(S, "iommu", "pt"));
        var bios = new ManualStep(
            S,
            Bios
                + (
                    amd
                        ? "Advanced/AMD CBS/NBIO Common Options/IOMMU = Enabled"
                        : "Advanced/PCI Configuration/Integrated IO Configuration/Intel(R) VT for Directed I/O = " +
                            "Enabled"
                )
        );
        if (table is null && i.Groups is null)
            return Rule.Make(id, S, title, FindingStatus.Unknown, current, expected, rationale, evidence);
        if (table == false && i.Groups is null or 0)
            return Rule.Make(
                id,
                S,
                title,
                Rule.Missed(want),
                current,
                expected,
                rationale,
                evidence,
                enable.Prepend(bios)
            );
        if (i.Groups is null or 0)
            return Rule.Make(
                id,
                S,
                title,
                Rule.Missed(want),
                current,
                expected,
                rationale,
                evidence,
                enable.Count > 0
                    ? enable
                    : [new ManualStep(S, "find what keeps the IOMMU off: dmesg | grep -i -e DMAR -e AMD-Vi -e IOMMU")]
            );
        return Rule.Make(id, S, title, FindingStatus.Pass, current, expected, rationale, evidence);
    }

    private static Finding HyperThreading(AuditContext c)
    {
        var f = c.Facts;
        const string id = "host.bios.ht",
            title = "Intel Hyper-Threading Technology";
        var want = c.Profile.Get(ProfileSchema.BiosHyperthreading);
        var wantText = c.Profile.Text(ProfileSchema.BiosHyperthreading);
        var evidence = new[]
        {
            "/sys/devices/system/cpu/smt/active",
            "/sys/devices/system/cpu/smt/control",
            "/sys/devices/system/cpu/cpu0/topology/thread_siblings",
            "/sys/devices/system/cpu/cpu0/topology/thread_siblings_list",
        };
        var rationale = "Hyper-Threading gives each core a second hardware thread for vCPUs and host work";
        bool? active = f.Cpu.SmtActive;
        var online = f.Cpu.Cpus.Where(x => x.Online).ToList();
        if (active is null && online.Count > 0 && online.All(x => x.ThreadSiblings is not null))
            active = online.Any(x => x.ThreadSiblings!.Count > 1);
        var current = active switch
        {
            true => "SMT active",
            false => $"SMT inactive (control: {f.Cpu.SmtControl ?? "unknown"})",
            _ => "unknown",
        };
        if (active is null)
            return Rule.Make(id, S, title, FindingStatus.Unknown, current, wantText, rationale, evidence);
        if (want == Toggle.Any)
            return Rule.Make(id, S, title, FindingStatus.Info, current, "any", rationale, evidence);
        var ok = active == (want == Toggle.Enabled);
        if (ok)
            return Rule.Make(id, S, title, FindingStatus.Pass, current, wantText, rationale, evidence);
        PlannedChange fix = f.Cpu.SmtControl is "off" or "forceoff"
            ? new KernelArgument(S, "nosmt", null, Remove: true)
            : new ManualStep(
                S,
                Bios
                    + "Advanced/Processor Configuration/Intel(R) Hyper-Threading Tech = " +
                        $"{(want == Toggle.Enabled ? "Enabled" : "Disabled")}"
            );
        return Rule.Make(id, S, title, FindingStatus.Warn, current, wantText, rationale, evidence, fix);
    }

    internal static Finding Numa(AuditContext c)
    {
        var f = c.Facts;
        const string id = "host.bios.numa",
            title = "NUMA optimized (one node per socket or more)";
        var evidence = new[]
        {
            "/sys/devices/system/node",
            "/sys/devices/system/cpu/cpu0/topology/physical_package_id",
        };
        var rationale =
            "With NUMA off the firmware interleaves memory across sockets and every VM pays remote-access latency on " +
                "half its memory";
        var nodes = f.Numa.Synthesized ? 1 : f.Numa.Nodes.Count;
        var current = $"{nodes} NUMA node(s), {(f.Cpu.Packages?.ToString() ?? "unknown")} package(s)";
        // A missing node folder is not one node: only a kernel built without CONFIG_NUMA says so.
        if (f.Numa.Synthesized)
        {
            if (!Section3_2_1_Numa.NumaKnown(c))
                return Rule.Make(
                    id,
                    S,
                    title,
                    FindingStatus.Unknown,
                    "NUMA nodes unknown (no /sys/devices/system/node)",
                    "nodes >= packages",
                    rationale,
                    evidence
                );
            if (f.Cpu.Packages is > 1)
                return Rule.Make(
                    id,
                    S,
                    title,
                    FindingStatus.Warn,
                    current + ", kernel built without CONFIG_NUMA",
                    "nodes >= packages",
                    rationale,
                    evidence.Append($"/boot/config-{f.Kernel.Release}"),
                    new ManualStep(S, "boot a kernel built with CONFIG_NUMA")
                );
        }
        if (f.Cpu.Packages is not int packages || nodes == 0)
            return Rule.Make(id, S, title, FindingStatus.Unknown, current, "nodes >= packages", rationale, evidence);
        if (nodes >= packages)
            return Rule.Make(id, S, title, FindingStatus.Pass, current, "nodes >= packages", rationale, evidence);
        return Rule.Make(
            id,
            S,
            title,
            FindingStatus.Warn,
            current,
            "nodes >= packages",
            rationale,
            evidence,
            new ManualStep(
                S,
                Bios + "Advanced/Memory Configuration/Memory RAS and Performance Configuration/NUMA Optimized = Enabled"
            )
        );
    }

    private static Finding PowerPolicy(AuditContext c)
    {
        var f = c.Facts;
        const string id = "host.bios.power_policy",
            title = "CPU power and performance policy";
        var want = c.Profile.Get(ProfileSchema.BiosEnergyPolicy);
        var wantText = c.Profile.Text(ProfileSchema.BiosEnergyPolicy);
        var online = f.Cpu.Cpus.Where(x => x.Online).ToList();
        var evidence = new[]
        {
            "/sys/devices/system/cpu/cpu0/cpufreq/energy_performance_preference",
            "/sys/devices/system/cpu/cpu0/power/energy_perf_bias",
        };
        var rationale = "The performance policy (EPP/EPB 0) makes the hardware favour frequency over power savings";
        var epp = online.Where(x => x.EnergyPerformancePreference is not null).ToList();
        var epb = online.Where(x => x.EnergyPerfBias is not null).ToList();
        if (epp.Count == 0 && epb.Count == 0)
            return Rule.Make(
                id,
                S,
                title,
                FindingStatus.Unknown,
                "EPP and EPB not exposed",
                wantText,
                rationale,
                evidence,
                want == EnergyPolicy.Any
                    ? []
                    :
                    [
                        new ManualStep(
                            S,
                            Bios
                                + "Advanced/Power & Performance/CPU Power and Performance Policy = "
                                + (want == EnergyPolicy.Performance ? "Performance" : "Balanced Performance")
                        ),
                    ]
            );
        var current =
            epp.Count > 0
                ? "EPP "
                    + string.Join(
                        ", ",
                        epp.GroupBy(x => x.EnergyPerformancePreference)
                            .Select(g => $"{g.Key} on {Rule.Cpus(g.Select(x => x.Id))}")
                    )
                : "EPB "
                    + string.Join(
                        ", ",
                        epb.GroupBy(x => x.EnergyPerfBias).Select(g => $"{g.Key} on {Rule.Cpus(g.Select(x => x.Id))}")
                    );
        if (want == EnergyPolicy.Any)
            return Rule.Make(id, S, title, FindingStatus.Info, current, "any", rationale, evidence);
        string[] acceptedEpp =
            want == EnergyPolicy.Performance
                ? [EnergyPolicy.Performance.KernelName()]
                : [EnergyPolicy.Performance.KernelName(), EnergyPolicy.BalancePerformance.KernelName()];
        var maxEpb = want == EnergyPolicy.Performance ? 0 : 6;
        var badEpp = epp.Where(x => !acceptedEpp.Contains(x.EnergyPerformancePreference)).ToList();
        var badEpb = epp.Count > 0 ? [] : epb.Where(x => x.EnergyPerfBias > maxEpb).ToList();
        if (badEpp.Count == 0 && badEpb.Count == 0)
            return Rule.Make(id, S, title, FindingStatus.Pass, current, wantText, rationale, evidence);
        var changes = new List<PlannedChange>();
        changes.AddRange(
            badEpp.Select(x => new SysfsWrite(
                S,
                $"/sys/devices/system/cpu/cpu{x.Id}/cpufreq/energy_performance_preference",
                want.KernelName()
            ))
        );
        changes.AddRange(
            badEpb.Select(x => new SysfsWrite(
                S,
                $"/sys/devices/system/cpu/cpu{x.Id}/power/energy_perf_bias",
                want == EnergyPolicy.Performance ? "0" : "4"
            ))
        );
        changes.Add(
            new ManualStep(
                S,
                Bios
                    + "Advanced/Power & Performance/CPU Power and Performance Policy = "
                    + (want == EnergyPolicy.Performance ? "Performance" : "Balanced Performance")
            )
        );
        return Rule.Make(id, S, title, FindingStatus.Warn, current, wantText, rationale, evidence, changes);
    }

    private static Finding SpeedStep(AuditContext c)
    {
        var f = c.Facts;
        const string id = "host.bios.speedstep",
            title = "Enhanced Intel SpeedStep (a cpufreq driver)";
        var online = f.Cpu.Cpus.Where(x => x.Online).ToList();
        var evidence =
            online.Count > 16
                ? ["/sys/devices/system/cpu/cpu*/cpufreq/scaling_driver"]
                : online
                    .Select(x => $"/sys/devices/system/cpu/cpu{x.Id}/cpufreq/scaling_driver")
                    .DefaultIfEmpty("/sys/devices/system/cpu")
                    .ToList();
        var rationale = "Without SpeedStep the OS has no P-state control: no governor, no turbo requests";
        var bios = new ManualStep(
            S,
            Bios
                + "Advanced/Power & Performance/CPU P State Control/CPU P State Control/Enhanced Intel SpeedStep(R) " +
                    "Tech = Enabled"
        );
        if (online.Count == 0)
            return Rule.Make(
                id,
                S,
                title,
                FindingStatus.Unknown,
                "no CPU information",
                "a cpufreq driver",
                rationale,
                evidence
            );
        var drivers = online.Select(x => x.CpufreqDriver).Where(d => d is not null).Distinct().ToList();
        var without = online.Where(x => x.CpufreqDriver is null).Select(x => x.Id).ToList();
        if (without.Count == 0)
            return Rule.Make(
                id,
                S,
                title,
                FindingStatus.Pass,
                "cpufreq driver " + string.Join(", ", drivers),
                "a cpufreq driver on every CPU",
                rationale,
                evidence
            );
        if (drivers.Count == 0)
            return Rule.Make(
                id,
                S,
                title,
                FindingStatus.Warn,
                "no cpufreq driver on any CPU",
                "a cpufreq driver on every CPU",
                rationale,
                evidence,
                bios
            );
        return Rule.Make(
            id,
            S,
            title,
            FindingStatus.Warn,
            $"cpufreq driver {string.Join(", ", drivers)}, none on CPUs {Rule.Cpus(without)}",
            "a cpufreq driver on every CPU",
            rationale,
            evidence,
            bios
        );
    }

    private static Finding Turbo(AuditContext c)
    {
        var p = c.Facts.Power;
        const string id = "host.bios.turbo",
            title = "Intel Turbo Boost Technology";
        var want = c.Profile.Get(ProfileSchema.BiosTurbo);
        var wantText = c.Profile.Text(ProfileSchema.BiosTurbo);
        var evidence = new[]
        {
            "/sys/devices/system/cpu/intel_pstate/no_turbo",
            "/sys/devices/system/cpu/cpufreq/boost",
        };
        var rationale = "Turbo Boost lets busy cores run above base frequency";
        bool? on = p.NoTurbo is bool nt ? !nt : p.Boost;
        var current =
            p.NoTurbo is not null ? $"no_turbo={(p.NoTurbo.Value ? 1 : 0)}"
            : p.Boost is not null ? $"boost={(p.Boost.Value ? 1 : 0)}"
            : "unknown";
        if (on is null)
            return Rule.Make(id, S, title, FindingStatus.Unknown, current, wantText, rationale, evidence);
        if (want == Toggle.Any)
            return Rule.Make(id, S, title, FindingStatus.Info, current, wantText, rationale, evidence);
        if (on == (want == Toggle.Enabled))
            return Rule.Make(id, S, title, FindingStatus.Pass, current, wantText, rationale, evidence);
        var enable = want == Toggle.Enabled;
        PlannedChange write = p.NoTurbo is not null
            ? new SysfsWrite(S, "/sys/devices/system/cpu/intel_pstate/no_turbo", enable ? "0" : "1")
            : new SysfsWrite(S, "/sys/devices/system/cpu/cpufreq/boost", enable ? "1" : "0");
        return Rule.Make(
            id,
            S,
            title,
            FindingStatus.Warn,
            current,
            wantText,
            rationale,
            evidence,
            write,
            new ManualStep(
                S,
                Bios
                    + "Advanced/Power & Performance/CPU P State Control/CPU P State Control/Intel(R) Turbo Boost " +
                        $"Technology = {(enable ? "Enabled" : "Disabled")}"
            )
        );
    }

    private static Finding Hwp(AuditContext c)
    {
        var f = c.Facts;
        const string id = "host.bios.hwp",
            title = "Hardware P-States in Native Mode";
        var evidence = new[] { Cpuinfo, "/sys/devices/system/cpu/intel_pstate/status" };
        var rationale = "Native HWP lets the CPU pick P-states itself, faster than the OS can";
        if (f.Cpu.Vendor is not null && f.Cpu.Vendor != "GenuineIntel")
            return Rule.NotApplicable(
                id,
                S,
                title,
                $"Hardware P-states is an Intel setting; this CPU is {f.Cpu.Vendor}"
            );
        if (f.Cpu.Flags.Count == 0)
            return Rule.Make(
                id,
                S,
                title,
                FindingStatus.Unknown,
                "CPU flags unreadable",
                "hwp flag, intel_pstate active",
                rationale,
                evidence
            );
        var hwp = f.Cpu.HasFlag("hwp");
        var status = f.Power.IntelPstateStatus;
        var current = $"hwp flag {Rule.YesNo(hwp)}, intel_pstate {status ?? "absent"}";
        if (hwp && status == "active")
            return Rule.Make(
                id,
                S,
                title,
                FindingStatus.Pass,
                current,
                "hwp flag, intel_pstate active",
                rationale,
                evidence
            );
        if (status is null && !hwp && f.Cpu.HasFlag("hypervisor"))
            return Rule.Make(
                id,
                S,
                title,
                FindingStatus.Info,
                current,
                "hwp flag, intel_pstate active",
                "P-states belong to the hypervisor host, not this guest",
                evidence
            );
        return Rule.Make(
            id,
            S,
            title,
            FindingStatus.Warn,
            current,
            "hwp flag, intel_pstate active",
            rationale,
            evidence,
            new ManualStep(S, Bios + "Advanced/Power & Performance/Hardware P States = Native Mode")
        );
    }

    /// <summary>
    /// The hardware C-state a cpuidle state stands for. intel_idle has named its states with the model before or after
    /// ("NHM-C6" in old kernels, "C1E-SKX", "C6-HSW" later) and plainly in current ones ("C1E", "C6"); what it enters
    /// is the MWAIT hint in desc ("MWAIT 0x01" is C1E, "MWAIT 0x20" C6 on Xeon: drivers/idle/intel_idle.c), used when
    /// no name matches.
    /// </summary>
    public static bool IsState(IdleStateName s, string[] names, int mwaitHint)
    {
        if (s.Name is { } name && name.Split('-').Any(part => names.Contains(part, StringComparer.OrdinalIgnoreCase)))
            return true;
        // acpi_idle describes firmware _CST entries the same way: "ACPI FFH INTEL MWAIT 0x20"
        // (drivers/acpi/processor_idle.c).
        if (s.Driver is not ("intel_idle" or "acpi_idle") || s.Description is not { } d)
            return false;
        var at = d.IndexOf("MWAIT 0x", StringComparison.Ordinal);
        return at >= 0
            && int.TryParse(d.AsSpan(at + 8).Trim(), System.Globalization.NumberStyles.HexNumber, null, out var hint)
            && hint == mwaitHint;
    }

    /// <summary>What <see cref="IsState"/> needs of a state.</summary>
    public readonly record struct IdleStateName(string? Name, string? Description, string? Driver);

    private static Finding CState(
        AuditContext c,
        string key,
        string title,
        string[] names,
        int mwaitHint,
        string biosPath
    )
    {
        var f = c.Facts;
        var id = $"host.bios.{key}";
        var want = c.Profile.Get(ProfileSchema.BiosCstates);
        var evidence = new[]
        {
            "/sys/devices/system/cpu/cpuidle/current_driver",
            "/sys/devices/system/cpu/cpu0/cpuidle",
        };
        var rationale = "Waking from C1E or C6 takes microseconds; a vCPU waiting on an interrupt pays it every time";
        var driver = f.Power.CpuidleDriver;
        var state = f.Power.IdleStates.FirstOrDefault(s =>
            IsState(new(s.Name, s.Description, driver), names, mwaitHint)
        );
        var expected = want switch
        {
            Toggle.Disabled => "not offered or disabled on every CPU",
            Toggle.Enabled => "enabled",
            _ => "any",
        };
        if (state is null)
        {
            // A state the driver does not list may still be entered: firmware C1E auto-promotion turns C1 into C1E
            // without the OS asking, and a short list may come from intel_idle.max_cstate rather than the BIOS.
            var listed =
                f.Power.IdleStates.Count == 0
                    ? "no states listed"
                    : "states " + string.Join(", ", f.Power.IdleStates.Select(s => s.Name ?? "?"));
            return Rule.Make(
                id,
                S,
                title,
                want == Toggle.Any ? FindingStatus.Info : FindingStatus.Unknown,
                $"cpuidle driver {driver ?? "unknown"} lists no {title} state ({listed}); the firmware setting is "
                    + $"not visible",
                expected,
                rationale,
                evidence,
                want == Toggle.Any ? [] : [new ManualStep(S, "BIOS: " + biosPath)]
            );
        }
        var online = f.Cpu.Online;
        // The driver listing the state is the firmware offering it. Only a readable disable flag says whether the OS
        // uses it, and only there can kvmtune write one (a kernel without the attribute gets the BIOS step alone).
        var enabledOn = state.EnabledOn.ToList();
        var unreadable = online.Except(state.DisabledOn).Except(state.EnabledOn).ToList();
        var current =
            (
                enabledOn.Count > 0 ? $"{state.Name} enabled on {Rule.Cpus(enabledOn)}"
                : unreadable.Count > 0 ? $"{state.Name} offered by the firmware"
                : $"{state.Name} disabled on every CPU"
            ) + (unreadable.Count > 0 ? $"; no readable disable flag on {Rule.Cpus(unreadable)}" : "");
        if (want == Toggle.Any)
            return Rule.Make(id, S, title, FindingStatus.Info, current, expected, rationale, evidence);
        if (want == Toggle.Disabled)
        {
            if (enabledOn.Count == 0 && unreadable.Count == 0)
                return Rule.Make(id, S, title, FindingStatus.Pass, current, expected, rationale, evidence);
            var changes = enabledOn
                .Select(cpu =>
                    (PlannedChange)
                        new SysfsWrite(S, $"/sys/devices/system/cpu/cpu{cpu}/cpuidle/state{state.Index}/disable", "1")
                )
                .ToList();
            changes.Add(new ManualStep(S, "BIOS: " + biosPath));
            // A latency cost, not a fault: warn.
            return Rule.Make(id, S, title, FindingStatus.Warn, current, expected, rationale, evidence, changes);
        }
        if (state.DisabledOn.Count == 0)
            return Rule.Make(id, S, title, FindingStatus.Pass, current, expected, rationale, evidence);
        return Rule.Make(
            id,
            S,
            title,
            FindingStatus.Warn,
            current,
            expected,
            rationale,
            evidence,
            state.DisabledOn.Select(cpu => new SysfsWrite(
                S,
                $"/sys/devices/system/cpu/cpu{cpu}/cpuidle/state{state.Index}/disable",
                "0"
            ))
        );
    }
}
