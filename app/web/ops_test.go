package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/jackc/pgx/v5"

	"github.com/atiende/atiende/app/config"
	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

func TestSecurityHeadersOnEveryPage(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	admin := newUser(t, app, ws, "ana@acme.pe", models.RoleAdmin)
	signedIn := app.LoginAs(admin)

	pages := []struct {
		name   string
		client *testutil.Client
		path   string
	}{
		{"login", app.Client(), "/login"},
		{"login error", nil, ""},
		{"board", signedIn, "/board"},
		{"users", signedIn, "/settings/users"},
		{"new user", signedIn, "/settings/users/new"},
		{"teams", signedIn, "/settings/teams"},
		{"404", app.Client(), "/no-existe"},
		{"404 signed in", signedIn, "/settings/users/999999"},
	}
	for _, p := range pages {
		t.Run(p.name, func(t *testing.T) {
			var res testutil.Response
			if p.client == nil {
				res = login(app.Client(), admin.Email, "incorrecta-1", "")
			} else {
				res = p.client.Get(p.path)
			}
			h := res.Header
			csp := h.Get("Content-Security-Policy")
			directives := map[string]string{}
			for _, d := range strings.Split(csp, ";") {
				f := strings.Fields(d)
				if len(f) > 0 {
					directives[f[0]] = strings.Join(f[1:], " ")
				}
			}
			if directives["frame-ancestors"] != "'none'" {
				t.Errorf("CSP frame-ancestors = %q in %q", directives["frame-ancestors"], csp)
			}
			script, ok := directives["script-src"]
			if !ok {
				script = directives["default-src"]
			}
			if script == "" || strings.Contains(script, "'unsafe-inline'") || strings.Contains(script, "'unsafe-eval'") || strings.Contains(script, "*") {
				t.Errorf("CSP script-src = %q: inline or foreign scripts allowed", script)
			}
			if directives["object-src"] != "'none'" {
				t.Errorf("CSP object-src = %q", directives["object-src"])
			}
			for k, want := range map[string]string{
				"X-Content-Type-Options": "nosniff",
				"Referrer-Policy":        "strict-origin-when-cross-origin",
				"X-Frame-Options":        "DENY",
			} {
				if got := h.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			if h.Get("Strict-Transport-Security") != "" {
				t.Error("HSTS sent outside production (it would pin http://localhost)")
			}
			// The CSP forbids inline code, so the page must not rely on any.
			doc := res.Doc(t)
			doc.Find("script").Each(func(_ int, s *goquery.Selection) {
				if src, ok := s.Attr("src"); !ok || src == "" {
					t.Errorf("inline <script> the CSP will block: %.80s", s.Text())
				}
			})
			doc.Find("*").Each(func(_ int, s *goquery.Selection) {
				for _, a := range s.Nodes[0].Attr {
					if strings.HasPrefix(a.Key, "on") || strings.HasPrefix(a.Key, "hx-on") || strings.HasPrefix(a.Val, "javascript:") {
						t.Errorf("<%s %s=%q>: inline code the CSP will block", s.Nodes[0].Data, a.Key, a.Val)
					}
				}
			})
		})
	}

	t.Run("production adds HSTS", func(t *testing.T) {
		prod := testutil.NewApp(t, func(c *config.Config) { c.Env = config.EnvProduction })
		res := prod.Client().Get("/login")
		if got := res.Header.Get("Strict-Transport-Security"); !strings.Contains(got, "max-age=") {
			t.Fatalf("Strict-Transport-Security = %q", got)
		}
	})
}

func TestErrorPagesAreFriendlyAndSpanish(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	admin := newUser(t, app, ws, "ana@acme.pe", models.RoleAdmin)

	check := func(t *testing.T, res testutil.Response, status int, title string) *goquery.Document {
		t.Helper()
		wantStatus(t, res, status)
		if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Fatalf("Content-Type = %q", ct)
		}
		doc := res.Doc(t)
		if lang, _ := doc.Find("html").Attr("lang"); lang != "es" {
			t.Fatalf(`<html lang=%q>, want "es"`, lang)
		}
		page := doc.Find(`[data-testid="error-page"]`)
		if page.Length() != 1 {
			t.Fatalf("no error page: %.300s", res.Body)
		}
		if h1 := strings.TrimSpace(page.Find("h1").Text()); h1 != title {
			t.Fatalf("error title %q, want %q", h1, title)
		}
		if href, _ := page.Find("a").Attr("href"); href != "/board" {
			t.Fatalf("error page offers no way back (link %q)", href)
		}
		for _, english := range []string{"Not Found", "Forbidden", "Internal Server Error", "Method Not Allowed"} {
			if strings.Contains(res.Body, english) {
				t.Fatalf("error page shows %q", english)
			}
		}
		return doc
	}

	t.Run("404 for a stranger", func(t *testing.T) {
		check(t, app.Client().Get("/esto/no/existe"), http.StatusNotFound, "Página no encontrada")
	})
	t.Run("404 inside the app keeps the frame", func(t *testing.T) {
		doc := check(t, app.LoginAs(admin).Get("/settings/teams/424242"), http.StatusNotFound, "Página no encontrada")
		if doc.Find(`[data-testid="nav-board"]`).Length() != 1 {
			t.Fatal("a signed-in 404 lost the navigation")
		}
	})
	t.Run("403", func(t *testing.T) {
		c := app.LoginAs(newUser(t, app, ws, "beto@acme.pe", models.RoleAgent))
		check(t, c.Get("/settings/users"), http.StatusForbidden, "Acceso restringido")
	})
	t.Run("HEAD of a missing page has no body", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodHead, app.URL+"/no-existe", nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound {
			t.Fatalf("HEAD status %d", res.StatusCode)
		}
	})
}

