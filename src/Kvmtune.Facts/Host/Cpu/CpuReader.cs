using Kvmtune.Facts.IO;
using Kvmtune.Facts.Parsing;

namespace Kvmtune.Facts.Host.Cpu;

/// <summary>Reads /proc/cpuinfo and /sys/devices/system/cpu into <see cref="CpuFacts"/>.</summary>
public static class CpuReader
{
    private const string CpuDir = "/sys/devices/system/cpu";

    public static CpuFacts Read(HostReader r, IReadOnlyDictionary<int, int> nodeOfCpu)
    {
        var info = CpuInfo.Parse(r.ReadAll("/proc/cpuinfo"));
        // Loops over lists rather than LINQ, here and below: LINQ's code is shared by every element type, and each
        // interface call in it is resolved again for each type it meets, at every start (BENCHMARKS.md).
        var ids = new List<int>();
        var known = new HashSet<int>();
        var names = r.List(CpuDir) ?? [];
        for (var i = 0; i < names.Count; i++)
        {
            if (KernelText.Suffix(names[i], "cpu") is int n && known.Add(n))
                ids.Add(n);
        }
        foreach (var p in info.Processors.Keys)
            if (known.Add(p))
                ids.Add(p);
        ids.Sort();

        // A set: a list's Contains for every CPU is quadratic, seconds on a few thousand CPUs.
        var onlineList = ParseList(r.ReadText(CpuDir + "/online")) is { } ol ? new HashSet<int>(ol) : null;
        var cpus = new List<LogicalCpu>();
        foreach (var id in ids)
        {
            var dir = $"{CpuDir}/cpu{id}";
            // What the CPU's folder holds decides which subsystems to read: no open is spent on absent ones.
            var entries = r.List(dir);
            bool Has(string name) => entries is null || entries.Contains(name);
            var online = IsOnline(r, id, dir, Has("online"), onlineList, info);
            info.Processors.TryGetValue(id, out var proc);
            var topo = dir + "/topology";
            var hasTopo = online && Has("topology");
            int? package = (hasTopo ? r.ReadInt(topo + "/physical_package_id") : null)
                ?? (online ? proc?.PhysicalId : null);
            int? die = hasTopo ? r.ReadInt(topo + "/die_id") : null;
            int? core = (hasTopo ? r.ReadInt(topo + "/core_id") : null) ?? (online ? proc?.CoreId : null);
            IReadOnlyList<int>? siblings = null;
            if (hasTopo)
            {
                // A CPU is always its own sibling: an empty list is no answer. The mask first: every kernel has
                // it (cputopology.rst: the deprecated name of core_cpus, kept), while the lists came later, and a
                // failed open costs a slow lookup on tmpfs trees. The lists are the same cpumask, printed as ranges.
                siblings = NonEmpty(ParseMask(r.ReadText(topo + "/thread_siblings")))
                    ?? NonEmpty(ParseList(r.ReadText(topo + "/thread_siblings_list")))
                    ?? NonEmpty(ParseList(r.ReadText(topo + "/core_cpus_list")));
            }
            var freq = dir + "/cpufreq";
            var hasFreq = online && Has("cpufreq");
            var hasPower = online && Has("power");
            cpus.Add(
                new LogicalCpu(
                    id,
                    online,
                    package is < 0 ? null : package,
                    die is < 0 ? null : die,
                    core,
                    siblings,
                    nodeOfCpu.TryGetValue(id, out var node) ? node : null,
                    () =>
                        new CpuFrequency(
                            hasFreq ? r.ReadText(freq + "/scaling_driver") : null,
                            hasFreq ? r.ReadText(freq + "/scaling_governor") : null,
                            hasFreq
                                ? r.ReadText(freq + "/scaling_available_governors")
                                    ?.Split(' ', StringSplitOptions.RemoveEmptyEntries)
                                : null,
                            hasFreq ? r.ReadLong(freq + "/scaling_min_freq") : null,
                            hasFreq ? r.ReadLong(freq + "/scaling_max_freq") : null,
                            hasFreq ? r.ReadText(freq + "/energy_performance_preference") : null,
                            hasPower ? r.ReadInt(dir + "/power/energy_perf_bias") : null
                        )
                )
            );
        }

        var onlineCpus = new List<LogicalCpu>();
        var onlineIds = new List<int>();
        var offlineIds = new List<int>();
        foreach (var c in cpus)
        {
            if (c.Online)
                onlineCpus.Add(c);
            (c.Online ? onlineIds : offlineIds).Add(c.Id);
        }
        var first = info.Processors.Values.FirstOrDefault();
        var flags = first?.Flags ?? [];
        var smtActive = r.ReadText(CpuDir + "/smt/active") switch
        {
            "1" => true,
            "0" => false,
            _ => (bool?)null,
        };
        return new CpuFacts(
            Architecture: info.Architecture,
            Vendor: first?.Vendor,
            Model: first?.ModelName,
            Family: first?.Family,
            ModelNumber: first?.Model,
            Flags: flags,
            Virtualization: flags.Count == 0 ? null
                : flags.Contains("vmx") ? "vmx"
                : flags.Contains("svm") ? "svm"
                : null,
            Packages: CountDistinct(onlineCpus, c => c.Package),
            Dies: onlineCpus.Exists(c => c.Die is not null)
                ? CountDistinct(onlineCpus, c =>
                    c.Package is null || c.Die is null ? null : (int?)(c.Package * 65536 + c.Die)
                )
                : CountDistinct(onlineCpus, c => c.Package),
            Cores: CountCores(onlineCpus),
            Threads: onlineCpus.Count == 0 ? null : onlineCpus.Count,
            Online: onlineIds,
            Offline: offlineIds,
            Present: ParseList(r.ReadText(CpuDir + "/present")),
            Possible: ParseList(r.ReadText(CpuDir + "/possible")),
            SmtActive: smtActive,
            SmtControl: r.ReadText(CpuDir + "/smt/control"),
            Cpus: cpus
        );
    }

