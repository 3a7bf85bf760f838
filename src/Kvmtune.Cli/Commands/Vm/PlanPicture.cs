using Kvmtune.Facts.Host;
using Kvmtune.Facts.IO;
using Kvmtune.Vms;

namespace Kvmtune.Cli.Commands.Vm;

/// <summary>The resolved plan the host picture shows (audit --format html --plan, inspect --format svg
/// --plan).</summary>
internal static class PlanPicture
{
    /// <summary>The specs placed and resolved as <c>vm plan</c> does (KVM where the host has /dev/kvm).</summary>
    public static ResolvedPlan? Load(HostReader reader, HostFacts facts, string? specFile)
    {
        if (specFile is null)
            return null;
        var specs = VmSpecParser.ParseFile(specFile, facts);
        var qemu = reader.IsLive ? QemuInstall.Probe(facts, TimeSpan.FromSeconds(10)) : QemuInstall.FromFacts(facts);
        var accel = facts.Virtualization.Kvm.Exists ? "kvm" : "tcg";
        return ResolvedPlan.Resolve(specs, new Planner(facts).Plan(specs), facts, accel, qemu);
    }
}
