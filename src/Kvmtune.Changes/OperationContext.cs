using System.Text;
using Kvmtune.Facts.Host.Devices;
using Kvmtune.Facts.IO;
using Kvmtune.Facts.Parsing;
using Kvmtune.Guide;

namespace Kvmtune.Changes;

/// <summary>What an operation may use to touch the machine: the safe tree, and the fixed programs.</summary>
public sealed class OperationContext(SafeTree tree, ProgramRunner programs)
{
    public SafeTree Tree { get; } = tree;
    public ProgramRunner Programs { get; } = programs;

    /// <summary>
    /// A kernel attribute's value as it would be written back: a choice file's selection, else its text.
    /// </summary>
    public string? ReadValue(string path)
    {
        int fd;
        try
        {
            fd = Tree.OpenAttribute(path, write: false, real => WriteAllowlist.AcceptsRealPath(path, real));
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        try
        {
            var text = SafeTree.ReadAttribute(fd)?.TrimEnd('\0', '\n', ' ');
            if (text is null)
                return null;
            return text.Contains('[') && KernelText.Choice(text).Selected is { } selected ? selected : text;
        }
        finally
        {
            NativeSys.CloseFd(fd);
        }
    }

    /// <summary>In a tree, what a killed run may have left beside an attribute it was replacing.</summary>
    public void CleanTemporaries(string path) =>
        Tree.CleanTreeAttributeTemporaries(path, real => WriteAllowlist.AcceptsRealPath(path, real));

    /// <summary>A tree attribute file's exact bytes (null on a live host, where sysfs has no bytes to keep).</summary>
    public byte[]? ReadTreeBytes(string path)
    {
        if (Tree.IsLive)
            return null;
        int fd;
        try
        {
            fd = Tree.OpenAttribute(path, write: false, real => WriteAllowlist.AcceptsRealPath(path, real));
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        try
        {
            var buffer = new byte[8192];
            var n = NativeSys.Read(fd, buffer);
            return n < 0 || n == buffer.Length ? null : buffer[..n];
        }
        finally
        {
            NativeSys.CloseFd(fd);
        }
    }

    /// <summary>Puts a tree attribute file's bytes back exactly.</summary>
    public void WriteTreeBytes(string path, byte[] bytes)
    {
        if (!WriteAllowlist.IsAllowed(path, out var why))
            throw new UnsafePathException(path, why ?? "not allowed");
        Tree.ReplaceTreeAttribute(path, bytes, real => WriteAllowlist.AcceptsRealPath(path, real));
    }

    /// <summary>Writes a value the way `echo VALUE > FILE` does (with a newline).</summary>
    public void WriteValue(string path, string value) => WriteExact(path, value + "\n");

    /// <summary>bind, unbind and new_id take the bytes as given (the guide uses echo -n).</summary>
    public void WriteExact(string path, string value)
    {
        if (!WriteAllowlist.IsAllowed(path, out var why))
            throw new UnsafePathException(path, why ?? "not allowed");
        if (!Tree.IsLive)
        {
            Tree.ReplaceTreeAttribute(
                path,
                Encoding.UTF8.GetBytes(value),
                real => WriteAllowlist.AcceptsRealPath(path, real)
            );
            return;
        }
        var fd = Tree.OpenAttribute(path, write: true, real => WriteAllowlist.AcceptsRealPath(path, real));
        try
        {
            var errno = NativeSys.WriteAll(fd, Encoding.UTF8.GetBytes(value));
            if (errno != 0)
                throw new ApplyFailedException(
                    $"{path}: the kernel refused '{value.TrimEnd('\n')}': {NativeSys.ErrorText(errno)}"
                );
        }
        finally
        {
            NativeSys.CloseFd(fd);
        }
    }

    /// <summary>A reader with nothing cached: the kernel's state just changed.</summary>
    public HostReader Fresh() => new(Tree.Root);

    /// <summary>A PF's VFs as the kernel shows them now.</summary>
    public IReadOnlyList<string> Vfs(string pf) => PciKernel.Vfs(Fresh(), pf);

    public string? CurrentDriver(string bdf)
    {
        var target = Tree.ReadLink($"/sys/bus/pci/devices/{bdf}/driver");
        return target is null ? null : target.TrimEnd('/')[(target.TrimEnd('/').LastIndexOf('/') + 1)..];
    }

    /// <summary>
    /// Moves a PCI device to another driver the way the guide does: driver_override where the kernel has it (else
    /// new_id), unbind from the current driver, bind to the new one; then checks the driver link shows it.
    /// </summary>
    /// <param name="forgetId">Undoing a move to vfio-pci: remove the id new_id taught it, whatever the device's
    /// driver is now (a bind that failed left the device with none).</param>
    public void MoveDriver(string bdf, string? from, string? to, string overrideValue, bool forgetId = false)
    {
        var dev = $"/sys/bus/pci/devices/{bdf}";
        if (ReadValue(dev + "/driver_override") is not null)
            WriteValue(dev + "/driver_override", overrideValue);
        else
        {
            // Kernels without driver_override: teach vfio-pci the device's id (the guide's new_id), and make it
            // forget it again when the device goes back.
            var id = $"{ReadPlain(dev + "/vendor")} {ReadPlain(dev + "/device")}";
            if (to == "vfio-pci")
                WriteExact("/sys/bus/pci/drivers/vfio-pci/new_id", id);
            else if (from == "vfio-pci")
                WriteExact("/sys/bus/pci/drivers/vfio-pci/remove_id", id);
            else if (forgetId)
            {
                // remove_id_store() answers ENODEV for an id it does not hold: the apply stopped before new_id.
                try
                {
                    WriteExact("/sys/bus/pci/drivers/vfio-pci/remove_id", id);
                }
                catch (ApplyFailedException) { }
            }
        }
        var current = CurrentDriver(bdf);
        if (current is not null && current != to)
            WriteExact($"/sys/bus/pci/drivers/{current}/unbind", bdf);
        if (to is not null && CurrentDriver(bdf) != to)
            WriteExact($"/sys/bus/pci/drivers/{to}/bind", bdf);
        // bind_store() and unbind_store() (drivers/base/bus.c) attach or detach through device_driver_attach() and
        // device_driver_detach() (drivers/base/dd.c), probe included, before write(2) returns: the link is final.
        if (CurrentDriver(bdf) != to)
            throw new ApplyFailedException(
                $"{bdf}: still on driver {CurrentDriver(bdf) ?? "none"} after binding " + $"to {to ?? "none"}"
            );
    }

    private string ReadPlain(string path)
    {
        var fd = Tree.OpenAttribute(path, write: false, _ => true);
        try
        {
            var text = (SafeTree.ReadAttribute(fd) ?? "").Trim().Replace("0x", "");
            return text.Length is > 0 and <= 8 && text.All(char.IsAsciiHexDigit)
                ? text
                : throw new ApplyFailedException($"{path}: not a PCI id");
        }
        finally
        {
            NativeSys.CloseFd(fd);
        }
    }

    /// <summary>A namespace's mode as the kernel shows it now (a fresh read: ndctl just changed it).</summary>
    public string? NamespaceMode(string name) =>
        DeviceReader.ReadNvdimm(new HostReader(Tree.Root)).Namespaces.FirstOrDefault(n => n.Name == name)?.Mode switch
        {
            "devdax" => "devdax",
            "fsdax" => "fsdax",
            "sector" => "sector",
            null => null,
            _ => "raw",
        };
}
