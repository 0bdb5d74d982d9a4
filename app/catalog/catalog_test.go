package catalog_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/catalog"
	"github.com/atiende/atiende/app/clock"
	"github.com/atiende/atiende/app/testutil"
)

func TestTemplateParams(t *testing.T) {
	t.Parallel()
	cases := []struct {
		body    string
		want    int
		wantErr string
	}{
		{"Hola", 0, ""},
		{"Hola {{1}}", 1, ""},
		{"{{1}} y {{2}}, otra vez {{1}}", 2, ""},
		{"{{2}} antes que {{1}}", 2, ""},
		{"Hola {{1}}, vence el {{3}}", 0, "falta {{2}}"},
		{"Hola {{2}}", 0, "falta {{1}}"},
		{"Hola {{0}}", 0, "no es una variable válida"},
		{"Hola {{01}}", 0, "no es una variable válida"},
		{"Hola {{nombre}}", 0, "no es una variable válida"},
		{"Hola {{ 1 }}", 0, "no es una variable válida"},
		{"Hola {{1}", 0, "llaves"},
		{"Hola 1}}", 0, "llaves"},
	}
	for _, tc := range cases {
		n, err := catalog.Params(tc.body)
		switch {
		case tc.wantErr == "" && (err != nil || n != tc.want):
			t.Errorf("Params(%q) = %d, %v; want %d", tc.body, n, err, tc.want)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("Params(%q) error %v; want one saying %q", tc.body, err, tc.wantErr)
		}
	}
}

func TestTemplatePieces(t *testing.T) {
	t.Parallel()
	got := catalog.Pieces("Hola {{1}}, paga {{2}}.")
	want := []catalog.Piece{{Text: "Hola "}, {Text: "{{1}}", Param: 1}, {Text: ", paga "}, {Text: "{{2}}", Param: 2}, {Text: "."}}
	if len(got) != len(want) {
		t.Fatalf("Pieces = %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("piece %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	var b strings.Builder
	for _, p := range catalog.Pieces("{{1}}{{nombre}} x") {
		b.WriteString(p.Text)
	}
	if b.String() != "{{1}}{{nombre}} x" {
		t.Fatalf("pieces do not add up to the body: %q", b.String())
	}
}

func newService(t *testing.T) (*catalog.Service, int64, int64) {
	t.Helper()
	d := testutil.NewDB(t)
	acc := accounts.New(d.Gorm, clock.Real{})
	a, err := acc.EnsureWorkspace(context.Background(), "Acme", "America/Lima")
	testutil.Must(t, err)
	b, err := acc.EnsureWorkspace(context.Background(), "Beta", "America/Lima")
	testutil.Must(t, err)
	return catalog.New(d.Gorm, clock.Real{}), a.ID, b.ID
}

func fieldErr(t *testing.T, err error, field string) {
	t.Helper()
	var v apperr.Validation
	if !errors.As(err, &v) || v[field] == "" {
		t.Fatalf("want a validation error on %s, got %v", field, err)
	}
}

func TestTemplateServiceScopesAndUniqueness(t *testing.T) {
	t.Parallel()
	s, acme, beta := newService(t)
	ctx := context.Background()
	in := catalog.TemplateInput{Name: " recordatorio_pago ", Language: "es", Category: "utility", Body: "Hola {{1}}\r\nPaga {{2}}"}
	tpl, err := s.CreateTemplate(ctx, acme, in)
	testutil.Must(t, err)
	if tpl.Name != "recordatorio_pago" || tpl.Body != "Hola {{1}}\nPaga {{2}}" {
		t.Fatalf("not normalised: %+v", tpl)
	}
	_, err = s.CreateTemplate(ctx, acme, in)
	fieldErr(t, err, "name")
	_, err = s.CreateTemplate(ctx, beta, in) // another workspace may use the same name
	testutil.Must(t, err)
	if _, err := s.DeleteTemplate(ctx, beta, tpl.ID); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("deleting another workspace's template: %v", err)
	}
	list, err := s.Templates(ctx, acme)
	testutil.Must(t, err)
	if len(list) != 1 || list[0].ID != tpl.ID {
		t.Fatalf("Templates = %+v", list)
	}
	deleted, err := s.DeleteTemplate(ctx, acme, tpl.ID)
	testutil.Must(t, err)
	if deleted.Name != "recordatorio_pago" {
		t.Fatalf("DeleteTemplate returned %+v", deleted)
	}
}

func TestCannedServiceNormalisesShortcuts(t *testing.T) {
	t.Parallel()
	s, acme, _ := newService(t)
	ctx := context.Background()
	r, err := s.CreateCanned(ctx, acme, catalog.CannedInput{Shortcut: " /Saludo ", Body: "Hola"})
	testutil.Must(t, err)
	if r.Shortcut != "saludo" || r.Title != "saludo" {
		t.Fatalf("not normalised: %+v", r)
	}
	_, err = s.CreateCanned(ctx, acme, catalog.CannedInput{Shortcut: "SALUDO", Body: "Otro"})
	fieldErr(t, err, "shortcut")
	_, err = s.CreateCanned(ctx, acme, catalog.CannedInput{Shortcut: "buenos días", Body: "Hola"})
	fieldErr(t, err, "shortcut")
	r2, err := s.CreateCanned(ctx, acme, catalog.CannedInput{Shortcut: "envío-gratis", Body: "Gratis desde S/ 100"})
	testutil.Must(t, err)
	list, err := s.Canned(ctx, acme)
	testutil.Must(t, err)
	if len(list) != 2 || list[0].ID != r2.ID {
		t.Fatalf("Canned = %+v", list)
	}
}

func TestLabelEnsureIsIdempotentAndKeepsTheColour(t *testing.T) {
	t.Parallel()
	s, acme, beta := newService(t)
	ctx := context.Background()
	for _, l := range []struct{ name, color string }{{"Ventas", catalog.ColorGreen}, {"Soporte", catalog.ColorBlue}, {"Cobranzas", catalog.ColorOrange}} {
		_, err := s.EnsureLabel(ctx, acme, l.name, l.color)
		testutil.Must(t, err)
	}
	again, err := s.EnsureLabel(ctx, acme, "ventas", catalog.ColorRed)
	testutil.Must(t, err)
	if again.Name != "Ventas" || again.Color != catalog.ColorGreen || again.ID == 0 {
		t.Fatalf("EnsureLabel on an existing label returned %+v", again)
	}
	labels, err := s.Labels(ctx, acme)
	testutil.Must(t, err)
	if len(labels) != 3 || labels[0].Name != "Cobranzas" {
		t.Fatalf("Labels = %+v", labels)
	}
	if got := catalog.NextColor(labels); got != catalog.ColorRed {
		t.Fatalf("NextColor = %s, want the first unused (red)", got)
	}
	if other, _ := s.Labels(ctx, beta); len(other) != 0 {
		t.Fatalf("Beta sees Acme's labels: %+v", other)
	}
	_, err = s.CreateLabel(ctx, acme, catalog.LabelInput{Name: "  SOPORTE ", Color: catalog.ColorTeal})
	fieldErr(t, err, "name")
	_, err = s.CreateLabel(ctx, acme, catalog.LabelInput{Name: "Una etiqueta demasiado larga para una tarjeta", Color: catalog.ColorTeal})
	fieldErr(t, err, "name")
	_, err = s.CreateLabel(ctx, acme, catalog.LabelInput{Name: "VIP", Color: "rojo"})
	fieldErr(t, err, "color")
}
