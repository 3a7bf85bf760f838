namespace Kvmtune.Facts.Host.Userspace;

/// <summary>The programs, packages, services and processes around the kernel that the guide relies on.</summary>
public sealed record UserspaceFacts(
    IReadOnlyDictionary<string, string?> Tools,
    string? QemuPath,
    string? QemuPackageVersion,
    Version? QemuVersion,
    IReadOnlyList<RunningProcess>? Processes,
    IReadOnlyList<int>? IrqbalanceBannedCpus,
    string? IrqbalanceConfig,
    int? EffectiveUid,
    IReadOnlyList<QemuProcess> QemuCommandLines
)
{
    public bool? IsRunning(string comm) => Processes?.Any(p => p.Comm == comm);

    /// <summary>Whether any program folder (/usr/bin, /usr/sbin...) was there to search: a tree without them proves no
    /// tool absent.</summary>
    public bool ProgramFoldersPresent { get; init; } = true;

    /// <summary>The upstream version of the irqbalance package, when the Debian package database has it.</summary>
    public Version? IrqbalanceVersion { get; init; }

    /// <summary>QEMU system emulators running now (their comm is cut to 15 characters by the kernel).</summary>
    public IReadOnlyList<RunningProcess>? QemuProcesses =>
        Processes
            ?.Where(p => p.Comm.StartsWith("qemu-system", StringComparison.Ordinal) || p.Comm is "qemu-kvm" or "kvm")
            .ToList();

    public string? Tool(string name) => Tools.TryGetValue(name, out var p) ? p : null;
}

public sealed record RunningProcess(int Pid, string Comm);

/// <summary>A running QEMU and its argument vector (from /proc/PID/cmdline).</summary>
public sealed record QemuProcess(int Pid, IReadOnlyList<string> Arguments)
{
    /// <summary>The value of an option such as "-smp" or "-overcommit", or null.</summary>
    public string? Option(string name)
    {
        for (var i = 0; i + 1 < Arguments.Count; i++)
            if (Arguments[i] == name || Arguments[i] == "-" + name)
                return Arguments[i + 1];
        return null;
    }

    /// <summary>vCPUs from -smp ("4" or "cpus=4,sockets=..."), 1 when absent.</summary>
    public int Vcpus
    {
        get
        {
            var smp = Option("-smp");
            if (smp is null)
                return 1;
            foreach (var part in smp.Split(','))
            {
                if (int.TryParse(part, out var n))
                    return n;
                if (part.StartsWith("cpus=", StringComparison.Ordinal) && int.TryParse(part[5..], out var c))
                    return c;
            }
            return 1;
        }
    }
}
