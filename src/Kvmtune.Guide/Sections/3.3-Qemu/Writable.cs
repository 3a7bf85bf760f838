using System.Text.RegularExpressions;

namespace Kvmtune.Guide.Sections;

public static partial class Section3_3_Qemu
{
    /// <summary>The kernel attributes the fixes of section 3.3 write, each with how the write survives a reboot: its
    /// entries in <see cref="WriteAllowlist"/>.</summary>
    internal static IReadOnlyList<Tunable> Writable { get; } =
    // 3.3.4: aio=io_uring needs io_uring allowed (kernel.io_uring_disabled, Linux 6.6; sysctl/kernel.rst).
    [new(IoUringDisabled(), Persistence.Sysctl, IoUringValue())];

    /// <summary>0 every process, 1 CAP_SYS_ADMIN or io_uring_group only, 2 none.</summary>
    [GeneratedRegex(@"^[0-2]$")]
    private static partial Regex IoUringValue();

    [GeneratedRegex(@"^/proc/sys/kernel/io_uring_disabled$")]
    private static partial Regex IoUringDisabled();
}
