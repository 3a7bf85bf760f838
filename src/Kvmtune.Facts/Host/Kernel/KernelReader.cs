using System.IO.Compression;
using Kvmtune.Facts.IO;

namespace Kvmtune.Facts.Host.Kernel;

/// <summary>Reads /proc (version, cmdline, modules, sysctls), /boot and /sys/module into <see
/// cref="KernelFacts"/>.</summary>
public static class KernelReader
{
    /// <summary>Modules whose parameters the guide tunes or checks.</summary>
    public static readonly IReadOnlyList<string> TunedModules =
    [
        "kvm",
        "kvm_intel",
        "kvm_amd",
        "vhost_net",
        "haltpoll",
        "cpuidle_haltpoll",
        "vfio",
        "vfio_pci",
        "vfio_iommu_type1",
    ];

    public static KernelFacts Read(HostReader r)
    {
        var release = r.ReadText("/proc/sys/kernel/osrelease");
        var cmdline = r.ReadText("/proc/cmdline");
        var modulesText = r.ReadAll("/proc/modules");
        IReadOnlyList<string>? loaded = modulesText
            ?.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' ')[0])
            .ToList();
        var parameters = new SortedDictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);
        foreach (var module in TunedModules)
        {
            var dir = $"/sys/module/{module}/parameters";
            var names = r.List(dir);
            if (names is null)
                continue;
            var values = new SortedDictionary<string, string>(StringComparer.Ordinal);
            foreach (var n in names)
                if (r.ReadText($"{dir}/{n}") is string v)
                    values[n] = v;
            parameters[module] = values;
        }
        return new KernelFacts(
            release,
            r.ReadText("/proc/version"),
            cmdline is null ? null : KernelCommandLine.Parse(cmdline),
            ReadConfig(r, release),
            loaded,
            parameters,
            r.ReadInt("/proc/sys/kernel/io_uring_disabled"),
            MemlockKib(r.ReadAll("/proc/self/limits")),
            r.ReadText("/proc/sys/kernel/hostname")
        );
    }

    private static KernelConfig? ReadConfig(HostReader r, string? release)
    {
        if (release is not null && r.ReadAll($"/boot/config-{release}") is string text)
            return KernelConfig.Parse($"/boot/config-{release}", text);
        if (r.ReadBytes("/proc/config.gz") is byte[] gz)
        {
            try
            {
                using var input = new GZipStream(new MemoryStream(gz), CompressionMode.Decompress);
                using var reader = new StreamReader(input);
                return KernelConfig.Parse("/proc/config.gz", reader.ReadToEnd());
            }
            catch (InvalidDataException)
            {
                return null;
            }
        }
        return null;
    }

    /// <summary>The soft "Max locked memory" limit in KiB; long.MaxValue for unlimited.</summary>
    internal static long? MemlockKib(string? limits)
    {
        if (limits is null)
            return null;
        foreach (var line in limits.Split('\n'))
        {
            if (!line.StartsWith("Max locked memory", StringComparison.Ordinal))
                continue;
            var soft = line["Max locked memory".Length..]
                .Split(' ', StringSplitOptions.RemoveEmptyEntries)
                .FirstOrDefault();
            if (soft == "unlimited")
                return long.MaxValue;
            return long.TryParse(soft, out var bytes) ? bytes / 1024 : null;
        }
        return null;
    }
}
