using AwesomeAssertions;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.Devices;

/// <summary>vfio create-vfs and bind, journaled and rolled back, on a tree that behaves like sysfs.</summary>
public sealed class VfioTests
{
    private const string Pf = SyntheticHost.Qat;
    private static string Dev(string bdf) => $"/sys/devices/pci0000:30/{bdf}";

    private static int VfCount(SyntheticHost h) => Directory.GetFileSystemEntries(h.Tree.Physical(Dev(Pf)), "virtfn*").Length;

    /// <summary>VFs made beforehand, in a journal of their own so the test's rollback undoes only what it is about.</summary>
    private static void WithVfs(SyntheticHost h, int count)
    {
        KvmtuneRunner.Run("vfio", "create-vfs", Pf, "--count", count.ToString(), "--root", h.Root, "--journal-dir", h.Tree.Physical("/j1")).ExitCode.Should().Be(0);
        SysfsPciEmulator.WaitFor(() => VfCount(h) == count, $"{count} VFs");
    }

    private static SyntheticHost QatHost()
    {
        var h = new SyntheticHost();
        foreach (var d in new[] { "vfio-pci", "c6xx", "c6xxvf", "ice" }) SysfsPciEmulator.AddDriver(h.Tree, d);
        h.Set($"{Dev(Pf)}/driver_override", "(null)");
        return h;
    }

    [Fact]
    public void Create_vfs_makes_the_vfs_and_rollback_removes_them_byte_for_byte()
    {
        using var h = QatHost();
        using var emu = new SysfsPciEmulator(h.Tree, "0x37c9", "c6xxvf", 20);
        var before = TreeState.Of(h.Root);
        var run = KvmtuneRunner.Run("vfio", "create-vfs", Pf, "--count", "4", "--root", h.Root);
        run.ExitCode.Should().Be(0, run.Stderr);
        run.Stdout.Should().Contain($"/sys/bus/pci/devices/{Pf}/sriov_numvfs: 0 -> 4");
        SysfsPciEmulator.WaitFor(() => VfCount(h) == 4, "4 VFs");
        var list = KvmtuneRunner.Run("vfio", "list", "--root", h.Root);
        list.Stdout.Should().Contain("QAT C62x PF").And.Contain("VFs 4/16").And.Contain("0000:6b:01.3  QAT C62x VF");
        KvmtuneRunner.Run("rollback", "--root", h.Root).ExitCode.Should().Be(0);
        SysfsPciEmulator.WaitFor(() => VfCount(h) == 0, "VFs removed");
        before.Diff(TreeState.Of(h.Root)).Should().BeEmpty();
    }

    [Fact]
    public void Bind_moves_a_vf_to_vfio_pci_and_rollback_returns_it_to_its_driver()
    {
        using var h = QatHost();
        using var emu = new SysfsPciEmulator(h.Tree, "0x37c9", "c6xxvf", 20);
        WithVfs(h, 2);
        var vf = "0000:6b:01.1";
        var before = TreeState.Of(h.Root);
        var bind = KvmtuneRunner.Run("vfio", "bind", vf, "--root", h.Root);
        bind.ExitCode.Should().Be(0, bind.Stderr);
        bind.Stdout.Should().Contain($"{vf}: driver c6xxvf -> vfio-pci");
        new FileInfo(h.Tree.Physical($"{Dev(vf)}/driver")).LinkTarget.Should().EndWith("/vfio-pci");
        File.ReadAllText(h.Tree.Physical($"{Dev(vf)}/driver_override")).Trim().Should().Be("vfio-pci");
        var audit = KvmtuneRunner.Run("audit", "--root", h.Root, "--only", "host.qat.vfio", "--format", "json");
        audit.Stdout.Should().Contain("1 of 2 VFs on vfio-pci");
        var rollback = KvmtuneRunner.Run("rollback", "--root", h.Root);
        rollback.ExitCode.Should().Be(0, rollback.Stderr);
        rollback.Stdout.Should().Contain("back on c6xxvf");
        SysfsPciEmulator.WaitFor(() => File.ReadAllText(h.Tree.Physical($"{Dev(vf)}/driver_override")) == "(null)\n", "driver_override cleared");
        before.Diff(TreeState.Of(h.Root)).Should().BeEmpty("the original driver and driver_override are back");
    }

    [Fact]
    public void Without_driver_override_bind_uses_new_id_and_rollback_removes_it()
    {
        using var h = QatHost();
        using var emu = new SysfsPciEmulator(h.Tree, "0x37c9", "c6xxvf", 20);
        WithVfs(h, 1);
        var vf = "0000:6b:01.0";
        h.Remove($"{Dev(vf)}/driver_override"); // an old kernel
        var before = TreeState.Of(h.Root);
        KvmtuneRunner.Run("vfio", "bind", vf, "--root", h.Root).ExitCode.Should().Be(0);
        new FileInfo(h.Tree.Physical($"{Dev(vf)}/driver")).LinkTarget.Should().EndWith("/vfio-pci");
        KvmtuneRunner.Run("rollback", "--root", h.Root).ExitCode.Should().Be(0);
        new FileInfo(h.Tree.Physical($"{Dev(vf)}/driver")).LinkTarget.Should().EndWith("/c6xxvf");
        SysfsPciEmulator.WaitFor(() => emu.NewIds.Count == 2, "new_id and remove_id");
        emu.NewIds.Should().Equal("vfio-pci new_id 8086 37c9", "vfio-pci remove_id 8086 37c9");
        before.Diff(TreeState.Of(h.Root)).Should().BeEmpty();
    }

    [Fact]
    public void Bind_is_refused_while_another_device_of_the_iommu_group_has_a_host_driver()
    {
        using var h = QatHost();
        // a second function in the NIC's IOMMU group (1), held by the ice driver
        h.AddPci("0000:31:00.1", "0x020000", "0x8086", "0x1592", 1, "ice", 1);
        var before = TreeState.Of(h.Root);
        var run = KvmtuneRunner.Run("vfio", "bind", SyntheticHost.Nic, "--root", h.Root);
        run.ExitCode.Should().Be(3);
        run.Stderr.Should().Contain("IOMMU group 1 also holds 0000:31:00.1 (driver ice)");
        before.Diff(TreeState.Of(h.Root)).Should().BeEmpty();
    }

    [Fact]
    public void Bind_is_refused_with_the_iommu_off()
    {
        using var h = QatHost();
        foreach (var g in new[] { "0", "1", "7" }) h.Remove($"/sys/kernel/iommu_groups/{g}");
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
