using Kvmtune.Guide.Audit;
using Kvmtune.Guide.Profiles;

namespace Kvmtune.Guide.Sections;

/// <summary>Guide 3.4, guest kernel tuning: guest halt polling, no idle= in the guest, rq_affinity, virtio-net
/// queues.</summary>
public static partial class Section3_4_Guest
{
    public static IEnumerable<Finding> Evaluate(AuditContext c)
    {
        yield return HaltpollDriver(c);
        yield return HaltpollNs(c);
        yield return HaltpollTunables(c);
        yield return NoIdle(c);
        yield return RqAffinity(c);
        yield return NetQueues(c);
    }

    private static Finding HaltpollDriver(AuditContext c)
    {
        var f = c.Facts;
        const string id = "guest.cpuidle.haltpoll",
            title = "haltpoll cpuidle driver active";
        var evidence = new[]
        {
            "/sys/devices/system/cpu/cpuidle/current_driver",
            "/sys/devices/system/cpu/cpuidle/current_governor",
            "/sys/module/cpuidle_haltpoll/parameters/force",
            "/proc/cmdline",
        };
        var rationale =
            "The haltpoll driver and governor poll briefly before halting, saving a VM exit per short "
            + "idle period "
            + "(Documentation/virt/guest-halt-polling.rst). The driver registers only when the host sets "
            + "KVM_HINTS_REALTIME "
            + "(dedicated vCPUs) or with cpuidle_haltpoll.force=1, and never with idle= "
            + "(drivers/cpuidle/cpuidle-haltpoll.c)";
        var driver = f.Power.CpuidleDriver;
        if (driver is null)
            return Rule.Make(
                id,
                "3.4.1",
                title,
                FindingStatus.Unknown,
                "cpuidle driver unknown",
                "haltpoll",
                rationale,
                evidence
            );
        var current = $"driver {driver}, governor {f.Power.CpuidleGovernor ?? "unknown"}";
        if (driver == "haltpoll")
            return Rule.Make(id, "3.4.1", title, FindingStatus.Pass, current, "haltpoll", rationale, evidence);
        var built = f.Kernel.Config?.Get("CONFIG_HALTPOLL_CPUIDLE");
        if (built == "n")
            return Rule.Make(
                id,
                "3.4.1",
                title,
                FindingStatus.Warn,
                current + ", CONFIG_HALTPOLL_CPUIDLE not set",
                "haltpoll",
                rationale,
                evidence,
                new ManualStep("3.4.1", "boot a guest kernel built with CONFIG_HALTPOLL_CPUIDLE")
            );
        if (c.Profile.Get(ProfileSchema.QemuOvercommit))
            return Rule.Make(
                id,
                "3.4.1",
                title,
                FindingStatus.Info,
                current,
                "any (shared vCPUs)",
                "On an overcommitted host guest polling spends CPU time other VMs need; KVM leaves "
                    + "KVM_HINTS_REALTIME off for "
                    + "shared vCPUs, so the haltpoll driver stays out on purpose",
                evidence
            );
        if (f.Kernel.CommandLine?.Value("idle") is { } idle)
            return Rule.Make(
                id,
                "3.4.1",
                title,
                FindingStatus.Warn,
                current + $", idle={idle} on the command line",
                "haltpoll",
                rationale,
                evidence,
                new KernelArgument("3.4.1", "idle", null, Remove: true)
            );
        // Loaded or built in yet not the driver: the host did not set the hint (modprobe alone fails with ENODEV).
        var present = f.Kernel.IsLoaded("cpuidle_haltpoll") == true || built == "y";
        var force = f.Kernel.Param("cpuidle_haltpoll", "force");
        var changes = new List<PlannedChange>
        {
            new ManualStep(
                "3.4.1",
                "on the host, give this VM dedicated (pinned) vCPUs and the real-time hint: QEMU "
                    + "-cpu host,kvm-hint-dedicated=on, libvirt <features><kvm><hint-dedicated "
                    + "state='on'/></kvm></features>"
            ),
        };
        // Without the hint, force=1 is the guest-side switch (Linux 5.7+); it costs host CPU time while polling.
        if (built == "y")
            changes.Add(new KernelArgument("3.4.1", "cpuidle_haltpoll.force", "1"));
        else
            changes.Add(new ModuleOption("3.4.1", "cpuidle_haltpoll", "force", "1"));
        if (!present)
            changes.Add(new ModuleLoad("3.4.1", "cpuidle_haltpoll"));
        return Rule.Make(
            id,
            "3.4.1",
            title,
            FindingStatus.Warn,
            current
                + (
                    present
                        ? $", cpuidle_haltpoll present (force={force ?? "?"}) but not registered: no "
                            + $"KVM_HINTS_REALTIME from the host"
                        : ""
                ),
            "haltpoll",
            rationale,
            evidence,
            changes
        );
    }

