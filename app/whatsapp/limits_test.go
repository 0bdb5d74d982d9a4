package whatsapp

import "testing"

func TestShortenAndMenuRow(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"Ventas", 20, "Ventas"},
		{"Ventas y nuevos servicios", 24, "Ventas y nuevos…"},
		{"Ventas y nuevos servicios", 20, "Ventas y nuevos…"},
		{"Supercalifragilisticoespialidoso", 20, "Supercalifragilisti…"},
		{"Atención al cliente, ya", 22, "Atención al cliente…"},
		{"ñandú ñandú ñandú ñandú ñandú", 12, "ñandú ñandú…"},
	} {
		if got := Shorten(c.in, c.n); got != c.want {
			t.Errorf("Shorten(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
		if got := []rune(Shorten(c.in, c.n)); len(got) > c.n {
			t.Errorf("Shorten(%q, %d) has %d characters", c.in, c.n, len(got))
		}
	}
	if title, desc := MenuRow("Soporte"); title != "Soporte" || desc != "" {
		t.Errorf("a short title: %q %q", title, desc)
	}
	if title, desc := MenuRow("Ventas y nuevos servicios"); title != "Ventas y nuevos…" || desc != "Ventas y nuevos servicios" {
		t.Errorf("a long title: %q %q", title, desc)
	}
}
