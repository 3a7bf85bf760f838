using System.Text.Json;
using AwesomeAssertions;
using Kvmtune.Tests.Support;
using Found = Kvmtune.Tests.VmAudit.VmAuditQemuTests.Found;

namespace Kvmtune.Tests.VmAudit;

/// <summary>
/// vm audit of a machine tree (--root): a two-node fixture host with QEMU processes written into its /proc in the
/// kernel's formats (cmdline, status, task/*/comm and status, numa_maps), one joined to a libvirt status XML, one
/// whose libvirt XML carries a DTD, and one whose command line is garbage. Hostile domain XML for vm tune too.
/// </summary>
public sealed class VmAuditOfflineTests(FixtureTrees fixtures)
{
    private const string Fixture = "32em64t-2n8c+dax+nvme+mic+dimms";

    private static void Qemu(
        TestTree t,
        int pid,
        string[] argv,
        (int Tid, string Comm, string Cpus)[] threads,
        string? numaMaps = null
    )
    {
        t.File($"/proc/{pid}/cmdline", string.Join('\0', argv) + "\0");
        t.File(
            $"/proc/{pid}/status",
            $"Name:\tqemu-system-x86\nState:\tS (sleeping)\nVmLck:\t  262144 kB\nMems_allowed_list:\t0-1\n"
        );
        foreach (var (tid, comm, cpus) in threads)
        {
            t.File($"/proc/{pid}/task/{tid}/comm", comm + "\n");
            t.File(
                $"/proc/{pid}/task/{tid}/status",
                $"Name:\t{comm}\nState:\tS (sleeping)\nCpus_allowed_list:\t{cpus}\n"
            );
        }
        if (numaMaps is not null)
            t.File($"/proc/{pid}/numa_maps", numaMaps);
    }

    private static Dictionary<string, (int Pid, string Source, Dictionary<string, Found> Findings)> Audit(
        TestTree t,
        out ProcessResult run
    )
    {
        run = KvmtuneRunner.Run("vm", "audit", "--format", "json", "--root", t.Root);
        using var doc = JsonDocument.Parse(run.Stdout);
        return doc
            .RootElement.GetProperty("vms")
            .EnumerateArray()
            .ToDictionary(
                v => v.GetProperty("name").GetString()!,
                v =>
                    (
                        v.GetProperty("pid").GetInt32(),
                        v.GetProperty("source").GetString()!,
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
                    )
            );
    }

