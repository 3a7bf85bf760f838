using System.Text.Json;
using AwesomeAssertions;
using Kvmtune.Tests.Support;
using Kvmtune.Vms.Audit;

namespace Kvmtune.Tests.VmAudit;

/// <summary>
/// vm audit against the real libvirt 9 (a private daemon): the QEMU command lines libvirt writes for varied domains
/// (virsh domxml-to-native) are read without loss and mean what the domain XML says; a running domain is reported
/// as one libvirt VM with fixes in virsh and domain-XML form, one of which is run as printed; and the audit of an
/// extracted snapshot equals the live one.
/// </summary>
[Collection(Kvmtune.Tests.Changes.LiveSysfs.Name)]
public sealed class VmAuditLibvirtTests : IClassFixture<LibvirtDaemon>, IDisposable
{
    private readonly LibvirtDaemon _libvirt;
    private readonly string _dir = Path.Combine(
        "/var/tmp",
        $"kvmtune-val-{Environment.ProcessId}-{Guid.NewGuid():N}"[..37]
    );
    private readonly string _tag = $"{Environment.ProcessId % 10000}{Random.Shared.Next(1000, 9999)}";

    public VmAuditLibvirtTests(LibvirtDaemon libvirt)
    {
        _libvirt = libvirt;
        Directory.CreateDirectory(_dir);
        // libvirt's QEMU runs as libvirt-qemu: it must reach the images.
        File.SetUnixFileMode(_dir, (UnixFileMode)0b111_101_101);
        Processes.Run("qemu-img", ["create", "-f", "raw", Path.Combine(_dir, "a.raw"), "16M"]).ExitCode.Should().Be(0);
        Processes
            .Run("qemu-img", ["create", "-f", "qcow2", Path.Combine(_dir, "b.qcow2"), "16M"])
            .ExitCode.Should()
            .Be(0);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private sealed record Disk(
        string? Cache = null,
        string? Io = null,
        int? Queues = null,
        bool Packed = false,
        int? Iothread = null,
        bool Qcow2 = false
    );

    private sealed record Domain(
        int Vcpus,
        Disk[] Disks,
        string Extra = "",
        string Nics = "",
        int Threads = 1,
        bool Huge = false,
        bool NoShare = false,
        bool Locked = false
    );

    private static readonly Dictionary<string, Domain> Corpus = new()
    {
        ["plain"] = new(1, [new()], Nics: "<interface type='user'><model type='virtio'/></interface>"),
        ["tuned"] = new(
            2,
            [new("none", "native", 2, true, 1)],
            "<iothreads>1</iothreads><cputune><vcpupin vcpu='0' cpuset='0'/><vcpupin vcpu='1' cpuset='0'/>"
                + "<emulatorpin cpuset='0'/><iothreadpin iothread='1' cpuset='0'/></cputune>",
            Huge: true,
            NoShare: true,
            Locked: true
        ),
        ["qcow2-writethrough"] = new(
            2,
            [new("writethrough", "io_uring", Qcow2: true), new("directsync", "threads", 1)]
        ),
        ["unsafe-four-queues"] = new(
            4,
            [new("unsafe", Queues: 4, Packed: true)],
            Threads: 2,
            Nics: "<interface type='ethernet'><mac address='52:54:00:00:aa:01'/><target dev='kvatapz' managed='no'/>"
                + "<model type='virtio'/><driver name='vhost' queues='4' packed='on'/></interface>"
        ),
        ["writeback-two-iothreads"] = new(
            2,
            [new("writeback", "threads", Iothread: 1), new("none", "io_uring", Iothread: 2)],
            "<iothreads>2</iothreads>"
        ),
        ["no-disk"] = new(1, [], NoShare: true),
    };

    public static TheoryData<string> Names() => new(Corpus.Keys);

    private string Xml(string name, Domain d)
    {
        static string Attr(string n, object? v) => v is null ? "" : $" {n}='{v}'";
        var disks = string.Concat(
            d.Disks.Select(
                (x, i) =>
                    "<disk type='file' device='disk'>"
                    + $"<driver name='qemu' type='{(x.Qcow2 ? "qcow2" : "raw")}'{Attr("cache", x.Cache)}"
                    + $"{Attr("io", x.Io)}{Attr("queues", x.Queues)}{(x.Packed ? " packed='on'" : "")}"
                    + $"{Attr("iothread", x.Iothread)}/>"
                    + $"<source file='{Path.Combine(_dir, x.Qcow2 ? "b.qcow2" : "a.raw")}'/>"
                    + $"<target dev='vd{(char)('a' + i)}' bus='virtio'/>"
                    + (i > 0 ? "<readonly/>" : "")
                    + "</disk>"
            )
        );
        var backing =
            (d.Huge ? "<hugepages/>" : "") + (d.NoShare ? "<nosharepages/>" : "") + (d.Locked ? "<locked/>" : "");
        return $"<domain type='qemu'><name>{name}</name><memory unit='KiB'>131072</memory>"
            + (backing.Length > 0 ? $"<memoryBacking>{backing}</memoryBacking>" : "")
            + $"<vcpu placement='static'>{d.Vcpus}</vcpu>{d.Extra}"
            + "<os><type arch='x86_64' machine='q35'>hvm</type></os>"
            + "<cpu mode='maximum'>"
            + $"<topology sockets='1' dies='1' cores='{d.Vcpus / d.Threads}' threads='{d.Threads}'/></cpu>"
            + "<devices><emulator>/usr/bin/qemu-system-x86_64</emulator>"
            + $"{disks}{d.Nics}<memballoon model='none'/></devices>"
            + "</domain>";
    }

    /// <summary>The hugetlbfs mount a path lies in, from the kernel's /proc/mounts (pagesize=2M ones only).</summary>
    private static string? HugetlbfsMount(string path) =>
        File.ReadAllLines("/proc/mounts")
            .Select(l => l.Split(' '))
            .Where(f => f.Length > 3 && f[2] == "hugetlbfs" && f[3].Contains("pagesize=2M"))
            .Select(f => f[1])
            .Where(m => path.StartsWith(m + "/", StringComparison.Ordinal))
            .OrderByDescending(m => m.Length)
            .FirstOrDefault();

    /// <summary>virsh's shell-quoted command line, split into words by bash itself.</summary>
    private static List<string> Words(string commandLine)
    {
        var r = Processes.Run("bash", ["-c", "eval \"set -- $1\"; printf '%s\\0' \"$@\"", "_", commandLine.Trim()]);
        r.ExitCode.Should().Be(0, r.Stderr);
        return r.Stdout.TrimEnd('\0').Split('\0').ToList();
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void The_command_line_libvirt_writes_is_read_without_loss_and_means_what_the_domain_says(string name)
    {
        var d = Corpus[name];
        var file = Path.Combine(_dir, name + ".xml");
        File.WriteAllText(file, Xml($"kva-c-{name}", d));
        var native = _libvirt.Virsh("domxml-to-native", "qemu-argv", "--xml", file);
        native.ExitCode.Should().Be(0, native.Stderr);
        var words = Words(native.Stdout);
        var start = words.FindIndex(w => w.EndsWith("/qemu-system-x86_64", StringComparison.Ordinal));
        var argv = QemuArgv.Parse(words[start..]);
        argv.Unknown.Should().BeEmpty(native.Stdout);
        argv.Problems.Should().BeEmpty(native.Stdout);
        // Every word is an option, a value of one, or a positional argument: nothing dropped.
        (1 + argv.Options.Sum(o => 1 + (o.Value is null ? 0 : 1)) + argv.Positional.Count)
            .Should()
            .Be(words.Count - start);
        argv.Positional.Should().BeEmpty();
        // JSON values hold every member (the test's own reading of the JSON, member by member).
        foreach (var o in argv.Options.Where(o => o.Value?.StartsWith('{') == true))
            o.Props!.Items.Select(i => (i.Key, i.Value))
                .Should()
                .BeEquivalentTo(QemuArgs.Props(o.Value!).Select(p => (p.Key, p.Value)));

        var c = QemuVmConfig.From(argv);
        c.Vcpus.Should().Be(d.Vcpus);
        c.Threads.Should().Be(d.Threads);
        c.Accel.Should().Be("tcg");
        c.Name.Should().Be($"kva-c-{name}");
        c.MemoryBytes.Should().Be(128L << 20);
        c.MemMerge.Should().Be(!d.NoShare);
        c.MemLock.Should().Be(d.Locked);
        c.Ram.Single().SizeBytes.Should().Be(128L << 20);
        if (d.Huge)
        {
            // libvirt takes a hugetlbfs it found mounted at its start (another test run's may come first).
            HugetlbfsMount(c.Ram.Single().MemPath!).Should().NotBeNull();
            c.Ram.Single().Prealloc.Should().BeTrue();
        }
        c.Disks.Should().HaveCount(d.Disks.Length);
        for (var i = 0; i < d.Disks.Length; i++)
        {
            var x = d.Disks[i];
            var disk = c.Disks.Single(k => k.Id == $"virtio-disk{i}");
            // libvirt passes no cache mode where the domain names none: QEMU's default, writeback, runs.
            disk.Should()
                .BeEquivalentTo(
                    new
                    {
                        Cache = x.Cache ?? "writeback",
                        Aio = x.Io ?? "threads",
                        Queues = x.Queues,
                        x.Packed,
                        Iothread = x.Iothread is int io ? $"iothread{io}" : null,
                        File = Path.Combine(_dir, x.Qcow2 ? "b.qcow2" : "a.raw"),
                    },
                    o => o.ExcludingMissingMembers()
                );
        }
        c.Iothreads.Should()
            .HaveCount(
                d.Extra.Contains("<iothreads>2") ? 2
                : d.Extra.Contains("<iothreads>1") ? 1
                : 0
            );
        c.Nics.Should().HaveCount(d.Nics.Length == 0 ? 0 : 1);
    }

    [Fact]
    public void A_running_domain_is_one_libvirt_vm_its_fixes_are_virsh_and_xml_and_a_snapshot_audits_the_same()
    {
        var name = $"kva-dom-{_tag}";
        var file = Path.Combine(_dir, "dom.xml");
        File.WriteAllText(
            file,
            Xml(
                name,
                new Domain(
                    1,
                    [new("none", "threads")],
                    Huge: true,
                    Nics: "<interface type='user'><mac address='52:54:00:00:bb:01'/><model type='virtio'/></interface>"
                )
            )
        );
        _libvirt.Virsh("define", file).ExitCode.Should().Be(0);
        TestQemu? plain = null;
        try
        {
            var start = _libvirt.Virsh("start", name);
            start.ExitCode.Should().Be(0, start.Stderr);
            var pid = int.Parse(File.ReadAllText($"/run/libvirt/qemu/{name}.pid").Trim());
            var vms = VmAuditQemuTests.Audit(out _, name);
            var f = vms[name];
            using (var doc = JsonDocument.Parse(KvmtuneRunner.Run("vm", "audit", name, "--format", "json").Stdout))
            {
                var vm = doc.RootElement.GetProperty("vms").EnumerateArray().Single();
                vm.GetProperty("pid").GetInt32().Should().Be(pid, "libvirt's own record of its QEMU");
                vm.GetProperty("source").GetString().Should().Be("libvirt");
            }
            var online = File.ReadAllText("/sys/devices/system/cpu/online").Trim();
            f["vm.cpu.pinned"].Status.Should().Be("warn");
            var tid = Directory
                .GetDirectories($"/proc/{pid}/task")
                .Select(d => int.Parse(Path.GetFileName(d)))
                .Single(t => File.ReadAllText($"/proc/{pid}/task/{t}/comm").Trim() == "CPU 0/TCG");
            VmAuditQemuTests.VcpuCpus(f["vm.cpu.pinned"].Current)[0].Should().Be(TestQemu.Allowed(pid, tid));
            // Fixes in the form the VM was started with: virsh, and the domain's own elements.
            f["vm.blk.aio"]
                .Finding.GetProperty("fix")
                .GetProperty("persistent")[0]
                .GetString()
                .Should()
                .Be(
                    $"virsh edit {name}: <disk> with <target dev='vda'/> "
                        + $"(source {Path.Combine(_dir, "a.raw")}): <driver io='io_uring'/>"
                );
            f["vm.net.packed"]
                .Finding.GetProperty("fix")
                .GetProperty("persistent")[0]
                .GetString()
                .Should()
                .Contain("<interface> with <mac address='52:54:00:00:bb:01'/>: <driver packed='on'/>");
            f["vm.blk.cache"]
                .Should()
                .Match<VmAuditQemuTests.Found>(x => x.Status == "pass" && x.Current == "virtio-disk0: cache=none");
            var smaps = File.ReadAllText($"/proc/{pid}/smaps_rollup");
            smaps
                .Should()
                .MatchRegex(@"Private_Hugetlb:\s+[1-9]\d* kB", "libvirt backs the guest with the test's huge pages");
            // The guest RAM's mem-path, from libvirt's JSON -object in the kernel's copy of the command line.
            var memPath = File.ReadAllText($"/proc/{pid}/cmdline")
                .Split('\0')
                .Where(w => w.StartsWith('{') && w.Contains("\"mem-path\""))
                .Select(w => JsonDocument.Parse(w).RootElement.GetProperty("mem-path").GetString()!)
                .Single();

            var mount = HugetlbfsMount(memPath);
            mount.Should().NotBeNull("libvirt backs the guest with a hugetlbfs");
            f["vm.mem.hugepages"]
                .Should()
                .Match<VmAuditQemuTests.Found>(x =>
                    x.Status == "pass" && x.Current.Contains($"on hugetlbfs {mount} (2 MiB pages), prealloc=on")
                );

            f["vm.mem.prealloc"].Status.Should().Be("pass");

            // The printed live fix, run as printed: the vCPU is then pinned within a node.
            var fix = f["vm.cpu.pinned"].Finding.GetProperty("fix").GetProperty("runtime")[0].GetString()!;
            fix.Should().Be($"virsh vcpupin {name} 0 {online} --live --config");
            _libvirt.Virsh([.. fix.Split(' ')[1..]]).ExitCode.Should().Be(0);
            if (online.Contains('-') || online.Contains(','))
            {
                var one = online.Split('-', ',')[^1];
                _libvirt.Virsh("vcpupin", name, "0", one, "--live").ExitCode.Should().Be(0);
                var again = VmAuditQemuTests.Audit(out _, name)[name];
                again["vm.cpu.pinned"].Status.Should().Be("pass");
                VmAuditQemuTests
                    .VcpuCpus(again["vm.cpu.pinned"].Current)[0]
                    .Should()
                    .Be(TestQemu.Allowed(pid, tid))
                    .And.Be(one);
            }

            // Offline: a snapshot taken while both QEMUs are stopped (their /proc holds still) audits as the live host.
            // Floating again, so no other program's VM on this machine can change its shared-CPU finding meanwhile.
            _libvirt.Virsh("vcpupin", name, "0", online, "--live").ExitCode.Should().Be(0);

            var other = $"kva-snap-{_tag}";
            plain = new TestQemu(
                _dir,
                other,
                [
                    "-machine",
                    "q35,accel=tcg",
                    "-name",
                    other,
                    "-m",
                    "64",
                    "-nodefaults",
                    "-drive",
                    $"file={Path.Combine(_dir, "b.qcow2")},format=qcow2,if=virtio",
                ]
            );
            foreach (var p in new[] { pid, plain.Pid })
                Processes.Run("kill", ["-STOP", p.ToString()]).ExitCode.Should().Be(0);
            try
            {
                var tgz = Path.Combine(_dir, "snap.tar.gz");
                var snap = KvmtuneRunner.Run("snapshot", "--output", tgz);
                snap.ExitCode.Should().Be(0, snap.Stderr);
                var live = KvmtuneRunner.Run("vm", "audit", name, other, "--format", "json");
                var tree = Path.Combine(_dir, "tree");
                Directory.CreateDirectory(tree);
                Processes.Run("tar", ["-xzf", tgz, "-C", tree]).ExitCode.Should().Be(0);
                File.Exists(Path.Combine(tree, $"run/libvirt/qemu/{name}.xml"))
                    .Should()
                    .BeTrue("libvirt's live XML is captured");
                var offline = KvmtuneRunner.Run("vm", "audit", name, other, "--format", "json", "--root", tree);
                offline.ExitCode.Should().Be(live.ExitCode, offline.Stderr);
                Comparable(offline.Stdout).Should().Be(Comparable(live.Stdout));
                // The command lines of processes that are no VM stay out of the snapshot.
                Directory
                    .GetDirectories(Path.Combine(tree, "proc"))
                    .Where(d => int.TryParse(Path.GetFileName(d), out _))
                    .Select(d => Path.Combine(d, "cmdline"))
                    .Where(File.Exists)
                    .Select(p => (p, File.ReadAllText(p).Split('\0')[0]))
                    .Where(a => a.Item2.Length > 0)
                    .Should()
                    .OnlyContain(a => a.Item2.Contains("qemu-system-"), "an exited QEMU leaves an empty one");
            }
            finally
            {
                foreach (var p in new[] { pid, plain.Pid })
                    Processes.Run("kill", ["-CONT", p.ToString()]);
            }
        }
        finally
        {
            plain?.Dispose();
            _libvirt.Virsh("destroy", name);
            _libvirt.Virsh("undefine", name);
        }
    }

    /// <summary>
    /// The audit without what other programs' VMs on this machine may change between two reads: the list of their
    /// /proc files in the shared-CPU check's evidence.
    /// </summary>
    private static string Comparable(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var vms = doc
            .RootElement.GetProperty("vms")
            .EnumerateArray()
            .Select(v =>
                string.Join(
                    "\n",
                    v.GetProperty("findings")
                        .EnumerateArray()
                        .Select(f =>
                        {
                            var id = f.GetProperty("id").GetString();
                            var evidence = id == "vm.cpu.shared" ? "" : f.GetProperty("evidence").GetRawText();
                            // The kernel moves a stopped process's memory too (khugepaged collapses its pages,
                            // reclaim trims Rss), so the smaps_rollup sizes of the two reads may differ.
                            var current = System.Text.RegularExpressions.Regex.Replace(
                                f.GetProperty("current").ToString(),
                                @"\b(THP|Rss) [0-9.]+ [KMG]iB",
                                "$1 N"
                            );
                            return $"{v.GetProperty("name")} {v.GetProperty("pid")} {v.GetProperty("source")} {id} "
                                + $"{f.GetProperty("status")} {current} {evidence} "
                                + f.GetProperty("fix").GetRawText();
                        })
                )
            );
        return string.Join("\n\n", vms);
    }
}
