package web_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

// Real-browser tests: only what a browser shows (forms submitted by a person,
// redirects followed, the page as laid out). Few and fast.

func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

func location(t *testing.T, ctx context.Context) *url.URL {
	t.Helper()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	return testutil.ParseURL(t, loc)
}

func textOf(t *testing.T, ctx context.Context, css string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css)))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(s)
}

// signIn types the credentials into the login form on screen and submits it.
func signIn(email, password string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		return chromedp.Do(ctx,
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)),
			// After a failed attempt the email is still there: type it afresh.
			chromedp.Evaluate[chromedp.Void](`document.querySelector('[data-testid="login-form"] input[name="email"]').value = ''`),
			chromedp.SendKeys(chromedp.CSS(`[data-testid="login-form"] input[name="email"]`), email),
			chromedp.SendKeys(chromedp.CSS(`[data-testid="login-form"] input[name="password"]`), password),
			chromedp.Click(chromedp.CSS(`[data-testid="login-form"] button[type="submit"]`)),
		)
	})
}

func TestBrowserWrongPasswordShowsTheMessage(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	u := newUser(t, app, app.Workspace("Acme"), "ana@acme.pe", models.RoleAgent)
	ctx := testutil.NewBrowser(t)

	do(t, ctx, chromedp.Navigate(app.URL+"/login"), signIn(u.Email, "incorrecta-1"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-error"]`)))
	if got := textOf(t, ctx, `[data-testid="login-error"]`); got != "Correo o contraseña incorrectos" {
		t.Fatalf("message on screen: %q", got)
	}
	if loc := location(t, ctx); loc.Path != "/login" {
		t.Fatalf("after a wrong password the browser is at %s", loc)
	}
	// The email stays typed, so only the password needs retyping.
	if v, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(`input[name="email"]`))); err != nil || v != u.Email {
		t.Fatalf("email field = %q (%v)", v, err)
	}
}

func TestBrowserSignInLandsOnBoardAndLogoutReturnsToLogin(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	u := newUser(t, app, app.Workspace("Acme"), "ana@acme.pe", models.RoleAgent)
	ctx := testutil.NewBrowser(t)

	do(t, ctx, chromedp.Navigate(app.URL+"/board"), signIn(u.Email, testutil.Password),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="board"]`)))
	if loc := location(t, ctx); loc.Path != "/board" {
		t.Fatalf("signed in at %s, want /board", loc)
	}
	if me := textOf(t, ctx, `[data-testid="me"]`); !strings.Contains(me, "Ana") {
		t.Fatalf("the rail does not show who is signed in: %q", me)
	}

	do(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid="logout"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)))
	if loc := location(t, ctx); loc.Path != "/login" {
		t.Fatalf("after logout the browser is at %s", loc)
	}
	// The session is gone: the board sends the browser back to the login page.
	do(t, ctx, chromedp.Navigate(app.URL+"/board"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)))
}

func TestBrowserStrangerReturnsToSettingsAfterSigningIn(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	admin := newUser(t, app, app.Workspace("Acme"), "ana@acme.pe", models.RoleAdmin)
	ctx := testutil.NewBrowser(t)

	do(t, ctx, chromedp.Navigate(app.URL+"/settings/users"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)))
	if loc := location(t, ctx); loc.Path != "/login" || loc.Query().Get("next") != "/settings/users" {
		t.Fatalf("stranger sent to %s", loc)
	}
	do(t, ctx, signIn(admin.Email, testutil.Password), chromedp.WaitVisible(chromedp.CSS(`[data-testid="users-table"]`)))
	if loc := location(t, ctx); loc.Path != "/settings/users" {
		t.Fatalf("after signing in the browser is at %s, want /settings/users", loc)
	}
}

// TestBrowserScreens visits each screen of the foundation on a desktop and on a
// phone: every screen shows its main element and nothing overflows sideways.
// With ATIENDE_SCREENSHOTS=DIR it also saves a full-page PNG of each.
func TestBrowserScreens(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	ventas, soporte := app.Team(ws, "Ventas"), app.Team(ws, "Soporte Técnico")
	admin := newUser(t, app, ws, "ana@acme.pe", models.RoleAdmin)
	newUser(t, app, ws, "beto.ramirez@acme.pe", models.RoleSupervisor, ventas, soporte)
	newUser(t, app, ws, "carla@acme.pe", models.RoleAgent, soporte)

	viewports := []struct {
		name          string
		width, height int64
		opts          []chromedp.EmulateViewportOption
	}{
		{"desktop", 1280, 800, nil},
		{"phone", 390, 844, []chromedp.EmulateViewportOption{chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait}},
	}
	for _, vp := range viewports {
		t.Run(vp.name, func(t *testing.T) {
			ctx := testutil.NewBrowser(t)
			do(t, ctx, chromedp.EmulateViewport(vp.width, vp.height, vp.opts...))
			shot := func(name string) { testutil.Screenshot(t, ctx, name+"-"+vp.name) }
			noSidewaysScroll := func(screen string) {
				t.Helper()
				over, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth - document.documentElement.clientWidth`))
				if err != nil {
					t.Fatal(err)
				}
				if over > 0 {
					t.Errorf("%s on %s: the page is %dpx wider than the screen (sideways scrolling)", screen, vp.name, over)
				}
			}
			visit := func(screen, path, testid string) {
				t.Helper()
				do(t, ctx, chromedp.Navigate(app.URL+path), chromedp.WaitVisible(chromedp.CSS(`[data-testid="`+testid+`"]`)))
				noSidewaysScroll(screen)
				shot(screen)
			}

			visit("login", "/login", "login-form")
			do(t, ctx, signIn(admin.Email, "incorrecta-1"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-error"]`)))
			noSidewaysScroll("login-error")
			shot("login-error")
			do(t, ctx, signIn(admin.Email, testutil.Password), chromedp.WaitVisible(chromedp.CSS(`[data-testid="board"]`)))
			noSidewaysScroll("board")
			shot("board")
			visit("users", "/settings/users", "users-table")

			// Server-side validation: the browser's own checks are switched off so the
			// server's field-by-field messages show.
			do(t, ctx,
				chromedp.Navigate(app.URL+"/settings/users/new"),
				chromedp.WaitVisible(chromedp.CSS(`[data-testid="user-form"]`)),
				chromedp.SendKeys(chromedp.CSS(`[data-testid="user-form"] input[name="email"]`), "no-es-correo"),
				chromedp.SendKeys(chromedp.CSS(`[data-testid="user-form"] input[name="password"]`), "corta"),
				chromedp.Evaluate[chromedp.Void](`document.querySelector('[data-testid="user-form"]').noValidate = true`),
				// As a person does: scroll to the end first (on a phone the bottom bar
				// covers a button that is merely scrolled into view).
				chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, document.documentElement.scrollHeight)`),
				chromedp.Click(chromedp.CSS(`[data-testid="user-form"] button[type="submit"]`)),
				chromedp.WaitVisible(chromedp.CSS(`[data-testid="error-email"]`)),
			)
			for _, field := range []string{"name", "email", "password"} {
				if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="error-`+field+`"]').length`)); err != nil || n != 1 {
					t.Errorf("no message under %s on %s", field, vp.name)
				}
			}
			noSidewaysScroll("user-form-errors")
			shot("user-form-errors")

			visit("teams", "/settings/teams", "teams-table")
			visit("404", "/no-existe", "error-page")
		})
	}
}
