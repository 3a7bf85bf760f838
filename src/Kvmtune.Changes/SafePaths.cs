using System.Text.RegularExpressions;
using Kvmtune.Facts.IO;
using Kvmtune.Guide;

namespace Kvmtune.Changes;

/// <summary>
/// The files and mount points kvmtune owns outside the kernel's attributes (which <see cref="WriteAllowlist"/> names).
/// How they are reached without following links is <see cref="SafeTree"/>'s job.
/// </summary>
public static partial class SafePaths
{
    public const string GrubDropIn = "/etc/default/grub.d/kvmtune.cfg";
    public const string ModprobeConf = "/etc/modprobe.d/kvmtune.conf";
    public const string ModulesLoadConf = "/etc/modules-load.d/kvmtune.conf";
    public const string SysctlConf = "/etc/sysctl.d/90-kvmtune.conf";
    public const string TmpfilesConf = "/etc/tmpfiles.d/kvmtune.conf";

    /// <summary>The folders kvmtune's persistent files live in: where a killed run's temporary files are looked
    /// for.</summary>
    public static readonly IReadOnlyList<string> PersistentFolders =
    [
        "/etc/default/grub.d",
        "/etc/modprobe.d",
        "/etc/modules-load.d",
        "/etc/sysctl.d",
        "/etc/tmpfiles.d",
        "/etc/systemd/system",
    ];

    public static bool IsPersistentFile(string path) =>
        path is GrubDropIn or ModprobeConf or ModulesLoadConf or SysctlConf or TmpfilesConf
        || MountUnit().IsMatch(path);

    [GeneratedRegex(@"^/etc/systemd/system/dev-hugepages[0-9]+[MG]\.mount$")]
    private static partial Regex MountUnit();

    [GeneratedRegex(@"^/dev/hugepages[0-9]+[MG]$")]
    private static partial Regex HugepageMountPoint();

    public static bool IsMountPoint(string path) => HugepageMountPoint().IsMatch(path);
}
