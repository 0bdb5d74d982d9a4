package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

// hostile are the inputs that once made handlers answer 500, and their cousins:
// U+02BC and ʻ fold to an apostrophe (a tsquery quote), NUL and invalid UTF-8 are
// refused by PostgreSQL, the rest is syntax of LIKE, tsquery, SQL and HTML.
var hostile = []string{
	"ʼ", "ʻa", "\x00", "a\x00b", "\xff\xfe", "\xc3(", "\xed\xa0\x80", "'", `"`, `\`, "%", "_", "&|!():*<>",
	"' OR 1=1 --", "<script>alert(1)</script>", "-1", "0", "99999999999999999999", "1e309", "", " ",
	"José Núñez ʼ ʻ ‐ ‹›", "\u202e\u200b", "🙏🏽", "a:*", "!!", "((", strings.Repeat("ñ", 5000),
}

// hostileHarness is a running app with data behind every kind of route parameter, an
// admin signed in on a browser-like client, and an API token.
type hostileHarness struct {
	app      *testutil.App
	admin    models.User
	email    string
	client   *testutil.Client
	token    string
	routes   []route
	fields   []string   // every form and query parameter a handler reads
	apiBody  [][]string // the fields of each JSON body the API decodes
	ids      map[string][]string
	requests atomic.Int64
}

type route struct{ method, path string }

var fieldPattern = regexp.MustCompile(`(?:FormValue|QueryParam|FormParams\(\)\[|Form\[|PostForm\[|QueryParams\(\)\[|Get)\("([A-Za-z_][A-Za-z0-9_.]*)"`)
var apiStructPattern = regexp.MustCompile(`(?s)var in struct \{(.*?)\n\t\}`)
var jsonTag = regexp.MustCompile(`json:"([a-z_]+)`)

func newHostileHarness(t testing.TB) *hostileHarness {
	h := &hostileHarness{app: testutil.NewApp(t), ids: map[string][]string{}}
	app := h.app
	ws := app.Workspace("Acme")
	ventas := app.Team(ws, "Ventas")
	h.admin = app.User(ws, "admin@acme.pe", models.RoleAdmin)
	agent := app.User(ws, "ana@acme.pe", models.RoleAgent, ventas)
	ch := app.Channel(ws, "Principal")
	conv := app.Inbound(ch, "51911111111", "Rosa", "Hola, ¿tienen stock?")
	app.Inbound(ch, "51922222222", "José Núñez", "Buenas")
	ctx := context.Background()
	lbl := models.Label{WorkspaceID: ws.ID, Name: "VIP", Color: "#64748b"}
	testutil.Must(t, app.DB.Gorm.Create(&lbl).Error)
	tok := models.APIToken{}
	h.token = app.Token(h.admin)
	testutil.Must(t, app.DB.Gorm.Where("user_id = ?", h.admin.ID).First(&tok).Error)
	_ = ctx
	var templateID, cannedID, mediaID int64
	app.DB.Gorm.Raw(`INSERT INTO templates (workspace_id, name, body) VALUES (?, 'saludo', 'Hola {{1}}') RETURNING id`, ws.ID).Scan(&templateID)
	app.DB.Gorm.Raw(`INSERT INTO canned_responses (workspace_id, shortcut, body) VALUES (?, 'hola', 'Hola') RETURNING id`, ws.ID).Scan(&cannedID)
	app.DB.Gorm.Raw(`INSERT INTO media (workspace_id, channel_id, media_id) VALUES (?, ?, 'm1') RETURNING id`, ws.ID, ch.ID).Scan(&mediaID)
	// Route parameters: real ids (the handler runs), unknown ones, and garbage.
	h.ids[":id"] = []string{fmt.Sprint(conv.ID), fmt.Sprint(agent.ID), fmt.Sprint(ventas.ID), fmt.Sprint(ch.ID), fmt.Sprint(lbl.ID),
		fmt.Sprint(templateID), fmt.Sprint(cannedID), fmt.Sprint(mediaID), fmt.Sprint(tok.ID), "999999", "0", "-1", "abc"}
	h.ids[":status"] = []string{"new", "active", "pending", "closed", "bogus"}
	h.ids[":key"] = []string{ch.WebhookKey, "nope"}
	h.email = h.admin.Email
	h.login(t)

	for _, r := range app.Echo.Routes() {
		switch r.Method {
		case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		default:
			continue
		}
		if r.Path == "/*" {
			continue
		}
		h.routes = append(h.routes, route{r.Method, r.Path})
	}
	sort.Slice(h.routes, func(i, j int) bool { return h.routes[i].path+h.routes[i].method < h.routes[j].path+h.routes[j].method })
	// Every parameter any handler reads, from the handlers' own source.
	seen := map[string]bool{"_csrf": true}
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		testutil.Must(t, err)
		for _, m := range fieldPattern.FindAllStringSubmatch(string(src), -1) {
			if !seen[m[1]] && !strings.Contains(m[1], "-") {
				seen[m[1]] = true
				h.fields = append(h.fields, m[1])
			}
		}
		for _, m := range apiStructPattern.FindAllStringSubmatch(string(src), -1) {
			var names []string
			for _, j := range jsonTag.FindAllStringSubmatch(m[1], -1) {
				names = append(names, j[1])
			}
			if len(names) > 0 {
				h.apiBody = append(h.apiBody, names)
			}
		}
	}
	sort.Strings(h.fields)
	if len(h.routes) < 40 || len(h.fields) < 20 || len(h.apiBody) < 3 {
		t.Fatalf("found %d routes, %d fields, %d API bodies: the harness lost track of the handlers", len(h.routes), len(h.fields), len(h.apiBody))
	}
	return h
}

func (h *hostileHarness) login(t testing.TB) {
	// The hostile sign-ins before count against this address: the harness is no attacker.
	testutil.Must(t, h.app.DB.Gorm.Exec("DELETE FROM login_attempts").Error)
	c := h.app.Client()
	c.T = t // inside a fuzz target only its own t may fail
	c.Login(h.email, testutil.Password)
	h.client = c
}

// hit sends value in every parameter of r (and, for a route with ids, one of them
// picked by pick) and fails on any answer of 500 or more.
func (h *hostileHarness) hit(t testing.TB, r route, value string, pick int) {
	path := r.path
	for _, p := range []string{":id", ":status", ":key"} {
		if strings.Contains(path, p) {
			opts := h.ids[p]
			v := opts[pick%len(opts)]
			if pick%7 == 6 {
				v = url.PathEscape(value)
			}
			path = strings.Replace(path, p, v, 1)
		}
	}
	path = strings.Replace(path, "*", "css/app.css", 1)
	vals := url.Values{}
	for _, f := range h.fields {
		vals.Set(f, value)
	}
	var body io.Reader
	ctype := ""
	api := strings.HasPrefix(path, "/api/")
	switch {
	case r.method == http.MethodGet:
		path += "?" + vals.Encode()
	case api:
		obj := map[string]any{}
		for _, f := range h.apiBody[pick%len(h.apiBody)] {
			obj[f] = value
			if f == "private" {
				obj[f] = pick%2 == 0
			}
		}
		b, _ := json.Marshal(obj)
		// json.Marshal writes invalid UTF-8 as U+FFFD: put a raw NUL escape in too.
		body, ctype = strings.NewReader(strings.Replace(string(b), `":"`, `":"\u0000`, 1)), "application/json"
		path += "?" + vals.Encode()
	default:
		vals.Set("_csrf", h.client.CSRF)
		body, ctype = strings.NewReader(vals.Encode()), "application/x-www-form-urlencoded"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if r.path == "/events" {
		ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, r.method, h.app.URL+path, body)
	testutil.Must(t, err)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if api {
		req.Header.Set("Authorization", "Bearer "+h.token)
	} else {
		req.Header.Set("X-CSRF-Token", h.client.CSRF)
		if pick%3 == 0 {
			req.Header.Set("HX-Request", "true")
		}
	}
	h.requests.Add(1)
	res, err := h.client.HTTP.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	if r.path != "/events" {
		_, _ = io.Copy(io.Discard, res.Body)
	}
	res.Body.Close()
	if res.StatusCode >= 500 {
		t.Errorf("%s %s with %q: %d", r.method, r.path, value, res.StatusCode)
	}
	// Signed out (the logout route, a password change): sign in again.
	if loc := res.Header.Get("Location"); r.path == "/logout" || strings.HasPrefix(loc, "/login") {
		h.login(t)
	}
}

// TestEveryRouteSurvivesHostileInput sends each hostile string in every form and query
// parameter of every route (and in the API's JSON bodies): no answer may be a 5xx.
func TestEveryRouteSurvivesHostileInput(t *testing.T) {
	h := newHostileHarness(t)
	for i, v := range hostile {
		for j, r := range h.routes {
			h.hit(t, r, v, i+j)
		}
	}
	t.Logf("%d requests to %d routes with %d parameters", h.requests.Load(), len(h.routes), len(h.fields))
}

// FuzzHandlers is the same with random inputs: `make test` runs it for 10 s, `make
// bench` longer. Each input picks a route and a value for every parameter.
func FuzzHandlers(f *testing.F) {
	h := newHostileHarness(f)
	for i, v := range hostile {
		f.Add(uint16(i), v)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20; i++ {
		b := make([]byte, rng.IntN(40))
		for j := range b {
			b[j] = byte(rng.IntN(256))
		}
		f.Add(uint16(rng.IntN(1000)), string(b))
	}
	// Under -fuzz each worker process counts its own: go test prints the total ("execs").
	f.Cleanup(func() {
		if n := h.requests.Load(); n > 0 {
			f.Logf("fuzz: %d requests in this process", n)
		}
	})
	f.Fuzz(func(t *testing.T, sel uint16, value string) {
		h.hit(t, h.routes[int(sel)%len(h.routes)], value, int(sel/7))
	})
}
