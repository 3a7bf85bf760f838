using System.Text.Json;
using Kvmtune.Facts.Host.Cpu;
using Kvmtune.Facts.Host.Devices;
using Kvmtune.Facts.Host.Kernel;
using Kvmtune.Facts.Host.Memory;
using Kvmtune.Facts.Host.Numa;
using Kvmtune.Facts.Host.Power;
using Kvmtune.Facts.Host.Userspace;
using Kvmtune.Facts.Host.Virtualization;

namespace Kvmtune.Reports.Inspect;

/// <summary>
/// The <c>kvmtune.inspect/v1</c> document written field by field. System.Text.Json's generated code builds type
/// metadata on first use even in its serialization-only mode (the options, the root type, every nullable number and
/// enum: a sixth of a short inspect run); this writes the same bytes with none of it. Every property is written,
/// null ones as null, in declaration order, with snake_case names, as the serializer would:
/// <c>InspectJsonWriterTests</c> holds it to System.Text.Json's own output for every fixture.
/// </summary>
public static class InspectJsonWriter
{
    public static void Write(Utf8JsonWriter w, InspectDocument d)
    {
        w.WriteStartObject();
        w.WriteString("schema"u8, d.Schema);
        w.WriteString("role"u8, d.Role);
        JsonText.Strings(w, "role_evidence"u8, d.RoleEvidence);
        w.WritePropertyName("cpu"u8);
        Cpu(w, d.Cpu);
        w.WritePropertyName("numa"u8);
        Numa(w, d.Numa);
        w.WritePropertyName("memory"u8);
        Memory(w, d.Memory);
        w.WritePropertyName("power"u8);
        Power(w, d.Power);
        w.WritePropertyName("kernel"u8);
        Kernel(w, d.Kernel);
        w.WritePropertyName("virtualization"u8);
        Virtualization(w, d.Virtualization);
        List(w, "pci"u8, d.Pci, Pci);
        List(w, "irqs"u8, d.Irqs, Irq);
        List(w, "block"u8, d.Block, Block);
        List(w, "net"u8, d.Net, Net);
        w.WritePropertyName("nvdimm"u8);
        Nvdimm(w, d.Nvdimm);
        w.WritePropertyName("userspace"u8);
        Userspace(w, d.Userspace);
        w.WriteEndObject();
    }

    private static void Cpu(Utf8JsonWriter w, CpuFacts? c)
    {
        if (Null(w, c))
            return;
        w.WriteStartObject();
        w.WriteString("architecture"u8, c.Architecture);
        w.WriteString("vendor"u8, c.Vendor);
        w.WriteString("model"u8, c.Model);
        Number(w, "family"u8, c.Family);
        Number(w, "model_number"u8, c.ModelNumber);
        JsonText.Strings(w, "flags"u8, c.Flags);
        w.WriteString("virtualization"u8, c.Virtualization);
        Number(w, "packages"u8, c.Packages);
        Number(w, "dies"u8, c.Dies);
        Number(w, "cores"u8, c.Cores);
        Number(w, "threads"u8, c.Threads);
        Numbers(w, "online"u8, c.Online);
        Numbers(w, "offline"u8, c.Offline);
        Numbers(w, "present"u8, c.Present);
        Numbers(w, "possible"u8, c.Possible);
        Boolean(w, "smt_active"u8, c.SmtActive);
        w.WriteString("smt_control"u8, c.SmtControl);
        List(w, "cpus"u8, c.Cpus, LogicalCpu);
        w.WriteBoolean("is_x86"u8, c.IsX86);
        w.WriteEndObject();
    }

