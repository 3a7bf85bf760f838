using Kvmtune.Changes;
using Kvmtune.Cli.Options;
using Kvmtune.Facts.Host;
using Kvmtune.Facts.IO;

namespace Kvmtune.Cli.Commands;

/// <summary>How vfio, irq and pmem carry out their device operations: said first, journaled, undone by
/// rollback.</summary>
public static class JournaledOperations
{
    internal static void RequireRoot(HostReader reader, HostFacts facts, bool dryRun)
    {
        if (reader.IsLive && !dryRun && facts.Userspace.EffectiveUid != 0)
            throw new CliException(
                ExitCodes.Refused,
                "this changes the kernel's settings and needs root (or --dry-run)"
            );
    }

    internal static int Apply(
        CliContext ctx,
        HostReader reader,
        string? journalDir,
        IReadOnlyList<Operation> ops,
        string label,
        bool dryRun,
        IReadOnlyList<string>? notes = null
    )
    {
        // What the kernel will do beyond the written value is said before anything is written.
        foreach (var note in notes ?? [])
            ctx.Line("note: " + note);
        var plan = new ApplyPlan(ops.Select((o, i) => o with { Seq = i + 1 }).ToList(), [], [], null);
        if (dryRun)
        {
            ctx.Line($"{label}: {plan.Operations.Count} change(s) planned (dry run: nothing changed)");
            foreach (var op in plan.Operations)
                ctx.Line($"  {op.Describe()} [{op.Section}]");
            return ExitCodes.Success;
        }
        using var layer = new ChangeLayer(reader, JournalOptions.Open(journalDir, reader), kernel: ctx.TreeKernel);
        var crash = int.TryParse(ctx.Environment("KVMTUNE_TEST_CRASH_AFTER"), out var n) ? n : (int?)null;
        var result = layer.Apply(
            plan,
            label,
            new ApplyOptions(false, false, false, crash),
            DateTimeOffset.UtcNow,
            Progress.For(ctx)
        );
        ctx.Line(
            result.JournalId is null
                ? $"{label}: nothing to change"
                : $"{label}: journal {result.JournalId} ('kvmtune rollback' undoes it)"
        );
        foreach (var line in result.Lines)
            ctx.Line("  " + line);
        foreach (var w in result.Warnings)
            ctx.Error.WriteLine("kvmtune: warning: " + w);
        return ExitCodes.Success;
    }
}