// When the database goes away: liveness stays up, readiness says why not, and pages
// show a friendly 500 without leaking the error.
func TestDatabaseOutage(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	u := newUser(t, app, ws, "ana@acme.pe", models.RoleAgent)
	c := app.LoginAs(u)
	wantStatus(t, c.Get("/readyz"), http.StatusOK)

	name := strings.TrimPrefix(testutil.ParseURL(t, app.DB.URL).Path, "/")
	dropDatabase(t, name)

	wantStatus(t, c.Get("/healthz"), http.StatusOK)
	res := c.Get("/readyz")
	wantStatus(t, res, http.StatusServiceUnavailable)
	var body struct{ Status, Reason string }
	if err := json.Unmarshal([]byte(res.Body), &body); err != nil || body.Status != "unavailable" || body.Reason == "" {
		t.Fatalf("/readyz body = %s", res.Body)
	}

	res = c.Get("/board")
	wantStatus(t, res, http.StatusInternalServerError)
	page := byTestID(t, res, "error-page")
	if !strings.Contains(page.Find("h1").Text(), "Algo salió mal") {
		t.Fatalf("500 page: %.300s", squash(page.Text()))
	}
	for _, leak := range []string{name, "SQLSTATE", "pgx", "does not exist", "goroutine"} {
		if strings.Contains(res.Body, leak) {
			t.Fatalf("500 page leaks %q", leak)
		}
	}
}

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	c := app.Client()

	res := c.Get("/healthz")
	wantStatus(t, res, http.StatusOK)
	res = c.Get("/readyz")
	wantStatus(t, res, http.StatusOK)
	if !strings.Contains(res.Body, `"ok"`) {
		t.Fatalf("/readyz body = %s", res.Body)
	}
	if sessionCookie(t, c) != "" {
		t.Fatal("probes created a session (a row per probe in the sessions table)")
	}

	// A migration the process does not see applied: the release step did not run.
	testutil.Must(t, app.DB.Gorm.Exec(`DELETE FROM goose_db_version WHERE version_id = (SELECT max(version_id) FROM goose_db_version)`).Error)
	res = c.Get("/readyz")
	wantStatus(t, res, http.StatusServiceUnavailable)
	if !strings.Contains(res.Body, "migrat") {
		t.Fatalf("/readyz does not say migrations are pending: %s", res.Body)
	}
	wantStatus(t, c.Get("/healthz"), http.StatusOK)
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	admin := newUser(t, app, ws, "ana@acme.pe", models.RoleAdmin)
	c := app.LoginAs(admin)
	c.Get("/settings/users/" + itoa(admin.ID))
	c.Get("/settings/users/987654")
	app.Client().Get("/nada/aqui")

	// Prometheus scrapes with Accept-Encoding: gzip; Go's client does too and
	// decompresses once, as Prometheus does.
	t.Run("a gzip-accepting scraper gets the text format", func(t *testing.T) {
		res := app.Client().Get("/metrics")
		wantStatus(t, res, http.StatusOK)
		if !strings.HasPrefix(res.Body, "# HELP") {
			t.Fatalf("body after one gzip decoding starts with %q (Content-Encoding compressed twice?)", res.Body[:min(len(res.Body), 12)])
		}
	})

	req, _ := http.NewRequest(http.MethodGet, app.URL+"/metrics", nil)
	req.Header.Set("Accept-Encoding", "identity")
	res := app.Client().Do(req)
	wantStatus(t, res, http.StatusOK)
	body := res.Body

	t.Run("request latency by route and status", func(t *testing.T) {
		for _, want := range []string{
			`atiende_http_request_duration_seconds_bucket{method="GET",route="/login",status="200"`,
			`atiende_http_request_duration_seconds_count{method="POST",route="/login",status="303"}`,
			`atiende_http_request_duration_seconds_count{method="GET",route="/settings/users/:id",status="200"}`,
			`atiende_http_request_duration_seconds_count{method="GET",route="/settings/users/:id",status="404"}`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
		// Labels are route patterns, never raw paths: ids would explode the series.
		if strings.Contains(body, `route="/settings/users/987654"`) || strings.Contains(body, `route="/nada/aqui"`) {
			t.Error("a raw path became a route label")
		}
	})
	t.Run("go runtime", func(t *testing.T) {
		for _, want := range []string{"go_goroutines ", "go_memstats_heap_alloc_bytes ", "process_open_fds "} {
			if !strings.Contains(body, want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
	})
	t.Run("database pool", func(t *testing.T) {
		if !regexp.MustCompile(`(?m)^atiende_db_\w+`).MatchString(body) {
			var names []string
			for _, l := range strings.Split(body, "\n") {
				if strings.HasPrefix(l, "# TYPE ") && (strings.Contains(l, "sql") || strings.Contains(l, "db") || strings.Contains(l, "pool")) {
					names = append(names, strings.Fields(l)[2])
				}
			}
			t.Errorf("/metrics has no atiende_db_* pool metrics; database-looking metrics: %v", names)
		}
	})
	t.Run("no session, no cookie", func(t *testing.T) {
		if len(res.Cookies()) != 0 {
			t.Error("/metrics sets a cookie")
		}
	})
}

// dropDatabase removes a test database while the app still uses it.
func dropDatabase(t *testing.T, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, testutil.ServerURL())
	testutil.Must(t, err)
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		t.Fatalf("drop %s: %v", name, err)
	}
}
