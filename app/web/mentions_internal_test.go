package web

import (
	"slices"
	"testing"
)

func TestMentioned(t *testing.T) {
	users := []mentionable{
		{1, "Luis Pérez", "luis@acme.pe"},
		{2, "Luisa Ramos", "lramos@acme.pe"},
		{3, "Ángela Quispe", "angela.q@acme.pe"},
		{4, "Luis Soto", "lsoto@acme.pe"},
	}
	cases := []struct {
		body string
		want []int64
	}{
		{"@Luis Pérez revisa la factura", []int64{1}},
		{"@luisa ¿lo ves tú?", []int64{2}},
		{"@angela y @Luisa, por favor", []int64{3, 2}},
		{"@Luis, ¿quién lo toma?", []int64{1, 4}},
		{"escribe a ventas@acme.pe", nil},
		{"@lsoto mira esto", []int64{4}},
		{"@nadie", nil},
		{"Lo ve @Luisa.", []int64{2}},
	}
	for _, c := range cases {
		got := mentioned(c.body, users)
		if !slices.Equal(got, c.want) {
			t.Errorf("mentioned(%q) = %v, want %v", c.body, got, c.want)
		}
	}
}
