package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"golang.org/x/crypto/bcrypt"

	"github.com/atiende/atiende/app/config"
	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

const sessionCookieName = "atiende_session"

// cheapHash is testutil.Password hashed at bcrypt's minimum cost. Under -race one
// bcrypt at the app's cost takes about two seconds here, so users that tests only
// need to exist get this hash; signing in with it works exactly the same.
var cheapHash = func() string {
	h, err := bcrypt.GenerateFromPassword([]byte(testutil.Password), bcrypt.MinCost)
	if err != nil {
		panic(err)
	}
	return string(h)
}()

// newUser is app.User without the slow hash: an active user with testutil.Password,
// named after the email's local part, in the given teams.
func newUser(t *testing.T, app *testutil.App, ws models.Workspace, email, role string, teams ...models.Team) models.User {
	t.Helper()
	local := strings.Split(email, "@")[0]
	u := models.User{WorkspaceID: ws.ID, Email: email, Name: strings.ToUpper(local[:1]) + local[1:], PasswordHash: cheapHash,
		Role: role, Active: true, MaxConcurrent: 10, Presence: models.PresenceOffline}
	testutil.Must(t, app.DB.Gorm.Create(&u).Error)
	for _, tm := range teams {
		testutil.Must(t, app.DB.Gorm.Create(&models.TeamMember{WorkspaceID: ws.ID, TeamID: tm.ID, UserID: u.ID}).Error)
	}
	return u
}

// postNoCSRF posts form exactly as given: no _csrf field is added.
func postNoCSRF(c *testutil.Client, path string, form url.Values) testutil.Response {
	c.T.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.Base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.Do(req)
}

// sessionCookie is the session cookie the client's jar holds ("" when none).
func sessionCookie(t *testing.T, c *testutil.Client) string {
	t.Helper()
	for _, ck := range c.HTTP.Jar.Cookies(testutil.ParseURL(t, c.Base)) {
		if ck.Name == sessionCookieName {
			return ck.Value
		}
	}
	return ""
}

// clientWithCookie is a fresh client whose jar holds only the given session cookie,
// like an attacker replaying a stolen cookie.
func clientWithCookie(t *testing.T, app *testutil.App, value string) *testutil.Client {
	t.Helper()
	c := app.Client()
	c.HTTP.Jar.SetCookies(testutil.ParseURL(t, app.URL), []*http.Cookie{{Name: sessionCookieName, Value: value, Path: "/"}})
	return c
}

// byTestID finds the elements with that data-testid in the response.
func byTestID(t *testing.T, res testutil.Response, id string) *goquery.Selection {
	t.Helper()
	return res.Doc(t).Find(`[data-testid="` + id + `"]`)
}

func wantStatus(t *testing.T, res testutil.Response, want int) {
	t.Helper()
	if res.StatusCode != want {
		body := res.Body
		if len(body) > 600 {
			body = body[:600] + "…"
		}
		t.Fatalf("%s %s: status %d, want %d\n%s", res.Request.Method, res.Request.URL.Path, res.StatusCode, want, body)
	}
}

func wantRedirect(t *testing.T, res testutil.Response, to string) {
	t.Helper()
	wantStatus(t, res, http.StatusSeeOther)
	if got := res.Header.Get("Location"); got != to {
		t.Fatalf("%s %s: redirects to %q, want %q", res.Request.Method, res.Request.URL.Path, got, to)
	}
}

func login(c *testutil.Client, email, password, next string) testutil.Response {
	c.T.Helper()
	c.Get("/login")
	f := url.Values{"email": {email}, "password": {password}}
	if next != "" {
		f.Set("next", next)
	}
	return c.PostForm("/login", f)
}

