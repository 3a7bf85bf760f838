using Kvmtune.Facts.Parsing;
using Kvmtune.Guide.Audit;
using Kvmtune.Guide.Profiles;

namespace Kvmtune.Guide.Sections;

/// <summary>Small helpers every rule uses to state a finding the same way.</summary>
internal static class Rule
{
    public static Finding Make(
        string id,
        string section,
        string title,
        FindingStatus status,
        string? current,
        string? expected,
        string rationale,
        IEnumerable<string> evidence,
        params PlannedChange[] changes
    ) => new(id, section, title, status, current, expected, evidence.Distinct().ToList(), rationale, changes);

    public static Finding Make(
        string id,
        string section,
        string title,
        FindingStatus status,
        string? current,
        string? expected,
        string rationale,
        IEnumerable<string> evidence,
        IEnumerable<PlannedChange> changes
    ) => new(id, section, title, status, current, expected, evidence.Distinct().ToList(), rationale, changes.ToList());

    /// <summary>The status a missed requirement earns: required fails, recommended warns, anything else is
    /// information.</summary>
    public static FindingStatus Missed(Need requirement) =>
        requirement switch
        {
            Need.Required => FindingStatus.Fail,
            Need.Recommended => FindingStatus.Warn,
            Need.Any => FindingStatus.Info,
            _ => throw new ArgumentOutOfRangeException(nameof(requirement)),
        };

    public static string YesNo(bool? b) =>
        b switch
        {
            true => "yes",
            false => "no",
            _ => "unknown",
        };

    public static Finding NotApplicable(string id, string section, string title, string why) =>
        new(id, section, title, FindingStatus.Info, "not applicable", null, [], why, []);

    public static string Cpus(IEnumerable<int> cpus) => CpuList.Format(cpus);
}
