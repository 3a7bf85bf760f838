using System.Diagnostics;
using System.Xml.Linq;
using AwesomeAssertions;
using Kvmtune.Facts;
using Kvmtune.Facts.Host;
using Kvmtune.Facts.IO;
using Kvmtune.Facts.Parsing;
using Kvmtune.Tests.Support;
using Kvmtune.Vms;

namespace Kvmtune.Tests.Vms;

/// <summary>Issue #10: a VM spec is hostile input; nothing dangerous may reach QEMU, a shell or libvirt.</summary>
public sealed class HostileSpecTests : IDisposable
{
    private const string Head = "name: a\nvcpus: 1\nmemory: 1GiB\nhugepages: none\n";
    private readonly SyntheticHost _host = new();
    private readonly TestTree _files = new();

    public void Dispose()
    {
        _host.Dispose();
        _files.Dispose();
    }

    private HostFacts Facts => HostFacts.Read(new HostReader(_host.Root));

    private InputException Refused(string yaml)
    {
        var act = () => VmSpecParser.Parse(yaml, "vms.yaml", Facts);
        var e = act.Should().Throw<InputException>().Which;
        e.File.Should().Be("vms.yaml");
        e.Line.Should().NotBeNull();
        return e;
    }

    [Theory]
    [InlineData("json:{\"driver\":\"file\",\"filename\":\"/etc/shadow\"}", "protocol")]
    [InlineData("nbd:evil.example:10809", "protocol")]
    [InlineData("http://evil.example/disk.raw", "protocol")]
    [InlineData("-readconfig", "absolute path")]
    [InlineData("images/a.raw", "absolute path")]
    [InlineData("../a.raw", "absolute path")]
    public void Disk_paths_qemu_would_read_as_a_protocol_or_an_option_are_refused(string path, string problem)
    {
        var e = Refused(Head + "disks:\n  - { path: '" + path.Replace("'", "''") + "' }\n");
        e.Key.Should().Be("disks.path");
        e.Line.Should().Be(6);
        e.Message.Should().Contain(problem);
    }

    [Theory]
    [InlineData("name: \"a\\nb\"\nvcpus: 1\nmemory: 1GiB\n", "name")]
    [InlineData(Head + "disks:\n  - { path: \"/img/a\\e[2J.raw\" }\n", "disks.path")]
    [InlineData(Head + "disks:\n  - { path: \"/img/a\\nb.raw\" }\n", "disks.path")]
    [InlineData(Head + "disks:\n  - { path: \"/img/a\\0.raw\" }\n", "disks.path")]
    [InlineData(Head + "nics:\n  - { ifname: \"tap\\t0\" }\n", "nics.ifname")]
    [InlineData(Head + "boot: { kernel: /boot/vmlinuz, append: \"console=ttyS0\\nquiet\" }\n", "boot.append")]
    [InlineData(Head + "boot: { kernel: \"/boot/vm\\Nlinuz\" }\n", "boot.kernel")]
    [InlineData(Head + "pmem:\n  - { path: \"/img/p\\rm.img\", size: 64MiB }\n", "pmem.path")]
    [InlineData(Head + "workload: \"latency\\a\"\n", "workload")]
    public void Control_characters_in_any_string_field_are_refused(string yaml, string key)
    {
        var e = Refused(yaml);
        e.Key.Should().Be(key);
        e.Message.Should().NotContainAny("\n", "\u001b", "\0", "\t", "\r", "\u0085", "\u0007");
    }

    [Fact]
    public void A_value_longer_than_a_path_is_refused()
    {
        var e = Refused(Head + "disks:\n  - { path: /" + new string('a', 5000) + " }\n");
        e.Key.Should().Be("disks.path");
        e.Message.Should().Contain("at most 4096").And.NotContain(new string('a', 100));
    }

    [Fact]
    public void A_kernel_given_as_a_relative_path_is_refused() =>
        Refused(Head + "boot: { kernel: vmlinuz }\n").Key.Should().Be("boot.kernel");

