using System.CommandLine;
using System.Text;
using Kvmtune.Cli.Options;
using Kvmtune.Guide.Profiles;

namespace Kvmtune.Cli.Commands.Profiles.Show;

/// <summary><c>kvmtune profiles show P</c>: every setting with its guide section, reason and sources.</summary>
public static class ProfilesShowCommand
{
    public static Command Create(Option<string?> root, CliContext ctx)
    {
        var profile = new Argument<string>("P")
        {
            Description = "A built-in profile name, a YAML file, or NAME.yaml in the profile folder",
        };
        var dirOption = ProfileOptions.ProfileDir();
        var show = new Command("show", "Show every setting of a profile, with the guide section and the reason")
        {
            profile,
            dirOption,
        };
        show.SetAction(parse =>
        {
            var dir =
                parse.GetValue(dirOption) ?? RootResolver.Reader(parse, root, ctx).Physical("/etc/kvmtune/profiles");
            Profile p;
            try
            {
                p = new ProfileCatalog(dir).Resolve(parse.GetValue(profile)!);
            }
            catch (Kvmtune.Facts.InputException e)
            {
                throw new CliException(ExitCodes.BadInput, e.Message);
            }
            var sb = new StringBuilder();
            sb.Append("profile ")
                .Append(p.Name)
                .Append(p.Inherits is null ? "" : $" (inherits {p.Inherits})")
                .Append(": ")
                .AppendLine(p.Description);
            foreach (var def in ProfileSchema.Settings)
            {
                sb.Append("  ")
                    .Append(def.Key.PadRight(28))
                    .Append(p.Text(def).PadRight(18))
                    .Append(" [")
                    .Append(def.Section)
                    .Append("] ")
                    .AppendLine(p.Reason(def));
                sb.Append("  ").Append(' ', 28).Append("sources: ").AppendLine(Sources.For(def).Text);
            }
            foreach (var (path, value) in p.SysfsWrites)
                sb.Append("  sysfs ").Append(path).Append(" = ").AppendLine(value);
            ctx.Out.Write(sb.ToString());
            return ExitCodes.Success;
        });
        return show;
    }
}
