package web_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"
)

// TestViewingDoesNotInvalidateTheBoardCache: announcing who views or types a chat
// changes nothing stored, so the workspace's cached board reads stay valid.
func TestViewingDoesNotInvalidateTheBoardCache(t *testing.T) {
	t.Parallel()
	w := newConvWorld(t)
	conv := w.inTeam(t, "51987650401", "Rosa", "Hola", w.ventas)
	ana := w.app.LoginAs(w.ana)
	hub := w.app.Server.Hub
	// A change of our own, whose notification arrives later: wait for it to settle.
	settled := func() uint64 {
		v := hub.Version(w.ws.ID)
		for deadline := time.Now().Add(convWaitFor); time.Now().Before(deadline); {
			time.Sleep(300 * time.Millisecond)
			n := hub.Version(w.ws.ID)
			if n == v {
				return v
			}
			v = n
		}
		return v
	}
	before := settled()
	for _, state := range []string{"viewing", "typing", "typing", "left"} {
		res := ana.HTMX(http.MethodPost, convURL(conv.ID, "/viewing"), url.Values{"state": {state}})
		convStatus(t, res, http.StatusNoContent)
	}
	if after := settled(); after != before {
		t.Errorf("the workspace version moved from %d to %d after viewing announcements", before, after)
	}
	// Someone who may not see the chat cannot announce on it.
	res := w.app.LoginAs(w.luis).HTMX(http.MethodPost, convURL(conv.ID, "/viewing"), url.Values{"state": {"viewing"}})
	convStatus(t, res, http.StatusNotFound)
}
