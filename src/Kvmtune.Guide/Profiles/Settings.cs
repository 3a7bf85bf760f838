using System.Globalization;

namespace Kvmtune.Guide.Profiles;

/// <summary>
/// One setting a profile may give: its key, the guide section it implements, what it does, and how its text parses.
/// Each is declared once in <see cref="ProfileSchema"/>; rules read a profile through the typed subclasses, so no
/// rule names a setting by its string key.
/// </summary>
public abstract class SettingDefinition(string key, string section, string description)
{
    public string Key { get; } = key;
    public string Section { get; } = section;
    public string Description { get; } = description;

    /// <summary>Parses a profile's text for this setting; null with an error that says what is accepted.</summary>
    public abstract SettingValue? Parse(string text, out string? error);

    public override string ToString() => Key;
}

/// <summary>A setting that takes one of an enum's values, spelled as its <see cref="Spelling{T}"/> says;
/// <see cref="Choices"/> are the values it accepts, in the order its error message lists them.</summary>
public sealed class ChoiceSetting<T> : SettingDefinition
    where T : struct, Enum
{
    private readonly Spelling<T> _spelling;

    // An array, looped over, not LINQ: every choice setting is built at the start of every audit, and LINQ's shared
    // code resolves its interface calls again for each enum type (BENCHMARKS.md).
    private readonly T[] _choices;

    public ChoiceSetting(
        string key,
        string section,
        string description,
        Spelling<T> spelling,
        T[]? choices = null
    )
        : base(key, section, description)
    {
        _spelling = spelling;
        _choices = choices is null ? spelling.ValueArray() : (T[])choices.Clone();
        if (_choices.Length == 0 || !Spelling<T>.Distinct(_choices))
            throw new InvalidOperationException($"setting {key}: choices must be distinct and not empty");
        Choices = Array.AsReadOnly(_choices);
    }

    public IReadOnlyList<T> Choices { get; }

    /// <summary>The value as a profile spells it.</summary>
    public string Text(T value) => _spelling.Text(value);

    /// <summary>A value of this setting, for the built-in profiles; one it does not accept is a programming
    /// error.</summary>
    public ChoiceValue<T> Value(T value) =>
        Array.IndexOf(_choices, value) >= 0
            ? new ChoiceValue<T>(value, Text(value))
            : throw new ArgumentOutOfRangeException(nameof(value), $"{Key} does not accept {Text(value)}");

    public override SettingValue? Parse(string text, out string? error)
    {
        error = null;
        var t = text.Trim();
        foreach (var choice in _choices)
            if (Text(choice) == t)
                return new ChoiceValue<T>(choice, t);
        error = $"'{t}' is not one of {string.Join(", ", _choices.Select(Text))}";
        return null;
    }
}

public sealed class BoolSetting(string key, string section, string description)
    : SettingDefinition(key, section, description)
{
    public override SettingValue? Parse(string text, out string? error)
    {
        error = null;
        var t = text.Trim();
        if (t is "true" or "yes" or "on")
            return new BoolValue(true);
        if (t is "false" or "no" or "off")
            return new BoolValue(false);
        error = $"'{t}' is not true or false";
        return null;
    }
}

/// <summary>A whole number from Min to Max.</summary>
public sealed class IntegerSetting(string key, string section, string description, long min, long max)
    : SettingDefinition(key, section, description)
{
    public long Min { get; } = min;
    public long Max { get; } = max;

    public override SettingValue? Parse(string text, out string? error)
    {
        error = null;
        var t = text.Trim();
        if (
            long.TryParse(t, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n)
            && n >= Min
            && n <= Max
        )
            return new IntegerValue(n);
        error = $"'{t}' is not a whole number from {Min} to {Max}";
        return null;
    }
}

