using System.Text;

namespace Kvmtune.Facts.Parsing;

/// <summary>The kernel's hex CPU mask ("00000000,0000ffff"): 32-bit words, most significant first.</summary>
public static class CpuMask
{
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
            error = "CPU mask is missing";
            return false;
        }
        // Spans, not Split: on a kernel built for 4,096 CPUs each mask is 128 words, read for every CPU.
        var trimmed = text.AsSpan().TrimEnd("\0\n \t\r").TrimStart();
        if (trimmed.Length == 0)
        {
            error = "not a CPU mask: '' (expected hex words such as 00000000,0000ffff)";
            return false;
        }
        var words = trimmed.Count(',') + 1;
        if ((long)words * 32 > CpuList.MaxCpu + 1)
        {
            error = $"not a CPU mask: '{CpuList.Printable(text)}' (more than {CpuList.MaxCpu + 1} bits)";
            return false;
        }
        // Least significant word first (the last one), so the CPUs come out in ascending order.
        var result = new List<int>();
        var rest = trimmed;
        for (var w = 0; w < words; w++)
        {
            var comma = rest.LastIndexOf(',');
            var word = rest[(comma + 1)..];
            rest = comma < 0 ? [] : rest[..comma];
            if (
                word.Length is 0 or > 8
                || !uint.TryParse(word, System.Globalization.NumberStyles.AllowHexSpecifier, null, out var bits)
            )
            {
                error =
                    $"not a CPU mask: '{CpuList.Printable(text)}' (at '{CpuList.Printable(word.ToString())}'; " +
                        "expected hex words of up to 8 digits)";
                return false;
            }
            for (; bits != 0; bits &= bits - 1)
                result.Add(w * 32 + System.Numerics.BitOperations.TrailingZeroCount(bits));
        }
        cpus = result;
        return true;
    }

    public static string Format(IEnumerable<int> cpus)
    {
        var set = cpus.ToArray();
        var words = set.Length == 0 ? 1 : set.Max() / 32 + 1;
        var bits = new uint[words];
        foreach (var c in set)
            bits[c / 32] |= 1u << (c % 32);
        var sb = new StringBuilder();
        for (var w = words - 1; w >= 0; w--)
        {
            if (sb.Length > 0)
                sb.Append(',');
            sb.Append(bits[w].ToString("x8"));
        }
        return sb.ToString();
    }
}
