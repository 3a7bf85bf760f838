namespace Kvmtune.Tests.Support;

/// <summary>
/// Test code that makes a tree behave like sysfs where vfio work depends on it: writing a PF's sriov_numvfs
/// creates (or removes) its VFs and virtfnN links; writing a BDF to a driver's bind or unbind moves the device's
/// driver link; writing an empty driver_override reads back "(null)". The code under test is kvmtune's.
/// </summary>
public sealed class SysfsPciEmulator : IDisposable
{
    private readonly TestTree _tree;
    private readonly FileSystemWatcher _watcher;
    private readonly object _gate = new();
    private readonly string _vfDevice;
    private readonly string _vfDriver;
    private readonly int _firstGroup;

    public SysfsPciEmulator(TestTree tree, string vfDevice, string vfDriver, int firstGroup)
    {
        _tree = tree;
        _vfDevice = vfDevice;
        _vfDriver = vfDriver;
        _firstGroup = firstGroup;
        _watcher = new FileSystemWatcher(tree.Physical("/sys")) { IncludeSubdirectories = true, NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.FileName };
        _watcher.Changed += (_, e) => { lock (_gate) Handle(e.FullPath); };
        // kvmtune replaces a tree's attribute file whole (a new file renamed over it), where sysfs is written in place.
        _watcher.Renamed += (_, e) => { lock (_gate) Handle(e.FullPath); };
        _watcher.EnableRaisingEvents = true;
    }

    /// <summary>Every new_id and remove_id written, in order ("vfio-pci new_id 8086 37c9").</summary>
    public System.Collections.Concurrent.ConcurrentQueue<string> NewIds { get; } = new();

    public static void AddDriver(TestTree t, string driver)
    {
        foreach (var f in new[] { "bind", "unbind", "new_id", "remove_id" }) t.File($"/sys/bus/pci/drivers/{driver}/{f}", "");
    }

    private void Handle(string physical)
    {
        var machine = physical[_tree.Root.Length..];
        string value;
        try { value = File.ReadAllText(physical); } catch (IOException) { return; }
        if (value.Length == 0) return; // the truncate before the write
        var parts = machine.Split('/');
        if (machine.EndsWith("/sriov_numvfs") && int.TryParse(value.Trim(), out var n)) SetVfs(Path.GetDirectoryName(machine)!, n);
        else if (machine.StartsWith("/sys/bus/pci/drivers/") && parts[^1] is "new_id" or "remove_id")
        {
            NewIds.Enqueue($"{parts[^2]} {parts[^1]} {value.Trim()}");
            File.WriteAllText(physical, "");
        }
        else if (machine.StartsWith("/sys/bus/pci/drivers/") && parts[^1] is "bind" or "unbind")
        {
            var bdf = value.Trim();
            var dev = _tree.Physical($"/sys/bus/pci/devices/{bdf}");
            var link = Path.Combine(dev, "driver");
            if (parts[^1] == "unbind") { if (new FileInfo(link).LinkTarget is not null) File.Delete(link); }
            else
            {
                var overrideText = File.Exists(Path.Combine(dev, "driver_override")) ? File.ReadAllText(Path.Combine(dev, "driver_override")).Trim() : "(null)";
                if ((overrideText == "(null)" || overrideText == parts[^2]) && new FileInfo(link).LinkTarget is null)
                    File.CreateSymbolicLink(link, $"../../../bus/pci/drivers/{parts[^2]}");
            }
            File.WriteAllText(physical, "");
        }
        else if (machine.EndsWith("/driver_override") && value.Trim().Length == 0) File.WriteAllText(physical, "(null)\n");
    }

    private void SetVfs(string pfDir, int count)
    {
        var pf = Path.GetFileName(pfDir);
        foreach (var link in Directory.GetFileSystemEntries(_tree.Physical(pfDir), "virtfn*"))
        {
            var vf = Path.GetFileName(new FileInfo(link).LinkTarget!);
            var group = Path.GetFileName(new FileInfo(_tree.Physical($"/sys/devices/pci0000:30/{vf}/iommu_group")).LinkTarget!);
            Directory.Delete(_tree.Physical($"/sys/kernel/iommu_groups/{group}"));
            File.Delete(link);
            Directory.Delete(_tree.Physical($"/sys/devices/pci0000:30/{vf}"), true);
            File.Delete(_tree.Physical($"/sys/bus/pci/devices/{vf}"));
        }
        var bus = pf[..8];
        for (var i = 0; i < count; i++)
        {
            var vf = $"{bus}{1 + i / 8:x2}.{i % 8}";
            var d = $"/sys/devices/pci0000:30/{vf}";
            _tree.File($"{d}/class", "0x0b4000\n").File($"{d}/vendor", "0x8086\n").File($"{d}/device", _vfDevice + "\n")
                 .File($"{d}/numa_node", File.ReadAllText(_tree.Physical($"{pfDir}/numa_node"))).File($"{d}/driver_override", "(null)\n");
            _tree.Dir($"/sys/kernel/iommu_groups/{_firstGroup + i}");
            _tree.Link($"{d}/iommu_group", $"../../../kernel/iommu_groups/{_firstGroup + i}");
            _tree.Link($"{d}/physfn", $"../{pf}");
            _tree.Link($"{d}/driver", $"../../../bus/pci/drivers/{_vfDriver}");
            _tree.Link($"/sys/bus/pci/devices/{vf}", $"../../../devices/pci0000:30/{vf}");
            _tree.Link($"{pfDir}/virtfn{i}", $"../{vf}");
        }
    }

    /// <summary>Waits until a condition the emulation produces holds (events arrive on another thread).</summary>
    public static void WaitFor(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new Xunit.Sdk.XunitException($"timed out waiting for {what}");
            Thread.Sleep(10);
        }
    }

    public void Dispose() => _watcher.Dispose();
}
