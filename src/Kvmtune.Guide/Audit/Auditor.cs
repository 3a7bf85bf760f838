using Kvmtune.Facts;
using Kvmtune.Facts.Host;
using Kvmtune.Facts.Host.Virtualization;
using Kvmtune.Facts.IO;
using Kvmtune.Facts.Parsing;
using Kvmtune.Guide.Profiles;
using Kvmtune.Guide.Sections;

namespace Kvmtune.Guide.Audit;

/// <summary>The rules for one section of the guide, and the role of machine they judge.</summary>
public sealed record RuleSet(
    string Section,
    string Title,
    MachineRole AppliesTo,
    Func<AuditContext, IEnumerable<Finding>> Evaluate
);

public sealed record AuditSummary(int Pass, int Warn, int Fail, int Info, int Unknown);

public sealed record AuditReport(string Profile, MachineRole Role, IReadOnlyList<Finding> Findings, string? Host = null)
{
    public AuditSummary Summary =>
        new(
            Findings.Count(f => f.Status == FindingStatus.Pass),
            Findings.Count(f => f.Status == FindingStatus.Warn),
            Findings.Count(f => f.Status == FindingStatus.Fail),
            Findings.Count(f => f.Status == FindingStatus.Info),
            Findings.Count(f => f.Status == FindingStatus.Unknown)
        );

    public bool AnyFail => Findings.Any(f => f.Status == FindingStatus.Fail);
}

/// <summary>Runs every rule that applies to the machine's role, in the guide's order.</summary>
public static class Auditor
{
    public static readonly IReadOnlyList<RuleSet> RuleSets =
    [
        new("2", "Hardware sizing", MachineRole.Host, Section2_Sizing.Evaluate),
        new("2.1", "BIOS settings", MachineRole.Host, Section2_1_Bios.Evaluate),
        new("3.1", "KVM/QEMU prerequisites (virt-host-validate)", MachineRole.Host, VirtHostValidate.Evaluate),
        new("3.2.1", "NUMA affinity", MachineRole.Host, Section3_2_1_Numa.Evaluate),
        new("3.2.2", "Processor frequency", MachineRole.Host, Section3_2_2_Frequency.Evaluate),
        new("3.2.3", "Huge pages", MachineRole.Host, Section3_2_3_HugePages.Evaluate),
        new("3.2.4", "C-states and PLE", MachineRole.Host, Section3_2_4_CStates.Evaluate),
        new("3.2.5", "Kernel Samepage Merging", MachineRole.Host, Section3_2_5_Ksm.Evaluate),
        new("3.2.6", "KVM halt polling", MachineRole.Host, Section3_2_6_HaltPolling.Evaluate),
        new("3.2.7", "Exitless local APIC timer", MachineRole.Host, Section3_2_7_Nohz.Evaluate),
        new("3.3", "QEMU tuning prerequisites", MachineRole.Host, Section3_3_Qemu.Evaluate),
        new("3.4", "Guest kernel tuning", MachineRole.Guest, Section3_4_Guest.Evaluate),
        new("4", "Persistent memory", MachineRole.Host, Section4_Pmem.Evaluate),
        new("5", "QuickAssist", MachineRole.Host, Section5_Qat.Evaluate),
        new("conflicts", "Conflicting settings", MachineRole.Unknown, Conflicts.Evaluate),
        new("profile", "Custom profile values", MachineRole.Unknown, ProfileSysfs.Evaluate),
    ];

    /// <summary>
    /// The audit pipeline audit and apply share: the role asked for (null: the facts decide), the profile's own sysfs
    /// values read through the same reader, every rule.
    /// </summary>
    public static AuditReport Audit(
        HostReader reader,
        HostFacts facts,
        Profile profile,
        MachineRole? role,
        VmSize? vmSize,
        IReadOnlyCollection<string>? only = null,
        IReadOnlyCollection<string>? skip = null
    ) =>
        Run(
            new AuditContext(
                facts,
                profile,
                role ?? facts.Virtualization.Role,
                vmSize,
                AuditContext.ReadProfileValues(reader, profile)
            ),
            only,
            skip
        );

    public static AuditReport Run(
        AuditContext context,
        IReadOnlyCollection<string>? only = null,
        IReadOnlyCollection<string>? skip = null
    )
    {
        var role = context.Role == MachineRole.Unknown ? MachineRole.Host : context.Role;
        var ctx = context with { Role = role };
        var findings = new List<Finding>();
        if (context.Role == MachineRole.Unknown)
            findings.Add(
                new Finding(
                    "audit.role",
                    "3.1",
                    "Host or guest",
                    FindingStatus.Unknown,
                    "no evidence either way (cpuinfo and DMI unreadable)",
                    "host or guest",
                    ["/proc/cpuinfo", "/sys/class/dmi/id/sys_vendor"],
                    "Audited as a host; pass --role guest to audit guest settings instead",
                    []
                )
            );
        foreach (var set in RuleSets)
        {
            if (set.AppliesTo != MachineRole.Unknown && set.AppliesTo != role)
                continue;
            findings.AddRange(set.Evaluate(ctx));
        }
        CheckSelectors(findings, only, "--only");
        CheckSelectors(findings, skip, "--skip");
        var selected = findings
            .Where(f =>
                (only is null || only.Count == 0 || only.Any(o => Matches(f, o)))
                && (skip is null || !skip.Any(s => Matches(f, s)))
            )
            .ToList();
        return new AuditReport(context.Profile.Name, role, selected, context.Facts.Kernel.Hostname);
    }

    /// <summary>
    /// A selector that matches nothing is a typo, not an empty selection: "--skip host.cpu.govenor" must not run
    /// (or apply) the very check it meant to leave out.
    /// </summary>
    private static void CheckSelectors(List<Finding> findings, IReadOnlyCollection<string>? selectors, string option)
    {
        if (selectors is null)
            return;
        foreach (var s in selectors)
        {
            if (findings.Any(f => Matches(f, s)))
                continue;
            if (RuleSets.Any(r => r.Section == s || r.Section.StartsWith(s + ".", StringComparison.Ordinal)))
                continue;
            var ids = findings.Select(f => f.Id).Distinct().Order(StringComparer.Ordinal);
            throw new InputException(
                null,
                null,
                option,
                $"'{SafeText.Visible(s)}' matches no check; give an id, an id prefix or a guide section. "
                    + $"The checks: {string.Join(", ", ids)}"
            );
        }
    }

    /// <summary>The heading of a guide section, for sections that findings name below their rule set's own.</summary>
    public static string SectionTitle(string section) =>
        RuleSets.FirstOrDefault(s => s.Section == section)?.Title
        ?? section switch
        {
            "3.3.1" => "Host resource overcommit",
            "3.3.3" => "virtio-net and vhost-net",
            "3.3.4" => "virtio-blk",
            "3.4.1" => "Guest halt polling",
            "3.4.2" => "Request queue affinity",
            "4.1" => "App Direct mode",
            "4.2" => "App Direct NVDIMM for VMs",
            _ => "",
        };

    /// <summary>A selector names a finding id, an id prefix ("host.bios"), or a guide section ("3.2" takes 3.2.x
    /// too).</summary>
    public static bool Matches(Finding f, string selector) =>
        f.Id == selector
        || f.Id.StartsWith(selector + ".", StringComparison.Ordinal)
        || f.Section == selector
        || f.Section.StartsWith(selector + ".", StringComparison.Ordinal);
}
