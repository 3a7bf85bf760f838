using System.Text;

namespace Kvmtune.Guide.Profiles;

/// <summary>
/// kvmtune's built-in profile values beside TuneD's virtualization profiles (redhat-performance/tuned,
/// profiles/*/tuned.conf
/// and the profiles they include: realtime-virtual-host includes realtime, network-latency and latency-performance;
/// virtual-host and virtual-guest include throughput-performance), with why kvmtune differs. docs/profiles-vs-tuned.md
/// is this table, and a test regenerates it.
/// </summary>
public static class TunedComparison
{
    /// <summary>One row: TuneD's values ("not set" where the profile leaves the kernel default) and the reason for any
    /// difference.</summary>
    public sealed record Row(
        SettingDefinition Setting,
        string RealtimeVirtualHost,
        string VirtualHost,
        string VirtualGuest,
        string Why
    );

    private const string NotSet = "not set";

    public static readonly IReadOnlyList<Row> Rows =
    [
        new(
            ProfileSchema.CpuGovernor,
            "performance (latency-performance)",
            "performance",
            "performance (throughput-performance)",
            "Same, except density, which leaves the governor alone: an overcommitted host trades frequency for power "
                + "headroom"
        ),
        new(
            ProfileSchema.BiosCstates,
            "limited by force_latency (latency-performance PM QoS)",
            NotSet,
            NotSet,
            "kvmtune disables C1E/C6 per CPU for latency (guide 3.2.4) instead of a PM QoS request, which lasts only "
                + "while TuneD runs"
        ),
        new(
            ProfileSchema.KernelIdlePoll,
            NotSet,
            NotSet,
            NotSet,
            "The guide asks for idle=poll under latency; kernel-parameters.txt calls it not recommended, so kvmtune "
                + "only warns"
        ),
        new(
            ProfileSchema.MemoryThp,
            "never (network-latency)",
            "always",
            "always (throughput-performance)",
            "Same for latency and throughput; density uses madvise because KSM cannot merge huge pages"
        ),
        new(
            ProfileSchema.MemoryKsm,
            "run=2 (stop and unmerge)",
            NotSet,
            NotSet,
            "Same for latency (off); kvmtune writes run=2 only when MemAvailable can take the unmerged pages, else "
                + "run=0"
        ),
        new(
            ProfileSchema.KernelNohzFull,
            "nohz_full=isolated_cores, rcu_nocbs=isolated_cores",
            NotSet,
            NotSet,
            "Same CPUs; kvmtune does not ask for rcu_nocbs, which nohz_full implies (kernel/rcu/tree_nocb.h "
                + "rcu_init_nohz)"
        ),
        new(
            ProfileSchema.NumaIrqAffinity,
            "isolcpus=managed_irq,domain; irqbalance banned_cpus=isolated_cores (realtime)",
            NotSet,
            NotSet,
            "Same intent: kvmtune pins device IRQs to each node's housekeeping CPUs and leaves managed IRQs to the "
                + "kernel"
        ),
        new(
            ProfileSchema.NumaBalancing,
            "kernel.numa_balancing=0 (network-latency)",
            NotSet,
            NotSet,
            "Same for latency; kvmtune's auto turns it off only where vfio-pci devices pin guest memory"
        ),
        new(
            ProfileSchema.KvmHaltPollNs,
            NotSet,
            NotSet,
            NotSet,
            "TuneD keeps the kernel default (200000 ns); kvmtune gives each profile a range, warning only "
                + "(halt-polling.rst: tune by experiment)"
        ),
        new(
            ProfileSchema.VhostZerocopyTx,
            NotSet,
            NotSet,
            NotSet,
            "Same: off, the kernel default since 2019 (the guide's experimental_zcopytx=1 is no longer advised)"
        ),
        new(
            ProfileSchema.GuestHaltPollNs,
            NotSet,
            NotSet,
            NotSet,
            "TuneD virtual-guest leaves guest halt polling to the kernel; kvmtune checks that the haltpoll driver is "
                + "active and in range"
        ),
    ];

    private static string Cell(string s) => s.Replace("|", "\\|", StringComparison.Ordinal);

    public static string Markdown()
    {
        var sb = new StringBuilder();
        sb.Append("# kvmtune profiles and TuneD\n\n")
            .Append("Generated from `src/Kvmtune.Guide/Profiles/TunedComparison.cs` and the built-in profiles; ")
            .Append(
                "`ProfileTests` regenerates it and fails when it differs. TuneD values are from "
                    + "redhat-performance/tuned "
            )
            .Append("`profiles/<name>/tuned.conf` with the profiles each includes.\n\n")
            .Append(
                "| setting | balanced | latency | throughput | density | TuneD realtime-virtual-host | TuneD "
                    + "virtual-host | TuneD virtual-guest | why kvmtune differs |\n"
            )
            .Append("|---|---|---|---|---|---|---|---|---|\n");
        var profiles = BuiltInProfiles.Names.Select(n => BuiltInProfiles.Get(n)!).ToList();
        foreach (var row in Rows)
        {
            sb.Append("| `").Append(row.Setting.Key).Append("` | ");
            foreach (var p in profiles)
                sb.Append(Cell(p.Text(row.Setting))).Append(" | ");
            sb.Append(Cell(row.RealtimeVirtualHost))
                .Append(" | ")
                .Append(Cell(row.VirtualHost))
                .Append(" | ")
                .Append(Cell(row.VirtualGuest))
                .Append(" | ")
                .Append(Cell(row.Why))
                .Append(" |\n");
        }
        return sb.ToString();
    }
}
