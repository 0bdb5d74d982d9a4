package web_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/pquerna/otp/totp"

	"github.com/atiende/atiende/app/audit"
	"github.com/atiende/atiende/app/config"
	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

func resetForm(u models.User, password string) url.Values {
	return url.Values{"name": {u.Name}, "email": {u.Email}, "role": {u.Role}, "password": {password},
		"active": {"1"}, "max_concurrent": {"10"}}
}

// TestPasswordResetEndsSessionsAndRevokesTokens: the usual recovery from a stolen
// account works. An admin's reset ends every session of the user and revokes their
// API tokens; the user changing their own password keeps only the current session.
func TestPasswordResetEndsSessionsAndRevokesTokens(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	admin := newUser(t, app, ws, "admin@acme.pe", models.RoleAdmin)
	ana := newUser(t, app, ws, "ana@acme.pe", models.RoleAgent)

	t.Run("admin reset", func(t *testing.T) {
		stolen := app.LoginAs(ana)
		api := app.API(ana)
		wantStatus(t, api.Do(http.MethodGet, "/api/v1/me", ""), http.StatusOK)
		wantStatus(t, stolen.Get("/board"), http.StatusOK)

		boss := app.LoginAs(admin)
		boss.Get(fmt.Sprintf("/settings/users/%d", ana.ID))
		wantRedirect(t, boss.PostForm(fmt.Sprintf("/settings/users/%d", ana.ID), resetForm(ana, "nueva-clave-123")), "/settings/users")

		wantRedirect(t, stolen.Get("/board"), "/login?next=%2Fboard")
		if res := api.Do(http.MethodGet, "/api/v1/me", ""); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("the old API token still works after the reset: %d", res.StatusCode)
		}
		wantStatus(t, boss.Get("/settings/users"), http.StatusOK) // the admin's own session is untouched
		c := app.Client()
		c.Login(ana.Email, "nueva-clave-123")
		wantStatus(t, c.Get("/board"), http.StatusOK)
	})

	t.Run("own change keeps this session only", func(t *testing.T) {
		here, there := app.Client(), app.Client()
		here.Login(ana.Email, "nueva-clave-123")
		there.Login(ana.Email, "nueva-clave-123")
		api := app.API(ana)
		here.Get("/settings/security")
		res := here.PostForm("/settings/security/password", url.Values{"current_password": {"equivocada-1"}, "new_password": {"otra-clave-456"}})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		if byTestID(t, res, "error-current_password").Length() != 1 {
			t.Fatal("a wrong current password is not pointed out")
		}
		res = here.PostForm("/settings/security/password", url.Values{"current_password": {"nueva-clave-123"}, "new_password": {"otra-clave-456"}})
		wantRedirect(t, res, "/settings/security")
		wantStatus(t, here.Get("/board"), http.StatusOK)
		wantRedirect(t, there.Get("/board"), "/login?next=%2Fboard")
		wantStatus(t, api.Do(http.MethodGet, "/api/v1/me", ""), http.StatusUnauthorized)
	})
}

