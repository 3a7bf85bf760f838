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
