using System.Xml.Linq;
using AwesomeAssertions;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.VmAudit;

/// <summary>
/// vm tune on varied domain XMLs, judged by the real libvirt 9: the result passes virsh define, everything that is
/// not tuning is the same element tree as before (both documents compared with the tuned elements removed), and
/// the domain started from it (under TCG) has no fail in vm audit.
/// </summary>
[Collection(Kvmtune.Tests.Changes.LiveSysfs.Name)]
public sealed class VmTuneTests : IClassFixture<LibvirtDaemon>, IDisposable
{
    private static readonly XNamespace Qemu = "http://libvirt.org/schemas/domain/qemu/1.0";
    private readonly LibvirtDaemon _libvirt;
    private readonly string _dir = Path.Combine(
        "/var/tmp",
        $"kvmtune-vt-{Environment.ProcessId}-{Guid.NewGuid():N}"[..36]
    );
    private readonly string _tag = $"{Environment.ProcessId % 10000}{Random.Shared.Next(1000, 9999)}";

    public VmTuneTests(LibvirtDaemon libvirt)
    {
        _libvirt = libvirt;
        Directory.CreateDirectory(_dir);
        File.SetUnixFileMode(_dir, (UnixFileMode)0b111_101_101);
        foreach (var (f, fmt) in new[] { ("a.raw", "raw"), ("b.qcow2", "qcow2") })
            Processes.Run("qemu-img", ["create", "-f", fmt, Path.Combine(_dir, f), "16M"]).ExitCode.Should().Be(0);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Each domain: its top-level elements and its devices besides the emulator and vda.</summary>
    private static readonly Dictionary<string, (string Top, string Devices, bool DiskA)> Corpus = new()
    {
        ["plain"] = (
            "<vcpu placement='static'>1</vcpu>",
            "<interface type='user'><mac address='52:54:00:00:cc:01'/><model type='virtio'/></interface>",
            true
        ),
        ["metadata-two-disks"] = (
            "<title>kept</title><description>a &amp; b</description>"
                + "<metadata><app:x xmlns:app='http://example.org/app' k='v'>keep</app:x></metadata>"
                + "<vcpu placement='static' current='1'>2</vcpu><!-- comment kept -->",
            "<disk type='file' device='disk'><driver name='qemu' type='qcow2' cache='writeback'/>"
                + "<source file='{DIR}/b.qcow2'/><target dev='vdb' bus='virtio'/><readonly/></disk>"
                + "<serial type='pty'><target port='0'/></serial><console type='pty'/>",
            true
        ),
        ["existing-tuning"] = (
            "<vcpu placement='static'>1</vcpu>"
                + "<cputune><shares>2048</shares><vcpupin vcpu='0' cpuset='0'/></cputune>"
                + "<memoryBacking><nosharepages/></memoryBacking>",
            "",
            true
        ),
        ["guest-numa-cell"] = (
            "<vcpu placement='static'>1</vcpu><cpu mode='maximum'><numa><cell id='0' cpus='0' "
                + "memory='131072' unit='KiB'/></numa></cpu>",
            "",
            false
        ),
    };

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var name in Corpus.Keys)
            foreach (var profile in new[] { "latency", "throughput", "density" })
                data.Add(name, profile);
        return data;
    }

    private string Domain(string name, (string Top, string Devices, bool DiskA) c) =>
        $"<domain type='qemu'>\n  <name>{name}</name>\n  <uuid>{Guid.NewGuid()}</uuid>\n"
        + "  <memory unit='KiB'>131072</memory>\n  "
        + c.Top
        + "\n  <os><type arch='x86_64' machine='q35'>hvm</type></os>\n  <devices>\n"
        + "    <emulator>/usr/bin/qemu-system-x86_64</emulator>\n"
        + (
            c.DiskA
                ? "    <disk type='file' device='disk'><driver name='qemu' type='raw'/>"
                    + $"<source file='{_dir}/a.raw'/><target dev='vda' bus='virtio'/></disk>\n"
                : ""
        )
        + "    "
        + c.Devices.Replace("{DIR}", _dir)
        + "\n    <memballoon model='none'/>\n  </devices>\n</domain>\n";

    /// <summary>The document without what vm tune may set: what is left must be untouched.</summary>
    private static XElement Untuned(XElement domain)
    {
        var d = new XElement(domain);
        foreach (var n in new[] { "memtune", "memoryBacking", "iothreads", "cputune", "numatune" })
            d.Elements(n).Remove();
        d.Elements(Qemu + "commandline").Remove();
        d.Attributes().Where(a => a.IsNamespaceDeclaration && a.Value == Qemu.NamespaceName).Remove();
        d.Element("features")?.Elements("kvm").Remove();
        // vm tune adds <features> to hold the KVM hint where the domain had none.
        if (d.Element("features") is { HasElements: false, HasAttributes: false } empty)
            empty.Remove();

        foreach (
            var driver in d.Descendants("devices")
                .Elements()
                .Where(e => e.Name == "disk" || e.Name == "interface")
                .Elements("driver")
                .ToList()
        )
        {
            foreach (var a in new[] { "cache", "io", "queues", "packed", "iothread" })
                driver.Attribute(a)?.Remove();
            if (driver.Parent!.Name == "interface")
                driver.Attribute("name")?.Remove();
            if (!driver.HasAttributes && !driver.HasElements)
                driver.Remove();
        }
        // vm tune writes new elements without indentation: whitespace alone is no content.
        foreach (var t in d.DescendantNodes().OfType<XText>().Where(t => string.IsNullOrWhiteSpace(t.Value)).ToList())
            t.Remove();
        return d;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void The_tuned_domain_is_defined_by_libvirt_and_keeps_everything_else(string name, string profile)
    {
        var vm = $"kva-t-{name}-{profile[..3]}";
        var input = Path.Combine(_dir, $"{name}-{profile}.xml");
        File.WriteAllText(input, Domain(vm, Corpus[name]));
        _libvirt.Virsh("define", input).ExitCode.Should().Be(0, "the corpus itself is a valid domain");
        _libvirt.Virsh("undefine", vm);
        var output = Path.Combine(_dir, $"{name}-{profile}-tuned.xml");
        var r = KvmtuneRunner.Run("vm", "tune", input, "--profile", profile, "--accel", "tcg", "--output", output);
        if (r.ExitCode == 1)
        {
            // A host without room for the workload (a latency VM's dedicated core) says so and writes nothing.
            r.Stderr.Should().Contain("cannot be placed on this host");
            File.Exists(output).Should().BeFalse();
            return;
        }
        r.ExitCode.Should().Be(0, r.Stderr);
        r.Stderr.Should().Contain($"kvmtune: {vm}: 3.2.1: <cputune>").And.Contain("3.2.1: <numatune>");
        if (Corpus[name].DiskA)
            r.Stderr.Should().Contain("3.3.4: disk vda");
        try
        {
            var define = _libvirt.Virsh("define", output);
            define.ExitCode.Should().Be(0, define.Stderr);
            var before = XDocument.Parse(File.ReadAllText(input)).Root!;
            var after = XDocument.Parse(File.ReadAllText(output)).Root!;
            XNode
                .DeepEquals(Untuned(before), Untuned(after))
                .Should()
                .BeTrue($"only tuning changed:\n{Untuned(before)}\n----\n{Untuned(after)}");
            // libvirt kept what vm tune set.
            var dumped = XDocument.Parse(_libvirt.Virsh("dumpxml", "--inactive", vm).Stdout).Root!;
            dumped.Element("cputune")!.Elements("emulatorpin").Should().ContainSingle();
            dumped.Element("uuid")!.Value.Should().Be(before.Element("uuid")!.Value);
            if (Corpus[name].DiskA)
                dumped
                    .Element("devices")!
                    .Elements("disk")
                    .First()
                    .Element("driver")!
                    .Attribute("cache")!
                    .Value.Should()
                    .Be("none");
        }
        finally
        {
            _libvirt.Virsh("undefine", vm);
        }
    }

    [Fact]
    public void A_domain_started_from_the_tuned_xml_has_no_fail_in_vm_audit()
    {
        var vm = $"kva-tstart-{_tag}";
        var input = Path.Combine(_dir, "start.xml");
        File.WriteAllText(input, Domain(vm, Corpus["plain"]));
        var env = new Dictionary<string, string> { ["LIBVIRT_DEFAULT_URI"] = _libvirt.Uri };
        // throughput: no locked memory (libvirt cannot raise the lock limit in this container).
        var r = KvmtuneRunner.Run(env, "vm", "tune", input, "--profile", "throughput", "--accel", "tcg", "--define");
        r.ExitCode.Should().Be(0, r.Stderr);
        try
        {
            var start = _libvirt.Virsh("start", vm);
            start.ExitCode.Should().Be(0, start.Stderr);
            var findings = VmAuditQemuTests.Audit(out _, vm)[vm];
            // A CPU shared with another program's VM on this machine is the only fail vm tune cannot prevent.
            findings.Where(f => f.Value.Status == "fail").Select(f => f.Key).Should().BeSubsetOf(["vm.cpu.shared"]);
            findings["vm.cpu.pinned"].Status.Should().Be("pass");
            findings["vm.emulator.offvcpu"].Status.Should().BeOneOf("pass", "info");
            findings["vm.blk.cache"].Status.Should().Be("pass");
            findings["vm.blk.aio"].Status.Should().Be("pass");
            findings["vm.blk.iothread"].Status.Should().Be("pass");
            findings["vm.net.packed"].Status.Should().Be("pass");
        }
        finally
        {
            _libvirt.Virsh("destroy", vm);
            _libvirt.Virsh("undefine", vm);
        }
    }
}