func TestStrangersAreSentToLoginAndBackAfterSigningIn(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	admin := newUser(t, app, ws, "ana@acme.pe", models.RoleAdmin)

	for _, path := range []string{"/board", "/settings/users", "/reports?from=2024-01-01&to=2024-01-31"} {
		t.Run(path, func(t *testing.T) {
			c := app.Client()
			res := c.Get(path)
			wantRedirect(t, res, "/login?next="+url.QueryEscape(path))

			form := c.Get(res.Header.Get("Location"))
			wantStatus(t, form, http.StatusOK)
			next, _ := byTestID(t, form, "login-form").Find(`input[name="next"]`).Attr("value")
			if next != path {
				t.Fatalf("login form carries next=%q, want %q", next, path)
			}
			res = c.PostForm("/login", url.Values{"email": {admin.Email}, "password": {testutil.Password}, "next": {next}})
			wantRedirect(t, res, path)
			wantStatus(t, c.Get(path), http.StatusOK)
		})
	}

	t.Run("root goes to the board", func(t *testing.T) {
		c := app.Client()
		wantRedirect(t, c.Get("/"), "/login")
		c.Login(admin.Email, testutil.Password)
		wantRedirect(t, c.Get("/"), "/board")
	})

	t.Run("htmx requests get HX-Redirect instead of a page", func(t *testing.T) {
		c := app.Client()
		res := c.HTMX(http.MethodGet, "/board", nil)
		wantStatus(t, res, http.StatusUnauthorized)
		if got := res.Header.Get("HX-Redirect"); got != "/login?next=%2Fboard" {
			t.Fatalf("HX-Redirect = %q", got)
		}
	})

	t.Run("signed-in user opening /login goes to next", func(t *testing.T) {
		c := app.LoginAs(admin)
		wantRedirect(t, c.Get("/login?next=%2Fsettings%2Fteams"), "/settings/teams")
	})
}

func TestLoginNextNeverLeavesTheSite(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	u := newUser(t, app, ws, "ana@acme.pe", models.RoleAgent)
	for _, next := range []string{"https://evil.example/", "//evil.example/x", `/\evil.example`, "javascript:alert(1)", "board"} {
		t.Run(next, func(t *testing.T) {
			c := app.Client()
			wantRedirect(t, login(c, u.Email, testutil.Password, next), "/board")
		})
	}
}

func TestWrongCredentialsShowOneMessageWithoutSayingWhichField(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	u := newUser(t, app, ws, "ana@acme.pe", models.RoleAgent)

	cases := []struct{ name, email, password string }{
		{"wrong password", u.Email, "incorrecta-1"},
		{"unknown email", "nadie@acme.pe", testutil.Password},
		{"empty password", u.Email, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := app.Client()
			res := login(c, tc.email, tc.password, "/board")
			wantStatus(t, res, http.StatusUnauthorized)
			if got := strings.TrimSpace(byTestID(t, res, "login-error").Text()); got != "Correo o contraseña incorrectos" {
				t.Fatalf("login error = %q", got)
			}
			doc := res.Doc(t)
			if n := doc.Find(`[data-testid^="error-"], .field-error`).Length(); n != 0 {
				t.Fatalf("%d field-specific errors shown: the page must not hint which field was wrong", n)
			}
			if v, _ := doc.Find(`input[name="email"]`).Attr("value"); v != tc.email {
				t.Fatalf("email field = %q, want it kept as %q", v, tc.email)
			}
			if v, _ := doc.Find(`input[name="password"]`).Attr("value"); v != "" {
				t.Fatalf("password echoed back into the form")
			}
			if v, _ := doc.Find(`input[name="next"]`).Attr("value"); v != "/board" {
				t.Fatalf("next lost after a failed attempt: %q", v)
			}
			wantRedirect(t, c.Get("/board"), "/login?next=%2Fboard")
		})
	}

	t.Run("email is case- and space-insensitive", func(t *testing.T) {
		c := app.Client()
		wantRedirect(t, login(c, "  ANA@Acme.PE ", testutil.Password, ""), "/board")
	})
}

