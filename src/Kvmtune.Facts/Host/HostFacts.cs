using Kvmtune.Facts.Host.Cpu;
using Kvmtune.Facts.Host.Devices;
using Kvmtune.Facts.Host.Kernel;
using Kvmtune.Facts.Host.Memory;
using Kvmtune.Facts.Host.Numa;
using Kvmtune.Facts.Host.Power;
using Kvmtune.Facts.Host.Userspace;
using Kvmtune.Facts.Host.Virtualization;
using Kvmtune.Facts.IO;

namespace Kvmtune.Facts.Host;

/// <summary>Everything kvmtune knows about one machine, read once; rules and planners only look at this.</summary>
public sealed record HostFacts(
    string Root,
    CpuFacts Cpu,
    NumaFacts Numa,
    MemoryFacts Memory,
    PowerFacts Power,
    KernelFacts Kernel,
    VirtualizationFacts Virtualization,
    IReadOnlyList<PciDevice> Pci,
    IReadOnlyList<IrqFacts> Irqs,
    IReadOnlyList<BlockDevice> Block,
    IReadOnlyList<NetInterface> Net,
    NvdimmFacts Nvdimm,
    UserspaceFacts Userspace
)
{
    /// <summary>Reads every subsystem through one reader, in the order their dependencies need.</summary>
    public static HostFacts Read(HostReader reader)
    {
        var numa = NumaReader.Read(reader);
        var nodeOfCpu = new Dictionary<int, int>();
        foreach (var node in numa.Nodes)
            foreach (var cpu in node.Cpus)
                nodeOfCpu.TryAdd(cpu, node.Id);
        var cpuFacts = CpuReader.Read(reader, nodeOfCpu);
        var pci = DeviceReader.ReadPci(reader).Select(p => WithLocality(p, numa)).ToList();
        return new HostFacts(
            reader.Root,
            cpuFacts,
            numa,
            MemoryReader.Read(reader),
            PowerReader.Read(reader, cpuFacts),
            KernelReader.Read(reader),
            VirtualizationReader.Read(reader, cpuFacts),
            pci,
            DeviceReader.ReadIrqs(reader),
            DeviceReader.ReadBlock(reader, pci),
            DeviceReader.ReadNet(reader, pci),
            DeviceReader.ReadNvdimm(reader),
            UserspaceReader.Read(reader)
        );
    }

    /// <summary>A device with numa_node -1 whose local CPUs all sit in one node belongs to that node.</summary>
    private static PciDevice WithLocality(PciDevice p, NumaFacts numa)
    {
        if (p.NumaNode is not null || p.LocalCpus is not { Count: > 0 } local || numa.Synthesized)
            return p;
        var holders = numa.Nodes.Where(n => n.Cpus.Count > 0 && local.All(n.Cpus.Contains)).ToList();
        return holders.Count == 1 ? p with { LocalityNode = holders[0].Id } : p;
    }
}
