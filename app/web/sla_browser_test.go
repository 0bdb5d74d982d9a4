package web_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/atiende/atiende/app/testutil"
)

// An open board shows the red badge within 60 s of the deadline: the sla job (run
// here as the server's cron does, at its first tick after the deadline) marks the
// card and the board re-renders it live, without a reload.
func TestSLABrowserBreachReachesAnOpenBoard(t *testing.T) {
	t.Parallel()
	// The server's clock follows the browser's (real) one, so the badge's own ticker agrees.
	base := time.Now().Truncate(time.Second)
	t0 := base.Add(-59 * time.Minute)
	w := newSLAWorldAt(t, t0)
	admin := w.app.LoginAs(w.admin)
	late := w.customer(t, "51987000021", "Hola, ¿tienen stock del modelo X?")
	w.toTeam(t, admin, late.ID, w.ventas) // first response due at t0 + 1 h = base + 1 min
	w.clk.Set(t0.Add(30 * time.Minute))
	fresh := w.customer(t, "51987000022", "Buenas tardes, quiero cotizar 20 licencias")
	w.toTeam(t, admin, fresh.ID, w.ventas) // due at base + 31 min: green
	w.clk.Set(base.Add(-22*time.Hour - 10*time.Minute))
	old := w.customer(t, "51987000023", "Hola, ¿me pueden ayudar con mi pedido?")
	w.toTeam(t, admin, old.ID, w.ventas) // long overdue, and its 24-hour window closes in 1 h 50 min
	w.clk.Set(base)
	testutil.Must(t, w.app.Server.Services.RunJob(context.Background(), "sla", base))

	ctx := boardBrowser(t, w.app, w.sup)
	boardDo(t, ctx, chromedp.EmulateViewport(1366, 768, chromedp.EmulateScale(1)))
	boardPoll(t, ctx, fmt.Sprintf(`document.querySelector("#card-%d .sla").classList.contains("sla-warning")`, late.ID), boardWait)
	if got := textOf(t, ctx, fmt.Sprintf("#card-%d .sla", late.ID)); got != "Vence en 1 min" {
		t.Fatalf("before the deadline: %q", got)
	}
	if got := textOf(t, ctx, fmt.Sprintf("#card-%d .sla", fresh.ID)); !strings.HasPrefix(got, "Vence en 3") {
		t.Fatalf("green badge: %q", got)
	}
	if got := textOf(t, ctx, fmt.Sprintf(`#card-%d [data-testid="card-window-warning"]`, old.ID)); got != "La ventana de 24 h cierra en 1 h 50 min" {
		t.Fatalf("window warning: %q", got)
	}
	testutil.Screenshot(t, ctx, "sla-board-1366")

	// The deadline passes; the job's next tick comes at most a minute later (here: 30 s).
	deadline := t0.Add(time.Hour)
	tick := deadline.Add(30 * time.Second)
	w.clk.Set(tick)
	start := time.Now()
	testutil.Must(t, w.app.Server.Services.RunJob(context.Background(), "sla", tick))
	// is-sla-breached on the card itself comes only from the server's re-render.
	boardPoll(t, ctx, fmt.Sprintf(`(function(){var c=document.getElementById("card-%d");return !!c && c.classList.contains("is-sla-breached") && c.querySelector(".sla").classList.contains("sla-breached")})()`, late.ID), boardWait)
	if took := tick.Sub(deadline) + time.Since(start); took >= time.Minute {
		t.Fatalf("the breach reached the board %v after the deadline", took)
	}
	if got := textOf(t, ctx, fmt.Sprintf("#card-%d .sla", late.ID)); !strings.HasPrefix(got, "Vencido hace") {
		t.Fatalf("red badge: %q", got)
	}
	testutil.Screenshot(t, ctx, "sla-board-breached-1366")

	// En riesgo, on a phone.
	boardDo(t, ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(1)), chromedp.Navigate(w.app.URL+"/board?risk=1"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="board"]`)))
	testutil.Screenshot(t, ctx, "sla-board-risk-390")
	boardDo(t, ctx, chromedp.EmulateViewport(1366, 768, chromedp.EmulateScale(1)), chromedp.Navigate(w.app.URL+"/board?risk=1"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="board"]`)))
	testutil.Screenshot(t, ctx, "sla-board-risk-1366")
}

// The SLA policies screen as an admin sees it, on a laptop and on a phone.
func TestSLABrowserSettingsScreen(t *testing.T) {
	t.Parallel()
	w := newSLAWorld(t)
	admin := w.app.LoginAs(w.admin)
	admin.PostForm("/settings/sla", url.Values{"name": {"Cuentas clave"}, "first_response": {"15"}, "first_response_unit": {"min"},
		"next_response": {"30"}, "next_response_unit": {"min"}, "resolution": {"24"}, "resolution_unit": {"h"}, "business_hours": {"1"}, "warning_percent": {"75"}})
	ctx := testutil.NewBrowser(t)
	do(t, ctx, chromedp.Navigate(w.app.URL+"/login?next=/settings/sla"), signIn(w.admin.Email, testutil.Password),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="sla-table"]`)))
	if got := textOf(t, ctx, `[data-testid="sla-table"]`); !strings.Contains(got, "Cuentas clave") || !strings.Contains(got, "15 min") {
		t.Fatalf("table: %q", got)
	}
	do(t, ctx, chromedp.EmulateViewport(1366, 768, chromedp.EmulateScale(1)), chromedp.Navigate(w.app.URL+"/settings/sla"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="sla-form"]`)))
	boardPoll(t, ctx, `document.readyState === "complete"`, boardWait)
	time.Sleep(700 * time.Millisecond) // the layout's transitions settle before the picture
	testutil.Screenshot(t, ctx, "sla-settings-1366")
	// A mistake typed on screen comes back with the message next to the field.
	do(t, ctx, chromedp.SendKeys(chromedp.CSS(`[data-testid="sla-name"]`), "VIP"),
		chromedp.Click(chromedp.CSS(`[data-testid="sla-save"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.field-error, .form-errors`)))
	if got := textOf(t, ctx, `[data-testid="sla-form"]`); !strings.Contains(got, "Define al menos un objetivo") {
		t.Fatalf("form: %q", got)
	}
	do(t, ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(1)), chromedp.Navigate(w.app.URL+"/settings/sla"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="sla-table"]`)))
	boardPoll(t, ctx, `document.readyState === "complete"`, boardWait)
	time.Sleep(700 * time.Millisecond) // the layout's transitions settle before the picture
	testutil.Screenshot(t, ctx, "sla-settings-390")
}