    private static bool IsOnline(
        HostReader r,
        int id,
        string dir,
        bool hasOnline,
        HashSet<int>? onlineList,
        CpuInfo info
    )
    {
        if (onlineList is not null)
            return onlineList.Contains(id);
        switch (hasOnline ? r.ReadText(dir + "/online") : null)
        {
            case "1":
                return true;
            case "0":
                return false;
        }
        // No cpu/online and no per-CPU file (cpu0 never has one): cpuinfo lists exactly the online CPUs,
        // and the kernel removes the topology folder of an offline CPU.
        if (info.Processors.Count > 0)
            return info.Processors.ContainsKey(id);
        return r.Probe(dir + "/topology") == EntryKind.Directory;
    }

    private static int? CountDistinct(List<LogicalCpu> cpus, Func<LogicalCpu, int?> key)
    {
        if (cpus.Count == 0)
            return null;
        var seen = new HashSet<int>();
        foreach (var c in cpus)
        {
            if (key(c) is not int k)
                return null;
            seen.Add(k);
        }
        return seen.Count;
    }

    /// <summary>Distinct physical cores: CPUs that list each other as thread siblings are one core.</summary>
    private static int? CountCores(List<LogicalCpu> cpus)
    {
        if (cpus.Count == 0)
            return null;
        if (cpus.TrueForAll(c => c.ThreadSiblings is { Count: > 0 }))
        {
            var sets = new HashSet<string>(StringComparer.Ordinal);
            foreach (var c in cpus)
                sets.Add(CpuList.Format(c.ThreadSiblings!));
            return sets.Count;
        }
        if (cpus.TrueForAll(c => c.Package is not null && c.Core is not null))
        {
            var cores = new HashSet<(int?, int?, int?)>();
            foreach (var c in cpus)
                cores.Add((c.Package, c.Die, c.Core));
            return cores.Count;
        }
        return null;
    }

    private static IReadOnlyList<int>? NonEmpty(IReadOnlyList<int>? list) => list is { Count: > 0 } ? list : null;

    internal static IReadOnlyList<int>? ParseList(string? text) =>
        text is not null && CpuList.TryParse(text, out var cpus, out _) ? cpus : null;

    internal static IReadOnlyList<int>? ParseMask(string? text) =>
        text is not null && CpuMask.TryParse(text, out var cpus, out _) ? cpus : null;
}

/// <summary>/proc/cpuinfo, one block per online processor.</summary>
internal sealed record CpuInfo(string? Architecture, IReadOnlyDictionary<int, CpuInfoProcessor> Processors)
{
    private enum Field
    {
        Processor,
        Vendor,
        Implementer,
        ModelName,
        Family,
        Model,
        PhysicalId,
        CoreId,
        Flags,
        Features,
        Architecture,
    }

    // Enum.GetValues reads the enum's reflection metadata (a tenth of reading an 8-CPU tree, in page faults).
    private const int FieldCount = (int)Field.Architecture + 1;

