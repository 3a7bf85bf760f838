using System.Globalization;

namespace Kvmtune.Facts.Parsing;

/// <summary>Sizes as people and QEMU write them: "2M", "1G", "16GiB", "128k", "4096".</summary>
public static class Sizes
{
    public static bool TryParseBytes(string? text, out long bytes)
    {
        bytes = 0;
        if (string.IsNullOrWhiteSpace(text))
            return false;
        var s = text.Trim();
        var i = 0;
        while (i < s.Length && char.IsAsciiDigit(s[i]))
            i++;
        if (i == 0 || !long.TryParse(s.AsSpan(0, i), NumberStyles.None, CultureInfo.InvariantCulture, out var n))
            return false;
        var unit = s[i..].Trim().ToLowerInvariant();
        long mult = unit switch
        {
            "" or "b" => 1,
            "k" or "kb" or "kib" => 1L << 10,
            "m" or "mb" or "mib" => 1L << 20,
            "g" or "gb" or "gib" => 1L << 30,
            "t" or "tb" or "tib" => 1L << 40,
            _ => 0,
        };
        if (mult == 0)
            return false;
        try
        {
            bytes = checked(n * mult);
        }
        catch (OverflowException)
        {
            return false;
        }
        return true;
    }

    /// <summary>Bytes in the largest binary unit that divides them exactly: 1073741824 -> "1G".</summary>
    public static string ToQemu(long bytes)
    {
        foreach (var (suffix, shift) in new[] { ("T", 40), ("G", 30), ("M", 20), ("K", 10) })
            if (bytes != 0 && bytes % (1L << shift) == 0)
                return (bytes >> shift).ToString(CultureInfo.InvariantCulture) + suffix;
        return bytes.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// A count of pages of a size: "0 pages of 2 MiB". Not "0x2 MiB", which reads as a hexadecimal number.
    /// </summary>
    public static string Pages(long? count, long sizeKib) =>
        $"{count?.ToString(CultureInfo.InvariantCulture) ?? "?"} {(count == 1 ? "page" : "pages")} of "
        + $"{HumanKib(sizeKib)}";

    /// <summary>KiB for people: 1048576 -> "1 GiB", 2048 -> "2 MiB".</summary>
    public static string HumanKib(long kib)
    {
        if (kib >= 1L << 20 && kib % (1L << 20) == 0)
            return $"{kib >> 20} GiB";
        if (kib >= 1L << 20)
            return $"{kib / (double)(1L << 20):0.0} GiB";
        if (kib >= 1L << 10 && kib % (1L << 10) == 0)
            return $"{kib >> 10} MiB";
        if (kib >= 1L << 10)
            return $"{kib / 1024.0:0.0} MiB";
        return $"{kib} KiB";
    }
}
