using Kvmtune.Facts.Host;
using Kvmtune.Facts.Parsing;
using Kvmtune.Guide.Audit;
using Kvmtune.Guide.Profiles;

namespace Kvmtune.Guide.Sections;

/// <summary>Guide 3.2.7, exitless local APIC timer: nohz_full on all CPUs but one housekeeping core per node.</summary>
public static class Section3_2_7_Nohz
{
    private const string S = "3.2.7";

    public static IEnumerable<Finding> Evaluate(AuditContext c)
    {
        yield return NohzFull(c);
        yield return Consistency(c);
        yield return ExitlessTimer(c);
    }

    /// <summary>
    /// The exitless timer itself: KVM posts the guest's timer interrupt instead of exiting only when
    /// kvm_can_post_timer_interrupt() holds (arch/x86/kvm/lapic.c): pi_inject_timer, APICv active on the vCPU, and
    /// HLT or MWAIT left to the guest (QEMU -overcommit cpu-pm=on). pi_inject_timer defaults to -1, which KVM turns
    /// into "on" when nohz_full isolates CPUs (arch/x86/kvm/x86.c, housekeeping_enabled(HK_TYPE_TIMER)).
    /// </summary>
    private static Finding ExitlessTimer(AuditContext c)
    {
        var f = c.Facts;
        const string id = "host.kvm.exitless_timer",
            title = "Exitless timer prerequisites";
        var wanted = c.Profile.Get(ProfileSchema.KernelNohzFull) == Need.Required;
        var amd = f.Cpu.Virtualization == "svm" || f.Cpu.Vendor == "AuthenticAMD";
        var (module, apicvParam) = amd ? ("kvm_amd", "avic") : ("kvm_intel", "enable_apicv");
        var evidence = new[]
        {
            "/sys/module/kvm/parameters/pi_inject_timer",
            $"/sys/module/{module}/parameters/{apicvParam}",
            "/proc/cmdline",
        };
        var rationale =
            "KVM posts a guest's timer interrupt without a VM exit only with pi_inject_timer, APICv "
            + "(AVIC on AMD) and "
            + "HLT/MWAIT left to the guest (cpu-pm=on): arch/x86/kvm/lapic.c kvm_can_post_timer_interrupt";
        const string expected = "pi_inject_timer=1, APICv on, VMs with -overcommit cpu-pm=on";
        if (f.Cpu.Architecture is not null && !f.Cpu.IsX86)
            return Rule.NotApplicable(id, S, title, "the exitless timer is x86 KVM");
        var pi = f.Kernel.Param("kvm", "pi_inject_timer");
        var apicv = f.Kernel.Param(module, apicvParam);
        if (pi is null || apicv is null)
            return Rule.Make(
                id,
                S,
                title,
                FindingStatus.Unknown,
                $"pi_inject_timer={pi ?? "unknown"}, {apicvParam}={apicv ?? "unknown"}",
                expected,
                rationale,
                evidence
            );
        var piOn = pi is "1" or "Y" or "y";
        var apicvOn = apicv is "1" or "Y" or "y";
        var cpuPm = c.Profile.Get(ProfileSchema.QemuCpuPm);
        var current = $"pi_inject_timer={pi}, {apicvParam}={apicv}, profile cpu-pm {(cpuPm ? "on" : "off")}";
        var changes = new List<PlannedChange>();
        if (!piOn)
            changes.Add(new ModuleParameter(S, "kvm", "pi_inject_timer", "1"));
        if (!apicvOn)
            changes.Add(new ModuleOption(S, module, apicvParam, "1"));
        if (!cpuPm)
            changes.Add(new ManualStep(S, "run the VMs on dedicated CPUs with QEMU -overcommit cpu-pm=on"));
        if (changes.Count == 0)
            return Rule.Make(id, S, title, FindingStatus.Pass, current, expected, rationale, evidence);
        return Rule.Make(
            id,
            S,
            title,
            wanted ? FindingStatus.Warn : FindingStatus.Info,
            current,
            expected,
            rationale,
            evidence,
            wanted ? changes : []
        );
    }

