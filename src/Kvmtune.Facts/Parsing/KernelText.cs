namespace Kvmtune.Facts.Parsing;

/// <summary>Small shapes that recur across sysfs and procfs.</summary>
public static class KernelText
{
    /// <summary>A choice file such as THP's "always [madvise] never": the bracketed entry and all entries.</summary>
    public static (string? Selected, IReadOnlyList<string> Options) Choice(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
            return (null, []);
        string? selected = null;
        var options = new List<string>();
        foreach (var raw in text.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (raw.StartsWith('[') && raw.EndsWith(']'))
            {
                selected = raw[1..^1];
                options.Add(selected);
            }
            else
                options.Add(raw);
        }
        // A file with a single entry and no brackets (a scheduler "none") has that entry selected.
        if (selected is null && options.Count == 1)
            selected = options[0];
        return (selected, options);
    }

    /// <summary>"Key:   value kB" lines (meminfo, per-node meminfo with its "Node N " prefix) to a map of kB
    /// values.</summary>
    public static IReadOnlyDictionary<string, long> MemInfo(string? text)
    {
        var map = new Dictionary<string, long>(StringComparer.Ordinal);
        if (text is null)
            return map;
        // Over the text: a string for each key kept, none for the lines and values.
        foreach (var range in text.AsSpan().Split('\n'))
        {
            var line = text.AsSpan()[range];
            var colon = line.IndexOf(':');
            if (colon < 0)
                continue;
            var key = line[..colon].Trim();
            if (key.StartsWith("Node ", StringComparison.Ordinal))
            {
                var rest = key[5..];
                var space = rest.IndexOf(' ');
                if (space >= 0)
                    key = rest[(space + 1)..];
            }
            var value = line[(colon + 1)..].Trim();
            if (value.EndsWith(" kB", StringComparison.Ordinal))
                value = value[..^3].Trim();
            if (long.TryParse(value, out var v))
                map[key.ToString()] = v;
        }
        return map;
    }

    /// <summary>A size such as "2048kB" in a hugepages directory name ("hugepages-2048kB") in KiB.</summary>
    public static long? HugePageDirSize(string name)
    {
        const string prefix = "hugepages-";
        if (!name.StartsWith(prefix, StringComparison.Ordinal) || !name.EndsWith("kB", StringComparison.Ordinal))
            return null;
        return long.TryParse(name[prefix.Length..^2], out var kib) ? kib : null;
    }

    /// <summary>
    /// Whether a name is a PCI address "dddd:bb:dd.f". The kernel prints the domain with "%04x", so a domain
    /// above 0xffff (Intel VMD puts its devices in domains from 0x10000) has more digits: "10000:00:00.0".
    /// </summary>
    public static bool IsPciAddress(string s)
    {
        var d = s.Length - 8; // the domain's digits: all but ":bb:dd.f"
        return d is >= 4 and <= 8
            && s[d] == ':'
            && s[d + 3] == ':'
            && s[d + 6] == '.'
            && IsHex(s.AsSpan(0, d))
            && IsHex(s.AsSpan(d + 1, 2))
            && IsHex(s.AsSpan(d + 4, 2))
            && s[d + 7] is >= '0' and <= '7';
    }

    /// <summary>The last PCI address in a sysfs path: the device a block device or NIC hangs off.</summary>
    public static string? LastPciAddress(string? path)
    {
        if (path is null)
            return null;
        string? found = null;
        foreach (var part in path.Split('/'))
            if (IsPciAddress(part))
                found = part;
        return found;
    }

    private static bool IsHex(ReadOnlySpan<char> s)
    {
        foreach (var c in s)
            if (!char.IsAsciiHexDigit(c))
                return false;
        return true;
    }

    /// <summary>A number followed by a name ("nodeN", "cpuN", "regionN") or null.</summary>
    public static int? Suffix(string name, string prefix) =>
        name.StartsWith(prefix, StringComparison.Ordinal)
        && name.Length > prefix.Length
        && int.TryParse(name.AsSpan(prefix.Length), System.Globalization.NumberStyles.None, null, out var n)
            ? n
            : null;
}
