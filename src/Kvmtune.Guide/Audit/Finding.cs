using System.Text.Json.Serialization;

namespace Kvmtune.Guide.Audit;

[JsonConverter(typeof(JsonStringEnumConverter<FindingStatus>))]
public enum FindingStatus
{
    [JsonStringEnumMemberName("pass")]
    Pass,

    [JsonStringEnumMemberName("info")]
    Info,

    [JsonStringEnumMemberName("warn")]
    Warn,

    [JsonStringEnumMemberName("fail")]
    Fail,

    [JsonStringEnumMemberName("unknown")]
    Unknown,
}

/// <summary>What a rule found: the state, what the profile wants, why, the files that show it, and the fix.</summary>
public sealed record Finding(
    string Id,
    string Section,
    string Title,
    FindingStatus Status,
    string? Current,
    string? Expected,
    IReadOnlyList<string> Evidence,
    string Rationale,
    [property: JsonIgnore] IReadOnlyList<PlannedChange> Changes
)
{
    /// <summary>The kernel, QEMU, libvirt or TuneD references that confirm or correct the guide here, and the
    /// kernels.</summary>
    public IReadOnlyList<string> Sources => Profiles.Sources.ForFinding(Id);

    public FindingFix Fix =>
        new(
            Changes.SelectMany(c => c.RuntimeCommands).ToList(),
            Changes.SelectMany(c => c.PersistentSteps).Distinct().ToList()
        );
}

public sealed record FindingFix(IReadOnlyList<string> Runtime, IReadOnlyList<string> Persistent);
