using System.Text;
using System.Text.RegularExpressions;
using Kvmtune.Facts;
using Kvmtune.Facts.Host;
using Kvmtune.Facts.Parsing;

namespace Kvmtune.Vms;

public sealed record QemuOptions(
    string Accel,
    string QmpSocket,
    string? Console,
    bool Numactl,
    string? PidFile = null,
    bool Daemonize = false,
    bool Paused = false
);

/// <summary>A QEMU invocation: the argument vector, its environment, and what was adjusted and why.</summary>
public sealed partial record QemuCommand(
    IReadOnlyList<string> Argv,
    IReadOnlyDictionary<string, string> Env,
    IReadOnlyList<string> Notes
)
{
    /// <summary>The command as a person pastes it into a POSIX shell: every argument quoted where it needs to
    /// be.</summary>
    public string ToShell()
    {
        var sb = new StringBuilder();
        foreach (var (k, v) in Env)
            sb.Append(k).Append('=').Append(Quote(v)).Append(' ');
        for (var i = 0; i < Argv.Count; i++)
        {
            if (i > 0)
                sb.Append(Argv[i].StartsWith('-') ? " \\\n    " : " ");
            sb.Append(Quote(Argv[i]));
        }
        return sb.Append('\n').ToString();
    }

    public static string Quote(string arg) =>
        arg.Length > 0 && SafeWord().IsMatch(arg) ? arg : "'" + arg.Replace("'", "'\\''") + "'";

    [GeneratedRegex(@"^[A-Za-z0-9_./:=,@+%-]+$")]
    private static partial Regex SafeWord();
}

/// <summary>Renders a <see cref="ResolvedVm"/> as QEMU's argument vector (guide 3.2.1 to 4.2); it decides
/// nothing.</summary>
public static class QemuCommandBuilder
{
    public const string Binary = "qemu-system-x86_64";

    /// <summary>QEMU's option syntax ends a value at a comma; a comma inside a value is written twice.</summary>
    public static string Esc(string value) => value.Replace(",", ",,");

    public static QemuCommand Build(VmSpec s, PlannedVm p, HostFacts host, QemuOptions o, QemuInstall? qemu = null)
    {
        if (o.Numactl && p.Nodes.Count != 1)
            throw new InputException(
                s.File,
                s.Line,
                "name",
                "--numactl binds one node; this VM spans several (its memory backends are bound per node instead)"
            );
        return Render(VmResolver.Resolve(s, p, host, o.Accel, qemu), o);
    }

