using AwesomeAssertions;
using Kvmtune.Changes;
using Kvmtune.Facts.IO;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.Devices;

/// <summary>
/// A move to vfio-pci is three writes (driver_override, unbind, bind). Stopped after any of them, undoing the
/// operation puts the device back on its driver with its driver_override, byte for byte.
/// </summary>
public sealed class DriverUndoTests
{
    private const string Vf = "0000:6b:01.1";

    private static string Dev(string bdf) => $"/sys/devices/pci0000:30/{bdf}";

    private static SyntheticHost VfHost(out SysfsPciEmulator emu)
    {
        var h = new SyntheticHost();
        foreach (var d in new[] { "vfio-pci", "c6xx", "c6xxvf" })
            SysfsPciEmulator.AddDriver(h.Tree, d);
        emu = new SysfsPciEmulator(h.Tree, "0x37c9", "c6xxvf", 20) { QatPf = true };
        KvmtuneRunner
            .Run(
                emu,
                "vfio",
                "create-vfs",
                SyntheticHost.Qat,
                "--count",
                "16",
                "--root",
                h.Root,
                "--journal-dir",
                h.Tree.Physical("/j1")
            )
            .ExitCode.Should()
            .Be(0);
        File.Exists(h.Tree.Physical($"{Dev("0000:6b:02.7")}/driver_override")).Should().BeTrue("16 VFs");
        return h;
    }

    private static DriverOperation Op() =>
        new()
        {
            Section = "5",
            FindingId = "vfio.bind",
            Device = Vf,
            OriginalDriver = "c6xxvf",
            NewDriver = "vfio-pci",
            OriginalOverride = "",
        };

    [Theory]
    [InlineData(true, false, null)] // driver_override written, nothing else
    [InlineData(true, true, null)] // ... and unbound: the device has no driver
    [InlineData(true, true, "vfio-pci")] // the whole move
    [InlineData(false, true, null)] // unbound by someone, driver_override untouched
    [InlineData(true, true, "c6xx")] // bound elsewhere since
    public void Undo_restores_driver_and_override_from_every_half_done_state(
        bool overrideWritten,
        bool unbound,
        string? boundTo
    )
    {
        using var h = VfHost(out var emu);
        var before = TreeState.Of(h.Root);
        if (overrideWritten)
            h.Set($"{Dev(Vf)}/driver_override", "vfio-pci");
        if (unbound)
            h.Remove($"{Dev(Vf)}/driver");
        if (boundTo is not null)
            h.Tree.Link($"{Dev(Vf)}/driver", $"../../../bus/pci/drivers/{boundTo}");
        using var tree = new SafeTree(h.Root, emu);
        var undone = Op().Undo(new OperationContext(tree, new ProgramRunner()), force: true);
        undone.Conflict.Should().BeFalse(undone.Line);
        File.ReadAllText(h.Tree.Physical($"{Dev(Vf)}/driver_override")).Should().Be("(null)\n");
        before.Diff(TreeState.Of(h.Root)).Should().BeEmpty(undone.Line);
    }

    [Fact]
    public void A_bind_the_kernel_refuses_is_undone_by_the_change_layer()
    {
        // kvmtune's planner refuses a denylisted device first; the operation applied directly shows what happens
        // when the kernel refuses a bind anyway (vfio_pci_probe returns -EINVAL): the device is back where it was.
        using var h = VfHost(out var emu);
        var before = TreeState.Of(h.Root);
        using var layer = new ChangeLayer(new HostReader(h.Root), new Journal(h.Tree.Physical("/j2")), kernel: emu);
        var act = () =>
            layer.Apply(
                new ApplyPlan([Op() with { Seq = 1 }], [], [], null),
                "test",
                new ApplyOptions(false, false, false, null),
                DateTimeOffset.UtcNow
            );
        act.Should().Throw<ApplyFailedException>().WithMessage("*still on driver none after binding to vfio-pci*");
        File.ReadAllText(h.Tree.Physical($"{Dev(Vf)}/driver_override")).Should().Be("(null)\n");
        before.Diff(TreeState.Of(h.Root)).Where(l => !l.Contains("/j2")).Should().BeEmpty();
    }
}
