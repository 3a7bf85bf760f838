using Kvmtune.Facts;
using Kvmtune.Facts.Host;
using Kvmtune.Facts.Parsing;
using Kvmtune.Guide.Audit;

namespace Kvmtune.Vms.Audit;

/// <summary>One VM's findings.</summary>
public sealed record VmReport(string Name, int Pid, string Source, IReadOnlyList<Finding> Findings)
{
    public AuditSummary Summary =>
        new(
            Findings.Count(f => f.Status == FindingStatus.Pass),
            Findings.Count(f => f.Status == FindingStatus.Warn),
            Findings.Count(f => f.Status == FindingStatus.Fail),
            Findings.Count(f => f.Status == FindingStatus.Info),
            Findings.Count(f => f.Status == FindingStatus.Unknown)
        );
}

public sealed record VmAuditReport(string? Host, IReadOnlyList<VmReport> Vms)
{
    public bool AnyFail => Vms.Any(v => v.Findings.Any(f => f.Status == FindingStatus.Fail));
}

/// <summary>
/// What the rules see of one VM: its vCPU threads and their CPUs, whether it holds dedicated CPUs (each vCPU
/// pinned to one CPU), the nodes they lie on, and the host around it.
/// </summary>
public sealed class VmView
{
    public VmView(RunningVm vm, HostFacts host)
    {
        Vm = vm;
        Host = host;
        Fix = new VmFixes(vm);
        NodeOf = host.Cpu.Cpus.Where(c => c.Node is not null).ToDictionary(c => c.Id, c => c.Node!.Value);
        var named = vm.Vcpus.ToList();
        if (named.Count > 0)
            VcpuThreads = named;
        else if (
            vm.Threads.Count > 0
            && vm.Threads.All(t => t.Cpus is not null)
            && vm.Threads.Select(t => CpuList.Format(t.Cpus!)).Distinct().Count() == 1
        )
        {
            // Unnamed threads (no debug-threads=on), all allowed the same CPUs: whichever are the vCPUs, that is
            // theirs.
            var cpus = vm.Threads[0].Cpus!;
            VcpuThreads = Enumerable
                .Range(0, vm.Config.Vcpus)
                .Select(i => new VmThread(0, null, VmThreadRole.Vcpu, i, cpus))
                .ToList();
            Anonymous = true;
        }
        KnownVcpus = VcpuThreads is { Count: > 0 } v && v.All(t => t.Cpus is not null);
        // Each vCPU on one CPU of its own; vCPUs stacked on one CPU are an overcommitted VM, not a dedicated one.
        Dedicated =
            KnownVcpus
            && VcpuThreads!.Count == vm.Config.Vcpus
            && VcpuThreads.All(t => t.Cpus!.Count == 1)
            && VcpuThreads.Select(t => t.Cpus![0]).Distinct().Count() == VcpuThreads.Count;
        VcpuCpus = KnownVcpus ? VcpuThreads!.SelectMany(t => t.Cpus!).Distinct().Order().ToList() : [];
        VcpuNodes = VcpuCpus
            .Select(c => NodeOf.TryGetValue(c, out var n) ? n : -1)
            .Where(n => n >= 0)
            .Distinct()
            .Order()
            .ToList();
    }

    public RunningVm Vm { get; }
    public HostFacts Host { get; }
    public VmFixes Fix { get; }
    public IReadOnlyDictionary<int, int> NodeOf { get; }

    /// <summary>The vCPU threads, or null when the names do not say which threads they are.</summary>
    public IReadOnlyList<VmThread>? VcpuThreads { get; }

    /// <summary>The vCPU threads could not be told apart (no debug-threads=on) but share one CPU set.</summary>
    public bool Anonymous { get; }

    public bool KnownVcpus { get; }

    /// <summary>Every vCPU pinned to exactly one host CPU, a different one each: the VM holds those CPUs.</summary>
    public bool Dedicated { get; }
    public IReadOnlyList<int> VcpuCpus { get; }
    public IReadOnlyList<int> VcpuNodes { get; }

    public IEnumerable<string> ThreadEvidence => [$"{Vm.ProcDir}/task/*/comm", $"{Vm.ProcDir}/task/*/status"];

    public IEnumerable<string> ArgvEvidence =>
        Vm.Libvirt is { } l ? [$"{Vm.ProcDir}/cmdline", l.XmlPath] : [$"{Vm.ProcDir}/cmdline"];

    public bool Tcg => Vm.Config.Accel == "tcg";

    public string VcpuText =>
        VcpuThreads is null
            ? "unknown"
            : string.Join(
                "; ",
                VcpuThreads.Select(t => $"vCPU {t.Vcpu} on {(t.Cpus is null ? "?" : CpuList.Format(t.Cpus))}")
            );
}

/// <summary>
/// Checks each running VM against the guide's VM sections (3.2.1, 3.2.3, 3.2.5, 3.3.1, 3.3.3, 3.3.4).
/// </summary>
public static class VmAuditor
{
    public static VmAuditReport Run(IReadOnlyList<RunningVm> all, HostFacts host, IReadOnlyCollection<string>? names)
    {
        if (names is { Count: > 0 })
            foreach (var n in names)
                if (all.All(v => v.Name != n))
                    throw new InputException(
                        null,
                        null,
                        "NAME",
                        $"no running VM is called '{SafeText.Visible(n)}'; running: "
                            + (
                                all.Count == 0
                                    ? "none"
                                    : string.Join(", ", all.Select(v => v.Name).Order(StringComparer.Ordinal))
                            )
                    );

        var views = all.Select(v => new VmView(v, host)).ToList();
        var reports = views
            .Where(v => names is not { Count: > 0 } || names.Contains(v.Vm.Name))
            .OrderBy(v => v.Vm.Name, StringComparer.Ordinal)
            .ThenBy(v => v.Vm.Pid)
            .Select(v => new VmReport(v.Vm.Name, v.Vm.Pid, v.Vm.Source, Evaluate(v, views).ToList()))
            .ToList();
        return new VmAuditReport(host.Kernel.Hostname, reports);
    }

    public static IEnumerable<Finding> Evaluate(VmView v, IReadOnlyList<VmView> all) =>
        [.. VmCpuRules.Evaluate(v, all), .. VmMemoryRules.Evaluate(v), .. VmDeviceRules.Evaluate(v)];
}

internal static class VmViewDevices
{
    /// <summary>Whether libvirt's live XML names a device by this alias.</summary>
    public static bool IsLibvirtDevice(this VmView v, string id) => v.Vm.Libvirt?.Devices.ContainsKey(id) == true;
}
