using System.Diagnostics;
using System.Text.Json;
using AwesomeAssertions;
using Kvmtune.Tests.Support;
using Kvmtune.Vms;

namespace Kvmtune.Tests.Vms;

/// <summary>
/// Each spec of a corpus planned on this machine, its command line started with the real qemu-system-x86_64
/// under TCG, paused, and every tuned property read back through QMP; its libvirt XML checked by
/// virt-xml-validate.
/// </summary>
[Collection(Kvmtune.Tests.Changes.LiveSysfs.Name)]
public sealed class QemuAcceptanceTests : IClassFixture<LiveHugepages>, IDisposable
{
    private readonly LiveHugepages _pages;
    private readonly string _dir = Path.Combine(
        "/var/tmp",
        $"kvmtune-qemu-{Environment.ProcessId}-{Guid.NewGuid():N}"[..40]
    );

    public QemuAcceptanceTests(LiveHugepages pages)
    {
        _pages = pages;
        Directory.CreateDirectory(_dir);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Image(string name, string format = "raw")
    {
        var path = Path.Combine(_dir, name);
        Processes.Run("qemu-img", ["create", "-f", format, path, "64M"]).ExitCode.Should().Be(0);
        return path;
    }

    public static TheoryData<string> Corpus() => new(CorpusSpecs.Keys);

    private static readonly Dictionary<string, string> CorpusSpecs = new()
    {
        ["throughput-mq"] =
            "vcpus: 2\nmemory: 256MiB\nworkload: throughput\nhugepages: none\ndisks:\n  - { path: @raw, queues: 2, " +
                "iothread: true }\nnics:\n  - { ifname: @tap, queues: 2, vhost: false }\n",
        ["density-merge"] =
            "vcpus: 1\nmemory: 128MiB\nworkload: density\ndisks:\n  - { path: @raw, cache: writeback }\n",
        ["latency-shared-2m"] =
            "vcpus: 2\nmemory: 128MiB\nworkload: latency\ndedicated_cpus: false\ncpu_pm: false\nhugepages: " +
                "2MiB\ndisks:\n  - { path: @raw, aio: io_uring }\n",
        ["dedicated-1cpu-2m"] = "vcpus: 1\nmemory: 128MiB\nworkload: latency\nhugepages: 2MiB\nmem_lock: true\n",
        ["disk-4q-packed"] =
            "vcpus: 2\nmemory: 128MiB\nhugepages: none\ndisks:\n  - { path: @raw, queues: 4, packed: true, iothread: " +
                "true }\n",
        ["two-disks-qcow2"] =
            "vcpus: 2\nmemory: 128MiB\nhugepages: none\ndisks:\n  - { path: @raw, iothread: true }\n  - { path: " +
                "@qcow2, format: qcow2, iothread: false, queues: 2 }\n",
        ["nic-4q-mac"] =
            "vcpus: 4\nmemory: 128MiB\nhugepages: none\nnics:\n  - { ifname: @tap, queues: 4, mac: " +
                "\"52:54:00:aa:bb:01\", vhost: false }\n",
        ["nic-1q-split"] =
            "vcpus: 1\nmemory: 128MiB\nhugepages: none\nnics:\n  - { ifname: @tap, queues: 1, packed: false, vhost: " +
                "false }\n",
        ["nvdimm-file"] =
            "vcpus: 1\nmemory: 128MiB\nhugepages: none\npmem:\n  - { path: @pmem, size: 64MiB, align: 2MiB }\n",
        ["nvdimm-disk-nic"] =
            "vcpus: 2\nmemory: 256MiB\nhugepages: none\ndisks:\n  - { path: @raw, queues: 2 }\nnics:\n  - { ifname: " +
                "@tap, queues: 2, vhost: false }\npmem:\n  - { path: @pmem, size: 32MiB, align: 2MiB }\n",
        ["directsync-native"] =
            "vcpus: 1\nmemory: 128MiB\nhugepages: none\ndisks:\n  - { path: @raw, cache: directsync, aio: native }\n",
        ["writethrough-threads"] =
            "vcpus: 1\nmemory: 128MiB\nhugepages: none\ndisks:\n  - { path: @raw, cache: writethrough, aio: threads " +
                "}\n",
        ["uring-1q-split"] =
            "vcpus: 1\nmemory: 128MiB\nhugepages: none\ndisks:\n  - { path: @raw, cache: none, aio: io_uring, " +
                "queues: 1, packed: false, iothread: false }\n",
        ["four-vcpus-two-nics"] =
            "vcpus: 4\nmemory: 256MiB\nhugepages: none\nnics:\n  - { ifname: @tap, queues: 4, vhost: false }\n  - { " +
                "ifname: @tap2, queues: 2, vhost: false }\n",
        ["throughput-2m-iothreads"] =
            "vcpus: 2\nmemory: 256MiB\nworkload: throughput\nhugepages: 2MiB\ndisks:\n  - { path: @raw, queues: 2, " +
                "iothread: true }\n  - { path: @raw2, queues: 2, iothread: true }\n",
        ["several-guest-nodes"] =
            "vcpus: 4\nmemory: 256MiB\nhugepages: none\nguest_numa_nodes: 2\ndisks:\n  - { path: @raw, queues: 2 }\n",
        ["odd-path"] = "vcpus: 1\nmemory: 128MiB\nhugepages: none\ndisks:\n  - { path: \"@odd\", queues: 1 }\n",
    };

    [Theory]
    [MemberData(nameof(Corpus))]
    public void Qemu_accepts_the_command_line_and_applies_every_tuned_property(string name)
    {
        Assert.SkipUnless(
            Processes.OnPath("qemu-system-x86_64"),
            "qemu-system-x86_64 is not installed (test.sh installs qemu-system-x86)"
        );
        var yaml = CorpusSpecs[name];
        if (yaml.Contains("2MiB"))
            Assert.SkipWhen(_pages.Mount is null, _pages.Reason ?? "no hugetlbfs");
        var odd = Path.Combine(_dir, "my disk, 'quoted' $(x); v1.raw");
        if (yaml.Contains("@odd"))
            File.Copy(Image("plain.raw"), odd);
        var tap = "kvt" + name.GetHashCode().ToString("x")[..5];
        yaml =
            $"name: {name}\n"
            + yaml.Replace("@raw2", Image("b.raw"))
                .Replace("@raw", Image("a.raw"))
                .Replace("@qcow2", Image("c.qcow2", "qcow2"))
                .Replace("@pmem", CreatePmem())
                .Replace("@tap2", tap + "b")
                .Replace("@tap", tap)
                .Replace("@odd", odd);
        var specFile = Path.Combine(_dir, name + ".yaml");
        File.WriteAllText(specFile, yaml);

        var run = KvmtuneRunner.Run("vm", "qemu", specFile, "--accel", "tcg", "--format", "json", "--run-dir", _dir);
        run.ExitCode.Should().Be(0, run.Stderr);
        using var doc = JsonDocument.Parse(run.Stdout);
        var argv = doc.RootElement.GetProperty("argv").EnumerateArray().Select(a => a.GetString()!).ToList();
        var spec = ExpectedVm.From(yaml);

        var xml = Path.Combine(_dir, name + ".xml");
        KvmtuneRunner.Run("vm", "libvirt", specFile, "--accel", "tcg", "--output", xml).ExitCode.Should().Be(0);
        var validate = Processes.Run("virt-xml-validate", [xml, "domain"]);
        validate.ExitCode.Should().Be(0, validate.Stdout + validate.Stderr);

        var qmpPath = Path.Combine(_dir, name + ".qmp");
        var psi = new ProcessStartInfo(argv[0])
        {
            UseShellExecute = false,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        foreach (var a in argv.Skip(1))
            psi.ArgumentList.Add(a);
        psi.ArgumentList.Add("-S");
        using var qemu = Process.Start(psi)!;
        try
        {
            using var qmp = Connect(qmpPath, qemu);
            for (var i = 0; i < spec.Disks.Count; i++)
            {
                var d = spec.Disks[i];
                Get(qmp, $"/machine/peripheral/disk{i}", "num-queues")
                    .GetInt32()
                    .Should()
                    .Be(d.Queues ?? spec.Vcpus, "one queue per vCPU unless given");
                Get(qmp, $"/machine/peripheral/disk{i}", "packed").GetBoolean().Should().Be(d.Packed);
                var iothread = Get(qmp, $"/machine/peripheral/disk{i}", "iothread");
                if (d.Iothread)
                    iothread.GetString().Should().Be($"/objects/io{i}");
                else
                    iothread.GetString().Should().BeNullOrEmpty();
                var block = qmp.Execute("query-block")
                    .EnumerateArray()
                    .Single(b => b.GetProperty("device").GetString() == $"drive{i}")
                    .GetProperty("inserted");
                block.GetProperty("file").GetString().Should().Be(d.Path, "QEMU opened the exact path");
                var cache = block.GetProperty("cache");
                (
                    cache.GetProperty("direct").GetBoolean(),
                    cache.GetProperty("writeback").GetBoolean(),
                    cache.GetProperty("no-flush").GetBoolean()
                )
                    .Should()
                    .Be(
                        d.Cache switch
                        {
                            "none" => (true, true, false),
                            "directsync" => (true, false, false),
                            "writethrough" => (false, false, false),
                            "writeback" => (false, true, false),
                            _ => (false, true, true),
                        },
                        $"cache={d.Cache}"
                    );
            }
            var aios = spec.Disks.Select(d => d.Aio).ToHashSet();
            var fds = Directory.GetFiles($"/proc/{qemu.Id}/fd").Select(f => new FileInfo(f).LinkTarget).ToList();
            var maps = File.ReadAllText($"/proc/{qemu.Id}/maps");
            if (aios.Contains("io_uring"))
                fds.Should().Contain("anon_inode:[io_uring]", "aio=io_uring opens an io_uring");
            else
                fds.Should().NotContain("anon_inode:[io_uring]");
            maps.Contains("/[aio]").Should().Be(aios.Contains("native"), "aio=native maps a Linux AIO ring");
            for (var i = 0; i < spec.Nics.Count; i++)
            {
                var n = spec.Nics[i];
                Get(qmp, $"/machine/peripheral/nic{i}", "mq").GetBoolean().Should().Be(n.Queues > 1);
                Get(qmp, $"/machine/peripheral/nic{i}", "packed").GetBoolean().Should().Be(n.Packed);
                if (n.Queues > 1)
                    Get(qmp, $"/machine/peripheral/nic{i}", "vectors").GetInt32().Should().Be(2 * n.Queues + 2);
                if (n.Mac is not null)
                    Get(qmp, $"/machine/peripheral/nic{i}", "mac").GetString().Should().Be(n.Mac);
            }
            fds.Count(f => f == "/dev/net/tun")
                .Should()
                .Be(spec.Nics.Sum(n => n.Queues), "QEMU opens one tap queue per virtio-net queue");
            for (var i = 0; i < spec.Pmem.Count; i++)
            {
                Get(qmp, $"/objects/pmem{i}", "mem-path").GetString().Should().Be(spec.Pmem[i].Path);
                Get(qmp, $"/objects/pmem{i}", "align").GetInt64().Should().Be(spec.Pmem[i].AlignBytes);
                Get(qmp, $"/machine/peripheral/nvdimm{i}", "label-size").GetInt64().Should().Be(128 * 1024);
            }
            Get(qmp, "/objects/ram-node0", "merge").GetBoolean().Should().Be(spec.MemMerge);
            Get(qmp, "/objects/ram-node0", "policy").GetString().Should().Be("bind");
            if (spec.HugepageKib is not null)
                Get(qmp, "/objects/ram-node0", "mem-path").GetString().Should().Be(_pages.Mount);
            var memdevs = qmp.Execute("query-memdev")
                .EnumerateArray()
                .Where(m => m.GetProperty("id").GetString()!.StartsWith("ram-node"))
                .ToList();
            memdevs.Should().HaveCount(spec.GuestNumaNodes ?? 1, "one memory backend per guest node");
            memdevs.Should().OnlyContain(m => m.GetProperty("policy").GetString() == "bind");
            var cpus = qmp.Execute("query-cpus-fast").EnumerateArray().ToList();
            cpus.Select(c => c.GetProperty("props").GetProperty("node-id").GetInt32())
                .Distinct()
                .Should()
                .HaveCount(spec.GuestNumaNodes ?? 1, "vCPUs spread over the guest nodes");
            qmp.Execute("query-cpus-fast").GetArrayLength().Should().Be(spec.Vcpus);
            qmp.Execute("query-iothreads").GetArrayLength().Should().Be(spec.Disks.Count(d => d.Iothread));
            qmp.Execute("quit");
        }
        finally
        {
            if (!qemu.WaitForExit(10_000))
                qemu.Kill(true);
        }
    }

    private string CreatePmem()
    {
        var path = Path.Combine(_dir, "pmem.img");
        if (!File.Exists(path))
            using (var f = File.Create(path))
                f.SetLength(64L << 20);
        return path;
    }

    private static QmpClient Connect(string path, Process qemu)
    {
        try
        {
            return QmpClient.Connect(path, TimeSpan.FromSeconds(20));
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
        {
            qemu.WaitForExit(2000);
            throw new Xunit.Sdk.XunitException(
                $"QEMU did not open QMP: {(qemu.HasExited ? qemu.StandardError.ReadToEnd() : e.Message)}"
            );
        }
    }

    private static JsonElement Get(QmpClient qmp, string path, string property) =>
        qmp.Execute(
            "qom-get",
            $"{{\"path\":{JsonSerializer.Serialize(path, JsonCtx.Default.String)},\"property\":\"{property}\"}}"
        );
}

[System.Text.Json.Serialization.JsonSerializable(typeof(string))]
internal sealed partial class JsonCtx : System.Text.Json.Serialization.JsonSerializerContext;
