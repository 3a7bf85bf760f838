using System.Diagnostics;
using System.Text.RegularExpressions;
using Kvmtune.Facts.Host;

namespace Kvmtune.Vms;

/// <summary>
/// The installed QEMU as far as a VM's rendering depends on it: its path, version and the versioned machine type
/// that "q35" stands for. Probed by running the binary on this machine only; under --root the package version
/// is all there is.
/// </summary>
public sealed partial record QemuInstall(string? Path, Version? Version, string? Q35Machine, string MachineSource)
{
    public static QemuInstall FromFacts(HostFacts f) =>
        new(f.Userspace.QemuPath, f.Userspace.QemuVersion, null, "none");

    /// <summary>Runs <c>qemu -machine help</c> (an argument vector, no shell) for the q35 alias.</summary>
    public static QemuInstall Probe(HostFacts f, TimeSpan timeout)
    {
        var basic = FromFacts(f);
        if (f.Userspace.QemuPath is not string path)
            return basic;
        try
        {
            var psi = new ProcessStartInfo(path)
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            foreach (var a in new[] { "-machine", "help" })
                psi.ArgumentList.Add(a);
            using var p = Process.Start(psi);
            if (p is null)
                return basic;
            var text = p.StandardOutput.ReadToEndAsync();
            _ = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit((int)timeout.TotalMilliseconds))
            {
                p.Kill(true);
                return basic;
            }
            return AliasOfQ35(text.Result) is string m
                ? basic with
                {
                    Q35Machine = m,
                    MachineSource = $"{path} -machine help",
                }
                : basic;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return basic;
        }
    }

    /// <summary>"q35   Standard PC (Q35 + ICH9, 2009) (alias of pc-q35-7.2)" -> pc-q35-7.2.</summary>
    internal static string? AliasOfQ35(string help)
    {
        foreach (var line in help.Split('\n'))
            if (line.StartsWith("q35 ", StringComparison.Ordinal) && AliasRegex().Match(line) is { Success: true } m)
                return m.Groups[1].Value;
        return null;
    }

    [GeneratedRegex(@"\(alias of (pc-q35-[0-9.]+)\)")]
    private static partial Regex AliasRegex();
}
