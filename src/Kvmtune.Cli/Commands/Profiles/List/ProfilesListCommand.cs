using System.CommandLine;
using System.Text;
using Kvmtune.Cli.Options;
using Kvmtune.Facts.Parsing;
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
                // Named by the files in a folder: a newline or escape in a name is shown, not obeyed.
                sb.Append(SafeText.Visible(name).PadRight(12)).Append("custom: ").AppendLine(SafeText.Visible(file));
            ctx.Out.Write(sb.ToString());
            return ExitCodes.Success;
        });
        return list;
    }
}