    /// <summary>
    /// Housekeeping CPUs as the guide's example keeps them: the first core of each node, both its threads
    /// (nohz_full=1-35,73-107,37-71,109-143 leaves 0, 72, 36 and 108).
    /// </summary>
    public static IReadOnlyList<int> Housekeeping(HostFacts f)
    {
        var byId = f.Cpu.Cpus.ToDictionary(x => x.Id);
        var list = new List<int>();
        foreach (var n in f.Numa.Nodes.Where(n => n.Cpus.Count > 0))
        {
            var first = n.Cpus[0];
            list.Add(first);
            if (byId.TryGetValue(first, out var cpu) && cpu.ThreadSiblings is { } s)
                list.AddRange(s.Where(n.Cpus.Contains));
        }
        return list.Distinct().Order().ToList();
    }

    public static IReadOnlyList<int> WantedNohzFull(HostFacts f)
    {
        var keep = Housekeeping(f);
        return f.Cpu.Online.Where(x => !keep.Contains(x)).ToList();
    }

    private static Finding NohzFull(AuditContext c)
    {
        var f = c.Facts;
        const string id = "host.kernel.nohz_full",
            title = "nohz_full with a housekeeping CPU on each node";
        var want = c.Profile.Get(ProfileSchema.KernelNohzFull);
        var evidence = new[] { "/proc/cmdline", "/sys/devices/system/cpu/nohz_full" };
        var rationale = c.Profile.Reason(ProfileSchema.KernelNohzFull);
        var cmd = f.Kernel.CommandLine;
        if (cmd is null || f.Cpu.Online.Count == 0)
            return Rule.Make(
                id,
                S,
                title,
                FindingStatus.Unknown,
                "unknown",
                c.Profile.Text(ProfileSchema.KernelNohzFull),
                rationale,
                evidence
            );
        var wanted = WantedNohzFull(f);
        var expected =
            wanted.Count == 0 ? "no CPU to spare (one core per node)" : $"nohz_full={CpuList.Format(wanted)}";
        var text = cmd.Value("nohz_full");
        if (f.Kernel.Config?.Get("CONFIG_NO_HZ_FULL") == "n" && want == Need.Required)
            return Rule.Make(
                id,
                S,
                title,
                FindingStatus.Fail,
                "kernel built without CONFIG_NO_HZ_FULL",
                expected,
                rationale,
                evidence,
                new ManualStep(S, "boot a kernel built with CONFIG_NO_HZ_FULL=y")
            );
        if (text is null)
            return Rule.Make(
                id,
                S,
                title,
                want == Need.Required && wanted.Count > 0 ? FindingStatus.Fail : FindingStatus.Info,
                "no nohz_full",
                want == Need.Required ? expected : "any",
                rationale,
                evidence,
                want == Need.Required && wanted.Count > 0
                    ? [new KernelArgument(S, "nohz_full", CpuList.Format(wanted))]
                    : []
            );
        if (!CpuList.TryParse(text, out var cpus, out var error))
            return Rule.Make(
                id,
                S,
                title,
                FindingStatus.Fail,
                $"nohz_full={text} ({error})",
                expected,
                rationale,
                evidence,
                new KernelArgument(S, "nohz_full", CpuList.Format(wanted))
            );
        var current = $"nohz_full={text}";
        var bare = f.Numa.Nodes.Where(n => n.Cpus.Count > 0 && n.Cpus.All(cpus.Contains)).Select(n => n.Id).ToList();
        if (bare.Count > 0)
            return Rule.Make(
                id,
                S,
                title,
                FindingStatus.Fail,
                current + $" (node {string.Join(", ", bare)} has no housekeeping CPU)",
                expected,
                rationale,
                evidence,
                new KernelArgument(S, "nohz_full", CpuList.Format(wanted))
            );
        if (want != Need.Required)
            return Rule.Make(id, S, title, FindingStatus.Info, current, "any", rationale, evidence);
        var uncovered = wanted.Except(cpus).ToList();
        if (uncovered.Count == 0)
            return Rule.Make(id, S, title, FindingStatus.Pass, current, expected, rationale, evidence);
        return Rule.Make(
            id,
            S,
            title,
            FindingStatus.Warn,
            current + $" (CPUs {CpuList.Format(uncovered)} still tick)",
            expected,
            rationale,
            evidence,
            new KernelArgument(S, "nohz_full", CpuList.Format(wanted))
        );
    }

