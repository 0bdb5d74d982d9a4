package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

type apiLeadJSON struct {
	ID             int64   `json:"id"`
	Title          string  `json:"title"`
	Value          float64 `json:"value"`
	Currency       string  `json:"currency"`
	Pipeline       string  `json:"pipeline"`
	Stage          string  `json:"stage"`
	StageKind      string  `json:"stage_kind"`
	ConversationID *int64  `json:"conversation_id"`
	CycleID        *int64  `json:"cycle_id"`
	LostReason     string  `json:"lost_reason"`
	Owner          *struct {
		Email string `json:"email"`
	} `json:"owner"`
}

func TestAPILeadsAndTasks(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	ventas, soporte := app.Team(ws, "Ventas"), app.Team(ws, "Soporte")
	ch := app.Channel(ws, "Principal")
	ana := app.User(ws, "ana@acme.pe", models.RoleAgent, ventas)
	luis := app.User(ws, "luis@acme.pe", models.RoleAgent, soporte)
	admin := app.User(ws, "admin@acme.pe", models.RoleAdmin)
	conv := app.Inbound(ch, "51911111111", "Pedro", "Hola, quiero cotizar")
	anaAPI, luisAPI, adminAPI := app.API(ana), app.API(luis), app.API(admin)
	if r := anaAPI.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/take", conv.ID), ""); r.StatusCode != 200 {
		t.Fatalf("take: %d %s", r.StatusCode, r.Body)
	}

	// Unknown stage or pipeline: 422 naming it.
	r := anaAPI.Do("POST", "/api/v1/leads", fmt.Sprintf(`{"conversation_id":%d,"stage":"Cerrado"}`, conv.ID))
	var e apiErr
	decode(t, r, &e)
	if r.StatusCode != 422 || !strings.Contains(e.Error.Message, "«Cerrado»") {
		t.Fatalf("unknown stage: %d %s", r.StatusCode, r.Body)
	}
	r = anaAPI.Do("POST", "/api/v1/leads", fmt.Sprintf(`{"conversation_id":%d,"pipeline":"Postventa"}`, conv.ID))
	decode(t, r, &e)
	if r.StatusCode != 422 || !strings.Contains(e.Error.Message, "«Postventa»") {
		t.Fatalf("unknown pipeline: %d %s", r.StatusCode, r.Body)
	}
	// Luis cannot see Ana's conversation: not found, as if it did not exist.
	if r := luisAPI.Do("POST", "/api/v1/leads", fmt.Sprintf(`{"conversation_id":%d}`, conv.ID)); r.StatusCode != 404 {
		t.Fatalf("Luis creating on Ana's conversation: %d %s", r.StatusCode, r.Body)
	}

	r = anaAPI.Do("POST", "/api/v1/leads", fmt.Sprintf(`{"conversation_id":%d,"title":"Licencias 2027","value":1200.5,"currency":"usd","stage":"calificado"}`, conv.ID))
	var lead apiLeadJSON
	decodeData(t, r, &lead)
	if r.StatusCode != 201 || lead.Stage != "Calificado" || lead.Pipeline != "Ventas" || lead.Value != 1200.5 || lead.Currency != "USD" ||
		lead.ConversationID == nil || *lead.ConversationID != conv.ID || lead.CycleID == nil || lead.Owner == nil || lead.Owner.Email != "ana@acme.pe" {
		t.Fatalf("create: %d %s", r.StatusCode, r.Body)
	}
	// The conversation carries lead{id, title, stage}.
	var cv struct {
		Data struct {
			Lead *struct {
				ID    int64  `json:"id"`
				Title string `json:"title"`
				Stage string `json:"stage"`
			} `json:"lead"`
		} `json:"data"`
	}
	decode(t, anaAPI.Do("GET", fmt.Sprintf("/api/v1/conversations/%d", conv.ID), ""), &cv)
	if l := cv.Data.Lead; l == nil || l.ID != lead.ID || l.Title != "Licencias 2027" || l.Stage != "Calificado" {
		t.Fatalf("conversation lead: %+v", l)
	}

	path := fmt.Sprintf("/api/v1/leads/%d", lead.ID)
	if r := anaAPI.Do("PATCH", path, `{"stage":"Perdido"}`); r.StatusCode != 422 || !strings.Contains(r.Body, "por qué") {
		t.Fatalf("lost without reason: %d %s", r.StatusCode, r.Body)
	}
	if r := anaAPI.Do("PATCH", path, `{"stage":"Nunca"}`); r.StatusCode != 422 || !strings.Contains(r.Body, "«Nunca»") {
		t.Fatalf("unknown stage on patch: %d %s", r.StatusCode, r.Body)
	}
	r = anaAPI.Do("PATCH", path, `{"stage":"Propuesta","value":2000,"expected_close":"2027-01-15","owner":null}`)
	decodeData(t, r, &lead)
	if r.StatusCode != 200 || lead.Stage != "Propuesta" || lead.Value != 2000 || lead.Owner != nil {
		t.Fatalf("patch: %d %s", r.StatusCode, r.Body)
	}
	decode(t, anaAPI.Do("GET", fmt.Sprintf("/api/v1/conversations/%d", conv.ID), ""), &cv)
	if l := cv.Data.Lead; l == nil || l.Stage != "Propuesta" {
		t.Fatalf("conversation lead after the move: %+v", l)
	}
	if r := luisAPI.Do("GET", path, ""); r.StatusCode != 404 {
		t.Fatalf("Luis reading Ana's lead: %d", r.StatusCode)
	}
	var list struct {
		Leads []apiLeadJSON `json:"data"`
	}
	decode(t, adminAPI.Do("GET", "/api/v1/leads?pipeline=Ventas&stage=Propuesta", ""), &list)
	if len(list.Leads) != 1 || list.Leads[0].ID != lead.ID {
		t.Fatalf("list by stage: %+v", list)
	}
	decode(t, adminAPI.Do("GET", "/api/v1/leads?stage=Calificado", ""), &list)
	if len(list.Leads) != 0 {
		t.Fatalf("list of an empty stage: %+v", list)
	}
	decode(t, adminAPI.Do("GET", "/api/v1/leads?owner=ana@acme.pe", ""), &list)
	if len(list.Leads) != 0 {
		t.Fatalf("the lead has no owner now, yet owner=ana lists %d", len(list.Leads))
	}
	if r := adminAPI.Do("GET", "/api/v1/leads?stage=Nada", ""); r.StatusCode != 422 || !strings.Contains(r.Body, "«Nada»") {
		t.Fatalf("list by unknown stage: %d %s", r.StatusCode, r.Body)
	}

	// Tasks.
	r = anaAPI.Do("POST", "/api/v1/tasks", fmt.Sprintf(`{"kind":"demo","title":"Demo del módulo","due_at":"2027-01-10T15:00:00-05:00","lead_id":%d}`, lead.ID))
	var task struct {
		ID       int64  `json:"id"`
		Kind     string `json:"kind"`
		Done     bool   `json:"done"`
		Assignee struct {
			ID int64 `json:"id"`
		} `json:"assignee"`
	}
	decodeData(t, r, &task)
	if r.StatusCode != 201 || task.Kind != "demo" || task.Assignee.ID != ana.ID {
		t.Fatalf("task create: %d %s", r.StatusCode, r.Body)
	}
	if r := anaAPI.Do("POST", "/api/v1/tasks", `{"kind":"demo","due_at":"mañana","lead_id":1}`); r.StatusCode != 422 {
		t.Fatalf("bad due_at: %d %s", r.StatusCode, r.Body)
	}
	if r := luisAPI.Do("PATCH", fmt.Sprintf("/api/v1/tasks/%d", task.ID), `{"done":true}`); r.StatusCode != 404 {
		t.Fatalf("Luis completing Ana's task: %d", r.StatusCode)
	}
	r = anaAPI.Do("PATCH", fmt.Sprintf("/api/v1/tasks/%d", task.ID), `{"done":true}`)
	decodeData(t, r, &task)
	if r.StatusCode != 200 || !task.Done {
		t.Fatalf("task done: %d %s", r.StatusCode, r.Body)
	}
	var tasks struct {
		Tasks []struct{ ID int64 } `json:"data"`
	}
	decode(t, anaAPI.Do("GET", "/api/v1/tasks?open=true", ""), &tasks)
	if len(tasks.Tasks) != 0 {
		t.Fatalf("open tasks after done: %+v", tasks)
	}
}

