using System.CommandLine;
using Kvmtune.Cli.Options;
using Kvmtune.Facts.Parsing;
using Kvmtune.Vms;

namespace Kvmtune.Cli.Commands.Vm.Run;

/// <summary><c>kvmtune vm run SPEC</c>: start QEMU, pin its threads through QMP, let it run.</summary>
public static class VmRunCommand
{
    public static Command Create(Option<string?> root, CliContext ctx)
    {
        var spec = VmOptions.SpecArgument();
        var accel = VmOptions.Accel();
        var name = new Option<string?>("--name")
        {
            Description = "The VM of the file to start (default: the only one)",
        };
        var runDir = VmOptions.RunDir();
        var timeout = new Option<int>("--timeout")
        {
            Description = "Seconds to wait for QEMU and QMP",
            DefaultValueFactory = _ => 30,
        };
        var libvirt = new Option<bool>("--libvirt")
        {
            Description =
                "Define the domain in libvirt and start it there (libvirt pins the threads; LIBVIRT_DEFAULT_URI " +
                    "picks the connection)",
        };
        var command = new Command(
            "run",
            "Start QEMU in the background with the tuned command line, pin vCPU, I/O and emulator threads through " +
                "QMP, print the PID and the pins"
        )
        {
            spec,
            accel,
            name,
            runDir,
            timeout,
            libvirt,
        };
        command.SetAction(parse =>
        {
            var (facts, specs, plan, qemu) = VmOptions.Load(parse, root, spec, ctx);
            if (parse.GetValue(root) is not null || ctx.Environment("KVMTUNE_ROOT") is { Length: > 0 })
                throw new CliException(
                    ExitCodes.Refused,
                    "vm run starts QEMU on this machine: plan against its own /sys, not --root"
                );
            var selected = VmOptions.Select(specs, plan, parse.GetValue(name));
            if (
                plan.Unplaced.FirstOrDefault(u => parse.GetValue(name) is null || u.Name == parse.GetValue(name)) is
                { } miss
            )
                throw new CliException(ExitCodes.Failing, $"{miss.Name} cannot be placed: {miss.Reason}");
            if (selected.Count != 1)
                throw new CliException(ExitCodes.BadInput, "vm run starts one VM: pick it with --name");
            var acc = VmOptions.AccelFor(parse, accel, facts);
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
                    ctx.Out.WriteLine(
                        $"{vm.Name}: created tap {tap}; libvirt leaves it in place: "
                            + $"ip link delete {tap} once the domain is gone"
                    );
                return ExitCodes.Success;
            }
            var launcher = new VmLauncher(parse.GetValue(runDir)!);
            if (ctx.ShowProgress)
                ctx.Error.WriteLine(
                    $"starting QEMU for {selected[0].Spec.Name} (paused), waiting for QMP, pinning threads..."
                );
            RunState state;
            try
            {
                state = launcher.Run(vm, TimeSpan.FromSeconds(parse.GetValue(timeout)));
            }
            catch (InvalidOperationException e)
            {
                throw new CliException(ExitCodes.Refused, e.Message);
            }
            ctx.Out.WriteLine($"{state.Name}: PID {state.Pid}, QMP {state.QmpSocket}, console {state.Console}");
            foreach (var tap in state.CreatedTaps ?? [])
                ctx.Out.WriteLine($"  created tap {tap} ('vm stop' deletes it)");
            foreach (var p in state.Pins)
                ctx.Out.WriteLine($"  {p.Role,-16} thread {p.Tid,-8} CPUs {CpuList.Format(p.Cpus)}");
            return ExitCodes.Success;
        });
        return command;
    }
}