    private static void LogicalCpu(Utf8JsonWriter w, LogicalCpu c)
    {
        w.WriteStartObject();
        w.WriteNumber("id"u8, c.Id);
        w.WriteBoolean("online"u8, c.Online);
        Number(w, "package"u8, c.Package);
        Number(w, "die"u8, c.Die);
        Number(w, "core"u8, c.Core);
        Numbers(w, "thread_siblings"u8, c.ThreadSiblings);
        Number(w, "node"u8, c.Node);
        w.WriteString("cpufreq_driver"u8, c.CpufreqDriver);
        w.WriteString("governor"u8, c.Governor);
        JsonText.Strings(w, "available_governors"u8, c.AvailableGovernors);
        Number(w, "min_khz"u8, c.MinKhz);
        Number(w, "max_khz"u8, c.MaxKhz);
        w.WriteString("energy_performance_preference"u8, c.EnergyPerformancePreference);
        Number(w, "energy_perf_bias"u8, c.EnergyPerfBias);
        w.WriteEndObject();
    }

    private static void Numa(Utf8JsonWriter w, NumaFacts? n)
    {
        if (Null(w, n))
            return;
        w.WriteStartObject();
        List(w, "nodes"u8, n.Nodes, NumaNode);
        Number(w, "numa_balancing"u8, n.NumaBalancing);
        w.WriteBoolean("synthesized"u8, n.Synthesized);
        w.WriteEndObject();
    }

    private static void NumaNode(Utf8JsonWriter w, NumaNode n)
    {
        w.WriteStartObject();
        w.WriteNumber("id"u8, n.Id);
        Numbers(w, "cpus"u8, n.Cpus);
        Number(w, "memory_total_kib"u8, n.MemoryTotalKib);
        Number(w, "memory_free_kib"u8, n.MemoryFreeKib);
        Numbers(w, "distances"u8, n.Distances);
        List(w, "hugepages"u8, n.Hugepages, HugePagePool);
        w.WriteEndObject();
    }

    private static void HugePagePool(Utf8JsonWriter w, HugePagePool p)
    {
        w.WriteStartObject();
        w.WriteNumber("size_kib"u8, p.SizeKib);
        Number(w, "total"u8, p.Total);
        Number(w, "free"u8, p.Free);
        Number(w, "surplus"u8, p.Surplus);
        w.WriteEndObject();
    }

    private static void Memory(Utf8JsonWriter w, MemoryFacts? m)
    {
        if (Null(w, m))
            return;
        w.WriteStartObject();
        Number(w, "mem_total_kib"u8, m.MemTotalKib);
        Number(w, "mem_free_kib"u8, m.MemFreeKib);
        Number(w, "default_hugepage_kib"u8, m.DefaultHugepageKib);
        List(w, "hugepage_pools"u8, m.HugepagePools, HugePagePool);
        List(w, "hugetlbfs_mounts"u8, m.HugetlbfsMounts, HugetlbfsMount);
        w.WritePropertyName("thp"u8);
        if (!Null(w, m.Thp))
        {
            w.WriteStartObject();
            w.WriteString("enabled"u8, m.Thp.Enabled);
            JsonText.Strings(w, "enabled_options"u8, m.Thp.EnabledOptions);
            w.WriteString("defrag"u8, m.Thp.Defrag);
            JsonText.Strings(w, "defrag_options"u8, m.Thp.DefragOptions);
            w.WriteEndObject();
        }
        w.WritePropertyName("ksm"u8);
        Ksm(w, m.Ksm);
        Number(w, "mem_available_kib"u8, m.MemAvailableKib);
        w.WriteEndObject();
    }

    private static void HugetlbfsMount(Utf8JsonWriter w, HugetlbfsMount m)
    {
        w.WriteStartObject();
        w.WriteString("path"u8, m.Path);
        Number(w, "page_size_kib"u8, m.PageSizeKib);
        w.WriteString("options"u8, m.Options);
        w.WriteEndObject();
    }

