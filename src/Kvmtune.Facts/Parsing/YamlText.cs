using YamlDotNet.Core;
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
}
