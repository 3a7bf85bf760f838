using Kvmtune.Cli;

var ctx = CliContext.FromProcess();
var code = KvmtuneCli.Run(args, ctx);
ctx.Out.Flush();
return code;
