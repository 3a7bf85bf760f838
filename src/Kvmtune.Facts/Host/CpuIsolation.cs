using Kvmtune.Facts.Parsing;

namespace Kvmtune.Facts.Host;

/// <summary>
/// Which CPUs the kernel command line sets apart for VMs (nohz_full=, isolcpus=) and which remain for the host's
/// own work, interrupts included (housekeeping). Device IRQs belong on housekeeping CPUs: TuneD's
/// realtime-virtual-host profile sets irqaffinity= to the CPUs it does not isolate.
/// </summary>
public sealed record CpuIsolation(
    IReadOnlyList<int> Isolated,
    IReadOnlyList<int>? IrqAffinity,
    IReadOnlyList<int> Online
)
{
    /// <summary>The isolation the command line asks for; null when /proc/cmdline is unreadable.</summary>
    public static CpuIsolation? Of(HostFacts f)
    {
        var cmd = f.Kernel.CommandLine;
        if (cmd is null)
            return null;
        var isolated = new SortedSet<int>();
        if (cmd.Value("nohz_full") is { } nohz && CpuList.TryParse(nohz, out var n, out _))
            isolated.UnionWith(n);
        if (IsolcpusList(cmd.Value("isolcpus")) is { } iso)
            isolated.UnionWith(iso);
        IReadOnlyList<int>? irq =
            cmd.Value("irqaffinity") is { } a && CpuList.TryParse(a, out var ia, out _) ? ia : null;
        return new CpuIsolation(isolated.ToList(), irq, f.Cpu.Online);
    }

    /// <summary>The housekeeping CPUs among a node's CPUs: those not isolated, else the node's first CPU.</summary>
    public IReadOnlyList<int> HousekeepingAmong(IReadOnlyList<int> cpus)
    {
        var isolated = new HashSet<int>(Isolated);
        var keep = Isolated.Count > 0 ? cpus.Where(c => !isolated.Contains(c)).ToList() : [];
        return keep.Count == 0 && cpus.Count > 0 ? [cpus[0]] : keep;
    }

    /// <summary>The CPU list of isolcpus=[flag,...,]LIST (flags: nohz, domain, managed_irq).</summary>
    public static IReadOnlyList<int>? IsolcpusList(string? value)
    {
        if (value is null)
            return null;
        var list = string.Join(',', value.Split(',').Where(p => p.Length > 0 && char.IsAsciiDigit(p[0])));
        return CpuList.TryParse(list, out var cpus, out _) ? cpus : null;
    }

    /// <summary>The flags of isolcpus= ("domain", "managed_irq", "nohz"); "domain" alone when none is given.</summary>
    public static IReadOnlyList<string> IsolcpusFlags(string value)
    {
        var flags = value.Split(',').Where(p => p.Length > 0 && !char.IsAsciiDigit(p[0])).ToList();
        return flags.Count == 0 ? ["domain"] : flags;
    }

    public bool Any => Isolated.Count > 0 || IrqAffinity is not null;

    /// <summary>Online CPUs the host keeps: irqaffinity= when given, else all but the isolated ones.</summary>
    public IReadOnlyList<int> Housekeeping
    {
        get
        {
            // Sets, not the lists' Contains: that is quadratic in the CPUs, and an audit asks once per device.
            var isolated = Isolated.Count > 0 ? new HashSet<int>(Isolated) : null;
            var online = IrqAffinity is not null && Online.Count > 0 ? new HashSet<int>(Online) : null;
            var keep = new List<int>();
            foreach (var c in IrqAffinity ?? Online)
                if (isolated?.Contains(c) != true && online?.Contains(c) != false)
                    keep.Add(c);
            return keep;
        }
    }

    /// <summary>
    /// Where a device IRQ of a node should go: the node's housekeeping CPUs less <paramref name="exclude"/>
    /// (a dedicated VM's vCPUs); the housekeeping CPUs of any node when the node has none; null when no CPU is left.
    /// </summary>
    public IReadOnlyList<int>? IrqTargets(IReadOnlyList<int> nodeCpus, IEnumerable<int>? exclude = null)
    {
        var skip = exclude?.ToHashSet();
        var node = new HashSet<int>(nodeCpus);
        var keep = new List<int>();
        var local = new List<int>();
        foreach (var c in Housekeeping)
        {
            if (skip?.Contains(c) == true)
                continue;
            keep.Add(c);
            if (node.Contains(c))
                local.Add(c);
        }
        if (local.Count > 0)
            return local;
        return keep.Count > 0 ? keep : null;
    }
}
