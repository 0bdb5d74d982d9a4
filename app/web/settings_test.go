package web_test

import (
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

// userForm is a complete, valid new-user form; tests change what they need.
func userForm(name, email, role string, teams ...models.Team) url.Values {
	f := url.Values{"name": {name}, "email": {email}, "role": {role}, "password": {"secreta-123"}, "max_concurrent": {"5"}, "active": {"1"}}
	for _, t := range teams {
		f.Add("teams", itoa(t.ID))
	}
	return f
}

func countUsers(t *testing.T, app *testutil.App) int64 {
	t.Helper()
	var n int64
	testutil.Must(t, app.DB.Gorm.Model(&models.User{}).Count(&n).Error)
	return n
}

func loadUser(t *testing.T, app *testutil.App, id int64) (models.User, []string) {
	t.Helper()
	var u models.User
	testutil.Must(t, app.DB.Gorm.First(&u, id).Error)
	var teams []string
	testutil.Must(t, app.DB.Gorm.Table("team_members m").Joins("JOIN teams t ON t.id = m.team_id").
		Where("m.user_id = ?", id).Order("t.name").Pluck("t.name", &teams).Error)
	return u, teams
}

// row finds the table row (by testid) whose text contains needle.
func row(t *testing.T, res testutil.Response, testid, needle string) *goquery.Selection {
	t.Helper()
	var found *goquery.Selection
	byTestID(t, res, testid).Each(func(_ int, s *goquery.Selection) {
		if strings.Contains(s.Text(), needle) {
			found = s
		}
	})
	return found
}

func squash(s string) string { return strings.Join(strings.Fields(s), " ") }

func TestSettingsAreForAdminsOnly(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	team := app.Team(ws, "Ventas")
	admin := newUser(t, app, ws, "ana@acme.pe", models.RoleAdmin)
	pages := []string{"/settings/users", "/settings/users/new", "/settings/users/" + itoa(admin.ID), "/settings/teams", "/settings/teams/" + itoa(team.ID)}

	for _, role := range []string{models.RoleAgent, models.RoleSupervisor} {
		t.Run(role, func(t *testing.T) {
			u := newUser(t, app, ws, role+"@acme.pe", role)
			c := app.LoginAs(u)
			// Configuración itself leads non-admins to what they may manage: their API tokens.
			if res := c.Get("/settings"); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/settings/tokens" {
				t.Fatalf("GET /settings as %s: %d to %q, want their tokens", role, res.StatusCode, res.Header.Get("Location"))
			}
			for _, p := range pages {
				res := c.Get(p)
				wantStatus(t, res, http.StatusForbidden)
				page := byTestID(t, res, "error-page")
				if page.Length() != 1 || !strings.Contains(page.Text(), "Acceso restringido") {
					t.Fatalf("GET %s as %s: no Spanish 403 page: %.300s", p, role, squash(page.Text()))
				}
			}
			before := countUsers(t, app)
			wantStatus(t, c.PostForm("/settings/users", userForm("Intruso", "intruso@acme.pe", "admin")), http.StatusForbidden)
			wantStatus(t, c.PostForm("/settings/users/"+itoa(u.ID), userForm(u.Name, u.Email, "admin")), http.StatusForbidden)
			wantStatus(t, c.PostForm("/settings/teams", url.Values{"name": {"Intrusos"}}), http.StatusForbidden)
			if countUsers(t, app) != before {
				t.Fatal("a non-admin created a user")
			}
			if got, _ := loadUser(t, app, u.ID); got.Role != role {
				t.Fatalf("a %s promoted themself to %s", role, got.Role)
			}
		})
	}
}

// The rail's Configuración link leads somewhere the user may go: a menu entry that
// answers 403 is a dead end a person notices. Everyone gets it: non-admins manage
// their own API tokens there.
func TestNavSettingsLinkIsNoDeadEnd(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	for _, role := range []string{models.RoleAdmin, models.RoleSupervisor, models.RoleAgent} {
		t.Run(role, func(t *testing.T) {
			c := app.LoginAs(newUser(t, app, ws, role+"@acme.pe", role))
			link := byTestID(t, c.Get("/board"), "nav-settings")
			href, ok := link.Attr("href")
			if !ok {
				t.Fatalf("%s: no Configuración link", role)
			}
			res := c.Get(href)
			for i := 0; i < 3 && res.StatusCode == http.StatusSeeOther; i++ {
				href = res.Header.Get("Location")
				res = c.Get(href)
			}
			if res.StatusCode != http.StatusOK {
				t.Fatalf("%s: the menu's Configuración link ends at %s with status %d", role, href, res.StatusCode)
			}
		})
	}
}

