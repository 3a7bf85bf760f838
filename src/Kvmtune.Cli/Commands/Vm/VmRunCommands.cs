using System.CommandLine;
using System.Text;
using Kvmtune.Facts.Parsing;
using Kvmtune.Vms;

namespace Kvmtune.Cli.Commands.Vm;

/// <summary><c>vm run</c>, <c>vm status</c> and <c>vm stop</c>: QEMU processes on this machine.</summary>
public static class VmRunCommands
{
    private static Option<string> RunDir() => new("--run-dir") { Description = "Where QMP sockets, PID files and consoles live", DefaultValueFactory = _ => VmCommand.DefaultRunDir };

    public static Command Run(Option<string?> root, CliContext ctx)
    {
        var spec = VmCommand.SpecArgument();
        var accel = VmCommand.Accel();
        var name = new Option<string?>("--name") { Description = "The VM of the file to start (default: the only one)" };
        var runDir = RunDir();
        var timeout = new Option<int>("--timeout") { Description = "Seconds to wait for QEMU and QMP", DefaultValueFactory = _ => 30 };
        var libvirt = new Option<bool>("--libvirt") { Description = "Define the domain in libvirt and start it there (libvirt pins the threads; LIBVIRT_DEFAULT_URI picks the connection)" };
        var command = new Command("run", "Start QEMU in the background with the tuned command line, pin vCPU, I/O and emulator threads through QMP, print the PID and the pins")
        { spec, accel, name, runDir, timeout, libvirt };
        command.SetAction(parse =>
        {
            var (facts, specs, plan, qemu) = VmCommand.Load(parse, root, spec, ctx);
            if (parse.GetValue(root) is not null || ctx.Environment("KVMTUNE_ROOT") is { Length: > 0 })
                throw new CliException(ExitCodes.Refused, "vm run starts QEMU on this machine: plan against its own /sys, not --root");
            var selected = VmCommand.Select(specs, plan, parse.GetValue(name));
            if (plan.Unplaced.FirstOrDefault(u => parse.GetValue(name) is null || u.Name == parse.GetValue(name)) is { } miss)
                throw new CliException(ExitCodes.Failing, $"{miss.Name} cannot be placed: {miss.Reason}");
            if (selected.Count != 1) throw new CliException(ExitCodes.BadInput, "vm run starts one VM: pick it with --name");
            var acc = VmCommand.AccelFor(parse, accel, facts);
            var vm = VmResolver.Resolve(selected[0].Spec, selected[0].Vm, facts, acc, qemu);
            if (parse.GetValue(libvirt))
            {
                IReadOnlyList<string> taps = [];
                try
                {
                    // managed='no': libvirt opens the taps, it does not create them.
                    taps = Taps.Prepare(vm, new Changes.ProgramRunner());
                    ctx.Out.Write(new Virsh(ctx.Environment("LIBVIRT_DEFAULT_URI")).Define(LibvirtDomain.Render(vm)));
                    ctx.Out.Write(new Virsh(ctx.Environment("LIBVIRT_DEFAULT_URI")).Run("start", vm.Name));
                }
                catch (InvalidOperationException e)
                {
                    Taps.Remove(taps, new Changes.ProgramRunner());
                    throw new CliException(ExitCodes.Refused, e.Message);
                }
                foreach (var tap in taps)
                    ctx.Out.WriteLine($"{vm.Name}: created tap {tap}; libvirt leaves it in place: " +
                        $"ip link delete {tap} once the domain is gone");
                return ExitCodes.Success;
            }
            var launcher = new VmLauncher(parse.GetValue(runDir)!);
            if (ctx.ShowProgress) ctx.Error.WriteLine($"starting QEMU for {selected[0].Spec.Name} (paused), waiting for QMP, pinning threads...");
            RunState state;
            try { state = launcher.Run(vm, TimeSpan.FromSeconds(parse.GetValue(timeout))); }
            catch (InvalidOperationException e) { throw new CliException(ExitCodes.Refused, e.Message); }
            ctx.Out.WriteLine($"{state.Name}: PID {state.Pid}, QMP {state.QmpSocket}, console {state.Console}");
            foreach (var tap in state.CreatedTaps ?? []) ctx.Out.WriteLine($"  created tap {tap} ('vm stop' deletes it)");
            foreach (var p in state.Pins) ctx.Out.WriteLine($"  {p.Role,-16} thread {p.Tid,-8} CPUs {CpuList.Format(p.Cpus)}");
            return ExitCodes.Success;
        });
        return command;
    }

    public static Command Status(CliContext ctx)
    {
        var name = new Argument<string?>("NAME") { Description = "The VM (default: every VM kvmtune started)", Arity = ArgumentArity.ZeroOrOne };
        var runDir = RunDir();
        var command = new Command("status", "The running VMs and the CPUs the kernel reports for each of their threads") { name, runDir };
        command.SetAction(parse =>
        {
            var launcher = new VmLauncher(parse.GetValue(runDir)!);
            var states = parse.GetValue(name) is string n ? [launcher.TryLoad(n) ?? throw new CliException(ExitCodes.BadInput, $"no VM '{n}' in {launcher.RunDir}")] : launcher.All();
            var sb = new StringBuilder();
            foreach (var s in states)
            {
                var alive = VmLauncher.Alive(s.Pid);
                sb.Append(s.Name).Append(": PID ").Append(s.Pid).Append(alive ? " running" : " not running").AppendLine();
                if (!alive) continue;
                foreach (var t in VmLauncher.Threads(s.Pid))
                {
                    var planned = s.Pins.FirstOrDefault(p => p.Tid == t.Tid);
                    var expected = planned is null ? "" : CpuList.Format(planned.Cpus);
                    sb.Append($"  {t.Tid,-8} {t.Name,-18} CPUs {t.CpusAllowed,-10}").Append(planned is null ? "(not pinned by kvmtune)" : t.CpusAllowed == expected ? $"({planned.Role}, as planned)" : $"({planned.Role}, planned {expected})").AppendLine();
                }
            }
            if (states.Count == 0) sb.AppendLine("no VMs started by kvmtune");
            ctx.Out.Write(sb.ToString());
            return ExitCodes.Success;
        });
        return command;
    }

    public static Command Stop(CliContext ctx)
    {
        var name = new Argument<string>("NAME") { Description = "The VM to stop" };
        var runDir = RunDir();
        var grace = new Option<int>("--grace") { Description = "Seconds the guest gets to power down before QEMU is told to quit", DefaultValueFactory = _ => 10 };
        var command = new Command("stop", "Stop a VM cleanly through QMP (ACPI power-down, then quit)") { name, runDir, grace };
        command.SetAction(parse =>
        {
            var launcher = new VmLauncher(parse.GetValue(runDir)!);
            bool stopped;
            try { stopped = launcher.Stop(parse.GetValue(name)!, TimeSpan.FromSeconds(parse.GetValue(grace)), w => ctx.Error.WriteLine("kvmtune: warning: " + w)); }
            catch (InvalidOperationException e) { throw new CliException(ExitCodes.BadInput, e.Message); }
            ctx.Out.WriteLine(stopped ? $"{parse.GetValue(name)}: stopped" : $"{parse.GetValue(name)}: still running");
            return stopped ? ExitCodes.Success : ExitCodes.Refused;
        });
        return command;
    }
}
