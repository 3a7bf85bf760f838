using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace Kvmtune.Facts.Parsing;

/// <summary>A person's YAML, loaded; anything the YAML library refuses is bad input that names the file.</summary>
public static class YamlText
{
    public static YamlStream Load(string text, string file)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            throw new InputException(file, e.Start.Line, null, $"not valid YAML: {e.Message}");
        }
        // The library throws more than YamlException on some input: a "\ud800" escape without its low half, a
        // plain scalar of stray C1 controls (found by HostileInputPropertyTests).
        catch (Exception e)
            when (e is ArgumentException or FormatException or OverflowException or InvalidOperationException)
        {
            throw new InputException(file, null, null, $"not valid YAML: {e.Message}");
        }
        return stream;
    }

    /// <summary>
    /// The documents of a stream one at a time, each read when asked for: a spec of 10,000 VMs is never one tree in
    /// memory (which every collection while the host is read would have to copy). Errors as <see cref="Load"/>
    /// gives them, when the document that has them is reached.
    /// </summary>
    public static IEnumerable<YamlDocument> Documents(string text, string file)
    {
        var parser = new Parser(new StringReader(text));
        Guarded(file, () => parser.Consume<StreamStart>());
        while (Guarded(file, () => parser.Accept<StreamEnd>(out _) ? null : Next(parser)) is { } doc)
            yield return doc;
    }

    private static YamlDocument Next(IParser parser)
    {
        var one = new YamlStream();
        one.Load(new OneDocument(parser));
        return one.Documents[0];
    }

    /// <summary>The next document of a parser's stream, shown as a stream of its own (stream start, the document,
    /// stream end): the library builds documents only for a whole stream.</summary>
    private sealed class OneDocument(IParser inner) : IParser
    {
        private int _step;

        public ParsingEvent? Current { get; private set; }

        public bool MoveNext()
        {
            switch (_step)
            {
                case 0:
                    Current = new StreamStart();
                    break;
                case 1:
                    Current = inner.Current;
                    break;
                case 2 when Current is not DocumentEnd:
                    inner.MoveNext();
                    Current = inner.Current;
                    return Current is not null;
                case 2:
                    // Past the document's end in the stream; the next document starts there.
                    inner.MoveNext();
                    Current = new StreamEnd();
                    break;
                default:
                    Current = null;
                    return false;
            }
            _step++;
            return Current is not null;
        }
    }

    private static T Guarded<T>(string file, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (YamlException e)
        {
            throw new InputException(file, e.Start.Line, null, $"not valid YAML: {e.Message}");
        }
        catch (Exception e)
            when (e is ArgumentException or FormatException or OverflowException or InvalidOperationException)
        {
            throw new InputException(file, null, null, $"not valid YAML: {e.Message}");
        }
    }
}
