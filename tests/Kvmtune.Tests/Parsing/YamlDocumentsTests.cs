using System.Text;
using AwesomeAssertions;
using CsCheck;
using Kvmtune.Facts;
using Kvmtune.Facts.Parsing;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Kvmtune.Tests.Parsing;

/// <summary>
/// VM specs are read a document at a time (issue #15: a spec of 10,000 VMs is never one tree in memory). The oracle
/// is YamlDotNet's own whole-stream loader, <see cref="YamlStream.Load(TextReader)"/>: the same documents, the same
/// nodes and lines, and an error where it finds one, on the line it names.
/// </summary>
public sealed class YamlDocumentsTests
{
    // Pieces of streams: documents with and without markers, directives, anchors, comments, flow and block
    // styles, empty documents, and pieces that break the stream.
    private static readonly string[] Pieces =
    [
        "name: a\nvcpus: 2\n",
        "---\nname: b\n",
        "--- \n",
        "...\n",
        "%YAML 1.2\n---\nx: 1\n",
        "---\nbase: &b {x: 1, y: [1, 2]}\nuse: *b\n",
        "# only a comment\n",
        "--- plain scalar\n",
        "---\n- 1\n- [a, b]\n- {c: d}\n",
        "---\nlong: |\n  line one\n  line two\n",
        "---\nkey: \"\\u00e9t\\u00e9\"\n",
        "---\n[unclosed\n",
        "---\nkey: : bad\n",
        "---\n*undefined\n",
        "\t tab: start\n",
        "%TAG ! tag:example.com,2000:\n---\nx: !foo 1\n",
    ];

    private static readonly Gen<string> Streams = Gen.Int[0, Pieces.Length - 1]
        .Array[0, 6]
        .Select(picks => string.Concat(picks.Select(i => Pieces[i])));

    [Fact]
    public void Each_stream_gives_the_documents_or_the_error_the_whole_stream_loader_gives()
    {
        Streams.Sample(
            text =>
            {
                var (expected, error) = Whole(text);
                List<string> got = [];
                InputException? thrown = null;
                try
                {
                    foreach (var doc in YamlText.Documents(text, "specs.yaml"))
                        got.Add(Dump(doc));
                }
                catch (InputException e)
                {
                    thrown = e;
                }
                if (error is null)
                {
                    thrown.Should().BeNull(text);
                    got.Should().Equal(expected, text);
                    return;
                }
                thrown.Should().NotBeNull(text);
                thrown!.File.Should().Be("specs.yaml");
                thrown.Line.Should().Be(error.Value.Line, text);
                thrown.Problem.Should().Be($"not valid YAML: {error.Value.Message}", text);
            },
            iter: 3000
        );
    }

    [Fact]
    public void A_document_is_given_before_the_rest_of_the_stream_is_read()
    {
        using var docs = YamlText.Documents("name: a\n---\n[unclosed\n", "specs.yaml").GetEnumerator();
        docs.MoveNext().Should().BeTrue();
        ((YamlMappingNode)docs.Current.RootNode).Children[new YamlScalarNode("name")].ToString().Should().Be("a");
        var next = () => docs.MoveNext();
        next.Should().Throw<InputException>().Which.Message.Should().Contain("not valid YAML");
    }

    /// <summary>The documents YamlStream loads, dumped; or, where it refuses the stream, what its error says: the
    /// line it names, or none for the errors that are not YamlExceptions.</summary>
    private static (List<string> Docs, (long? Line, string Message)? Error) Whole(string text)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
            return ([.. stream.Documents.Select(Dump)], null);
        }
        catch (YamlException e)
        {
            return ([], (e.Start.Line, e.Message));
        }
        catch (Exception e)
            when (e is ArgumentException or FormatException or OverflowException or InvalidOperationException)
        {
            return ([], (null, e.Message));
        }
    }

    private static string Dump(YamlDocument doc)
    {
        var sb = new StringBuilder();
        Dump(doc.RootNode, sb);
        return sb.ToString();
    }

    private static void Dump(YamlNode node, StringBuilder sb)
    {
        sb.Append('@').Append(node.Start.Line).Append(':').Append(node.Start.Column).Append(node.Tag.ToString());
        switch (node)
        {
            case YamlScalarNode s:
                sb.Append('"').Append(s.Value).Append('"').Append(s.Style);
                break;
            case YamlSequenceNode q:
                sb.Append('[');
                foreach (var c in q.Children)
                    Dump(c, sb.Append(','));
                sb.Append(']');
                break;
            case YamlMappingNode m:
                sb.Append('{');
                foreach (var (k, v) in m.Children)
                {
                    Dump(k, sb.Append(','));
                    Dump(v, sb.Append(':'));
                }
                sb.Append('}');
                break;
            default:
                sb.Append(node.GetType().Name);
                break;
        }
    }
}
