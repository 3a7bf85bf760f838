using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Kvmtune.Reports;

/// <summary>
/// Documents written through the source generator's writer itself. <c>JsonSerializer</c> would first configure the
/// metadata of every type in the document, reading their attributes by reflection (a quarter of a short inspect
/// run), which the generated code has already compiled in; the bytes are the same.
/// </summary>
public static class JsonText
{
    public static string Write<T>(T value, JsonTypeInfo<T> type)
    {
        var buffer = new ArrayBufferWriter<byte>(16 << 10);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions(type.Options)))
            Write(writer, value, type);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public static void Write<T>(Utf8JsonWriter writer, T value, JsonTypeInfo<T> type)
    {
        if (type.SerializeHandler is { } handler)
            handler(writer, value);
        else
            JsonSerializer.Serialize(writer, value, type);
    }

    /// <summary>What the generated serializer wrote kvmtune's documents with: indented, the default escaping (made
    /// only when a string needs it: <see cref="DefaultJsonEncoder"/>).</summary>
    public static readonly JsonWriterOptions Indented = new()
    {
        Indented = true,
        Encoder = DefaultJsonEncoder.Instance,
    };

    /// <summary>A document written by hand (<c>InspectJsonWriter</c>, <c>AuditJson</c>), as text.</summary>
    public static string Write(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(16 << 10);
        using (var writer = new Utf8JsonWriter(buffer, Indented))
            write(writer);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>
    /// A document and its closing newline written to a stream through one 16 KiB buffer, passed on whenever the
    /// writer asks for more room.
    /// A writer made over the stream itself grows its buffer by doubling from 256 bytes until it is flushed: for a
    /// 20 KB inspect document, 64 KB of zeroed allocations, a fifth of what the whole command allocates.
    /// </summary>
    public static void WriteLine(Stream utf8, Action<Utf8JsonWriter> write)
    {
        var buffer = new StreamChunks(utf8);
        using (var writer = new Utf8JsonWriter(buffer, Indented))
            write(writer);
        buffer.GetSpan(1)[0] = (byte)'\n';
        buffer.Advance(1);
        buffer.Drain();
    }

    private sealed class StreamChunks(Stream stream) : IBufferWriter<byte>
    {
        private byte[] _buffer = new byte[16 << 10];
        private int _written;

        public void Advance(int count)
        {
            if (count < 0 || count > _buffer.Length - _written)
                throw new ArgumentOutOfRangeException(nameof(count), "more bytes than the buffer handed out");
            _written += count;
        }

        // Room first: it may replace the buffer, which `_buffer.AsMemory(Room(...))` would read before the call.
        public Memory<byte> GetMemory(int sizeHint = 0)
        {
            var start = Room(sizeHint);
            return _buffer.AsMemory(start);
        }

        public Span<byte> GetSpan(int sizeHint = 0)
        {
            var start = Room(sizeHint);
            return _buffer.AsSpan(start);
        }

        /// <summary>Where the next bytes go: after what is written, once the buffer has been passed on if
        /// the writer needs more than is left (a larger buffer only for a single value longer than it).</summary>
        private int Room(int sizeHint)
        {
            sizeHint = Math.Max(sizeHint, 1);
            if (_buffer.Length - _written >= sizeHint)
                return _written;
            Drain();
            if (_buffer.Length < sizeHint)
                _buffer = new byte[sizeHint];
            return 0;
        }

        public void Drain()
        {
            stream.Write(_buffer, 0, _written);
            _written = 0;
        }
    }

    /// <summary>A property holding a list of strings, or null, as the serializer writes one.</summary>
    public static void Strings(Utf8JsonWriter w, ReadOnlySpan<byte> name, IReadOnlyList<string>? values)
    {
        w.WritePropertyName(name);
        if (values is null)
        {
            w.WriteNullValue();
            return;
        }
        w.WriteStartArray();
        for (var i = 0; i < values.Count; i++)
            w.WriteStringValue(values[i]);
        w.WriteEndArray();
    }

    /// <summary>The writer settings the serializer would use for these options.</summary>
    public static JsonWriterOptions WriterOptions(JsonSerializerOptions o) =>
        new()
        {
            Indented = o.WriteIndented,
            Encoder = o.Encoder ?? DefaultJsonEncoder.Instance,
            IndentCharacter = o.IndentCharacter,
            IndentSize = o.IndentSize,
            NewLine = o.NewLine,
            MaxDepth = o.MaxDepth,
        };
}
