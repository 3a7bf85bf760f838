using System.CommandLine;
using System.Text;
using Kvmtune.Cli.Commands.Audit;
using Kvmtune.Guide.Profiles;
using Kvmtune.Facts;

using Kvmtune.Cli.Options;

namespace Kvmtune.Cli.Commands.Profiles;

/// <summary><c>kvmtune profiles list|show</c>: the built-in profiles, and every setting of one with its section and reason.</summary>
public static class ProfilesCommand
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
                sb.Append(name.PadRight(12)).Append(name == BuiltInProfiles.Default ? "(default) " : "").AppendLine(BuiltInProfiles.Get(name)!.Description);
            var dir = parse.GetValue(listDir) ?? RootResolver.Reader(parse, root, ctx).Physical("/etc/kvmtune/profiles");
            if (Directory.Exists(dir))
                foreach (var file in Directory.GetFiles(dir, "*.yaml").Order(StringComparer.Ordinal))
                    sb.Append(Path.GetFileNameWithoutExtension(file).PadRight(12)).Append("custom: ").AppendLine(file);
            ctx.Out.Write(sb.ToString());
            return ExitCodes.Success;
        });

        var profile = new Argument<string>("P") { Description = "A built-in profile name, a YAML file, or NAME.yaml in the profile folder" };
        var dirOption = ProfileOptions.ProfileDir();
        var show = new Command("show", "Show every setting of a profile, with the guide section and the reason") { profile, dirOption };
        show.SetAction(parse =>
        {
            var dir = parse.GetValue(dirOption) ?? RootResolver.Reader(parse, root, ctx).Physical("/etc/kvmtune/profiles");
            Profile p;
            try { p = new ProfileCatalog(dir).Resolve(parse.GetValue(profile)!); }
            catch (Facts.InputException e) { throw new CliException(ExitCodes.BadInput, e.Message); }
            var sb = new StringBuilder();
            sb.Append("profile ").Append(p.Name).Append(p.Inherits is null ? "" : $" (inherits {p.Inherits})").Append(": ").AppendLine(p.Description);
            foreach (var def in ProfileSchema.Settings)
            {
                var s = p.Settings[def.Key];
                sb.Append("  ").Append(def.Key.PadRight(28)).Append(s.Value.Text.PadRight(18)).Append(" [").Append(def.Section).Append("] ").AppendLine(s.Reason);
                sb.Append("  ").Append(' ', 28).Append("sources: ").AppendLine(Sources.For(def.Key).Text);
            }
            foreach (var (path, value) in p.SysfsWrites)
                sb.Append("  sysfs ").Append(path).Append(" = ").AppendLine(value);
            ctx.Out.Write(sb.ToString());
            return ExitCodes.Success;
        });
        return new Command("profiles", "The built-in profiles and their settings") { list, show };
    }
}
