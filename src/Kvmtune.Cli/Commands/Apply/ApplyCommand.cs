using System.CommandLine;
using Kvmtune.Changes;
using Kvmtune.Cli.Options;
using Kvmtune.Facts.Host;
using Kvmtune.Guide.Audit;
using Kvmtune.Guide.Sections;

namespace Kvmtune.Cli.Commands.Apply;

/// <summary><c>kvmtune apply</c>: make the machine match a profile, journaled so it can be rolled back
/// exactly.</summary>
public static class ApplyCommand
{
    public static Command Create(Option<string?> root, CliContext ctx)
    {
        var profile = ProfileOptions.Profile();
        var profileDir = ProfileOptions.ProfileDir();
        var dryRun = new Option<bool>("--dry-run")
        {
            Description = "Print the plan (path, current -> new, guide section) and change nothing",
        };
        var persist = new Option<bool>("--persist")
        {
            Description =
                "Also write what survives a reboot: GRUB drop-in, modprobe.d, sysctl.d, tmpfiles.d, mount units",
        };
        var only = new Option<string[]>("--only")
        {
            Description = "Only the fixes of these finding ids, id prefixes or guide sections (comma-separated)",
            AllowMultipleArgumentsPerToken = true,
        };
        var allowReload = new Option<bool>("--allow-module-reload")
        {
            Description = "Reload kvm_intel or vhost_net to change options that need it (never while a VM runs)",
        };
        var updateBootloader = new Option<bool>("--update-bootloader")
        {
            Description = "Run update-grub (or grub2-mkconfig) after writing kernel arguments",
        };
        var journalDir = JournalOptions.Dir();
        var role = AuditOptions.Role("Apply the host or the guest recommendations; auto decides from cpuinfo and DMI");
        var hugepages = new Option<string[]>(HugepageReservation.Option)
        {
            Description =
                "Instead of a profile: set a node's pool of huge pages to COUNT pages (what 'vm plan' "
                + "prints for a VM that does not fit), e.g. 1:2M:512; comma-separated or repeated",
            HelpName = "NODE:SIZE:COUNT",
            AllowMultipleArgumentsPerToken = true,
        };
        var command = new Command(
            "apply",
            "Make the machine match a profile; every original is journaled first, and 'kvmtune rollback' restores it"
        )
        {
            profile,
            profileDir,
            dryRun,
            persist,
            only,
            allowReload,
            updateBootloader,
            journalDir,
            role,
            hugepages,
        };
        command.SetAction(parse =>
        {
            var reader = RootResolver.Reader(parse, root, ctx);
            var p = ProfileOptions.Resolve(parse, profile, profileDir, reader);
            var facts = HostFacts.Read(reader);
            var dry = parse.GetValue(dryRun);
            if (reader.IsLive && !dry && facts.Userspace.EffectiveUid != 0)
                throw new CliException(
                    ExitCodes.Refused,
                    "apply changes the kernel's settings and needs root (or --dry-run to see the plan)"
                );
            var r = AuditOptions.RoleOf(parse, role);
            var pools = AuditOptions.Split(parse.GetValue(hugepages));
            var report =
                pools.Count > 0
                    ? HugepageApply.Report(parse, profile, only, pools, facts, r ?? facts.Virtualization.Role)
                    : Auditor.Audit(reader, facts, p, r, null, AuditOptions.Split(parse.GetValue(only)));
            var crash = int.TryParse(ctx.Environment("KVMTUNE_TEST_CRASH_AFTER"), out var n) ? n : (int?)null;
            var options = new ApplyOptions(
                parse.GetValue(persist),
                parse.GetValue(allowReload),
                parse.GetValue(updateBootloader),
                crash
            );
            using var layer = new ChangeLayer(
                reader,
                JournalOptions.Open(parse, journalDir, reader),
                kernel: ctx.TreeKernel
            );
            var plan = layer.Plan(facts, report, options);
            if (dry)
            {
                ctx.Line(
                    $"apply {What(report, p)}: {plan.Operations.Count} change(s) planned (dry run: nothing changed)"
                );
                foreach (var op in plan.Operations)
                    ctx.Line($"  {op.Describe()} [{op.Section}] ({op.FindingId})");
                Trailer(ctx, plan);
                return ExitCodes.Success;
            }
            var result = layer.Apply(plan, report.Profile, options, DateTimeOffset.UtcNow, Progress.For(ctx));
            ctx.Line(
                result.JournalId is null
                    ? $"apply {What(report, p)}: nothing to change"
                    : $"apply {What(report, p)}: journal {result.JournalId}"
            );
            foreach (var line in result.Lines)
                ctx.Line("  " + line);
            foreach (var w in result.Warnings)
                ctx.Error.WriteLine("kvmtune: warning: " + w);
            Trailer(ctx, plan);
            if (plan.BootloaderCommand is not null && options.UpdateBootloader && reader.IsLive)
                RunBootloader(ctx, plan.BootloaderCommand);
            return ExitCodes.Success;
        });
        return command;
    }

    private static string What(AuditReport report, Guide.Profiles.Profile p) =>
        report.Profile.StartsWith("--", StringComparison.Ordinal) ? report.Profile : $"--profile {p.Name}";

    private static void Trailer(CliContext ctx, ApplyPlan plan)
    {
        // On stderr, so the plan and result lines a script reads stay as they were.
        foreach (var n in plan.NotPersisted)
            ctx.Error.WriteLine("kvmtune: note: " + n);
        foreach (var s in plan.Skipped)
            ctx.Line("  skipped: " + s);
        foreach (var m in plan.Manual)
            ctx.Line("  by hand: " + m);
        if (plan.BootloaderCommand is not null)
            ctx.Line($"  then: {plan.BootloaderCommand} and reboot for the kernel arguments");
    }

    /// <summary>
    /// Runs the bootloader update the plan names, only as one of the fixed programs found in the system folders
    /// (never a bare name, which .NET would also look up in the current folder); the fallback text is not run.
    /// </summary>
    private static void RunBootloader(CliContext ctx, string command)
    {
        SystemProgram? program = command switch
        {
            "update-grub" => SystemProgram.UpdateGrub,
            "grub2-mkconfig -o /boot/grub2/grub.cfg" => SystemProgram.Grub2Mkconfig,
            "grub-mkconfig -o /boot/grub/grub.cfg" => SystemProgram.GrubMkconfig,
            _ => null,
        };
        if (program is null)
        {
            ctx.Line($"  no bootloader tool found: run {command} yourself");
            return;
        }
        var args = command.Split(' ').Skip(1).ToList();
        try
        {
            new ProgramRunner().Run(program.Value, args);
            ctx.Line($"  {command}: done");
        }
        catch (ApplyFailedException e)
        {
            ctx.Line($"  {command}: {e.Message}");
        }
    }
}
