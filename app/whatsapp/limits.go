package whatsapp

import "strings"

// What WhatsApp shows of an interactive menu: a reply button's title up to 20
// characters, a list row's title up to 24 and its description up to 72.
const (
	ButtonTitleMax    = 20
	RowTitleMax       = 24
	RowDescriptionMax = 72
)

// Shorten cuts s to at most n characters, at a word's end when one is near, ending in
// "…" ("Ventas y nuevos servicios", 24 → "Ventas y nuevos…"); s itself when it fits.
func Shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	head := string(r[:n-1])
	if i := strings.LastIndex(head, " "); i > len(head)/2 {
		head = head[:i] // at a word's end
	}
	return strings.TrimRight(head, " ,.;:-") + "…"
}

// MenuRow is how a list row shows title: shortened to a row's title, the whole title
// as the description when it did not fit ("" when it did).
func MenuRow(title string) (shown, description string) {
	shown = Shorten(title, RowTitleMax)
	if shown != title {
		description = Shorten(title, RowDescriptionMax)
	}
	return shown, description
}