    [Fact]
    public void Dedicated_cpus_shared_remote_memory_libvirt_names_and_garbage_are_reported_from_the_tree()
    {
        using var t = new TestTree();
        t.CopyFrom(fixtures.Root(Fixture));
        Qemu(
            t,
            4242,
            [
                "/usr/bin/qemu-system-x86_64",
                "-name",
                "guest=db1,debug-threads=on",
                "-machine",
                "q35,accel=kvm",
                "-smp",
                "2",
                "-m",
                "256",
                "-overcommit",
                "mem-lock=on,cpu-pm=on",
                "-device",
                "vfio-pci,host=0000:80:02.0,id=hostdev0",
            ],
            [(4242, "qemu-system-x86", "0-15"), (4250, "CPU 0/KVM", "2"), (4251, "CPU 1/KVM", "3")],
            "7f0000000000 default anon=1000 dirty=1000 N1=1000 kernelpagesize_kB=4\n"
                + "7f1000000000 default file=/usr/lib/x.so mapped=10 N0=10 kernelpagesize_kB=4\n"
        );
        t.File(
            "/run/libvirt/qemu/db1.xml",
            "<!--\nWARNING\n-->\n<domstatus state='running' pid='4242'>"
                + "<domain type='kvm'><name>db1</name><devices><disk type='file'><source file='/v/db1.raw'/>"
                + "<target dev='vda' bus='virtio'/><alias name='virtio-disk0'/></disk></devices></domain></domstatus>\n"
        );
        // The passthrough device sits on node 1 (its numa_node in the fixture), with MSI vector 81 there (whose
        // affinity the fixture lacks) and one more, allowed everywhere.
        t.File("/sys/bus/pci/devices/0000:80:02.0/msi_irqs/40", "msi\n");
        t.File("/proc/irq/40/smp_affinity_list", "0-15\n");
        Qemu(
            t,
            5000,
            ["qemu-system-x86_64", "-name", "guest=web,debug-threads=on", "-enable-kvm"],
            [(5000, "qemu-system-x86", "8-15"), (5001, "CPU 0/KVM", "3")]
        );
        // A DTD with an entity: never expanded, the file is not taken as libvirt's record.
        t.File(
            "/run/libvirt/qemu/web.xml",
            "<?xml version='1.0'?><!DOCTYPE d [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>"
                + "<domstatus pid='5000'><domain><name>&x;</name></domain></domstatus>"
        );
        Qemu(
            t,
            6000,
            ["qemu-system-x86_64", "-device", "{\"driver\": ", "-frobnicate", "x=1", "-smp", "cpus=banana"],
            [(6000, "qemu-system-x86", "0-15")]
        );
        t.File("/proc/7000/cmdline", "/usr/bin/python3\0-m\0http.server\0");

        var vms = Audit(t, out var run);
        run.ExitCode.Should().Be(1, run.Stderr);
        vms.Keys.Should().BeEquivalentTo(["db1", "web", "qemu-6000"]);
        var (pid, source, db1) = vms["db1"];
        (pid, source).Should().Be((4242, "libvirt"));
        db1["vm.cpu.pinned"].Should().Match<Found>(x => x.Status == "pass" && x.Current == "vCPU 0 on 2; vCPU 1 on 3");
        db1["vm.cpu.shared"].Status.Should().Be("fail");
        // web's vCPU is pinned on CPU 3; the garbage VM's one thread may run anywhere, so on both.
        db1["vm.cpu.shared"]
            .Current.Should()
            .Be(
                "CPU 3 also runs vCPU 0 of VM 'web' (PID 5000); "
                    + "CPU 2 also runs vCPU 0 of VM 'qemu-6000' (PID 6000, floating); "
                    + "CPU 3 also runs vCPU 0 of VM 'qemu-6000' (PID 6000, floating)"
            );

        db1["vm.emulator.offvcpu"].Status.Should().Be("warn");
        db1["vm.cpu.pm"].Status.Should().Be("pass");
        db1["vm.mem.lock"].Current.Should().Contain("VmLck 256 MiB");
        db1["vm.mem.numa"].Status.Should().Be("warn");
        db1["vm.mem.numa"]
            .Current.Should()
            .StartWith("N0 40 KiB, N1 3.9 MiB; vCPUs on node(s) 0")
            .And.Contain("(99% remote)");
        db1["vm.mem.numa"]
            .Finding.GetProperty("fix")
            .GetProperty("runtime")
            .EnumerateArray()
            .Select(x => x.GetString())
            .Should()
            .Contain(["virsh numatune db1 --nodeset 0 --live --config", "migratepages 4242 1 0"]);
        db1["vm.cpu.topology"].Status.Should().Be("pass");
        db1["vm.dev.numa"]
            .Should()
            .Match<Found>(x =>
                x.Status == "warn"
                && x.Current
                    == "0000:80:02.0 node 1, 2 MSI IRQ(s): 0000:80:02.0 on node 1, vCPUs on 0; 0000:80:02.0 IRQ 40 " +
                        "on CPUs 0-15"
            );

        db1["vm.dev.numa"]
            .Finding.GetProperty("fix")
            .GetProperty("runtime")[0]
            .GetString()
            .Should()
            .Be("echo 8-15 > /proc/irq/40/smp_affinity_list");

        var (_, webSource, web) = vms["web"];
        webSource.Should().Be("qemu", "a status XML with a DTD is no evidence");
        web["vm.cpu.shared"].Current.Should().Contain("VM 'db1'");
        web["vm.emulator.offvcpu"].Status.Should().Be("pass");

        var garbage = vms["qemu-6000"].Item3;
        garbage["vm.qemu.options"].Status.Should().Be("warn");
        garbage["vm.qemu.options"].Current.Should().Contain("-frobnicate x=1").And.Contain("-device: not valid JSON");
        garbage["vm.cpu.pinned"]
            .Status.Should()
            .Be("warn", "one vCPU (the -smp count is no number), allowed every CPU");
    }

    [Theory]
    [InlineData("<!DOCTYPE domain [<!ENTITY e 'x'>]><domain><name>&e;</name></domain>", "DTD")]
    [InlineData("<network><name>n</name></network>", "not a libvirt domain")]
    [InlineData("<domain><name>x</name><memory>131072</memory></domain>", "vcpu")]
    [InlineData("<domain><name>x</name><vcpu>two</vcpu><memory>131072</memory></domain>", "'two' is not a vCPU count")]
    [InlineData("<domain><name>x</name><vcpu>1", "not well-formed XML")]
    public void Hostile_or_broken_domain_xml_is_bad_input_and_nothing_is_written(string xml, string said)
    {
        using var t = new TestTree();
        t.File("/d.xml", xml);
        var output = t.Physical("/out.xml");
        var r = KvmtuneRunner.Run("vm", "tune", t.Physical("/d.xml"), "--output", output, "--accel", "tcg");
        r.ExitCode.Should().Be(2, r.Stdout + r.Stderr);
        r.Stderr.Should().Contain(t.Physical("/d.xml")).And.Contain(said);
        File.Exists(output).Should().BeFalse();
    }
}
