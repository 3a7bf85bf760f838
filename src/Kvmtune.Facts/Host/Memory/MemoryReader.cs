using Kvmtune.Facts.Host.Numa;
using Kvmtune.Facts.IO;
using Kvmtune.Facts.Parsing;

namespace Kvmtune.Facts.Host.Memory;

/// <summary>Reads /proc/meminfo, /proc/mounts and /sys/kernel/mm into <see cref="MemoryFacts"/>.</summary>
public static class MemoryReader
{
    public static MemoryFacts Read(HostReader r)
    {
        var meminfo = KernelText.MemInfo(r.ReadAll("/proc/meminfo"));
        long? defaultSize = meminfo.TryGetValue("Hugepagesize", out var hp) ? hp : null;
        const string thp = "/sys/kernel/mm/transparent_hugepage";
        var enabled = KernelText.Choice(r.ReadText(thp + "/enabled"));
        var defrag = KernelText.Choice(r.ReadText(thp + "/defrag"));
        const string ksm = "/sys/kernel/mm/ksm";
        return new MemoryFacts(
            meminfo.TryGetValue("MemTotal", out var t) ? t : null,
            meminfo.TryGetValue("MemFree", out var f) ? f : null,
            defaultSize,
            NumaReader.ReadPools(r, "/sys/kernel/mm/hugepages"),
            ReadHugetlbfsMounts(r, defaultSize),
            new ThpFacts(enabled.Selected, enabled.Options, defrag.Selected, defrag.Options),
            new KsmFacts(
                r.ReadInt(ksm + "/run"),
                r.ReadLong(ksm + "/pages_to_scan"),
                r.ReadLong(ksm + "/sleep_millisecs"),
                r.ReadLong(ksm + "/max_page_sharing"),
                r.ReadInt(ksm + "/merge_across_nodes"),
                r.ReadLong(ksm + "/pages_shared"),
                r.ReadLong(ksm + "/pages_sharing"),
                r.ReadLong(ksm + "/full_scans")
            )
        )
        {
            MemAvailableKib = meminfo.TryGetValue("MemAvailable", out var a) ? a : null,
        };
    }

    private static IReadOnlyList<HugetlbfsMount> ReadHugetlbfsMounts(HostReader r, long? defaultSize)
    {
        var mounts = new List<HugetlbfsMount>();
        foreach (var m in Mounts.Parse(r.ReadAll("/proc/mounts")))
        {
            if (m.Type != "hugetlbfs")
                continue;
            long? size = defaultSize;
            foreach (var opt in m.Options.Split(','))
                if (opt.StartsWith("pagesize=", StringComparison.Ordinal))
                    size = Sizes.TryParseBytes(opt[9..], out var bytes) ? bytes / 1024 : null;
            mounts.Add(new HugetlbfsMount(m.MountPoint, size, m.Options));
        }
        return mounts;
    }
}

/// <summary>One line of /proc/mounts, with the kernel's octal escapes (\040 for a space) undone.</summary>
public sealed record MountEntry(string Source, string MountPoint, string Type, string Options);

public static class Mounts
{
    public static IReadOnlyList<MountEntry> Parse(string? text)
    {
        var list = new List<MountEntry>();
        if (text is null)
            return list;
        foreach (var line in text.Split('\n'))
        {
            var f = line.Split(' ');
            if (f.Length < 4)
                continue;
            list.Add(new MountEntry(Unescape(f[0]), Unescape(f[1]), f[2], f[3]));
        }
        return list;
    }

    private static string Unescape(string s)
    {
        if (!s.Contains('\\'))
            return s;
        var sb = new System.Text.StringBuilder();
        for (var i = 0; i < s.Length; i++)
        {
            if (s[i] == '\\' && i + 3 < s.Length && s.AsSpan(i + 1, 3).IndexOfAnyExceptInRange('0', '7') < 0)
            {
                sb.Append((char)Convert.ToInt32(s.Substring(i + 1, 3), 8));
                i += 3;
            }
            else
                sb.Append(s[i]);
        }
        return sb.ToString();
    }
}
