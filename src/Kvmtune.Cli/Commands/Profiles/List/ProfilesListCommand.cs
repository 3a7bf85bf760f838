using System.CommandLine;
using System.Text;
using Kvmtune.Cli.Options;
using Kvmtune.Guide.Profiles;

namespace Kvmtune.Cli.Commands.Profiles.List;

/// <summary><c>kvmtune profiles list</c>: the built-in profiles and the custom ones in the profile folder.</summary>
public static class ProfilesListCommand
{
    public static Command Create(Option<string?> root, CliContext ctx)
    {
        var list = new Command("list", "List the built-in profiles and the custom ones in the profile folder");
        var listDir = ProfileOptions.ProfileDir();
        list.Add(listDir);
        list.SetAction(parse =>
        {
            var sb = new StringBuilder();
            foreach (var name in BuiltInProfiles.Names)
                sb.Append(name.PadRight(12))
                    .Append(name == BuiltInProfiles.Default ? "(default) " : "")
                    .AppendLine(BuiltInProfiles.Get(name)!.Description);
            var dir =
                parse.GetValue(listDir) ?? RootResolver.Reader(parse, root, ctx).Physical("/etc/kvmtune/profiles");
            foreach (var (name, file) in new ProfileCatalog(dir).Custom())
                sb.Append(name.PadRight(12)).Append("custom: ").AppendLine(file);
            ctx.Out.Write(sb.ToString());
            return ExitCodes.Success;
        });
        return list;
    }
}
