namespace Kvmtune.Tests.Support;

/// <summary>A small machine tree on tmpfs, written file by file the way the kernel lays sysfs out.</summary>
public sealed class TestTree : IDisposable
{
    public TestTree()
    {
        Root = Path.Combine(Paths.Scratch, $"kvmtune-tree-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Root);
    }

    public string Root { get; }

    public string Physical(string machinePath) => Root + machinePath;

    public TestTree File(string machinePath, string content)
    {
        var p = Physical(machinePath);
        Directory.CreateDirectory(Path.GetDirectoryName(p)!);
        System.IO.File.WriteAllText(p, content);
        return this;
    }

    public TestTree Dir(string machinePath)
    {
        Directory.CreateDirectory(Physical(machinePath));
        return this;
    }

    public TestTree Link(string machinePath, string target)
    {
        var p = Physical(machinePath);
        Directory.CreateDirectory(Path.GetDirectoryName(p)!);
        System.IO.File.CreateSymbolicLink(p, target);
        return this;
    }

    public TestTree Delete(string machinePath)
    {
        var p = Physical(machinePath);
        if (Directory.Exists(p) && new DirectoryInfo(p).LinkTarget is null)
            Directory.Delete(p, true);
        else
            System.IO.File.Delete(p);
        return this;
    }

    /// <summary>Copies a fixture (or part of it) into this tree, so the test can change it.</summary>
    public TestTree CopyFrom(string sourceRoot)
    {
        var r = Processes.Run("cp", ["-a", sourceRoot + "/.", Root]);
        if (r.ExitCode != 0)
            throw new InvalidOperationException(r.Stderr);
        return this;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException) { }
    }
}
