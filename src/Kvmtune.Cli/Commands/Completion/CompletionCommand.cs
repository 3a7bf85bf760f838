using System.CommandLine;
using System.Text;

namespace Kvmtune.Cli.Commands.Completion;

/// <summary>
/// <c>kvmtune completion bash</c>: the bash completion, generated from the command tree itself so it cannot drift
/// from --help (packaging/build-deb.sh installs it).
/// </summary>
public static class CompletionCommand
{
    public static Command Create(Func<Command> tree, CliContext ctx)
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
            foreach (var (path, _) in CommandTree.Walk(root, "").Where(x => x.Path.Length > 0))
            {
                var cut = path.LastIndexOf(' ');
                var parent = cut < 0 ? "" : path[..cut];
                sb.AppendLine($"            \"{parent} {path[(cut + 1)..]}\") path=\"{path}\" ;;");
            }
            sb.AppendLine("        esac");
            sb.AppendLine("    done");
            sb.AppendLine("    local words");
            sb.AppendLine("    case \"$path\" in");
            foreach (var (path, c) in CommandTree.Walk(root, ""))
            {
                var words = c
                    .Subcommands.Where(s => !s.Hidden)
                    .Select(s => s.Name)
                    .Concat(c.Options.Where(o => !o.Hidden).Select(o => o.Name))
                    .Concat(CommandTree.RecursiveOptions(root, c));
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

}