func TestLeadBoardFromTheChatToTheBoard(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	ch := app.Channel(ws, "Principal")
	ana := app.User(ws, "ana@acme.pe", models.RoleAgent)
	conv := app.Inbound(ch, "51911111111", "Pedro", "Hola")
	c := app.LoginAs(ana)

	// The panel offers "Crear oportunidad"; one click creates it and shows its stage.
	doc := c.Get(fmt.Sprintf("/conversations/%d", conv.ID)).Doc(t)
	if doc.Find(`[data-testid="create-lead"]`).Length() != 1 || doc.Find(`[data-testid="no-leads"]`).Length() != 1 {
		t.Fatal("the contact panel has no Crear oportunidad button")
	}
	r := c.HTMX("POST", fmt.Sprintf("/conversations/%d/leads", conv.ID), url.Values{})
	doc = r.Doc(t)
	if r.StatusCode != 200 || strings.TrimSpace(doc.Find(`[data-testid="panel-lead-stage"]`).Text()) != "Entrantes" ||
		strings.TrimSpace(doc.Find(`[data-testid="panel-lead-title"]`).Text()) != "Oportunidad de Pedro" {
		t.Fatalf("create from the chat: %d %s", r.StatusCode, r.Body)
	}
	leadID, _ := doc.Find(`[data-testid="panel-lead"]`).Attr("data-id")
	card := c.HTMX("GET", fmt.Sprintf("/board/cards/%d", conv.ID), nil).Doc(t)
	if got := strings.TrimSpace(card.Find(`[data-testid="card-stage"]`).Text()); got != "Entrantes" {
		t.Fatalf("board card stage chip: %q", got)
	}

	// The lead board: the card in its column, with totals.
	board := c.Get("/leads").Doc(t)
	cols := board.Find(`[data-testid="lead-column"]`)
	if cols.Length() != 6 {
		t.Fatalf("columns: %d", cols.Length())
	}
	if n := board.Find(`[data-testid="lead-cards-Entrantes"] [data-testid="lead-card"]`).Length(); n != 1 {
		t.Fatalf("Entrantes has %d cards", n)
	}
	stageID := func(name string) string {
		id, _ := board.Find(fmt.Sprintf(`[data-testid="lead-column"][data-name="%s"]`, name)).Attr("data-stage")
		return id
	}
	// Lost needs a reason, on the server too.
	r = c.HTMX("POST", "/leads/"+leadID+"/stage", url.Values{"stage_id": {stageID("Perdido")}})
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "por qué") {
		t.Fatalf("lost without reason: %d %s", r.StatusCode, r.Body)
	}
	// Value and a move: the answer is the card and the heads with the new totals.
	r = c.PostForm("/leads/"+leadID, url.Values{"title": {"Licencias"}, "value": {"1.500,50"}, "currency": {"USD"}, "owner_id": {fmt.Sprint(ana.ID)}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("edit: %d %s", r.StatusCode, r.Body)
	}
	r = c.HTMX("POST", "/leads/"+leadID+"/stage", url.Values{"stage_id": {stageID("Propuesta")}})
	doc = r.Doc(t)
	if r.StatusCode != 200 || doc.Find(`[data-testid="lead-card"]`).Length() != 1 {
		t.Fatalf("move: %d %s", r.StatusCode, r.Body)
	}
	head := doc.Find(`[data-testid="lead-head-Propuesta"]`)
	if got := strings.TrimSpace(head.Find(`[data-testid="lead-sum"]`).Text()); got != "1.500,50 USD" {
		t.Fatalf("Propuesta total: %q", got)
	}
	if got := strings.TrimSpace(head.Find(`[data-testid="lead-weighted"]`).Text()); got != "750,25 USD" {
		t.Fatalf("Propuesta weighted: %q", got)
	}
	card = c.HTMX("GET", fmt.Sprintf("/board/cards/%d", conv.ID), nil).Doc(t)
	if got := strings.TrimSpace(card.Find(`[data-testid="card-stage"]`).Text()); got != "Propuesta" {
		t.Fatalf("board card stage chip after the move: %q", got)
	}
	// The lead's page shows the timeline: who moved it, from where to where.
	page := c.Get("/leads/" + leadID).Doc(t)
	if tl := page.Find(`[data-testid="timeline-item"]`).Text(); !strings.Contains(tl, "Ana la movió de Entrantes a Propuesta") {
		t.Fatalf("timeline: %q", tl)
	}
	// List and CSV export with the same filters.
	list := c.Get("/leads/list?owner=me").Doc(t)
	if list.Find(`[data-testid="lead-row"]`).Length() != 1 {
		t.Fatal("list view")
	}
	csv := c.Get("/leads/export.csv?owner=none")
	if csv.StatusCode != 200 || strings.Count(csv.Body, "\n") != 1 {
		t.Fatalf("export of leads without owner: %q", csv.Body)
	}
	csv = c.Get("/leads/export.csv")
	if !strings.Contains(csv.Body, "Licencias,Pedro") || !strings.Contains(csv.Body, "1500.50,USD") {
		t.Fatalf("export: %q", csv.Body)
	}
}

