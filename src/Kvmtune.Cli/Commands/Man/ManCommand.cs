using System.CommandLine;
using System.Text;

namespace Kvmtune.Cli.Commands.Man;

/// <summary>
/// <c>kvmtune man</c>: the kvmtune(8) man page, generated from the command tree itself so it cannot drift from
/// --help (packaging/build-deb.sh installs it).
/// </summary>
public static class ManCommand
{
    public static Command Create(Func<Command> tree, CliContext ctx)
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
            foreach (var (path, c) in CommandTree.Walk(root, "").Where(x => x.Command.Action is not null))
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

    private static string Roff(string s) => s.Replace("\\", "\\\\").Replace("-", "\\-").Replace("\n.", "\n\\&.");

    private static string Version() => typeof(ManCommand).Assembly.GetName().Version?.ToString(3) ?? "0";
}
