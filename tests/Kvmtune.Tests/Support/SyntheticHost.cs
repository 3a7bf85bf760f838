using System.Text;

namespace Kvmtune.Tests.Support;

/// <summary>
/// A small but complete Intel KVM host laid out as sysfs and procfs would be: 2 nodes, 2 cores each with 2
/// threads, cpufreq, intel_idle with C1E and C6, KVM modules, huge page pools, a NIC on node 1 with MSI
/// IRQs, a QAT card, the ACPI DMAR table, cgroups and QEMU from a Debian package. Each test changes only
/// the knob it is about.
/// </summary>
public sealed class SyntheticHost : IDisposable
{
    public const string Release = "6.1.0-18-amd64";
    public const string Nic = "0000:31:00.0";
    public const string Qat = "0000:6b:00.0";
    public static readonly int[] NicIrqs = [120, 121, 122];

    private readonly TestTree _tree = new();

    public SyntheticHost(bool guest = false)
    {
        var t = _tree;
        // CPUs 0-3 on node 0, 4-7 on node 1; siblings (0,2) (1,3) (4,6) (5,7)
        int[][] cores =
        [
            [0, 2],
            [1, 3],
            [4, 6],
            [5, 7],
        ];
        var cpuinfo = new StringBuilder();
        var flags =
            "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ht " +
                "syscall nx pdpe1gb rdtscp lm constant_tsc "
            + (guest ? "hypervisor " : "vmx ")
            + "hwp hwp_epp avx2";
        for (var cpu = 0; cpu < 8; cpu++)
        {
            var core = Array.FindIndex(cores, c => c.Contains(cpu));
            var d = $"/sys/devices/system/cpu/cpu{cpu}";
            t.File($"{d}/topology/physical_package_id", $"{(cpu < 4 ? 0 : 1)}\n")
                .File($"{d}/topology/die_id", "0\n")
                .File($"{d}/topology/core_id", $"{core % 2}\n")
                .File($"{d}/topology/thread_siblings_list", $"{cores[core][0]},{cores[core][1]}\n")
                // The same cpumask as hex (drivers/base/topology.c; "%*pb" of nr_cpu_ids = 8 bits: two digits).
                .File($"{d}/topology/thread_siblings", $"{(1 << cores[core][0]) | (1 << cores[core][1]):x2}\n")
                .File($"{d}/cpufreq/scaling_driver", "intel_pstate\n")
                .File($"{d}/cpufreq/scaling_governor", "powersave\n")
                .File($"{d}/cpufreq/scaling_available_governors", "performance powersave\n")
                .File($"{d}/cpufreq/energy_performance_preference", "balance_performance\n")
                .File($"{d}/power/energy_perf_bias", "6\n");
            string[] states = ["POLL", "C1", "C1E", "C6"];
            for (var s = 0; s < states.Length; s++)
                t.File($"{d}/cpuidle/state{s}/name", states[s] + "\n")
                    .File($"{d}/cpuidle/state{s}/latency", $"{s * 60}\n")
                    .File($"{d}/cpuidle/state{s}/residency", $"{s * 200}\n")
                    .File($"{d}/cpuidle/state{s}/disable", "0\n")
                    .File($"{d}/cpuidle/state{s}/desc", states[s] + "\n");
            cpuinfo
                .Append(
                    $"processor\t: {cpu}\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 106\nmodel name\t: " +
                        "Intel(R) Xeon(R) Gold 6348 CPU @ 2.60GHz\n"
                )
                .Append($"physical id\t: {(cpu < 4 ? 0 : 1)}\ncore id\t\t: {core % 2}\nflags\t\t: {flags}\n\n");
        }
        t.File("/proc/cpuinfo", cpuinfo.ToString());
        t.File("/sys/devices/system/cpu/online", "0-7\n")
            .File("/sys/devices/system/cpu/present", "0-7\n")
            .File("/sys/devices/system/cpu/possible", "0-7\n")
            .File("/sys/devices/system/cpu/smt/active", "1\n")
            .File("/sys/devices/system/cpu/smt/control", "on\n")
            .File("/sys/devices/system/cpu/intel_pstate/status", "active\n")
            .File("/sys/devices/system/cpu/intel_pstate/no_turbo", "0\n")
            .File("/sys/devices/system/cpu/cpuidle/current_driver", guest ? "haltpoll\n" : "intel_idle\n")
            .File("/sys/devices/system/cpu/cpuidle/current_governor", "menu\n");
        for (var n = 0; n < 2; n++)
        {
            var d = $"/sys/devices/system/node/node{n}";
            t.File($"{d}/cpulist", n == 0 ? "0-3\n" : "4-7\n")
                .File($"{d}/distance", n == 0 ? "10 21\n" : "21 10\n")
                .File($"{d}/meminfo", $"Node {n} MemTotal:       16777216 kB\nNode {n} MemFree:        12582912 kB\n");
            foreach (var size in new[] { 2048, 1048576 })
                t.File($"{d}/hugepages/hugepages-{size}kB/nr_hugepages", "0\n")
                    .File($"{d}/hugepages/hugepages-{size}kB/free_hugepages", "0\n")
                    .File($"{d}/hugepages/hugepages-{size}kB/surplus_hugepages", "0\n");
        }
        foreach (var size in new[] { 2048, 1048576 })
            t.File($"/sys/kernel/mm/hugepages/hugepages-{size}kB/nr_hugepages", "0\n")
                .File($"/sys/kernel/mm/hugepages/hugepages-{size}kB/free_hugepages", "0\n");
        t.File(
            "/proc/meminfo",
            "MemTotal:       33554432 kB\nMemFree:        25165824 kB\nHugepagesize:       2048 kB\n"
        );
        t.File(
            "/proc/mounts",
            "sysfs /sys sysfs rw 0 0\nproc /proc proc rw 0 0\nhugetlbfs /dev/hugepages hugetlbfs " +
                "rw,relatime,pagesize=2M 0 0\n"
        );
        t.File("/sys/kernel/mm/transparent_hugepage/enabled", "always [madvise] never\n")
            .File("/sys/kernel/mm/transparent_hugepage/defrag", "always defer defer+madvise [madvise] never\n");
        foreach (
            var (k, v) in new[]
            {
                ("run", "0"),
                ("pages_to_scan", "100"),
                ("sleep_millisecs", "20"),
                ("max_page_sharing", "256"),
                ("merge_across_nodes", "1"),
                ("pages_shared", "0"),
                ("pages_sharing", "0"),
                ("full_scans", "0"),
            }
        )
            t.File($"/sys/kernel/mm/ksm/{k}", v + "\n");
        t.File("/proc/sys/kernel/osrelease", Release + "\n")
            .File("/proc/version", $"Linux version {Release}\n")
            .File("/proc/cmdline", $"BOOT_IMAGE=/boot/vmlinuz-{Release} root=/dev/sda1 ro quiet\n")
            .File("/proc/sys/kernel/numa_balancing", "1\n")
            .File("/proc/sys/kernel/io_uring_disabled", "0\n")
            .File(
                "/proc/modules",
                "kvm_intel 409600 0 - Live 0x0\nkvm 1142784 1 kvm_intel, Live 0x0\nvhost_net 36864 0 - Live 0x0\n"
            )
            .File($"/boot/config-{Release}", string.Join("\n", Section4Config()) + "\n");
        foreach (
            var (k, v) in new[]
            {
                ("halt_poll_ns", "200000"),
                ("halt_poll_ns_grow", "2"),
                ("halt_poll_ns_shrink", "0"),
                ("halt_poll_ns_grow_start", "10000"),
            }
        )
            t.File($"/sys/module/kvm/parameters/{k}", v + "\n");
        t.File("/sys/module/kvm_intel/parameters/ple_gap", "128\n")
            .File("/sys/module/kvm_intel/parameters/ple_window", "4096\n")
            .File("/sys/module/vhost_net/parameters/experimental_zcopytx", "0\n");
        if (guest)
            t.File("/sys/module/haltpoll/parameters/guest_halt_poll_ns", "200000\n")
                .File("/sys/module/cpuidle_haltpoll/parameters/force", "N\n");
        t.File("/dev/null", "").File("/dev/kvm", "").File("/dev/vhost-net", "").File("/dev/net/tun", "");
        File.SetUnixFileMode(t.Physical("/dev/kvm"), (UnixFileMode)0b110_110_000);
        t.File("/sys/firmware/acpi/tables/DMAR", "DMAR")
            .Dir("/sys/kernel/iommu_groups/0")
            .Dir("/sys/kernel/iommu_groups/1")
            .Dir("/sys/kernel/iommu_groups/7")
            .Dir("/sys/class/iommu/dmar0");
        t.File("/sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n");
        // A NIC on node 1 with three MSI IRQs, and a QAT C62x physical function on node 0.
        AddPci(Nic, "0x020000", "0x8086", "0x1592", 1, "ice", 1);
        foreach (var irq in NicIrqs)
        {
            t.File($"/sys/devices/pci0000:30/{Nic}/msi_irqs/{irq}", "msix\n");
            t.File($"/proc/irq/{irq}/smp_affinity_list", "4-7\n")
                .File($"/proc/irq/{irq}/effective_affinity_list", "5\n")
                .File($"/proc/irq/{irq}/node", "1\n");
        }
        AddPci(Qat, "0x0b4000", "0x8086", "0x37c8", 0, "c6xx", 7);
        t.File($"/sys/devices/pci0000:30/{Qat}/sriov_totalvfs", "16\n")
            .File($"/sys/devices/pci0000:30/{Qat}/sriov_numvfs", "0\n");
        t.File("/proc/interrupts", "           CPU0       CPU1\n120:  1 2 IR-PCI-MSIX 1 edge ice-eth0-TxRx-0\n");
        t.File(
            "/var/lib/dpkg/status",
            "Package: qemu-system-x86\nStatus: install ok installed\nVersion: 1:7.2+dfsg-7+deb12u18\n\n"
        );
        t.File("/usr/bin/qemu-system-x86_64", "#!/bin/false\n");
        t.File(
                "/proc/self/limits",
                "Limit                     Soft Limit           Hard Limit           Units\nMax locked memory        " +
                    " 8388608              8388608              bytes\n"
            )
            .File("/proc/self/status", "Name:\tkvmtune\nUid:\t0\t0\t0\t0\n");
        t.File("/proc/1/comm", "systemd\n");
        t.Dir("/sys/block");
        t.Dir("/sys/class/net");
    }

