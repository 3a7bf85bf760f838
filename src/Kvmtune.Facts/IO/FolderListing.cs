using System.Collections;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Kvmtune.Facts.IO;

/// <summary>
/// A folder's names in ordinal order, each with the type getdents64 gave it (d_type, as in dirent.h); Contains is
/// a binary search. Under --root a read of a name in a listed folder uses it: a name the listing does not have is
/// missing without an open, and a device, FIFO or socket is refused without being opened (opening a device can
/// act: a watchdog starts its timer). A foreach over it calls List's enumerator directly: through the interfaces,
/// each loop's calls would be resolved at run time, at every start (BENCHMARKS.md).
/// </summary>
[CollectionBuilder(typeof(FolderListing), nameof(Create))]
public sealed class FolderListing : IReadOnlyList<string>, ICollection<string>
{
    // The d_type values a reader lets through to its own fstat; every other one (a folder, a device, a FIFO, a
    // socket) is refused unopened.
    public const byte Unknown = 0,
        Regular = 8,
        Link = 10;

    /// <summary>What <see cref="TypeOf"/> answers for a name the folder does not have.</summary>
    public const int Absent = -1;

    private readonly List<string> _names;
    private readonly List<byte> _types;

    /// <summary>Takes the names and their types, in the same order, and sorts both by name in place.</summary>
    public FolderListing(List<string> names, List<byte> types)
    {
        if (names.Count != types.Count)
            throw new ArgumentException("one type for each name", nameof(types));
        CollectionsMarshal.AsSpan(names).Sort(CollectionsMarshal.AsSpan(types), StringComparer.Ordinal);
        _names = names;
        _types = types;
    }

    public string this[int index] => _names[index];

    public int Count => _names.Count;

    /// <summary>The name's d_type, or <see cref="Absent"/>.</summary>
    public int TypeOf(ReadOnlySpan<char> name)
    {
        int lo = 0,
            hi = _names.Count - 1;
        while (lo <= hi)
        {
            var mid = lo + (hi - lo) / 2;
            var order = name.SequenceCompareTo(_names[mid]);
            if (order == 0)
                return _types[mid];
            if (order < 0)
                hi = mid - 1;
            else
                lo = mid + 1;
        }
        return Absent;
    }

    public bool Contains(string item) => TypeOf(item) != Absent;

    // A collection (read-only): Enumerable.Contains, which readers call, then takes the binary search.
    public bool IsReadOnly => true;

    public void CopyTo(string[] array, int arrayIndex) => _names.CopyTo(array, arrayIndex);

    public void Add(string item) => throw new NotSupportedException("a listing is read-only");

    public void Clear() => throw new NotSupportedException("a listing is read-only");

    public bool Remove(string item) => throw new NotSupportedException("a listing is read-only");

    /// <summary>A listing of these names, each of type <see cref="Unknown"/> (0): <c>r.List(path) ?? []</c>.</summary>
    public static FolderListing Create(ReadOnlySpan<string> names) => new([.. names], [.. new byte[names.Length]]);

    public List<string>.Enumerator GetEnumerator() => _names.GetEnumerator();

    IEnumerator<string> IEnumerable<string>.GetEnumerator() => GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
