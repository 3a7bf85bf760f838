using System.Text.RegularExpressions;

namespace Kvmtune.Guide.Sections;

public static partial class ProfileSysfs
{
    /// <summary>The kernel attributes the fixes of a custom profile's sysfs values write, each with how the write
    /// survives a reboot: its entries in <see cref="WriteAllowlist"/>.</summary>
    internal static IReadOnlyList<Tunable> Writable { get; } = [new(BlockQueue(), Persistence.Tmpfiles)];

    [GeneratedRegex(@"^/sys/block/[A-Za-z0-9_.:-]+/queue/(rq_affinity|scheduler|nomerges)$")]
    private static partial Regex BlockQueue();
}
