using System.CommandLine;
using Kvmtune.Core;
using Kvmtune.Core.Audit;
using Kvmtune.Core.Host;
using Kvmtune.Core.Host.Virtualization;
using Kvmtune.Core.Output;
using Kvmtune.Core.Output.Audit;
using Kvmtune.Core.Profiles;

namespace Kvmtune.Cli.Commands.Audit;

/// <summary><c>kvmtune audit</c>: every recommendation of the guide checked against a profile.</summary>
public static class AuditCommand
{
    public static Command Create(Option<string?> root, CliContext ctx)
    {
        var profile = ProfileOptions.Profile();
        var profileDir = ProfileOptions.ProfileDir();
        var role = new Option<string>("--role") { Description = "Audit as a host or a guest; auto decides from cpuinfo and DMI", DefaultValueFactory = _ => "auto" };
        role.AcceptOnlyFromAmong("auto", "host", "guest");
        var format = GlobalOptions.Format("text", "json", "html", "prometheus");
        var planSpec = new Option<string?>("--plan") { Description = "With --format html: a VM spec file whose placement the host picture shows", HelpName = "SPEC" };
        var output = new Option<string?>("--output", "-o") { Description = "Write to FILE (atomically) instead of stdout", HelpName = "FILE" };
        var only = new Option<string[]>("--only") { Description = "Only these finding ids, id prefixes or guide sections (comma-separated)", AllowMultipleArgumentsPerToken = true };
        var skip = new Option<string[]>("--skip") { Description = "Leave out these finding ids, id prefixes or guide sections (comma-separated)", AllowMultipleArgumentsPerToken = true };
        var vmSize = new Option<string?>("--vm-size") { Description = "Also count how many VMs of this size fit per node, e.g. 4c8g", HelpName = "SIZE" };
        var details = new Option<bool>("--details") { Description = "Show each finding's id, reason, evidence and every fix" };
        var command = new Command("audit", "Check the machine against every recommendation of the tuning guide, for a profile (exit 1 when anything fails)")
        { profile, profileDir, role, format, output, only, skip, vmSize, details, planSpec };
        command.SetAction(parse =>
        {
            var reader = RootResolver.Reader(parse, root, ctx);
            var p = ProfileOptions.Resolve(parse, profile, profileDir, reader);
            var size = parse.GetValue(vmSize) is string s ? VmSize.Parse(s) : null;
            var facts = HostFacts.Read(reader);
            var r = parse.GetValue(role) switch { "host" => MachineRole.Host, "guest" => MachineRole.Guest, _ => facts.Virtualization.Role };
            var report = Auditor.Run(new AuditContext(facts, p, r, size, AuditContext.ReadProfileValues(reader, p)), Split(parse.GetValue(only)), Split(parse.GetValue(skip)));
            var content = parse.GetValue(format) switch
            {
                "json" => AuditJson.Render(report),
                "prometheus" => AuditPrometheusRenderer.Render(report, DateTimeOffset.UtcNow),
                "html" => AuditHtmlRenderer.Render(report, facts, Vm.PlanPicture.Load(reader, facts, parse.GetValue(planSpec)), DateTimeOffset.UtcNow),
                _ => AuditTextRenderer.Render(report, new TextStyle(ctx.Colour && parse.GetValue(output) is null), parse.GetValue(details)),
            };
            OutputFile.Write(ctx, parse.GetValue(output), content);
            return report.AnyFail ? ExitCodes.Failing : ExitCodes.Success;
        });
        return command;
    }

    internal static IReadOnlyList<string> Split(string[]? values) =>
        values is null ? [] : values.SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();
}

/// <summary>--profile and --profile-dir, shared by audit, apply and profiles show.</summary>
public static class ProfileOptions
{
    public static Option<string> Profile() => new("--profile", "-p")
    {
        Description = $"A built-in profile ({string.Join(", ", BuiltInProfiles.Names)}), a YAML file, or NAME.yaml in the profile folder",
        DefaultValueFactory = _ => BuiltInProfiles.Default,
        HelpName = "P",
    };

    public static Option<string?> ProfileDir() => new("--profile-dir") { Description = "Folder of custom profiles (default: /etc/kvmtune/profiles under the root)", HelpName = "DIR" };

    public static Core.Profiles.Profile Resolve(ParseResult parse, Option<string> profile, Option<string?> profileDir, Core.IO.HostReader reader)
    {
        var dir = parse.GetValue(profileDir) ?? reader.Physical("/etc/kvmtune/profiles");
        try
        {
            return new ProfileCatalog(dir).Resolve(parse.GetValue(profile)!);
        }
        catch (InputException e)
        {
            throw new CliException(ExitCodes.BadInput, e.Message);
        }
    }
}
