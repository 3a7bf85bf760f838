using System.Text;
using System.Text.Json;
using Kvmtune.Facts;
using Kvmtune.Facts.Parsing;
using Kvmtune.Vms;

namespace Kvmtune.Reports.Vm;

/// <summary>The command lines of <c>vm qemu</c>: each placed VM's, and the command that must run before them (QEMU
/// creates the QMP socket but not its folder).</summary>
public sealed record QemuReport(IReadOnlyList<QemuVm> Vms, IReadOnlyList<string> Setup);

public sealed record QemuVm(string Name, PlannedVm Plan, QemuCommand Command)
{
    /// <summary>This command line starts QEMU unpinned: where the threads go, and how to put them there.</summary>
    public IEnumerable<string> PinningNotes()
    {
        yield return "pinning: QEMU starts unpinned; 'kvmtune vm run' pins each thread. By hand, once QEMU runs: "
            + "QMP query-cpus-fast gives each vCPU's thread-id, then taskset -pc CPUS TID:";
        foreach (var p in Plan.VcpuPins)
            yield return $"  vCPU {p.Vcpu}: taskset -pc {CpuList.Format(p.Cpus)} TID";
        yield return $"  every other QEMU thread (emulator, I/O): taskset -pc {CpuList.Format(Plan.EmulatorCpus)} TID";
    }
}

/// <summary>A shell command per VM, its notes as comments before it.</summary>
public sealed class QemuTextRenderer : IReportRenderer<QemuReport>
{
    public string Name => "text";

    public string Description => "a shell command per VM";

    public string Render(QemuReport report, RenderContext context)
    {
        var sb = new StringBuilder();
        foreach (var vm in report.Vms)
        {
            sb.Append("# ").AppendLine(vm.Name);
            foreach (var n in vm.Command.Notes)
                sb.Append("# note: ").AppendLine(n);
            foreach (var n in vm.PinningNotes())
                sb.Append("# ").AppendLine(n);
            sb.Append(string.Join(' ', report.Setup.Select(QemuCommand.Quote))).Append(" && \\\n");
            sb.Append(vm.Command.ToShell());
        }
        return sb.ToString();
    }
}

/// <summary>One VM's argument vector, environment, notes and setup commands, for a program to run.</summary>
public sealed class QemuJsonRenderer : IReportRenderer<QemuReport>
{
    public string Name => "json";

    public string Description => "one VM's argv, env and notes; pick it with --name";

    public string Render(QemuReport report, RenderContext context)
    {
        if (report.Vms.Count != 1)
            throw new InputException(null, null, null, "--format json prints one VM: pick it with --name");
        var vm = report.Vms[0];
        return JsonSerializer.Serialize(
                new QemuJson(
                    vm.Name,
                    vm.Command.Argv,
                    vm.Command.Env,
                    [.. vm.Command.Notes, .. vm.PinningNotes()],
                    [report.Setup]
                ),
                VmJsonContext.Default.QemuJson
            ) + "\n";
    }
}

/// <summary>The formats of <c>kvmtune vm qemu</c>, text first.</summary>
public static class QemuFormats
{
    public static readonly ReportFormats<QemuReport> All = new(new QemuTextRenderer(), new QemuJsonRenderer());
}
