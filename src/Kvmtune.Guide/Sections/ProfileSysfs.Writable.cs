using System.Text.RegularExpressions;

namespace Kvmtune.Guide.Sections;

public static partial class ProfileSysfs
{
    /// <summary>The kernel attributes the fixes of a custom profile's sysfs values write, each with how the write
    /// survives a reboot: its entries in <see cref="WriteAllowlist"/>.</summary>
    internal static IReadOnlyList<Tunable> Writable { get; } =
        // rq_affinity 0-2, nomerges 0-2, scheduler an I/O scheduler's name (ABI/stable/sysfs-block).
        [new(BlockQueue(), Persistence.Tmpfiles, QueueValue())];

    [GeneratedRegex(@"^([0-9]{1,2}|[a-z][a-z0-9_-]{0,31})$")]
    private static partial Regex QueueValue();

    [GeneratedRegex(@"^/sys/block/[A-Za-z0-9_.:-]+/queue/(rq_affinity|scheduler|nomerges)$")]
    private static partial Regex BlockQueue();
}
