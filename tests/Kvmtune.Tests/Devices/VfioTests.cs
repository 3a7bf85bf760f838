using AwesomeAssertions;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.Devices;

/// <summary>
/// vfio create-vfs and bind, journaled and rolled back, on a tree that behaves like sysfs (SysfsPciEmulator cites
/// the kernel source of each behaviour). Every refusal and every failure leaves the tree as it was.
/// </summary>
public sealed class VfioTests
{
    private const string Pf = SyntheticHost.Qat;
    private const int QatVfs = 16;

    private static string Dev(string bdf) => $"/sys/devices/pci0000:30/{bdf}";

    private static int VfCount(SyntheticHost h, string pf = Pf) =>
        Directory.GetFileSystemEntries(h.Tree.Physical(Dev(pf)), "virtfn*").Length;

    private static string? DriverOf(SyntheticHost h, string bdf) =>
        new FileInfo(h.Tree.Physical($"{Dev(bdf)}/driver")).LinkTarget is { } t ? Path.GetFileName(t) : null;

    /// <summary>VFs made beforehand, in a journal of their own so the test's rollback undoes only what it is
    /// about.</summary>
    private static void WithVfs(SyntheticHost h, SysfsPciEmulator emu, int count, string pf = Pf)
    {
        var run = KvmtuneRunner.Run(
            emu,
            "vfio",
            "create-vfs",
            pf,
            "--count",
            count.ToString(),
            "--root",
            h.Root,
            "--journal-dir",
            h.Tree.Physical("/j1")
        );
        run.ExitCode.Should().Be(0, run.Stderr);
        VfCount(h, pf).Should().Be(count);
    }

    /// <summary>A QAT C62x PF on c6xx and vfio-pci loaded (with denylistOff, with disable_denylist=1).</summary>
    private static SyntheticHost QatHost(bool denylistOff = true, bool autoprobe = false)
    {
        var h = new SyntheticHost();
        foreach (var d in new[] { "vfio-pci", "c6xx", "c6xxvf", "ice", "iavf" })
            SysfsPciEmulator.AddDriver(h.Tree, d);
        h.Set($"{Dev(Pf)}/driver_override", "(null)");
        h.Set("/sys/module/vfio_pci/parameters/disable_denylist", denylistOff ? "Y" : "N");
        if (autoprobe)
            h.Set($"{Dev(Pf)}/sriov_drivers_autoprobe", "1");
        return h;
    }

    private static SysfsPciEmulator QatEmulator(SyntheticHost h) =>
        new(h.Tree, "0x37c9", "c6xxvf", 20) { QatPf = true };

    [Fact]
    public void Create_vfs_on_qat_enables_every_vf_with_autoprobe_off_says_so_first_and_rollback_restores_the_tree()
    {
        using var h = QatHost(autoprobe: true);
        var emu = QatEmulator(h);
        var before = TreeState.Of(h.Root);
        var run = KvmtuneRunner.Run(emu, "vfio", "create-vfs", Pf, "--count", "16", "--root", h.Root);
        run.ExitCode.Should().Be(0, run.Stderr);
        var lines = run.Stdout.Split('\n');
        // The consequences are said before the change is reported made.
        Array
            .FindIndex(lines, l => l.Contains("crypto and compression instances to 0"))
            .Should()
            .BeLessThan(Array.FindIndex(lines, l => l.Contains("sriov_numvfs: 0 -> 16")));
        run.Stdout.Should().Contain("come up with no driver");
        VfCount(h).Should().Be(QatVfs);
        DriverOf(h, "0000:6b:01.3").Should().BeNull("sriov_drivers_autoprobe was 0 while the VFs appeared");
        File.ReadAllText(h.Tree.Physical($"{Dev(Pf)}/sriov_drivers_autoprobe")).Trim().Should().Be("1");
        var list = KvmtuneRunner.Run(emu, "vfio", "list", "--root", h.Root);
        list.Stdout.Should().Contain("QAT C62x PF").And.Contain("VFs 16/16").And.Contain("0000:6b:01.3  QAT C62x VF");
        KvmtuneRunner.Run(emu, "rollback", "--root", h.Root).ExitCode.Should().Be(0);
        VfCount(h).Should().Be(0);
        before.Diff(TreeState.Of(h.Root)).Should().BeEmpty();
    }

