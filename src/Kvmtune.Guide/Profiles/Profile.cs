namespace Kvmtune.Guide.Profiles;

/// <summary>A setting's value in a profile, with the reason for it.</summary>
public sealed record ProfileSetting(SettingDefinition Definition, SettingValue Value, string Reason, string DefinedBy);

/// <summary>
/// A named set of settings: a built-in, or a custom profile that inherits one and overrides some settings.
/// Every setting of <see cref="ProfileSchema"/> has a value once inheritance is resolved. Rules read it through the
/// typed settings (<see cref="Get{T}(ChoiceSetting{T})"/>), never by a string key.
/// </summary>
public sealed record Profile(
    string Name,
    string Description,
    string? Inherits,
    IReadOnlyDictionary<SettingDefinition, ProfileSetting> Settings,
    IReadOnlyDictionary<string, string> SysfsWrites,
    string? Source
)
{
    public T Get<T>(ChoiceSetting<T> setting)
        where T : struct, Enum => ((ChoiceValue<T>)Of(setting).Value).Value;

    public bool Get(BoolSetting setting) => ((BoolValue)Of(setting).Value).Value;

    public long Get(IntegerSetting setting) => ((IntegerValue)Of(setting).Value).Value;

    public RangeValue Get(RangeSetting setting) => (RangeValue)Of(setting).Value;

    /// <summary>The value as the profile spells it, for messages and output.</summary>
    public string Text(SettingDefinition setting) => Of(setting).Value.Text;

    public string Reason(SettingDefinition setting) => Of(setting).Reason;

    private ProfileSetting Of(SettingDefinition setting) =>
        Settings.TryGetValue(setting, out var s)
            ? s
            : throw new KeyNotFoundException($"profile {Name} has no setting {setting.Key}");
}
