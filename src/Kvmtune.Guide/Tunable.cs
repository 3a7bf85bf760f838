using System.Text.RegularExpressions;

namespace Kvmtune.Guide;

/// <summary>How a write to a kernel attribute is made to survive a reboot.</summary>
public enum PersistenceKind
{
    /// <summary>A <c>key = value</c> line in /etc/sysctl.d, the key sysctl(8) names the /proc/sys file by.</summary>
    Sysctl,

    /// <summary>A <c>w PATH - - - - VALUE</c> line in kvmtune's tmpfiles.d file, written again at boot.</summary>
    Tmpfiles,

    /// <summary>Nothing is written to survive a reboot; <see cref="Persistence.Why"/> says why.</summary>
    NotPersisted,
}

/// <summary>The persistent form a section declares for one attribute its fixes write.</summary>
public sealed record Persistence(PersistenceKind Kind, string? Why)
{
    private const string ProcSys = "/proc/sys/";

    public static Persistence Sysctl { get; } = new(PersistenceKind.Sysctl, null);
    public static Persistence Tmpfiles { get; } = new(PersistenceKind.Tmpfiles, null);

    /// <param name="why">A sentence a person reads on stderr when apply --persist leaves the write out.</param>
    public static Persistence NotPersisted(string why) => new(PersistenceKind.NotPersisted, why);

    /// <summary>sysctl(8)'s name of a /proc/sys file (dots for slashes); null for any other path.</summary>
    public static string? SysctlKey(string path) =>
        path.StartsWith(ProcSys, StringComparison.Ordinal) ? path[ProcSys.Length..].Replace('/', '.') : null;

    /// <summary>The /proc/sys file of a sysctl name.</summary>
    public static string SysctlPath(string key) => ProcSys + key.Replace('.', '/');
}

/// <summary>
/// One kernel attribute (a pattern of paths) that a section's fixes write, the values that may be written to it (its
/// grammar, from the kernel's documentation of the attribute), and how such a write survives a reboot. The sections'
/// lists are <see cref="WriteAllowlist"/>.
/// </summary>
public sealed record Tunable(Regex Path, Persistence Form, Regex Value);

/// <summary>Value grammars several attributes share.</summary>
public static partial class Values
{
    /// <summary>A count, a size, a time, a percentage: decimal digits.</summary>
    [GeneratedRegex(@"^[0-9]{1,19}$")]
    public static partial Regex Number();

    /// <summary>A kernel boolean written as a number.</summary>
    [GeneratedRegex(@"^[01]$")]
    public static partial Regex Flag();

    /// <summary>A CPU list (Documentation/admin-guide/cputopology.rst, "0-3,8"): what *_list attributes take.</summary>
    [GeneratedRegex(@"^[0-9]{1,5}(-[0-9]{1,5})?(,[0-9]{1,5}(-[0-9]{1,5})?)*$")]
    public static partial Regex CpuList();
}
