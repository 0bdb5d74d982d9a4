package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/atiende/atiende/app/catalog"
	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/app/whatsapp"
	"github.com/atiende/atiende/app/whatsapp/fakemeta"
	"github.com/atiende/atiende/app/whatsapp/outbox"
	"github.com/atiende/atiende/models"
)

// fakeGraph is the fake Graph API on a test server.
func fakeGraph(t *testing.T) (*fakemeta.Fake, string) {
	t.Helper()
	fake := fakemeta.New(fakemeta.Config{NoStatusWebhooks: true})
	srv := httptest.NewServer(fake)
	t.Cleanup(func() { srv.Close(); fake.Close() })
	return fake, srv.URL + "/v25.0"
}

func TestTemplatesSyncFromMetaAcrossPages(t *testing.T) {
	fake, graphURL := fakeGraph(t)
	app := testutil.NewApp(t, testutil.WithGraphURL(graphURL))
	ws := app.Workspace("Acme")
	ch := app.Channel(ws, "Principal") // WABA 102290129340398
	admin := app.User(ws, "admin@acme.pe", models.RoleAdmin)
	c := app.LoginAs(admin)

	// Thirty templates: more than one page of the fake's default 25… the client asks
	// 250 a page, so make the fake's pages small to prove the cursor is followed.
	var many []fakemeta.Template
	for i := range 30 {
		many = append(many, fakemeta.Template{ID: fmt.Sprint(5000 + i), Name: fmt.Sprintf("aviso_%02d", i), Language: "es",
			Status: "APPROVED", Category: "UTILITY", Components: json.RawMessage(`[{"type":"BODY","text":"Aviso {{1}}"}]`)})
	}
	many = append(many, fakemeta.DefaultTemplates()...)
	fake.SetTemplates(ch.WabaID, many)

	// A hand-registered one stays; an old synced one Meta no longer lists goes.
	testutil.Must(t, app.DB.Gorm.Exec(`INSERT INTO templates (workspace_id, name, language, category, body) VALUES (?, 'manual', 'es', 'utility', 'Hola {{1}}')`, ws.ID).Error)
	testutil.Must(t, app.DB.Gorm.Exec(`INSERT INTO templates (workspace_id, waba_id, name, language, category, body, status) VALUES (?, ?, 'borrada_en_meta', 'es', 'utility', 'x', 'approved')`, ws.ID, ch.WabaID).Error)

	page := c.Get("/settings/templates")
	if page.Doc(t).Find(`[data-testid="templates-sync-button"]`).Length() != 1 {
		t.Fatal("no «Sincronizar con Meta» button")
	}
	res := c.PostForm("/settings/templates/sync", url.Values{})
	if res.StatusCode == http.StatusSeeOther {
		res = c.Get("/settings/templates")
	}
	if res.StatusCode != http.StatusOK || !strings.Contains(res.Body, "36 plantillas de Meta al día") || !strings.Contains(res.Body, "1 ya no existía en Meta") {
		t.Fatalf("sync: %d, flash missing: %s", res.StatusCode, snippet(res.Body, "plantillas de Meta"))
	}
	var rows []models.Template
	testutil.Must(t, app.DB.Gorm.Where("workspace_id = ?", ws.ID).Order("name").Find(&rows).Error)
	byName := map[string]models.Template{}
	for _, r := range rows {
		byName[r.Name] = r
	}
	if len(rows) != 37 || byName["manual"].ID == 0 || byName["borrada_en_meta"].ID != 0 {
		t.Fatalf("%d templates after sync (manual kept: %v, removed one gone: %v)", len(rows), byName["manual"].ID != 0, byName["borrada_en_meta"].ID == 0)
	}
	cot := byName["cotizacion_lista"]
	if cot.Status != "approved" || cot.Category != "utility" || cot.WabaID != ch.WabaID || cot.MetaID != "1000002" ||
		!strings.Contains(string(cot.Components), `"DOCUMENT"`) || !strings.Contains(cot.Body, "{{nombre}}") {
		t.Fatalf("cotizacion_lista = %+v", cot)
	}
	if byName["encuesta_satisfaccion"].Status != "pending" || byName["oferta_relampago"].Status != "rejected" {
		t.Error("statuses were not kept")
	}
	// Syncing again changes nothing and removes nothing.
	c.PostForm("/settings/templates/sync", url.Values{})
	res = c.Get("/settings/templates")
	if !strings.Contains(res.Body, "36 plantillas de Meta al día.") {
		t.Errorf("second sync: %s", snippet(res.Body, "plantillas de Meta"))
	}
	// Meta paged the list: more than one request for the account.
	pages := 0
	for _, r := range fake.Requests() {
		if strings.HasSuffix(r.Path, "/message_templates") {
			pages++
		}
	}
	if pages < 2 {
		t.Errorf("%d template requests for two syncs", pages)
	}
	// The settings list shows status and where each comes from.
	doc := c.Get("/settings/templates").Doc(t)
	if got := doc.Find(`[data-testid="template-status"]`).Length(); got != 37 {
		t.Errorf("%d statuses shown", got)
	}
	if !strings.Contains(doc.Text(), "Rechazada") || !strings.Contains(doc.Text(), "Documento en el encabezado") {
		t.Error("the list does not show rejected status or the header document")
	}
	// Agents cannot sync.
	ana := app.User(ws, "ana@acme.pe", models.RoleAgent)
	if r := app.LoginAs(ana).PostForm("/settings/templates/sync", url.Values{}); r.StatusCode != http.StatusForbidden {
		t.Errorf("an agent synced: %d", r.StatusCode)
	}
}

