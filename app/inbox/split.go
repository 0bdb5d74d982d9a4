package inbox

import (
	"strings"
	"unicode"
)

// SplitBody cuts a reply longer than max characters into parts of at most max, at
// the last paragraph break, else line break, else space before the limit (a word is
// cut only when it alone is longer than max). Only the whitespace at each cut is
// dropped: the parts, read in order, are exactly what the agent wrote.
func SplitBody(body string, max int) []string {
	r := []rune(body)
	var parts []string
	for len(r) > max {
		cut := -1
		for _, sep := range []string{"\n\n", "\n", " "} {
			if i := lastIndexRunes(r[:max+1], sep); i >= max/3 {
				cut = i
				break
			}
		}
		if cut < 0 {
			cut = max
		}
		part := strings.TrimRightFunc(string(r[:cut]), unicode.IsSpace)
		if part != "" {
			parts = append(parts, part)
		}
		r = []rune(strings.TrimLeftFunc(string(r[cut:]), unicode.IsSpace))
	}
	if len(r) > 0 {
		parts = append(parts, string(r))
	}
	return parts
}

// lastIndexRunes is the rune index where the last sep starts in r, or -1.
func lastIndexRunes(r []rune, sep string) int {
	s := []rune(sep)
	for i := len(r) - len(s); i >= 0; i-- {
		if string(r[i:i+len(s)]) == sep {
			return i
		}
	}
	return -1
}
