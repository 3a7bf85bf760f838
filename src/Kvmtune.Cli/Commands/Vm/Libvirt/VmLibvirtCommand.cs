using System.CommandLine;
using Kvmtune.Vms;
using static Kvmtune.Cli.Options.VmOptions;

namespace Kvmtune.Cli.Commands.Vm.Libvirt;

/// <summary><c>kvmtune vm libvirt SPEC</c>: the same VM as a libvirt domain, or defined in libvirt.</summary>
public static class VmLibvirtCommand
{
    public static Command Create(Option<string?> root, CliContext ctx)
    {
        var spec = SpecArgument();
        var accel = Accel();
        var name = new Option<string?>("--name")
        {
            Description = "The VM of the file to print (default: the only one)",
        };
        var output = new Option<string?>("--output", "-o")
        {
            Description = "Write the domain XML to FILE",
            HelpName = "FILE",
        };
        var define = new Option<bool>("--define")
        {
            Description = "Define the domain in libvirt (virsh define; LIBVIRT_DEFAULT_URI picks the connection)",
        };
        var command = new Command("libvirt", "The same VM as libvirt domain XML") { spec, accel, name, output, define };
        command.SetAction(parse =>
        {
            var (facts, specs, plan, qemu) = Load(parse, root, spec, ctx);
            var selected = Select(specs, plan, parse.GetValue(name));
            if (selected.Count != 1)
                throw new CliException(ExitCodes.BadInput, "a domain XML holds one VM: pick it with --name");
            var vm = VmResolver.Resolve(selected[0].Spec, selected[0].Vm, facts, AccelFor(parse, accel, facts), qemu);
            var xml = LibvirtDomain.Render(vm);
            foreach (var lost in vm.LostInLibvirt)
                ctx.Error.WriteLine($"kvmtune: {vm.Name}: lost in the domain: {lost}");
            if (LibvirtDomain.NeedsCustomArgv(vm))
                ctx.Error.WriteLine(
                    $"kvmtune: {vm.Name}: -overcommit {vm.Overcommit} goes in as <qemu:commandline>: libvirt marks " +
                        "the domain tainted (custom-argv)"
                );
            if (parse.GetValue(define))
            {
                if (parse.GetValue(root) is not null || ctx.Environment("KVMTUNE_ROOT") is { Length: > 0 })
                    throw new CliException(
                        ExitCodes.Refused,
                        "--define defines the domain on this machine: plan against its own /sys, not --root"
                    );
                try
                {
                    if (parse.GetValue(output) is string file)
                    {
                        OutputFile.Write(ctx, file, xml);
                        ctx.Out.Write(new Virsh(ctx.Environment("LIBVIRT_DEFAULT_URI")).Run("define", file));
                    }
                    else
                        ctx.Out.Write(new Virsh(ctx.Environment("LIBVIRT_DEFAULT_URI")).Define(xml));
                }
                catch (InvalidOperationException e)
                {
                    throw new CliException(ExitCodes.Refused, e.Message);
                }
                return ExitCodes.Success;
            }
            OutputFile.Write(ctx, parse.GetValue(output), xml);
            return ExitCodes.Success;
        });
        return command;
    }
}
