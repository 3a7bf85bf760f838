using System.Text.Json;
using System.Text.RegularExpressions;
using AwesomeAssertions;
using Kvmtune.Facts.Parsing;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.VmAudit;

/// <summary>
/// vm audit against real QEMU processes under TCG: one started untuned (plain -m, -smp, -drive, user networking),
/// one tuned (from vm run), two sharing a dedicated CPU. Every `current` value checked here is read back from the
/// kernel (/proc/PID/task/TID/status of the thread QMP's query-cpus-fast names) or from QEMU (qom-get, query-block).
/// </summary>
[Collection(Kvmtune.Tests.Changes.LiveSysfs.Name)]
public sealed partial class VmAuditQemuTests : IDisposable
{
    private readonly string _dir = Path.Combine(
        "/var/tmp",
        $"kvmtune-va-{Environment.ProcessId}-{Guid.NewGuid():N}"[..36]
    );
    private readonly List<IDisposable> _vms = [];
    private readonly string _tag = $"{Environment.ProcessId % 10000}{Random.Shared.Next(1000, 9999)}";

    public VmAuditQemuTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        foreach (var vm in _vms)
            vm.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private string Image(string name)
    {
        var path = Path.Combine(_dir, name);
        Processes.Run("qemu-img", ["create", "-f", "raw", path, "16M"]).ExitCode.Should().Be(0);
        return path;
    }

    private TestQemu Start(string name, params string[] args)
    {
        var q = new TestQemu(_dir, name, ["-machine", "q35,accel=tcg", .. args]);
        _vms.Add(q);
        return q;
    }

    internal sealed record Found(string Status, string Current, JsonElement Finding);

    /// <summary>The audit's JSON, each named VM's findings by id.</summary>
    internal static Dictionary<string, Dictionary<string, Found>> Audit(out ProcessResult run, params string[] args)
    {
        run = KvmtuneRunner.Run(["vm", "audit", "--format", "json", .. args]);
        run.ExitCode.Should().BeOneOf([0, 1], run.Stderr);
        using var doc = JsonDocument.Parse(run.Stdout);
        doc.RootElement.GetProperty("schema").GetString().Should().Be("kvmtune.vmaudit/v1");
        return doc
            .RootElement.GetProperty("vms")
            .EnumerateArray()
            .ToDictionary(
                v => v.GetProperty("name").GetString()!,
                v =>
                    v.GetProperty("findings")
                        .EnumerateArray()
                        .ToDictionary(
                            f => f.GetProperty("id").GetString()!,
                            f => new Found(
                                f.GetProperty("status").GetString()!,
                                f.GetProperty("current").GetString() ?? "",
                                f.Clone()
                            )
                        )
            );
    }

    /// <summary>"vCPU n on CPUS" for each vCPU, as the audit states it.</summary>
    internal static Dictionary<int, string> VcpuCpus(string current) =>
        VcpuOn().Matches(current).ToDictionary(m => int.Parse(m.Groups[1].Value), m => m.Groups[2].Value);

    [GeneratedRegex(@"vCPU (\d+) on ([0-9,-]+)")]
    private static partial Regex VcpuOn();