    [Theory]
    [InlineData("/etc/shadow")]
    [InlineData("/etc/../etc/passwd")]
    [InlineData("//proc/kcore")]
    [InlineData("/sys/firmware/efi/efivars/x")]
    [InlineData("/boot/vmlinuz")]
    [InlineData("/dev/mem")]
    [InlineData("/dev/kmem")]
    [InlineData("/dev/port")]
    [InlineData("/dev/../dev/mem")]
    [InlineData("pmem.img")]
    public void Pmem_paths_of_system_files_and_devices_are_refused(string path)
    {
        var e = Refused(Head + "pmem:\n  - { path: '" + path + "', size: 64MiB }\n");
        e.Key.Should().Be("pmem.path");
        e.Line.Should().Be(6);
    }

    [Fact]
    public void A_pmem_link_that_leads_to_a_system_file_is_refused()
    {
        _files.Link("/pmem.img", "/etc/passwd");
        var e = Refused(Head + $"pmem:\n  - {{ path: {_files.Physical("/pmem.img")}, size: 64MiB }}\n");
        e.Key.Should().Be("pmem.path");
        e.Message.Should().Contain("/etc/passwd");
    }

    [Fact]
    public void A_pmem_link_that_climbs_past_the_root_to_a_system_file_is_refused_for_that_file()
    {
        // "/.." is "/" (path_resolution(7)): enough ".." from anywhere reach /etc/passwd, as realpath(1) says.
        var climb = string.Concat(Enumerable.Repeat("../", 40)) + "etc/passwd";
        _files.Link("/climb.img", climb);
        Processes.Run("realpath", _files.Physical("/climb.img")).Stdout.Trim().Should().Be("/etc/passwd");
        var e = Refused(Head + $"pmem:\n  - {{ path: {_files.Physical("/climb.img")}, size: 64MiB }}\n");
        e.Key.Should().Be("pmem.path");
        e.Message.Should().Contain("leads to /etc/passwd").And.NotContain("loop");
    }

    [Fact]
    public void A_pmem_link_through_procs_magic_links_is_refused()
    {
        // /proc/self names whichever process opens it: through /proc/self/root, QEMU would open the file in its
        // own root (a chroot, a mount namespace), not the one kvmtune looked at, though here both are regular.
        _files.File("/pmem.img", "");
        _files.Link("/self.img", "/proc/self/root" + _files.Physical("/pmem.img"));
        var e = Refused(Head + $"pmem:\n  - {{ path: {_files.Physical("/self.img")}, size: 64MiB }}\n");
        e.Key.Should().Be("pmem.path");
        e.Message.Should().Contain("/proc");
    }

    [Fact]
    public void A_pmem_path_that_is_a_fifo_or_a_folder_is_refused()
    {
        Processes.Run("mkfifo", [_files.Physical("/fifo.img")]).ExitCode.Should().Be(0);
        _files.Dir("/folder.img");
        Refused(Head + $"pmem:\n  - {{ path: {_files.Physical("/fifo.img")}, size: 64MiB }}\n")
            .Message.Should()
            .Contain("not a regular file");
        Refused(Head + $"pmem:\n  - {{ path: {_files.Physical("/folder.img")}, size: 64MiB }}\n")
            .Message.Should()
            .Contain("not a regular file");
    }

    [Fact]
    public void A_pmem_regular_file_or_a_file_qemu_will_create_is_accepted()
    {
        _files.File("/pmem.img", "");
        _files.Link("/link.img", _files.Physical("/pmem.img"));
        foreach (var path in new[] { "/pmem.img", "/link.img", "/new.img" })
            VmSpecParser
                .Parse(Head + $"pmem:\n  - {{ path: {_files.Physical(path)}, size: 64MiB }}\n", "v.yaml", Facts)
                .Single()
                .Pmem.Single()
                .Path.Should()
                .Be(_files.Physical(path));
    }

    [Fact]
    public void Pmem_sizes_and_counts_that_would_overflow_a_sum_are_refused()
    {
        Refused(Head + "pmem:\n  - { path: /var/tmp/p.img, size: 8000000T }\n").Key.Should().Be("pmem.size");
        var many = string.Concat(Enumerable.Range(0, 65).Select(i => $"  - {{ path: /var/tmp/p{i}.img, size: 2M }}\n"));
        Refused(Head + "pmem:\n" + many).Key.Should().Be("pmem");
    }

