using AwesomeAssertions;
using CsCheck;
using Kvmtune.Vms.Audit;

namespace Kvmtune.Tests.VmAudit;

/// <summary>
/// The QEMU command-line reader on the forms QEMU's documentation gives (qemu-system-x86_64(1): ",," is a comma in
/// a value, "-device driver,..." and the other implied first keys, -cpu's +feature/-feature, JSON for -blockdev,
/// -device, -netdev and -object), and properties: random argument vectors never throw, and key=value lists read back
/// what they were written from.
/// </summary>
public sealed class QemuArgvTests
{
    private static QemuArgv P(params string[] args) => QemuArgv.Parse(["qemu-system-x86_64", .. args]);

    [Fact]
    public void A_doubled_comma_is_a_comma_inside_the_value()
    {
        var a = P("-drive", "file=/img/a,,b.raw,if=virtio,cache=none");
        var d = a.Last("drive")!.Props!;
        d.Get("file").Should().Be("/img/a,b.raw");
        d.Get("if").Should().Be("virtio");
        QemuVmConfig.From(a).Disks.Single().File.Should().Be("/img/a,b.raw");
    }

    [Theory]
    [InlineData("device", "virtio-net-pci,netdev=n0", "driver", "virtio-net-pci")]
    [InlineData("netdev", "tap,id=n0,vhost=on", "type", "tap")]
    [InlineData("object", "iothread,id=io0", "qom-type", "iothread")]
    [InlineData("machine", "q35,accel=kvm", "type", "q35")]
    [InlineData("accel", "tcg,thread=multi", "accel", "tcg")]
    [InlineData("smp", "4,sockets=1,cores=2,threads=2", "cpus", "4")]
    [InlineData("m", "2G,slots=2,maxmem=4G", "size", "2G")]
    [InlineData("numa", "node,nodeid=0,memdev=ram0", "type", "node")]
    [InlineData("name", "db1,debug-threads=on", "guest", "db1")]
    [InlineData("blockdev", "file,node-name=f0,filename=/x", "driver", "file")]
    public void The_first_bare_word_is_the_options_implied_key(string option, string value, string key, string expected)
    {
        var props = P("-" + option, value).Last(option)!.Props!;
        props.Get(key).Should().Be(expected);
        props.Form.Should().Be(QemuValueForm.KeyValue);
    }

    [Fact]
    public void Cpu_features_are_turned_on_and_off_with_plus_and_minus()
    {
        var cpu = P("-cpu", "host,+x2apic,-vmx,kvm-hint-dedicated=on,pmu").Last("cpu")!.Props!;
        cpu.Get("model").Should().Be("host");
        cpu.Bool("x2apic").Should().BeTrue();
        cpu.Bool("vmx").Should().BeFalse();
        cpu.Bool("kvm-hint-dedicated").Should().BeTrue();
        cpu.Bool("pmu").Should().BeTrue();
    }

    [Fact]
    public void Json_values_are_flattened_to_the_dotted_keys_of_keyval()
    {
        var a = P(
            "-blockdev",
            """{"driver":"file","filename":"/v/a.img","node-name":"s1","cache":{"direct":true,"no-flush":false},"""
                + "\"aio\":\"native\"}",
            "-blockdev",
            """{"node-name":"f1","driver":"raw","file":"s1"}""",
            "-device",
            """{"driver":"virtio-blk-pci","num-queues":4,"packed":true,"iothread":"iothread1","""
                + "\"drive\":\"f1\",\"id\":\"virtio-disk0\",\"write-cache\":\"on\"}",
            "-object",
            """{"qom-type":"iothread","id":"iothread1"}"""
        );
        a.Problems.Should().BeEmpty();
        a.All("blockdev").First().Props!.Get("cache.direct").Should().Be("on");
        var disk = QemuVmConfig.From(a).Disks.Single();
        disk.Should()
            .BeEquivalentTo(
                new
                {
                    Id = "virtio-disk0",
                    File = "/v/a.img",
                    Cache = "none",
                    Aio = "native",
                    Queues = 4,
                    Packed = true,
                    Iothread = "iothread1",
                }
            );
        disk.CacheDefault.Should().BeFalse();
    }

    [Theory]
    // QEMU's table of cache modes (qemu-system-x86_64(1), -drive cache=): direct, writeback, no-flush.
    [InlineData("cache=none", "none")]
    [InlineData("cache=writeback", "writeback")]
    [InlineData("cache=writethrough", "writethrough")]
    [InlineData("cache=directsync", "directsync")]
    [InlineData("cache=unsafe", "unsafe")]
    [InlineData("cache.direct=on", "none")]
    [InlineData("cache.no-flush=on", "unsafe")]
    [InlineData("aio=native", "writeback")]
    public void Drive_cache_modes_read_as_qemu_documents_them(string option, string mode)
    {
        var a = P("-drive", $"if=none,id=d0,file=/x.raw,{option}", "-device", "virtio-blk-pci,drive=d0,id=disk0");
        QemuVmConfig.From(a).Disks.Single().Cache.Should().Be(mode);
    }

    [Fact]
    public void Double_dash_options_flags_and_positional_images_are_read_like_qemu()
    {
        var a = P("--nodefaults", "-S", "-m", "512", "disk.img", "--smp", "cpus=2", "-enable-kvm");
        a.Options.Select(o => o.Name).Should().Equal("nodefaults", "S", "m", "smp", "enable-kvm");
        a.Positional.Should().Equal("disk.img");
        var c = QemuVmConfig.From(a);
        c.MemoryBytes.Should().Be(512L << 20, "a bare -m is MiB");
        c.Vcpus.Should().Be(2);
        c.Accel.Should().Be("kvm");
        c.OtherDisks.Should().Contain("-hda disk.img");
    }

