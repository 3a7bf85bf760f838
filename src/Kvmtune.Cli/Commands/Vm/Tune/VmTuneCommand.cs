using System.CommandLine;
using Kvmtune.Cli.Options;
using Kvmtune.Facts.Host;
using Kvmtune.Facts.IO;
using Kvmtune.Vms;
using Kvmtune.Vms.Tune;

namespace Kvmtune.Cli.Commands.Vm.Tune;

/// <summary><c>kvmtune vm tune DOMAIN.xml</c>: an existing libvirt domain with the guide's tuning.</summary>
public static class VmTuneCommand
{
    public static Command Create(Option<string?> root, CliContext ctx)
    {
        var domain = new Argument<string>("DOMAIN.xml") { Description = "A libvirt domain XML (virsh dumpxml)" };
        var profile = new Option<string>("--profile", "-p")
        {
            Description = "The workload to tune for: latency, throughput, density (balanced: throughput)",
            DefaultValueFactory = _ => "balanced",
            HelpName = "P",
        };
        profile.AcceptOnlyFromAmong("balanced", "latency", "throughput", "density");
        var accel = VmOptions.Accel();
        var output = new Option<string?>("--output", "-o")
        {
            Description = "Write the domain XML to FILE",
            HelpName = "FILE",
        };
        var define = new Option<bool>("--define")
        {
            Description = "Define the result in libvirt (virsh define; LIBVIRT_DEFAULT_URI picks the connection)",
        };
        var command = new Command(
            "tune",
            "The same libvirt domain with the guide's tuning (placement, pinning, huge "
                + "pages, locked memory, iothreads, queues, packed rings, vhost, cache/io); every change on stderr " +
                    "with "
                + "its guide section"
        )
        {
            domain,
            profile,
            accel,
            output,
            define,
        };
        command.SetAction(parse =>
        {
            var reader = RootResolver.Reader(parse, root, ctx);
            var facts = HostFacts.Read(reader);
            var file = parse.GetValue(domain)!;
            var doc = DomainTuner.Load(InputFile.ReadBytes(file, DomainTuner.MaxBytes), file);
            var qemu = reader.IsLive
                ? QemuInstall.Probe(facts, TimeSpan.FromSeconds(10))
                : QemuInstall.FromFacts(facts);
            var workload = parse.GetValue(profile) is "balanced" ? "throughput" : parse.GetValue(profile)!;
            TuneResult result;
            try
            {
                result = DomainTuner.Tune(doc, file, facts, workload, parse.GetValue(accel), qemu);
            }
            catch (InvalidOperationException e)
            {
                throw new CliException(ExitCodes.Failing, e.Message);
            }

            foreach (var c in result.Changes)
                ctx.Error.WriteLine($"kvmtune: {result.Vm.Name}: {c}");
            if (parse.GetValue(define))
            {
                if (!reader.IsLive)
                    throw new CliException(
                        ExitCodes.Refused,
                        "--define defines the domain on this machine: tune against its own /sys, not --root"
                    );

                try
                {
                    if (parse.GetValue(output) is string path)
                    {
                        OutputFile.Write(ctx, path, result.Xml);
                        ctx.Out.Write(new Virsh(ctx.Environment("LIBVIRT_DEFAULT_URI")).Run("define", path));
                    }
                    else
                        ctx.Out.Write(new Virsh(ctx.Environment("LIBVIRT_DEFAULT_URI")).Define(result.Xml));
                }
                catch (InvalidOperationException e)
                {
                    throw new CliException(ExitCodes.Refused, e.Message);
                }
                return ExitCodes.Success;
            }
            OutputFile.Write(ctx, parse.GetValue(output), result.Xml);
            return ExitCodes.Success;
        });
        return command;
    }
}
