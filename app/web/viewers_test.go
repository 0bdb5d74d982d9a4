package web_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

// TestViewerReuseNeverOutlivesAChange: between requests the signed-in user is reused
// from memory, but an admin's change applies to their very next request.
func TestViewerReuseNeverOutlivesAChange(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	admin := newUser(t, app, ws, "ana@acme.pe", models.RoleAdmin)
	agent := newUser(t, app, ws, "beto@acme.pe", models.RoleAgent)
	agentWeb := app.LoginAs(agent)
	for range 3 { // the later ones are answered with the remembered viewer
		wantStatus(t, agentWeb.Get("/board"), http.StatusOK)
	}
	wantStatus(t, agentWeb.Get("/settings/users"), http.StatusForbidden)

	ac := app.LoginAs(admin)
	ac.Get("/settings/users/" + itoa(agent.ID))
	wantRedirect(t, ac.PostForm("/settings/users/"+itoa(agent.ID), url.Values{"name": {agent.Name}, "email": {agent.Email},
		"role": {"admin"}, "max_concurrent": {"10"}, "active": {"1"}}), "/settings/users")
	wantStatus(t, agentWeb.Get("/settings/users"), http.StatusOK) // promoted: at once

	wantRedirect(t, ac.PostForm("/settings/users/"+itoa(agent.ID), url.Values{"name": {agent.Name}, "email": {agent.Email},
		"role": {"agent"}, "max_concurrent": {"10"}}), "/settings/users")
	wantRedirect(t, agentWeb.Get("/board"), "/login?next=%2Fboard") // deactivated: signed out at once
}
