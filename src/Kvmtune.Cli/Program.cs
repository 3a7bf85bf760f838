using Kvmtune.Cli;

return KvmtuneCli.Run(args, CliContext.FromProcess());
