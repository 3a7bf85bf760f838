namespace Kvmtune.Reports;

/// <summary>The head and style the audit reports share (host and vm audit), so the two pages look alike.</summary>
public static class HtmlPage
{
    /// <summary>The document's start up to the open body: the title, the shared style and any rules a page adds
    /// (lines of CSS, each ending in a newline).</summary>
    public static string Head(string title, string extraStyle = "") =>
        "<!DOCTYPE html>\n"
        + $"<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\n"
        + """
            <style>
            body { font-family: "DejaVu Sans", Verdana, sans-serif; margin: 24px; color: #222; }
            h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 28px; border-bottom: 1px solid #ccc; }
            table { border-collapse: collapse; width: 100%; font-size: 13px; }
            th, td { border: 1px solid #ddd; padding: 4px 6px; text-align: left; vertical-align: top; }
            .pass { background: #e3f4e1; } .warn { background: #fff4d6; } .fail { background: #fde0e0; }
            .info { background: #eef2f7; } .unknown { background: #f0e6f6; }
            code { font-size: 12px; white-space: pre-wrap; } .summary span { margin-right: 14px; font-weight: bold; }

            """
        + extraStyle
        + "</style></head><body>";
}
