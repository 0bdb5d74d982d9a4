package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/atiende/atiende/app/inbox"
	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

func cardCheck(id int64) string { return fmt.Sprintf(`#card-%d [data-testid="card-check"]`, id) }

// Bulk selection on the board: a click, a shift-click for the range, "Seleccionar
// todas las visibles", then Cerrar with a reason; one toast names the ones that could
// not be closed (already closed, taken away meanwhile).
func TestBulkBrowserSelectRangeAllAndClose(t *testing.T) {
	f := newBoardFixture(t)
	ctx := context.Background()
	oldest := f.customer(t, "Carlos Mendoza", "Gracias, todo listo", 40*time.Minute)
	middle := f.customer(t, "Valeria Paredes", "Ok, quedo atento", 30*time.Minute)
	newest := f.customer(t, "Rosa Quispe", "Perfecto", 20*time.Minute)
	closed := f.customer(t, "Jorge Salas", "Listo", 10*time.Minute)
	testutil.Must(t, f.app.Server.Inbox.SetStatus(ctx, inbox.By(f.viewer(t, f.admin)), closed.ID, models.StatusClosed, "Resuelto"))

	b := boardBrowser(t, f.app, f.ana)
	boardDo(t, b, chromedp.EmulateViewport(1366, 768))
	// Newest first in Nuevos: Rosa, Valeria, Carlos. Click Rosa, shift-click Carlos.
	boardDo(t, b, chromedp.Click(chromedp.CSS(cardCheck(newest.ID))))
	boardPoll(t, b, `!document.querySelector('[data-testid="bulk-bar"]').hidden`, boardWait)
	boardEval[bool](t, b, fmt.Sprintf(`document.querySelector('%s').dispatchEvent(new MouseEvent("click", {bubbles: true, cancelable: true, shiftKey: true}))`, cardCheck(oldest.ID)))
	boardPoll(t, b, `document.querySelector('[data-testid="bulk-count"]').textContent === "3 seleccionadas"`, boardWait)
	if got := boardEval[bool](t, b, fmt.Sprintf(`document.querySelector('#card-%d').classList.contains("is-selected")`, middle.ID)); !got {
		t.Fatal("shift-click did not select the card in between")
	}
	// No conversation opened by clicking checkboxes.
	if boardEval[bool](t, b, `!!document.querySelector('#panel [data-testid="conversation"]')`) {
		t.Error("a checkbox click opened the conversation")
	}
	boardDo(t, b, chromedp.Click(chromedp.CSS(`[data-testid="bulk-select-all"]`)))
	boardPoll(t, b, `document.querySelector('[data-testid="bulk-count"]').textContent === "4 seleccionadas"`, boardWait)
	convShot(t, b, "bulk-selection-1366")

	// Meanwhile a supervisor gives Valeria's conversation to Luis: Ana no longer sees it.
	testutil.Must(t, f.app.Server.Inbox.Assign(ctx, inbox.By(f.viewer(t, f.admin)), middle.ID, f.luis.ID))

	boardDo(t, b,
		chromedp.Click(chromedp.CSS(`[data-testid="bulk-close"] > summary`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="bulk-reason"]`), "Consultas resueltas"),
	)
	convShot(t, b, "bulk-close-menu-1366")
	boardDo(t, b, chromedp.Click(chromedp.CSS(`[data-testid="bulk-close-submit"]`)))
	boardPoll(t, b, `[...document.querySelectorAll("#toasts .toast")].some(t => t.textContent.includes("2 conversaciones cerradas"))`, boardWait)
	toast := boardEval[string](t, b, `[...document.querySelectorAll("#toasts .toast")].map(t => t.textContent).join(" | ")`)
	for _, want := range []string{"No se pudieron cambiar 2", "Valeria Paredes (ya no la ves)", "Jorge Salas (ya estaba cerrada)"} {
		if !strings.Contains(toast, want) {
			t.Errorf("toast %q lacks %q", toast, want)
		}
	}
	for _, c := range []models.Conversation{oldest, newest} {
		got := f.app.Conversation(c.ID)
		var reason string
		testutil.Must(t, f.app.DB.Gorm.Raw(`SELECT close_reason FROM conversations WHERE id = ?`, c.ID).Scan(&reason).Error)
		if got.Status != models.StatusClosed || reason != "Consultas resueltas" {
			t.Errorf("conversation %d: %s %q", c.ID, got.Status, reason)
		}
	}
	if got := f.app.Conversation(middle.ID); got.Status == models.StatusClosed {
		t.Error("a conversation Ana could no longer see was closed")
	}
	boardPoll(t, b, `document.querySelector('[data-testid="bulk-bar"]').hidden`, boardWait)
	cardIn(t, b, oldest.ID, "closed")

	// Esc clears a selection. (The card may be re-rendered by a live refresh at any
	// moment: click it through the page, whichever node is current.)
	boardPoll(t, b, fmt.Sprintf(`(() => { const el = document.querySelector(%q); if (!el) return false; el.click(); return true; })()`, cardCheck(oldest.ID)), boardWait)
	boardPoll(t, b, `!document.querySelector('[data-testid="bulk-bar"]').hidden`, boardWait)
	boardDo(t, b, chromedp.KeyEvent(kb.Escape))
	boardPoll(t, b, `document.querySelector('[data-testid="bulk-bar"]').hidden`, boardWait)
}

// On a phone the checkboxes show without hover and the bar sits above the tab bar.
func TestBulkBrowserPhone(t *testing.T) {
	f := newBoardFixture(t)
	a := f.customer(t, "Carlos Mendoza", "Hola", 40*time.Minute)
	c := f.customer(t, "Rosa Quispe", "Buenas", 20*time.Minute)
	f.customer(t, "Valeria Paredes", "¿Precio?", 10*time.Minute)
	b := boardBrowser(t, f.app, f.sup)
	boardDo(t, b, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait))
	boardPoll(t, b, fmt.Sprintf(`getComputedStyle(document.querySelector('%s').closest('.bcard-check')).opacity === "1"`, cardCheck(a.ID)), boardWait)
	boardDo(t, b, chromedp.Click(chromedp.CSS(cardCheck(a.ID))), chromedp.Click(chromedp.CSS(cardCheck(c.ID))))
	boardPoll(t, b, `document.querySelector('[data-testid="bulk-count"]').textContent === "2 seleccionadas"`, boardWait)
	boardDo(t, b, chromedp.Click(chromedp.CSS(`[data-testid="bulk-assign"] > summary`)))
	convShot(t, b, "bulk-selection-390")
	boardDo(t, b, chromedp.SetValue(chromedp.CSS(`[data-testid="bulk-agent"]`), fmt.Sprint(f.carla.ID)),
		chromedp.Click(chromedp.CSS(`[data-testid="bulk-assign-submit"]`)))
	boardPoll(t, b, `[...document.querySelectorAll("#toasts .toast")].some(t => t.textContent.includes("2 conversaciones asignadas"))`, boardWait)
	for _, id := range []int64{a.ID, c.ID} {
		if got := f.app.Conversation(id); got.AssigneeID == nil || *got.AssigneeID != f.carla.ID {
			t.Errorf("conversation %d not assigned to Carla", id)
		}
	}
}
