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

// TestBrowserRoutingScreens opens every routing and automation screen at 1366 px and
// 390 px (a phone): each shows without sideways scrolling, and with ATIENDE_SCREENSHOTS
// set it saves a screenshot of each (as TestBrowserScreens does for the others; own
// test, so each viewport has the whole browser budget).
func TestBrowserRoutingScreens(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	ventas, soporte := app.Team(ws, "Ventas"), app.Team(ws, "Soporte Técnico")
	admin := newUser(t, app, ws, "ana@acme.pe", models.RoleAdmin)
	pages := seedRoutingScreens(t, app, ws, ventas, soporte)
	viewports := []struct {
		name          string
		width, height int64
		opts          []chromedp.EmulateViewportOption
	}{
		{"desktop", 1366, 800, nil},
		{"phone", 390, 844, []chromedp.EmulateViewportOption{chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait}},
	}
	for _, vp := range viewports {
		t.Run(vp.name, func(t *testing.T) {
			ctx := testutil.NewBrowser(t)
			do(t, ctx, chromedp.EmulateViewport(vp.width, vp.height, vp.opts...),
				chromedp.Navigate(app.URL+"/login?next=/settings/routing"), signIn(admin.Email, testutil.Password),
				chromedp.WaitVisible(chromedp.CSS(`[data-testid="rules-list"]`)))
			for _, p := range pages {
				do(t, ctx, chromedp.Navigate(app.URL+p[1]), chromedp.WaitVisible(chromedp.CSS(`[data-testid="`+p[2]+`"]`)))
				over, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth - document.documentElement.clientWidth`))
				if err != nil {
					t.Fatal(err)
				}
				if over > 0 {
					t.Errorf("%s on %s: the page is %dpx wider than the screen (sideways scrolling)", p[0], vp.name, over)
				}
				testutil.Screenshot(t, ctx, p[0]+"-"+vp.name)
			}
		})
	}
}
