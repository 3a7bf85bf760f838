using System.CommandLine;
using System.Text.Json;
using Kvmtune.Facts;
using Kvmtune.Facts.Host;
using Kvmtune.Reports.Vm;
using Kvmtune.Vms;
using Kvmtune.Facts.IO;
using Kvmtune.Facts.Parsing;

using Kvmtune.Cli.Options;

namespace Kvmtune.Cli.Commands.Vm;

/// <summary><c>kvmtune vm plan|qemu|libvirt|run|status|stop</c>.</summary>
public static class VmCommand
{
    public const string DefaultRunDir = "/run/kvmtune";

    public static Command Create(Option<string?> root, CliContext ctx)
    {
        var vm = new Command("vm", "Compose tuned VMs: NUMA placement, pinned vCPUs, the QEMU command line, libvirt XML; launch and stop them");
        vm.Add(PlanCommand(root, ctx));
        vm.Add(QemuCommandVerb(root, ctx));
        vm.Add(LibvirtCommand(root, ctx));
        vm.Add(VmRunCommands.Run(root, ctx));
        vm.Add(VmRunCommands.Status(ctx));
        vm.Add(VmRunCommands.Stop(ctx));
        vm.Add(Audit.VmAuditCommand.Create(root, ctx));
        vm.Add(Tune.VmTuneCommand.Create(root, ctx));
        return vm;
    }

    public static Argument<string> SpecArgument() => new("SPEC") { Description = "A YAML file of VM specs (one VM per document, '---' between them)" };

    /// <summary>The host, its VM specs and their plan; the installed QEMU probed only on this machine.</summary>
    internal sealed record Loaded(HostFacts Facts, IReadOnlyList<VmSpec> Specs, PlacementPlan Plan, QemuInstall Qemu);

    internal static Loaded Load(ParseResult parse, Option<string?> root, Argument<string> spec, CliContext ctx) =>
        Load(parse, RootResolver.Reader(parse, root, ctx), spec);

    /// <summary>The installed QEMU is asked (<c>-machine help</c>) only on this machine, never for a --root tree.</summary>
    internal static Loaded Load(ParseResult parse, HostReader reader, Argument<string> spec)
    {
        var facts = HostFacts.Read(reader);
        var specs = VmSpecParser.ParseFile(parse.GetValue(spec)!, facts);
        var qemu = reader.IsLive ? QemuInstall.Probe(facts, TimeSpan.FromSeconds(10))
            : QemuInstall.FromFacts(facts);
        return new Loaded(facts, specs, new Planner(facts).Plan(specs), qemu);
    }

    private static Command PlanCommand(Option<string?> root, CliContext ctx)
    {
        var spec = SpecArgument();
        var format = GlobalOptions.Format("text", "json");
        var accel = Accel();
        var command = new Command("plan", "Place each VM on the host: node, pinned CPUs, huge pages, devices, each decision with its reason (exit 1 when one does not fit)") { spec, format, accel };
        command.SetAction(parse =>
        {
            var (facts, specs, placement, qemu) = Load(parse, root, spec, ctx);
            var plan = ResolvedPlan.Resolve(specs, placement, facts, AccelFor(parse, accel, facts), qemu);
            ctx.Out.Write(parse.GetValue(format) == "json" ? PlanOutput.Json(plan) : PlanOutput.Text(plan));
            return plan.Unplaced.Count > 0 ? ExitCodes.Failing : ExitCodes.Success;
        });
        return command;
    }

    internal static Option<string?> Accel()
    {
        var o = new Option<string?>("--accel") { Description = "kvm, or tcg where KVM cannot run guests (default: kvm where /dev/kvm exists, else tcg)" };
        o.AcceptOnlyFromAmong("kvm", "tcg");
        return o;
    }

    /// <summary>The accelerator asked for, else kvm where the host has /dev/kvm.</summary>
    internal static string AccelFor(ParseResult parse, Option<string?> accel, HostFacts facts) =>
        parse.GetValue(accel) ?? (facts.Virtualization.Kvm.Exists ? "kvm" : "tcg");

