using Kvmtune.Core.Changes;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Kvmtune.Core.Profiles;

/// <summary>
/// Finds a profile by name: a built-in, a YAML file given by path, or NAME.yaml in the profile folder
/// (/etc/kvmtune/profiles). A custom profile inherits another and overrides settings; anything it does not
/// know is an error with file, line and key.
/// </summary>
public sealed class ProfileCatalog(string? profileDir = null)
{
    private const int MaxDepth = 8;
    private static readonly string[] TopKeys = ["name", "description", "inherits", "settings", "sysfs"];

    public string ProfileDir { get; } = profileDir ?? "/etc/kvmtune/profiles";

    public Profile Resolve(string nameOrPath) => Resolve(nameOrPath, null, 0);

    private Profile Resolve(string nameOrPath, string? relativeTo, int depth)
    {
        if (depth > MaxDepth) throw new InputException(relativeTo, null, "inherits", $"profiles inherit more than {MaxDepth} deep (a cycle?)");
        if (BuiltInProfiles.Get(nameOrPath) is Profile builtIn) return builtIn;
        var path = FindFile(nameOrPath, relativeTo);
        if (path is null)
            throw new InputException(relativeTo, null, relativeTo is null ? "--profile" : "inherits",
                $"unknown profile '{nameOrPath}' (built-in: {string.Join(", ", BuiltInProfiles.Names)}; or a YAML file, or NAME.yaml in {ProfileDir})");
        return Load(path, depth);
    }

    private string? FindFile(string nameOrPath, string? relativeTo)
    {
        var candidates = new List<string>();
        if (nameOrPath.Contains('/') || nameOrPath.EndsWith(".yaml", StringComparison.Ordinal) || nameOrPath.EndsWith(".yml", StringComparison.Ordinal))
        {
            candidates.Add(relativeTo is null ? nameOrPath : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(relativeTo))!, nameOrPath));
        }
        else
        {
            candidates.Add(Path.Combine(ProfileDir, nameOrPath + ".yaml"));
            candidates.Add(Path.Combine(ProfileDir, nameOrPath + ".yml"));
        }
        return candidates.FirstOrDefault(File.Exists);
    }

    private Profile Load(string path, int depth)
    {
        YamlMappingNode root;
        try
        {
            var stream = new YamlStream();
            using (var reader = new StreamReader(path)) stream.Load(reader);
            if (stream.Documents.Count != 1 || stream.Documents[0].RootNode is not YamlMappingNode m)
                throw new InputException(path, 1, null, "a profile is one YAML mapping (name, inherits, settings, sysfs)");
            root = m;
        }
        catch (YamlException e)
        {
            throw new InputException(path, e.Start.Line, null, $"not valid YAML: {e.Message}");
        }

        string? name = null, description = null, inherits = null;
        long inheritsLine = root.Start.Line;
        YamlMappingNode? settingsNode = null, sysfsNode = null;
        foreach (var (k, v) in root.Children)
        {
            var key = Scalar(path, k, "key");
            switch (key)
            {
                case "name": name = Scalar(path, v, key); break;
                case "description": description = Scalar(path, v, key); break;
                case "inherits": inherits = Scalar(path, v, key); inheritsLine = v.Start.Line; break;
                case "settings": settingsNode = v as YamlMappingNode ?? throw new InputException(path, v.Start.Line, key, "must be a mapping of setting: value"); break;
                case "sysfs": sysfsNode = v as YamlMappingNode ?? throw new InputException(path, v.Start.Line, key, "must be a mapping of /sys path: value"); break;
                default: throw new InputException(path, k.Start.Line, key, $"unknown key (a profile has {string.Join(", ", TopKeys)})");
            }
        }
        if (inherits is null) throw new InputException(path, root.Start.Line, "inherits", $"a custom profile must inherit one (built-in: {string.Join(", ", BuiltInProfiles.Names)})");
        name ??= Path.GetFileNameWithoutExtension(path);
        if (name.Length == 0 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
            throw new InputException(path, root.Start.Line, "name", $"'{name}' may use only letters, digits, '.', '_' and '-'");
        Profile parent;
        try
        {
            parent = Resolve(inherits, path, depth + 1);
        }
        catch (InputException e) when (e.File == path && e.Line is null)
        {
            throw new InputException(path, inheritsLine, e.Key, e.Problem);
        }

        var settings = new Dictionary<string, ProfileSetting>(parent.Settings, StringComparer.Ordinal);
        if (settingsNode is not null)
        {
            foreach (var (k, v) in settingsNode.Children)
            {
                var key = Scalar(path, k, "settings key");
                var def = ProfileSchema.Find(key) ?? throw new InputException(path, k.Start.Line, key, "unknown setting (see 'kvmtune profiles show balanced' for every setting)");
                var text = Scalar(path, v, key);
                var value = ProfileSchema.Parse(def, text, out var error) ?? throw new InputException(path, v.Start.Line, key, error!);
                settings[key] = new ProfileSetting(def, value, $"set by {Path.GetFileName(path)}", name);
            }
        }
        var sysfs = new Dictionary<string, string>(parent.SysfsWrites, StringComparer.Ordinal);
        if (sysfsNode is not null)
        {
            foreach (var (k, v) in sysfsNode.Children)
            {
                var p = Scalar(path, k, "sysfs key");
                if (!WriteAllowlist.IsAllowed(p, out var reason)) throw new InputException(path, k.Start.Line, p, $"refused: {reason}");
                sysfs[p] = Scalar(path, v, p);
            }
        }
        return new Profile(name, description ?? $"{name} (inherits {parent.Name})", parent.Name, settings, sysfs, path);
    }

    private static string Scalar(string file, YamlNode node, string key) =>
        node is YamlScalarNode { Value: not null } s ? s.Value : throw new InputException(file, node.Start.Line, key, "must be a single value");
}