    private static Finding HaltpollNs(AuditContext c)
    {
        const string id = "guest.haltpoll.ns",
            title = "guest_halt_poll_ns";
        var range = c.Profile.Get(ProfileSchema.GuestHaltPollNs);
        var evidence = new[] { "/sys/module/haltpoll/parameters/guest_halt_poll_ns", "/proc/cmdline" };
        var rationale = c.Profile.Reason(ProfileSchema.GuestHaltPollNs);
        var text = c.Facts.Kernel.Param("haltpoll", "guest_halt_poll_ns");
        if (text is null || !long.TryParse(text, out var v))
            return Rule.Make(
                id,
                "3.4.1",
                title,
                FindingStatus.Unknown,
                text ?? "haltpoll not loaded",
                range.Text,
                rationale,
                evidence
            );
        // The governor polls only under the haltpoll driver; otherwise the value is never used.
        if (c.Facts.Power.CpuidleDriver is { } drv && drv != "haltpoll")
            return Rule.Make(
                id,
                "3.4.1",
                title,
                FindingStatus.Info,
                $"guest_halt_poll_ns={v} (unused: cpuidle driver {drv})",
                range.Text,
                rationale,
                evidence
            );
        var current =
            $"guest_halt_poll_ns={v}"
            + (
                c.Facts.Kernel.CommandLine?.Value("haltpoll.guest_halt_poll_ns") is string arg
                    ? $" (haltpoll.guest_halt_poll_ns={arg} on the command line)"
                    : ""
            );
        if (range.Contains(v))
            return Rule.Make(id, "3.4.1", title, FindingStatus.Pass, current, range.Text, rationale, evidence);
        var target = Section3_2_5_Ksm.Clamp(v, range).ToString();
        var changes = new List<PlannedChange>
        {
            new ModuleParameter("3.4.1", "haltpoll", "guest_halt_poll_ns", target),
        };
        if (c.Facts.Kernel.CommandLine?.Has("haltpoll.guest_halt_poll_ns") == true)
            changes.Add(new KernelArgument("3.4.1", "haltpoll.guest_halt_poll_ns", target));
        return Rule.Make(
            id,
            "3.4.1",
            title,
            FindingStatus.Warn,
            current + (v == 0 ? " (guest halt polling off)" : ""),
            range.Text,
            rationale,
            evidence,
            changes
        );
    }