// TestLoginThrottleHoldsUnderParallelRequests: 100 wrong passwords sent at once from
// one address for one account: at most 10 are evaluated, every other one is a 429.
func TestLoginThrottleHoldsUnderParallelRequests(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	ana := newUser(t, app, ws, "ana@acme.pe", models.RoleAgent)
	c := app.Client()
	c.Get("/login")
	cookie := sessionCookie(t, c)
	const n = 100
	codes := make([]int, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			req, _ := http.NewRequest(http.MethodPost, app.URL+"/login", strings.NewReader(url.Values{
				"email": {ana.Email}, "password": {fmt.Sprintf("incorrecta-%d", i)}, "_csrf": {c.CSRF}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.AddCookie(&http.Cookie{Name: sessionCookieName, Value: cookie})
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			codes[i] = res.StatusCode
		}()
	}
	close(start)
	wg.Wait()
	evaluated, throttled := 0, 0
	for _, code := range codes {
		switch code {
		case http.StatusUnauthorized:
			evaluated++
		case http.StatusTooManyRequests:
			throttled++
		default:
			t.Errorf("a parallel sign-in answered %d", code)
		}
	}
	t.Logf("parallel throttle: %d of %d evaluated, %d throttled", evaluated, n, throttled)
	if evaluated > 10 || evaluated+throttled != n {
		t.Fatalf("%d of %d parallel wrong passwords were evaluated (%d throttled); want at most 10", evaluated, n, throttled)
	}
	// And the account stays locked for the right password too.
	wantStatus(t, login(app.Client(), ana.Email, testutil.Password, ""), http.StatusTooManyRequests)
}

// TestTrustedProxiesDecideWhoTheClientIs: X-Forwarded-For is believed only from a
// configured proxy; the address shows in the audit log.
func TestTrustedProxiesDecideWhoTheClientIs(t *testing.T) {
	t.Parallel()
	ipOfLastLogin := func(t *testing.T, opts ...testutil.Option) string {
		app := testutil.NewApp(t, opts...)
		ws := app.Workspace("Acme")
		ana := newUser(t, app, ws, "ana@acme.pe", models.RoleAgent)
		c := app.Client()
		c.Get("/login")
		req, _ := http.NewRequest(http.MethodPost, app.URL+"/login", strings.NewReader(url.Values{
			"email": {ana.Email}, "password": {testutil.Password}, "_csrf": {c.CSRF}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", "198.51.100.7")
		wantStatus(t, c.Do(req), http.StatusSeeOther)
		var ip string
		testutil.Must(t, app.DB.Gorm.Raw(`SELECT ip FROM audit_events WHERE action = 'auth.login' ORDER BY id DESC LIMIT 1`).Scan(&ip).Error)
		return ip
	}
	if ip := ipOfLastLogin(t); ip != "127.0.0.1" {
		t.Errorf("without TRUSTED_PROXIES the client is %q, want the peer 127.0.0.1", ip)
	}
	_, loopback, _ := net.ParseCIDR("127.0.0.0/8")
	if ip := ipOfLastLogin(t, func(c *config.Config) { c.TrustedProxies = []*net.IPNet{loopback} }); ip != "198.51.100.7" {
		t.Errorf("behind a trusted proxy the client is %q, want 198.51.100.7 from X-Forwarded-For", ip)
	}
}

// TestCSRFTokenIsNotAcceptedFromTheQueryString: a token in a URL leaks (logs,
// history, Referer), so only the header or the form body count.
func TestCSRFTokenIsNotAcceptedFromTheQueryString(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	ana := newUser(t, app, ws, "ana@acme.pe", models.RoleAgent)
	c := app.LoginAs(ana)
	res := postNoCSRF(c, "/settings/tokens?_csrf="+url.QueryEscape(c.CSRF), url.Values{"name": {"Por la URL"}})
	wantStatus(t, res, http.StatusForbidden)
	var n int64
	testutil.Must(t, app.DB.Gorm.Model(&models.APIToken{}).Where("user_id = ?", ana.ID).Count(&n).Error)
	if n != 0 {
		t.Fatal("a token was created with the CSRF token in the query string")
	}
	wantStatus(t, c.PostForm("/settings/tokens", url.Values{"name": {"Por el formulario"}}), http.StatusCreated)
}

// TestMetricsNeedTheTokenOrTheirOwnAddress covers METRICS_TOKEN and METRICS_ADDR.
func TestMetricsNeedTheTokenOrTheirOwnAddress(t *testing.T) {
	t.Parallel()
	get := func(app *testutil.App, auth string) int {
		req, _ := http.NewRequest(http.MethodGet, app.URL+"/metrics", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		res, err := http.DefaultClient.Do(req)
		testutil.Must(t, err)
		res.Body.Close()
		return res.StatusCode
	}
	open := testutil.NewApp(t)
	if code := get(open, ""); code != http.StatusOK {
		t.Errorf("development without settings: /metrics %d, want 200", code)
	}
	tok := testutil.NewApp(t, func(c *config.Config) { c.MetricsToken = "secreto-de-prometheus-123" })
	for auth, want := range map[string]int{"": 401, "Bearer otro-token-cualquiera": 401, "secreto-de-prometheus-123": 401, "Bearer secreto-de-prometheus-123": 200} {
		if code := get(tok, auth); code != want {
			t.Errorf("METRICS_TOKEN set, Authorization %q: %d, want %d", auth, code, want)
		}
	}
	apart := testutil.NewApp(t, func(c *config.Config) { c.MetricsAddr = "127.0.0.1:9100" })
	if code := get(apart, ""); code != http.StatusNotFound {
		t.Errorf("METRICS_ADDR set: /metrics on the main port answered %d, want 404", code)
	}
	if code := get(apart, ""); code == http.StatusOK {
		t.Error("metrics served on the public port")
	}
}

// enrol turns on two-factor sign-in through the security screen and returns the
// secret and the recovery codes shown.
func enrol(t *testing.T, c *testutil.Client) (string, []string) {
	t.Helper()
	res := c.Get("/settings/security")
	wantStatus(t, res, http.StatusOK)
	if src := byTestID(t, res, "tfa-qr").AttrOr("src", ""); !strings.HasPrefix(src, "data:image/png;base64,") {
		t.Fatalf("no server-rendered QR code: src %.60q", src)
	}
	secret := strings.ReplaceAll(byTestID(t, res, "tfa-secret").AttrOr("value", ""), " ", "")
	code, err := totp.GenerateCode(secret, time.Now())
	testutil.Must(t, err)
	res = c.PostForm("/settings/security/2fa/confirm", url.Values{"code": {code}})
	wantStatus(t, res, http.StatusCreated)
	var codes []string
	byTestID(t, res, "recovery-code").Each(func(_ int, s *goquery.Selection) { codes = append(codes, strings.TrimSpace(s.Text())) })
	if len(codes) != 10 {
		t.Fatalf("%d recovery codes shown, want 10", len(codes))
	}
	return secret, codes
}

// nextCode is the code of the next 30 s step (accepted, and not the one just used).
func nextCode(t *testing.T, secret string) string {
	t.Helper()
	code, err := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
	testutil.Must(t, err)
	return code
}

func secondStep(c *testutil.Client, code string) testutil.Response {
	c.T.Helper()
	return c.PostForm("/login/2fa", url.Values{"code": {code}})
}

func TestTwoFactorSignIn(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	ana := newUser(t, app, ws, "ana@acme.pe", models.RoleAgent)
	me := app.LoginAs(ana)
	api := app.API(ana)

	me.Get("/settings/security")
	wantStatus(t, me.PostForm("/settings/security/2fa/confirm", url.Values{"code": {"12345"}}), http.StatusUnprocessableEntity)
	secret, codes := enrol(t, me)
	if st := strings.TrimSpace(byTestID(t, me.Get("/settings/security"), "tfa-state").Text()); st != "Activada" {
		t.Fatalf("state after enrolment: %q", st)
	}
	var sealed []byte
	testutil.Must(t, app.DB.Gorm.Raw(`SELECT secret FROM user_totp WHERE user_id = ?`, ana.ID).Row().Scan(&sealed))
	if len(sealed) == 0 || strings.Contains(string(sealed), secret) {
		t.Fatal("the TOTP secret is not encrypted at rest")
	}

	// The password alone no longer signs in.
	c := app.Client()
	wantRedirect(t, login(c, ana.Email, testutil.Password, "/settings/tokens"), "/login/2fa")
	wantRedirect(t, c.Get("/board"), "/login?next=%2Fboard")
	res := c.Get("/login/2fa")
	wantStatus(t, res, http.StatusOK)
	wantStatus(t, secondStep(c, "000000"), http.StatusUnauthorized)
	code := nextCode(t, secret)
	wantRedirect(t, secondStep(c, code), "/settings/tokens")
	wantStatus(t, c.Get("/board"), http.StatusOK)

	// A code works once.
	replay := app.Client()
	wantRedirect(t, login(replay, ana.Email, testutil.Password, ""), "/login/2fa")
	wantStatus(t, secondStep(replay, code), http.StatusUnauthorized)
	// A recovery code works once, in any spelling.
	wantRedirect(t, secondStep(replay, " "+strings.ToUpper(codes[3])+" "), "/board")
	again := app.Client()
	wantRedirect(t, login(again, ana.Email, testutil.Password, ""), "/login/2fa")
	wantStatus(t, secondStep(again, codes[3]), http.StatusUnauthorized)
	if left := byTestID(t, me.Get("/settings/security"), "recovery-left").Text(); !strings.Contains(left, "9 de 10") {
		t.Fatalf("recovery codes left: %q", left)
	}

	// The API token flow is unchanged.
	wantStatus(t, api.Do(http.MethodGet, "/api/v1/me", ""), http.StatusOK)

	// Disabling needs the password.
	me.Get("/settings/security")
	wantStatus(t, me.PostForm("/settings/security/2fa/disable", url.Values{"password": {"no-es-la-mia"}}), http.StatusUnprocessableEntity)
	wantRedirect(t, me.PostForm("/settings/security/2fa/disable", url.Values{"password": {testutil.Password}}), "/settings/security")
	wantRedirect(t, login(app.Client(), ana.Email, testutil.Password, ""), "/board")
}

func TestWrongTwoFactorCodesAreThrottled(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	ana := newUser(t, app, ws, "ana@acme.pe", models.RoleAgent)
	secret, _ := enrol(t, app.LoginAs(ana))
	c := app.Client()
	wantRedirect(t, login(c, ana.Email, testutil.Password, ""), "/login/2fa")
	for i := range 10 {
		wantStatus(t, secondStep(c, fmt.Sprintf("00000%d", i)), http.StatusUnauthorized)
	}
	res := secondStep(c, nextCode(t, secret))
	wantStatus(t, res, http.StatusTooManyRequests)
	if msg := byTestID(t, res, "login-error").Text(); !strings.Contains(msg, "Demasiados intentos") {
		t.Fatalf("429 message %q", msg)
	}
}

func TestWorkspaceCanRequireTwoFactor(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	admin := newUser(t, app, ws, "admin@acme.pe", models.RoleAdmin)
	luis := newUser(t, app, ws, "luis@acme.pe", models.RoleAgent)
	boss := app.LoginAs(admin)
	luisAPI := app.API(luis)

	boss.Get("/settings/security")
	res := boss.PostForm("/settings/security/require", url.Values{"require": {"1"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if byTestID(t, res, "error-require").Length() != 1 {
		t.Fatal("an admin without two-factor sign-in can require it of everyone, or is not told why not")
	}
	enrol(t, boss)
	wantRedirect(t, boss.PostForm("/settings/security/require", url.Values{"require": {"1"}}), "/settings/security")
	// An agent cannot change the rule.
	lc := app.LoginAs(luis)
	lc.Get("/settings/security")
	wantStatus(t, lc.PostForm("/settings/security/require", url.Values{"require": {"0"}}), http.StatusForbidden)

	// Luis signs in and is sent to enrol before anything else.
	c := app.Client()
	wantRedirect(t, login(c, luis.Email, testutil.Password, ""), "/board")
	wantRedirect(t, c.Get("/board"), "/settings/security")
	wantRedirect(t, c.Get("/settings/users"), "/settings/security")
	page := c.Get("/settings/security")
	wantStatus(t, page, http.StatusOK)
	if byTestID(t, page, "must-enrol").Length() != 1 {
		t.Fatal("the security page does not say why Luis is there")
	}
	hx := c.HTMX(http.MethodGet, "/board/columns/new", nil)
	if hx.Header.Get("HX-Redirect") != "/settings/security" {
		t.Fatalf("an htmx request is not sent to enrol: %d %q", hx.StatusCode, hx.Header.Get("HX-Redirect"))
	}
	wantStatus(t, luisAPI.Do(http.MethodGet, "/api/v1/me", ""), http.StatusOK) // tokens unchanged
	enrol(t, c)
	wantStatus(t, c.Get("/board"), http.StatusOK)
}

// TestAdminRemovesALostSecondFactor: a user who lost phone and recovery codes gets
// back in after an admin removes their two-factor sign-in; nobody else can.
func TestAdminRemovesALostSecondFactor(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	admin := newUser(t, app, ws, "admin@acme.pe", models.RoleAdmin)
	luis := newUser(t, app, ws, "luis@acme.pe", models.RoleAgent)
	ana := newUser(t, app, ws, "ana@acme.pe", models.RoleAgent)
	enrol(t, app.LoginAs(luis))
	wantRedirect(t, login(app.Client(), luis.Email, testutil.Password, ""), "/login/2fa")

	path := fmt.Sprintf("/settings/users/%d/2fa/reset", luis.ID)
	ac := app.LoginAs(ana)
	wantStatus(t, ac.PostForm(path, nil), http.StatusForbidden)

	boss := app.LoginAs(admin)
	page := boss.Get(fmt.Sprintf("/settings/users/%d", luis.ID))
	if byTestID(t, page, "user-2fa").Length() != 1 {
		t.Fatal("the user page does not show Luis's two-factor sign-in")
	}
	wantRedirect(t, boss.PostForm(path, nil), fmt.Sprintf("/settings/users/%d", luis.ID))
	wantRedirect(t, login(app.Client(), luis.Email, testutil.Password, ""), "/board")
	if !has(auditActions(t, boss.Get("/settings/audit?action=user.2fa_disabled")), audit.TwoFactorOff) {
		t.Error("the removal is not audited")
	}
}
