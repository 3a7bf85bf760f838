using static Kvmtune.Facts.Parsing.ShellWords;

namespace Kvmtune.Guide;

/// <summary>
/// One change that would bring the machine closer to a profile. Rules propose them; only the change layer
/// (apply) carries them out. Each renders as the command an administrator would type.
/// </summary>
public abstract record PlannedChange(string Section)
{
    /// <summary>What to type to make it now (empty when it needs a reboot or firmware).</summary>
    public abstract IReadOnlyList<string> RuntimeCommands { get; }

    /// <summary>What to write so it survives a reboot.</summary>
    public abstract IReadOnlyList<string> PersistentSteps { get; }
}

/// <summary>Write a value to a sysfs or procfs file.</summary>
public sealed record SysfsWrite(string Section, string Path, string Value) : PlannedChange(Section)
{
    /// <summary>How this write survives a reboot, as the section that allows its path declares (null: not
    /// allowed).</summary>
    public Persistence? Form => WriteAllowlist.FormOf(Path);

    /// <summary>sysctl(8)'s name of the /proc/sys file when its section keeps it in sysctl.d; null otherwise.</summary>
    public string? SysctlKey => Form?.Kind == PersistenceKind.Sysctl ? Persistence.SysctlKey(Path) : null;

    // A path no section allows is refused by apply; its steps still read as a person would make them by hand.
    private PersistenceKind Kind =>
        Form?.Kind ?? (Persistence.SysctlKey(Path) is null ? PersistenceKind.Tmpfiles : PersistenceKind.Sysctl);

    public override IReadOnlyList<string> RuntimeCommands => [$"echo {Quote(Value)} > {Quote(Path)}"];
    public override IReadOnlyList<string> PersistentSteps =>
        Kind switch
        {
            PersistenceKind.Sysctl => [$"/etc/sysctl.d/90-kvmtune.conf: {Persistence.SysctlKey(Path)} = {Value}"],
            PersistenceKind.NotPersisted => [$"not kept across a reboot: {Form?.Why}"],
            _ => [$"/etc/tmpfiles.d/kvmtune.conf: w {Path} - - - - {Value}"],
        };
}

/// <summary>Add (or, with a null value and Remove, drop) a kernel command-line argument; takes effect at the next
/// boot.</summary>
public sealed record KernelArgument(string Section, string Key, string? Value, bool Remove = false)
    : PlannedChange(Section)
{
    public string Text => Value is null ? Key : $"{Key}={Value}";
    public override IReadOnlyList<string> RuntimeCommands => [];
    public override IReadOnlyList<string> PersistentSteps =>
        [
            Remove
                ? $"remove '{Key}' from the kernel command line (/etc/default/grub.d/kvmtune.cfg), update the " +
                    "bootloader, reboot"
                : $"/etc/default/grub.d/kvmtune.cfg: GRUB_CMDLINE_LINUX_DEFAULT+=\" {Text}\"; update the bootloader; " +
                    "reboot",
        ];
}

/// <summary>A module option: persistent in /etc/modprobe.d, live only through a module reload.</summary>
public sealed record ModuleOption(string Section, string Module, string Parameter, string Value)
    : PlannedChange(Section)
{
    public override IReadOnlyList<string> RuntimeCommands =>
        [$"modprobe -r {Quote(Module)} && modprobe {Quote(Module)} {Quote($"{Parameter}={Value}")}"];
    public override IReadOnlyList<string> PersistentSteps =>
        [$"/etc/modprobe.d/kvmtune.conf: options {Module} {Parameter}={Value}"];
}

/// <summary>Load a module now and at boot.</summary>
public sealed record ModuleLoad(string Section, string Module) : PlannedChange(Section)
{
    public override IReadOnlyList<string> RuntimeCommands => [$"modprobe {Quote(Module)}"];
    public override IReadOnlyList<string> PersistentSteps => [$"/etc/modules-load.d/kvmtune.conf: {Module}"];
}

/// <summary>Mount a hugetlbfs for one page size.</summary>
public sealed record HugetlbfsMountChange(string Section, string MountPoint, long PageSizeKib) : PlannedChange(Section)
{
    public string PageSizeOption => PageSizeKib >= 1 << 20 ? $"{PageSizeKib >> 20}G" : $"{PageSizeKib >> 10}M";
    public override IReadOnlyList<string> RuntimeCommands =>
        [$"mkdir -p {Quote(MountPoint)}", $"mount -t hugetlbfs -o pagesize={PageSizeOption} none {Quote(MountPoint)}"];
    public override IReadOnlyList<string> PersistentSteps =>
        [
            $"systemd mount unit {SystemdUnitName}: What=hugetlbfs Where={MountPoint} Type=hugetlbfs " +
                $"Options=pagesize={PageSizeOption}",
        ];
    public string SystemdUnitName => MountPoint.Trim('/').Replace("-", "\\x2d").Replace('/', '-') + ".mount";
}

/// <summary>Something only a person can do: a firmware setting, a package to install, a reboot.</summary>
public sealed record ManualStep(string Section, string Text) : PlannedChange(Section)
{
    public override IReadOnlyList<string> RuntimeCommands => [];
    public override IReadOnlyList<string> PersistentSteps => [Text];
}

/// <summary>A module parameter that is writable at runtime: written in /sys/module now, kept in
/// /etc/modprobe.d.</summary>
public sealed record ModuleParameter(string Section, string Module, string Parameter, string Value)
    : PlannedChange(Section)
{
    public string Path => $"/sys/module/{Module}/parameters/{Parameter}";
    public override IReadOnlyList<string> RuntimeCommands => [$"echo {Quote(Value)} > {Quote(Path)}"];
    public override IReadOnlyList<string> PersistentSteps =>
        [$"/etc/modprobe.d/kvmtune.conf: options {Module} {Parameter}={Value}"];
}
