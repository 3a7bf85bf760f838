using System.Text.RegularExpressions;

namespace Kvmtune.Core.Changes;

/// <summary>
/// Where kvmtune may write, checked twice: the machine path against the allowlists, then the real place it
/// leads to after following every symbolic link (absolute links re-rooted under --root), which must stay
/// inside the root and inside /sys, /proc or kvmtune's own files under /etc.
/// </summary>
public static partial class SafePaths
{
    public const string GrubDropIn = "/etc/default/grub.d/kvmtune.cfg";
    public const string ModprobeConf = "/etc/modprobe.d/kvmtune.conf";
    public const string ModulesLoadConf = "/etc/modules-load.d/kvmtune.conf";
    public const string SysctlConf = "/etc/sysctl.d/90-kvmtune.conf";
    public const string TmpfilesConf = "/etc/tmpfiles.d/kvmtune.conf";

    public static bool IsPersistentFile(string path) =>
        path is GrubDropIn or ModprobeConf or ModulesLoadConf or SysctlConf or TmpfilesConf || MountUnit().IsMatch(path);

    [GeneratedRegex(@"^/etc/systemd/system/dev-hugepages[0-9]+[MG]\.mount$")]
    private static partial Regex MountUnit();

    [GeneratedRegex(@"^/dev/hugepages[0-9]+[MG]$")]
    private static partial Regex HugepageMountPoint();

    public static bool IsMountPoint(string path) => HugepageMountPoint().IsMatch(path);

    /// <summary>The physical path to write for a machine path, or an InputException saying why not.</summary>
    public static string Resolve(string root, string machinePath)
    {
        var kernel = WriteAllowlist.IsAllowed(machinePath, out var reason);
        if (!kernel && !IsPersistentFile(machinePath) && !IsMountPoint(machinePath))
            throw new InputException(null, null, machinePath, $"refused: {reason ?? "not a path kvmtune writes"}");
        var real = RealMachinePath(root, machinePath) ?? throw new InputException(null, null, machinePath, "refused: its symbolic links loop or lead outside the root");
        var area = kernel ? (real.StartsWith("/sys/", StringComparison.Ordinal) || real.StartsWith("/proc/", StringComparison.Ordinal))
                          : real.StartsWith("/etc/", StringComparison.Ordinal) || real.StartsWith("/dev/", StringComparison.Ordinal);
        if (!area) throw new InputException(null, null, machinePath, $"refused: it leads to {real} through a symbolic link");
        return root == "/" ? real : root.TrimEnd('/') + real;
    }

    /// <summary>The machine path after following links component by component; null when a link loops or climbs above '/'.</summary>
    public static string? RealMachinePath(string root, string machinePath) => IO.LinkWalker.Resolve(root, machinePath);
}