func TestAdminCreatesUserWithTeams(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	ventas, soporte := app.Team(ws, "Ventas"), app.Team(ws, "Soporte")
	admin := newUser(t, app, ws, "ana@acme.pe", models.RoleAdmin)
	c := app.LoginAs(admin)

	list := c.Get("/settings/users")
	wantStatus(t, list, http.StatusOK)
	if href, _ := byTestID(t, list, "new-user").Attr("href"); href != "/settings/users/new" {
		t.Fatalf("new-user link = %q", href)
	}
	form := c.Get("/settings/users/new")
	wantStatus(t, form, http.StatusOK)
	offered := []string{}
	byTestID(t, form, "user-form").Find(`input[name="teams"]`).Each(func(_ int, s *goquery.Selection) {
		offered = append(offered, squash(s.Parent().Text()))
	})
	sort.Strings(offered)
	if strings.Join(offered, ",") != "Soporte,Ventas" {
		t.Fatalf("teams offered in the form: %v", offered)
	}

	res := c.PostForm("/settings/users", userForm("Carla Díaz", "Carla@Acme.pe", models.RoleSupervisor, ventas, soporte))
	wantRedirect(t, res, "/settings/users")
	list = c.Get("/settings/users")
	if flash := squash(byTestID(t, list, "flash").Text()); !strings.Contains(flash, "Carla Díaz") {
		t.Fatalf("flash after creating = %q", flash)
	}
	r := row(t, list, "user-row", "carla@acme.pe")
	if r == nil {
		t.Fatalf("new user not listed (email stored lower-case): %s", squash(byTestID(t, list, "users-table").Text()))
	}
	for _, want := range []string{"Carla Díaz", "Supervisor", "Soporte, Ventas", "5", "Activo"} {
		if !strings.Contains(squash(r.Text()), want) {
			t.Errorf("row %q lacks %q", squash(r.Text()), want)
		}
	}
	// The flash is shown once.
	if byTestID(t, c.Get("/settings/users"), "flash").Length() != 0 {
		t.Error("flash shown twice")
	}

	carla := app.Client()
	wantRedirect(t, login(carla, "carla@acme.pe", "secreta-123", ""), "/board")
	board := carla.Get("/board")
	wantStatus(t, board, http.StatusOK)
	if me := squash(byTestID(t, board, "me").Text()); !strings.Contains(me, "Carla Díaz") || !strings.Contains(me, "Supervisor") {
		t.Fatalf("signed-in card = %q", me)
	}
}

func TestUserFormValidation(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	ventas := app.Team(ws, "Ventas")
	admin := newUser(t, app, ws, "ana@acme.pe", models.RoleAdmin)
	c := app.LoginAs(admin)

	cases := []struct {
		name   string
		change url.Values
		errs   []string // fields with a message; no others
	}{
		{"everything wrong", url.Values{"name": {"  "}, "email": {"no-es-correo"}, "role": {"jefe"}, "password": {"corta"}, "max_concurrent": {"600"}},
			[]string{"email", "max_concurrent", "name", "password", "role"}},
		{"missing password", url.Values{"password": {""}}, []string{"password"}},
		{"negative capacity", url.Values{"max_concurrent": {"-1"}}, []string{"max_concurrent"}},
		{"team of nobody", url.Values{"teams": {"999999"}}, []string{"teams"}},
		{"duplicate email, any case", url.Values{"email": {"ANA@acme.pe"}}, []string{"email"}},
		// Every mistake is shown at once, not one per submission.
		{"capacity not a number and bad email", url.Values{"max_concurrent": {"diez"}, "email": {"no-es-correo"}}, []string{"email", "max_concurrent"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := userForm("Carla Díaz", "carla@acme.pe", models.RoleAgent, ventas)
			for k, v := range tc.change {
				f[k] = v
			}
			before := countUsers(t, app)
			res := c.PostForm("/settings/users", f)
			wantStatus(t, res, http.StatusUnprocessableEntity)
			if countUsers(t, app) != before {
				t.Fatal("an invalid form saved a user")
			}
			doc := res.Doc(t)
			var got []string
			doc.Find(`[data-testid^="error-"]`).Each(func(_ int, s *goquery.Selection) {
				id, _ := s.Attr("data-testid")
				got = append(got, strings.TrimPrefix(id, "error-"))
				if strings.TrimSpace(s.Text()) == "" {
					t.Errorf("%s: empty message", id)
				}
			})
			sort.Strings(got)
			if strings.Join(got, ",") != strings.Join(tc.errs, ",") {
				t.Fatalf("field errors shown for %v, want %v", got, tc.errs)
			}
			if tc.name == "duplicate email, any case" && !strings.Contains(doc.Find(`[data-testid="error-email"]`).Text(), "Ya existe") {
				t.Fatalf("duplicate email message = %q", doc.Find(`[data-testid="error-email"]`).Text())
			}
			// What was typed stays; the password is never echoed.
			form := byTestID(t, res, "user-form")
			if v, _ := form.Find(`input[name="name"]`).Attr("value"); strings.TrimSpace(v) != strings.TrimSpace(f.Get("name")) {
				t.Errorf("name field = %q, want the typed %q", v, f.Get("name"))
			}
			if v, _ := form.Find(`input[name="password"]`).Attr("value"); v != "" {
				t.Error("password echoed into the form")
			}
			if f.Get("teams") == itoa(ventas.ID) {
				if _, checked := form.Find(`input[name="teams"][value="` + itoa(ventas.ID) + `"]`).Attr("checked"); !checked {
					t.Error("the chosen team is no longer ticked")
				}
			}
		})
	}
}

