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

/// <summary>
/// Everything kvmtune knows about one machine; rules and planners only look at this. Each subsystem is read on first
/// use and then kept: a command pays only for what it looks at (vm plan never reads the idle states of 3,072 CPUs),
/// and every value is read once.
/// </summary>
public sealed class HostFacts
{
    private readonly Lazy<NumaFacts> _numa;
    private readonly Lazy<CpuFacts> _cpu;
    private readonly Lazy<MemoryFacts> _memory;
    private readonly Lazy<PowerFacts> _power;
    private readonly Lazy<KernelFacts> _kernel;
    private readonly Lazy<VirtualizationFacts> _virtualization;
    private readonly Lazy<IReadOnlyList<PciDevice>> _pci;
    private readonly Lazy<IReadOnlyList<IrqFacts>> _irqs;
    private readonly Lazy<IReadOnlyList<BlockDevice>> _block;
    private readonly Lazy<IReadOnlyList<NetInterface>> _net;
    private readonly Lazy<NvdimmFacts> _nvdimm;
    private readonly Lazy<UserspaceFacts> _userspace;

    private HostFacts(HostReader reader)
    {
        Root = reader.Root;
        _numa = new(() => NumaReader.Read(reader));
        _cpu = new(() =>
        {
            var nodeOfCpu = new Dictionary<int, int>();
            // By index: an enumerator's four interface calls, resolved at every start, for a loop (BENCHMARKS.md).
            var nodes = Numa.Nodes;
            for (var n = 0; n < nodes.Count; n++)
            {
                var cpus = nodes[n].Cpus;
                for (var c = 0; c < cpus.Count; c++)
                    nodeOfCpu.TryAdd(cpus[c], nodes[n].Id);
            }
            return CpuReader.Read(reader, nodeOfCpu);
        });
        _memory = new(() => MemoryReader.Read(reader));
        _power = new(() => PowerReader.Read(reader, Cpu));
        _kernel = new(() => KernelReader.Read(reader));
        _virtualization = new(() => VirtualizationReader.Read(reader, Cpu));
        _pci = new(() => DeviceReader.ReadPci(reader).Select(p => WithLocality(p, Numa)).ToList());
        _irqs = new(() => DeviceReader.ReadIrqs(reader));
        _block = new(() => DeviceReader.ReadBlock(reader, Pci));
        _net = new(() => DeviceReader.ReadNet(reader, Pci));
        _nvdimm = new(() => DeviceReader.ReadNvdimm(reader));
        _userspace = new(() => UserspaceReader.Read(reader));
    }

    public string Root { get; }
    public CpuFacts Cpu => _cpu.Value;
    public NumaFacts Numa => _numa.Value;
    public MemoryFacts Memory => _memory.Value;
    public PowerFacts Power => _power.Value;
    public KernelFacts Kernel => _kernel.Value;
    public VirtualizationFacts Virtualization => _virtualization.Value;
    public IReadOnlyList<PciDevice> Pci => _pci.Value;
    public IReadOnlyList<IrqFacts> Irqs => _irqs.Value;
    public IReadOnlyList<BlockDevice> Block => _block.Value;
    public IReadOnlyList<NetInterface> Net => _net.Value;
    public NvdimmFacts Nvdimm => _nvdimm.Value;
    public UserspaceFacts Userspace => _userspace.Value;

    /// <summary>The machine behind one reader; each subsystem is read when first asked for.</summary>
    public static HostFacts Read(HostReader reader) => new(reader);

    /// <summary>Every subsystem read now, in the order their dependencies need (a snapshot holds all of
    /// them).</summary>
    public static HostFacts ReadAll(HostReader reader)
    {
        var facts = new HostFacts(reader);
        _ = facts.Numa;
        foreach (var cpu in facts.Cpu.Cpus)
            _ = cpu.Governor;
        _ = facts.Pci;
        _ = facts.Memory;
        _ = facts.Power;
        _ = facts.Kernel;
        _ = facts.Virtualization;
        // One name asked reads /proc/interrupts for all.
        _ = facts.Irqs.Count > 0 ? facts.Irqs[0].Name : null;
        _ = facts.Block;
        _ = facts.Net;
        _ = facts.Nvdimm;
        _ = facts.Userspace;
        return facts;
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
