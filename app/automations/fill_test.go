package automations

import "testing"

func TestFillAndMoney(t *testing.T) {
	vals := map[string]string{"nombre": "Pedro Quispe", "lead.valor": Money(12500.5, "USD"), "empresa": ""}
	for in, want := range map[string]string{
		"Hola {{nombre}}":                    "Hola Pedro Quispe",
		"{{ Nombre }}, total {{lead.valor}}": "Pedro Quispe, total 12.500,50 USD",
		"{{empresa}}":                        "",
		"{{desconocido}} fin":                "fin",
		"sin cierre {{nombre":                "sin cierre {{nombre",
	} {
		if got := Fill(in, vals); got != want {
			t.Errorf("Fill(%q) = %q, want %q", in, got, want)
		}
	}
	if got := Money(1234567.891, "PEN"); got != "1.234.567,89 PEN" {
		t.Errorf("Money: %q", got)
	}
	if got := DueText(60 * 24 * 2); got != "vence en 2 días" {
		t.Errorf("DueText: %q", got)
	}
}