/// <summary>A number or an inclusive range MIN-MAX, within Min to Max.</summary>
public sealed class RangeSetting(string key, string section, string description, long min, long max)
    : SettingDefinition(key, section, description)
{
    public long Min { get; } = min;
    public long Max { get; } = max;

    public override SettingValue? Parse(string text, out string? error)
    {
        error = null;
        var t = text.Trim();
        var dash = t.IndexOf('-', 1);
        var lo = dash < 0 ? t : t[..dash];
        var hi = dash < 0 ? t : t[(dash + 1)..];
        if (
            long.TryParse(lo, NumberStyles.None, CultureInfo.InvariantCulture, out var a)
            && long.TryParse(hi, NumberStyles.None, CultureInfo.InvariantCulture, out var b)
            && a <= b
            && a >= Min
            && b <= Max
        )
            return new RangeValue(a, b);
        error = $"'{t}' is not a number or a range MIN-MAX within {Min}-{Max}";
        return null;
    }
}

/// <summary>A setting's value: one of the setting's choices, a boolean, a number, or an inclusive range.</summary>
public abstract record SettingValue
{
    /// <summary>The value as a profile spells it: YAML, <c>profiles show</c>, JSON output and messages.</summary>
    public abstract string Text { get; }
}

public sealed record ChoiceValue<T>(T Value, string Spelled) : SettingValue
    where T : struct, Enum
{
    public override string Text => Spelled;
}

public sealed record BoolValue(bool Value) : SettingValue
{
    public override string Text => Value ? "true" : "false";
}

public sealed record IntegerValue(long Value) : SettingValue
{
    public override string Text => Value.ToString(CultureInfo.InvariantCulture);
}

public sealed record RangeValue(long Min, long Max) : SettingValue
{
    public override string Text => Min == Max ? Min.ToString(CultureInfo.InvariantCulture) : $"{Min}-{Max}";

    public bool Contains(long v) => v >= Min && v <= Max;
}

/// <summary>
/// How profiles spell each value of a choice enum, stated once per enum and explicitly: custom profiles, docs and
/// JSON output depend on these words, so they never come from the enum's member names.
/// </summary>
public sealed class Spelling<T>
    where T : struct, Enum
{
    private readonly (T Value, string Text)[] _pairs;

    /// <summary>
    /// One pair per value of the enum, the texts distinct. That every value of the enum has its pair is held by
    /// <c>ProfileTests</c>: asked here, <c>Enum.GetValues</c> read every choice enum's reflection metadata at the start
    /// of every audit (3% of one).
    /// </summary>
    public Spelling(params (T Value, string Text)[] pairs)
    {
        _pairs = pairs;
        // Loops, not LINQ, as in ChoiceSetting; a handful of pairs each, so pairwise.
        var textsDistinct = true;
        for (var i = 0; i < pairs.Length; i++)
        {
            for (var j = 0; j < i; j++)
                textsDistinct &= pairs[i].Text != pairs[j].Text;
        }
        if (!textsDistinct || !Distinct(ValueArray()))
            throw new InvalidOperationException($"{typeof(T).Name}: every value needs exactly one distinct spelling");
    }

    /// <summary>Every value, in the order the spellings were given.</summary>
    public IReadOnlyList<T> Values => ValueArray();

    internal T[] ValueArray()
    {
        var values = new T[_pairs.Length];
        for (var i = 0; i < values.Length; i++)
            values[i] = _pairs[i].Value;
        return values;
    }

    /// <summary>Whether no value occurs twice (pairwise: a handful each).</summary>
    internal static bool Distinct(T[] values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            for (var j = 0; j < i; j++)
            {
                if (EqualityComparer<T>.Default.Equals(values[i], values[j]))
                    return false;
            }
        }
        return true;
    }

    public string Text(T value)
    {
        foreach (var (v, text) in _pairs)
            if (EqualityComparer<T>.Default.Equals(v, value))
                return text;
        throw new ArgumentOutOfRangeException(nameof(value), $"{typeof(T).Name} has no spelling for this value");
    }
}