    [Fact]
    public void A_vf_made_without_a_driver_binds_to_vfio_pci_and_rollback_leaves_it_driverless()
    {
        using var h = QatHost(autoprobe: true);
        var emu = QatEmulator(h);
        WithVfs(h, emu, QatVfs);
        var vf = "0000:6b:02.7";
        DriverOf(h, vf).Should().BeNull();
        var before = TreeState.Of(h.Root);
        var bind = KvmtuneRunner.Run(emu, "vfio", "bind", vf, "--root", h.Root);
        bind.ExitCode.Should().Be(0, bind.Stderr);
        bind.Stdout.Should().Contain($"{vf}: driver none -> vfio-pci");
        DriverOf(h, vf).Should().Be("vfio-pci");
        h.Tree.Link("/proc/4242/fd/9", "/dev/vfio/35");
        h.Set("/proc/4242/comm", "qemu-system-x86");
        var again = KvmtuneRunner.Run(emu, "vfio", "bind", vf, "--root", h.Root);
        again.Stdout.Should().Contain("on vfio-pci already");
        h.Remove("/proc/4242");
        KvmtuneRunner.Run(emu, "rollback", "--root", h.Root).ExitCode.Should().Be(0);
        File.ReadAllText(h.Tree.Physical($"{Dev(vf)}/driver_override")).Should().Be("(null)\n");
        before.Diff(TreeState.Of(h.Root)).Should().BeEmpty();
    }

    [Fact]
    public void A_qat_count_other_than_all_is_refused_before_anything_is_written()
    {
        using var h = QatHost();
        var before = TreeState.Of(h.Root);
        var run = KvmtuneRunner.Run("vfio", "create-vfs", Pf, "--count", "4", "--root", h.Root);
        run.ExitCode.Should().Be(2);
        run.Stderr.Should().Contain("enables all 16 VFs").And.Contain("--count 16");
        before.Diff(TreeState.Of(h.Root)).Should().BeEmpty();
    }

    [Fact]
    public void Create_vfs_without_a_pf_driver_is_refused_with_the_kernel_s_enoent_reason()
    {
        using var h = QatHost();
        h.Remove($"{Dev(Pf)}/driver");
        var before = TreeState.Of(h.Root);
        var run = KvmtuneRunner.Run("vfio", "create-vfs", Pf, "--count", "16", "--root", h.Root);
        run.ExitCode.Should().Be(3);
        run.Stderr.Should()
            .Contain("no driver bound to device; cannot configure SR-IOV")
            .And.NotContain("sriov_totalvfs");
        before.Diff(TreeState.Of(h.Root)).Should().BeEmpty();
    }

    [Fact]
    public void Create_vfs_is_refused_while_the_host_uses_the_qat_device()
    {
        using var h = QatHost();
        h.Tree.Link("/sys/bus/pci/drivers/c6xx/module", "../../../../module/qat_c62x");
        h.Set("/sys/module/qat_c62x/refcnt", "1");
        var emu = QatEmulator(h);
        var before = TreeState.Of(h.Root);
        var run = KvmtuneRunner.Run(emu, "vfio", "create-vfs", Pf, "--count", "16", "--root", h.Root);
        run.ExitCode.Should().Be(3);
        run.Stderr.Should().Contain("EBUSY").And.Contain("qat_c62x refcnt");
        before.Diff(TreeState.Of(h.Root)).Should().BeEmpty();
    }

    [Fact]
    public void Removing_vfs_is_refused_while_qemu_holds_one_and_rollback_leaves_them()
    {
        using var h = QatHost();
        var emu = QatEmulator(h);
        WithVfs(h, emu, QatVfs);
        var vf = "0000:6b:01.0";
        h.Remove($"{Dev(vf)}/driver");
        h.Tree.Link($"{Dev(vf)}/driver", "../../../bus/pci/drivers/vfio-pci");
        h.Tree.Link("/proc/4242/fd/9", "/dev/vfio/20");
        h.Set("/proc/4242/comm", "qemu-system-x86");
        var before = TreeState.Of(h.Root);
        var run = KvmtuneRunner.Run(emu, "vfio", "create-vfs", Pf, "--count", "0", "--root", h.Root);
        run.ExitCode.Should().Be(3);
        run.Stderr.Should().Contain("/dev/vfio/20 open by pid 4242 qemu-system-x86");
        var rollback = KvmtuneRunner.Run(emu, "rollback", "--root", h.Root, "--journal-dir", h.Tree.Physical("/j1"));
        rollback.ExitCode.Should().Be(1);
        (rollback.Stdout + rollback.Stderr).Should().Contain("would block").And.Contain("pid 4242");
        VfCount(h).Should().Be(QatVfs);
        before.Diff(TreeState.Of(h.Root)).Where(l => !l.Contains("/j1")).Should().BeEmpty();
    }

