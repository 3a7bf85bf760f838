namespace Kvmtune.Cli.Options;

/// <summary>A one-line counter on a terminal ("[3/42] /sys/..."), nothing at all elsewhere.</summary>
public static class Progress
{
    public static Action<int, int, string>? For(CliContext ctx) =>
        !ctx.ShowProgress
            ? null
            : (done, total, what) =>
            {
                ctx.Error.Write($"\r\e[K[{done}/{total}] {what}");
                if (done == total)
                    ctx.Error.WriteLine();
                ctx.Error.Flush();
            };
}
