using System.CommandLine;
using Kvmtune.Cli.Options;
using Kvmtune.Reports;
using Kvmtune.Reports.Vm;
using Kvmtune.Vms;
using static Kvmtune.Cli.Options.VmOptions;

namespace Kvmtune.Cli.Commands.Vm.Qemu;

/// <summary><c>kvmtune vm qemu SPEC</c>: the tuned QEMU command line, as it runs.</summary>
public static class VmQemuCommand
{
    public static Command Create(Option<string?> root, CliContext ctx)
    {
        var spec = SpecArgument();
        var format = GlobalOptions.Format(QemuFormats.All);
        var accel = Accel();
        var numactl = new Option<bool>("--numactl")
        {
            Description = "Prefix numactl -N n -m n as the guide does (single-node VMs)",
        };
        var name = new Option<string?>("--name") { Description = "The VM of the file to print (default: all)" };
        var runDir = new Option<string>("--run-dir")
        {
            Description = "Where the QMP socket lives",
            DefaultValueFactory = _ => DefaultRunDir,
        };
        var console = new Option<string?>("--console")
        {
            Description = "Send the guest's serial console to this file",
            HelpName = "FILE",
        };
        var command = new Command(
            "qemu",
            "The tuned QEMU command line for each placed VM (--format json: {\"argv\": [...], \"env\": {...}})"
        )
        {
            spec,
            format,
            accel,
            numactl,
            name,
            runDir,
            console,
        };
        command.SetAction(parse =>
        {
            var (facts, specs, plan, qemu) = Load(parse, root, spec, ctx);
            var selected = Select(specs, plan, parse.GetValue(name));
            var dir = parse.GetValue(runDir)!;
            var acc = AccelFor(parse, accel, facts);
            var vms = selected
                .Select(x => new QemuVm(
                    x.Spec.Name,
                    x.Vm,
                    QemuCommandBuilder.Build(
                        x.Spec,
                        x.Vm,
                        facts,
                        new QemuOptions(
                            acc,
                            Path.Combine(dir, x.Spec.Name + ".qmp"),
                            parse.GetValue(console),
                            parse.GetValue(numactl)
                        ),
                        qemu
                    )
                ))
                .ToList();
            // QEMU creates the QMP socket but not its folder: the command makes the folder first.
            string[] setup = ["mkdir", "-p", "-m", "0700", dir];
            ctx.Out.Write(
                QemuFormats
                    .All[parse.GetValue(format)!]
                    .Render(
                        new QemuReport(vms, setup),
                        new RenderContext(new TextStyle(ctx.Colour), DateTimeOffset.UtcNow)
                    )
            );
            foreach (var u in plan.Unplaced)
                ctx.Error.WriteLine($"kvmtune: {u.Name} not placed: {u.Reason}");
            return plan.Unplaced.Count > 0 ? ExitCodes.Failing : ExitCodes.Success;
        });
        return command;
    }
}
