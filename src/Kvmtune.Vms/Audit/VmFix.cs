using Kvmtune.Guide;

namespace Kvmtune.Vms.Audit;

/// <summary>
/// A fix for a running VM, in the form it was started with: virsh commands and domain XML for a libvirt domain,
/// taskset/migratepages and QEMU options for a QEMU started by hand. Nothing here is carried out by apply.
/// </summary>
public sealed record VmFix(string Section, IReadOnlyList<string> Runtime, IReadOnlyList<string> Persistent)
    : PlannedChange(Section)
{
    public override IReadOnlyList<string> RuntimeCommands => Runtime;
    public override IReadOnlyList<string> PersistentSteps => Persistent;
}

/// <summary>Writes fixes for one VM in its own form.</summary>
public sealed class VmFixes(RunningVm vm)
{
    private string Name => Kvmtune.Facts.Parsing.ShellWords.Quote(vm.Name);

    /// <summary>
    /// A change of the domain XML (libvirt) or of the QEMU command line (QEMU), with what works live.
    /// </summary>
    public VmFix Make(
        string section,
        string xml,
        string qemu,
        IEnumerable<string>? live = null,
        IEnumerable<string>? liveQemu = null
    )
    {
        if (vm.IsLibvirt)
            return new VmFix(
                section,
                [.. live ?? []],
                [$"virsh edit {Name}: {xml}", $"then restart the domain: virsh shutdown {Name}; virsh start {Name}"]
            );
        return new VmFix(section, [.. liveQemu ?? []], [$"restart QEMU (PID {vm.Pid}) with {qemu}"]);
    }

    /// <summary>
    /// What libvirt calls a device (its disk target, its MAC), from the alias that is the -device id.
    /// </summary>
    public string Device(string id) =>
        vm.Libvirt?.Devices.TryGetValue(id, out var d) == true ? d
        : vm.IsLibvirt ? $"the device with alias '{id}'"
        : id;
}
