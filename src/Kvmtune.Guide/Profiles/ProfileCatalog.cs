using System.Text.RegularExpressions;
using Kvmtune.Facts;
using Kvmtune.Facts.IO;
using Kvmtune.Facts.Parsing;
using YamlDotNet.RepresentationModel;

namespace Kvmtune.Guide.Profiles;

/// <summary>
/// Finds a profile by name: a built-in, a YAML file given by path, or NAME.yaml in the profile folder
/// (/etc/kvmtune/profiles). A custom profile inherits another and overrides settings; anything it does not
/// know is an error with file, line and key.
/// </summary>
public sealed partial class ProfileCatalog(string? profileDir = null)
{
    private const int MaxDepth = 8;
    private static readonly string[] TopKeys = ["name", "description", "inherits", "settings", "sysfs"];

    public string ProfileDir { get; } = profileDir ?? "/etc/kvmtune/profiles";

    public Profile Resolve(string nameOrPath) => Resolve(nameOrPath, null, 0);

    private Profile Resolve(string nameOrPath, string? relativeTo, int depth)
    {
        if (depth > MaxDepth)
            throw new InputException(
                relativeTo,
                null,
                "inherits",
                $"profiles inherit more than {MaxDepth} deep (a cycle?)"
            );
        if (BuiltInProfiles.Get(nameOrPath) is Profile builtIn)
            return builtIn;
        var option = relativeTo is null ? "--profile" : "inherits";
        var builtIns = string.Join(", ", BuiltInProfiles.Names);
        if (nameOrPath.Length is 0 or > 4096 || SafeText.HasControl(nameOrPath))
            throw new InputException(
                relativeTo,
                null,
                option,
                $"'{SafeText.Visible(nameOrPath)}' is not a profile name or a file name (built-in: {builtIns})"
            );
        // inherits: names a profile, never an arbitrary file; a foreign file's text must not reach an error message.
        if (relativeTo is not null && nameOrPath.Contains('/') && !IsYamlName(nameOrPath))
            throw new InputException(
                relativeTo,
                null,
                option,
                $"'{nameOrPath}' is neither a built-in profile ({builtIns}) nor a profile YAML file (.yaml or .yml)"
            );
        var path = FindFile(nameOrPath, relativeTo);
        if (path is null)
            throw new InputException(
                relativeTo,
                null,
                option,
                $"unknown profile '{nameOrPath}' (built-in: {builtIns}; or a YAML file, or NAME.yaml in {ProfileDir})"
            );
        return Load(path, depth);
    }

    /// <summary>
    /// The custom profiles in the profile folder, by the name --profile takes, with their files: NAME.yaml and
    /// NAME.yml as Resolve finds them (.yaml first when both exist).
    /// </summary>
    public IReadOnlyList<(string Name, string File)> Custom()
    {
        if (!Directory.Exists(ProfileDir))
            return [];
        return Directory
            .GetFiles(ProfileDir)
            .Where(f => IsYamlName(Path.GetFileName(f)))
            .Select(f => (Name: Path.GetFileNameWithoutExtension(f), File: f))
            .GroupBy(p => p.Name, StringComparer.Ordinal)
            .Select(g => g.OrderBy(p => p.File.EndsWith(".yml", StringComparison.Ordinal) ? 1 : 0).First())
            .OrderBy(p => p.Name, StringComparer.Ordinal)
            .ToList();
    }

    private static bool IsYamlName(string name) =>
        name.EndsWith(".yaml", StringComparison.Ordinal) || name.EndsWith(".yml", StringComparison.Ordinal);

    private string? FindFile(string nameOrPath, string? relativeTo)
    {
        var candidates = new List<string>();
        if (nameOrPath.Contains('/') || IsYamlName(nameOrPath))
        {
            var dir = relativeTo is null ? null : Path.GetDirectoryName(Path.GetFullPath(relativeTo))!;
            candidates.Add(dir is null ? nameOrPath : Path.Combine(dir, nameOrPath));
        }
        else
        {
            candidates.Add(Path.Combine(ProfileDir, nameOrPath + ".yaml"));
            candidates.Add(Path.Combine(ProfileDir, nameOrPath + ".yml"));
        }
        // Existence only; InputFile decides whether it is a file kvmtune will read.
        return candidates.FirstOrDefault(c => File.Exists(c) || Directory.Exists(c));
    }

