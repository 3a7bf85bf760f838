using System.CommandLine;
using Kvmtune.Cli.Options;
using Kvmtune.Vms;

namespace Kvmtune.Cli.Commands.Vm.Stop;

/// <summary><c>kvmtune vm stop NAME</c>: a clean stop through QMP.</summary>
public static class VmStopCommand
{
    public static Command Create(CliContext ctx)
    {
        var name = new Argument<string>("NAME") { Description = "The VM to stop" };
        var runDir = VmOptions.RunDir();
        var grace = new Option<int>("--grace")
        {
            Description = "Seconds the guest gets to power down before QEMU is told to quit",
            DefaultValueFactory = _ => 10,
        };
        var command = new Command("stop", "Stop a VM cleanly through QMP (ACPI power-down, then quit)")
        {
            name,
            runDir,
            grace,
        };
        command.SetAction(parse =>
        {
            var launcher = new VmLauncher(parse.GetValue(runDir)!);
            bool stopped;
            try
            {
                stopped = launcher.Stop(
                    parse.GetValue(name)!,
                    TimeSpan.FromSeconds(parse.GetValue(grace)),
                    w => ctx.Error.WriteLine("kvmtune: warning: " + w)
                );
            }
            catch (InvalidOperationException e)
            {
                throw new CliException(ExitCodes.BadInput, e.Message);
            }
            ctx.Out.WriteLine(stopped ? $"{parse.GetValue(name)}: stopped" : $"{parse.GetValue(name)}: still running");
            return stopped ? ExitCodes.Success : ExitCodes.Refused;
        });
        return command;
    }
}
