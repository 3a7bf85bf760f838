using System.Globalization;
using System.Text;

namespace Kvmtune.Bench;

/// <summary>
/// A large Intel KVM host written as sysfs and procfs would show it, for the scale figures: <c>nodes</c> NUMA nodes
/// of <c>coresPerNode</c> two-thread cores (Linux numbers the first threads of every core, then the second ones;
/// two nodes a package), cpufreq and four cpuidle states on every CPU, 1 GiB and 2 MiB pools per node, PCI
/// functions spread over the nodes (a NIC every fourth, NVMe drives otherwise), and MSI IRQs shared among them, with
/// a /proc/interrupts of one count column per CPU as the kernel prints it (so it is megabytes on a big host). The
/// layout follows tests/Kvmtune.Tests/Support/SyntheticHost.cs, which the audit's tests use.
/// </summary>
public sealed class SyntheticHost(
    int nodes,
    int coresPerNode,
    int irqs,
    int pciFunctions,
    int gigPagesPerNode,
    long nodeGib = 1024
)
{
    public int Cpus => nodes * coresPerNode * 2;

    public string Name =>
        $"host-{Cpus}cpu-{nodes}n-{irqs}irq-{pciFunctions}pci" + (nodeGib == 1024 ? "" : $"-{nodeGib}g");

    /// <summary>Writes the tree under <paramref name="parent"/> (a finished tree is reused) and returns it.</summary>
    public string Write(string parent)
    {
        var root = Path.Combine(parent, Name);
        if (File.Exists(Path.Combine(root, ".complete")))
            return root;
        if (Directory.Exists(root))
            Directory.Delete(root, true);
        var cores = nodes * coresPerNode;
        int Cpu(int core, int thread) => thread * cores + core;
        string NodeList(int n) =>
            $"{n * coresPerNode}-{(n + 1) * coresPerNode - 1},"
            + $"{cores + n * coresPerNode}-{cores + (n + 1) * coresPerNode - 1}";
        void F(string path, string text)
        {
            var p = root + path;
            Directory.CreateDirectory(Path.GetDirectoryName(p)!);
            File.WriteAllText(p, text);
        }
        void Link(string path, string target)
        {
            var p = root + path;
            Directory.CreateDirectory(Path.GetDirectoryName(p)!);
            File.CreateSymbolicLink(p, target);
        }

        const string flags =
            "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush dts acpi mmx "
            + "fxsr sse sse2 ss ht tm pbe syscall nx pdpe1gb rdtscp lm constant_tsc art arch_perfmon pebs bts "
            + "rep_good nopl xtopology nonstop_tsc cpuid aperfmperf pni pclmulqdq dtes64 monitor ds_cpl vmx smx "
            + "est tm2 ssse3 sdbg fma cx16 xtpr pdcm pcid dca sse4_1 sse4_2 x2apic movbe popcnt "
            + "tsc_deadline_timer aes xsave avx f16c rdrand lahf_lm abm 3dnowprefetch cpuid_fault epb cat_l3 "
            + "invpcid_single intel_ppin ssbd mba ibrs ibpb stibp ibrs_enhanced tpr_shadow vnmi flexpriority "
            + "ept vpid ept_ad fsgsbase tsc_adjust bmi1 hle avx2 smep bmi2 erms invpcid rtm cqm rdt_a avx512f "
            + "avx512dq rdseed adx smap avx512ifma clflushopt clwb intel_pt avx512cd sha_ni avx512bw avx512vl "
            + "xsaveopt xsavec xgetbv1 xsaves cqm_llc cqm_occup_llc cqm_mbm_total cqm_mbm_local "
            + "split_lock_detect wbnoinvd dtherm ida arat pln pts hwp hwp_act_window hwp_epp hwp_pkg_req "
            + "avx512vbmi umip pku ospke avx512_vbmi2 gfni vaes vpclmulqdq avx512_vnni avx512_bitalg tme "
            + "avx512_vpopcntdq la57 rdpid fsrm md_clear pconfig flush_l1d arch_capabilities";
        var cpuinfo = new StringBuilder();
        for (var cpu = 0; cpu < Cpus; cpu++)
        {
            var core = cpu % cores;
            var node = core / coresPerNode;
            var package = node / 2;
            var d = $"/sys/devices/system/cpu/cpu{cpu}";
            F($"{d}/topology/physical_package_id", $"{package}\n");
            F($"{d}/topology/die_id", "0\n");
            F($"{d}/topology/core_id", $"{core % (coresPerNode * 2)}\n");
            F($"{d}/topology/thread_siblings_list", $"{Cpu(core, 0)},{Cpu(core, 1)}\n");
            F($"{d}/topology/thread_siblings", Mask(Cpus, Cpu(core, 0), Cpu(core, 1)) + "\n");
            F(
                $"{d}/topology/core_siblings_list",
                package == nodes / 2 && nodes % 2 == 1
                    ? NodeList(node) + "\n"
                    : $"{NodeList(package * 2)},{NodeList(Math.Min(package * 2 + 1, nodes - 1))}\n"
            );
            F($"{d}/cpufreq/scaling_driver", "intel_pstate\n");
            F($"{d}/cpufreq/scaling_governor", "powersave\n");
            F($"{d}/cpufreq/scaling_available_governors", "performance powersave\n");
            F($"{d}/cpufreq/energy_performance_preference", "balance_performance\n");
            F($"{d}/power/energy_perf_bias", "6\n");
            string[] states = ["POLL", "C1", "C1E", "C6"];
            for (var s = 0; s < states.Length; s++)
            {
                F($"{d}/cpuidle/state{s}/name", states[s] + "\n");
                F($"{d}/cpuidle/state{s}/desc", states[s] + "\n");
                F($"{d}/cpuidle/state{s}/latency", $"{s * 60}\n");
                F($"{d}/cpuidle/state{s}/residency", $"{s * 200}\n");
                F($"{d}/cpuidle/state{s}/disable", "0\n");
            }
            cpuinfo
                .Append(
                    CultureInfo.InvariantCulture,
                    $"processor\t: {cpu}\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 106\n"
                )
                .Append("model name\t: Intel(R) Xeon(R) Platinum 8380 CPU @ 2.30GHz\nstepping\t: 6\n")
                .Append("cpu MHz\t\t: 2300.000\ncache size\t: 61440 KB\n")
                .Append(CultureInfo.InvariantCulture, $"physical id\t: {package}\nsiblings\t: {coresPerNode * 4}\n")
                .Append(CultureInfo.InvariantCulture, $"core id\t\t: {core % (coresPerNode * 2)}\n")
                .Append(CultureInfo.InvariantCulture, $"cpu cores\t: {coresPerNode * 2}\napicid\t\t: {cpu * 2}\n")
                .Append("fpu\t\t: yes\ncpuid level\t: 27\nwp\t\t: yes\n")
                .Append("flags\t\t: ")
                .Append(flags)
                .Append("\nbogomips\t: 4600.00\nclflush size\t: 64\n")
                .Append("address sizes\t: 46 bits physical, 57 bits virtual\npower management:\n\n");
        }
        F("/proc/cpuinfo", cpuinfo.ToString());
        var all = $"0-{Cpus - 1}\n";
        F("/sys/devices/system/cpu/online", all);
        F("/sys/devices/system/cpu/present", all);
        F("/sys/devices/system/cpu/possible", all);
        F("/sys/devices/system/cpu/smt/active", "1\n");
        F("/sys/devices/system/cpu/smt/control", "on\n");
        F("/sys/devices/system/cpu/intel_pstate/status", "active\n");
        F("/sys/devices/system/cpu/intel_pstate/no_turbo", "0\n");
        F("/sys/devices/system/cpu/cpuidle/current_driver", "intel_idle\n");
        F("/sys/devices/system/cpu/cpuidle/current_governor", "menu\n");
        var nodeKib = nodeGib << 20;
        for (var n = 0; n < nodes; n++)
        {
            var d = $"/sys/devices/system/node/node{n}";
            F($"{d}/cpulist", NodeList(n) + "\n");
            F(
                $"{d}/distance",
                string.Join(
                    ' ',
                    Enumerable
                        .Range(0, nodes)
                        .Select(m =>
                            m == n ? 10
                            : m / 2 == n / 2 ? 12
                            : 32
                        )
                ) + "\n"
            );
            var free = nodeKib - gigPagesPerNode * (1L << 20) - (nodeKib / 8);
            F(
                $"{d}/meminfo",
                $"Node {n} MemTotal:       {nodeKib} kB\nNode {n} MemFree:        {free} kB\n"
                    + $"Node {n} MemUsed:        {nodeKib - free} kB\n"
            );
            foreach (var (size, count) in new[] { (2048, 0), (1048576, gigPagesPerNode) })
            {
                var h = $"{d}/hugepages/hugepages-{size}kB";
                F($"{h}/nr_hugepages", $"{count}\n");
                F($"{h}/free_hugepages", $"{count}\n");
                F($"{h}/surplus_hugepages", "0\n");
            }
        }
        F("/sys/devices/system/node/online", $"0-{nodes - 1}\n");
        F("/sys/devices/system/node/possible", $"0-{nodes - 1}\n");
        foreach (var (size, count) in new[] { (2048, 0), (1048576, gigPagesPerNode * nodes) })
        {
            F($"/sys/kernel/mm/hugepages/hugepages-{size}kB/nr_hugepages", $"{count}\n");
            F($"/sys/kernel/mm/hugepages/hugepages-{size}kB/free_hugepages", $"{count}\n");
        }
        F(
            "/proc/meminfo",
            $"MemTotal:       {nodeKib * nodes} kB\nMemFree:        {nodeKib * nodes / 2} kB\n"
                + "Hugepagesize:       2048 kB\n"
        );
        F(
            "/proc/mounts",
            "sysfs /sys sysfs rw 0 0\nproc /proc proc rw 0 0\n"
                + "hugetlbfs /dev/hugepages1G hugetlbfs rw,relatime,pagesize=1024M 0 0\n"
        );
        F("/sys/kernel/mm/transparent_hugepage/enabled", "always [madvise] never\n");
        F("/sys/kernel/mm/transparent_hugepage/defrag", "always defer defer+madvise [madvise] never\n");
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
            F($"/sys/kernel/mm/ksm/{k}", v + "\n");
        const string release = "6.1.0-18-amd64";
        F("/proc/sys/kernel/osrelease", release + "\n");
        F("/proc/version", $"Linux version {release}\n");
        F("/proc/cmdline", $"BOOT_IMAGE=/boot/vmlinuz-{release} root=/dev/sda1 ro quiet intel_iommu=on iommu=pt\n");
        F("/proc/sys/kernel/numa_balancing", "1\n");
        F("/proc/sys/kernel/io_uring_disabled", "0\n");
        F(
            "/proc/modules",
            "kvm_intel 409600 0 - Live 0x0\nkvm 1142784 1 kvm_intel, Live 0x0\n"
                + "vhost_net 36864 0 - Live 0x0\nvfio_pci 16384 0 - Live 0x0\n"
        );
        F(
            $"/boot/config-{release}",
            "CONFIG_KVM=m\nCONFIG_NO_HZ_FULL=y\nCONFIG_VHOST_NET=m\nCONFIG_KSM=y\n"
                + "CONFIG_NUMA_BALANCING=y\nCONFIG_IO_URING=y\nCONFIG_HALTPOLL_CPUIDLE=y\n"
                + "CONFIG_ZONE_DEVICE=y\nCONFIG_LIBNVDIMM=y\nCONFIG_DEV_DAX=m\n"
        );
        foreach (
            var (k, v) in new[]
            {
                ("halt_poll_ns", "200000"),
                ("halt_poll_ns_grow", "2"),
                ("halt_poll_ns_shrink", "0"),
                ("halt_poll_ns_grow_start", "10000"),
            }
        )
            F($"/sys/module/kvm/parameters/{k}", v + "\n");
        F("/sys/module/kvm_intel/parameters/ple_gap", "128\n");
        F("/sys/module/kvm_intel/parameters/ple_window", "4096\n");
        F("/sys/module/vhost_net/parameters/experimental_zcopytx", "0\n");
        foreach (var dev in new[] { "/dev/null", "/dev/kvm", "/dev/vhost-net", "/dev/net/tun" })
            F(dev, "");
        File.SetUnixFileMode(root + "/dev/kvm", (UnixFileMode)0b110_110_000);
        F("/sys/firmware/acpi/tables/DMAR", "DMAR");
        Directory.CreateDirectory(root + "/sys/class/iommu/dmar0");
        F("/sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n");
        F(
            "/var/lib/dpkg/status",
            "Package: qemu-system-x86\nStatus: install ok installed\nVersion: 1:7.2+dfsg-7+deb12u18\n\n"
        );
        F("/usr/bin/qemu-system-x86_64", "#!/bin/false\n");
        F(
            "/proc/self/limits",
            "Limit                     Soft Limit           Hard Limit           Units\n"
                + "Max locked memory         8388608              8388608              bytes\n"
        );
        F("/proc/self/status", "Name:\tkvmtune\nUid:\t0\t0\t0\t0\n");
        F("/proc/1/comm", "systemd\n");
        Directory.CreateDirectory(root + "/sys/block");
        Directory.CreateDirectory(root + "/sys/class/net");

        // PCI functions round-robin over the nodes; IRQs handed out in turn, so each function has a few.
        var irqOwner = new string[irqs];
        var addrs = new List<(string Addr, int Node, bool Nic)>();
        for (var k = 0; k < pciFunctions; k++)
        {
            var addr = string.Create(CultureInfo.InvariantCulture, $"0000:{k / 32 + 0x10:x2}:{k % 32:x2}.0");
            var node = k % nodes;
            var nic = k % 4 == 0;
            addrs.Add((addr, node, nic));
            var d = $"/sys/devices/pci0000:{k / 32 + 0x10:x2}/{addr}";
            F($"{d}/class", nic ? "0x020000\n" : "0x010802\n");
            F($"{d}/vendor", nic ? "0x8086\n" : "0x144d\n");
            F($"{d}/device", nic ? "0x1592\n" : "0xa80a\n");
            F($"{d}/numa_node", $"{node}\n");
            F($"{d}/local_cpulist", NodeList(node) + "\n");
            F($"{d}/driver_override", "(null)\n");
            Link($"{d}/driver", $"../../../bus/pci/drivers/{(nic ? "ice" : "nvme")}");
            Link($"{d}/iommu_group", $"../../../kernel/iommu_groups/{k}");
            Directory.CreateDirectory($"{root}/sys/kernel/iommu_groups/{k}/devices");
            Link($"/sys/bus/pci/devices/{addr}", $"../../../devices/pci0000:{k / 32 + 0x10:x2}/{addr}");
        }
        const int firstIrq = 24;
        for (var i = 0; i < irqs; i++)
        {
            var irq = firstIrq + i;
            (string Addr, int Node, bool Nic)? owner = pciFunctions == 0 ? null : addrs[i % pciFunctions];
            var node = owner?.Node ?? 0;
            irqOwner[i] =
                owner is null ? "timer"
                : owner.Value.Nic ? $"ice-{owner.Value.Addr}-TxRx-{i / pciFunctions}"
                : $"nvme{i % pciFunctions}q{i / pciFunctions}";
            if (owner is { } o)
            {
                var d = $"/sys/devices/pci0000:{o.Addr[5..7]}/{o.Addr}";
                F($"{d}/msi_irqs/{irq}", "msix\n");
            }
            F($"/proc/irq/{irq}/smp_affinity_list", NodeList(node) + "\n");
            F($"/proc/irq/{irq}/effective_affinity_list", $"{node * coresPerNode + i % coresPerNode}\n");
            F($"/proc/irq/{irq}/node", $"{node}\n");
        }
        // /proc/interrupts: "%*s" then "CPU%-8d" per CPU; a row is "%*d: ", "%10u " per CPU, chip, hwirq, name.
        using (var w = new StreamWriter(root + "/proc/interrupts"))
        {
            w.Write("      ");
            for (var c = 0; c < Cpus; c++)
                w.Write(string.Create(CultureInfo.InvariantCulture, $"CPU{c,-8}"));
            w.Write('\n');
            for (var i = 0; i < irqs; i++)
            {
                w.Write(string.Create(CultureInfo.InvariantCulture, $"{firstIrq + i,4}: "));
                for (var c = 0; c < Cpus; c++)
                    w.Write(string.Create(CultureInfo.InvariantCulture, $"{(c * 7919 + i * 104729) % 1000000,10} "));
                var addr = pciFunctions == 0 ? "0000:00:00.0" : addrs[i % pciFunctions].Addr;
                w.Write($" IR-PCI-MSIX-{addr} {i / Math.Max(1, pciFunctions)}-edge      {irqOwner[i]}\n");
            }
        }
        File.WriteAllText(Path.Combine(root, ".complete"), "");
        return root;
    }

    /// <summary>A cpumask as the kernel prints it (lib/vsprintf.c, bitmap_string: 32-bit words of eight hex
    /// digits, most significant first, the first one only as wide as the bits it has).</summary>
    private static string Mask(int bits, params int[] cpus)
    {
        var words = new uint[(bits + 31) / 32];
        foreach (var c in cpus)
            words[c / 32] |= 1u << (c % 32);
        var sb = new StringBuilder();
        for (var w = words.Length - 1; w >= 0; w--)
        {
            if (sb.Length > 0)
                sb.Append(',');
            var width = w == words.Length - 1 && bits % 32 != 0 ? (bits % 32 + 3) / 4 : 8;
            var format = "x" + width.ToString(CultureInfo.InvariantCulture);
            sb.Append(words[w].ToString(format, CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }
}