// The small pages prove the client follows paging.cursors.after.
func TestListTemplatesFollowsCursors(t *testing.T) {
	fake, graphURL := fakeGraph(t)
	var many []fakemeta.Template
	for i := range 7 {
		many = append(many, fakemeta.Template{ID: fmt.Sprint(i), Name: fmt.Sprintf("t%d", i), Language: "es", Status: "APPROVED", Category: "UTILITY", Components: json.RawMessage(`[]`)})
	}
	fake.SetTemplates("waba-1", many)
	small := &pageLimiter{base: strings.TrimSuffix(graphURL, "/v25.0"), limit: 3}
	srv := httptest.NewServer(small)
	t.Cleanup(srv.Close)
	list, err := (&whatsapp.Client{BaseURL: srv.URL + "/v25.0"}).ListTemplates(context.Background(), "waba-1", "tok")
	testutil.Must(t, err)
	if len(list) != 7 || list[6].Name != "t6" || small.calls != 3 {
		t.Fatalf("%d templates in %d calls", len(list), small.calls)
	}
}

// pageLimiter proxies to the fake, forcing ?limit=N.
type pageLimiter struct {
	base  string
	limit int
	calls int
}

func (p *pageLimiter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.calls++
	q := r.URL.Query()
	q.Set("limit", fmt.Sprint(p.limit))
	req, _ := http.NewRequest(http.MethodGet, p.base+r.URL.Path+"?"+q.Encode(), nil)
	req.Header.Set("Authorization", r.Header.Get("Authorization"))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), 502)
		return
	}
	defer res.Body.Close()
	w.WriteHeader(res.StatusCode)
	var b bytes.Buffer
	_, _ = b.ReadFrom(res.Body)
	_, _ = w.Write(b.Bytes())
}

func snippet(body, near string) string {
	i := strings.Index(body, near)
	if i < 0 {
		if len(body) > 300 {
			return body[:300]
		}
		return body
	}
	return body[max(0, i-200):min(len(body), i+200)]
}