    private static void Ksm(Utf8JsonWriter w, KsmFacts? k)
    {
        if (Null(w, k))
            return;
        w.WriteStartObject();
        Number(w, "run"u8, k.Run);
        Number(w, "pages_to_scan"u8, k.PagesToScan);
        Number(w, "sleep_millisecs"u8, k.SleepMillisecs);
        Number(w, "max_page_sharing"u8, k.MaxPageSharing);
        Number(w, "merge_across_nodes"u8, k.MergeAcrossNodes);
        Number(w, "pages_shared"u8, k.PagesShared);
        Number(w, "pages_sharing"u8, k.PagesSharing);
        Number(w, "full_scans"u8, k.FullScans);
        w.WriteEndObject();
    }

    private static void Power(Utf8JsonWriter w, PowerFacts? p)
    {
        if (Null(w, p))
            return;
        w.WriteStartObject();
        w.WriteString("intel_pstate_status"u8, p.IntelPstateStatus);
        Boolean(w, "no_turbo"u8, p.NoTurbo);
        Boolean(w, "boost"u8, p.Boost);
        Boolean(w, "hwp_dynamic_boost"u8, p.HwpDynamicBoost);
        Number(w, "max_perf_pct"u8, p.MaxPerfPct);
        Number(w, "min_perf_pct"u8, p.MinPerfPct);
        w.WriteString("cpuidle_driver"u8, p.CpuidleDriver);
        w.WriteString("cpuidle_governor"u8, p.CpuidleGovernor);
        List(w, "idle_states"u8, p.IdleStates, IdleState);
        w.WriteEndObject();
    }

    private static void IdleState(Utf8JsonWriter w, IdleState s)
    {
        w.WriteStartObject();
        w.WriteNumber("index"u8, s.Index);
        w.WriteString("name"u8, s.Name);
        w.WriteString("description"u8, s.Description);
        Number(w, "latency_us"u8, s.LatencyUs);
        Number(w, "residency_us"u8, s.ResidencyUs);
        Numbers(w, "disabled_on"u8, s.DisabledOn);
        Numbers(w, "enabled_on"u8, s.EnabledOn);
        w.WriteEndObject();
    }

    private static void Kernel(Utf8JsonWriter w, KernelDocument? k)
    {
        if (Null(w, k))
            return;
        w.WriteStartObject();
        w.WriteString("release"u8, k.Release);
        w.WriteString("version"u8, k.Version);
        w.WritePropertyName("command_line"u8);
        if (!Null(w, k.CommandLine))
        {
            w.WriteStartObject();
            w.WriteString("raw"u8, k.CommandLine.Raw);
            List(w, "arguments"u8, k.CommandLine.Arguments, KernelArgument);
            JsonText.Strings(w, "init_arguments"u8, k.CommandLine.InitArguments);
            w.WriteEndObject();
        }
        w.WritePropertyName("config"u8);
        if (!Null(w, k.Config))
        {
            w.WriteStartObject();
            w.WriteString("source"u8, k.Config.Source);
            w.WritePropertyName("options"u8);
            Map(w, k.Config.Options);
            w.WriteEndObject();
        }
        JsonText.Strings(w, "loaded_modules"u8, k.LoadedModules);
        w.WritePropertyName("module_parameters"u8);
        if (!Null(w, k.ModuleParameters))
        {
            w.WriteStartObject();
            foreach (var (module, parameters) in k.ModuleParameters)
            {
                w.WritePropertyName(module);
                Map(w, parameters);
            }
            w.WriteEndObject();
        }
        Number(w, "io_uring_disabled"u8, k.IoUringDisabled);
        Number(w, "memlock_limit_kib"u8, k.MemlockLimitKib);
        w.WriteString("hostname"u8, k.Hostname);
        w.WriteEndObject();
    }

    private static void KernelArgument(Utf8JsonWriter w, KernelArgument a)
    {
        w.WriteStartObject();
        w.WriteString("key"u8, a.Key);
        w.WriteString("value"u8, a.Value);
        w.WriteEndObject();
    }

