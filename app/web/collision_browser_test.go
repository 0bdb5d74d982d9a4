package web_test

import (
	"context"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/inbox"
	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

// TestCollisionBrowserViewingTypingAndTaken: Ana and Valeria open the same chat. Each
// sees the other there; Valeria writing a reply shows "Valeria está escribiendo…" on
// Ana's screen (a note does not); Valeria's tab closing clears it; Valeria taking the
// chat turns Ana's page read-only with one clear message and no toasts.
func TestCollisionBrowserViewingTypingAndTaken(t *testing.T) {
	t.Parallel()
	w := newConvWorld(t)
	testutil.Must(t, w.app.DB.Gorm.Exec(`UPDATE users SET name = 'Valeria Ríos' WHERE id = ?`, w.rosa.ID).Error)
	testutil.Must(t, w.app.DB.Gorm.Exec(`UPDATE users SET name = 'Ana Torres' WHERE id = ?`, w.ana.ID).Error)
	conv := w.inTeam(t, "51987650001", "María Quispe", "Hola, ¿me cotizan 20 sacos de cemento?", w.ventas)

	ana := convBrowser(t, w.app, w.ana, 1366, 800, false, convURL(conv.ID, ""))
	convWait(t, ana, "Ana's stream", `!!window.atiendeLive && window.atiendeLive.state === "on"`)
	valeria := convBrowser(t, w.app, w.rosa, 390, 844, true, convURL(conv.ID, ""))
	convWait(t, valeria, "Valeria's stream", `!!window.atiendeLive && window.atiendeLive.state === "on"`)

	collision := `((document.querySelector('[data-testid="collision-text"]')||{}).textContent||"")`
	convWait(t, ana, "Valeria shown on Ana's page", collision+` === "Valeria Ríos también está viendo esta conversación"`)
	convWait(t, valeria, "Ana shown on Valeria's page", collision+` === "Ana Torres también está viendo esta conversación"`)
	testutil.Screenshot(t, valeria, "collision-viewing-390")

	// A note is for the team: nobody is told.
	convDo(t, valeria, chromedp.Click(chromedp.CSS(`[data-testid="tab-note"]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="composer-body"]`), "Cliente frecuente"))
	// A reply is: Ana sees Valeria writing.
	convDo(t, valeria, chromedp.Evaluate[chromedp.Void](`document.querySelector('[data-testid="composer-body"]').value = ""`),
		chromedp.Click(chromedp.CSS(`[data-testid="tab-reply"]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="composer-body"]`), "Hola María, te preparo la cotización"))
	convWait(t, ana, "Valeria typing", collision+` === "Valeria está escribiendo…"`)
	testutil.Screenshot(t, ana, "collision-typing-1366")
	if n := convEval[int](t, ana, `document.querySelectorAll(".toast").length`); n != 0 {
		t.Errorf("%d toasts on Ana's page", n)
	}

	// Valeria closes her tab: she leaves Ana's page at once (not after the timeout).
	convDo(t, valeria, chromedp.Navigate("about:blank"))
	convWait(t, ana, "Valeria gone", `document.getElementById("conv-collision").hidden`)

	// Valeria takes the chat elsewhere: Ana's page says so once and stops offering to write.
	testutil.Must(t, w.app.Server.Inbox.Take(context.Background(), inbox.By(convViewer(t, w, w.rosa)), conv.ID))
	convWait(t, ana, "the lost message", `((document.querySelector('[data-testid="conv-lost"]')||{}).textContent||"").indexOf("Valeria Ríos tomó esta conversación hace un momento.") === 0`)
	convWait(t, ana, "the read-only composer", `document.querySelector('[data-testid="composer-body"]').disabled && document.querySelector('[data-testid="send"]').disabled && document.getElementById("conv-composer").hasAttribute("inert")`)
	if n := convEval[int](t, ana, `document.querySelectorAll(".toast").length`); n != 0 {
		t.Errorf("%d toasts on Ana's page after the chat was taken", n)
	}
	testutil.Screenshot(t, ana, "collision-taken-1366")
}

func convViewer(t *testing.T, w *convWorld, u models.User) accounts.Viewer {
	t.Helper()
	v, err := w.app.Accounts.LoadViewer(context.Background(), u.ID)
	testutil.Must(t, err)
	return v
}