    [Fact]
    public void Unknown_options_are_kept_and_listed_never_a_failure()
    {
        var a = P("-frobnicate", "x=1,y", "-m", "1G", "-newflag", "-trailing");
        a.Unknown.Should().Equal("-frobnicate x=1,y", "-newflag", "-trailing");
        a.Last("frobnicate")!.Props!.Get("x").Should().Be("1");
        a.Last("m")!.Props!.Get("size").Should().Be("1G");
    }

    [Fact]
    public void A_missing_value_and_bad_json_are_problems_not_exceptions()
    {
        var a = P("-device", "{\"driver\": ", "-m");
        a.Problems.Should().HaveCount(2);
        a.Problems[0].Should().Contain("-device").And.Contain("JSON");
        a.Problems[1].Should().Contain("-m has no value");
    }

    [Fact]
    public void The_last_overcommit_wins_and_sets_both_flags()
    {
        // QEMU 7.2 keeps the last -overcommit; each resets the flags it does not name.
        var c = QemuVmConfig.From(P("-overcommit", "mem-lock=on,cpu-pm=on", "-overcommit", "cpu-pm=on"));
        c.CpuPm.Should().BeTrue();
        c.MemLock.Should().BeFalse();
    }

    [Fact]
    public void Multiqueue_tap_from_libvirt_counts_its_file_descriptors_and_vhost_fds()
    {
        var c = QemuVmConfig.From(
            P(
                "-netdev",
                """{"type":"tap","fds":"30:31:32","vhost":true,"vhostfds":"33:34:35","id":"hostnet0"}""",
                "-device",
                """{"driver":"virtio-net-pci","mq":true,"vectors":8,"netdev":"hostnet0","id":"net0","""
                    + "\"mac\":\"52:54:00:00:00:01\",\"packed\":true}"
            )
        );
        c.Nics.Single()
            .Should()
            .BeEquivalentTo(
                new
                {
                    Id = "net0",
                    Backend = "tap",
                    Vhost = true,
                    Queues = 3,
                    Mq = true,
                    Vectors = 8,
                    Packed = true,
                    Mac = "52:54:00:00:00:01",
                }
            );
    }

    [Fact]
    public void Guest_ram_comes_from_the_machine_memory_backend_or_the_numa_nodes()
    {
        var c = QemuVmConfig.From(
            P(
                "-machine",
                "pc-q35-7.2,memory-backend=pc.ram",
                "-object",
                """{"qom-type":"memory-backend-file","id":"pc.ram","""
                    + "\"mem-path\":\"/dev/hugepages/libvirt/qemu/1-x\","
                    + "\"prealloc\":true,\"size\":134217728}"
            )
        );
        c.Ram.Single()
            .Should()
            .BeEquivalentTo(
                new
                {
                    Id = "pc.ram",
                    Type = "memory-backend-file",
                    SizeBytes = 134217728L,
                    MemPath = "/dev/hugepages/libvirt/qemu/1-x",
                    Prealloc = true,
                }
            );
        var n = QemuVmConfig.From(
            P("-object", "memory-backend-ram,id=r0,size=1G,merge=off", "-numa", "node,nodeid=0,memdev=r0")
        );
        n.Ram.Single().Merge.Should().BeFalse();
        n.Ram.Single().SizeBytes.Should().Be(1L << 30);
    }

    private static readonly Gen<string> Words = Gen.OneOf(
        Gen.String["-,={}\":[]0123456789abcdefghijklmnopqrstuvwxyz .\\\0"],
        Gen.OneOf<string>(
            "-device",
            "-netdev",
            "-object",
            "-blockdev",
            "-drive",
            "-m",
            "-smp",
            "-cpu",
            "-machine",
            "-overcommit",
            "-name",
            "-numa",
            "-nic",
            "-net",
            "-accel",
            "-mem-path",
            "{",
            "{\"driver\":",
            "}",
            ",,",
            "="
        ),
        Gen.String
    );

    [Fact]
    public void Any_argument_vector_is_read_without_an_exception()
    {
        Words
            .Array[0, 30]
            .Sample(words =>
            {
                var a = QemuArgv.Parse(["qemu-system-x86_64", .. words]);
                var c = QemuVmConfig.From(a);
                c.Vcpus.Should().BeGreaterThan(0);
                (a.Options.Count + a.Positional.Count).Should().BeLessThanOrEqualTo(words.Length);
            });
    }

    private static readonly Gen<string> Keys = Gen.String["abcdefghijklmnopqrstuvwxyz-_.0123456789"]
        .Where(k => k.Length > 0);

    private static readonly Gen<string> Values = Gen.String["abc,=/ :-.\"{}0123456789"];

    [Fact]
    public void Key_value_lists_read_back_what_they_were_written_from()
    {
        Gen.Select(Keys, Values)
            .Array[1, 8]
            .Sample(pairs =>
            {
                var text = string.Join(",", pairs.Select(p => $"{p.Item1}={p.Item2.Replace(",", ",,")}"));
                var props = QemuArgv.ReadOpts(text, "driver");
                props.Items.Select(i => (i.Key, i.Value)).Should().Equal(pairs.Select(p => (p.Item1, p.Item2)));
            });
    }
}