    private static Finding Consistency(AuditContext c)
    {
        var f = c.Facts;
        var cmd = f.Kernel.CommandLine;
        const string id = "host.kernel.isolation",
            title = "isolcpus, irqaffinity and nohz_full agree";
        var evidence = new[] { "/proc/cmdline" };
        var rationale =
            "isolcpus should isolate only tickless CPUs, with managed_irq so managed device IRQs avoid "
            + "them where "
            + "they can (TuneD realtime: isolcpus=managed_irq,domain,<isolated>); irqaffinity= must leave a "
            + "housekeeping CPU on "
            + "each node. rcu_nocbs is not needed: nohz_full CPUs are RCU no-callback CPUs already "
            + "(kernel/rcu/tree_nocb.h, "
            + "rcu_init_nohz)";
        if (cmd is null)
            return Rule.Make(id, S, title, FindingStatus.Unknown, "unknown", null, rationale, evidence);
        var nohz = cmd.Value("nohz_full");
        var iso = cmd.Value("isolcpus");
        var irqaff = cmd.Value("irqaffinity");
        var current = $"nohz_full={nohz ?? "(none)"} isolcpus={iso ?? "(none)"} irqaffinity={irqaff ?? "(none)"}";
        if (nohz is null || !CpuList.TryParse(nohz, out var nohzCpus, out _))
            return Rule.Make(id, S, title, FindingStatus.Info, current, null, rationale, evidence);
        var problems = new List<string>();
        var changes = new List<PlannedChange>();
        if (iso is not null && CpuIsolation.IsolcpusList(iso) is { } isoCpus)
        {
            if (isoCpus.Except(nohzCpus).Any())
                problems.Add($"isolcpus isolates CPUs {CpuList.Format(isoCpus.Except(nohzCpus))} that still tick");
            var flags = CpuIsolation.IsolcpusFlags(iso);
            if (!flags.Contains("managed_irq"))
            {
                problems.Add("isolcpus without managed_irq: managed device IRQs may land on isolated CPUs");
                changes.Add(
                    new KernelArgument(
                        S,
                        "isolcpus",
                        string.Join(',', flags.Append("managed_irq").Distinct()) + "," + CpuList.Format(isoCpus)
                    )
                );
            }
        }
        if (irqaff is not null && CpuList.TryParse(irqaff, out var irqCpus, out _))
        {
            if (irqCpus.Intersect(nohzCpus).Any())
                problems.Add($"irqaffinity sends IRQs to tickless CPUs {CpuList.Format(irqCpus.Intersect(nohzCpus))}");
            var bare = f
                .Numa.Nodes.Where(n => n.Cpus.Count > 0 && !n.Cpus.Any(irqCpus.Contains))
                .Select(n => n.Id)
                .ToList();
            if (bare.Count > 0)
                problems.Add($"irqaffinity leaves node {string.Join(", ", bare)} without an IRQ CPU");
            if (problems.Count > 0 && (irqCpus.Intersect(nohzCpus).Any() || bare.Count > 0))
                changes.Add(new KernelArgument(S, "irqaffinity", CpuList.Format(f.Cpu.Online.Except(nohzCpus))));
        }
        if (f.Kernel.Config?.Get("CONFIG_RCU_NOCB_CPU") == "n")
            problems.Add("kernel built without CONFIG_RCU_NOCB_CPU: RCU callbacks still run on tickless CPUs");
        return Rule.Make(
            id,
            S,
            title,
            problems.Count == 0 ? FindingStatus.Pass : FindingStatus.Warn,
            current + (problems.Count == 0 ? "" : " — " + string.Join("; ", problems)),
            "isolcpus within nohz_full with managed_irq, irqaffinity on housekeeping CPUs of every node",
            rationale,
            evidence,
            changes
        );
    }
}