func TestAdminEditsUser(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	ventas, soporte := app.Team(ws, "Ventas"), app.Team(ws, "Soporte")
	admin := newUser(t, app, ws, "ana@acme.pe", models.RoleAdmin)
	agent := newUser(t, app, ws, "beto@acme.pe", models.RoleAgent, ventas)
	c := app.LoginAs(admin)

	form := c.Get("/settings/users/" + itoa(agent.ID))
	wantStatus(t, form, http.StatusOK)
	uf := byTestID(t, form, "user-form")
	if v, _ := uf.Find(`input[name="email"]`).Attr("value"); v != agent.Email {
		t.Fatalf("edit form email = %q", v)
	}
	if _, ok := uf.Find(`input[name="teams"][value="` + itoa(ventas.ID) + `"]`).Attr("checked"); !ok {
		t.Fatal("edit form does not tick the user's team")
	}
	if _, ok := uf.Find(`input[name="active"]`).Attr("checked"); !ok {
		t.Fatal("edit form shows an active user as inactive")
	}

	f := userForm("Beto Ruiz", agent.Email, models.RoleSupervisor, soporte)
	f.Set("password", "") // empty keeps the current password
	f.Set("max_concurrent", "3")
	wantRedirect(t, c.PostForm("/settings/users/"+itoa(agent.ID), f), "/settings/users")

	got, teams := loadUser(t, app, agent.ID)
	if got.Name != "Beto Ruiz" || got.Role != models.RoleSupervisor || got.MaxConcurrent != 3 || !got.Active || strings.Join(teams, ",") != "Soporte" {
		t.Fatalf("after edit: name %q role %q capacity %d active %v teams %v", got.Name, got.Role, got.MaxConcurrent, got.Active, teams)
	}
	wantRedirect(t, login(app.Client(), agent.Email, testutil.Password, ""), "/board")

	t.Run("new password replaces the old one", func(t *testing.T) {
		f := userForm("Beto Ruiz", agent.Email, models.RoleSupervisor, soporte)
		f.Set("password", "otra-clave-456")
		wantRedirect(t, c.PostForm("/settings/users/"+itoa(agent.ID), f), "/settings/users")
		wantStatus(t, login(app.Client(), agent.Email, testutil.Password, ""), http.StatusUnauthorized)
		wantRedirect(t, login(app.Client(), agent.Email, "otra-clave-456", ""), "/board")
	})

	t.Run("email taken by another user", func(t *testing.T) {
		f := userForm("Beto Ruiz", admin.Email, models.RoleSupervisor)
		f.Set("password", "")
		res := c.PostForm("/settings/users/"+itoa(agent.ID), f)
		wantStatus(t, res, http.StatusUnprocessableEntity)
		if !strings.Contains(byTestID(t, res, "error-email").Text(), "Ya existe") {
			t.Fatalf("error-email = %q", byTestID(t, res, "error-email").Text())
		}
		if got, _ := loadUser(t, app, agent.ID); got.Email != agent.Email {
			t.Fatalf("email changed to %q despite the error", got.Email)
		}
	})

	t.Run("unknown or malformed id is a 404", func(t *testing.T) {
		for _, p := range []string{"/settings/users/999999", "/settings/users/abc", "/settings/teams/999999", "/settings/teams/0"} {
			res := c.Get(p)
			wantStatus(t, res, http.StatusNotFound)
			if byTestID(t, res, "error-page").Length() != 1 {
				t.Fatalf("GET %s: no error page", p)
			}
		}
	})
}

