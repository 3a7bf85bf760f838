using System.Diagnostics;

namespace Kvmtune.Vms;

/// <summary>
/// libvirt through virsh, run with an argument vector (never a shell), connected to <c>uri</c> where one is given
/// (kvmtune passes its LIBVIRT_DEFAULT_URI), else virsh's own default.
/// </summary>
public sealed class Virsh(string? uri)
{
    /// <summary>Runs virsh; a failure becomes an InvalidOperationException with virsh's own words.</summary>
    public string Run(params string[] args)
    {
        var psi = new ProcessStartInfo("virsh")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        if (uri is { Length: > 0 })
            foreach (var a in new[] { "-c", uri })
                psi.ArgumentList.Add(a);
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        Process p;
        try
        {
            p = Process.Start(psi) ?? throw new InvalidOperationException("cannot start virsh");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"cannot run virsh ({e.Message}): install libvirt-clients", e);
        }
        using (p)
        {
            var err = p.StandardError.ReadToEndAsync();
            var output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0)
                throw new InvalidOperationException($"virsh {args[0]} failed (exit {p.ExitCode}): {err.Result.Trim()}");
            return output;
        }
    }

    /// <summary>Defines a domain from its XML, through a private temporary file.</summary>
    public string Define(string xml)
    {
        var dir = Directory.CreateTempSubdirectory("kvmtune-domain-");
        var path = Path.Combine(dir.FullName, "domain.xml");
        try
        {
            File.WriteAllText(path, xml);
            return Run("define", path);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
