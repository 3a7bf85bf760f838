using Kvmtune.Guide.Audit;

namespace Kvmtune.Guide.Sections;

/// <summary>The kernel values a custom profile sets by path (its sysfs section), each checked like a built-in
/// setting.</summary>
public static partial class ProfileSysfs
{
    public static IEnumerable<Finding> Evaluate(AuditContext c)
    {
        foreach (var (path, want) in c.Profile.SysfsWrites)
        {
            var id = "profile.sysfs." + path.Trim('/').Replace('/', '.');
            var current = c.ProfileValues is { } values && values.TryGetValue(path, out var v) ? v : null;
            var rationale = $"set by profile {c.Profile.Name}";
            if (current is null)
            {
                yield return Rule.Make(
                    id,
                    "profile",
                    path,
                    FindingStatus.Unknown,
                    "unreadable",
                    want,
                    rationale,
                    [path]
                );
                continue;
            }
            yield return current == want
                ? Rule.Make(id, "profile", path, FindingStatus.Pass, current, want, rationale, [path])
                : Rule.Make(
                    id,
                    "profile",
                    path,
                    FindingStatus.Fail,
                    current,
                    want,
                    rationale,
                    [path],
                    new SysfsWrite("profile", path, want)
                );
        }
    }
}
