using System.CommandLine;
using Kvmtune.Facts;
using Kvmtune.Facts.Host.Virtualization;
using Kvmtune.Facts.IO;
using Kvmtune.Guide.Profiles;

namespace Kvmtune.Cli.Options;

/// <summary>--profile and --profile-dir, shared by audit, apply and profiles show.</summary>
public static class ProfileOptions
{
    public static Option<string> Profile() =>
        new("--profile", "-p")
        {
            Description =
                $"A built-in profile ({string.Join(", ", BuiltInProfiles.Names)}), a YAML file, or NAME.yaml in the " +
                    "profile folder",
            DefaultValueFactory = _ => BuiltInProfiles.Default,
            HelpName = "P",
        };

    public static Option<string?> ProfileDir() =>
        new("--profile-dir")
        {
            Description = "Folder of custom profiles (default: /etc/kvmtune/profiles under the root)",
            HelpName = "DIR",
        };

    public static Guide.Profiles.Profile Resolve(
        ParseResult parse,
        Option<string> profile,
        Option<string?> profileDir,
        HostReader reader
    )
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

/// <summary>--role and the comma-separated id lists of --only/--skip, shared by audit and apply.</summary>
public static class AuditOptions
{
    public static Option<string> Role(string description)
    {
        var role = new Option<string>("--role") { Description = description, DefaultValueFactory = _ => "auto" };
        role.AcceptOnlyFromAmong("auto", "host", "guest");
        return role;
    }

    /// <summary>The role asked for; null for auto (the facts decide).</summary>
    public static MachineRole? RoleOf(ParseResult parse, Option<string> role) =>
        parse.GetValue(role) switch
        {
            "host" => MachineRole.Host,
            "guest" => MachineRole.Guest,
            _ => null,
        };

    public static IReadOnlyList<string> Split(string[]? values) =>
        values is null
            ? []
            : values
                .SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                .ToList();
}