    private static Field? FieldOf(ReadOnlySpan<char> key) =>
        key switch
        {
            "processor" => Field.Processor,
            "vendor_id" => Field.Vendor,
            "CPU implementer" => Field.Implementer,
            "model name" => Field.ModelName,
            "cpu family" => Field.Family,
            "model" => Field.Model,
            "physical id" => Field.PhysicalId,
            "core id" => Field.CoreId,
            "flags" => Field.Flags,
            "Features" => Field.Features,
            "CPU architecture" => Field.Architecture,
            _ => null,
        };

    /// <summary>
    /// Reads the fields kvmtune uses, line by line over the text without cutting it into strings: a 3,072-CPU
    /// cpuinfo is 80,000 lines, and the values processors repeat (vendor, model, flags) become one string each.
    /// </summary>
    public static CpuInfo Parse(string? text)
    {
        var processors = new SortedDictionary<int, CpuInfoProcessor>();
        if (text is null)
            return new CpuInfo(null, processors);
        string? arch = null;
        const int count = FieldCount;
        var start = new int[count];
        var length = new int[count];
        var seen = new bool[count];
        var strings = new Dictionary<string, string>(StringComparer.Ordinal);
        var lookup = strings.GetAlternateLookup<ReadOnlySpan<char>>();
        // Every processor of a machine usually lists the same flags: split them once, not a hundred strings a CPU.
        string? lastFlags = null;
        IReadOnlyList<string> lastSplit = [];
        ReadOnlySpan<char> Span(Field f) => text.AsSpan(start[(int)f], length[(int)f]);
        string? Text(Field f)
        {
            if (!seen[(int)f])
                return null;
            if (lookup.TryGetValue(Span(f), out var shared))
                return shared;
            var s = Span(f).ToString();
            strings[s] = s;
            return s;
        }
        int? Int(Field f) => seen[(int)f] && int.TryParse(Span(f), out var v) ? v : null;
        void Flush()
        {
            if (Int(Field.Processor) is int id)
            {
                var flags = Text(Field.Flags) ?? Text(Field.Features);
                processors[id] = new CpuInfoProcessor(
                    Text(Field.Vendor) ?? Implementer(Text(Field.Implementer)),
                    Text(Field.ModelName),
                    Int(Field.Family),
                    Int(Field.Model),
                    Int(Field.PhysicalId),
                    Int(Field.CoreId),
                    flags is null ? []
                        : ReferenceEquals(flags, lastFlags) ? lastSplit
                        : lastSplit = (lastFlags = flags).Split(' ', StringSplitOptions.RemoveEmptyEntries)
                );
                if (arch is null)
                {
                    if (seen[(int)Field.Vendor])
                        arch = Text(Field.Flags)?.Split(' ').Contains("lm") == true ? "x86_64" : "i686";
                    else if (seen[(int)Field.Architecture])
                        arch = Span(Field.Architecture) is "8" ? "aarch64" : "arm";
                }
            }
            Array.Clear(seen);
        }
        var pos = 0;
        while (pos <= text.Length)
        {
            var newline = text.IndexOf('\n', pos);
            var end = newline < 0 ? text.Length : newline;
            var line = text.AsSpan(pos, end - pos);
            var lineStart = pos;
            pos = end + 1;
            if (line.Trim().IsEmpty)
            {
                Flush();
                continue;
            }
            var colon = line.IndexOf(':');
            if (colon < 0)
                continue;
            if (FieldOf(line[..colon].Trim()) is not Field field)
                continue;
            if (field == Field.Processor && seen[(int)Field.Processor])
                Flush();
            // The value's place in the text: after the colon, blanks trimmed on both sides.
            var value = line[(colon + 1)..];
            var lead = value.Length - value.TrimStart().Length;
            start[(int)field] = lineStart + colon + 1 + lead;
            length[(int)field] = value.Trim().Length;
            seen[(int)field] = true;
        }
        Flush();
        return new CpuInfo(arch, processors);
    }

    private static string? Implementer(string? hex) =>
        hex switch
        {
            null => null,
            "0x41" => "ARM",
            "0x48" => "HiSilicon",
            "0x51" => "Qualcomm",
            "0x43" => "Cavium",
            "0x46" => "Fujitsu",
            "0xc0" => "Ampere",
            _ => hex,
        };
}

internal sealed record CpuInfoProcessor(
    string? Vendor,
    string? ModelName,
    int? Family,
    int? Model,
    int? PhysicalId,
    int? CoreId,
    IReadOnlyList<string> Flags
);
