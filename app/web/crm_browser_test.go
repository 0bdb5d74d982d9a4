package web_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

// TestLeadBrowserFromChatToBoard: an agent creates a lead from the chat in one click,
// drags it to the next stage on the lead board, and the conversation's board card
// shows the new stage chip.
func TestLeadBrowserFromChatToBoard(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	ch := app.Channel(ws, "Principal")
	ana := app.User(ws, "ana@acme.pe", models.RoleAgent)
	conv := app.Inbound(ch, "51911111111", "Pedro Ramos", "Hola, quiero una cotización")
	ctx := boardBrowser(t, app, ana)

	chip := fmt.Sprintf(`(document.querySelector('#card-%d [data-testid="card-stage"]')||{}).textContent`, conv.ID)
	// Open the conversation in the side panel and create the lead.
	boardDo(t, ctx,
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`#card-%d .bcard-name`, conv.ID))),
		// In the board's narrow panel the contact pane opens with its button.
		chromedp.WaitVisible(chromedp.CSS(`#panel .cv-side-toggle`)),
		chromedp.Click(chromedp.CSS(`#panel .cv-side-toggle`)),
		chromedp.WaitVisible(chromedp.CSS(`#panel [data-testid="create-lead"]`)),
		chromedp.Click(chromedp.CSS(`#panel [data-testid="create-lead"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#panel [data-testid="panel-lead-stage"]`)),
	)
	if got := boardEval[string](t, ctx, `document.querySelector('#panel [data-testid="panel-lead-stage"]').textContent.trim()`); got != "Entrantes" {
		t.Fatalf("panel stage: %q", got)
	}
	// The card behind the panel gets its chip live.
	boardPoll(t, ctx, chip+` === "Entrantes"`, boardWait)
	testutil.Screenshot(t, ctx, "lead-from-chat")

	// The lead board: drag the card from Entrantes to Calificado.
	boardDo(t, ctx, chromedp.Navigate(app.URL+"/leads"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="lead-board"]`)))
	boardPoll(t, ctx, `!!document.querySelector('[data-testid="lead-cards-Entrantes"] [data-testid="lead-card"]')`, boardWait)
	boardDo(t, ctx, chromedp.DragAndDrop(chromedp.CSS(`[data-testid="lead-cards-Entrantes"] .lcard-value`), chromedp.CSS(`[data-testid="lead-cards-Calificado"]`)))
	// The server's answer: the heads count it in Calificado.
	boardPoll(t, ctx, `document.querySelector('[data-testid="lead-head-Calificado"] [data-testid="lead-count"]').textContent.trim() === "1"`, boardWait)
	boardPoll(t, ctx, `document.querySelector('[data-testid="lead-head-Entrantes"] [data-testid="lead-count"]').textContent.trim() === "0"`, boardWait)
	testutil.Screenshot(t, ctx, "lead-board-after-drag")

	// Back on the conversations board, the card's chip shows the new stage.
	boardDo(t, ctx, chromedp.Navigate(app.URL+"/board"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="board"]`)))
	boardPoll(t, ctx, chip+` === "Calificado"`, boardWait)
}

// TestLeadBrowserLostAsksForTheReason: dropping a lead on a lost stage asks why; cancel
// puts it back, a reason moves it.
func TestLeadBrowserLostAsksForTheReason(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	ch := app.Channel(ws, "Principal")
	ana := app.User(ws, "ana@acme.pe", models.RoleAgent)
	conv := app.Inbound(ch, "51911111111", "Pedro Ramos", "Hola")
	api := app.API(ana)
	if r := api.Do("POST", "/api/v1/leads", fmt.Sprintf(`{"conversation_id":%d,"title":"Licencias"}`, conv.ID)); r.StatusCode != 201 {
		t.Fatalf("create: %d %s", r.StatusCode, r.Body)
	}
	ctx := boardBrowser(t, app, ana)
	// Wide enough for all six columns, so the drop target is on screen.
	boardDo(t, ctx, chromedp.EmulateViewport(1700, 900), chromedp.Navigate(app.URL+"/leads"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="lead-board"]`)))
	count := func(stage string) string {
		return `document.querySelector('[data-testid="lead-head-` + stage + `"] [data-testid="lead-count"]').textContent.trim()`
	}
	drag := chromedp.DragAndDrop(chromedp.CSS(`[data-testid="lead-cards-Entrantes"] .lcard-value`), chromedp.CSS(`[data-testid="lead-cards-Perdido"]`))
	boardDo(t, ctx, drag, chromedp.WaitVisible(chromedp.CSS(`[data-testid="lost-dialog"]`)))
	boardDo(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid="lost-dialog"] button[value="cancel"]`)))
	boardPoll(t, ctx, `!!document.querySelector('[data-testid="lead-cards-Entrantes"] [data-testid="lead-card"]') && !document.querySelector('#lost-dialog').open`, boardWait)
	boardDo(t, ctx, drag, chromedp.WaitVisible(chromedp.CSS(`[data-testid="lost-dialog"]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="lost-reason"]`), "Eligió a otro proveedor"),
		chromedp.Click(chromedp.CSS(`[data-testid="lost-confirm"]`)))
	boardPoll(t, ctx, count("Perdido")+` === "1" && `+count("Entrantes")+` === "0"`, boardWait)
	boardPoll(t, ctx, `(document.querySelector('[data-testid="lead-cards-Perdido"] .lcard-reason')||{}).textContent === "«Eligió a otro proveedor»"`, boardWait)

	// A task that comes due is announced on the page, live.
	var leadID int64
	testutil.Must(t, app.DB.Gorm.Raw(`SELECT id FROM leads`).Row().Scan(&leadID))
	if r := api.Do("POST", "/api/v1/tasks", fmt.Sprintf(`{"kind":"call","title":"Llamar a Pedro","due_at":%q,"lead_id":%d}`,
		time.Now().Add(time.Minute).Format(time.RFC3339), leadID)); r.StatusCode != 201 {
		t.Fatalf("task: %d %s", r.StatusCode, r.Body)
	}
	boardDo(t, ctx, chromedp.Navigate(app.URL+"/tasks"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="tasks-page"]`)))
	boardPoll(t, ctx, `!!(window.atiendeLive && window.atiendeLive.state === "on")`, boardWait)
	app.SyncLive()
	testutil.Must(t, app.Server.Services.RunJob(context.Background(), "tasks.notify_due", time.Now().Add(2*time.Minute)))
	boardPoll(t, ctx, `Array.from(document.querySelectorAll("#toasts .toast")).some(function(e){return e.textContent.indexOf("Llamar a Pedro") >= 0})`, boardWait)
}
