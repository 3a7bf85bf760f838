using Kvmtune.Cli;

// Through ./kvmtune, a binary older than its sources gives way to a build before it does anything.
if (LauncherCheck.RunLauncherIfStale() is { } launcherFailed)
    return launcherFailed;
// `kvmtune --version` alone answers before anything else is built (the command tree, the console writers, the
// reflection System.CommandLine uses for the version): it is the floor every command pays (BENCHMARKS.md).
if (args is ["--version"] && AppContext.GetData("Kvmtune.Version") is string version)
{
    try
    {
        new DescriptorStream(1).Write(System.Text.Encoding.UTF8.GetBytes(version + "\n"));
    }
    catch (IOException e)
    {
        return OutputFailed(e);
    }
    return 0;
}
var ctx = CliContext.FromProcess();
var code = KvmtuneCli.Run(args, ctx);
try
{
    // Text under 16 Ki characters is written here, after the command: a full disk or a closed stdout is still
    // an error of the run, said in a sentence rather than as the runtime's unhandled-exception abort.
    ctx.Flush();
}
catch (IOException e)
{
    return OutputFailed(e);
}
return code;

static int OutputFailed(IOException e)
{
    Console.Error.WriteLine(OutputException.Sentence(e));
    return ExitCodes.Internal;
}