    private static void Virtualization(Utf8JsonWriter w, VirtualizationFacts? v)
    {
        if (Null(w, v))
            return;
        w.WriteStartObject();
        w.WriteString("role"u8, InspectDocument.RoleName(v.Role));
        JsonText.Strings(w, "role_evidence"u8, v.RoleEvidence);
        w.WriteString("hypervisor"u8, v.Hypervisor);
        w.WritePropertyName("dmi"u8);
        if (!Null(w, v.Dmi))
        {
            w.WriteStartObject();
            w.WriteString("sys_vendor"u8, v.Dmi.SysVendor);
            w.WriteString("product_name"u8, v.Dmi.ProductName);
            w.WriteString("bios_vendor"u8, v.Dmi.BiosVendor);
            w.WriteString("board_vendor"u8, v.Dmi.BoardVendor);
            w.WriteEndObject();
        }
        DeviceNode(w, "kvm"u8, v.Kvm);
        DeviceNode(w, "vhost_net"u8, v.VhostNet);
        DeviceNode(w, "tun"u8, v.Tun);
        DeviceNode(w, "vfio"u8, v.Vfio);
        w.WritePropertyName("iommu"u8);
        if (!Null(w, v.Iommu))
        {
            w.WriteStartObject();
            Boolean(w, "dmar_table"u8, v.Iommu.DmarTable);
            Boolean(w, "ivrs_table"u8, v.Iommu.IvrsTable);
            Number(w, "groups"u8, v.Iommu.Groups);
            JsonText.Strings(w, "units"u8, v.Iommu.Units);
            w.WriteEndObject();
        }
        JsonText.Strings(w, "cgroup_controllers"u8, v.CgroupControllers);
        w.WriteString("cgroup_version"u8, v.CgroupVersion);
        w.WriteEndObject();
    }

    private static void DeviceNode(Utf8JsonWriter w, ReadOnlySpan<byte> name, DeviceNode? d)
    {
        w.WritePropertyName(name);
        if (Null(w, d))
            return;
        w.WriteStartObject();
        w.WriteString("path"u8, d.Path);
        w.WriteBoolean("exists"u8, d.Exists);
        w.WriteString("mode"u8, d.Mode);
        w.WriteBoolean("folder_present"u8, d.FolderPresent);
        Boolean(w, "present"u8, d.Present);
        w.WriteEndObject();
    }

    private static void Pci(Utf8JsonWriter w, PciDevice p)
    {
        w.WriteStartObject();
        w.WriteString("address"u8, p.Address);
        w.WriteString("class"u8, p.Class);
        w.WriteString("vendor"u8, p.Vendor);
        w.WriteString("device"u8, p.Device);
        Number(w, "numa_node"u8, p.NumaNode);
        Numbers(w, "local_cpus"u8, p.LocalCpus);
        w.WriteString("driver"u8, p.Driver);
        w.WriteString("driver_override"u8, p.DriverOverride);
        Number(w, "iommu_group"u8, p.IommuGroup);
        Number(w, "sriov_totalvfs"u8, p.SriovTotalvfs);
        Number(w, "sriov_numvfs"u8, p.SriovNumvfs);
        w.WriteString("physfn"u8, p.Physfn);
        JsonText.Strings(w, "virtfns"u8, p.Virtfns);
        Numbers(w, "msi_irqs"u8, p.MsiIrqs);
        Number(w, "base_class"u8, p.BaseClass);
        Number(w, "sub_class"u8, p.SubClass);
        w.WriteString("category"u8, p.Category);
        Number(w, "locality_node"u8, p.LocalityNode);
        Number(w, "placement_node"u8, p.PlacementNode);
        w.WriteEndObject();
    }

    private static void Irq(Utf8JsonWriter w, IrqFacts i)
    {
        w.WriteStartObject();
        w.WriteNumber("irq"u8, i.Irq);
        w.WriteString("name"u8, i.Name);
        Numbers(w, "affinity"u8, i.Affinity);
        Numbers(w, "effective"u8, i.Effective);
        Number(w, "node"u8, i.Node);
        Boolean(w, "managed"u8, i.Managed);
        w.WriteEndObject();
    }