    private static IEnumerable<string> Section4Config() =>
        GuideKernelConfig()
            .Concat([
                "CONFIG_KVM=m",
                "CONFIG_NO_HZ_FULL=y",
                "CONFIG_VHOST_NET=m",
                "CONFIG_KSM=y",
                "CONFIG_NUMA_BALANCING=y",
                "CONFIG_IO_URING=y",
                "CONFIG_HALTPOLL_CPUIDLE=y",
            ]);

    /// <summary>
    /// The kernel options section 4 of the guide lists ("CONFIG_ND_PFN = m", ...), read from the guide itself so the
    /// PMem rule is checked against the document, not against its own table.
    /// </summary>
    private static IEnumerable<string> GuideKernelConfig()
    {
        var guide = File.ReadAllLines(Path.Combine(Paths.Shared, "seed", "000_708dab96cff12ce0.txt"));
        var options = guide
            .Select(l => System.Text.RegularExpressions.Regex.Match(l.Trim(), @"^(CONFIG_[A-Z0-9_]+)\s*=\s*([ymn])$"))
            .Where(m => m.Success)
            .Select(m => $"{m.Groups[1].Value}={m.Groups[2].Value}")
            .Distinct()
            .ToList();
        if (options.Count < 15)
            throw new InvalidOperationException("the guide's kernel options were not found");
        return options;
    }