func TestLastAdminCannotDemoteOrDeactivateThemself(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	admin := newUser(t, app, ws, "ana@acme.pe", models.RoleAdmin)
	c := app.LoginAs(admin)
	self := "/settings/users/" + itoa(admin.ID)

	demote := userForm(admin.Name, admin.Email, models.RoleAgent)
	demote.Set("password", "")
	deactivate := userForm(admin.Name, admin.Email, models.RoleAdmin)
	deactivate.Set("password", "")
	deactivate.Del("active")

	for name, f := range map[string]url.Values{"demote": demote, "deactivate": deactivate} {
		t.Run(name, func(t *testing.T) {
			res := c.PostForm(self, f)
			wantStatus(t, res, http.StatusUnprocessableEntity)
			if msg := byTestID(t, res, "error-role").Text(); !strings.Contains(msg, "al menos un administrador") {
				t.Fatalf("message = %q", msg)
			}
			if got, _ := loadUser(t, app, admin.ID); got.Role != models.RoleAdmin || !got.Active {
				t.Fatalf("last admin is now role %q active %v", got.Role, got.Active)
			}
			wantStatus(t, c.Get("/settings/users"), http.StatusOK)
		})
	}

	t.Run("with a second admin the first may step down", func(t *testing.T) {
		newUser(t, app, ws, "beto@acme.pe", models.RoleAdmin)
		wantRedirect(t, c.PostForm(self, demote), "/settings/users")
		if got, _ := loadUser(t, app, admin.ID); got.Role != models.RoleAgent {
			t.Fatalf("role = %q", got.Role)
		}
		wantStatus(t, c.Get("/settings/users"), http.StatusForbidden)
	})
}

func TestTeams(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	admin := newUser(t, app, ws, "ana@acme.pe", models.RoleAdmin)
	c := app.LoginAs(admin)

	page := c.Get("/settings/teams")
	wantStatus(t, page, http.StatusOK)
	if byTestID(t, page, "team-row").Length() != 0 || byTestID(t, page, "team-form").Length() != 1 {
		t.Fatal("empty teams page should show no rows and the creation form")
	}

	wantRedirect(t, c.PostForm("/settings/teams", url.Values{"name": {" Ventas "}, "color": {"#16a34a"}, "routing_mode": {"round_robin"}}), "/settings/teams")
	page = c.Get("/settings/teams")
	r := row(t, page, "team-row", "Ventas")
	if r == nil || !strings.Contains(r.Text(), "Turno rotativo") {
		t.Fatalf("teams table: %q", squash(byTestID(t, page, "teams-table").Text()))
	}
	if flash := byTestID(t, page, "flash").Text(); !strings.Contains(flash, "Ventas") {
		t.Fatalf("flash = %q", flash)
	}
	var ventas models.Team
	testutil.Must(t, app.DB.Gorm.Where("name = ?", "Ventas").First(&ventas).Error)
	wantRedirect(t, c.PostForm("/settings/teams", url.Values{"name": {"Soporte"}}), "/settings/teams")

	errorsOf := func(res testutil.Response) []string {
		var got []string
		res.Doc(t).Find(`[data-testid^="error-"]`).Each(func(_ int, s *goquery.Selection) {
			id, _ := s.Attr("data-testid")
			got = append(got, strings.TrimPrefix(id, "error-"))
		})
		sort.Strings(got)
		return got
	}
	countTeams := func() int64 {
		var n int64
		testutil.Must(t, app.DB.Gorm.Model(&models.Team{}).Count(&n).Error)
		return n
	}

	for _, tc := range []struct {
		name string
		form url.Values
		errs string
	}{
		{"duplicate name, any case", url.Values{"name": {"VENTAS"}}, "name"},
		{"empty name", url.Values{"name": {"  "}}, "name"},
		{"bad color", url.Values{"name": {"Cobranzas"}, "color": {"rojo"}}, "color"},
		{"unknown routing", url.Values{"name": {"Cobranzas"}, "routing_mode": {"azar"}}, "routing_mode"},
	} {
		t.Run("create: "+tc.name, func(t *testing.T) {
			res := c.PostForm("/settings/teams", tc.form)
			wantStatus(t, res, http.StatusUnprocessableEntity)
			if got := strings.Join(errorsOf(res), ","); got != tc.errs {
				t.Fatalf("field errors %q, want %q", got, tc.errs)
			}
			if countTeams() != 2 {
				t.Fatal("an invalid team was saved")
			}
			if byTestID(t, res, "teams-table").Length() != 1 {
				t.Fatal("the list disappeared from the page with the error")
			}
		})
	}

	t.Run("edit", func(t *testing.T) {
		edit := c.Get("/settings/teams/" + itoa(ventas.ID))
		wantStatus(t, edit, http.StatusOK)
		if v, _ := byTestID(t, edit, "team-form").Find(`input[name="name"]`).Attr("value"); v != "Ventas" {
			t.Fatalf("edit form name = %q", v)
		}
		res := c.PostForm("/settings/teams/"+itoa(ventas.ID), url.Values{"name": {"soporte"}, "color": {"#16a34a"}, "routing_mode": {"manual"}})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		if got := strings.Join(errorsOf(res), ","); got != "name" {
			t.Fatalf("rename onto an existing team: errors %q", got)
		}
		wantRedirect(t, c.PostForm("/settings/teams/"+itoa(ventas.ID), url.Values{"name": {"Ventas Perú"}, "color": {"#0000ff"}, "routing_mode": {"least_busy"}}), "/settings/teams")
		var got models.Team
		testutil.Must(t, app.DB.Gorm.First(&got, ventas.ID).Error)
		if got.Name != "Ventas Perú" || got.Color != "#0000ff" || got.RoutingMode != "least_busy" {
			t.Fatalf("after edit: %+v", got)
		}
	})

	t.Run("member count ignores deactivated users", func(t *testing.T) {
		soporte := app.Team(ws, "Soporte")
		newUser(t, app, ws, "a1@acme.pe", models.RoleAgent, soporte)
		gone := newUser(t, app, ws, "a2@acme.pe", models.RoleAgent, soporte)
		testutil.Must(t, app.DB.Gorm.Model(&models.User{}).Where("id = ?", gone.ID).Update("active", false).Error)
		r := row(t, c.Get("/settings/teams"), "team-row", "Soporte")
		if r == nil || squash(r.Find("td.num").Text()) != "1" {
			t.Fatalf("Soporte row: %v", r)
		}
	})
}

