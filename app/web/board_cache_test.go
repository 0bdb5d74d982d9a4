package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/atiende/atiende/app/clock"
	"github.com/atiende/atiende/app/inbox"
	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

// TestBoardCacheFollowsChanges: the board is served from memory between changes, but
// never hides one. A move answers with the new counts and the next reload shows it at
// once; a change made by another process (here: a service of its own, as a worker
// or a second web process has, without this process's cache) reaches the board
// through its notification, well before the cache would expire by itself; and one
// viewer's cached board never answers another.
func TestBoardCacheFollowsChanges(t *testing.T) {
	t.Parallel()
	f := newBoardFixture(t)
	first := f.customer(t, "Pedro Quispe", "Hola, ¿tienen taladros?", 3*time.Minute)
	second := f.customer(t, "Rosa Huamán", "Buenas tardes", 2*time.Minute)
	admin := f.app.LoginAs(f.admin)
	doc := boardDoc(t, admin, "/board")
	if boardCount(doc, "new") != "2" || boardCount(doc, "pending") != "0" {
		t.Fatalf("counts before: new %s, pending %s", boardCount(doc, "new"), boardCount(doc, "pending"))
	}

	// Our own click: the answer and the reload right after it both show the move.
	res := admin.HTMX(http.MethodPost, "/conversations/"+itoa(first.ID)+"/move", url.Values{"status": {"pending"}})
	wantStatus(t, res, http.StatusOK)
	var counts map[string]int
	if err := json.Unmarshal([]byte(res.Header.Get("X-Board-Counts")), &counts); err != nil || counts["pending"] != 1 || counts["new"] != 1 {
		t.Errorf("counts sent with the move: %s", res.Header.Get("X-Board-Counts"))
	}
	doc = boardDoc(t, admin, "/board")
	if boardCount(doc, "pending") != "1" || boardCardOf(doc, first.ID).AttrOr("data-status", "") != "pending" {
		t.Fatalf("reload after the move: pending %s, card status %q", boardCount(doc, "pending"), boardCardOf(doc, first.ID).AttrOr("data-status", ""))
	}

	// Another process closes the second conversation: its notification invalidates
	// this process's cache.
	other := inbox.New(f.app.DB.Gorm, clock.Real{})
	testutil.Must(t, other.SetStatus(context.Background(), inbox.By(f.viewer(t, f.admin)), second.ID, models.StatusClosed, ""))
	deadline := time.Now().Add(2 * time.Second) // the cache alone would keep the old board for 5 s
	for {
		doc = boardDoc(t, admin, "/board")
		if boardCount(doc, "closed") == "1" && boardCount(doc, "new") == "0" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("another process's change did not reach the board: new %s, closed %s", boardCount(doc, "new"), boardCount(doc, "closed"))
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Ana (agent of Ventas) sees unassigned conversations without a team: both, in
	// her own scope, right after the admin's board was cached.
	f.setTeam(t, first, f.soporte)
	ana := boardDoc(t, f.app.LoginAs(f.ana), "/board")
	if boardCardOf(ana, first.ID).Length() != 0 {
		t.Error("an agent of Ventas sees a Soporte conversation (the admin's cached board answered her?)")
	}
	if boardCount(ana, "closed") != "1" {
		t.Errorf("Ana's Cerrados = %s, want 1", boardCount(ana, "closed"))
	}
}