    [Theory]
    [InlineData("01:00:5e:00:00:01")]
    [InlineData("ff:ff:ff:ff:ff:ff")]
    [InlineData("33:33:00:00:00:01")]
    public void Multicast_macs_are_refused(string mac)
    {
        var e = Refused(Head + $"nics:\n  - {{ ifname: tap0, mac: \"{mac}\" }}\n");
        e.Key.Should().Be("nics.mac");
        e.Message.Should().Contain("multicast");
    }

    [Fact]
    public void A_unicast_mac_is_accepted() =>
        VmSpecParser
            .Parse(Head + "nics:\n  - { ifname: tap0, mac: \"52:54:00:12:34:56\" }\n", "vms.yaml", Facts)
            .Single()
            .Nics.Single()
            .Mac.Should()
            .Be("52:54:00:12:34:56");

    [Fact]
    public void The_same_passthrough_device_twice_is_refused()
    {
        var pci = SyntheticHost.Nic;
        var e = Refused(
            Head + $"passthrough:\n  - {{ pci: \"{pci}\" }}\n  - {{ pci: \"{pci.ToUpperInvariant()}\" }}\n"
        );
        e.Key.Should().Be("passthrough");
        e.Message.Should().Contain(pci).And.Contain("more than once");
    }

    [Fact]
    public void Disks_past_the_26th_are_named_vdaa_vdab_and_the_domain_xml_is_well_formed()
    {
        var disks = string.Concat(
            Enumerable.Range(0, 30).Select(i => $"  - {{ path: /img/d{i}.raw, iothread: false }}\n")
        );
        var facts = Facts;
        var spec = VmSpecParser.Parse(Head + "disks:\n" + disks, "vms.yaml", facts).Single();
        var vm = new Planner(facts).Plan([spec]).Vms.Single();
        var xml = XDocument.Parse(LibvirtDomain.Build(spec, vm, facts));
        var names = xml.Descendants("disk").Select(d => (string)d.Element("target")!.Attribute("dev")!).ToList();
        names.Should().HaveCount(30).And.OnlyHaveUniqueItems();
        names[..3].Should().Equal("vda", "vdb", "vdc");
        names[25..].Should().Equal("vdz", "vdaa", "vdab", "vdac", "vdad");
        names.Should().OnlyContain(n => n.Skip(2).All(char.IsAsciiLetterLower));
        LibvirtDomain.DiskName(26 + 26 * 26 - 1).Should().Be("vdzz");
        LibvirtDomain.DiskName(26 + 26 * 26).Should().Be("vdaaa", "after vdzz");
    }

    [Fact]
    public void The_xml_writer_escapes_every_attribute_and_text_and_keeps_the_document_well_formed()
    {
        const string hostile = "a\"b'<c>&d\ne\tf\rg\u0001h\u001bi\ud800j";
        var doc = XmlText.El(
            "domain",
            new XA("name", hostile),
            XmlText.El("cmdline", hostile),
            XmlText.El("x", new XA("y", 1), hostile)
        );
        var parsed = XDocument.Parse(doc.ToString());
        var attribute = (string)parsed.Root!.Attribute("name")!;
        attribute.Should().StartWith("a\"b'<c>&d\ne\tf\rg", "markup, newlines and tabs survive as references");
        attribute.Should().NotContain("\u0001").And.NotContain("\u001b");
        ((string)parsed.Root.Element("cmdline")!).Should().StartWith("a\"b'<c>&d\ne\tf");
    }

    [Fact]
    public void A_spec_that_is_dev_zero_or_a_fifo_is_refused_at_once_without_reading_it()
    {
        Processes.Run("mkfifo", [_files.Physical("/spec.fifo")]).ExitCode.Should().Be(0);
        foreach (var path in new[] { "/dev/zero", _files.Physical("/spec.fifo") })
        {
            var watch = Stopwatch.StartNew();
            var act = () => VmSpecParser.ParseFile(path, Facts);
            act.Should().Throw<InputException>().Which.Message.Should().Contain(path).And.Contain("not a regular file");
            watch.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(5));
        }
    }

    [Fact]
    public void A_spec_over_the_size_limit_is_refused()
    {
        _files.File("/big.yaml", "# " + new string('x', 2 << 20) + "\n" + Head);
        var act = () => VmSpecParser.ParseFile(_files.Physical("/big.yaml"), Facts);
        act.Should().Throw<InputException>().Which.Message.Should().Contain("at most");
    }
}