    public static QemuCommand Render(ResolvedVm vm, QemuOptions o)
    {
        var a = new List<string>();
        if (o.Numactl)
            a.AddRange(["numactl", "-N", vm.Plan.Nodes[0].ToString(), "-m", vm.Plan.Nodes[0].ToString()]);
        a.Add(Binary);
        a.AddRange(["-name", $"guest={vm.Name},debug-threads=on"]);
        a.AddRange(["-uuid", vm.Uuid.ToString()]);
        var machine = $"{vm.Machine},accel={vm.Accel},usb=off,mem-merge={OnOff(vm.MemMerge)}";
        if (vm.Pmem.Count > 0)
            machine += ",nvdimm=on";
        a.AddRange(["-machine", machine]);
        a.AddRange(["-cpu", vm.CpuModel + (vm.HintDedicated ? ",kvm-hint-dedicated=on" : "")]);
        var t = vm.Topology;
        a.AddRange(["-smp", $"{vm.Vcpus},sockets={t.Sockets},cores={t.Cores},threads={t.Threads}"]);
        var memory = Sizes.ToQemu(vm.MemoryKib * 1024);
        if (vm.MaxMemoryKib is long max)
            memory += $",slots={vm.MemorySlots},maxmem={Sizes.ToQemu(max * 1024)}";
        a.AddRange(["-m", memory]);
        foreach (var g in vm.Memory)
        {
            var size = Sizes.ToQemu(g.SizeKib * 1024);
            var backend = g.MemPath is string path
                ? $"memory-backend-file,id=ram-node{g.GuestNode},size={size},mem-path={Esc(path)},"
                   + $"prealloc={OnOff(g.Prealloc)},share=off"
                : $"memory-backend-ram,id=ram-node{g.GuestNode},size={size}";
            backend += $",merge={OnOff(vm.MemMerge)},host-nodes={g.HostNode},policy=bind";
            a.AddRange(["-object", backend]);
            var cpus = string.Concat(RangesOf(g.Vcpus).Select(r => $",cpus={r}"));
            a.AddRange(["-numa", $"node,nodeid={g.GuestNode}{cpus},memdev=ram-node{g.GuestNode}"]);
        }
        if (vm.Distances is { } dist)
            for (var i = 0; i < dist.Count; i++)
                for (var j = 0; j < dist.Count; j++)
                    a.AddRange([
                        "-numa",
                    $"dist,src={vm.Memory[i].GuestNode},dst={vm.Memory[j].GuestNode},val={dist[i][j]}",
                ]);
        if (vm.Overcommit is string over)
            a.AddRange(["-overcommit", over]);

        foreach (var io in vm.Plan.IothreadPins)
            a.AddRange(["-object", $"iothread,id={io.Iothread}"]);
        foreach (var d in vm.Disks)
        {
            var i = d.Index;
            a.AddRange([
                "-drive",
                $"if=none,id=drive{i},file={Esc(d.Path)},format={d.Format},cache={d.Cache},aio={d.Aio}",
            ]);
            var dev = $"virtio-blk-pci,drive=drive{i},id=disk{i},num-queues={d.Queues}";
            if (d.Packed)
                dev += ",packed=on";
            if (d.Iothread is not null)
                dev += $",iothread=io{i}";
            if (d.Boot)
                dev += ",bootindex=1";
            a.AddRange(["-device", dev]);
        }
        foreach (var n in vm.Nics)
        {
            var i = n.Index;
            var netdev = $"tap,id=net{i},ifname={n.Ifname},script=no,downscript=no,vhost={OnOff(n.Vhost)}";
            if (n.Queues > 1)
                netdev += $",queues={n.Queues}";
            if (n.PollUs is long poll)
                netdev += $",poll-us={poll}";
            a.AddRange(["-netdev", netdev]);
            var dev = $"virtio-net-pci,netdev=net{i},id=nic{i}";
            if (n.Mac is not null)
                dev += $",mac={n.Mac}";
            if (n.Vectors is int vectors)
                dev += $",mq=on,vectors={vectors}";
            if (n.Packed)
                dev += ",packed=on";
            a.AddRange(["-device", dev]);
        }
        foreach (var m in vm.Pmem)
        {
            var i = m.Index;
            var backend =
                $"memory-backend-file,id=pmem{i},share=on,mem-path={Esc(m.Path)},size={Sizes.ToQemu(m.SizeBytes)},"
                 + $"align={Sizes.ToQemu(m.AlignBytes)}";
            if (m.Dax)
                backend += ",pmem=on";
            a.AddRange(["-object", backend]);
            a.AddRange(["-device", $"nvdimm,memdev=pmem{i},id=nvdimm{i},label-size=128k,node={m.GuestNode}"]);
        }
        for (var i = 0; i < vm.Passthrough.Count; i++)
            a.AddRange(["-device", $"vfio-pci,host={vm.Passthrough[i]},id=hostdev{i}"]);
        if (vm.Boot is BootSpec b)
        {
            a.AddRange(["-kernel", b.Kernel]);
            if (b.Initrd is not null)
                a.AddRange(["-initrd", b.Initrd]);
            if (b.Append is not null)
                a.AddRange(["-append", b.Append]);
        }
        a.AddRange(["-qmp", $"unix:{Esc(o.QmpSocket)},server=on,wait=off"]);
        a.AddRange(["-nodefaults", "-display", "none", "-vga", "none"]);
        if (o.Console is not null)
            a.AddRange(["-serial", $"file:{o.Console}"]);
        if (o.PidFile is not null)
            a.AddRange(["-pidfile", o.PidFile]);
        if (o.Paused)
            a.Add("-S");
        if (o.Daemonize)
            a.Add("-daemonize");
        return new QemuCommand(a, new Dictionary<string, string>(), vm.Adjustments.ToList());
    }

    private static string OnOff(bool on) => on ? "on" : "off";

    /// <summary>"0-3", "6" ... for QEMU's -numa cpus= (one range per occurrence).</summary>
    internal static IEnumerable<string> RangesOf(IReadOnlyList<int> cpus) =>
        CpuList.Format(cpus).Split(',', StringSplitOptions.RemoveEmptyEntries);
}
