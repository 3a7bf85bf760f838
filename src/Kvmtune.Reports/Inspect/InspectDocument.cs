using Kvmtune.Facts.Host;
using Kvmtune.Facts.Host.Cpu;
using Kvmtune.Facts.Host.Devices;
using Kvmtune.Facts.Host.Kernel;
using Kvmtune.Facts.Host.Memory;
using Kvmtune.Facts.Host.Numa;
using Kvmtune.Facts.Host.Power;
using Kvmtune.Facts.Host.Userspace;
using Kvmtune.Facts.Host.Virtualization;

namespace Kvmtune.Reports.Inspect;

/// <summary>The <c>kvmtune.inspect/v1</c> document: the contract's fields first, then everything else kvmtune
/// read.</summary>
public sealed record InspectDocument(
    string Schema,
    string Role,
    IReadOnlyList<string> RoleEvidence,
    CpuFacts Cpu,
    NumaFacts Numa,
    MemoryFacts Memory,
    PowerFacts Power,
    KernelDocument Kernel,
    VirtualizationFacts Virtualization,
    IReadOnlyList<PciDevice> Pci,
    IReadOnlyList<IrqFacts> Irqs,
    IReadOnlyList<BlockDevice> Block,
    IReadOnlyList<NetInterface> Net,
    NvdimmFacts Nvdimm,
    UserspaceFacts Userspace
)
{
    public const string SchemaName = "kvmtune.inspect/v1";

    public static InspectDocument From(HostFacts f) =>
        new(
            SchemaName,
            RoleName(f.Virtualization.Role),
            f.Virtualization.RoleEvidence,
            f.Cpu,
            f.Numa,
            f.Memory,
            f.Power,
            new KernelDocument(
                f.Kernel.Release,
                f.Kernel.Version,
                f.Kernel.CommandLine,
                f.Kernel.Config is null
                    ? null
                    : new KernelConfigDocument(f.Kernel.Config.Source, f.Kernel.Config.Relevant),
                f.Kernel.LoadedModules,
                f.Kernel.ModuleParameters,
                f.Kernel.IoUringDisabled,
                f.Kernel.MemlockLimitKib,
                f.Kernel.Hostname
            ),
            f.Virtualization,
            f.Pci,
            f.Irqs,
            f.Block,
            f.Net,
            f.Nvdimm,
            f.Userspace
        );

    public static string RoleName(MachineRole role) =>
        role switch
        {
            MachineRole.Host => "host",
            MachineRole.Guest => "guest",
            _ => "unknown",
        };
}

public sealed record KernelDocument(
    string? Release,
    string? Version,
    KernelCommandLine? CommandLine,
    KernelConfigDocument? Config,
    IReadOnlyList<string>? LoadedModules,
    IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> ModuleParameters,
    int? IoUringDisabled,
    long? MemlockLimitKib,
    string? Hostname
);

public sealed record KernelConfigDocument(string Source, IReadOnlyDictionary<string, string?> Options);

/// <summary>Writes the inspect document.</summary>
public sealed class InspectJson : IReportRenderer<HostFacts>
{
    public string Name => "json";

    public string Description => "the kvmtune.inspect/v1 document";

    public string Render(HostFacts report, RenderContext context) => Serialize(report) + "\n";

    public static string Serialize(HostFacts facts) =>
        JsonText.Write(w => InspectJsonWriter.Write(w, InspectDocument.From(facts)));

    /// <summary>Straight to the output as UTF-8: no string of the document, no second encoding.</summary>
    public void Write(HostFacts report, RenderContext context, Stream utf8)
    {
        var document = InspectDocument.From(report);
        JsonText.WriteLine(utf8, w => InspectJsonWriter.Write(w, document));
    }
}