    [Fact]
    public void An_untuned_qemu_is_reported_unpinned_with_default_cache_aio_and_queues_as_qemu_and_the_kernel_say()
    {
        var name = $"kva-plain-{_tag}";
        var q = Start(
            name,
            "-name",
            name,
            "-m",
            "128",
            "-smp",
            "2",
            "-nodefaults",
            "-drive",
            $"file={Image("plain.raw")},format=raw,if=virtio",
            "-netdev",
            "user,id=n0",
            "-device",
            "virtio-net-pci,netdev=n0,id=nic0"
        );
        var vms = Audit(out var run, name);
        run.ExitCode.Should().Be(0, "an untuned VM warns; nothing of it fails");
        var f = vms[name];

        // Unnamed threads (no debug-threads=on): all allowed the same CPUs, which the kernel reports for each.
        var allowed = Directory
            .GetDirectories($"/proc/{q.Pid}/task")
            .Select(d => TestQemu.Allowed(q.Pid, int.Parse(Path.GetFileName(d))))
            .Distinct()
            .Single();
        f["vm.cpu.pinned"].Status.Should().Be("warn");
        VcpuCpus(f["vm.cpu.pinned"].Current)
            .Should()
            .BeEquivalentTo(new Dictionary<int, string> { [0] = allowed, [1] = allowed });
        foreach (var tid in q.VcpuThreads().Values)
            TestQemu.Allowed(q.Pid, tid).Should().Be(allowed);

        // virtio-blk: QEMU's own view of the device and of the drive.
        var blk = q.QomGet("/machine/peripheral-anon/device[0]", "num-queues").GetInt32();
        f["vm.blk.queues"].Current.Should().Contain($"num-queues={blk}");
        var cache = q.Ask("query-block")
            .EnumerateArray()
            .Single(b => b.TryGetProperty("inserted", out _))
            .GetProperty("inserted")
            .GetProperty("cache");
        (cache.GetProperty("direct").GetBoolean(), cache.GetProperty("no-flush").GetBoolean())
            .Should()
            .Be((false, false));
        f["vm.blk.cache"]
            .Should()
            .Match<Found>(x => x.Status == "warn" && x.Current.Contains("cache=writeback (default)"));
        f["vm.blk.aio"].Should().Match<Found>(x => x.Status == "warn" && x.Current.Contains("aio=threads"));
        f["vm.blk.iothread"].Status.Should().Be("warn");
        q.QomGet("/machine/peripheral-anon/device[0]", "iothread")
            .ValueKind.Should()
            .BeOneOf(JsonValueKind.Null, JsonValueKind.String);

        // virtio-net: vectors and mq as QEMU has them.
        var vectors = q.QomGet("/machine/peripheral/nic0", "vectors").GetInt32();
        f["vm.net.vectors"].Current.Should().Contain($"nic0: vectors={vectors}");
        q.QomGet("/machine/peripheral/nic0", "mq").GetBoolean().Should().BeFalse();
        f["vm.net.mq"].Should().Match<Found>(x => x.Status == "warn" && x.Current.Contains("nic0: queues=1, mq=off"));
        q.QomGet("/machine/peripheral/nic0", "packed").GetBoolean().Should().BeFalse();
        f["vm.net.packed"].Status.Should().Be("warn");
        f["vm.net.vhost"].Current.Should().Contain("nic0: user, vhost=off");

        // Memory: the kernel's count of locked memory; no hugetlbfs.
        var vmLck = long.Parse(
            Regex.Match(File.ReadAllText($"/proc/{q.Pid}/status"), @"VmLck:\s+(\d+) kB").Groups[1].Value
        );
        f["vm.mem.lock"].Current.Should().Contain($"VmLck {Sizes.HumanKib(vmLck)}");
        f["vm.mem.hugepages"]
            .Should()
            .Match<Found>(x => x.Status == "warn" && x.Current.Contains("pc.ram 128 MiB memory-backend-ram"));
        f["vm.qemu.options"].Status.Should().Be("pass");
        // No thread names: what needs them says so instead of guessing.
        f["vm.emulator.offvcpu"].Status.Should().Be("unknown");
        f["vm.emulator.offvcpu"]
            .Finding.GetProperty("fix")
            .GetProperty("persistent")[0]
            .GetString()
            .Should()
            .Contain("debug-threads=on");
    }

