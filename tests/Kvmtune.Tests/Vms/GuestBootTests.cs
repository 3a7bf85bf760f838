using System.Diagnostics;
using System.Text.Json;
using AwesomeAssertions;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.Vms;

/// <summary>
/// A real Linux guest (Debian's kernel and a busybox initramfs that test.sh builds with tests/guest/build-guest.sh)
/// boots under TCG from kvmtune's command line and reports what it sees: blk-mq queues, the packed-ring feature,
/// virtio-net queues, /dev/pmem0; then kvmtune itself audits the guest from inside, turns a namespace into devdax with
/// ndctl and reloads vhost_net
/// with new options, each journaled and rolled back.
/// </summary>
[Collection(Kvmtune.Tests.Changes.LiveSysfs.Name)]
public sealed class GuestBootTests : IDisposable
{
    private const int VirtioFRingPacked = 34;
    private readonly string _guest = Path.Combine(Paths.RepoRoot, ".build", "guest");
    private readonly string _dir = Path.Combine(
        "/var/tmp",
        $"kvmtune-guest-{Environment.ProcessId}-{Guid.NewGuid():N}"[..38]
    );

    public GuestBootTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_guest_booted_from_the_generated_command_line_sees_every_tuned_device_and_audits_itself()
    {
        Assert.SkipUnless(Processes.OnPath("qemu-system-x86_64"), "qemu-system-x86_64 is not installed");
        Assert.SkipUnless(
            File.Exists(Path.Combine(_guest, "initramfs.gz")),
            "no guest image: ./test.sh builds it with tests/guest/build-guest.sh"
        );
        var disk = Path.Combine(_dir, "disk.raw");
        Processes.Run("qemu-img", ["create", "-f", "raw", disk, "64M"]).ExitCode.Should().Be(0);
        var pmem = Path.Combine(_dir, "pmem.img");
        // 130 MiB: after the 128 KiB label area the region is 128 MiB, a multiple of the 16 MiB region alignment ndctl
        // wants.
        using (var f = File.Create(pmem))
            f.SetLength(130L << 20);
        var spec = Path.Combine(_dir, "guest.yaml");
        File.WriteAllText(
            spec,
            $"""
            name: boot1
            vcpus: 2
            memory: 512MiB
            hugepages: none
            disks:
              - {"{"} path: {disk}, queues: 2, packed: true, iothread: true {"}"}
            nics:
              - {"{"} ifname: kvtboot0, queues: 2, vhost: false, packed: true {"}"}
            pmem:
              - {"{"} path: {pmem}, size: 130MiB, align: 2MiB {"}"}
            boot:
              kernel: {Path.Combine(_guest, "vmlinuz")}
              initrd: {Path.Combine(_guest, "initramfs.gz")}
              append: "console=ttyS0 panic=-1 quiet"
            """
        );
        var console = Path.Combine(_dir, "console.log");
        var json = KvmtuneRunner.Run(
            "vm",
            "qemu",
            spec,
            "--accel",
            "tcg",
            "--format",
            "json",
            "--run-dir",
            _dir,
            "--console",
            console
        );
        json.ExitCode.Should().Be(0, json.Stderr);
        var argv = JsonDocument
            .Parse(json.Stdout)
            .RootElement.GetProperty("argv")
            .EnumerateArray()
            .Select(a => a.GetString()!)
            .ToList();
        var psi = new ProcessStartInfo(argv[0])
        {
            UseShellExecute = false,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        foreach (var a in argv.Skip(1).Append("-no-reboot"))
            psi.ArgumentList.Add(a);
        using (var qemu = Process.Start(psi)!)
        {
            if (!qemu.WaitForExit(180_000))
            {
                qemu.Kill(true);
                throw new TimeoutException("the guest did not power off in 180 s");
            }
            qemu.ExitCode.Should().Be(0, qemu.StandardError.ReadToEnd());
        }
        var log = File.ReadAllText(console);
        log.Should().Contain("KVMTUNE-GUEST-END", log);
        string Value(string key) => log.Split('\n').First(l => l.StartsWith(key + "=")).Split('=', 2)[1].Trim();
        Value("blk_mq").Should().Be("2", "blk-mq queues equal num-queues");
        Value("blk_features")[VirtioFRingPacked].Should().Be('1', "virtio-blk negotiated packed rings");
        Value("net_queues").Should().Be("2");
        Value("net_features")[VirtioFRingPacked].Should().Be('1', "virtio-net negotiated packed rings");
        Value("pmem").Should().Be("/dev/pmem0");
        Value("vcpus").Should().Be("2");
        Value("audit_rc").Should().BeOneOf("0", "1");
        var begin = log.IndexOf("AUDIT-BEGIN", StringComparison.Ordinal) + "AUDIT-BEGIN".Length;
        using var audit = JsonDocument.Parse(log[begin..log.IndexOf("AUDIT-END", StringComparison.Ordinal)]);
        audit.RootElement.GetProperty("role").GetString().Should().Be("guest");
        var findings = audit
            .RootElement.GetProperty("findings")
            .EnumerateArray()
            .ToDictionary(f => f.GetProperty("id").GetString()!);
        findings["guest.net.queues"].GetProperty("status").GetString().Should().Be("pass");
        findings["guest.block.rq_affinity"].GetProperty("current").GetString().Should().StartWith("vda: 2 queues");

        // kvmtune pmem plan --execute inside the guest: ndctl turns the raw namespace into devdax, journaled;
        // rollback turns it back.
        // With an ext2 file system on it (busybox mke2fs), --execute refuses the namespace and leaves it a block
        // device.
        Value("pmem_fs_rc").Should().NotBe("0", log);
        Value("pmem_fs_kept").Should().Be("/dev/pmem0", log);
        log.Should().Contain("file system", "the refusal says why");
        Value("pmem_exec_rc").Should().Be("0", log);
        Value("dax_after").Should().Be("/dev/dax0.0");
        Value("pmem_rollback_rc").Should().Be("0");
        Value("dax_rolled").Should().Be("0");
        Value("pmem_back").Should().Be("/dev/pmem0");
        log.Should().Contain("namespace0.0: mode raw -> devdax").And.Contain("namespace0.0: back to raw");

        // apply --allow-module-reload inside the guest: vhost_net reloaded with experimental_zcopytx=1, then
        // rollback reloads it with the original value.
        Value("zcopy_before").Should().Be("0");
        Value("reload_rc").Should().Be("0", log);
        Value("zcopy_applied").Should().Be("1");
        Value("reload_rollback_rc").Should().Be("0");
        Value("zcopy_rolled").Should().Be("0");
    }
}
