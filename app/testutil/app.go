package testutil

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/labstack/echo/v4"
	"golang.org/x/crypto/bcrypt"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/clock"
	"github.com/atiende/atiende/app/config"
	"github.com/atiende/atiende/app/db"
	"github.com/atiende/atiende/app/live"
	"github.com/atiende/atiende/app/web"
	"github.com/atiende/atiende/models"
)

// Password is the password of every user the harness creates.
const Password = "correcto-123"

// App is a running Atiende web server on a fresh database.
type App struct {
	T        testing.TB
	DB       *db.DB
	Config   config.Config
	Server   *web.Server
	Echo     *echo.Echo
	HTTP     *httptest.Server
	URL      string
	Accounts *accounts.Service
}

// Option changes the configuration before the server starts.
type Option func(*config.Config)

// WithGraphURL points the Graph API client at url (a fake).
func WithGraphURL(u string) Option { return func(c *config.Config) { c.GraphURL = u } }

// NewApp starts a server on a fresh database; everything stops when t ends.
func NewApp(t testing.TB, opts ...Option) *App {
	t.Helper()
	return NewAppWithClock(t, clock.Real{}, opts...)
}

// NewAppWithClock is NewApp with every service on clk (a clock.Manual drives time).
func NewAppWithClock(t testing.TB, clk clock.Clock, opts ...Option) *App {
	t.Helper()
	return NewAppOn(t, NewDB(t), clk, opts...)
}

