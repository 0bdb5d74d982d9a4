package web_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

// TestSessionIdleTimeout: a week without requests signs the user out; browsing does
// not rewrite the session row on every page, only its last-seen time once an hour.
func TestSessionIdleTimeout(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	u := newUser(t, app, ws, "ana@acme.pe", models.RoleAgent)
	c := app.LoginAs(u)
	token := sessionCookie(t, c)
	db := app.DB.Gorm

	version := func() string { // the row's transaction id changes whenever it is rewritten
		t.Helper()
		var xmin string
		testutil.Must(t, db.Raw(`SELECT xmin::text FROM sessions WHERE token = ?`, token).Scan(&xmin).Error)
		return xmin
	}
	// setSeen rewrites the stored last-seen time, as if the last request was `ago`.
	setSeen := func(ago time.Duration) {
		t.Helper()
		var data []byte
		testutil.Must(t, db.Raw(`SELECT data FROM sessions WHERE token = ?`, token).Row().Scan(&data))
		deadline, values, err := scs.GobCodec{}.Decode(data)
		testutil.Must(t, err)
		values["seen"] = time.Now().Add(-ago).Unix()
		data, err = scs.GobCodec{}.Encode(deadline, values)
		testutil.Must(t, err)
		testutil.Must(t, db.Exec(`UPDATE sessions SET data = ? WHERE token = ?`, data, token).Error)
	}

	before := version()
	for range 3 {
		wantStatus(t, c.Get("/board"), http.StatusOK)
	}
	if after := version(); after != before {
		t.Fatal("browsing rewrote the session row: every page view would cost a durable write")
	}

	setSeen(2 * time.Hour)
	stale := version()
	wantStatus(t, c.Get("/board"), http.StatusOK)
	if version() == stale {
		t.Fatal("the last-seen time of a session idle for two hours was not refreshed")
	}

	setSeen(8 * 24 * time.Hour)
	wantRedirect(t, c.Get("/board"), "/login?next=%2Fboard")
	// The same cookie replayed later stays dead.
	wantRedirect(t, clientWithCookie(t, app, token).Get("/board"), "/login?next=%2Fboard")
}
