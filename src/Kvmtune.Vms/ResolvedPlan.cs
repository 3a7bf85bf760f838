using Kvmtune.Facts.Host;

namespace Kvmtune.Vms;

/// <summary>
/// What <c>vm plan</c> and the host picture show, resolved once: each placed VM as the one <see cref="ResolvedVm"/>
/// the QEMU command line and the libvirt domain are rendered from (placement, every decision and its reason), each
/// VM that does not fit with why and what would make it fit, and the host's housekeeping CPUs.
/// </summary>
public sealed record ResolvedPlan(
    string Accel,
    IReadOnlyList<ResolvedVm> Vms,
    IReadOnlyList<UnplacedVm> Unplaced,
    IReadOnlyList<int> Housekeeping
)
{
    public static ResolvedPlan Resolve(
        IReadOnlyList<VmSpec> specs,
        PlacementPlan plan,
        HostFacts host,
        string accel,
        QemuInstall? qemu = null
    )
    {
        var vms = new List<ResolvedVm>();
        // Names are unique (the spec parser refuses a second one); the first wins all the same.
        var byName = new Dictionary<string, VmSpec>(StringComparer.Ordinal);
        foreach (var s in specs)
            byName.TryAdd(s.Name, s);
        foreach (var planned in plan.Vms)
            if (byName.TryGetValue(planned.Name, out var spec))
                vms.Add(VmResolver.Resolve(spec, planned, host, accel, qemu));
        var housekeeping = HostModel.From(host).Nodes.SelectMany(n => n.Housekeeping).Distinct().Order().ToList();
        return new ResolvedPlan(accel, vms, plan.Unplaced, housekeeping);
    }
}
