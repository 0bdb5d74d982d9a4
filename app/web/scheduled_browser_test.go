package web_test

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

// Programar envío as an agent does it: write, pick "Mañana 9:00", schedule; the
// composer empties and the reply is listed above it, where it can be cancelled.
func TestScheduleBrowser(t *testing.T) {
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	ch := app.Channel(ws, "Principal")
	ana := app.User(ws, "ana@acme.pe", models.RoleAgent)
	conv := app.Inbound(ch, "51911111111", "Pedro Quispe", "Mañana temprano confirmo")
	ctx := convBrowser(t, app, ana, 1366, 768, false, fmt.Sprintf("/conversations/%d", conv.ID))

	convDo(t, ctx,
		chromedp.SendKeys(chromedp.CSS(`[data-testid="composer-body"]`), "Buenos días, ¿confirmamos el pedido de hoy?"),
		chromedp.Click(chromedp.CSS(`[data-testid="schedule-toggle"]`)),
		chromedp.Click(chromedp.CSS(`[data-action="sched-preset"]:nth-child(2)`)),
	)
	convShot(t, ctx, "schedule-panel-1366")
	convDo(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid="schedule-submit"]`)))
	convWait(t, ctx, "the scheduled reply listed", `(() => { const i = document.querySelector('[data-testid="scheduled-item"]'); return i && i.textContent.includes("mañana 09:00") && i.textContent.includes("confirmamos el pedido"); })()`)
	if got := convEval[string](t, ctx, `document.querySelector('[data-testid="composer-body"]').value`); got != "" {
		t.Errorf("the composer kept %q after scheduling it", got)
	}
	convShot(t, ctx, "scheduled-list-1366")
	// The list was swapped in: click once htmx has wired its form (else the browser posts it itself).
	convWait(t, ctx, "htmx to wire the cancel form", `(() => { const f = document.querySelector('[data-testid="scheduled-cancel"]').closest('form'); return !!(f && f['htmx-internal-data']); })()`)
	convDo(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid="scheduled-cancel"]`)))
	convWait(t, ctx, "the list to empty", `document.querySelectorAll('[data-testid="scheduled-item"]').length === 0`)
	var sm models.ScheduledMessage
	testutil.Must(t, app.DB.Gorm.Where("conversation_id = ?", conv.ID).First(&sm).Error)
	if sm.State != models.ScheduledCancelled {
		t.Errorf("state = %s", sm.State)
	}
}
