using Kvmtune.Cli;

// `kvmtune --version` alone answers before anything else is built (the command tree, the console writers, the
// reflection System.CommandLine uses for the version): it is the floor every command pays (BENCHMARKS.md).
if (args is ["--version"] && AppContext.GetData("Kvmtune.Version") is string version)
{
    new DescriptorStream(1).Write(System.Text.Encoding.UTF8.GetBytes(version + "\n"));
    return 0;
}
var ctx = CliContext.FromProcess();
var code = KvmtuneCli.Run(args, ctx);
ctx.Flush();
return code;
