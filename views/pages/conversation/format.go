package conversation

import (
	"context"
	"html"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/a-h/templ"
)

// WhatsApp formatting, rendered as WhatsApp shows it: *negrita*, _cursiva_,
// ~tachado~, `código`, ```monoespaciado``` (over several lines too), lists ("- ",
// "* ", "1. ") and quotes ("> "). Every character of the text is HTML-escaped; the
// only markup is the one added here. Markers count only where WhatsApp counts them:
// an opening one after a space or punctuation and before a non-space, a closing one
// after a non-space and before a space or punctuation, on the same line.

// Formatted renders body with WhatsApp formatting (the element around it keeps
// white-space: pre-wrap, so line breaks stay as they are).
func Formatted(body string) templ.Component {
	return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		_, err := io.WriteString(w, FormatWhatsApp(body))
		return err
	})
}

// FormatWhatsApp returns body as safe HTML with WhatsApp's formatting applied.
func FormatWhatsApp(body string) string {
	var b strings.Builder
	rest := body
	for {
		i := strings.Index(rest, "```")
		if i < 0 {
			break
		}
		j := strings.Index(rest[i+3:], "```")
		if j < 0 || j == 0 {
			break
		}
		blocks(&b, rest[:i])
		code := rest[i+3 : i+3+j]
		b.WriteString(`<code class="wa-mono">`)
		b.WriteString(html.EscapeString(code))
		b.WriteString(`</code>`)
		rest = rest[i+3+j+3:]
	}
	blocks(&b, rest)
	return b.String()
}

type lineKind int

const (
	linePlain lineKind = iota
	lineBullet
	lineNumber
	lineQuote
)

func classify(line string) (lineKind, string) {
	switch {
	case strings.HasPrefix(line, "- "), strings.HasPrefix(line, "* "), strings.HasPrefix(line, "• "):
		_, size := utf8.DecodeRuneInString(line)
		return lineBullet, line[size+1:]
	case strings.HasPrefix(line, "> "):
		return lineQuote, line[2:]
	}
	n := 0
	for n < len(line) && n < 3 && line[n] >= '0' && line[n] <= '9' {
		n++
	}
	if n > 0 && strings.HasPrefix(line[n:], ". ") {
		return lineNumber, line[n+2:]
	}
	return linePlain, line
}

// blocks writes text (outside ``` blocks) line by line, grouping list items and
// quotes into their elements.
func blocks(b *strings.Builder, text string) {
	if text == "" {
		return
	}
	lines := strings.Split(text, "\n")
	open := linePlain
	for i, line := range lines {
		kind, content := classify(line)
		if kind != open {
			closeBlock(b, open)
			switch kind {
			case lineBullet:
				b.WriteString(`<ul class="wa-list">`)
			case lineNumber:
				b.WriteString(`<ol class="wa-list">`)
			case lineQuote:
				b.WriteString(`<blockquote class="wa-quote">`)
			}
			open = kind
		} else if kind == lineQuote {
			b.WriteString("\n")
		}
		switch kind {
		case lineBullet, lineNumber:
			b.WriteString("<li>")
			inline(b, content)
			b.WriteString("</li>")
		default:
			inline(b, content)
		}
		if kind == linePlain && i < len(lines)-1 {
			next, _ := classify(lines[i+1])
			if next == linePlain {
				b.WriteString("\n")
			}
		}
	}
	closeBlock(b, open)
}

func closeBlock(b *strings.Builder, kind lineKind) {
	switch kind {
	case lineBullet:
		b.WriteString("</ul>")
	case lineNumber:
		b.WriteString("</ol>")
	case lineQuote:
		b.WriteString("</blockquote>")
	}
}

var inlineTags = map[byte][2]string{
	'*': {"<strong>", "</strong>"},
	'_': {"<em>", "</em>"},
	'~': {"<s>", "</s>"},
	'`': {`<code class="wa-code">`, "</code>"},
}

// inline writes one line with *bold*, _italic_, ~strike~ and `code`.
func inline(b *strings.Builder, s string) {
	start := 0 // text not yet written
	for i := 0; i < len(s); i++ {
		tags, ok := inlineTags[s[i]]
		if !ok || !opens(s, i) {
			continue
		}
		end := closing(s, i)
		if end < 0 {
			continue
		}
		b.WriteString(html.EscapeString(s[start:i]))
		b.WriteString(tags[0])
		if s[i] == '`' {
			b.WriteString(html.EscapeString(s[i+1 : end]))
		} else {
			inline(b, s[i+1:end])
		}
		b.WriteString(tags[1])
		i = end
		start = end + 1
	}
	b.WriteString(html.EscapeString(s[start:]))
}

// opens: the marker at i starts a span (after a boundary, before a non-space).
func opens(s string, i int) bool {
	if i > 0 {
		r, _ := utf8.DecodeLastRuneInString(s[:i])
		if !boundary(r) {
			return false
		}
	}
	r, _ := utf8.DecodeRuneInString(s[i+1:])
	return i+1 < len(s) && !unicode.IsSpace(r) && s[i+1] != s[i]
}

// closing finds the marker closing the one at i on the same line, or -1.
func closing(s string, i int) int {
	m := s[i]
	for j := i + 2; j < len(s); j++ {
		if s[j] != m {
			continue
		}
		before, _ := utf8.DecodeLastRuneInString(s[:j])
		if unicode.IsSpace(before) {
			continue
		}
		if j+1 < len(s) {
			after, _ := utf8.DecodeRuneInString(s[j+1:])
			if !boundary(after) {
				continue
			}
		}
		return j
	}
	return -1
}

func boundary(r rune) bool {
	return unicode.IsSpace(r) || (unicode.IsPunct(r) && r != '_' && r != '*' && r != '~' && r != '`') || unicode.IsSymbol(r)
}
