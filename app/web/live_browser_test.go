package web_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/atiende/atiende/app/inbox"
	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

// TestLiveBrowserSearchesAndManyTabs: ten searches in a row (each page left for the
// back/forward cache) and eight open Atiende tabs do not exhaust the browser's six
// connections per host: one tab holds the stream for all, and a move by someone else
// reaches every tab within 2 s.
func TestLiveBrowserSearchesAndManyTabs(t *testing.T) {
	t.Parallel()
	f := newBoardFixture(t)
	conv := f.customer(t, "Rosa Huamán", "Hola, ¿tienen stock?", 10*time.Minute)
	first := boardBrowser(t, f.app, f.ana)

	// Ten searches typed into the top bar, one after another, as a person browses.
	for i := range 10 {
		q := fmt.Sprintf("busqueda%d", i)
		boardDo(t, first, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(
			`(function(){var i=document.querySelector('form.search input[name="q"]');i.value=%q;i.form.requestSubmit()})()`, q)))
		pollAcrossNavigation(t, first, fmt.Sprintf(`location.search.indexOf(%q) >= 0 && !!document.querySelector('[data-testid="board"]') && document.readyState === "complete"`, q))
	}
	boardDo(t, first, chromedp.Navigate(f.app.URL+"/board"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="board"]`)))
	boardWaitLive(t, first)

	// Seven more tabs of the same browser.
	tabs := []context.Context{first}
	for range 7 {
		tab, cancel := chromedp.NewContext(first)
		t.Cleanup(cancel)
		boardDo(t, tab, chromedp.Navigate(f.app.URL+"/board"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="board"]`)))
		tabs = append(tabs, tab)
	}
	for _, tab := range tabs {
		boardWaitLive(t, tab)
		// Each tab notes when the card lands in Pendientes (the browser's clock is the
		// machine's, as the test's).
		boardDo(t, tab, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(function(){
			window.__seenAt = 0;
			var iv = setInterval(function(){
				var c = document.getElementById("card-%d");
				if (c && c.dataset.status === "pending" && c.closest(".column-body").dataset.status === "pending") { window.__seenAt = Date.now(); clearInterval(iv); }
			}, 20);
		})()`, conv.ID)))
	}
	leaders := 0
	for _, tab := range tabs {
		if boardEval[string](t, tab, `window.atiendeLive.role`) == "leader" {
			leaders++
		}
	}
	if leaders != 1 {
		t.Errorf("%d tabs hold a stream; want exactly one shared by all", leaders)
	}

	moved := time.Now()
	testutil.Must(t, f.app.Server.Inbox.SetStatus(context.Background(), inbox.By(f.viewer(t, f.admin)), conv.ID, models.StatusPending, ""))
	for i, tab := range tabs {
		boardPoll(t, tab, `window.__seenAt > 0`, boardWait)
		seen := time.UnixMilli(int64(boardEval[float64](t, tab, `window.__seenAt`)))
		lag := seen.Sub(moved)
		t.Logf("tab %d: the move showed after %s", i+1, lag.Round(time.Millisecond))
		if lag > 2*time.Second {
			t.Errorf("tab %d showed the move after %s; want within 2 s", i+1, lag.Round(time.Millisecond))
		}
	}
}

// pollAcrossNavigation waits until js is true on the page, through a navigation (an
// evaluation in flight when the page changes fails; it is tried again).
func pollAcrossNavigation(t *testing.T, ctx context.Context, js string) {
	t.Helper()
	deadline := time.Now().Add(boardWait)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: %v", js, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
