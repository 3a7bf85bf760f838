using System.CommandLine;

namespace Kvmtune.Cli.Options;

/// <summary>The options every read-only command takes.</summary>
public static class GlobalOptions
{
    public static Option<string?> Root() =>
        new("--root")
        {
            Description = "Read /sys, /proc, /dev, /boot and /etc under DIR instead of / (also KVMTUNE_ROOT)",
            HelpName = "DIR",
            Recursive = true,
        };

    public static Option<string> Format(params string[] formats)
    {
        var o = new Option<string>("--format")
        {
            Description = $"Output format: {string.Join(", ", formats)}",
            DefaultValueFactory = _ => formats[0],
        };
        o.AcceptOnlyFromAmong(formats);
        return o;
    }
}
