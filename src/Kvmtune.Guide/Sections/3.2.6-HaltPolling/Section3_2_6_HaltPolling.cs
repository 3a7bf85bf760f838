using Kvmtune.Guide.Audit;
using Kvmtune.Guide.Profiles;

namespace Kvmtune.Guide.Sections;

/// <summary>Guide 3.2.6, KVM halt polling: halt_poll_ns and its grow and shrink factors in the profile's
/// range.</summary>
public static partial class Section3_2_6_HaltPolling
{
    private const string S = "3.2.6";

    public static IEnumerable<Finding> Evaluate(AuditContext c)
    {
        yield return Param(
            c,
            "host.kvm.halt_poll_ns",
            "KVM halt polling time",
            "halt_poll_ns",
            ProfileSchema.KvmHaltPollNs,
            FindingStatus.Warn
        );
        yield return Param(
            c,
            "host.kvm.halt_poll_ns_grow",
            "KVM halt polling growth",
            "halt_poll_ns_grow",
            ProfileSchema.KvmHaltPollNsGrow,
            FindingStatus.Warn
        );
        yield return Param(
            c,
            "host.kvm.halt_poll_ns_shrink",
            "KVM halt polling shrink",
            "halt_poll_ns_shrink",
            ProfileSchema.KvmHaltPollNsShrink,
            FindingStatus.Warn
        );
    }

    private static Finding Param(
        AuditContext c,
        string id,
        string title,
        string param,
        RangeSetting setting,
        FindingStatus missStatus
    )
    {
        var range = c.Profile.Get(setting);
        var evidence = new[] { $"/sys/module/kvm/parameters/{param}" };
        var rationale = c.Profile.Reason(setting);
        var text = c.Facts.Kernel.Param("kvm", param);
        if (text is null || !long.TryParse(text, out var v))
            return Rule.Make(
                id,
                S,
                title,
                FindingStatus.Unknown,
                text is null ? "kvm module not loaded" : text,
                range.Text,
                rationale,
                evidence
            );
        if (range.Contains(v))
            return Rule.Make(id, S, title, FindingStatus.Pass, $"{param}={v}", range.Text, rationale, evidence);
        return Rule.Make(
            id,
            S,
            title,
            missStatus,
            $"{param}={v}",
            range.Text,
            rationale,
            evidence,
            new ModuleParameter(S, "kvm", param, Section3_2_5_Ksm.Clamp(v, range).ToString())
        );
    }
}
