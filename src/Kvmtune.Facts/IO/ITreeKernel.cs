namespace Kvmtune.Facts.IO;

/// <summary>
/// What answers a write to a kernel attribute in a tree under --root, as the kernel answers a sysfs write: before
/// the write returns, on the writing thread (a store() method runs inside write(2)). kvmtune itself has none: on a
/// live host the kernel answers, and a snapshot tree has nothing behind it. Tests give one that imitates the kernel.
/// </summary>
public interface ITreeKernel
{
    /// <summary>An attribute file was just replaced whole; the path is where its links led.</summary>
    void Written(string machinePath);
}