    public string Root => _tree.Root;
    public TestTree Tree => _tree;

    public SyntheticHost Set(string machinePath, string content)
    {
        _tree.File(machinePath, content.EndsWith('\n') ? content : content + "\n");
        return this;
    }

    public SyntheticHost Remove(string machinePath)
    {
        _tree.Delete(machinePath);
        return this;
    }

    public SyntheticHost ForEachCpu(Func<int, string> path, string content)
    {
        for (var cpu = 0; cpu < 8; cpu++)
            Set(path(cpu), content);
        return this;
    }

    public SyntheticHost AddPci(
        string addr,
        string cls,
        string vendor,
        string device,
        int node,
        string? driver,
        int? group
    )
    {
        var d = $"/sys/devices/pci0000:30/{addr}";
        _tree
            .File($"{d}/class", cls + "\n")
            .File($"{d}/vendor", vendor + "\n")
            .File($"{d}/device", device + "\n")
            .File($"{d}/numa_node", $"{node}\n")
            .File($"{d}/local_cpulist", node == 0 ? "0-3\n" : "4-7\n");
        if (driver is not null)
            _tree.Link($"{d}/driver", $"../../../bus/pci/drivers/{driver}");
        if (group is int g)
            _tree.Link($"{d}/iommu_group", $"../../../kernel/iommu_groups/{g}");
        _tree.Link($"/sys/bus/pci/devices/{addr}", $"../../../devices/pci0000:30/{addr}");
        return this;
    }

    public void Dispose() => _tree.Dispose();
}
