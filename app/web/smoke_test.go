package web_test

import (
	"net/http"
	"testing"

	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

func TestSignInLandsOnBoard(t *testing.T) {
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	u := app.User(ws, "ana@acme.pe", models.RoleAgent)
	c := app.LoginAs(u)
	res := c.Get("/board")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("board: %d", res.StatusCode)
	}
	if got := res.Doc(t).Find(`[data-testid="board"]`).Length(); got != 1 {
		t.Fatalf("board not rendered")
	}
}

func TestSignInAndOutSetPresence(t *testing.T) {
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	u := app.User(ws, "ana@acme.pe", models.RoleAgent)
	presence := func() string {
		var p string
		testutil.Must(t, app.DB.Gorm.Raw("SELECT presence FROM users WHERE id = ?", u.ID).Scan(&p).Error)
		return p
	}
	c := app.LoginAs(u)
	if p := presence(); p != models.PresenceOnline {
		t.Fatalf("after sign-in presence = %q, want online", p)
	}
	if res := c.PostForm("/logout", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", res.StatusCode)
	}
	if p := presence(); p != models.PresenceOffline {
		t.Fatalf("after logout presence = %q, want offline", p)
	}
}
