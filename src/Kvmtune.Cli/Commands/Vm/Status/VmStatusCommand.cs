using System.CommandLine;
using System.Text;
using Kvmtune.Cli.Options;
using Kvmtune.Facts.Parsing;
using Kvmtune.Vms;

namespace Kvmtune.Cli.Commands.Vm.Status;

/// <summary><c>kvmtune vm status [NAME]</c>: the kernel's view of each VM thread's CPUs.</summary>
public static class VmStatusCommand
{
    public static Command Create(CliContext ctx)
    {
        var name = new Argument<string?>("NAME")
        {
            Description = "The VM (default: every VM kvmtune started)",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var runDir = VmOptions.RunDir();
        var command = new Command("status", "The running VMs and the CPUs the kernel reports for each of their threads")
        {
            name,
            runDir,
        };
        command.SetAction(parse =>
        {
            var launcher = new VmLauncher(parse.GetValue(runDir)!);
            var states = parse.GetValue(name) is string n
                ?
                [
                    launcher.TryLoad(n)
                        ?? throw new CliException(ExitCodes.BadInput, $"no VM '{n}' in {launcher.RunDir}"),
                ]
                : launcher.All();
            var sb = new StringBuilder();
            foreach (var s in states)
            {
                var alive = VmLauncher.Alive(s.Pid);
                sb.Append(s.Name)
                    .Append(": PID ")
                    .Append(s.Pid)
                    .Append(alive ? " running" : " not running")
                    .AppendLine();
                if (!alive)
                    continue;
                foreach (var t in VmLauncher.Threads(s.Pid))
                {
                    var planned = s.Pins.FirstOrDefault(p => p.Tid == t.Tid);
                    var expected = planned is null ? "" : CpuList.Format(planned.Cpus);
                    sb.Append($"  {t.Tid,-8} {t.Name,-18} CPUs {t.CpusAllowed,-10}")
                        .Append(
                            planned is null ? "(not pinned by kvmtune)"
                            : t.CpusAllowed == expected ? $"({planned.Role}, as planned)"
                            : $"({planned.Role}, planned {expected})"
                        )
                        .AppendLine();
                }
            }
            if (states.Count == 0)
                sb.AppendLine("no VMs started by kvmtune");
            ctx.Out.Write(sb.ToString());
            return ExitCodes.Success;
        });
        return command;
    }
}