func TestTemplateWithHeaderDocumentNamedParamsAndButton(t *testing.T) {
	fake, graphURL := fakeGraph(t)
	app := testutil.NewApp(t, testutil.WithGraphURL(graphURL))
	ws := app.Workspace("Acme")
	ch := app.Channel(ws, "Principal")
	other := app.Channel(ws, "Otra cuenta")
	testutil.Must(t, app.DB.Gorm.Model(&models.Channel{}).Where("id = ?", other.ID).Update("waba_id", "999").Error)
	ana := app.User(ws, "ana@acme.pe", models.RoleAgent)
	conv := app.Inbound(ch, "51911111111", "María Rojas", "Hola")
	ctx := context.Background()
	syncer := &catalog.TemplateSyncer{Catalog: catalog.New(app.DB.Gorm, nil), Channels: app.Server.Channels, Graph: &whatsapp.Client{BaseURL: graphURL}}
	fake.SetTemplates("999", []fakemeta.Template{{ID: "9", Name: "solo_otra_cuenta", Language: "es", Status: "APPROVED", Category: "UTILITY", Components: json.RawMessage(`[{"type":"BODY","text":"Hola"}]`)}})
	if res, err := syncer.SyncWorkspace(ctx, ws.ID); err != nil || res.Synced != 7 {
		t.Fatalf("sync: %+v %v", res, err)
	}
	// The job syncs each account once a day: just synced, nothing to do.
	before := len(fake.Requests())
	testutil.Must(t, syncer.SyncAll(ctx, 24*time.Hour))
	if len(fake.Requests()) != before {
		t.Error("the job synced again an account synced a moment ago")
	}
	testutil.Must(t, syncer.SyncAll(ctx, 0))
	if len(fake.Requests()) != before+2 {
		t.Errorf("a stale sync made %d requests, want one per account (2)", len(fake.Requests())-before)
	}

	c := app.LoginAs(ana)
	doc := c.Get(fmt.Sprintf("/conversations/%d", conv.ID)).Doc(t)
	names := doc.Find(`[data-testid="template-select"] option`).Map(func(_ int, s *goquery.Selection) string { return s.Text() })
	got := strings.Join(names, ",")
	if !strings.Contains(got, "cotizacion_lista") || strings.Contains(got, "encuesta_satisfaccion") || strings.Contains(got, "solo_otra_cuenta") {
		t.Fatalf("offered templates: %s (want only approved ones of this number's account)", got)
	}
	var tid int64
	testutil.Must(t, app.DB.Gorm.Raw(`SELECT id FROM templates WHERE name = 'cotizacion_lista'`).Scan(&tid).Error)
	form := doc.Find(fmt.Sprintf(`[data-testid="template-form"][data-template-id="%d"]`, tid))
	if form.Find(`[data-testid="template-header-file"]`).Length() != 1 || form.Find(`input[name="var_nombre"]`).AttrOr("value", "") != "María" ||
		form.Find(`[data-testid="template-button-param"]`).Length() != 1 {
		t.Fatal("the picker does not ask for the header document, the named variables and the button value")
	}

	send := func(fields map[string]string, file []byte, name, mimeType string) testutil.Response {
		var b bytes.Buffer
		w := multipart.NewWriter(&b)
		for k, v := range fields {
			_ = w.WriteField(k, v)
		}
		if file != nil {
			h := make(map[string][]string)
			h["Content-Disposition"] = []string{fmt.Sprintf(`form-data; name="header_file"; filename="%s"`, name)}
			h["Content-Type"] = []string{mimeType}
			p, _ := w.CreatePart(h)
			_, _ = p.Write(file)
		}
		_ = w.Close()
		req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/conversations/%d/templates", app.URL, conv.ID), &b)
		req.Header.Set("Content-Type", w.FormDataContentType())
		req.Header.Set("HX-Request", "true")
		req.Header.Set("X-CSRF-Token", c.CSRF)
		return c.Do(req)
	}
	fields := map[string]string{"template_id": fmt.Sprint(tid), "var_nombre": "María", "var_numero": "C-1042", "button_0": "C-1042"}
	// Without the header file, or with a picture for a document header: refused in Spanish.
	if r := send(fields, nil, "", ""); r.StatusCode != 422 || !strings.Contains(r.Body, "lleva un documento en el encabezado") {
		t.Fatalf("no file: %d %s", r.StatusCode, r.Body)
	}
	if r := send(fields, []byte("\x89PNG"), "foto.png", "image/png"); r.StatusCode != 422 || !strings.Contains(r.Body, "es un documento") {
		t.Fatalf("wrong file: %d %s", r.StatusCode, r.Body)
	}
	delete(fields, "var_numero")
	if r := send(fields, []byte("%PDF-1.4"), "C-1042.pdf", "application/pdf"); r.StatusCode != 422 || !strings.Contains(r.Body, "{{numero}}") {
		t.Fatalf("missing variable: %d %s", r.StatusCode, r.Body)
	}
	fields["var_numero"] = "C-1042"
	pdf := append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte("x"), 50_000)...)
	if r := send(fields, pdf, "C-1042.pdf", "application/pdf"); r.StatusCode != 200 {
		t.Fatalf("send: %d %s", r.StatusCode, r.Body)
	}

	// The outbox uploads the document and sends the template with it.
	sender := &outbox.Sender{DB: app.DB.Gorm, Pool: app.DB.Pool, Channels: app.Server.Channels, Graph: &whatsapp.Client{BaseURL: graphURL}, Poll: 50 * time.Millisecond}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); sender.Run(sctx) }()
	t.Cleanup(func() { cancel(); <-done })
	deadline := time.Now().Add(30 * time.Second)
	for len(fake.Sent("51911111111")) == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	sent := fake.Sent("51911111111")
	if len(sent) != 1 || sent[0].Template != "cotizacion_lista" {
		t.Fatalf("Meta got %+v", sent)
	}
	var body struct {
		Template struct {
			Components []struct {
				Type       string `json:"type"`
				SubType    string `json:"sub_type"`
				Index      string `json:"index"`
				Parameters []struct {
					Type          string `json:"type"`
					ParameterName string `json:"parameter_name"`
					Text          string `json:"text"`
					Document      *struct {
						ID       string `json:"id"`
						Filename string `json:"filename"`
					} `json:"document"`
				} `json:"parameters"`
			} `json:"components"`
		} `json:"template"`
	}
	testutil.Must(t, json.Unmarshal(sent[0].Body, &body))
	cs := body.Template.Components
	if len(cs) != 3 || cs[0].Type != "header" || cs[0].Parameters[0].Document == nil || cs[1].Type != "body" || cs[2].Type != "button" {
		t.Fatalf("components = %s", sent[0].Body)
	}
	up, ok := fake.Uploads()[cs[0].Parameters[0].Document.ID]
	if !ok || up.Size != int64(len(pdf)) || cs[0].Parameters[0].Document.Filename != "C-1042.pdf" {
		t.Fatalf("header document %+v not the uploaded file (%+v)", cs[0].Parameters[0].Document, up)
	}
	if p := cs[1].Parameters; len(p) != 2 || p[0].ParameterName != "nombre" || p[0].Text != "María" || p[1].ParameterName != "numero" || p[1].Text != "C-1042" {
		t.Fatalf("named body parameters = %+v", p)
	}
	if cs[2].SubType != "url" || cs[2].Index != "0" || cs[2].Parameters[0].Text != "C-1042" {
		t.Fatalf("button = %+v", cs[2])
	}
	var m models.Message
	testutil.Must(t, app.DB.Gorm.Where("conversation_id = ? AND kind = 'template'", conv.ID).First(&m).Error)
	if !strings.Contains(m.Body, "Hola María, adjuntamos la cotización C-1042") || m.MediaID == "" {
		t.Fatalf("stored template message = %q (media %q)", m.Body, m.MediaID)
	}
}