// NewAppOn is NewAppWithClock on an existing database (a benchmark's seeded copy).
func NewAppOn(t testing.TB, d *db.DB, clk clock.Clock, opts ...Option) *App {
	t.Helper()
	cfg, err := config.Load(func(k string) string {
		if k == "DATABASE_URL" {
			return d.URL
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range opts {
		o(&cfg)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	s, e := web.New(web.Deps{Config: cfg, DB: d, Logger: logger, Clock: clk})
	s.Accounts.BcryptCost = bcrypt.MinCost // real bcrypt, cheap cost: the suite creates many users
	ctx, cancel := context.WithCancel(context.Background())
	go s.Run(ctx)
	t.Cleanup(cancel)
	select {
	case <-s.Hub.Ready():
	case <-time.After(30 * time.Second):
		t.Fatal("live hub did not start listening")
	}
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return &App{T: t, DB: d, Config: cfg, Server: s, Echo: e, HTTP: srv, URL: srv.URL, Accounts: s.Accounts}
}

// SyncLive returns once the live hub has dispatched every notification committed
// before the call. PostgreSQL delivers notifications in commit order on the hub's one
// LISTEN connection, so a marker sent now comes back after all of them. Call it before
// opening an event stream whose first events a test checks: without it, the event of a
// change made just before (a sign-in's presence, a customer's first message) may reach
// the hub only after the new stream subscribed, and arrive on it.
func (a *App) SyncLive() {
	a.T.Helper()
	sub := a.Server.Hub.Subscribe(0) // no workspace has id 0: only the markers come here
	defer sub.Close()
	marker := fmt.Sprintf("sync-%d", syncSeq.Add(1))
	payload, err := live.Payload(live.Event{Kind: "sync", WorkspaceID: 0, Text: marker})
	if err != nil {
		a.T.Fatal(err)
	}
	deadline := time.After(15 * time.Second)
	for {
		// Sent again every second: a notification sent while the hub reconnects is lost.
		if err := a.DB.Gorm.Exec("SELECT pg_notify(?, ?)", live.Channel, payload).Error; err != nil {
			a.T.Fatal(err)
		}
		resend := time.After(time.Second)
		for wait := true; wait; {
			select {
			case e := <-sub.C:
				if e.Text == marker {
					return
				}
			case <-resend:
				wait = false
			case <-deadline:
				a.T.Fatal("the live hub did not dispatch a marker notification within 15 s")
			}
		}
	}
}

var syncSeq atomic.Int64

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// Workspace creates (or returns) a workspace.
func (a *App) Workspace(name string) models.Workspace {
	a.T.Helper()
	w, err := a.Accounts.EnsureWorkspace(context.Background(), name, "America/Lima")
	if err != nil {
		a.T.Fatal(err)
	}
	return w
}

// Team creates (or returns) a team in the workspace.
func (a *App) Team(ws models.Workspace, name string) models.Team {
	a.T.Helper()
	t, err := a.Accounts.EnsureTeam(context.Background(), ws.ID, name, "#2563eb")
	if err != nil {
		a.T.Fatal(err)
	}
	return t
}

// User creates a user with Password in the workspace and teams.
func (a *App) User(ws models.Workspace, email, role string, teams ...models.Team) models.User {
	a.T.Helper()
	ids := []int64{}
	for _, t := range teams {
		ids = append(ids, t.ID)
	}
	name := strings.Split(email, "@")[0]
	u, err := a.Accounts.CreateUser(context.Background(), ws.ID, accounts.UserInput{
		Email: email, Name: strings.ToUpper(name[:1]) + name[1:], Role: role, Password: Password, MaxConcurrent: 10, Active: true, TeamIDs: ids})
	if err != nil {
		a.T.Fatal(err)
	}
	return u
}

// Token creates an API token for u.
func (a *App) Token(u models.User) string {
	a.T.Helper()
	tok, err := a.Accounts.CreateAPIToken(context.Background(), u, "test")
	if err != nil {
		a.T.Fatal(err)
	}
	return tok
}

// Client is a browser-like HTTP client: cookie jar, no automatic redirects, and the
// CSRF token of the last page it saw.
type Client struct {
	T    testing.TB
	Base string
	HTTP *http.Client
	CSRF string
}

// Client returns a new anonymous client for the app.
func (a *App) Client() *Client {
	jar, _ := cookiejar.New(nil)
	return &Client{T: a.T, Base: a.URL, HTTP: &http.Client{Jar: jar, Timeout: 60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// LoginAs returns a client signed in as u (whose password is Password).
func (a *App) LoginAs(u models.User) *Client {
	c := a.Client()
	c.Login(u.Email, Password)
	return c
}

// Response is a finished request with its body read.
type Response struct {
	*http.Response
	Body string
}

// Doc parses the body as HTML.
func (r Response) Doc(t testing.TB) *goquery.Document {
	t.Helper()
	d, err := goquery.NewDocumentFromReader(strings.NewReader(r.Body))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// Do sends req and reads the answer, remembering any CSRF token on the page.
func (c *Client) Do(req *http.Request) Response {
	c.T.Helper()
	res, err := c.HTTP.Do(req)
	if err != nil {
		c.T.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	body := string(b)
	if strings.Contains(res.Header.Get("Content-Type"), "text/html") {
		if d, err := goquery.NewDocumentFromReader(strings.NewReader(body)); err == nil {
			if tok, ok := d.Find(`meta[name="csrf-token"]`).Attr("content"); ok && tok != "" {
				c.CSRF = tok
			} else if tok, ok := d.Find(`input[name="_csrf"]`).Attr("value"); ok && tok != "" {
				c.CSRF = tok
			}
		}
	}
	return Response{Response: res, Body: body}
}

// Get fetches path.
func (c *Client) Get(path string) Response {
	c.T.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.Base+path, nil)
	return c.Do(req)
}

// HTMX fetches path as htmx does (a partial).
func (c *Client) HTMX(method, path string, form url.Values) Response {
	c.T.Helper()
	req, _ := http.NewRequest(method, c.Base+path, strings.NewReader(form.Encode()))
	req.Header.Set("HX-Request", "true")
	req.Header.Set("X-CSRF-Token", c.CSRF)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return c.Do(req)
}

// PostForm posts form with the client's CSRF token added (unless form sets _csrf).
func (c *Client) PostForm(path string, form url.Values) Response {
	c.T.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["_csrf"]; !ok {
		if c.CSRF == "" {
			c.Get("/login")
		}
		form.Set("_csrf", c.CSRF)
	}
	req, _ := http.NewRequest(http.MethodPost, c.Base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.Do(req)
}

// Login signs in through the form and fails the test unless it lands on a redirect.
func (c *Client) Login(email, password string) {
	c.T.Helper()
	c.Get("/login")
	res := c.PostForm("/login", url.Values{"email": {email}, "password": {password}})
	if res.StatusCode != http.StatusSeeOther {
		c.T.Fatalf("login as %s: status %d, want 303", email, res.StatusCode)
	}
	c.Get("/board") // pick up the new CSRF token
}

// API is a JSON API client with a Bearer token.
type API struct {
	T     testing.TB
	Base  string
	Token string
}

// API returns an API client acting as u.
func (a *App) API(u models.User) *API { return &API{T: a.T, Base: a.URL, Token: a.Token(u)} }

// Do sends a JSON request (body may be "") and returns the response with its body.
func (p *API) Do(method, path, body string) Response {
	p.T.Helper()
	req, _ := http.NewRequest(method, p.Base+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+p.Token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		p.T.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return Response{Response: res, Body: string(b)}
}

// Must fails the test on err.
func Must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// ParseURL is url.Parse that fails the test.
func ParseURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
