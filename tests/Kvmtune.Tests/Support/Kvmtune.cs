using Kvmtune.Cli;
using Kvmtune.Facts.IO;

namespace Kvmtune.Tests.Support;

/// <summary>Runs the kvmtune command tree in-process, with its own output streams and environment.</summary>
public static class KvmtuneRunner
{
    public static ProcessResult Run(IReadOnlyDictionary<string, string>? env, params string[] args) =>
        Run(env, null, args);

    /// <summary>A run whose attribute writes in the --root tree <paramref name="kernel"/> answers before they
    /// return.</summary>
    public static ProcessResult Run(ITreeKernel kernel, params string[] args) => Run(null, kernel, args);

    public static ProcessResult Run(params string[] args) => Run(null, null, args);

    private static ProcessResult Run(IReadOnlyDictionary<string, string>? env, ITreeKernel? kernel, string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var ctx = new CliContext(
            stdout,
            stderr,
            name => env is not null && env.TryGetValue(name, out var v) ? v : null,
            stdoutIsTerminal: false
        )
        {
            TreeKernel = kernel,
        };
        var code = KvmtuneCli.Run(args, ctx);
        return new ProcessResult(code, stdout.ToString(), stderr.ToString());
    }
}
