using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using AwesomeAssertions;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.Vms;

/// <summary>
/// One VM, two renderings, checked against the real libvirt: for a corpus covering every spec field, `virsh define`
/// takes kvmtune's domain XML (twice), `virsh domxml-to-native qemu-argv` turns it into QEMU's argument vector, and
/// that vector and kvmtune's own agree on every performance option, both read the way QEMU reads them. The VMs that
/// fit this machine then start under TCG, through kvmtune and through libvirt, pinned as the plan says, read back
/// from /proc/PID/task/*/status; the libvirt-started QEMU's /proc/PID/cmdline agrees with kvmtune's too (NICs
/// included, which domxml-to-native leaves out).
/// </summary>
[Collection(Kvmtune.Tests.Changes.LiveSysfs.Name)]
public sealed partial class LibvirtAgreementTests : IClassFixture<LibvirtDaemon>, IDisposable
{
    private enum HostKind
    {
        Live,
        TwoNodes,
        Dax,
    }

    private sealed record Case(string Yaml, HostKind Host = HostKind.Live, bool Starts = true);

    private static readonly Dictionary<string, Case> Corpus = new()
    {
        ["lat-dedicated-2m"] = new(
            "vcpus: 1\nmemory: 128MiB\nworkload: latency\nhugepages: 2MiB\ndisks:\n  - { path: @raw, aio: io_uring " +
                "}\nnics:\n  - { type: tap, ifname: @tap, queues: 1, vhost: true, poll_us: 50000 }\n"
        ),
        ["thr-mq-iothread"] = new(
            "vcpus: 2\nmemory: 256MiB\nworkload: throughput\nhugepages: none\ndisks:\n  - { path: @raw, iothread: " +
                "true }\nnics:\n  - { ifname: @tap, queues: 2, vhost: false, packed: true }\n"
        ),
        ["density-merge"] = new(
            "vcpus: 1\nmemory: 128MiB\nworkload: density\ndisks:\n  - { path: @raw, cache: writeback }\n"
        ),
        ["qcow2-two-disks"] = new(
            "vcpus: 2\nmemory: 128MiB\nhugepages: none\ndisks:\n  - { path: @raw, iothread: true }\n  - { path: " +
                "@qcow2, format: qcow2, iothread: false, queues: 2 }\n"
        ),
        ["directsync-native"] = new(
            "vcpus: 1\nmemory: 128MiB\nhugepages: none\ndisks:\n  - { path: @raw, cache: directsync, aio: native, " +
                "packed: false }\n"
        ),
        ["writethrough-unsafe"] = new(
            "vcpus: 2\nmemory: 128MiB\nhugepages: none\ndisks:\n  - { path: @raw, cache: writethrough, aio: threads " +
                "}\n  - { path: @raw2, cache: unsafe, aio: threads, queues: 1 }\n"
        ),
        ["nic-4q-mac-link"] = new(
            "vcpus: 4\nmemory: 128MiB\nhugepages: none\nnics:\n  - { ifname: @tap, queues: 4, mac: " +
                "\"52:54:00:aa:bb:01\", vhost: false, link: lo }\n  - { ifname: @tap2, queues: 1, packed: false, " +
                    "vhost: false }\n"
        ),
        ["nvdimm-file"] = new(
            "vcpus: 1\nmemory: 128MiB\nhugepages: none\npmem:\n  - { path: @pmem, size: 64MiB, align: 2MiB }\n"
        ),
        ["guest-nodes"] = new(
            "vcpus: 2\nmemory: 256MiB\nhugepages: none\nguest_numa_nodes: 2\ndisks:\n  - { path: @raw }\n"
        ),
        ["cpuset-node-nomerge"] = new(
            "vcpus: 2\nmemory: 128MiB\nhugepages: none\nnuma_node: 0\ncpuset: 1\ndedicated_cpus: false\nmem_merge: " +
                "false\n"
        ),
        ["lock-shared-2m"] = new("vcpus: 1\nmemory: 128MiB\nworkload: throughput\nhugepages: 2MiB\nmem_lock: true\n"),
        ["cpu-pm-no-lock"] = new(
            "vcpus: 1\nmemory: 128MiB\nworkload: latency\nhugepages: none\nmem_lock: false\ncpu_pm: true\n"
        ),
        ["direct-kernel-boot"] = new(
            "vcpus: 1\nmemory: 128MiB\nhugepages: none\nboot:\n  kernel: @kernel\n  initrd: @initrd\n  append: " +
                "\"console=ttyS0 quiet\"\n",
            Starts: false
        ),
        ["span-two-sockets"] = new("vcpus: 4\nmemory: 1GiB\nworkload: latency\nhugepages: none\n", HostKind.TwoNodes),
        ["passthrough-nic"] = new(
            "vcpus: 2\nmemory: 1GiB\nhugepages: none\npassthrough:\n  - { pci: \"@pci\" }\n",
            HostKind.TwoNodes
        ),
        ["dax-pmem"] = new(
            "vcpus: 2\nmemory: 2GiB\nhugepages: none\npmem:\n  - { path: /dev/dax1.3, size: 32GiB, align: 2MiB }\n",
            HostKind.Dax
        ),
    };

