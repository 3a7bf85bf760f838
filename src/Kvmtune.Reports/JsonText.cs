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

    /// <summary>What the generated serializer wrote kvmtune's documents with: indented, the default encoder.</summary>
    public static readonly JsonWriterOptions Indented = new() { Indented = true };

    /// <summary>A document written by hand (<c>InspectJsonWriter</c>, <c>AuditJson</c>), as text.</summary>
    public static string Write(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(16 << 10);
        using (var writer = new Utf8JsonWriter(buffer, Indented))
            write(writer);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
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
        foreach (var v in values)
            w.WriteStringValue(v);
        w.WriteEndArray();
    }

    /// <summary>The writer settings the serializer would use for these options.</summary>
    public static JsonWriterOptions WriterOptions(JsonSerializerOptions o) =>
        new()
        {
            Indented = o.WriteIndented,
            Encoder = o.Encoder,
            IndentCharacter = o.IndentCharacter,
            IndentSize = o.IndentSize,
            NewLine = o.NewLine,
            MaxDepth = o.MaxDepth,
        };
}
