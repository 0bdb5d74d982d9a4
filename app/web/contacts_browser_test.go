package web_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

// In a real browser: "Cargar más" appends the next page of contacts to the table, and a
// CSV import shows its progress bar filling until the result with its rejected lines.
func TestContactsBrowserLoadMoreAndImportProgress(t *testing.T) {
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	admin := app.User(ws, "admin@acme.pe", models.RoleAdmin)
	testutil.Must(t, app.DB.Gorm.Exec(`INSERT INTO contacts (workspace_id, wa_id, phone, country, name)
		SELECT ?, '5198800' || lpad(g::text, 4, '0'), '+5198800' || lpad(g::text, 4, '0'), 'PE', 'Cliente ' || g FROM generate_series(1, 120) g`, ws.ID).Error)

	ctx := boardBrowser(t, app, admin)
	boardDo(t, ctx, chromedp.Navigate(app.URL+"/contacts"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="contacts-table"]`)))
	if n := boardEval[int](t, ctx, `document.querySelectorAll('[data-testid="contact-row"]').length`); n != 50 {
		t.Fatalf("first page: %d rows", n)
	}
	// "Cargar más" is swapped in by htmx: click it once htmx has wired it.
	wired := `(() => { const b = document.querySelector('[data-testid="load-more"]'); return !!(b && b['htmx-internal-data']); })()`
	boardPoll(t, ctx, wired, boardWait)
	boardDo(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid="load-more"]`)))
	boardPoll(t, ctx, `document.querySelectorAll('[data-testid="contact-row"]').length === 100`, boardWait)
	boardPoll(t, ctx, wired, boardWait)
	boardDo(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid="load-more"]`)))
	boardPoll(t, ctx, `document.querySelectorAll('[data-testid="contact-row"]').length === 120 && !document.querySelector('[data-testid="load-more"]')`, boardWait)
	if got := boardEval[string](t, ctx, `[...document.querySelectorAll('[data-testid="contact-row"] strong')].slice(-1)[0].innerText`); got != "Cliente 1" {
		t.Errorf("last row (the oldest contact): %q", got)
	}

	var sb strings.Builder
	sb.WriteString("Nombre,Teléfono\n")
	for i := 1; i <= 12000; i++ {
		fmt.Fprintf(&sb, "Persona %d,+51 95%07d\n", i, i)
	}
	sb.WriteString("Sin número,\n")
	file := filepath.Join(t.TempDir(), "personas.csv")
	testutil.Must(t, os.WriteFile(file, []byte(sb.String()), 0o644))
	boardDo(t, ctx, chromedp.Navigate(app.URL+"/contacts/import"),
		chromedp.SetUploadFiles(chromedp.CSS(`[data-testid="import-file"]`), []string{file}),
		chromedp.Click(chromedp.CSS(`[data-testid="import-upload"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="mapping-form"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="import-start"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="import-progress"]`)))
	boardPoll(t, ctx, `document.querySelector('[data-testid="import-progress"]').dataset.status === "done"`, boardWait)
	counts := boardEval[string](t, ctx, `document.querySelector('[data-testid="import-counts"]').innerText`)
	if !strings.Contains(counts, "12001 de 12001 filas") || !strings.Contains(counts, "12000 nuevos") || !strings.Contains(counts, "1 con error") {
		t.Errorf("counts: %q", counts)
	}
	if w := boardEval[string](t, ctx, `document.querySelector('.progress span').style.width`); w != "100%" {
		t.Errorf("progress bar width %q", w)
	}
	if txt := boardEval[string](t, ctx, `document.querySelector('[data-testid="import-errors"]').innerText`); !strings.Contains(txt, "12002") || !strings.Contains(txt, "Falta el teléfono.") {
		t.Errorf("errors table: %q", txt)
	}
	testutil.Screenshot(t, ctx, "contacts-import-done")
}
