using System.CommandLine;
using System.Text;
using Kvmtune.Cli.Commands.Apply;
using Kvmtune.Guide.Sections;
using Kvmtune.Changes;
using Kvmtune.Vms.Devices;
using Kvmtune.Facts.Host;
using Kvmtune.Facts.Parsing;
using Kvmtune.Facts.IO;

using Kvmtune.Cli.Options;

namespace Kvmtune.Cli.Commands.Vfio;

/// <summary><c>kvmtune vfio list|create-vfs|bind</c>: guide section 5, journaled so rollback undoes it.</summary>
public static class VfioCommand
{
    public static Command Create(Option<string?> root, CliContext ctx)
    {
        var list = new Command("list", "QuickAssist and other SR-IOV devices: total and created VFs, drivers, IOMMU groups, NUMA nodes");
        list.SetAction(parse =>
        {
            var facts = HostFacts.Read(RootResolver.Reader(parse, root, ctx));
            var sb = new StringBuilder();
            foreach (var p in facts.Pci.Where(p => p.SriovTotalvfs > 0 || Section5_Qat.IsQatPf(p) || Section5_Qat.IsQatVf(p) || p.Physfn is not null))
            {
                var kind = Section5_Qat.IsQatPf(p) ? $"QAT {Section5_Qat.PhysicalFunctions[p.Device!]} PF" : Section5_Qat.IsQatVf(p) ? $"QAT {Section5_Qat.VirtualFunctions[p.Device!]}" : p.Physfn is not null ? "VF" : "SR-IOV PF";
                sb.Append($"{p.Address}  {kind,-18} driver {p.Driver ?? "none",-10} iommu group {p.IommuGroup?.ToString() ?? "-",-4} node {p.NumaNode?.ToString() ?? "-"}");
                if (p.SriovTotalvfs is int t) sb.Append($"  VFs {p.SriovNumvfs ?? 0}/{t}");
                if (p.Physfn is not null) sb.Append($"  of {p.Physfn}");
                sb.AppendLine();
            }
            ctx.Out.Write(sb.Length == 0 ? "no SR-IOV or QuickAssist device\n" : SafeText.ForTerminal(sb.ToString()));
            return ExitCodes.Success;
        });

        var pf = new Argument<string>("PF") { Description = "The physical function, e.g. 0000:6b:00.0" };
        var count = new Option<int>("--count") { Description = "How many virtual functions (0 removes them)", Required = true };
        var createDry = new Option<bool>("--dry-run") { Description = "Print the change and make none" };
        var createJournal = JournalOptions.Dir();
        var create = new Command("create-vfs", "Create SR-IOV virtual functions on a physical function (writes sriov_numvfs; journaled)") { pf, count, createDry, createJournal };
        create.SetAction(parse =>
        {
            var reader = RootResolver.Reader(parse, root, ctx);
            var facts = HostFacts.Read(reader);
            RequireRoot(reader, facts, parse.GetValue(createDry));
            var plan = VfioPlanner.CreateVfs(facts, reader, parse.GetValue(pf)!, parse.GetValue(count));
            return Apply(ctx, reader, parse.GetValue(createJournal), plan.Operations, "vfio create-vfs",
                parse.GetValue(createDry), plan.Notes);
        });

        var bdf = new Argument<string>("BDF") { Description = "The device (often a VF) to give to vfio-pci" };
        var bindDry = new Option<bool>("--dry-run") { Description = "Print the change and make none" };
        var bindJournal = JournalOptions.Dir();
        var bind = new Command("bind", "Bind a device to vfio-pci (driver_override, unbind, bind; journaled); refused while the IOMMU is off or its group is in use") { bdf, bindDry, bindJournal };
        bind.SetAction(parse =>
        {
            var reader = RootResolver.Reader(parse, root, ctx);
            var facts = HostFacts.Read(reader);
            RequireRoot(reader, facts, parse.GetValue(bindDry));
            var plan = VfioPlanner.Bind(facts, reader, parse.GetValue(bdf)!);
            return Apply(ctx, reader, parse.GetValue(bindJournal), plan.Operations, "vfio bind",
                parse.GetValue(bindDry), plan.Notes);
        });
        return new Command("vfio", "SR-IOV virtual functions and vfio-pci for device passthrough (guide 5)") { list, create, bind };
    }

    internal static void RequireRoot(HostReader reader, HostFacts facts, bool dryRun)
    {
        if (reader.IsLive && !dryRun && facts.Userspace.EffectiveUid != 0)
            throw new CliException(ExitCodes.Refused, "this changes the kernel's settings and needs root (or --dry-run)");
    }

    internal static int Apply(CliContext ctx, HostReader reader, string? journalDir,
        IReadOnlyList<Operation> ops, string label, bool dryRun, IReadOnlyList<string>? notes = null)
    {
        // What the kernel will do beyond the written value is said before anything is written.
        foreach (var note in notes ?? []) ctx.Line("note: " + note);
        var plan = new ApplyPlan(ops.Select((o, i) => o with { Seq = i + 1 }).ToList(), [], [], null);
        if (dryRun)
        {
            ctx.Line($"{label}: {plan.Operations.Count} change(s) planned (dry run: nothing changed)");
            foreach (var op in plan.Operations) ctx.Line($"  {op.Describe()} [{op.Section}]");
            return ExitCodes.Success;
        }
        using var layer = new ChangeLayer(reader, JournalOptions.Open(journalDir, reader));
        var crash = int.TryParse(ctx.Environment("KVMTUNE_TEST_CRASH_AFTER"), out var n) ? n : (int?)null;
        var result = layer.Apply(plan, label, new ApplyOptions(false, false, false, crash), DateTimeOffset.UtcNow, Progress.For(ctx));
        ctx.Line(result.JournalId is null ? $"{label}: nothing to change" : $"{label}: journal {result.JournalId} ('kvmtune rollback' undoes it)");
        foreach (var line in result.Lines) ctx.Line("  " + line);
        foreach (var w in result.Warnings) ctx.Error.WriteLine("kvmtune: warning: " + w);
        return ExitCodes.Success;
    }
}
