package web_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/atiende/atiende/app/catalog"
	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

// Plain-text channel secrets typed into the form; no page may ever contain them.
const (
	plainAccessToken = "EAAGplainAccessToken7731"
	plainAppSecret   = "plainAppSecret5519"
	plainVerifyToken = "plainVerifyToken8842"
)

func channelForm(name, phoneID string) url.Values {
	return url.Values{"name": {name}, "phone_number_id": {phoneID}, "display_phone": {"+51 987 654 321"}, "waba_id": {"102290129340398"},
		"access_token": {plainAccessToken}, "app_secret": {plainAppSecret}, "verify_token": {plainVerifyToken}}
}

// handshake performs Meta's webhook verification GET and returns status and body.
func handshake(t *testing.T, app *testutil.App, path, token string) (int, string) {
	t.Helper()
	q := url.Values{"hub.mode": {"subscribe"}, "hub.challenge": {"123"}, "hub.verify_token": {token}}
	res, err := http.Get(app.URL + path + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func channelByPhoneID(t *testing.T, app *testutil.App, phoneID string) models.Channel {
	t.Helper()
	var ch models.Channel
	testutil.Must(t, app.DB.Gorm.Where("phone_number_id = ?", phoneID).First(&ch).Error)
	return ch
}

// noSecrets fails when any plain-text channel secret appears in a page.
func noSecrets(t *testing.T, res testutil.Response) {
	t.Helper()
	for _, s := range []string{plainAccessToken, plainAppSecret, plainVerifyToken, "NewVerify"} {
		if strings.Contains(res.Body, s) {
			t.Fatalf("%s %s shows a channel secret in clear (%q)", res.Request.Method, res.Request.URL.Path, s)
		}
	}
}

func TestSettingsChannelsConnectEditAndHandshake(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	c := app.LoginAs(app.User(ws, "ana@acme.pe", models.RoleAdmin))
	var pages []testutil.Response

	res := c.Get("/settings/channels")
	wantStatus(t, res, http.StatusOK)
	if byTestID(t, res, "channels-empty").Length() != 1 {
		t.Fatal("no empty state before the first channel")
	}

	// A form with errors comes back with field messages, and without the secrets typed.
	bad := channelForm("", "12ab")
	res = c.PostForm("/settings/channels", bad)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	for _, f := range []string{"name", "phone_number_id"} {
		if byTestID(t, res, "error-"+f).Length() != 1 {
			t.Fatalf("no error for %s", f)
		}
	}
	pages = append(pages, res)

	wantRedirect(t, c.PostForm("/settings/channels", channelForm("Ventas Lima", "106540352242922")), "/settings/channels")
	ch := channelByPhoneID(t, app, "106540352242922")
	res = c.Get("/settings/channels")
	pages = append(pages, res)
	r := row(t, res, "channel-row", "Ventas Lima")
	if r == nil {
		t.Fatal("the new channel is not listed")
	}
	if got, _ := r.Find(`[data-testid="webhook-url"]`).Attr("value"); got != app.URL+ch.WebhookPath() {
		t.Fatalf("webhook URL %q, want %q", got, app.URL+ch.WebhookPath())
	}
	if !strings.Contains(r.Text(), "••••8842") {
		t.Fatalf("the verify token is not shown masked: %s", squash(r.Text()))
	}
	if byTestID(t, res, "meta-steps").Length() != 1 || byTestID(t, res, "flash").Length() != 1 {
		t.Fatal("no Meta instructions or confirmation after connecting a number")
	}

	// Meta's handshake works with the verify token typed in the form.
	if status, body := handshake(t, app, ch.WebhookPath(), plainVerifyToken); status != http.StatusOK || body != "123" {
		t.Fatalf("handshake: %d %q, want 200 \"123\"", status, body)
	}
	if status, _ := handshake(t, app, ch.WebhookPath(), "wrong"); status != http.StatusForbidden {
		t.Fatalf("handshake with a wrong token: %d, want 403", status)
	}

	// The edit form shows secrets masked and never in clear.
	edit := "/settings/channels/" + itoa(ch.ID)
	res = c.Get(edit)
	wantStatus(t, res, http.StatusOK)
	pages = append(pages, res)
	for field, want := range map[string]string{"access_token": "••••7731", "app_secret": "••••5519", "verify_token": "••••8842"} {
		if got := byTestID(t, res, "masked-"+field).Text(); got != want {
			t.Fatalf("%s shown as %q, want %q", field, got, want)
		}
	}
	res.Doc(t).Find(`input[type=password]`).Each(func(_ int, s *goquery.Selection) {
		if v, ok := s.Attr("value"); ok && v != "" {
			t.Fatalf("a secret input has a value: %q", v)
		}
	})

	// Empty secrets keep the stored ones.
	keep := channelForm("Ventas Lima Norte", "106540352242922")
	for _, f := range []string{"access_token", "app_secret", "verify_token"} {
		keep.Set(f, "")
	}
	wantRedirect(t, c.PostForm(edit, keep), "/settings/channels")
	creds, err := app.Server.Channels.CredentialsByID(context.Background(), ch.ID)
	testutil.Must(t, err)
	if creds.AccessToken != plainAccessToken || creds.AppSecret != plainAppSecret || creds.VerifyToken != plainVerifyToken {
		t.Fatal("saving with empty secrets changed them")
	}
	if status, _ := handshake(t, app, ch.WebhookPath(), plainVerifyToken); status != http.StatusOK {
		t.Fatalf("handshake after an edit that kept the secrets: %d", status)
	}

	// A new verify token applies at once (the webhook's credential cache is dropped).
	change := url.Values{"name": {"Ventas Lima Norte"}, "phone_number_id": {"106540352242922"}, "verify_token": {"NewVerify-2201"}}
	wantRedirect(t, c.PostForm(edit, change), "/settings/channels")
	if status, body := handshake(t, app, ch.WebhookPath(), "NewVerify-2201"); status != http.StatusOK || body != "123" {
		t.Fatalf("handshake with the new verify token: %d %q", status, body)
	}
	if status, _ := handshake(t, app, ch.WebhookPath(), plainVerifyToken); status != http.StatusForbidden {
		t.Fatalf("the old verify token still works: %d", status)
	}
	res = c.Get(edit)
	pages = append(pages, res)
	if got := byTestID(t, res, "masked-verify_token").Text(); got != "••••2201" {
		t.Fatalf("new verify token shown as %q", got)
	}

	// A second channel on the same Phone number ID is refused; a repeated name is explained as such.
	res = c.PostForm("/settings/channels", channelForm("Soporte", "106540352242922"))
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if byTestID(t, res, "error-phone_number_id").Length() != 1 {
		t.Fatalf("duplicate Phone number ID not flagged on its field: %s", squash(res.Doc(t).Find(".field-error").Text()))
	}
	pages = append(pages, res)
	res = c.PostForm("/settings/channels", channelForm("ventas lima norte", "106540352299999"))
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if byTestID(t, res, "error-name").Length() != 1 {
		t.Fatalf("duplicate name not flagged on the name: %s", squash(res.Doc(t).Find(".field-error").Text()))
	}
	bad = url.Values{"name": {""}, "phone_number_id": {"106540352242922"}, "verify_token": {"NewVerify-9999"}}
	res = c.PostForm(edit, bad)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	pages = append(pages, res)
	var n int64
	testutil.Must(t, app.DB.Gorm.Model(&models.Channel{}).Count(&n).Error)
	if n != 1 {
		t.Fatalf("%d channels, want 1", n)
	}

	// No settings page, before or after, ever shows a secret in clear.
	for _, p := range []string{"/settings/users", "/settings/teams", "/settings/channels", edit, "/settings/templates", "/settings/canned", "/settings/labels", "/settings/tokens"} {
		res := c.Get(p)
		wantStatus(t, res, http.StatusOK)
		pages = append(pages, res)
	}
	for _, p := range pages {
		noSecrets(t, p)
	}
}

// A fresh channel edited before Meta ever called it: what the handshake reads is the
// database, not a cache.
func TestSettingsChannelEditBeforeFirstHandshake(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	c := app.LoginAs(app.User(ws, "ana@acme.pe", models.RoleAdmin))
	wantRedirect(t, c.PostForm("/settings/channels", channelForm("Cobranzas", "106540352200001")), "/settings/channels")
	ch := channelByPhoneID(t, app, "106540352200001")
	f := url.Values{"name": {"Cobranzas"}, "phone_number_id": {"106540352200001"}, "display_phone": {"+51 1 555 0000"}}
	wantRedirect(t, c.PostForm("/settings/channels/"+itoa(ch.ID), f), "/settings/channels")
	if status, body := handshake(t, app, ch.WebhookPath(), plainVerifyToken); status != http.StatusOK || body != "123" {
		t.Fatalf("handshake after an edit with empty secrets: %d %q", status, body)
	}
}

func TestSettingsAdminScreensAreForbiddenToOthersButTokensAreNot(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	admin := app.User(ws, "ana@acme.pe", models.RoleAdmin)
	ch := app.Channel(ws, "Ventas")
	cat := catalog.New(app.DB.Gorm, nil)
	tpl, err := cat.CreateTemplate(context.Background(), ws.ID, catalog.TemplateInput{Name: "hola", Language: "es", Category: "utility", Body: "Hola {{1}}"})
	testutil.Must(t, err)
	lbl, err := cat.EnsureLabel(context.Background(), ws.ID, "Ventas", catalog.ColorGreen)
	testutil.Must(t, err)
	cr, err := cat.CreateCanned(context.Background(), ws.ID, catalog.CannedInput{Shortcut: "saludo", Body: "Hola"})
	testutil.Must(t, err)
	adminToken, err := app.Accounts.CreateAPIToken(context.Background(), admin, "TokenDeAna")
	testutil.Must(t, err)

	for _, role := range []string{models.RoleAgent, models.RoleSupervisor} {
		t.Run(role, func(t *testing.T) {
			u := app.User(ws, role+"@acme.pe", role)
			c := app.LoginAs(u)
			for _, p := range []string{"/settings/channels", "/settings/channels/" + itoa(ch.ID), "/settings/templates", "/settings/canned", "/settings/labels"} {
				wantStatus(t, c.Get(p), http.StatusForbidden)
			}
			posts := map[string]url.Values{
				"/settings/channels":                              channelForm("Intruso", "106540352277777"),
				"/settings/channels/" + itoa(ch.ID):               channelForm("Intruso", ch.PhoneNumberID),
				"/settings/templates":                             {"name": {"intruso"}, "language": {"es"}, "category": {"utility"}, "body": {"x"}},
				"/settings/templates/" + itoa(tpl.ID) + "/delete": {},
				"/settings/canned":                                {"shortcut": {"intruso"}, "body": {"x"}},
				"/settings/canned/" + itoa(cr.ID) + "/delete":     {},
				"/settings/labels":                                {"name": {"Intruso"}},
				"/settings/labels/" + itoa(lbl.ID) + "/delete":    {},
			}
			for p, f := range posts {
				wantStatus(t, c.PostForm(p, f), http.StatusForbidden)
			}

			// Their own tokens and security: the page, with only those sections in the menu.
			res := c.Get("/settings/tokens")
			wantStatus(t, res, http.StatusOK)
			nav := byTestID(t, res, "settings-nav").Find("a")
			if nav.Length() != 2 || byTestID(t, res, "settings-tab-tokens").Length() != 1 || byTestID(t, res, "settings-tab-security").Length() != 1 {
				t.Fatalf("a %s sees settings sections they cannot open: %s", role, squash(nav.Text()))
			}
			res = c.PostForm("/settings/tokens", url.Values{"name": {"Script de " + role}})
			wantStatus(t, res, http.StatusCreated)
			tok := byTestID(t, res, "new-token-value").AttrOr("value", "")
			api := &testutil.API{T: t, Base: app.URL, Token: tok}
			wantStatus(t, api.Do(http.MethodGet, "/api/v1/me", ""), http.StatusOK)

			// Someone else's token is not theirs to see or revoke.
			if strings.Contains(c.Get("/settings/tokens").Body, "TokenDeAna") {
				t.Fatal("another user's token is listed")
			}
			var adminTok models.APIToken
			testutil.Must(t, app.DB.Gorm.Where("user_id = ?", admin.ID).First(&adminTok).Error)
			wantStatus(t, c.PostForm("/settings/tokens/"+itoa(adminTok.ID)+"/delete", nil), http.StatusNotFound)
			wantStatus(t, (&testutil.API{T: t, Base: app.URL, Token: adminToken}).Do(http.MethodGet, "/api/v1/me", ""), http.StatusOK)
		})
	}
	var n int64
	testutil.Must(t, app.DB.Gorm.Model(&models.Template{}).Count(&n).Error)
	if n != 1 {
		t.Fatalf("templates changed by non-admins: %d", n)
	}
}

func TestSettingsTokenShownOnceAndRevokedAtOnce(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	c := app.LoginAs(app.User(ws, "luis@acme.pe", models.RoleAgent))

	res := c.Get("/settings/tokens")
	wantStatus(t, res, http.StatusOK)
	if byTestID(t, res, "tokens-empty").Length() != 1 {
		t.Fatal("no empty state without tokens")
	}
	res = c.PostForm("/settings/tokens", url.Values{"name": {"  "}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if byTestID(t, res, "error-name").Length() != 1 {
		t.Fatal("a nameless token gives no field error")
	}

	res = c.PostForm("/settings/tokens", url.Values{"name": {"ERP"}})
	wantStatus(t, res, http.StatusCreated)
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("the page with a new token has Cache-Control %q", cc)
	}
	box := byTestID(t, res, "new-token")
	tok := byTestID(t, res, "new-token-value").AttrOr("value", "")
	if !strings.HasPrefix(tok, "atk_") || !strings.Contains(box.Text(), "no lo volverás a ver") {
		t.Fatalf("new token box: %q / %s", tok, squash(box.Text()))
	}
	r := row(t, res, "token-row", "ERP")
	if r == nil || r.Find(`[data-testid="token-prefix"]`).Text() != tok[:10]+"…" || squash(r.Find(`[data-testid="token-last-used"]`).Text()) != "Nunca" {
		t.Fatal("the new token's row is missing its prefix or 'Nunca'")
	}

	api := &testutil.API{T: t, Base: app.URL, Token: tok}
	wantStatus(t, api.Do(http.MethodGet, "/api/v1/me", ""), http.StatusOK)

	// Never shown again; its use is.
	res = c.Get("/settings/tokens")
	if strings.Contains(res.Body, tok) {
		t.Fatal("the token is shown again")
	}
	if byTestID(t, res, "new-token").Length() != 0 {
		t.Fatal("the one-time box is shown again")
	}
	r = row(t, res, "token-row", "ERP")
	if got := squash(r.Find(`[data-testid="token-last-used"]`).Text()); got != "Hace un momento" {
		t.Fatalf("last used %q, want «Hace un momento»", got)
	}
	var saved models.APIToken
	testutil.Must(t, app.DB.Gorm.Where("name = ?", "ERP").First(&saved).Error)
	if strings.Contains(string(saved.TokenHash), tok) {
		t.Fatal("the token is stored in clear")
	}

	wantRedirect(t, c.PostForm("/settings/tokens/"+itoa(saved.ID)+"/delete", nil), "/settings/tokens")
	wantStatus(t, api.Do(http.MethodGet, "/api/v1/me", ""), http.StatusUnauthorized)
	res = c.Get("/settings/tokens")
	if byTestID(t, res, "token-row").Length() != 0 || !strings.Contains(byTestID(t, res, "flash").Text(), "Token revocado") {
		t.Fatal("the revoked token is still listed, or no confirmation")
	}
	wantStatus(t, c.PostForm("/settings/tokens/"+itoa(saved.ID)+"/delete", nil), http.StatusNotFound)
}

func templateForm(name, lang, cat, body string) url.Values {
	return url.Values{"name": {name}, "language": {lang}, "category": {cat}, "body": {body}}
}

func TestSettingsTemplates(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	c := app.LoginAs(app.User(ws, "ana@acme.pe", models.RoleAdmin))

	res := c.Get("/settings/templates")
	wantStatus(t, res, http.StatusOK)
	if byTestID(t, res, "templates-empty").Length() != 1 {
		t.Fatal("no empty state")
	}

	cases := []struct {
		name  string
		form  url.Values
		field string
	}{
		{"name with capitals and spaces", templateForm("Recordatorio Pago", "es", "utility", "Hola {{1}}"), "name"},
		{"name with accents", templateForm("confirmación", "es", "utility", "Hola"), "name"},
		{"no name", templateForm("", "es", "utility", "Hola"), "name"},
		{"placeholders skip a number", templateForm("pago", "es", "utility", "Hola {{1}}, vence el {{3}}"), "body"},
		{"placeholders do not start at 1", templateForm("pago", "es", "utility", "Hola {{2}}"), "body"},
		{"named placeholder", templateForm("pago", "es", "utility", "Hola {{nombre}}"), "body"},
		{"unbalanced braces", templateForm("pago", "es", "utility", "Hola {{1}"), "body"},
		{"empty body", templateForm("pago", "es", "utility", "  "), "body"},
		{"unknown category", templateForm("pago", "es", "promo", "Hola"), "category"},
		{"bad language", templateForm("pago", "Spanish", "utility", "Hola"), "language"},
	}
	for _, tc := range cases {
		res := c.PostForm("/settings/templates", tc.form)
		wantStatus(t, res, http.StatusUnprocessableEntity)
		if byTestID(t, res, "error-"+tc.field).Length() != 1 {
			t.Fatalf("%s: no error on %s (errors: %s)", tc.name, tc.field, squash(res.Doc(t).Find(".field-error").Text()))
		}
		if got := res.Doc(t).Find(`textarea[name=body]`).Text(); got != tc.form.Get("body") {
			t.Fatalf("%s: the body typed was not kept (%q)", tc.name, got)
		}
	}

	body := "Hola {{1}}, tu pago de {{2}} vence el {{3}}. Responde {{1}} si ya pagaste."
	wantRedirect(t, c.PostForm("/settings/templates", templateForm("recordatorio_pago", "es_MX", "utility", body)), "/settings/templates")
	res = c.PostForm("/settings/templates", templateForm("recordatorio_pago", "es_MX", "marketing", "Otro"))
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if byTestID(t, res, "error-name").Length() != 1 {
		t.Fatal("duplicate name + language accepted")
	}
	wantRedirect(t, c.PostForm("/settings/templates", templateForm("recordatorio_pago", "pt_BR", "utility", "Olá {{1}}")), "/settings/templates")
	wantRedirect(t, c.PostForm("/settings/templates", templateForm("bienvenida", "es", "marketing", "¡Bienvenido!")), "/settings/templates")

	res = c.Get("/settings/templates")
	if n := byTestID(t, res, "template-row").Length(); n != 3 {
		t.Fatalf("%d templates listed, want 3", n)
	}
	r := row(t, res, "template-row", "vence el")
	if got := squash(r.Find(`[data-testid="template-params"]`).Text()); got != "3 variables" {
		t.Fatalf("params %q, want «3 variables»", got)
	}
	if got := r.Find("mark.tpl-var").Length(); got != 4 {
		t.Fatalf("%d highlighted placeholders, want 4", got)
	}
	if !strings.Contains(r.Text(), "Utilidad") || !strings.Contains(r.Text(), "México") {
		t.Fatalf("category or language missing: %s", squash(r.Text()))
	}
	if got := squash(row(t, res, "template-row", "Bienvenido").Find(`[data-testid="template-params"]`).Text()); got != "Sin variables" {
		t.Fatalf("params %q, want «Sin variables»", got)
	}

	var tpl models.Template
	testutil.Must(t, app.DB.Gorm.Where("name = ? AND language = ?", "bienvenida", "es").First(&tpl).Error)
	wantRedirect(t, c.PostForm("/settings/templates/"+itoa(tpl.ID)+"/delete", nil), "/settings/templates")
	res = c.Get("/settings/templates")
	if byTestID(t, res, "template-row").Length() != 2 || strings.Contains(res.Body, "Bienvenido") {
		t.Fatal("the deleted template is still listed")
	}
	wantStatus(t, c.PostForm("/settings/templates/"+itoa(tpl.ID)+"/delete", nil), http.StatusNotFound)
}

func TestSettingsCannedResponses(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	c := app.LoginAs(app.User(ws, "ana@acme.pe", models.RoleAdmin))

	res := c.Get("/settings/canned")
	wantStatus(t, res, http.StatusOK)
	if byTestID(t, res, "canned-empty").Length() != 1 {
		t.Fatal("no empty state")
	}
	for _, f := range []url.Values{
		{"shortcut": {"hola que tal"}, "body": {"Hola"}},
		{"shortcut": {""}, "body": {"Hola"}},
		{"shortcut": {"hola"}, "body": {""}},
	} {
		res := c.PostForm("/settings/canned", f)
		wantStatus(t, res, http.StatusUnprocessableEntity)
		if res.Doc(t).Find(".field-error").Length() == 0 {
			t.Fatalf("%v: no field error", f)
		}
	}
	wantRedirect(t, c.PostForm("/settings/canned", url.Values{"shortcut": {"/Saludo"}, "title": {"Saludo inicial"}, "body": {"¡Hola! Te saluda el equipo de Acme."}}), "/settings/canned")
	res = c.PostForm("/settings/canned", url.Values{"shortcut": {"SALUDO"}, "body": {"Otro"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if byTestID(t, res, "error-shortcut").Length() != 1 {
		t.Fatal("a repeated shortcut (other case) is accepted")
	}
	wantRedirect(t, c.PostForm("/settings/canned", url.Values{"shortcut": {"horario"}, "body": {"Atendemos de 9 a 18 h."}}), "/settings/canned")

	res = c.Get("/settings/canned")
	if got := squash(byTestID(t, res, "canned-shortcut").Text()); got != "/horario/saludo" {
		t.Fatalf("shortcuts listed %q", got)
	}
	list, err := catalog.New(app.DB.Gorm, nil).Canned(context.Background(), ws.ID)
	testutil.Must(t, err)
	if len(list) != 2 || list[1].Shortcut != "saludo" || list[0].Title != "horario" {
		t.Fatalf("stored canned responses: %+v", list)
	}
	wantRedirect(t, c.PostForm("/settings/canned/"+itoa(list[1].ID)+"/delete", nil), "/settings/canned")
	if res := c.Get("/settings/canned"); byTestID(t, res, "canned-row").Length() != 1 || strings.Contains(res.Body, "equipo de Acme") {
		t.Fatal("the deleted response is still listed")
	}
}

func TestSettingsLabels(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	c := app.LoginAs(app.User(ws, "ana@acme.pe", models.RoleAdmin))

	res := c.Get("/settings/labels")
	wantStatus(t, res, http.StatusOK)
	if byTestID(t, res, "labels-empty").Length() != 1 {
		t.Fatal("no empty state")
	}
	if v := res.Doc(t).Find(`input[name=color][checked]`).AttrOr("value", ""); v != catalog.ColorGreen {
		t.Fatalf("first suggested colour %q", v)
	}
	wantRedirect(t, c.PostForm("/settings/labels", url.Values{"name": {"Ventas"}, "color": {catalog.ColorGreen}}), "/settings/labels")
	for _, f := range []url.Values{
		{"name": {"ventas"}, "color": {catalog.ColorBlue}},
		{"name": {""}, "color": {catalog.ColorBlue}},
		{"name": {"Soporte"}, "color": {"red"}},
	} {
		res := c.PostForm("/settings/labels", f)
		wantStatus(t, res, http.StatusUnprocessableEntity)
		if res.Doc(t).Find(".field-error").Length() == 0 {
			t.Fatalf("%v: no field error", f)
		}
	}
	wantRedirect(t, c.PostForm("/settings/labels", url.Values{"name": {"Soporte"}, "color": {catalog.ColorBlue}}), "/settings/labels")

	// Put "Ventas" on a conversation: the list counts it, and deleting takes it off.
	ch := app.Channel(ws, "Principal")
	contact := models.Contact{WorkspaceID: ws.ID, WaID: "51987654321", Phone: "+51987654321", Custom: models.JSON("{}")}
	testutil.Must(t, app.DB.Gorm.Create(&contact).Error)
	conv := models.Conversation{WorkspaceID: ws.ID, ChannelID: ch.ID, ContactID: contact.ID, Status: models.StatusNew}
	testutil.Must(t, app.DB.Gorm.Create(&conv).Error)
	var ventas models.Label
	testutil.Must(t, app.DB.Gorm.Where("workspace_id = ? AND name = ?", ws.ID, "Ventas").First(&ventas).Error)
	testutil.Must(t, app.DB.Gorm.Create(&models.ConversationLabel{WorkspaceID: ws.ID, ConversationID: conv.ID, LabelID: ventas.ID}).Error)

	res = c.Get("/settings/labels")
	r := row(t, res, "label-row", "Ventas")
	if r == nil || !strings.Contains(r.Text(), "Se quitará de 1 conversación") {
		t.Fatalf("Ventas row does not warn it is used: %v", r)
	}
	if style := r.Find(`[data-testid="label-chip"]`).AttrOr("style", ""); !strings.Contains(style, catalog.ColorGreen) {
		t.Fatalf("chip style %q", style)
	}
	wantRedirect(t, c.PostForm("/settings/labels/"+itoa(ventas.ID)+"/delete", nil), "/settings/labels")
	var n int64
	testutil.Must(t, app.DB.Gorm.Model(&models.ConversationLabel{}).Where("conversation_id = ?", conv.ID).Count(&n).Error)
	if n != 0 {
		t.Fatal("the deleted label is still on the conversation")
	}
	labels, err := catalog.New(app.DB.Gorm, nil).Labels(context.Background(), ws.ID)
	testutil.Must(t, err)
	if len(labels) != 1 || labels[0].Name != "Soporte" {
		t.Fatalf("labels left: %+v", labels)
	}
}

func TestSettingsAnotherWorkspaceCatalogIsInvisible(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	acme, beta := app.Workspace("Acme"), app.Workspace("Beta")
	ctx := context.Background()
	cat := catalog.New(app.DB.Gorm, nil)
	betaCh := app.Channel(beta, "Canal Beta")
	tpl, err := cat.CreateTemplate(ctx, beta.ID, catalog.TemplateInput{Name: "beta_secreta", Language: "es", Category: "utility", Body: "Beta {{1}}"})
	testutil.Must(t, err)
	cr, err := cat.CreateCanned(ctx, beta.ID, catalog.CannedInput{Shortcut: "betasaludo", Body: "Hola desde Beta"})
	testutil.Must(t, err)
	lbl, err := cat.EnsureLabel(ctx, beta.ID, "EtiquetaBeta", catalog.ColorOrange)
	testutil.Must(t, err)
	betaUser := app.User(beta, "bruno@beta.pe", models.RoleAdmin)
	_, err = app.Accounts.CreateAPIToken(ctx, betaUser, "TokenDeBruno")
	testutil.Must(t, err)

	c := app.LoginAs(app.User(acme, "ana@acme.pe", models.RoleAdmin))
	for p, needle := range map[string]string{"/settings/channels": "Canal Beta", "/settings/templates": "beta_secreta", "/settings/canned": "betasaludo", "/settings/labels": "EtiquetaBeta", "/settings/tokens": "TokenDeBruno"} {
		res := c.Get(p)
		wantStatus(t, res, http.StatusOK)
		if strings.Contains(res.Body, needle) {
			t.Fatalf("%s lists another workspace's %q", p, needle)
		}
	}
	wantStatus(t, c.Get("/settings/channels/"+itoa(betaCh.ID)), http.StatusNotFound)
	wantStatus(t, c.PostForm("/settings/channels/"+itoa(betaCh.ID), channelForm("Hackeado", betaCh.PhoneNumberID)), http.StatusNotFound)
	wantStatus(t, c.PostForm("/settings/templates/"+itoa(tpl.ID)+"/delete", nil), http.StatusNotFound)
	wantStatus(t, c.PostForm("/settings/canned/"+itoa(cr.ID)+"/delete", nil), http.StatusNotFound)
	wantStatus(t, c.PostForm("/settings/labels/"+itoa(lbl.ID)+"/delete", nil), http.StatusNotFound)
	var betaTok models.APIToken
	testutil.Must(t, app.DB.Gorm.Where("user_id = ?", betaUser.ID).First(&betaTok).Error)
	wantStatus(t, c.PostForm("/settings/tokens/"+itoa(betaTok.ID)+"/delete", nil), http.StatusNotFound)
	wantStatus(t, c.PostForm("/settings/templates/abc/delete", nil), http.StatusNotFound)

	// Names are unique per workspace, not across workspaces.
	wantRedirect(t, c.PostForm("/settings/labels", url.Values{"name": {"EtiquetaBeta"}, "color": {catalog.ColorBlue}}), "/settings/labels")
	wantRedirect(t, c.PostForm("/settings/templates", templateForm("beta_secreta", "es", "utility", "Acme {{1}}")), "/settings/templates")

	for _, m := range []any{&models.Template{}, &models.CannedResponse{}, &models.Label{}, &models.APIToken{}} {
		var n int64
		testutil.Must(t, app.DB.Gorm.Model(m).Where("workspace_id = ?", beta.ID).Count(&n).Error)
		if n != 1 {
			t.Fatalf("%T of Beta: %d left, want 1", m, n)
		}
	}
	ch, err := app.Server.Channels.Get(ctx, beta.ID, betaCh.ID)
	testutil.Must(t, err)
	if ch.Name != "Canal Beta" {
		t.Fatalf("Beta's channel renamed to %q", ch.Name)
	}
}

// TestSettingsBrowserScreens visits the channels, templates, canned responses, labels
// and tokens screens on a desktop and a phone: each shows its content without sideways
// scrolling, the no-JavaScript delete confirmation works, and a new token is shown
// once. With ATIENDE_SCREENSHOTS=DIR it saves a PNG of each screen.
func TestSettingsBrowserScreens(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	admin := app.User(ws, "ana@acme.pe", models.RoleAdmin)
	agent := app.User(ws, "luis@acme.pe", models.RoleAgent)
	ctx0 := context.Background()
	cat := catalog.New(app.DB.Gorm, nil)
	app.Channel(ws, "Ventas Lima")
	app.Channel(ws, "Soporte")
	for _, in := range []catalog.TemplateInput{
		{Name: "recordatorio_pago", Language: "es_MX", Category: "utility", Body: "Hola {{1}}, te recordamos que tu pago de {{2}} vence el {{3}}. Si ya pagaste, ignora este mensaje."},
		{Name: "promo_verano", Language: "es", Category: "marketing", Body: "¡{{1}}, llegó el verano! 20% de descuento en toda la tienda hasta el domingo."},
		{Name: "codigo_acceso", Language: "pt_BR", Category: "authentication", Body: "Seu código é {{1}}."},
	} {
		_, err := cat.CreateTemplate(ctx0, ws.ID, in)
		testutil.Must(t, err)
	}
	for _, in := range []catalog.CannedInput{
		{Shortcut: "saludo", Title: "Saludo de bienvenida", Body: "¡Hola! Gracias por escribir a Acme. ¿En qué podemos ayudarte hoy?"},
		{Shortcut: "horario", Title: "Horario de atención", Body: "Atendemos de lunes a viernes de 9:00 a 18:00 y los sábados de 9:00 a 13:00 (hora de Lima)."},
		{Shortcut: "cuentas", Title: "Cuentas bancarias", Body: "Puedes pagar por transferencia a la cuenta BCP 191-2345678-0-12 o con Yape al 987 654 321. Envíanos la constancia por aquí."},
	} {
		_, err := cat.CreateCanned(ctx0, ws.ID, in)
		testutil.Must(t, err)
	}
	for _, l := range []struct{ name, color string }{{"Ventas", catalog.ColorGreen}, {"Soporte", catalog.ColorBlue}, {"Cobranzas", catalog.ColorOrange}} {
		_, err := cat.EnsureLabel(ctx0, ws.ID, l.name, l.color)
		testutil.Must(t, err)
	}
	_, err := app.Accounts.CreateAPIToken(ctx0, admin, "Integración con el ERP")
	testutil.Must(t, err)

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
			shot := func(name string) { testutil.Screenshot(t, ctx, "settings-"+name+"-"+vp.name) }
			check := func(screen string) {
				t.Helper()
				over, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth - document.documentElement.clientWidth`))
				if err != nil {
					t.Fatal(err)
				}
				if over > 0 {
					t.Errorf("%s on %s: the page is %dpx wider than the screen", screen, vp.name, over)
				}
				shot(screen)
			}
			visit := func(screen, path, testid string) {
				t.Helper()
				do(t, ctx, chromedp.Navigate(app.URL+path), chromedp.WaitVisible(chromedp.CSS(`[data-testid="`+testid+`"]`)))
				check(screen)
			}

			do(t, ctx, chromedp.Navigate(app.URL+"/settings/channels"), signIn(admin.Email, testutil.Password),
				chromedp.WaitVisible(chromedp.CSS(`[data-testid="channel-row"]`)))
			check("channels")
			visit("channel-edit", "/settings/channels/"+itoa(mustFirstChannel(t, app).ID), "channel-form")
			visit("templates", "/settings/templates", "template-row")
			// The server's messages, field by field (the browser's own checks switched off).
			do(t, ctx,
				chromedp.SendKeys(chromedp.CSS(`[data-testid="template-form"] input[name="name"]`), "Recordatorio Pago"),
				chromedp.SendKeys(chromedp.CSS(`[data-testid="template-form"] textarea[name="body"]`), "Hola {{1}}, vence el {{3}}"),
				chromedp.Evaluate[chromedp.Void](`document.querySelector('[data-testid="template-form"]').noValidate = true`),
			)
			clickAndLoad(t, ctx, `[data-testid="template-form"] button[type="submit"]`)
			do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`[data-testid="error-body"]`)))
			if got := textOf(t, ctx, `[data-testid="error-body"]`); !strings.Contains(got, "falta {{2}}") {
				t.Errorf("body error on screen: %q", got)
			}
			if name, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.name || ""`)); err != nil || name != "name" {
				t.Errorf("after the errors the focus is on %q (%v), want the first field with an error", name, err)
			}
			check("templates-errors")
			visit("canned", "/settings/canned", "canned-table")
			visit("labels", "/settings/labels", "labels-table")

			// Deleting asks first, in the page itself; confirming deletes.
			sel := `tr[data-testid="label-row"]:first-child`
			do(t, ctx,
				chromedp.Click(chromedp.CSS(sel+` [data-testid="label-delete"] summary`)),
				chromedp.WaitVisible(chromedp.CSS(sel+` .confirm-pop`)),
			)
			check("labels-confirm")
			clickAndLoad(t, ctx, sel+` [data-testid="confirm-delete"]`)
			do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`[data-testid="flash"]`)))
			if got := textOf(t, ctx, `[data-testid="flash"]`); !strings.HasPrefix(got, "Etiqueta eliminada") {
				t.Fatalf("after confirming: %q", got)
			}

			visit("tokens", "/settings/tokens", "tokens-table")
			do(t, ctx, chromedp.SendKeys(chromedp.CSS(`[data-testid="token-form"] input[name="name"]`), "Zapier "+vp.name))
			clickAndLoad(t, ctx, `[data-testid="token-form"] button[type="submit"]`)
			do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`[data-testid="new-token"]`)))
			if v, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(`[data-testid="new-token-value"]`))); err != nil || !strings.HasPrefix(v, "atk_") {
				t.Fatalf("new token on screen: %q (%v)", v, err)
			}
			check("tokens-new")

			// An agent sees only their tokens, in the same frame.
			clickAndLoad(t, ctx, `[data-testid="logout"]`)
			do(t, ctx, chromedp.Navigate(app.URL+"/settings/tokens"), signIn(agent.Email, testutil.Password),
				chromedp.WaitVisible(chromedp.CSS(`[data-testid="tokens-empty"]`)))
			check("tokens-agent")
		})
	}
}

// clickAndLoad clicks what submits a form or follows a link and waits for the next
// page's load event (waiting for an element right after the click can race the
// navigation). It first scrolls the element to the middle of the screen, as a person
// would: at the bottom edge of a phone, the sticky menu bar covers it.
func clickAndLoad(t *testing.T, ctx context.Context, css string) {
	t.Helper()
	js := `document.querySelector(` + strconv.Quote(css) + `).scrollIntoView({block: "center"})`
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](js)); err != nil {
		t.Fatalf("scroll to %s: %v", css, err)
	}
	if _, err := chromedp.Run(ctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(css)))); err != nil {
		t.Fatalf("click %s: %v", css, err)
	}
}

func mustFirstChannel(t *testing.T, app *testutil.App) models.Channel {
	t.Helper()
	var ch models.Channel
	testutil.Must(t, app.DB.Gorm.Order("id").First(&ch).Error)
	return ch
}