    [Fact]
    public void A_failed_change_of_the_vf_count_puts_the_old_vfs_back_with_their_drivers()
    {
        using var h = QatHost(autoprobe: false);
        var nic = SyntheticHost.Nic;
        h.Set($"{Dev(nic)}/sriov_totalvfs", "8").Set($"{Dev(nic)}/sriov_numvfs", "0");
        var emu = new SysfsPciEmulator(h.Tree, "0x1889", "iavf", 40) { EnableLimit = 4 };
        WithVfs(h, emu, 2, nic);
        DriverOf(h, "0000:31:01.1").Should().Be("iavf", "made while the kernel had no autoprobe switch");
        h.Set($"{Dev(nic)}/sriov_drivers_autoprobe", "1");
        var before = TreeState.Of(h.Root);
        var run = KvmtuneRunner.Run(emu, "vfio", "create-vfs", nic, "--count", "6", "--root", h.Root);
        run.ExitCode.Should().Be(2, run.Stdout);
        run.Stderr.Should().Contain("the kernel shows 0 VFs after 6 was written");
        VfCount(h, nic).Should().Be(2);
        DriverOf(h, "0000:31:01.1").Should().Be("iavf");
        before.Diff(TreeState.Of(h.Root)).Where(l => !l.StartsWith("+ /var/lib/kvmtune")).Should().BeEmpty();
    }

    [Fact]
    public void Bind_moves_a_vf_to_vfio_pci_and_rollback_returns_it_to_its_driver()
    {
        using var h = QatHost();
        var emu = QatEmulator(h);
        WithVfs(h, emu, QatVfs);
        var vf = "0000:6b:01.1";
        var before = TreeState.Of(h.Root);
        var bind = KvmtuneRunner.Run(emu, "vfio", "bind", vf, "--root", h.Root);
        bind.ExitCode.Should().Be(0, bind.Stderr);
        bind.Stdout.Should().Contain($"{vf}: driver c6xxvf -> vfio-pci");
        DriverOf(h, vf).Should().Be("vfio-pci");
        File.ReadAllText(h.Tree.Physical($"{Dev(vf)}/driver_override")).Trim().Should().Be("vfio-pci");
        var audit = KvmtuneRunner.Run(emu, "audit", "--root", h.Root, "--only", "host.qat.vfio", "--format", "json");
        audit.Stdout.Should().Contain("1 of 16 VFs on vfio-pci");
        var rollback = KvmtuneRunner.Run(emu, "rollback", "--root", h.Root);
        rollback.ExitCode.Should().Be(0, rollback.Stderr);
        rollback.Stdout.Should().Contain("back on c6xxvf");
        File.ReadAllText(h.Tree.Physical($"{Dev(vf)}/driver_override")).Should().Be("(null)\n");
        before.Diff(TreeState.Of(h.Root)).Should().BeEmpty("the original driver and driver_override are back");
    }

    [Fact]
    public void Without_driver_override_bind_uses_new_id_and_rollback_removes_it()
    {
        using var h = QatHost();
        var emu = QatEmulator(h);
        WithVfs(h, emu, QatVfs);
        var vf = "0000:6b:01.0";
        h.Remove($"{Dev(vf)}/driver_override"); // an old kernel
        var before = TreeState.Of(h.Root);
        KvmtuneRunner.Run(emu, "vfio", "bind", vf, "--root", h.Root).ExitCode.Should().Be(0);
        DriverOf(h, vf).Should().Be("vfio-pci");
        KvmtuneRunner.Run(emu, "rollback", "--root", h.Root).ExitCode.Should().Be(0);
        DriverOf(h, vf).Should().Be("c6xxvf");
        emu.NewIds.Should().Equal("vfio-pci new_id 8086 37c9", "vfio-pci remove_id 8086 37c9");
        before.Diff(TreeState.Of(h.Root)).Should().BeEmpty();
    }

    [Fact]
    public void Bind_of_a_denylisted_qat_vf_is_refused_until_vfio_pci_is_loaded_with_disable_denylist()
    {
        using var h = QatHost(denylistOff: false);
        var emu = QatEmulator(h);
        WithVfs(h, emu, QatVfs);
        var before = TreeState.Of(h.Root);
        var run = KvmtuneRunner.Run(emu, "vfio", "bind", "0000:6b:01.1", "--root", h.Root);
        run.ExitCode.Should().Be(3);
        run.Stderr.Should()
            .Contain("8086:37c9 (QAT C62x VF)")
            .And.Contain("denylist")
            .And.Contain("modprobe vfio-pci disable_denylist=1");
        before.Diff(TreeState.Of(h.Root)).Should().BeEmpty();
    }

