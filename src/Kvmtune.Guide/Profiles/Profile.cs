namespace Kvmtune.Guide.Profiles;

/// <summary>A setting's value in a profile, with the reason for it.</summary>
public sealed record ProfileSetting(SettingDefinition Definition, SettingValue Value, string Reason, string DefinedBy);

/// <summary>
/// A named set of settings: a built-in, or a custom profile that inherits one and overrides some settings.
/// Every key of <see cref="ProfileSchema"/> has a value once inheritance is resolved.
/// </summary>
public sealed record Profile(
    string Name,
    string Description,
    string? Inherits,
    IReadOnlyDictionary<string, ProfileSetting> Settings,
    IReadOnlyDictionary<string, string> SysfsWrites,
    string? Source
)
{
    public SettingValue Value(string key) =>
        Settings.TryGetValue(key, out var s)
            ? s.Value
            : throw new KeyNotFoundException($"profile {Name} has no setting {key}");

    public string Choice(string key) => ((ChoiceValue)Value(key)).Value;

    public bool Bool(string key) => ((BoolValue)Value(key)).Value;

    public long Integer(string key) => ((IntegerValue)Value(key)).Value;

    public RangeValue Range(string key) => (RangeValue)Value(key);

    public string Reason(string key) => Settings[key].Reason;
}
