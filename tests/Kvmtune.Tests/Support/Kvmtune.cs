using Kvmtune.Cli;

namespace Kvmtune.Tests.Support;

/// <summary>Runs the kvmtune command tree in-process, with its own output streams and environment.</summary>
public static class KvmtuneRunner
{
    public static ProcessResult Run(IReadOnlyDictionary<string, string>? env, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var ctx = new CliContext(
            stdout,
            stderr,
            name => env is not null && env.TryGetValue(name, out var v) ? v : null,
            stdoutIsTerminal: false
        );
        var code = KvmtuneCli.Run(args, ctx);
        return new ProcessResult(code, stdout.ToString(), stderr.ToString());
    }

    public static ProcessResult Run(params string[] args) => Run(null, args);
}
