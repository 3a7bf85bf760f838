using System.CommandLine;
using Kvmtune.Cli.Commands.Irq.Pin;

namespace Kvmtune.Cli.Commands.Irq;

/// <summary><c>kvmtune irq pin</c>.</summary>
public static class IrqCommand
{
    public static Command Create(Option<string?> root, CliContext ctx) =>
        new Command("irq", "Device interrupt affinity (guide 3.2.1)") { IrqPinCommand.Create(root, ctx) };
}