    private static void Block(Utf8JsonWriter w, BlockDevice b)
    {
        w.WriteStartObject();
        w.WriteString("name"u8, b.Name);
        w.WriteString("pci"u8, b.Pci);
        Number(w, "numa_node"u8, b.NumaNode);
        Number(w, "hardware_queues"u8, b.HardwareQueues);
        Number(w, "rq_affinity"u8, b.RqAffinity);
        w.WriteString("scheduler"u8, b.Scheduler);
        Boolean(w, "rotational"u8, b.Rotational);
        w.WriteString("driver"u8, b.Driver);
        w.WriteEndObject();
    }

    private static void Net(Utf8JsonWriter w, NetInterface n)
    {
        w.WriteStartObject();
        w.WriteString("name"u8, n.Name);
        w.WriteString("pci"u8, n.Pci);
        w.WriteBoolean("virtual"u8, n.Virtual);
        Number(w, "numa_node"u8, n.NumaNode);
        Number(w, "rx_queues"u8, n.RxQueues);
        Number(w, "tx_queues"u8, n.TxQueues);
        w.WriteString("driver"u8, n.Driver);
        w.WriteString("oper_state"u8, n.OperState);
        w.WriteString("mac"u8, n.Mac);
        w.WriteEndObject();
    }

    private static void Nvdimm(Utf8JsonWriter w, NvdimmFacts? n)
    {
        if (Null(w, n))
            return;
        w.WriteStartObject();
        List(w, "regions"u8, n.Regions, NvdimmRegion);
        List(w, "namespaces"u8, n.Namespaces, NvdimmNamespace);
        List(w, "dax"u8, n.Dax, DaxDevice);
        w.WriteEndObject();
    }

    private static void NvdimmRegion(Utf8JsonWriter w, NvdimmRegion r)
    {
        w.WriteStartObject();
        w.WriteString("name"u8, r.Name);
        Number(w, "size_bytes"u8, r.SizeBytes);
        Number(w, "numa_node"u8, r.NumaNode);
        w.WriteString("devtype"u8, r.Devtype);
        Number(w, "available_size_bytes"u8, r.AvailableSizeBytes);
        w.WriteEndObject();
    }

    private static void NvdimmNamespace(Utf8JsonWriter w, NvdimmNamespace n)
    {
        w.WriteStartObject();
        w.WriteString("name"u8, n.Name);
        w.WriteString("region"u8, n.Region);
        w.WriteString("devtype"u8, n.Devtype);
        w.WriteString("mode"u8, n.Mode);
        Number(w, "size_bytes"u8, n.SizeBytes);
        Number(w, "align_bytes"u8, n.AlignBytes);
        Number(w, "numa_node"u8, n.NumaNode);
        w.WriteString("driver"u8, n.Driver);
        w.WriteEndObject();
    }

    private static void DaxDevice(Utf8JsonWriter w, DaxDevice d)
    {
        w.WriteStartObject();
        w.WriteString("name"u8, d.Name);
        w.WriteString("device_path"u8, d.DevicePath);
        w.WriteString("region"u8, d.Region);
        Number(w, "size_bytes"u8, d.SizeBytes);
        Number(w, "align_bytes"u8, d.AlignBytes);
        Number(w, "numa_node"u8, d.NumaNode);
        Number(w, "target_node"u8, d.TargetNode);
        w.WriteString("driver"u8, d.Driver);
        w.WriteEndObject();
    }

