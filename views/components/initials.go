package components

import (
	"strings"
	"unicode"
)

// Initials are up to two capital letters of a name, for avatars ("?" without letters).
func Initials(name string) string {
	var out []rune
	for _, w := range strings.Fields(name) {
		// The first letter of the word ("@vale.rios" is V).
		if i := strings.IndexFunc(w, unicode.IsLetter); i >= 0 {
			out = append(out, unicode.ToUpper([]rune(w[i:])[0]))
		}
		if len(out) == 2 {
			break
		}
	}
	if len(out) == 0 {
		return "?"
	}
	return string(out)
}