func TestLoginThrottling(t *testing.T) {
	t.Parallel()
	const throttled = "Demasiados intentos fallidos"

	t.Run("per email: the 11th attempt is refused even with the right password", func(t *testing.T) {
		t.Parallel()
		app := testutil.NewApp(t)
		ws := app.Workspace("Acme")
		u := newUser(t, app, ws, "ana@acme.pe", models.RoleAgent)
		c := app.Client()
		for i := 1; i <= 10; i++ {
			res := login(c, u.Email, "incorrecta-1", "")
			wantStatus(t, res, http.StatusUnauthorized)
		}
		res := login(c, u.Email, testutil.Password, "")
		wantStatus(t, res, http.StatusTooManyRequests)
		msg := strings.TrimSpace(byTestID(t, res, "login-error").Text())
		if !strings.Contains(msg, throttled) || !strings.Contains(msg, "15 minutos") {
			t.Fatalf("429 message = %q, want a Spanish explanation with the wait", msg)
		}
		wantRedirect(t, c.Get("/board"), "/login?next=%2Fboard")
	})

	t.Run("per IP: fifty failures on different emails block the next sign-in from that IP", func(t *testing.T) {
		t.Parallel()
		app := testutil.NewApp(t)
		ws := app.Workspace("Acme")
		u := newUser(t, app, ws, "ana@acme.pe", models.RoleAgent)
		c := app.Client()
		for i := 0; i < 50; i++ {
			other := newUser(t, app, ws, "agente"+strconv.Itoa(i)+"@acme.pe", models.RoleAgent)
			c.Get("/login")
			req, _ := http.NewRequest(http.MethodPost, app.URL+"/login", strings.NewReader(url.Values{
				"email": {other.Email}, "password": {"incorrecta-1"}, "_csrf": {c.CSRF}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			// A forged X-Forwarded-For must not give the attacker a fresh IP.
			req.Header.Set("X-Forwarded-For", "203.0.113."+strconv.Itoa(i+1))
			req.Header.Set("X-Real-IP", "203.0.113."+strconv.Itoa(i+1))
			wantStatus(t, c.Do(req), http.StatusUnauthorized)
		}
		res := login(app.Client(), u.Email, testutil.Password, "")
		wantStatus(t, res, http.StatusTooManyRequests)
		if msg := byTestID(t, res, "login-error").Text(); !strings.Contains(msg, throttled) {
			t.Fatalf("429 message = %q", msg)
		}
	})

	t.Run("nine failures still let the right password in", func(t *testing.T) {
		t.Parallel()
		app := testutil.NewApp(t)
		ws := app.Workspace("Acme")
		u := newUser(t, app, ws, "ana@acme.pe", models.RoleAgent)
		c := app.Client()
		for i := 0; i < 9; i++ {
			wantStatus(t, login(c, u.Email, "incorrecta-1", ""), http.StatusUnauthorized)
		}
		wantRedirect(t, login(c, u.Email, testutil.Password, ""), "/board")
	})
}

func TestCSRFIsRequiredOnEveryUnsafeRequest(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	admin := newUser(t, app, ws, "ana@acme.pe", models.RoleAdmin)
	newUser := url.Values{"name": {"Carla"}, "email": {"carla@acme.pe"}, "role": {"agent"}, "password": {"secreta-123"}, "active": {"1"}}

	t.Run("stranger posting /login", func(t *testing.T) {
		c := app.Client()
		res := postNoCSRF(c, "/login", url.Values{"email": {admin.Email}, "password": {testutil.Password}})
		wantStatus(t, res, http.StatusForbidden)
		if !strings.Contains(res.Body, "Vuelve a cargar la página") {
			t.Fatalf("403 page does not explain what to do: %.300s", res.Body)
		}
		c.Get("/login") // now the session has a token, but the form does not send it
		wantStatus(t, postNoCSRF(c, "/login", url.Values{"email": {admin.Email}, "password": {testutil.Password}}), http.StatusForbidden)
		wantStatus(t, postNoCSRF(c, "/login", url.Values{"email": {admin.Email}, "password": {testutil.Password}, "_csrf": {"forged"}}), http.StatusForbidden)
		wantRedirect(t, c.Get("/board"), "/login?next=%2Fboard")
	})

	t.Run("another session's token is refused", func(t *testing.T) {
		victim, attacker := app.Client(), app.Client()
		attacker.Get("/login")
		victim.Get("/login")
		res := postNoCSRF(victim, "/login", url.Values{"email": {admin.Email}, "password": {testutil.Password}, "_csrf": {attacker.CSRF}})
		wantStatus(t, res, http.StatusForbidden)
	})

	t.Run("signed-in logout and admin form", func(t *testing.T) {
		c := app.LoginAs(admin)
		for _, tok := range []string{"", "forged-token"} {
			f := url.Values{}
			if tok != "" {
				f.Set("_csrf", tok)
			}
			wantStatus(t, postNoCSRF(c, "/logout", f), http.StatusForbidden)
			wantStatus(t, c.Get("/board"), http.StatusOK) // still signed in

			f = url.Values{}
			for k, v := range newUser {
				f[k] = v
			}
			if tok != "" {
				f.Set("_csrf", tok)
			}
			wantStatus(t, postNoCSRF(c, "/settings/users", f), http.StatusForbidden)
			wantStatus(t, postNoCSRF(c, "/settings/teams", url.Values{"name": {"Ventas"}, "_csrf": {tok}}), http.StatusForbidden)
		}
		var n int64
		testutil.Must(t, app.DB.Gorm.Model(&models.User{}).Where("email = ?", "carla@acme.pe").Count(&n).Error)
		if n != 0 {
			t.Fatalf("a POST without a valid CSRF token created a user")
		}
		testutil.Must(t, app.DB.Gorm.Model(&models.Team{}).Count(&n).Error)
		if n != 0 {
			t.Fatalf("a POST without a valid CSRF token created a team")
		}
	})

	t.Run("the X-CSRF-Token header works for htmx", func(t *testing.T) {
		c := app.LoginAs(admin)
		res := c.HTMX(http.MethodPost, "/settings/teams", url.Values{"name": {"Ventas"}})
		if res.StatusCode == http.StatusForbidden {
			t.Fatalf("htmx POST with the header token refused: %.300s", res.Body)
		}
		if res.Header.Get("HX-Redirect") != "/settings/teams" {
			t.Fatalf("htmx create: status %d, HX-Redirect %q", res.StatusCode, res.Header.Get("HX-Redirect"))
		}
	})
}

func TestSessionCookie(t *testing.T) {
	t.Parallel()

	t.Run("renewed on login and invalidated on logout", func(t *testing.T) {
		t.Parallel()
		app := testutil.NewApp(t)
		ws := app.Workspace("Acme")
		u := newUser(t, app, ws, "ana@acme.pe", models.RoleAgent)
		c := app.Client()
		c.Get("/login")
		anonymous := sessionCookie(t, c)
		if anonymous == "" {
			t.Fatal("the login page set no session cookie (the CSRF token needs one)")
		}
		wantRedirect(t, c.PostForm("/login", url.Values{"email": {u.Email}, "password": {testutil.Password}}), "/board")
		signedIn := sessionCookie(t, c)
		if signedIn == "" || signedIn == anonymous {
			t.Fatalf("session token not renewed on login (before %q, after %q)", anonymous, signedIn)
		}
		// The pre-login token (which an attacker could have planted) grants nothing.
		wantRedirect(t, clientWithCookie(t, app, anonymous).Get("/board"), "/login?next=%2Fboard")
		wantStatus(t, clientWithCookie(t, app, signedIn).Get("/board"), http.StatusOK)

		c.Get("/board")
		wantRedirect(t, c.PostForm("/logout", nil), "/login")
		if after := sessionCookie(t, c); after == signedIn {
			t.Fatal("session token not renewed on logout")
		}
		wantRedirect(t, c.Get("/board"), "/login?next=%2Fboard")
		// Replaying the cookie of the signed-in session no longer reaches the board.
		wantRedirect(t, clientWithCookie(t, app, signedIn).Get("/board"), "/login?next=%2Fboard")
	})

	t.Run("HttpOnly and SameSite=Lax; Secure only in production", func(t *testing.T) {
		t.Parallel()
		for _, prod := range []bool{false, true} {
			app := testutil.NewApp(t, func(c *config.Config) {
				if prod {
					c.Env = config.EnvProduction
				}
			})
			ws := app.Workspace("Acme")
			u := newUser(t, app, ws, "ana@acme.pe", models.RoleAgent)
			c := app.Client()
			c.Get("/login")
			res := c.PostForm("/login", url.Values{"email": {u.Email}, "password": {testutil.Password}})
			var ck *http.Cookie
			for _, k := range res.Cookies() {
				if k.Name == sessionCookieName {
					ck = k
				}
			}
			if ck == nil {
				t.Fatalf("production=%v: login set no session cookie", prod)
			}
			if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Secure != prod || ck.Path != "/" {
				t.Fatalf("production=%v: cookie HttpOnly=%v SameSite=%v Secure=%v Path=%q", prod, ck.HttpOnly, ck.SameSite, ck.Secure, ck.Path)
			}
		}
	})
}

func TestDeactivatedUserIsSignedOutAndCannotSignIn(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	admin := newUser(t, app, ws, "ana@acme.pe", models.RoleAdmin)
	agent := newUser(t, app, ws, "beto@acme.pe", models.RoleAgent)
	api := app.API(agent)
	agentWeb := app.LoginAs(agent)
	wantStatus(t, agentWeb.Get("/board"), http.StatusOK)

	ac := app.LoginAs(admin)
	ac.Get("/settings/users/" + itoa(agent.ID))
	// The form sends no "active" field when the box is unticked.
	res := ac.PostForm("/settings/users/"+itoa(agent.ID), url.Values{"name": {agent.Name}, "email": {agent.Email}, "role": {"agent"}, "max_concurrent": {"10"}})
	wantRedirect(t, res, "/settings/users")

	wantRedirect(t, agentWeb.Get("/board"), "/login?next=%2Fboard")
	res = login(app.Client(), agent.Email, testutil.Password, "")
	wantStatus(t, res, http.StatusUnauthorized)
	if got := strings.TrimSpace(byTestID(t, res, "login-error").Text()); got != "Correo o contraseña incorrectos" {
		t.Fatalf("deactivated sign-in message = %q", got)
	}
	if res := api.Do(http.MethodGet, "/api/v1/me", ""); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("deactivated user's API token still works: %d", res.StatusCode)
	}

	list := ac.Get("/settings/users")
	var found bool
	byTestID(t, list, "user-row").Each(func(_ int, s *goquery.Selection) {
		if strings.Contains(s.Text(), agent.Email) {
			found = true
			if !strings.Contains(s.Text(), "Desactivado") {
				t.Errorf("deactivated user's row does not say so: %q", strings.Join(strings.Fields(s.Text()), " "))
			}
		}
	})
	if !found {
		t.Fatal("deactivated user vanished from the list (their history must stay visible)")
	}
}

func TestAPIMe(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	u := newUser(t, app, ws, "ana@acme.pe", models.RoleSupervisor)
	token := app.Token(u)

	type apiErr struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	get := func(t *testing.T, auth string, cookieFrom *testutil.Client) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, app.URL+"/api/v1/me", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		hc := http.DefaultClient
		if cookieFrom != nil {
			hc = cookieFrom.HTTP
		}
		res, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return res, b
	}

	t.Run("valid token", func(t *testing.T) {
		res, body := get(t, "Bearer "+token, nil)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", res.StatusCode, body)
		}
		var me struct{ Email, Role, Workspace string }
		if err := json.Unmarshal(body, &me); err != nil {
			t.Fatalf("not JSON: %s", body)
		}
		if me.Email != u.Email || me.Role != models.RoleSupervisor || me.Workspace != "Acme" {
			t.Fatalf("me = %+v", me)
		}
	})

	signedIn := app.LoginAs(u)
	for _, tc := range []struct {
		name, auth string
		cookies    *testutil.Client
	}{
		{"no header", "", nil},
		{"not bearer", "Basic " + token, nil},
		{"empty bearer", "Bearer ", nil},
		{"unknown token", "Bearer atk_nope", nil},
		{"session cookie is no credential", "", signedIn},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, body := get(t, tc.auth, tc.cookies)
			if res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401: %s", res.StatusCode, body)
			}
			if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("Content-Type %q, want JSON", ct)
			}
			var e apiErr
			if err := json.Unmarshal(body, &e); err != nil || e.Error.Code != "unauthorized" || e.Error.Message == "" {
				t.Fatalf("error body = %s", body)
			}
		})
	}

	t.Run("unknown API path is a JSON 404", func(t *testing.T) {
		res := app.API(u).Do(http.MethodGet, "/api/v1/nope", "")
		if res.StatusCode != http.StatusNotFound {
			t.Fatalf("status %d", res.StatusCode)
		}
		var e apiErr
		if err := json.Unmarshal([]byte(res.Body), &e); err != nil || e.Error.Code != "not_found" {
			t.Fatalf("body = %s", res.Body)
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
