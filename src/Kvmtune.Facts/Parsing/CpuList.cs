using System.Text;

namespace Kvmtune.Facts.Parsing;

/// <summary>The kernel's CPU-list format ("0-3,8,10-11"), as in cpulist files and nohz_full=.</summary>
public static class CpuList
{
    /// <summary>The largest CPU id accepted; the kernel's own NR_CPUS limit is 8192.</summary>
    public const int MaxCpu = 65535;

    public static IReadOnlyList<int> Parse(string text)
    {
        if (TryParse(text, out var cpus, out var error))
            return cpus;
        throw new ParseException(error!);
    }

    public static bool TryParse(string? text, out IReadOnlyList<int> cpus, out string? error)
    {
        cpus = [];
        error = null;
        if (text is null)
        {
            error = "CPU list is missing";
            return false;
        }
        var trimmed = text.TrimEnd('\0', '\n', ' ', '\t', '\r').TrimStart();
        var set = new SortedSet<int>();
        if (trimmed.Length == 0)
            return true; // an empty list is valid: a CPU-less node writes one
        foreach (var part in trimmed.Split(','))
        {
            var dash = part.IndexOf('-');
            if (dash < 0)
            {
                if (!TryCpu(part, out var single))
                {
                    error = Bad(text, part);
                    return false;
                }
                set.Add(single);
                continue;
            }
            // "a-b:g/n" (group stride) is also kernel syntax for nohz_full= and isolcpus=.
            var range = part;
            int group = 0,
                used = 0;
            var colon = part.IndexOf(':');
            if (colon >= 0)
            {
                range = part[..colon];
                var stride = part[(colon + 1)..].Split('/');
                if (
                    stride.Length != 2
                    || !TryCpu(stride[0], out used)
                    || !TryCpu(stride[1], out group)
                    || group == 0
                    || used > group
                )
                {
                    error = Bad(text, part);
                    return false;
                }
            }
            var bounds = range.Split('-');
            if (bounds.Length != 2 || !TryCpu(bounds[0], out var lo) || !TryCpu(bounds[1], out var hi) || lo > hi)
            {
                error = Bad(text, part);
                return false;
            }
            for (var cpu = lo; cpu <= hi; cpu++)
                if (group == 0 || (cpu - lo) % group < used)
                    set.Add(cpu);
        }
        cpus = [.. set];
        return true;
    }

    /// <summary>The list as the kernel writes it: a range for every run of two or more.</summary>
    public static string Format(IEnumerable<int> cpus)
    {
        var sorted = cpus.Distinct().Order().ToArray();
        var sb = new StringBuilder();
        for (var i = 0; i < sorted.Length;)
        {
            var j = i;
            while (j + 1 < sorted.Length && sorted[j + 1] == sorted[j] + 1)
                j++;
            if (sb.Length > 0)
                sb.Append(',');
            sb.Append(sorted[i]);
            if (j > i)
                sb.Append('-').Append(sorted[j]);
            i = j + 1;
        }
        return sb.ToString();
    }

    private static bool TryCpu(string s, out int cpu) =>
        int.TryParse(
            s,
            System.Globalization.NumberStyles.None,
            System.Globalization.CultureInfo.InvariantCulture,
            out cpu
        )
        && cpu <= MaxCpu;

    private static string Bad(string text, string part) =>
        $"not a CPU list: '{Printable(text)}' (at '{Printable(part)}'; expected ids 0-{MaxCpu} such as 0-3,8)";

    internal static string Printable(string s)
    {
        var sb = new StringBuilder();
        foreach (var c in s.Length > 80 ? s[..80] + "..." : s)
            sb.Append(char.IsControl(c) ? $"\\x{(int)c:x2}" : c);
        return sb.ToString();
    }
}
