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
        // Spans, not Split: a 4,096-CPU mask file or a long list is read for every CPU and device.
        var rest = text.AsSpan().TrimEnd("\0\n \t\r").TrimStart();
        if (rest.IsEmpty)
            return true; // an empty list is valid: a CPU-less node writes one
        var list = new List<int>();
        // Null while the parts come in ascending order, which bounds the list by MaxCpu + 1; from the first part
        // out of order or overlapping ("8,0-3", "0-3,2"), a bitmap of the CPUs already in, so a hostile
        // "0-65535,0-65535,..." costs 8 KiB, not 256 KiB a part.
        ulong[]? seen = null;
        while (true)
        {
            var comma = rest.IndexOf(',');
            var part = comma < 0 ? rest : rest[..comma];
            if (!TryPart(part, list, ref seen))
            {
                error = Bad(text, part.ToString());
                return false;
            }
            if (comma < 0)
                break;
            rest = rest[(comma + 1)..];
        }
        if (seen is not null)
        {
            // The result is a set, in order.
            list.Clear();
            for (var w = 0; w < seen.Length; w++)
                for (var bits = seen[w]; bits != 0; bits &= bits - 1)
                    list.Add(w * 64 + System.Numerics.BitOperations.TrailingZeroCount(bits));
        }
        cpus = list;
        return true;
    }

    /// <summary>One part: "n", "a-b" or "a-b:used/group" (group stride, kernel syntax for nohz_full= and
    /// isolcpus=).</summary>
    private static bool TryPart(ReadOnlySpan<char> part, List<int> list, ref ulong[]? seen)
    {
        var dash = part.IndexOf('-');
        if (dash < 0)
        {
            if (!TryCpu(part, out var single))
                return false;
            Add(list, single, ref seen);
            return true;
        }
        var range = part;
        int group = 0,
            used = 0;
        var colon = part.IndexOf(':');
        if (colon >= 0)
        {
            range = part[..colon];
            var stride = part[(colon + 1)..];
            var slash = stride.IndexOf('/');
            if (
                slash < 0
                || !TryCpu(stride[..slash], out used)
                || !TryCpu(stride[(slash + 1)..], out group)
                || group == 0
                || used > group
            )
                return false;
        }
        dash = range.IndexOf('-');
        if (
            dash < 0
            || !TryCpu(range[..dash], out var lo)
            || !TryCpu(range[(dash + 1)..], out var hi)
            || lo > hi
        )
            return false;
        for (var cpu = lo; cpu <= hi; cpu++)
            if (group == 0 || (cpu - lo) % group < used)
                Add(list, cpu, ref seen);
        return true;
    }

    private static void Add(List<int> list, int cpu, ref ulong[]? seen)
    {
        if (seen is null)
        {
            if (list.Count == 0 || list[^1] < cpu)
            {
                list.Add(cpu);
                return;
            }
            seen = new ulong[MaxCpu / 64 + 1];
            foreach (var c in list)
                seen[c / 64] |= 1UL << (c % 64);
        }
        seen[cpu / 64] |= 1UL << (cpu % 64);
    }

    /// <summary>The list as the kernel writes it: a range for every run of two or more.</summary>
    public static string Format(IEnumerable<int> cpus)
    {
        // Sorted in place, repeats stepped over, rather than LINQ's Distinct and Order: this runs for every CPU, and
        // LINQ's shared code resolves its interface calls again for each element type at every start.
        var sorted = new List<int>(cpus);
        sorted.Sort();
        var sb = new StringBuilder();
        for (var i = 0; i < sorted.Count;)
        {
            var j = i;
            while (j + 1 < sorted.Count && (sorted[j + 1] == sorted[j] || sorted[j + 1] == sorted[j] + 1))
                j++;
            if (sb.Length > 0)
                sb.Append(',');
            sb.Append(sorted[i]);
            if (sorted[j] != sorted[i])
                sb.Append('-').Append(sorted[j]);
            i = j + 1;
        }
        return sb.ToString();
    }

    private static bool TryCpu(ReadOnlySpan<char> s, out int cpu) =>
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