    [Fact]
    public void Bind_is_refused_while_vfio_pci_is_not_loaded()
    {
        using var h = QatHost();
        h.Remove("/sys/bus/pci/drivers/vfio-pci");
        var before = TreeState.Of(h.Root);
        var run = KvmtuneRunner.Run("vfio", "bind", SyntheticHost.Nic, "--root", h.Root);
        run.ExitCode.Should().Be(3);
        run.Stderr.Should().Contain("vfio-pci is not loaded").And.Contain("'modprobe vfio-pci'");
        before.Diff(TreeState.Of(h.Root)).Should().BeEmpty();
    }

    [Fact]
    public void Bind_of_a_pf_with_vfs_is_refused_because_its_driver_s_remove_takes_them()
    {
        using var h = QatHost();
        var emu = QatEmulator(h);
        WithVfs(h, emu, QatVfs);
        var before = TreeState.Of(h.Root);
        var run = KvmtuneRunner.Run(emu, "vfio", "bind", Pf, "--root", h.Root);
        run.ExitCode.Should().Be(3);
        run.Stderr.Should().Contain("has 16 VFs").And.Contain("--count 0");
        before.Diff(TreeState.Of(h.Root)).Should().BeEmpty();
    }

    [Theory]
    [InlineData("ice", false)]
    [InlineData("shpchp", false)]
    [InlineData("qat_vfio_pci", true)]
    [InlineData("mlx5_vfio_pci", true)]
    [InlineData("pci-stub", true)]
    [InlineData("pcieport", true)]
    public void Only_drivers_that_manage_dma_for_vfio_may_share_the_group(string neighbour, bool allowed)
    {
        using var h = QatHost();
        SysfsPciEmulator.AddDriver(h.Tree, neighbour);
        // a second function in the NIC's IOMMU group (1)
        h.AddPci("0000:31:00.1", "0x020000", "0x8086", "0x1592", 1, neighbour, 1);
        h.Set($"{Dev(SyntheticHost.Nic)}/driver_override", "(null)");
        var emu = new SysfsPciEmulator(h.Tree, "0x1889", "iavf", 40);
        var before = TreeState.Of(h.Root);
        var run = KvmtuneRunner.Run(emu, "vfio", "bind", SyntheticHost.Nic, "--root", h.Root);
        if (!allowed)
        {
            run.ExitCode.Should().Be(3);
            run.Stderr.Should().Contain($"IOMMU group 1 also holds 0000:31:00.1 (driver {neighbour})");
            before.Diff(TreeState.Of(h.Root)).Should().BeEmpty();
            return;
        }
        run.ExitCode.Should().Be(0, run.Stderr);
        DriverOf(h, SyntheticHost.Nic).Should().Be("vfio-pci");
        KvmtuneRunner.Run(emu, "rollback", "--root", h.Root).ExitCode.Should().Be(0);
        DriverOf(h, SyntheticHost.Nic).Should().Be("ice");
        var nicOverride = h.Tree.Physical($"{Dev(SyntheticHost.Nic)}/driver_override");
        File.ReadAllText(nicOverride).Should().Be("(null)\n");
        before.Diff(TreeState.Of(h.Root)).Where(l => !l.StartsWith("+ /var/lib/kvmtune")).Should().BeEmpty();
    }

    [Fact]
    public void Bind_is_refused_with_the_iommu_off()
    {
        using var h = QatHost();
        foreach (var g in new[] { "0", "1", "7" })
            h.Remove($"/sys/kernel/iommu_groups/{g}");
        var run = KvmtuneRunner.Run("vfio", "bind", Pf, "--root", h.Root);
        run.ExitCode.Should().Be(3);
        run.Stderr.Should().Contain("IOMMU is off").And.Contain("intel_iommu=on");
    }

    [Fact]
    public void Create_vfs_refuses_more_vfs_than_the_pf_offers()
    {
        using var h = QatHost();
        var run = KvmtuneRunner.Run("vfio", "create-vfs", Pf, "--count", "17", "--root", h.Root);
        run.ExitCode.Should().Be(2);
        run.Stderr.Should().Contain("0..16");
    }
}
