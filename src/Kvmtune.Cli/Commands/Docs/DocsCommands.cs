using System.CommandLine;
using System.Text;

namespace Kvmtune.Cli.Commands.Docs;

/// <summary>
/// The man page and the bash completion, generated from the command tree itself so neither can drift from
/// --help. Hidden: packaging calls them (packaging/build-deb.sh).
/// </summary>
public static class DocsCommands
{
    public static Command Man(Func<RootCommand> tree, CliContext ctx)
    {
        var command = new Command("man", "Print the kvmtune(8) man page (roff)");
        command.SetAction(_ =>
        {
            var root = tree();
            var sb = new StringBuilder();
            sb.AppendLine(
                $".TH KVMTUNE 8 \"{DateTime.UtcNow:yyyy-MM-dd}\" \"kvmtune {Version()}\" \"System Administration\""
            );
            sb.AppendLine(".SH NAME")
                .AppendLine("kvmtune \\- " + Roff((root.Description ?? "").Replace("kvmtune: ", "")));
            sb.AppendLine(".SH SYNOPSIS")
                .AppendLine(".B kvmtune")
                .AppendLine("[\\fB\\-\\-root\\fR \\fIDIR\\fR] \\fICOMMAND\\fR [\\fIOPTIONS\\fR]");
            sb.AppendLine(".SH DESCRIPTION")
                .AppendLine(
                    "kvmtune inspects a KVM/QEMU host or guest, audits it against every recommendation of Intel's " +
                        "KVM/QEMU tuning guide for 3rd Gen Xeon Scalable processors, applies the fixes with a " +
                            "crash-safe journal and rolls them back, and composes and launches tuned VMs."
                );
            sb.AppendLine(".SH COMMANDS");
            foreach (var (path, c) in Walk(root, "").Where(x => x.Command.Action is not null))
            {
                sb.AppendLine(
                    ".SS \""
                        + Roff(path + string.Concat(c.Arguments.Where(a => !a.Hidden).Select(a => $" {a.Name}")))
                        + "\""
                );
                sb.AppendLine(Roff(c.Description ?? ""));
                foreach (
                    var o in c.Options.Where(o =>
                        !o.Hidden && o.Name is not "--help" and not "-h" and not "-?" && !o.Aliases.Contains("--help")
                    )
                )
                    sb.AppendLine(".TP")
                        .AppendLine(
                            $"\\fB{Roff(o.Name)}\\fR" + (o.HelpName is null ? "" : $" \\fI{Roff(o.HelpName)}\\fR")
                        )
                        .AppendLine(Roff(o.Description ?? ""));
            }
            sb.AppendLine(".SH ENVIRONMENT")
                .AppendLine(
                    ".TP\n\\fBKVMTUNE_ROOT\\fR\nRead /sys, /proc, /dev, /boot and /etc under this folder, like " +
                        "\\-\\-root."
                )
                .AppendLine(".TP\n\\fBNO_COLOR\\fR\nNo colour in text output.");
            sb.AppendLine(".SH EXIT STATUS")
                .AppendLine(
                    "0 success; 1 a check failed; 2 bad usage or input; 3 the environment refused; 4 internal error."
                );
            sb.AppendLine(".SH FILES")
                .AppendLine(
                    ".TP\n/var/lib/kvmtune/journal\nThe apply journal: every original value, written before the " +
                        "first change."
                )
                .AppendLine(".TP\n/etc/kvmtune/profiles\nCustom profiles (NAME.yaml, inheriting a built-in one).");
            ctx.Out.Write(sb.ToString());
            return ExitCodes.Success;
        });
        return command;
    }

    public static Command Completion(Func<RootCommand> tree, CliContext ctx)
    {
        var shell = new Argument<string>("SHELL") { Description = "bash" };
        shell.AcceptOnlyFromAmong("bash");
        var command = new Command("completion", "Print the shell completion script") { shell };
        command.SetAction(_ =>
        {
            var root = tree();
            var sb = new StringBuilder();
            sb.AppendLine(
                "# bash completion for kvmtune, generated from its command tree by `kvmtune completion bash`"
            );
            sb.AppendLine("_kvmtune()");
            sb.AppendLine("{");
            sb.AppendLine("    local cur=\"${COMP_WORDS[COMP_CWORD]}\" path=\"\" w i");
            sb.AppendLine("    for ((i = 1; i < COMP_CWORD; i++)); do");
            sb.AppendLine("        w=\"${COMP_WORDS[i]}\"");
            sb.AppendLine("        case \"$w\" in -*) continue ;; esac");
            sb.AppendLine("        case \"$path $w\" in");
            foreach (var (path, _) in Walk(root, "").Where(x => x.Path.Length > 0))
            {
                var cut = path.LastIndexOf(' ');
                var parent = cut < 0 ? "" : path[..cut];
                sb.AppendLine($"            \"{parent} {path[(cut + 1)..]}\") path=\"{path}\" ;;");
            }
            sb.AppendLine("        esac");
            sb.AppendLine("    done");
            sb.AppendLine("    local words");
            sb.AppendLine("    case \"$path\" in");
            foreach (var (path, c) in Walk(root, ""))
            {
                var words = c
                    .Subcommands.Where(s => !s.Hidden)
                    .Select(s => s.Name)
                    .Concat(c.Options.Where(o => !o.Hidden).Select(o => o.Name))
                    .Concat(RecursiveOptions(root, c));
                sb.AppendLine($"        \"{path}\") words=\"{string.Join(' ', words.Distinct())}\" ;;");
            }
            sb.AppendLine("    esac");
            sb.AppendLine("    COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))");
            sb.AppendLine("}");
            sb.AppendLine("complete -F _kvmtune kvmtune");
            ctx.Out.Write(sb.ToString());
            return ExitCodes.Success;
        });
        return command;
    }

    private static IEnumerable<string> RecursiveOptions(RootCommand root, Command c) =>
        c == root ? [] : root.Options.Where(o => o.Recursive && !o.Hidden).Select(o => o.Name);

    private static IEnumerable<(string Path, Command Command)> Walk(Command c, string path)
    {
        yield return (path, c);
        foreach (var s in c.Subcommands.Where(s => !s.Hidden))
            foreach (var x in Walk(s, path.Length == 0 ? s.Name : $"{path} {s.Name}"))
                yield return x;
    }

    private static string Roff(string s) => s.Replace("\\", "\\\\").Replace("-", "\\-").Replace("\n.", "\n\\&.");

    private static string Version() => typeof(DocsCommands).Assembly.GetName().Version?.ToString(3) ?? "0";
}