    /// <summary>
    /// The haltpoll governor's other knobs (drivers/cpuidle/governors/haltpoll.c; defaults grow 2, grow_start 50000,
    /// shrink 2, allow_shrink Y): the per-CPU window grows by guest_halt_poll_grow from grow_start up to
    /// guest_halt_poll_ns, and shrinks by guest_halt_poll_shrink after an idle period longer than the maximum.
    /// </summary>
    private static Finding HaltpollTunables(AuditContext c)
    {
        const string id = "guest.haltpoll.tunables",
            title = "Guest halt polling grow and shrink";
        const string dir = "/sys/module/haltpoll/parameters";
        var names = new[]
        {
            "guest_halt_poll_grow",
            "guest_halt_poll_grow_start",
            "guest_halt_poll_shrink",
            "guest_halt_poll_allow_shrink",
        };
        var evidence = names.Select(n => $"{dir}/{n}").ToList();
        var rationale =
            "The guest's poll window grows from guest_halt_poll_grow_start by guest_halt_poll_grow up to "
            + "guest_halt_poll_ns "
            + "and shrinks by guest_halt_poll_shrink after longer idle periods (drivers/cpuidle/governors/haltpoll.c, "
            + "Documentation/virt/guest-halt-polling.rst)";
        var k = c.Facts.Kernel;
        var values = names.ToDictionary(n => n, n => k.Param("haltpoll", n));
        if (values.Values.Any(v => v is null))
            return Rule.Make(
                id,
                "3.4.1",
                title,
                FindingStatus.Unknown,
                "haltpoll parameters unreadable",
                "kernel defaults",
                rationale,
                evidence
            );
        var current = string.Join(", ", names.Select(n => $"{n[16..]}={values[n]}"));
        var overcommit = c.Profile.Get(ProfileSchema.QemuOvercommit);
        var problems = new List<string>();
        var changes = new List<PlannedChange>();
        // Without shrinking every vCPU keeps polling its full window even when idle for long: host CPU time other VMs
        // need.
        if (values["guest_halt_poll_allow_shrink"] is "N" or "n" or "0")
        {
            problems.Add("the window never shrinks");
            changes.Add(new ModuleParameter("3.4.1", "haltpoll", "guest_halt_poll_allow_shrink", "Y"));
        }
        if (long.TryParse(values["guest_halt_poll_grow"], out var grow) && grow <= 1)
            problems.Add("the window never grows past grow_start");
        if (
            long.TryParse(values["guest_halt_poll_grow_start"], out var start)
            && long.TryParse(k.Param("haltpoll", "guest_halt_poll_ns"), out var max)
            && start > max
        )
            problems.Add("grow_start above guest_halt_poll_ns: the window jumps straight to the maximum");
        if (problems.Count == 0)
            return Rule.Make(
                id,
                "3.4.1",
                title,
                FindingStatus.Pass,
                current,
                "a window that grows and shrinks",
                rationale,
                evidence
            );
        // Shrinking matters most where vCPUs share host CPUs; with dedicated CPUs a long window costs only the guest's
        // own CPU.
        var status = overcommit || problems.Count > 1 ? FindingStatus.Warn : FindingStatus.Info;
        return Rule.Make(
            id,
            "3.4.1",
            title,
            status,
            current + " — " + string.Join("; ", problems),
            "a window that grows and shrinks",
            rationale,
            evidence,
            changes
        );
    }

    private static Finding NoIdle(AuditContext c)
    {
        const string id = "guest.kernel.idle",
            title = "No idle= on the guest kernel command line";
        var evidence = new[] { "/proc/cmdline" };
        var rationale = "Any idle= argument in the guest masks guest halt polling (guide 3.4.1)";
        var cmd = c.Facts.Kernel.CommandLine;
        if (cmd is null)
            return Rule.Make(id, "3.4.1", title, FindingStatus.Unknown, "unknown", "no idle=", rationale, evidence);
        var idle = cmd.Value("idle");
        return idle is null
            ? Rule.Make(id, "3.4.1", title, FindingStatus.Pass, "no idle= argument", "no idle=", rationale, evidence)
            : Rule.Make(
                id,
                "3.4.1",
                title,
                FindingStatus.Fail,
                $"idle={idle}",
                "no idle=",
                rationale,
                evidence,
                new KernelArgument("3.4.1", "idle", null, Remove: true)
            );
    }