func TestSettingsPipelinesAndAutomaticLeads(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	ch := app.Channel(ws, "Principal")
	admin := app.User(ws, "admin@acme.pe", models.RoleAdmin)
	c := app.LoginAs(admin)
	// A customer writes before automatic leads are on (the webhook caches the channel).
	app.Inbound(ch, "51911111111", "Pedro", "Hola")

	form := url.Values{"name": {"Renovaciones"}, "currency": {"pen"},
		"stage_id": {"", "", "", ""}, "stage_name": {"Entrantes", "Cotizada", "", "Renovada"},
		"stage_probability": {"10", "60", "", ""}, "stage_kind": {"open", "open", "open", "won"}, "stage_rot": {"3", "", "", ""}}
	bad := url.Values{}
	for k, v := range form {
		bad[k] = v
	}
	bad["stage_probability"] = []string{"10", "160", "", ""}
	r := c.PostForm("/settings/pipelines", bad)
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "entre 0 y 100") {
		t.Fatalf("bad probability: %d", r.StatusCode)
	}
	if r := c.PostForm("/settings/pipelines", form); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("create pipeline: %d %s", r.StatusCode, r.Body)
	}
	page := c.Get("/settings/pipelines").Doc(t)
	if page.Find(`[data-testid="pipeline-row"]`).Length() != 2 || !strings.Contains(page.Text(), "Renovaciones") || !strings.Contains(page.Text(), "PEN") {
		t.Fatalf("pipelines page: %s", page.Find(`[data-testid="pipelines"]`).Text())
	}
	var p models.Pipeline
	testutil.Must(t, app.DB.Gorm.Where("workspace_id = ? AND name = ?", ws.ID, "Renovaciones").Take(&p).Error)

	edit := c.Get(fmt.Sprintf("/settings/channels/%d", ch.ID)).Doc(t)
	if edit.Find(`[data-testid="auto-lead-form"]`).Length() != 1 {
		t.Fatal("the channel page has no automatic leads setting")
	}
	if r := c.PostForm(fmt.Sprintf("/settings/channels/%d/auto-lead", ch.ID), url.Values{"pipeline_id": {fmt.Sprint(p.ID)}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("auto lead on: %d %s", r.StatusCode, r.Body)
	}
	conv := app.Inbound(ch, "51922222222", "Rosa", "Hola, vi su anuncio")
	var l models.Lead
	testutil.Must(t, app.DB.Gorm.Where("conversation_id = ?", conv.ID).Take(&l).Error)
	if l.PipelineID != p.ID || l.Currency != "PEN" {
		t.Fatalf("automatic lead: %+v", l)
	}
	// Agents cannot change settings.
	agent := app.User(ws, "ana@acme.pe", models.RoleAgent)
	if r := app.LoginAs(agent).PostForm(fmt.Sprintf("/settings/channels/%d/auto-lead", ch.ID), url.Values{"pipeline_id": {""}}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("agent turning auto leads off: %d", r.StatusCode)
	}
}

// decodeData decodes an API answer's {"data": …} into v.
func decodeData(t *testing.T, r testutil.Response, v any) {
	t.Helper()
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	decode(t, r, &env)
	if err := json.Unmarshal(env.Data, v); err != nil {
		t.Fatalf("status %d, body %q: %v", r.StatusCode, r.Body, err)
	}
}
