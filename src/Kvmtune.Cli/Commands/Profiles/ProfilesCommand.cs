using System.CommandLine;
using Kvmtune.Cli.Commands.Profiles.List;
using Kvmtune.Cli.Commands.Profiles.Show;

namespace Kvmtune.Cli.Commands.Profiles;

/// <summary><c>kvmtune profiles list|show</c>.</summary>
public static class ProfilesCommand
{
    public static Command Create(Option<string?> root, CliContext ctx) =>
        new("profiles", "The built-in profiles and their settings")
        {
            ProfilesListCommand.Create(root, ctx),
            ProfilesShowCommand.Create(root, ctx),
        };
}