    [Fact]
    public void Two_vms_with_a_vcpu_pinned_on_one_cpu_both_fail_and_moving_one_away_ends_it()
    {
        var online = CpuList.Parse(File.ReadAllText("/sys/devices/system/cpu/online"));
        var a = $"kva-a-{_tag}";
        var b = $"kva-b-{_tag}";
        var qa = Start(a, "-name", $"guest={a},debug-threads=on", "-m", "64", "-smp", "1", "-nodefaults");
        var qb = Start(b, "-name", $"guest={b},debug-threads=on", "-m", "64", "-smp", "1", "-nodefaults");
        var cpu = online[^1].ToString();
        foreach (var q in new[] { qa, qb })
            Processes.Run("taskset", ["-pc", cpu, q.VcpuThreads()[0].ToString()]).ExitCode.Should().Be(0);
        var vms = Audit(out var run, a, b);
        run.ExitCode.Should().Be(1, "two VMs share a dedicated CPU");
        vms[a]["vm.cpu.shared"].Should().Match<Found>(x => x.Status == "fail" && x.Current.Contains($"VM '{b}'"));
        vms[b]["vm.cpu.shared"].Should().Match<Found>(x => x.Status == "fail" && x.Current.Contains($"VM '{a}'"));
        foreach (var (name, q) in new[] { (a, qa), (b, qb) })
        {
            VcpuCpus(vms[name]["vm.cpu.pinned"].Current)[0].Should().Be(TestQemu.Allowed(q.Pid, q.VcpuThreads()[0]));
            vms[name]["vm.cpu.pinned"].Status.Should().Be("pass");
            // The main thread still may run on the vCPU's CPU.
            vms[name]["vm.emulator.offvcpu"].Status.Should().Be("warn");
        }
        if (online.Count < 2)
            return;
        Processes.Run("taskset", ["-pc", online[0].ToString(), qb.VcpuThreads()[0].ToString()]).ExitCode.Should().Be(0);
        // The fixes the audit prints for the main thread (and QMP's monitor I/O thread), run as printed.
        var fixes = vms[a]
            ["vm.emulator.offvcpu"]
            .Finding.GetProperty("fix")
            .GetProperty("runtime")
            .EnumerateArray()
            .Select(x => x.GetString()!)
            .ToList();
        fixes.Should().Contain($"taskset -pc {online[0]} {qa.Pid}");
        foreach (var words in fixes.Select(x => x.Split(' ')))
            Processes.Run(words[0], words[1..]).ExitCode.Should().Be(0);
        vms = Audit(out _, a, b);
        vms[a]["vm.cpu.shared"].Current.Should().NotContain($"VM '{b}'");
        vms[a]["vm.emulator.offvcpu"].Status.Should().Be("pass", vms[a]["vm.emulator.offvcpu"].Current);
        vms[a]["vm.emulator.offvcpu"].Current.Should().Contain($"main thread on {TestQemu.Allowed(qa.Pid, qa.Pid)}");
    }

