using System.Collections.Frozen;
using System.Text.Json.Serialization;

namespace Kvmtune.Facts.Host.Kernel;

/// <summary>The running kernel: release, command line, configuration, modules and the sysctls the guide
/// touches.</summary>
public sealed record KernelFacts(
    string? Release,
    string? Version,
    KernelCommandLine? CommandLine,
    KernelConfig? Config,
    IReadOnlyList<string>? LoadedModules,
    IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> ModuleParameters,
    int? IoUringDisabled,
    long? MemlockLimitKib,
    string? Hostname = null
)
{
    /// <summary>A module's parameter, null when the module or the parameter is absent.</summary>
    public string? Param(string module, string name) =>
        ModuleParameters.TryGetValue(module, out var p) && p.TryGetValue(name, out var v) ? v : null;

    public bool? IsLoaded(string module) =>
        LoadedModules is null
            ? null
            : LoadedModules.Contains(module, StringComparer.Ordinal) || ModuleParameters.ContainsKey(module);
}

/// <summary>/proc/cmdline split the way the kernel splits it (double quotes group), up to "--".</summary>
public sealed record KernelCommandLine(
    string Raw,
    IReadOnlyList<KernelArgument> Arguments,
    IReadOnlyList<string> InitArguments
)
{
    /// <summary>The last value given for a key (the kernel honours the last), or null when absent.</summary>
    public string? Value(string key) => Arguments.LastOrDefault(a => a.Key == key)?.Value;

    public bool Has(string key) => Arguments.Any(a => a.Key == key);

    public IEnumerable<string?> Values(string key) => Arguments.Where(a => a.Key == key).Select(a => a.Value);

    public static KernelCommandLine Parse(string raw)
    {
        var args = new List<KernelArgument>();
        var init = new List<string>();
        var words = new List<string>();
        var sb = new System.Text.StringBuilder();
        var quoted = false;
        foreach (var c in raw.TrimEnd('\0', '\n', ' '))
        {
            if (c == '"')
            {
                quoted = !quoted;
                continue;
            }
            if (char.IsWhiteSpace(c) && !quoted)
            {
                if (sb.Length > 0)
                {
                    words.Add(sb.ToString());
                    sb.Clear();
                }
                continue;
            }
            sb.Append(c);
        }
        if (sb.Length > 0)
            words.Add(sb.ToString());
        var afterDashes = false;
        foreach (var w in words)
        {
            if (afterDashes)
            {
                init.Add(w);
                continue;
            }
            if (w == "--")
            {
                afterDashes = true;
                continue;
            }
            var eq = w.IndexOf('=');
            args.Add(eq < 0 ? new KernelArgument(w, null) : new KernelArgument(w[..eq], w[(eq + 1)..]));
        }
        return new KernelCommandLine(raw.TrimEnd('\0', '\n', ' '), args, init);
    }
}

public sealed record KernelArgument(string Key, string? Value);

/// <summary>The kernel's build configuration and where it was read from.</summary>
public sealed record KernelConfig(string Source, [property: JsonIgnore] IReadOnlyDictionary<string, string> Options)
{
    /// <summary>"y", "m", a value, "n" for "is not set", or null when the option does not appear.</summary>
    public string? Get(string option)
    {
        if (!RelevantOptions.Contains(option, StringComparer.Ordinal))
            throw new ArgumentException(
                $"{option} is not among the options kvmtune reads; add it to RelevantOptions",
                nameof(option)
            );
        return Options.TryGetValue(option, out var v) ? v : null;
    }

    /// <summary>The options the guide names and those KVM needs, for output.</summary>
    public IReadOnlyDictionary<string, string?> Relevant =>
        RelevantOptions.ToDictionary(o => o, Get, StringComparer.Ordinal);

    public static readonly IReadOnlyList<string> RelevantOptions =
    [
        "CONFIG_KVM",
        "CONFIG_KVM_INTEL",
        "CONFIG_KVM_AMD",
        "CONFIG_VHOST_NET",
        "CONFIG_VFIO",
        "CONFIG_VFIO_PCI",
        "CONFIG_INTEL_IOMMU",
        "CONFIG_AMD_IOMMU",
        "CONFIG_NO_HZ_FULL",
        "CONFIG_RCU_NOCB_CPU",
        "CONFIG_HUGETLBFS",
        "CONFIG_TRANSPARENT_HUGEPAGE",
        "CONFIG_KSM",
        "CONFIG_NUMA_BALANCING",
        "CONFIG_IO_URING",
        "CONFIG_HALTPOLL_CPUIDLE",
        "CONFIG_CPU_IDLE_GOV_HALTPOLL",
        "CONFIG_LIBNVDIMM",
        "CONFIG_BLK_DEV_PMEM",
        "CONFIG_ND_BLK",
        "CONFIG_ND_CLAIM",
        "CONFIG_ND_BTT",
        "CONFIG_BTT",
        "CONFIG_ND_PFN",
        "CONFIG_NVDIMM_PFN",
        "CONFIG_NVDIMM_DAX",
        "CONFIG_DAX_DRIVER",
        "CONFIG_DAX",
        "CONFIG_DEV_DAX",
        "CONFIG_DEV_DAX_PMEM",
        "CONFIG_NVME",
        "CONFIG_BLK_DEV_NVME",
        "CONFIG_FS_DAX",
        "CONFIG_FS_DAX_PMD",
        "CONFIG_NUMA",
    ];

    private static readonly FrozenSet<string> Wanted = RelevantOptions.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>Keeps only the options kvmtune reads: a kernel config has ten thousand.</summary>
    public static KernelConfig Parse(string source, string text)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        var lookup = Wanted.GetAlternateLookup<ReadOnlySpan<char>>();
        foreach (var range in text.AsSpan().Split('\n'))
        {
            var line = text.AsSpan(range).Trim();
            if (line.StartsWith("# CONFIG_") && line.EndsWith(" is not set"))
            {
                if (lookup.TryGetValue(line[2..^11], out var off))
                    options[off] = "n";
                continue;
            }
            if (!line.StartsWith("CONFIG_"))
                continue;
            var eq = line.IndexOf('=');
            if (eq > 0 && lookup.TryGetValue(line[..eq], out var key))
                options[key] = line[(eq + 1)..].Trim('"').ToString();
        }
        return new KernelConfig(source, options);
    }
}
