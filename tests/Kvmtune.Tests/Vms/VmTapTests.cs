using System.Globalization;
using System.Text.Json;
using AwesomeAssertions;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.Vms;

/// <summary>
/// vm run creates the taps a VM's NICs name where they are missing, multi_queue exactly when a NIC has several
/// queues, refuses a tap of the other kind before QEMU starts, and vm stop deletes only the taps it created; with a
/// real QEMU under TCG. The kernel is the judge: a tap's flags from /sys/class/net/TAP/tun_flags (IFF_TAP 0x2,
/// IFF_MULTI_QUEUE 0x100, include/uapi/linux/if_tun.h) and the queues QEMU holds, one open /dev/net/tun each, whose
/// /proc/PID/fdinfo names the tap ("iff:", tun_chr_show_fdinfo() in drivers/net/tun.c).
/// </summary>
[Collection(Kvmtune.Tests.Changes.LiveSysfs.Name)]
public sealed class VmTapTests : IDisposable
{
    private readonly TestTree _dir = new();
    private readonly string _multi = $"kvq{Environment.ProcessId % 100000}m";
    private readonly string _single = $"kvq{Environment.ProcessId % 100000}s";

    public VmTapTests()
    {
        foreach (var tap in new[] { _multi, _single })
            Delete(tap);
    }

    public void Dispose()
    {
        foreach (var tap in new[] { _multi, _single })
            Delete(tap);
        _dir.Dispose();
    }

    private static void Delete(string tap)
    {
        if (Directory.Exists($"/sys/class/net/{tap}"))
            Processes.Run("ip", ["link", "delete", "dev", tap]);
    }

    private static int? Flags(string tap) =>
        File.Exists($"/sys/class/net/{tap}/tun_flags")
            ? int.Parse(
                File.ReadAllText($"/sys/class/net/{tap}/tun_flags").Trim()[2..],
                NumberStyles.HexNumber,
                CultureInfo.InvariantCulture
            )
            : null;

    /// <summary>How many queues of the tap the process holds open.</summary>
    private static int QueuesHeld(int pid, string tap) =>
        Directory
            .GetFiles($"/proc/{pid}/fdinfo")
            .Count(f =>
            {
                try
                {
                    return File.ReadAllLines(f).Any(l => l == $"iff:\t{tap}");
                }
                catch (IOException)
                {
                    return false;
                }
            });

    private string Spec(int multiQueues)
    {
        _dir.File(
            "/vm.yaml",
            "name: taps1\nvcpus: 2\nmemory: 128MiB\nhugepages: none\nnics:\n"
                + $"  - {{ ifname: {_multi}, queues: {multiQueues}, vhost: false }}\n  - {{ ifname: {_single}, " +
                    "queues: 1, vhost: false }\n"
        );
        return _dir.Physical("/vm.yaml");
    }

    private (ProcessResult Run, int? Pid) Run(string spec)
    {
        var run = KvmtuneProcess.Run("vm", "run", spec, "--accel", "tcg", "--run-dir", _dir.Physical("/run"));
        var state = _dir.Physical("/run/taps1.json");
        return (
            run,
            File.Exists(state)
                ? JsonDocument.Parse(File.ReadAllText(state)).RootElement.GetProperty("pid").GetInt32()
                : null
        );
    }

    private void Stop() =>
        KvmtuneRunner
            .Run("vm", "stop", "taps1", "--run-dir", _dir.Physical("/run"), "--grace", "1")
            .ExitCode.Should()
            .Be(0);

    [Fact]
    public void Missing_taps_are_created_multi_queue_where_needed_qemu_opens_every_queue_and_stop_deletes_them()
    {
        Flags(_multi).Should().BeNull();
        var (run, pid) = Run(Spec(4));
        try
        {
            run.ExitCode.Should().Be(0, run.Stderr);
            run.Stdout.Should().Contain($"created tap {_multi}").And.Contain($"created tap {_single}");
            (Flags(_multi)! & 0x102).Should().Be(0x102, "a multi_queue tap for 4 queues");
            (Flags(_single)! & 0x102).Should().Be(0x2, "a plain tap for one queue");
            QueuesHeld(pid!.Value, _multi).Should().Be(4, "QEMU attached each of the 4 queues");
            QueuesHeld(pid.Value, _single).Should().Be(1);
        }
        finally
        {
            Stop();
        }
        Flags(_multi).Should().BeNull("vm stop deletes the taps it created");
        Flags(_single).Should().BeNull();
    }

    [Fact]
    public void A_tap_of_the_other_kind_is_refused_before_qemu_starts_and_left_alone()
    {
        Processes.Run("ip", ["tuntap", "add", "dev", _multi, "mode", "tap"]).ExitCode.Should().Be(0);
        var (run, pid) = Run(Spec(4));
        if (pid is not null)
            Stop();
        run.ExitCode.Should().Be(3, run.Stdout);
        run.Stderr.Should().Contain($"{_multi} exists without multi_queue, and the NIC has 4 queue(s)");
        pid.Should().BeNull("QEMU was not started");
        (Flags(_multi)! & 0x100).Should().Be(0, "the tap is left as it was");
        Flags(_single).Should().BeNull("nothing was created before the refusal");
    }

    [Fact]
    public void A_tap_that_exists_with_the_right_flags_is_used_and_kept()
    {
        Processes.Run("ip", ["tuntap", "add", "dev", _multi, "mode", "tap", "multi_queue"]).ExitCode.Should().Be(0);
        var (run, pid) = Run(Spec(2));
        try
        {
            run.ExitCode.Should().Be(0, run.Stderr);
            run.Stdout.Should().NotContain($"created tap {_multi}").And.Contain($"created tap {_single}");
            QueuesHeld(pid!.Value, _multi).Should().Be(2);
        }
        finally
        {
            Stop();
        }
        Flags(_multi).Should().NotBeNull("a tap kvmtune did not create is not deleted");
        Flags(_single).Should().BeNull();
    }
}