    private static void Userspace(Utf8JsonWriter w, UserspaceFacts? u)
    {
        if (Null(w, u))
            return;
        w.WriteStartObject();
        w.WritePropertyName("tools"u8);
        Map(w, u.Tools);
        w.WriteString("qemu_path"u8, u.QemuPath);
        w.WriteString("qemu_package_version"u8, u.QemuPackageVersion);
        // System.Text.Json writes a Version as its ToString() text.
        w.WriteString("qemu_version"u8, u.QemuVersion?.ToString());
        List(w, "processes"u8, u.Processes, RunningProcess);
        Numbers(w, "irqbalance_banned_cpus"u8, u.IrqbalanceBannedCpus);
        w.WriteString("irqbalance_config"u8, u.IrqbalanceConfig);
        Number(w, "effective_uid"u8, u.EffectiveUid);
        List(w, "qemu_command_lines"u8, u.QemuCommandLines, QemuProcess);
        w.WriteBoolean("program_folders_present"u8, u.ProgramFoldersPresent);
        w.WriteString("irqbalance_version"u8, u.IrqbalanceVersion?.ToString());
        List(w, "qemu_processes"u8, u.QemuProcesses, RunningProcess);
        w.WriteEndObject();
    }

    private static void RunningProcess(Utf8JsonWriter w, RunningProcess p)
    {
        w.WriteStartObject();
        w.WriteNumber("pid"u8, p.Pid);
        w.WriteString("comm"u8, p.Comm);
        w.WriteEndObject();
    }

    private static void QemuProcess(Utf8JsonWriter w, QemuProcess p)
    {
        w.WriteStartObject();
        w.WriteNumber("pid"u8, p.Pid);
        JsonText.Strings(w, "arguments"u8, p.Arguments);
        w.WriteNumber("vcpus"u8, p.Vcpus);
        w.WriteEndObject();
    }

    /// <summary>Writes null for a missing object and says so.</summary>
    private static bool Null<T>(Utf8JsonWriter w, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] T? value)
        where T : class
    {
        if (value is not null)
            return false;
        w.WriteNullValue();
        return true;
    }

    private static void Number(Utf8JsonWriter w, ReadOnlySpan<byte> name, int? value)
    {
        if (value is { } v)
            w.WriteNumber(name, v);
        else
            w.WriteNull(name);
    }

    private static void Number(Utf8JsonWriter w, ReadOnlySpan<byte> name, long? value)
    {
        if (value is { } v)
            w.WriteNumber(name, v);
        else
            w.WriteNull(name);
    }

    private static void Boolean(Utf8JsonWriter w, ReadOnlySpan<byte> name, bool? value)
    {
        if (value is { } v)
            w.WriteBoolean(name, v);
        else
            w.WriteNull(name);
    }

    private static void Numbers(Utf8JsonWriter w, ReadOnlySpan<byte> name, IReadOnlyList<int>? values)
    {
        w.WritePropertyName(name);
        if (Null(w, values))
            return;
        w.WriteStartArray();
        for (var i = 0; i < values.Count; i++)
            w.WriteNumberValue(values[i]);
        w.WriteEndArray();
    }

    private static void List<T>(
        Utf8JsonWriter w,
        ReadOnlySpan<byte> name,
        IReadOnlyList<T>? items,
        Action<Utf8JsonWriter, T> write
    )
        where T : class
    {
        w.WritePropertyName(name);
        if (Null(w, items))
            return;
        w.WriteStartArray();
        // By index rather than foreach: this method's code is shared by every element type, and each interface call
        // in it is resolved again for each type it meets, at every start; an enumerator makes four such calls, an
        // index two (BENCHMARKS.md).
        for (var i = 0; i < items.Count; i++)
        {
            var item = items[i];
            if (!Null(w, item))
                write(w, item);
        }
        w.WriteEndArray();
    }

    /// <summary>A map of text to text (null or not, as the facts record declares it).</summary>
    private static void Map<TText>(Utf8JsonWriter w, IReadOnlyDictionary<string, TText>? map)
        where TText : class?
    {
        if (Null(w, map))
            return;
        w.WriteStartObject();
        foreach (var (key, value) in map)
            w.WriteString(key, value as string);
        w.WriteEndObject();
    }

}
