using Kvmtune.Guide.Audit;
using Kvmtune.Guide.Profiles;

namespace Kvmtune.Guide.Sections;

/// <summary>Guide 3.2.4, avoid entering C-states: idle=poll, and Pause Loop Exiting.</summary>
public static partial class Section3_2_4_CStates
{
    private const string S = "3.2.4";

    public static IEnumerable<Finding> Evaluate(AuditContext c)
    {
        yield return IdlePoll(c);
        yield return Ple(c);
    }

    private static Finding IdlePoll(AuditContext c)
    {
        const string id = "host.cpu.idle_poll",
            title = "idle=poll on the kernel command line";
        var want = c.Profile.Get(ProfileSchema.KernelIdlePoll);
        var wantText = c.Profile.Text(ProfileSchema.KernelIdlePoll);
        var evidence = new[] { "/proc/cmdline" };
        var rationale = c.Profile.Reason(ProfileSchema.KernelIdlePoll);
        var cmd = c.Facts.Kernel.CommandLine;
        if (cmd is null)
            return Rule.Make(id, S, title, FindingStatus.Unknown, "unknown", wantText, rationale, evidence);
        var idle = cmd.Value("idle");
        var current = idle is null ? "no idle= argument" : $"idle={idle}";
        return want switch
        {
            IdlePollRequirement.Required when idle == "poll" => Rule.Make(
                id,
                S,
                title,
                FindingStatus.Pass,
                current,
                "idle=poll",
                rationale,
                evidence
            ),
            // A trade-off, not a fault: kernel-parameters.txt calls idle=poll "not recommended" for its power and SMT
            // cost.
            IdlePollRequirement.Required => Rule.Make(
                id,
                S,
                title,
                FindingStatus.Warn,
                current,
                "idle=poll",
                rationale,
                evidence,
                new KernelArgument(S, "idle", "poll")
            ),
            IdlePollRequirement.Forbidden when idle == "poll" => Rule.Make(
                id,
                S,
                title,
                FindingStatus.Fail,
                current,
                "no idle=poll",
                rationale,
                evidence,
                new KernelArgument(S, "idle", null, Remove: true)
            ),
            IdlePollRequirement.Forbidden => Rule.Make(
                id,
                S,
                title,
                FindingStatus.Pass,
                current,
                "no idle=poll",
                rationale,
                evidence
            ),
            _ => Rule.Make(id, S, title, FindingStatus.Info, current, "any", rationale, evidence),
        };
    }

    private static Finding Ple(AuditContext c)
    {
        var k = c.Facts.Kernel;
        const string id = "host.kvm.ple",
            title = "Pause Loop Exiting";
        var want = c.Profile.Get(ProfileSchema.KvmPle);
        var rationale = c.Profile.Reason(ProfileSchema.KvmPle);
        if (c.Facts.Cpu.Architecture is not null && !c.Facts.Cpu.IsX86)
            return Rule.NotApplicable(id, S, title, "PLE is an x86 VT-x/AMD-V feature");
        // Intel: ple_gap=0 turns PLE off. AMD: pause_filter_count=0 does the same.
        // The CPU decides which module applies: an AMD host never gets kvm_intel options.
        var amd =
            c.Facts.Cpu.Virtualization == "svm"
            || c.Facts.Cpu.Vendor == "AuthenticAMD"
            || k.ModuleParameters.ContainsKey("kvm_amd");
        var (module, param, other) = amd
            ? ("kvm_amd", "pause_filter_count", "pause_filter_thresh")
            : ("kvm_intel", "ple_gap", "ple_window");
        var evidence = new[] { $"/sys/module/{module}/parameters/{param}", $"/sys/module/{module}/parameters/{other}" };
        var value = k.Param(module, param);
        if (value is null || !long.TryParse(value, out var gap))
            return Rule.Make(
                id,
                S,
                title,
                FindingStatus.Unknown,
                $"{module} not loaded",
                want == Toggle.Disabled ? $"{param}=0" : c.Profile.Text(ProfileSchema.KvmPle),
                rationale,
                evidence
            );
        var current = $"{param}={gap}, {other}={k.Param(module, other) ?? "?"}";
        var off = gap == 0;
        if (want == Toggle.Any)
            return Rule.Make(id, S, title, FindingStatus.Info, current, "any", rationale, evidence);
        if (off == (want == Toggle.Disabled))
            return Rule.Make(
                id,
                S,
                title,
                FindingStatus.Pass,
                current,
                want == Toggle.Disabled ? $"{param}=0" : $"{param}>0",
                rationale,
                evidence
            );
        if (want == Toggle.Disabled)
            return Rule.Make(
                id,
                S,
                title,
                FindingStatus.Warn,
                current,
                $"{param}=0 {other}=0",
                rationale,
                evidence,
                new ModuleOption(S, module, param, "0"),
                new ModuleOption(S, module, other, "0")
            );
        return Rule.Make(
            id,
            S,
            title,
            FindingStatus.Warn,
            current,
            $"{param} at the kernel default",
            rationale,
            evidence,
            new ManualStep(S, $"remove the {param}= option from /etc/modprobe.d and reload {module}")
        );
    }
}