    private static Command QemuCommandVerb(Option<string?> root, CliContext ctx)
    {
        var spec = SpecArgument();
        var format = GlobalOptions.Format("text", "json");
        var accel = Accel();
        var numactl = new Option<bool>("--numactl") { Description = "Prefix numactl -N n -m n as the guide does (single-node VMs)" };
        var name = new Option<string?>("--name") { Description = "The VM of the file to print (default: all)" };
        var runDir = new Option<string>("--run-dir") { Description = "Where the QMP socket lives", DefaultValueFactory = _ => DefaultRunDir };
        var console = new Option<string?>("--console") { Description = "Send the guest's serial console to this file", HelpName = "FILE" };
        var command = new Command("qemu", "The tuned QEMU command line for each placed VM (--format json: {\"argv\": [...], \"env\": {...}})") { spec, format, accel, numactl, name, runDir, console };
        command.SetAction(parse =>
        {
            var (facts, specs, plan, qemu) = Load(parse, root, spec, ctx);
            var selected = Select(specs, plan, parse.GetValue(name));
            var dir = parse.GetValue(runDir)!;
            var acc = AccelFor(parse, accel, facts);
            var outputs = selected.Select(x => (x.Spec, x.Vm, Cmd: QemuCommandBuilder.Build(x.Spec, x.Vm, facts,
                new QemuOptions(acc, Path.Combine(dir, x.Spec.Name + ".qmp"), parse.GetValue(console), parse.GetValue(numactl)), qemu))).ToList();
            // QEMU creates the QMP socket but not its folder: the command makes the folder first.
            string[] setup = ["mkdir", "-p", "-m", "0700", dir];
            if (parse.GetValue(format) == "json")
            {
                if (outputs.Count != 1) throw new CliException(ExitCodes.BadInput, "--format json prints one VM: pick it with --name");
                var o = outputs[0];
                ctx.Out.WriteLine(JsonSerializer.Serialize(new QemuJson(o.Spec.Name, o.Cmd.Argv, o.Cmd.Env, [.. o.Cmd.Notes, .. PinningNotes(o.Vm)], [setup]), VmJsonContext.Default.QemuJson));
            }
            else
            {
                foreach (var o in outputs)
                {
                    ctx.Out.WriteLine($"# {o.Spec.Name}");
                    foreach (var n in o.Cmd.Notes) ctx.Out.WriteLine($"# note: {n}");
                    foreach (var n in PinningNotes(o.Vm)) ctx.Out.WriteLine($"# {n}");
                    ctx.Out.Write(string.Join(' ', setup.Select(QemuCommand.Quote)) + " && \\\n");
                    ctx.Out.Write(o.Cmd.ToShell());
                }
            }
            foreach (var u in plan.Unplaced) ctx.Error.WriteLine($"kvmtune: {u.Name} not placed: {u.Reason}");
            return plan.Unplaced.Count > 0 ? ExitCodes.Failing : ExitCodes.Success;
        });
        return command;
    }

    /// <summary>This command line starts QEMU unpinned: where the threads go, and how to put them there.</summary>
    internal static IEnumerable<string> PinningNotes(PlannedVm vm)
    {
        yield return "pinning: QEMU starts unpinned; 'kvmtune vm run' pins each thread. By hand, once QEMU runs: " +
            "QMP query-cpus-fast gives each vCPU's thread-id, then taskset -pc CPUS TID:";
        foreach (var p in vm.VcpuPins) yield return $"  vCPU {p.Vcpu}: taskset -pc {CpuList.Format(p.Cpus)} TID";
        yield return $"  every other QEMU thread (emulator, I/O): taskset -pc {CpuList.Format(vm.EmulatorCpus)} TID";
    }

    private static Command LibvirtCommand(Option<string?> root, CliContext ctx)
    {
        var spec = SpecArgument();
        var accel = Accel();
        var name = new Option<string?>("--name") { Description = "The VM of the file to print (default: the only one)" };
        var output = new Option<string?>("--output", "-o") { Description = "Write the domain XML to FILE", HelpName = "FILE" };
        var define = new Option<bool>("--define") { Description = "Define the domain in libvirt (virsh define; LIBVIRT_DEFAULT_URI picks the connection)" };
        var command = new Command("libvirt", "The same VM as libvirt domain XML") { spec, accel, name, output, define };
        command.SetAction(parse =>
        {
            var (facts, specs, plan, qemu) = Load(parse, root, spec, ctx);
            var selected = Select(specs, plan, parse.GetValue(name));
            if (selected.Count != 1) throw new CliException(ExitCodes.BadInput, "a domain XML holds one VM: pick it with --name");
            var vm = VmResolver.Resolve(selected[0].Spec, selected[0].Vm, facts, AccelFor(parse, accel, facts), qemu);
            var xml = LibvirtDomain.Render(vm);
            foreach (var lost in vm.LostInLibvirt) ctx.Error.WriteLine($"kvmtune: {vm.Name}: lost in the domain: {lost}");
            if (LibvirtDomain.NeedsCustomArgv(vm))
                ctx.Error.WriteLine($"kvmtune: {vm.Name}: -overcommit {vm.Overcommit} goes in as <qemu:commandline>: libvirt marks the domain tainted (custom-argv)");
            if (parse.GetValue(define))
            {
                if (parse.GetValue(root) is not null || ctx.Environment("KVMTUNE_ROOT") is { Length: > 0 })
                    throw new CliException(ExitCodes.Refused, "--define defines the domain on this machine: plan against its own /sys, not --root");
                try
                {
                    if (parse.GetValue(output) is string file)
                    {
                        OutputFile.Write(ctx, file, xml);
                        ctx.Out.Write(new Virsh(ctx.Environment("LIBVIRT_DEFAULT_URI")).Run("define", file));
                    }
                    else ctx.Out.Write(new Virsh(ctx.Environment("LIBVIRT_DEFAULT_URI")).Define(xml));
                }
                catch (InvalidOperationException e) { throw new CliException(ExitCodes.Refused, e.Message); }
                return ExitCodes.Success;
            }
            OutputFile.Write(ctx, parse.GetValue(output), xml);
            return ExitCodes.Success;
        });
        return command;
    }

    internal static List<(VmSpec Spec, PlannedVm Vm)> Select(IReadOnlyList<VmSpec> specs, PlacementPlan plan, string? name)
    {
        if (name is not null && specs.All(s => s.Name != name)) throw new CliException(ExitCodes.BadInput, $"--name: no VM '{name}' in the spec ({string.Join(", ", specs.Select(s => s.Name))})");
        return specs.Where(s => name is null || s.Name == name)
            .Select(s => (s, plan.Vms.FirstOrDefault(v => v.Name == s.Name)))
            .Where(x => x.Item2 is not null).Select(x => (x.s, x.Item2!)).ToList();
    }
}