    private static Finding RqAffinity(AuditContext c)
    {
        const string id = "guest.block.rq_affinity",
            title = "rq_affinity on multi-queue block devices";
        var want = c.Profile.Get(ProfileSchema.GuestRqAffinity);
        var rationale = c.Profile.Reason(ProfileSchema.GuestRqAffinity);
        var devices = c.Facts.Block;
        var multi = devices.Where(b => b.HardwareQueues > 1).ToList();
        var evidence = multi
            .Select(b => $"/sys/block/{b.Name}/queue/rq_affinity")
            .DefaultIfEmpty("/sys/block")
            .ToList();
        if (devices.Count == 0)
            return Rule.Make(
                id,
                "3.4.2",
                title,
                FindingStatus.Info,
                "no block devices",
                $"rq_affinity={want}",
                rationale,
                ["/sys/block"]
            );
        if (multi.Count == 0)
            return Rule.Make(
                id,
                "3.4.2",
                title,
                devices.Any(b => b.HardwareQueues is null) ? FindingStatus.Unknown : FindingStatus.Info,
                "no multi-queue block device ("
                    + string.Join(
                        ", ",
                        devices.Select(b => $"{b.Name}: {b.HardwareQueues?.ToString() ?? "?"} queue(s)")
                    )
                    + ")",
                $"rq_affinity={want} where there are several queues",
                rationale,
                evidence
            );
        var current = string.Join(
            ", ",
            multi.Select(b => $"{b.Name}: {b.HardwareQueues} queues, rq_affinity={b.RqAffinity?.ToString() ?? "?"}")
        );
        var wrong = multi.Where(b => b.RqAffinity != want).ToList();
        if (wrong.Count == 0)
            return Rule.Make(
                id,
                "3.4.2",
                title,
                FindingStatus.Pass,
                current,
                $"rq_affinity={want}",
                rationale,
                evidence
            );
        return Rule.Make(
            id,
            "3.4.2",
            title,
            wrong.Any(b => b.RqAffinity is null) ? FindingStatus.Unknown : FindingStatus.Warn,
            current,
            $"rq_affinity={want}",
            rationale,
            evidence,
            wrong.Select(b => new SysfsWrite("3.4.2", $"/sys/block/{b.Name}/queue/rq_affinity", want.ToString()))
        );
    }

    private static Finding NetQueues(AuditContext c)
    {
        const string id = "guest.net.queues",
            title = "virtio-net queues equal to vCPUs";
        var want = c.Profile.Get(ProfileSchema.GuestNetQueues);
        var vcpus = c.Facts.Cpu.Threads;
        var nics = c.Facts.Net.Where(n => n.Driver == "virtio_net").ToList();
        var evidence = nics.Select(n => $"/sys/class/net/{n.Name}/queues").DefaultIfEmpty("/sys/class/net").ToList();
        var rationale =
            "One queue pair per vCPU lets every vCPU handle its own packets (guide 3.3.3, multi-queue virtio-net)";
        if (nics.Count == 0)
            return Rule.Make(
                id,
                "3.3.3",
                title,
                FindingStatus.Info,
                "no virtio-net interface",
                null,
                rationale,
                evidence
            );
        var current = string.Join(
            ", ",
            nics.Select(n => $"{n.Name}: {n.RxQueues?.ToString() ?? "?"} rx / {n.TxQueues?.ToString() ?? "?"} tx")
        );
        if (vcpus is null || nics.Any(n => n.RxQueues is null))
            return Rule.Make(id, "3.3.3", title, FindingStatus.Unknown, current, "queues = vCPUs", rationale, evidence);
        if (want == QueueCount.Any)
            return Rule.Make(id, "3.3.3", title, FindingStatus.Info, current, "any", rationale, evidence);
        var few = nics.Where(n => n.RxQueues < vcpus).ToList();
        if (few.Count == 0)
            return Rule.Make(id, "3.3.3", title, FindingStatus.Pass, current, $"{vcpus} queues", rationale, evidence);
        return Rule.Make(
            id,
            "3.3.3",
            title,
            FindingStatus.Warn,
            current,
            $"{vcpus} queues (one per vCPU)",
            rationale,
            evidence,
            few.Select(n => new ManualStep(
                "3.3.3",
                $"host: -netdev tap,...,vhost=on,queues={vcpus} and -device " +
                    $"virtio-net-pci,mq=on,vectors={2 * vcpus + 2}; guest: ethtool -L {n.Name} combined {vcpus}"
            ))
        );
    }
}