    public static TheoryData<string, string> Renderings()
    {
        var data = new TheoryData<string, string>();
        foreach (var name in Corpus.Keys)
        {
            data.Add(name, "kvm");
            data.Add(name, "tcg");
        }
        return data;
    }

    public static TheoryData<string> Startable() =>
        new(Corpus.Where(c => c.Value.Host == HostKind.Live && c.Value.Starts).Select(c => c.Key));

    private readonly LibvirtDaemon _libvirt;
    private readonly FixtureTrees _fixtures;
    private readonly string _dir = Path.Combine(
        "/var/tmp",
        $"kvmtune-lv-{Environment.ProcessId}-{Guid.NewGuid():N}"[..36]
    );
    private readonly List<IDisposable> _hosts = [];
    private readonly List<string> _taps = [];

    public LibvirtAgreementTests(LibvirtDaemon libvirt, FixtureTrees fixtures)
    {
        _libvirt = libvirt;
        _fixtures = fixtures;
        Directory.CreateDirectory(_dir);
        // libvirt's QEMU runs as libvirt-qemu: it must reach the images.
        File.SetUnixFileMode(_dir, (UnixFileMode)0b111_101_101);
    }

    public void Dispose()
    {
        foreach (var tap in _taps)
            Processes.Run("ip", ["link", "delete", tap]);
        foreach (var h in _hosts)
            h.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private string Tap(string name, int n) => $"kvl{(uint)name.GetHashCode() % 100000:d5}{n}";

    /// <summary>The spec file, with images, taps and files made for it; the --root arguments of its host.</summary>
    private (string File, string[] Root) Prepare(string name)
    {
        var c = Corpus[name];
        string Image(string file, string format = "raw")
        {
            var path = Path.Combine(_dir, file);
            if (!File.Exists(path))
                Processes.Run("qemu-img", ["create", "-f", format, path, "64M"]).ExitCode.Should().Be(0);
            return path;
        }
        string Empty(string file, long size)
        {
            var path = Path.Combine(_dir, file);
            using (var f = File.Create(path))
                f.SetLength(size);
            return path;
        }
        var yaml = $"name: kvt-{name}\n" + c.Yaml;
        yaml = yaml.Replace("@raw2", Image("b.raw"))
            .Replace("@raw", Image("a.raw"))
            .Replace("@qcow2", Image("c.qcow2", "qcow2"))
            .Replace("@pmem", Empty("pmem.img", 64L << 20))
            .Replace("@tap2", Tap(name, 2))
            .Replace("@tap", Tap(name, 1))
            .Replace("@kernel", Empty("vmlinuz", 4096))
            .Replace("@initrd", Empty("initrd", 4096));
        var file = Path.Combine(_dir, name + ".yaml");
        File.WriteAllText(file, yaml);
        string[] root = [];
        if (c.Host == HostKind.TwoNodes)
        {
            var h = new SyntheticHost();
            _hosts.Add(h);
            // libvirt looks the device up on this machine: a real PCI function, placed on node 1 of the synthetic host.
            var pci = Path.GetFileName(Directory.GetFileSystemEntries("/sys/bus/pci/devices").Order().Last());
            h.AddPci(pci, "0x020000", "0x1af4", "0x1000", 1, null, 7);
            File.WriteAllText(file, File.ReadAllText(file).Replace("@pci", pci));
            root = ["--root", h.Root];
        }
        else if (c.Host == HostKind.Dax)
            root = ["--root", _fixtures.Root("32em64t-2n8c+dax+nvme+mic+dimms")];
        return (file, root);
    }

    internal static List<string> Argv(string json) =>
        JsonDocument.Parse(json).RootElement.GetProperty("argv").EnumerateArray().Select(a => a.GetString()!).ToList();

    /// <summary>virsh's shell-quoted command line, split into words by bash itself.</summary>
    internal static List<string> Words(string commandLine)
    {
        var r = Processes.Run("bash", ["-c", "eval \"set -- $1\"; printf '%s\\0' \"$@\"", "_", commandLine.Trim()]);
        r.ExitCode.Should().Be(0, r.Stderr);
        return r.Stdout.TrimEnd('\0').Split('\0').ToList();
    }

    /// <summary>What "q35" and the like stand for in the installed QEMU, from QEMU itself.</summary>
    private static string Canonical(string machine)
    {
        var help = Processes.Run("qemu-system-x86_64", ["-machine", "help"]).Stdout;
        var line = help.Split('\n').FirstOrDefault(l => l.StartsWith(machine + " ", StringComparison.Ordinal));
        return line is not null && AliasOf().Match(line) is { Success: true } m ? m.Groups[1].Value : machine;
    }

    [GeneratedRegex(@"\(alias of ([^)]+)\)")]
    private static partial Regex AliasOf();

    internal static SortedDictionary<string, string> Facts(IReadOnlyList<string> argv, bool nics, bool hostNodes)
    {
        var f = new QemuArgs(argv).Facts(nics, hostNodes);
        f["machine.type"] = Canonical(f["machine.type"]);
        return f;
    }

    [Theory]
    [MemberData(nameof(Renderings))]
    public void Libvirt_defines_the_domain_and_renders_the_same_qemu_options_as_kvmtune(string name, string accel)
    {
        var (spec, root) = Prepare(name);
        var vm = $"kvt-{name}";
        var qemu = KvmtuneRunner.Run([
            "vm",
            "qemu",
            spec,
            "--accel",
            accel,
            "--format",
            "json",
            "--run-dir",
            _dir,
            .. root,
        ]);
        qemu.ExitCode.Should().Be(0, qemu.Stderr);
        var xmlFile = Path.Combine(_dir, $"{name}-{accel}.xml");
        var lv = KvmtuneRunner.Run(["vm", "libvirt", spec, "--accel", accel, "--output", xmlFile, .. root]);
        lv.ExitCode.Should().Be(0, lv.Stderr);
        var xml = File.ReadAllText(xmlFile);
        try
        {
            for (var i = 0; i < 2; i++)
            {
                var define = _libvirt.Virsh("define", xmlFile);
                define.ExitCode.Should().Be(0, $"define #{i + 1}: {define.Stderr}");
            }
            var uuid = Processes
                .Run("uuidgen", ["--sha1", "--namespace", "@url", "--name", "kvmtune:vm:" + vm])
                .Stdout.Trim();
            _libvirt
                .Virsh("domuuid", vm)
                .Stdout.Trim()
                .Should()
                .Be(uuid, "a UUIDv5 of the name, the same at every define");

            // libvirt turns the XML into QEMU's arguments only for NUMA nodes this host has.
            var hostNodes = Corpus[name].Host == HostKind.Live;
            if (!hostNodes)
            {
                var stripped = Path.Combine(_dir, $"{name}-{accel}-nonuma.xml");
                File.WriteAllText(
                    stripped,
                    Regex.Replace(xml, "<numatune>.*?</numatune>", "", RegexOptions.Singleline)
                );
                _libvirt.Virsh("define", stripped).ExitCode.Should().Be(0);
            }
            var native = _libvirt.Virsh("domxml-to-native", "qemu-argv", "--domain", vm);
            native.ExitCode.Should().Be(0, native.Stderr);
            var theirs = QemuArgs.Text(Facts(Words(native.Stdout), nics: false, hostNodes));
            var ours = QemuArgs.Text(Facts(Argv(qemu.Stdout), nics: false, hostNodes));
            ours.Should().Be(theirs, $"libvirt's argv:\n{native.Stdout}");
            // The comparison reached every part of the spec (not two empty readings).
            var yaml = Corpus[name].Yaml;
            ours.Should()
                .Contain("mem.ram-node0.type = memory-backend-")
                .And.Contain("numa.node0 = cpus=")
                .And.Contain("smp = cpus=");
            if (yaml.Contains("disks:"))
                ours.Should().Contain("disk0.num-queues = ").And.Contain("disk0.cache = direct=");
            if (yaml.Contains("pmem:"))
                ours.Should().Contain("nvdimm0.mem-path = ");
            if (yaml.Contains("/dev/dax"))
                ours.Should().Contain("nvdimm0.pmem = on");
            if (yaml.Contains("passthrough:"))
                ours.Should().Contain("vfio-pci = ");
            if (yaml.Contains("boot:"))
                ours.Should().Contain("kernel = ").And.Contain("append = console=ttyS0 quiet");
            if (yaml.Contains("hugepages: 2MiB"))
                ours.Should()
                    .Contain("mem.ram-node0.prealloc = on")
                    .And.Contain("mem.ram-node0.hugetlbfs = " + FirstHugetlbfs2M());
            if (name == "span-two-sockets")
                ours.Should()
                    .Contain("numa.dist.0.1 = 21")
                    .And.Contain("smp = cpus=4 sockets=2 dies=1 cores=1 threads=2");
            if (accel == "kvm" && yaml.Contains("workload: latency") && !yaml.Contains("dedicated_cpus: false"))
                ours.Should().Contain("cpu.kvm-hint-dedicated = on");
            if (accel == "tcg")
                ours.Should().Contain("cpu.kvm-hint-dedicated = off").And.Contain("overcommit.cpu-pm = off");
            if (accel == "kvm" && name == "lat-dedicated-2m")
                ours.Should().Contain("overcommit.mem-lock = on").And.Contain("overcommit.cpu-pm = on");

            var doc = XDocument.Parse(xml);
            var cpuPm = ours.Contains("overcommit.cpu-pm = on");
            (doc.Root!.Element(XName.Get("commandline", "http://libvirt.org/schemas/domain/qemu/1.0")) is not null)
                .Should()
                .Be(cpuPm);
            if (cpuPm)
                lv.Stderr.Should().Contain("custom-argv");
            if (ours.Contains("overcommit.mem-lock = on"))
            {
                var limit = long.Parse(doc.Root.Element("memtune")!.Element("hard_limit")!.Value);
                var guest = long.Parse(doc.Root.Element("memory")!.Value);
                limit.Should().BeGreaterThan(guest, "locked memory has a limit above guest RAM and pmem");
            }
            if (Corpus[name].Yaml.Contains("poll_us") && accel == "kvm")
            {
                lv.Stderr.Should().Contain("poll-us").And.Contain("lost");
                xml.Should().Contain("<!-- lost: nic 0");
            }
        }
        finally
        {
            _libvirt.Virsh("undefine", vm);
        }
    }

    [Theory]
    [MemberData(nameof(Startable))]
    public void Vms_that_fit_start_under_tcg_pinned_as_the_plan_says_through_kvmtune_and_through_libvirt(string name)
    {
        var (spec, _) = Prepare(name);
        var vm = $"kvt-{name}";
        var plan = KvmtuneRunner.Run("vm", "plan", spec, "--format", "json");
        plan.ExitCode.Should().Be(0, plan.Stdout + plan.Stderr);
        var planned = JsonDocument.Parse(plan.Stdout).RootElement.GetProperty("vms")[0];
        var pins = planned
            .GetProperty("vcpu_pins")
            .EnumerateArray()
            .ToDictionary(
                p => p.GetProperty("vcpu").GetInt32(),
                p =>
                    Kvmtune.Facts.Parsing.CpuList.Format(
                        p.GetProperty("cpus").EnumerateArray().Select(c => c.GetInt32())
                    )
            );
        var emulator = Kvmtune.Facts.Parsing.CpuList.Format(
            planned.GetProperty("emulator_cpus").EnumerateArray().Select(c => c.GetInt32())
        );

        var runDir = Path.Combine(_dir, "run-" + name);
        var run = KvmtuneRunner.Run("vm", "run", spec, "--accel", "tcg", "--run-dir", runDir);
        run.ExitCode.Should().Be(0, run.Stderr);
        var pid = JsonDocument
            .Parse(File.ReadAllText(Path.Combine(runDir, vm + ".json")))
            .RootElement.GetProperty("pid")
            .GetInt32();
        try
        {
            ThreadsPinned(pid, pins, emulator);
        }
        finally
        {
            KvmtuneRunner.Run("vm", "stop", vm, "--run-dir", runDir, "--grace", "1").ExitCode.Should().Be(0);
        }

        // libvirt cannot raise the memory lock limit in this container (no CAP_SYS_RESOURCE): locked VMs start above
        // only.
        var json = KvmtuneRunner.Run("vm", "qemu", spec, "--accel", "tcg", "--format", "json");
        var ours = Argv(json.Stdout);
        if (ours.Contains("-overcommit"))
            return;
        // managed='no': libvirt opens the taps and does not create them; vm run creates them (vm stop above deleted
        // its own), multi_queue exactly when a NIC has several queues (IFF_MULTI_QUEUE in tun_flags).
        var yaml = File.ReadAllText(spec);
        var taps = TapLine()
            .Matches(yaml)
            .Select(m => (Tap: m.Groups[1].Value, Queues: int.Parse(m.Groups[2].Value)))
            .ToList();
        foreach (var (tap, _) in taps.Where(t => Directory.Exists($"/sys/class/net/{t.Tap}")))
            Processes.Run("ip", ["link", "delete", "dev", tap]); // left by a killed run
        _taps.AddRange(taps.Select(t => t.Tap));
        var env = new Dictionary<string, string> { ["LIBVIRT_DEFAULT_URI"] = _libvirt.Uri };
        var start = KvmtuneRunner.Run(env, "vm", "run", spec, "--accel", "tcg", "--libvirt");
        try
        {
            start.ExitCode.Should().Be(0, start.Stderr);
            foreach (var (tap, queues) in taps)
            {
                var flags = Convert.ToInt32(File.ReadAllText($"/sys/class/net/{tap}/tun_flags").Trim(), 16);
                (flags & 0x100).Should().Be(queues > 1 ? 0x100 : 0, $"{tap}: {queues} queue(s)");
                start.Stdout.Should().Contain($"created tap {tap}");
            }
            var lpid = int.Parse(File.ReadAllText($"/run/libvirt/qemu/{vm}.pid").Trim());
            var cmdline = File.ReadAllText($"/proc/{lpid}/cmdline").TrimEnd('\0').Split('\0');
            QemuArgs
                .Text(Facts(ours, nics: true, hostNodes: true))
                .Should()
                .Be(
                    QemuArgs.Text(Facts(cmdline, nics: true, hostNodes: true)),
                    "the QEMU libvirt started runs what kvmtune would run"
                );
            ThreadsPinned(lpid, pins, emulator);
        }
        finally
        {
            _libvirt.Virsh("destroy", vm);
            _libvirt.Virsh("undefine", vm);
        }
    }

    [Fact]
    public void Vm_libvirt_define_defines_the_domain_in_libvirt_twice_under_one_uuid()
    {
        var (spec, _) = Prepare("density-merge");
        var env = new Dictionary<string, string> { ["LIBVIRT_DEFAULT_URI"] = _libvirt.Uri };
        try
        {
            for (var i = 0; i < 2; i++)
            {
                var r = KvmtuneRunner.Run(env, "vm", "libvirt", spec, "--accel", "tcg", "--define");
                r.ExitCode.Should().Be(0, r.Stderr);
                r.Stdout.Should().Contain("kvt-density-merge");
            }
            var xml = XDocument.Parse(_libvirt.Virsh("dumpxml", "kvt-density-merge").Stdout);
            xml.Root!.Element("uuid")!
                .Value.Should()
                .Be(
                    Processes
                        .Run("uuidgen", ["--sha1", "--namespace", "@url", "--name", "kvmtune:vm:kvt-density-merge"])
                        .Stdout.Trim()
                );
            xml.Root.Element("devices")!
                .Elements("controller")
                .Where(c => c.Attribute("type")?.Value == "usb")
                .Should()
                .OnlyContain(c => c.Attribute("model")!.Value == "none", "-nodefaults: no USB controller");
        }
        finally
        {
            _libvirt.Virsh("undefine", "kvt-density-merge");
        }
    }

    [GeneratedRegex(@"ifname: (kvl\d+), queues: (\d+)")]
    private static partial Regex TapLine();

    /// <summary>
    /// Where both put 2 MiB backed memory: the first such hugetlbfs mounted (on a shared machine another test run's
    /// may come before the daemon's own).
    /// </summary>
    private static string FirstHugetlbfs2M() =>
        File.ReadAllLines("/proc/mounts")
            .Select(l => l.Split(' '))
            .First(f => f.Length > 3 && f[2] == "hugetlbfs" && f[3].Contains("pagesize=2M"))[1];

    /// <summary>Each vCPU thread ("CPU n/TCG") and the main thread, as the kernel reports them.</summary>
    private static void ThreadsPinned(int pid, Dictionary<int, string> pins, string emulator)
    {
        var threads = Directory
            .GetDirectories($"/proc/{pid}/task")
            .Select(d =>
                (
                    Tid: int.Parse(Path.GetFileName(d)),
                    Name: File.ReadAllText(d + "/comm").Trim(),
                    Allowed: File.ReadAllLines(d + "/status")
                        .Single(l => l.StartsWith("Cpus_allowed_list:"))
                        .Split(':')[1]
                        .Trim()
                )
            )
            .ToList();
        foreach (var (v, cpus) in pins)
            threads.Single(t => t.Name == $"CPU {v}/TCG").Allowed.Should().Be(cpus, $"vCPU {v}");
        threads.Single(t => t.Tid == pid).Allowed.Should().Be(emulator, "the main (emulator) thread");
    }
}
