package web_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

// "¿Por qué aquí?" on a card's menu shows routing's latest decision: the rule, the
// team and the agent chosen and why.
func TestBrowserWhyHereShowsTheRoutingDecision(t *testing.T) {
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	ch := app.Channel(ws, "Principal")
	ventas := app.Team(ws, "Ventas")
	luis := app.User(ws, "luis@acme.test", models.RoleAgent, ventas)
	admin := app.User(ws, "admin@acme.test", models.RoleAdmin)
	testutil.Must(t, app.DB.Gorm.Exec(`UPDATE teams SET routing_mode = 'round_robin' WHERE id = ?`, ventas.ID).Error)
	testutil.Must(t, app.DB.Gorm.Exec(`UPDATE users SET presence = 'online', last_seen_at = now() + interval '1 hour', name = 'Luis Prado' WHERE id = ?`, luis.ID).Error)
	testutil.Must(t, app.DB.Gorm.Exec(`INSERT INTO routing_rules (workspace_id, name, position, kind, cond, team_id)
		VALUES (?, 'Cotizaciones a Ventas', 1, 'keywords', '{"keywords":["cotizacion"]}', ?)`, ws.ID, ventas.ID).Error)
	conv := app.Inbound(ch, "51987650001", "Marta Ruiz", "Hola, necesito una cotización para 20 equipos")
	ctx := boardBrowser(t, app, admin)
	card := fmt.Sprintf(`#card-%d`, conv.ID)
	boardDo(t, ctx,
		chromedp.Click(chromedp.CSS(card+` [data-testid="move-menu"] summary`)),
		chromedp.Click(chromedp.CSS(card+` [data-testid="card-why"]`)),
		chromedp.WaitVisible(chromedp.CSS(card+` [data-testid="card-why-text"]`)),
	)
	got := textOf(t, ctx, card+` [data-testid="card-why-text"]`)
	if want := "Regla «Cotizaciones a Ventas» → Ventas. Asignada a Luis Prado (turno rotativo)"; !strings.HasPrefix(got, want) {
		t.Fatalf("¿por qué aquí? says %q", got)
	}
	testutil.Screenshot(t, ctx, "board-why-1366")
	// On a phone, the same menu (opened by script: the card may sit below the fold).
	boardDo(t, ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(1)), chromedp.Navigate(app.URL+"/board"))
	boardDo(t, ctx, chromedp.WaitVisible(chromedp.CSS(`[data-testid="board"]`)))
	boardPoll(t, ctx, fmt.Sprintf(`!!document.querySelector('%s [data-testid="card-why"]')`, card), boardWait)
	boardEval[bool](t, ctx, fmt.Sprintf(`(function(){var m=document.querySelector('%s [data-testid="move-menu"]');m.open=true;m.querySelector('[data-testid="card-why"]').click();return true})()`, card))
	boardPoll(t, ctx, fmt.Sprintf(`!!document.querySelector('%s [data-testid="card-why-text"]')`, card), boardWait)
	testutil.Screenshot(t, ctx, "board-why-390")
}
