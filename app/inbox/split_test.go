package inbox

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSplitBodyKeepsEveryWord(t *testing.T) {
	para := strings.Repeat("Cotización de cemento Sol tipo I, 42,5 kg, entrega en obra. ", 30) // ~1.800 characters
	body := strings.TrimSpace(para + "\n\n" + para + "\n\n" + para + "\n" + strings.Repeat("ñ", 5000))
	parts := SplitBody(body, 4096)
	if len(parts) < 3 {
		t.Fatalf("%d parts", len(parts))
	}
	for i, p := range parts {
		if n := utf8.RuneCountInString(p); n > 4096 || n == 0 {
			t.Errorf("part %d has %d characters", i, n)
		}
	}
	// Nothing but the whitespace at the cuts is lost.
	squash := func(s string) string { return strings.Join(strings.Fields(s), "") }
	if squash(strings.Join(parts, "")) != squash(body) {
		t.Fatal("the parts do not add up to the text")
	}
	if !strings.HasSuffix(parts[0], "obra.") {
		t.Errorf("the first cut is not at a paragraph or sentence: …%q", parts[0][len(parts[0])-20:])
	}
	if got := SplitBody("corto", 4096); len(got) != 1 || got[0] != "corto" {
		t.Errorf("short text split into %q", got)
	}
}
