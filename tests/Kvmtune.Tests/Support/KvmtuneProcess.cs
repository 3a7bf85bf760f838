namespace Kvmtune.Tests.Support;

/// <summary>
/// Runs kvmtune as its own process: the native binary test.sh builds (KVMTUNE_BIN), else the CLI assembly the
/// test project carries. Needed where kvmtune must be able to die (KVMTUNE_TEST_CRASH_AFTER) or run as another user.
/// </summary>
public static class KvmtuneProcess
{
    public static ProcessResult Run(IDictionary<string, string>? env, params string[] args)
    {
        var bin = Environment.GetEnvironmentVariable("KVMTUNE_BIN");
        if (!string.IsNullOrEmpty(bin) && File.Exists(bin))
            return Processes.Run(bin, args, env);
        return Processes.Run("dotnet", [Path.Combine(AppContext.BaseDirectory, "kvmtune.dll"), .. args], env);
    }

    public static ProcessResult Run(params string[] args) => Run(null, args);

    /// <summary>The native binary itself, for tests that run it under another program (strace).</summary>
    public static string Binary =>
        Environment.GetEnvironmentVariable("KVMTUNE_BIN") is { Length: > 0 } bin && File.Exists(bin)
            ? bin
            : throw new InvalidOperationException("KVMTUNE_BIN must name the native binary (test.sh sets it)");
}