    private Profile Load(string path, int depth)
    {
        // A regular file of at most 1 MiB: /dev/zero or a FIFO is an error, not a hang.
        var stream = YamlText.Load(InputFile.ReadText(path), path);
        if (stream.Documents.Count != 1 || stream.Documents[0].RootNode is not YamlMappingNode root)
            throw new InputException(path, 1, null, "a profile is one YAML mapping (name, inherits, settings, sysfs)");

        string? name = null,
            description = null,
            inherits = null;
        long inheritsLine = root.Start.Line;
        YamlMappingNode? settingsNode = null,
            sysfsNode = null;
        foreach (var (k, v) in root.Children)
        {
            var key = Scalar(path, k, "key");
            switch (key)
            {
                case "name":
                    name = Scalar(path, v, key);
                    break;
                case "description":
                    description = Line(path, v, key);
                    break;
                case "inherits":
                    inherits = Scalar(path, v, key);
                    inheritsLine = v.Start.Line;
                    break;
                case "settings":
                    settingsNode =
                        v as YamlMappingNode
                        ?? throw new InputException(path, v.Start.Line, key, "must be a mapping of setting: value");
                    break;
                case "sysfs":
                    sysfsNode =
                        v as YamlMappingNode
                        ?? throw new InputException(path, v.Start.Line, key, "must be a mapping of /sys path: value");
                    break;
                default:
                    throw new InputException(
                        path,
                        k.Start.Line,
                        key,
                        $"unknown key (a profile has {string.Join(", ", TopKeys)})"
                    );
            }
        }
        if (inherits is null)
            throw new InputException(
                path,
                root.Start.Line,
                "inherits",
                $"a custom profile must inherit one (built-in: {string.Join(", ", BuiltInProfiles.Names)})"
            );
        name ??= Path.GetFileNameWithoutExtension(path);
        if (name.Length == 0 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
            throw new InputException(
                path,
                root.Start.Line,
                "name",
                $"'{SafeText.Visible(name)}' may use only letters, digits, '.', '_' and '-'"
            );
        Profile parent;
        try
        {
            parent = Resolve(inherits, path, depth + 1);
        }
        catch (InputException e) when (e.File == path && e.Line is null)
        {
            throw new InputException(path, inheritsLine, e.Key, e.Problem);
        }

        var settings = new Dictionary<SettingDefinition, ProfileSetting>(parent.Settings);
        if (settingsNode is not null)
        {
            foreach (var (k, v) in settingsNode.Children)
            {
                var key = Scalar(path, k, "settings key");
                var def =
                    ProfileSchema.Find(key)
                    ?? throw new InputException(
                        path,
                        k.Start.Line,
                        key,
                        "unknown setting (see 'kvmtune profiles show balanced' for every setting)"
                    );
                var text = Token(path, v, key);
                var value =
                    def.Parse(text, out var error) ?? throw new InputException(path, v.Start.Line, key, error!);
                settings[def] = new ProfileSetting(def, value, $"set by {Path.GetFileName(path)}", name);
            }
        }
        var sysfs = new Dictionary<string, string>(parent.SysfsWrites, StringComparer.Ordinal);
        if (sysfsNode is not null)
        {
            foreach (var (k, v) in sysfsNode.Children)
            {
                var p = Scalar(path, k, "sysfs key");
                if (SafeText.HasControl(p))
                    throw new InputException(
                        path,
                        k.Start.Line,
                        SafeText.Visible(p),
                        "refused: a control character in a path"
                    );
                if (!WriteAllowlist.IsAllowed(p, out var reason))
                    throw new InputException(path, k.Start.Line, p, $"refused: {reason}");
                var value = Token(path, v, p);
                if (!WriteAllowlist.AcceptsValue(p, value, out var grammar))
                    throw new InputException(path, v.Start.Line, p, $"refused: {grammar}");
                sysfs[p] = value;
            }
        }
        return new Profile(name, description ?? $"{name} (inherits {parent.Name})", parent.Name, settings, sysfs, path);
    }

    private static string Scalar(string file, YamlNode node, string key) =>
        node is YamlScalarNode { Value: not null } s
            ? s.Value
            : throw new InputException(file, node.Start.Line, key, "must be a single value");

    /// <summary>
    /// A value kvmtune writes to the kernel or compares with it: one token (a number, a word, a CPU list, a mask).
    /// Nothing that could end a line of a config file or mean something to a shell: no space, quote, $, ;, |, &amp;.
    /// </summary>
    private static string Token(string file, YamlNode node, string key)
    {
        var text = Scalar(file, node, key);
        if (text.Length == 0)
            throw new InputException(file, node.Start.Line, key, "is empty");
        if (!TokenRegex().IsMatch(text))
            throw new InputException(
                file,
                node.Start.Line,
                key,
                $"'{SafeText.Visible(text)}' is not one value: "
                    + "use only letters, digits and _ . , : + - (1 to 256 characters)"
            );
        return text;
    }

    /// <summary>Free text shown to people: one line, no control characters.</summary>
    private static string Line(string file, YamlNode node, string key)
    {
        var text = Scalar(file, node, key);
        if (text.Length > 1024 || SafeText.HasControl(text))
            throw new InputException(
                file,
                node.Start.Line,
                key,
                "must be one line of at most 1024 characters without control characters"
            );
        return text;
    }

    [GeneratedRegex("^[A-Za-z0-9_.,:+-]{1,256}\\z")]
    private static partial Regex TokenRegex();
}