    [Fact]
    public void A_vm_started_by_vm_run_passes_what_it_was_tuned_for_as_qemu_reports_it()
    {
        var online = CpuList.Parse(File.ReadAllText("/sys/devices/system/cpu/online"));
        var name = $"kva-tuned-{_tag}";
        var spec = Path.Combine(_dir, "tuned.yaml");
        File.WriteAllText(
            spec,
            $"name: {name}\nvcpus: 1\nmemory: 128MiB\nworkload: latency\nhugepages: none\n"
                + $"cpuset: {online[^1]}\ndisks:\n  - {{ path: {Image("tuned.raw")}, cache: none, aio: io_uring, "
                + "queues: 2, iothread: true }\n"
        );
        var runDir = Path.Combine(_dir, "run");
        var started = KvmtuneRunner.Run("vm", "run", spec, "--accel", "tcg", "--run-dir", runDir);
        started.ExitCode.Should().Be(0, started.Stderr);
        var state = JsonDocument.Parse(File.ReadAllText(Path.Combine(runDir, name + ".json"))).RootElement;
        var pid = state.GetProperty("pid").GetInt32();
        _vms.Add(new Stopper(() => KvmtuneRunner.Run("vm", "stop", name, "--run-dir", runDir, "--grace", "1")));
        using var qmp = Kvmtune.Vms.QmpClient.Connect(
            state.GetProperty("qmp_socket").GetString()!,
            TimeSpan.FromSeconds(10)
        );

        var vms = Audit(out _, name);
        var f = vms[name];
        var tid = qmp.Execute("query-cpus-fast").EnumerateArray().Single().GetProperty("thread-id").GetInt32();
        f["vm.cpu.pinned"].Status.Should().Be("pass");
        VcpuCpus(f["vm.cpu.pinned"].Current)[0].Should().Be(TestQemu.Allowed(pid, tid));
        f["vm.emulator.offvcpu"].Status.Should().Be("pass");
        f["vm.emulator.offvcpu"].Current.Should().Contain($"main thread on {TestQemu.Allowed(pid, pid)}");
        f["vm.blk.cache"].Should().Match<Found>(x => x.Status == "pass" && x.Current == "disk0: cache=none");
        var cache = qmp.Execute("query-block")
            .EnumerateArray()
            .Single(b => b.TryGetProperty("inserted", out _))
            .GetProperty("inserted")
            .GetProperty("cache");
        cache.GetProperty("direct").GetBoolean().Should().BeTrue("cache=none is O_DIRECT");
        f["vm.blk.aio"].Should().Match<Found>(x => x.Status == "pass" && x.Current == "disk0: aio=io_uring");
        var queues = qmp.Execute("qom-get", """{"path":"/machine/peripheral/disk0","property":"num-queues"}""")
            .GetInt32();
        f["vm.blk.queues"].Current.Should().StartWith($"disk0: num-queues={queues};");
        var io = qmp.Execute("qom-get", """{"path":"/machine/peripheral/disk0","property":"iothread"}""").GetString();
        // QOM links name the object's path (/objects/io0); the command line names its id.
        var ioId = io!.Split('/').Last();
        f["vm.blk.iothread"].Should().Match<Found>(x => x.Status == "pass" && x.Current == $"disk0: iothread={ioId}");
        // Nothing of what kvmtune tuned fails; a CPU shared with another program's VM is the only possible fail.
        f.Where(x => x.Value.Status == "fail").Select(x => x.Key).Should().BeSubsetOf(["vm.cpu.shared"]);

        var untuned = $"kva-cmp-{_tag}";
        Start(
            untuned,
            "-name",
            untuned,
            "-m",
            "128",
            "-drive",
            $"file={Image("cmp.raw")},format=raw,if=virtio",
            "-nodefaults"
        );
        var both = Audit(out _, name, untuned);
        foreach (var id in new[] { "vm.cpu.pinned", "vm.blk.cache", "vm.blk.aio", "vm.blk.iothread" })
            (both[name][id].Status, both[untuned][id].Status).Should().Be(("pass", "warn"), id);
    }

    [Fact]
    public void The_other_formats_carry_the_same_findings_and_a_name_that_runs_nowhere_is_bad_input()
    {
        var name = $"kva-fmt-{_tag}";
        Start(name, "-name", name, "-m", "64", "-nodefaults");
        var json = Audit(out _, name)[name];
        var prom = KvmtuneRunner.Run("vm", "audit", name, "--format", "prometheus").Stdout;
        var series = Regex
            .Matches(
                prom,
                $"kvmtune_vm_check\\{{vm=\"{name}\",pid=\"\\d+\",id=\"([^\"]+)\","
                    + "section=\"[^\"]+\",status=\"([a-z]+)\"\\} 1"
            )
            .ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
        series.Should().BeEquivalentTo(json.ToDictionary(x => x.Key, x => x.Value.Status));
        var html = Path.Combine(_dir, "vm.html");
        KvmtuneRunner.Run("vm", "audit", name, "--format", "html", "--output", html).ExitCode.Should().Be(0);
        File.ReadAllText(html).Should().Contain($"id=\"finding-{name}-vm.cpu.pinned\"").And.NotContain("<script");
        var text = KvmtuneRunner.Run("vm", "audit", name);
        text.Stdout.Should().Contain($"{name} (PID ").And.Contain("vCPU threads pinned");

        var missing = KvmtuneRunner.Run("vm", "audit", "no-such-vm-" + _tag);
        missing.ExitCode.Should().Be(2);
        missing.Stderr.Should().Contain("no running VM is called").And.Contain(name);
    }

    private sealed class Stopper(Action stop) : IDisposable
    {
        public void Dispose() => stop();
    }
}
