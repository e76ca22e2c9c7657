using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace Meta.Hosting;

/// <summary>
/// <c>index.html</c>: a run's (or a comparison's) Markdown summary as one self-contained page a person opens in a
/// browser without a server — headings, lists, tables, the plots embedded as data URIs, links to the CSV files beside
/// it. Written as well-formed XHTML, so a test can check it with an XML parser.
/// </summary>
public static partial class ResultsPage
{
    /// <summary>The page's file name.</summary>
    public const string FileName = "index.html";

    /// <summary>
    /// Renders <paramref name="markdown"/> (the subset Meta writes) into <paramref name="folder"/>/index.html; images it
    /// names are read from the folder and embedded, and the folder's CSV files are linked at the end.
    /// </summary>
    public static string Write(string folder, string title, string markdown)
    {
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(markdown);
        var body = new StringBuilder();
        var lines = markdown.Replace("\r", "", StringComparison.Ordinal).Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            if (line.Length == 0) continue;
            if (line.StartsWith("## ", StringComparison.Ordinal)) body.Append("<h2>").Append(Inline(folder, line[3..])).AppendLine("</h2>");
            else if (line.StartsWith("# ", StringComparison.Ordinal)) body.Append("<h1>").Append(Inline(folder, line[2..])).AppendLine("</h1>");
            else if (line.StartsWith('|'))
            {
                body.AppendLine("<table>");
                var header = true;
                for (; i < lines.Length && lines[i].StartsWith('|'); i++)
                {
                    var cells = lines[i].Trim().Trim('|').Split('|').Select(c => c.Trim()).ToArray();
                    if (cells.All(c => c.Length > 0 && c.All(ch => ch is '-' or ':'))) continue;   // the separator row
                    var tag = header ? "th" : "td";
                    body.Append("<tr>");
                    foreach (var cell in cells) body.Append('<').Append(tag).Append('>').Append(Inline(folder, cell)).Append("</").Append(tag).Append('>');
                    body.AppendLine("</tr>");
                    header = false;
                }
                i--;
                body.AppendLine("</table>");
            }
            else if (line.StartsWith("- ", StringComparison.Ordinal))
            {
                body.AppendLine("<ul>");
                for (; i < lines.Length && lines[i].StartsWith("- ", StringComparison.Ordinal); i++)
                    body.Append("<li>").Append(Inline(folder, lines[i][2..])).AppendLine("</li>");
                i--;
                body.AppendLine("</ul>");
            }
            else body.Append("<p>").Append(Inline(folder, line)).AppendLine("</p>");
        }
        var csvs = Directory.Exists(folder) ? Directory.GetFiles(folder, "*.csv").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList() : [];
        if (csvs.Count > 0)
        {
            body.AppendLine("<h2>Data</h2>").AppendLine("<ul>");
            foreach (var csv in csvs) body.Append("<li><a href=\"").Append(Attribute(csv!)).Append("\">").Append(Text(csv!)).AppendLine("</a></li>");
            body.AppendLine("</ul>");
        }
        var page = $"""
            <!DOCTYPE html>
            <html xmlns="http://www.w3.org/1999/xhtml" lang="en">
            <head>
            <meta charset="utf-8" />
            <title>{Text(title)}</title>
            <style>
            body {"{"} font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; {"}"}
            table {"{"} border-collapse: collapse; margin: 1em 0; {"}"}
            th, td {"{"} border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; {"}"}
            th:first-child, td:first-child {"{"} text-align: left; {"}"}
            img {"{"} max-width: 100%; {"}"}
            code {"{"} background: #f3f3f3; padding: 0 0.2em; {"}"}
            </style>
            </head>
            <body>
            {body}</body>
            </html>
            """;
        var path = Path.Combine(folder, FileName);
        File.WriteAllText(path + ".tmp", page, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        File.Move(path + ".tmp", path, overwrite: true);
        return path;
    }

    /// <summary>Inline Markdown: images (embedded), links, <c>code</c>, **bold**; everything else as escaped text.</summary>
    private static string Inline(string folder, string text)
    {
        var sb = new StringBuilder();
        var last = 0;
        foreach (Match m in InlinePattern().Matches(text))
        {
            sb.Append(Text(text[last..m.Index]));
            if (m.Groups["image"].Success) sb.Append(Image(folder, m.Groups["alt"].Value, m.Groups["src"].Value));
            else if (m.Groups["link"].Success)
                sb.Append("<a href=\"").Append(Attribute(m.Groups["href"].Value)).Append("\">").Append(Text(m.Groups["label"].Value)).Append("</a>");
            else if (m.Groups["code"].Success) sb.Append("<code>").Append(Text(m.Groups["code"].Value)).Append("</code>");
            else sb.Append("<strong>").Append(Text(m.Groups["bold"].Value)).Append("</strong>");
            last = m.Index + m.Length;
        }
        sb.Append(Text(text[last..]));
        return sb.ToString();
    }

    private static string Image(string folder, string alt, string source)
    {
        var file = Path.Combine(folder, source);
        if (source.Contains("..", StringComparison.Ordinal) || !File.Exists(file))
            return $"<img alt=\"{Attribute(alt)}\" src=\"{Attribute(source)}\" />";
        var data = Convert.ToBase64String(File.ReadAllBytes(file));
        return $"<img alt=\"{Attribute(alt)}\" src=\"data:image/png;base64,{data}\" />";
    }

    private static string Text(string s) => WebUtility.HtmlEncode(s);

    private static string Attribute(string s) => WebUtility.HtmlEncode(s);

    [GeneratedRegex(@"(?<image>!\[(?<alt>[^\]]*)\]\((?<src>[^)]+)\))|(?<link>\[(?<label>[^\]]+)\]\((?<href>[^)]+)\))|`(?<code>[^`]+)`|\*\*(?<bold>[^*]+)\*\*")]
    private static partial Regex InlinePattern();
}
