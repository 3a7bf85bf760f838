using System.Globalization;

namespace Kvmtune.Tests.Support;

/// <summary>
/// The built image's symbols, as nm reads them from the file StripSymbols keeps beside the binary
/// (<c>kvmtune.dbg</c>): each defined symbol's address, nm's one-letter type and its name.
/// </summary>
public static class ImageSymbols
{
    public static IReadOnlyList<(ulong Address, string Type, string Name)> Read(string binary)
    {
        var dbg = binary + ".dbg";
        if (!File.Exists(dbg))
            throw new InvalidOperationException($"{dbg} is missing: StripSymbols keeps the symbols beside the binary");
        var nm = Processes.Run("nm", "--defined-only", dbg);
        if (nm.ExitCode != 0)
            throw new InvalidOperationException($"nm exited {nm.ExitCode}: {nm.Stderr}");
        var symbols = new List<(ulong, string, string)>();
        foreach (var line in nm.Stdout.Split('\n'))
        {
            // "000000000049ddd0 t S_P_CoreLib_..."; names hold no space.
            var f = line.Split(' ', 3);
            if (f.Length == 3)
                symbols.Add((ulong.Parse(f[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture), f[1], f[2]));
        }
        return symbols;
    }
}
