using System.CommandLine;
using Kvmtune.Facts.Host;
using Kvmtune.Facts.IO;
using Kvmtune.Vms;

namespace Kvmtune.Cli.Options;

/// <summary>What the vm verbs share: the spec argument, --accel, loading and planning a spec file, --name.</summary>
public static class VmOptions
{
    public const string DefaultRunDir = "/run/kvmtune";

    public static Argument<string> SpecArgument() =>
        new("SPEC") { Description = "A YAML file of VM specs (one VM per document, '---' between them)" };

    /// <summary>The host, its VM specs and their plan; the installed QEMU probed only on this machine.</summary>
    internal sealed record Loaded(HostFacts Facts, IReadOnlyList<VmSpec> Specs, PlacementPlan Plan, QemuInstall Qemu);

    internal static Loaded Load(ParseResult parse, Option<string?> root, Argument<string> spec, CliContext ctx) =>
        Load(parse, RootResolver.Reader(parse, root, ctx), spec);

    /// <summary>The installed QEMU is asked (<c>-machine help</c>) only on this machine, never for a --root
    /// tree.</summary>
    internal static Loaded Load(ParseResult parse, HostReader reader, Argument<string> spec)
    {
        var facts = HostFacts.Read(reader);
        var specs = VmSpecParser.ParseFile(parse.GetValue(spec)!, facts);
        var qemu = reader.IsLive ? QemuInstall.Probe(facts, TimeSpan.FromSeconds(10)) : QemuInstall.FromFacts(facts);
        return new Loaded(facts, specs, new Planner(facts).Plan(specs), qemu);
    }

    internal static Option<string?> Accel()
    {
        var o = new Option<string?>("--accel")
        {
            Description = "kvm, or tcg where KVM cannot run guests (default: kvm where /dev/kvm exists, else tcg)",
        };
        o.AcceptOnlyFromAmong("kvm", "tcg");
        return o;
    }

    /// <summary>The accelerator asked for, else kvm where the host has /dev/kvm.</summary>
    internal static string AccelFor(ParseResult parse, Option<string?> accel, HostFacts facts) =>
        parse.GetValue(accel) ?? (facts.Virtualization.Kvm.Exists ? "kvm" : "tcg");

    internal static List<(VmSpec Spec, PlannedVm Vm)> Select(
        IReadOnlyList<VmSpec> specs,
        PlacementPlan plan,
        string? name
    )
    {
        if (name is not null && specs.All(s => s.Name != name))
            throw new CliException(
                ExitCodes.BadInput,
                $"--name: no VM '{name}' in the spec ({string.Join(", ", specs.Select(s => s.Name))})"
            );
        return specs
            .Where(s => name is null || s.Name == name)
            .Select(s => (s, plan.Vms.FirstOrDefault(v => v.Name == s.Name)))
            .Where(x => x.Item2 is not null)
            .Select(x => (x.s, x.Item2!))
            .ToList();
    }

    public static Option<string> RunDir() =>
        new("--run-dir")
        {
            Description = "Where QMP sockets, PID files and consoles live",
            DefaultValueFactory = _ => VmOptions.DefaultRunDir,
        };
}
