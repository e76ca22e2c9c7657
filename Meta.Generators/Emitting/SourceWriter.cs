using System;
using System.Text;
using Microsoft.CodeAnalysis.Text;

namespace Meta.Generators.Emitting;

/// <summary>
/// An indented text writer for generated C#. Multi-line text (raw string literals) is re-indented line by line to the
/// current level; <see cref="WriteBlock"/> opens a brace and closes it on dispose. Lines end with '\n' on every platform.
/// </summary>
internal sealed class SourceWriter
{
    private const string IndentUnit = "    ";
    private readonly StringBuilder _builder = new();
    private int _indent;

    /// <summary>Writes each line of <paramref name="text"/> at the current indentation (blank lines stay empty).</summary>
    public void WriteLine(string text)
    {
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Length > 0)
            {
                for (var i = 0; i < _indent; i++) _builder.Append(IndentUnit);
                _builder.Append(line);
            }
            _builder.Append('\n');
        }
    }

    /// <summary>Writes an empty line.</summary>
    public void WriteLine() => _builder.Append('\n');

    /// <summary>Writes <paramref name="header"/> (if any) and <paramref name="open"/>, and indents until the block is disposed.</summary>
    public Block WriteBlock(string? header = null, string open = "{", string close = "}")
    {
        if (header is not null) WriteLine(header);
        WriteLine(open);
        _indent++;
        return new Block(this, close);
    }

    /// <summary>Indents the following lines one more level.</summary>
    public void Indent() => _indent++;

    /// <summary>Undoes one <see cref="Indent"/>.</summary>
    public void Unindent() => _indent--;

    /// <summary>The text written so far.</summary>
    public override string ToString() => _builder.ToString();

    /// <summary>The text as UTF-8 source (no byte-order mark, like the rest of the repository).</summary>
    public SourceText ToSourceText() => SourceText.From(ToString(), Utf8NoBom);

    private static readonly Encoding Utf8NoBom = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);

    /// <summary>Closes a block opened by <see cref="WriteBlock"/>.</summary>
    public readonly struct Block : IDisposable
    {
        private readonly SourceWriter _writer;
        private readonly string _close;

        internal Block(SourceWriter writer, string close)
        {
            _writer = writer;
            _close = close;
        }

        /// <summary>Unindents and writes the closing text.</summary>
        public void Dispose()
        {
            _writer._indent--;
            _writer.WriteLine(_close);
        }
    }
}