func TestAdminCannotReachAnotherWorkspace(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	acme, beta := app.Workspace("Acme"), app.Workspace("Beta")
	betaTeam := app.Team(beta, "Ventas Beta")
	betaUser := newUser(t, app, beta, "bruno@beta.pe", models.RoleAgent, betaTeam)
	app.Team(acme, "Ventas")
	c := app.LoginAs(newUser(t, app, acme, "ana@acme.pe", models.RoleAdmin))

	for _, p := range []string{"/settings/users/" + itoa(betaUser.ID), "/settings/teams/" + itoa(betaTeam.ID)} {
		wantStatus(t, c.Get(p), http.StatusNotFound)
	}
	f := userForm("Hackeado", "hack@acme.pe", models.RoleAdmin)
	f.Set("password", "")
	wantStatus(t, c.PostForm("/settings/users/"+itoa(betaUser.ID), f), http.StatusNotFound)
	wantStatus(t, c.PostForm("/settings/teams/"+itoa(betaTeam.ID), url.Values{"name": {"Hackeado"}}), http.StatusNotFound)
	if u, _ := loadUser(t, app, betaUser.ID); u.Name == "Hackeado" || u.Role != models.RoleAgent {
		t.Fatalf("other workspace's user changed: %+v", u)
	}
	var team models.Team
	testutil.Must(t, app.DB.Gorm.First(&team, betaTeam.ID).Error)
	if team.Name != "Ventas Beta" {
		t.Fatalf("other workspace's team renamed to %q", team.Name)
	}

	// Another workspace's team cannot be given to a user of this one.
	res := c.PostForm("/settings/users", userForm("Carla", "carla@acme.pe", models.RoleAgent, betaTeam))
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if byTestID(t, res, "error-teams").Length() != 1 {
		t.Fatal("no error for a team of another workspace")
	}

	users := c.Get("/settings/users")
	teams := c.Get("/settings/teams")
	if strings.Contains(users.Body, "bruno@beta.pe") || strings.Contains(teams.Body, "Ventas Beta") {
		t.Fatal("another workspace's users or teams are listed")
	}
	if strings.Contains(c.Get("/settings/users/new").Body, "Ventas Beta") {
		t.Fatal("the new-user form offers another workspace's team")
	}
}
