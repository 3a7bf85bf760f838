using System.CommandLine;
using System.Text.Json;
using Kvmtune.Core;
using Kvmtune.Core.Host;
using Kvmtune.Core.Output.Vm;
using Kvmtune.Core.Vms;

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
        return vm;
    }

    public static Argument<string> SpecArgument() => new("SPEC") { Description = "A YAML file of VM specs (one VM per document, '---' between them)" };

    internal static (HostFacts Facts, IReadOnlyList<VmSpec> Specs, PlacementPlan Plan) Load(ParseResult parse, Option<string?> root, Argument<string> spec, CliContext ctx) =>
        Load(parse, RootResolver.Reader(parse, root, ctx), spec);

    internal static (HostFacts Facts, IReadOnlyList<VmSpec> Specs, PlacementPlan Plan) Load(ParseResult parse, Core.IO.HostReader reader, Argument<string> spec)
    {
        var facts = HostFacts.Read(reader);
        var specs = VmSpecParser.ParseFile(parse.GetValue(spec)!, facts);
        return (facts, specs, new Planner(facts).Plan(specs));
    }

    private static Command PlanCommand(Option<string?> root, CliContext ctx)
    {
        var spec = SpecArgument();
        var format = GlobalOptions.Format("text", "json");
        var command = new Command("plan", "Place each VM on the host: node, pinned CPUs, huge pages, devices, each decision with its reason (exit 1 when one does not fit)") { spec, format };
        command.SetAction(parse =>
        {
            var (_, _, plan) = Load(parse, root, spec, ctx);
            ctx.Out.Write(parse.GetValue(format) == "json" ? PlanOutput.Json(plan) : PlanOutput.Text(plan));
            return plan.Unplaced.Count > 0 ? ExitCodes.Failing : ExitCodes.Success;
        });
        return command;
    }

    internal static Option<string> Accel() 
    {
        var o = new Option<string>("--accel") { Description = "kvm, or tcg where KVM cannot run guests", DefaultValueFactory = _ => "kvm" };
        o.AcceptOnlyFromAmong("kvm", "tcg");
        return o;
    }

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
            var (facts, specs, plan) = Load(parse, root, spec, ctx);
            var selected = Select(specs, plan, parse.GetValue(name));
            var outputs = selected.Select(x => (x.Spec, Cmd: QemuCommandBuilder.Build(x.Spec, x.Vm, facts,
                new QemuOptions(parse.GetValue(accel)!, Path.Combine(parse.GetValue(runDir)!, x.Spec.Name + ".qmp"), parse.GetValue(console), parse.GetValue(numactl))))).ToList();
            if (parse.GetValue(format) == "json")
            {
                if (outputs.Count != 1) throw new CliException(ExitCodes.BadInput, "--format json prints one VM: pick it with --name");
                var o = outputs[0];
                ctx.Out.WriteLine(JsonSerializer.Serialize(new QemuJson(o.Spec.Name, o.Cmd.Argv, o.Cmd.Env, o.Cmd.Notes), VmJsonContext.Default.QemuJson));
            }
            else
            {
                foreach (var o in outputs)
                {
                    ctx.Out.WriteLine($"# {o.Spec.Name}");
                    foreach (var n in o.Cmd.Notes) ctx.Out.WriteLine($"# note: {n}");
                    ctx.Out.Write(o.Cmd.ToShell());
                }
            }
            foreach (var u in plan.Unplaced) ctx.Error.WriteLine($"kvmtune: {u.Name} not placed: {u.Reason}");
            return plan.Unplaced.Count > 0 ? ExitCodes.Failing : ExitCodes.Success;
        });
        return command;
    }

    private static Command LibvirtCommand(Option<string?> root, CliContext ctx)
    {
        var spec = SpecArgument();
        var accel = Accel();
        var name = new Option<string?>("--name") { Description = "The VM of the file to print (default: the only one)" };
        var output = new Option<string?>("--output", "-o") { Description = "Write the domain XML to FILE", HelpName = "FILE" };
        var command = new Command("libvirt", "The same VM as libvirt domain XML") { spec, accel, name, output };
        command.SetAction(parse =>
        {
            var (facts, specs, plan) = Load(parse, root, spec, ctx);
            var selected = Select(specs, plan, parse.GetValue(name));
            if (selected.Count != 1) throw new CliException(ExitCodes.BadInput, "a domain XML holds one VM: pick it with --name");
            OutputFile.Write(ctx, parse.GetValue(output), LibvirtDomain.Build(selected[0].Spec, selected[0].Vm, facts, parse.GetValue(accel)!));
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
