package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

// The parts of the CRM where contacts meet leads and tasks: the "con oportunidad
// abierta" filter, a contact's leads, tasks and lead history, a company's open leads.

func newLead(t *testing.T, api *testutil.API, body string) apiLeadJSON {
	t.Helper()
	r := api.Do("POST", "/api/v1/leads", body)
	var l apiLeadJSON
	decodeData(t, r, &l)
	if r.StatusCode != http.StatusCreated {
		t.Fatalf("create lead %s: %d %s", body, r.StatusCode, r.Body)
	}
	return l
}

func rowIDs(doc *goquery.Document, sel string) []string {
	var ids []string
	doc.Find(sel).Each(func(_ int, s *goquery.Selection) {
		id, _ := s.Attr("data-id")
		ids = append(ids, id)
	})
	return ids
}

func TestContactsOpenLeadFilter(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	ch := app.Channel(ws, "Principal")
	admin := app.User(ws, "admin@acme.pe", models.RoleAdmin)
	api := app.API(admin)
	pedro := app.Inbound(ch, "51911111111", "Pedro", "Hola").ContactID
	rosa := app.Inbound(ch, "51922222222", "Rosa", "Hola").ContactID
	juan := app.Inbound(ch, "51933333333", "Juan", "Hola").ContactID
	app.Inbound(ch, "51944444444", "Mario", "Hola") // no lead at all
	luz := app.Inbound(ch, "51955555555", "Luz", "Hola").ContactID
	newLead(t, api, fmt.Sprintf(`{"contact_id":%d,"title":"Licencias","stage":"Calificado"}`, pedro))
	newLead(t, api, fmt.Sprintf(`{"contact_id":%d,"title":"Renovación","stage":"Ganado"}`, rosa)) // won: not open
	newLead(t, api, fmt.Sprintf(`{"contact_id":%d,"title":"Viejo","stage":"Perdido","reason":"Sin presupuesto"}`, juan))
	newLead(t, api, fmt.Sprintf(`{"contact_id":%d,"title":"Nuevo","stage":"Entrantes"}`, juan))
	newLead(t, api, fmt.Sprintf(`{"contact_id":%d,"title":"Caída","stage":"Perdido","reason":"Eligió a otro"}`, luz)) // lost only
	want := []string{fmt.Sprint(juan), fmt.Sprint(pedro)}                                                             // newest first

	c := app.LoginAs(admin)
	if got := rowIDs(c.Get("/contacts").Doc(t), `[data-testid="contact-row"]`); len(got) != 5 {
		t.Fatalf("unfiltered list: %v", got)
	}
	doc := c.Get("/contacts?open_lead=1").Doc(t)
	if got := rowIDs(doc, `[data-testid="contact-row"]`); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("con oportunidad abierta: %v, want %v", got, want)
	}
	if v, _ := doc.Find(`[data-testid="filter-open-lead"] option[selected]`).Attr("value"); v != "1" {
		t.Fatal("the filter bar does not keep «Con oportunidad abierta» selected")
	}
	if doc.Find(`[data-testid="clear-filters"]`).Length() != 1 {
		t.Fatal("no Limpiar with the filter on")
	}
	href, _ := doc.Find(`[data-testid="export-csv"]`).Attr("href")
	if href != "/contacts/export.csv?open_lead=1" {
		t.Fatalf("export link: %q", href)
	}
	csv := c.Get(href)
	lines := strings.Split(strings.TrimSpace(csv.Body), "\n")
	if csv.StatusCode != 200 || len(lines) != 3 || !strings.Contains(lines[1], "Juan") || !strings.Contains(lines[2], "Pedro") {
		t.Fatalf("export: %d %q", csv.StatusCode, csv.Body)
	}
	// Keyset paging keeps the filter: the page after Juan holds only Pedro (not Rosa or Mario).
	if got := rowIDs(c.Get(fmt.Sprintf("/contacts?open_lead=1&after=%d", juan)).Doc(t), `[data-testid="contact-row"]`); fmt.Sprint(got) != fmt.Sprint(want[1:]) {
		t.Fatalf("second page: %v", got)
	}
	// Once Pedro's lead is won, Pedro leaves the filter.
	var lead models.Lead
	testutil.Must(t, app.DB.Gorm.Where("contact_id = ?", pedro).Take(&lead).Error)
	if r := api.Do("PATCH", fmt.Sprintf("/api/v1/leads/%d", lead.ID), `{"stage":"Ganado"}`); r.StatusCode != 200 {
		t.Fatalf("win: %d %s", r.StatusCode, r.Body)
	}
	if got := rowIDs(c.Get("/contacts?open_lead=1").Doc(t), `[data-testid="contact-row"]`); fmt.Sprint(got) != fmt.Sprint(want[:1]) {
		t.Fatalf("after winning Pedro's lead: %v", got)
	}
	if r := api.Do("PATCH", fmt.Sprintf("/api/v1/leads/%d", lead.ID), `{"stage":"Propuesta"}`); r.StatusCode != 200 {
		t.Fatalf("reopen: %d %s", r.StatusCode, r.Body)
	}

	// The API: open_lead=1 with cursor paging; anything else than 0/1 is a clear 422.
	var page struct {
		Data []struct {
			ID int64 `json:"id"`
		} `json:"data"`
		Next *string `json:"next_cursor"`
	}
	decode(t, api.Do("GET", "/api/v1/contacts?open_lead=1&limit=1", ""), &page)
	if len(page.Data) != 1 || page.Data[0].ID != juan || page.Next == nil {
		t.Fatalf("API first page: %+v", page)
	}
	decode(t, api.Do("GET", "/api/v1/contacts?open_lead=1&limit=1&cursor="+*page.Next, ""), &page)
	if len(page.Data) != 1 || page.Data[0].ID != pedro || page.Next != nil {
		t.Fatalf("API second page: %+v", page)
	}
	decode(t, api.Do("GET", "/api/v1/contacts?open_lead=0", ""), &page)
	if len(page.Data) != 5 {
		t.Fatalf("API open_lead=0: %d contacts", len(page.Data))
	}
	if r := api.Do("GET", "/api/v1/contacts?open_lead=si", ""); r.StatusCode != 422 || !strings.Contains(r.Body, "open_lead") {
		t.Fatalf("API bad open_lead: %d %s", r.StatusCode, r.Body)
	}
}

func TestContactPageLeadsAndTasks(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	ventas, soporte := app.Team(ws, "Ventas"), app.Team(ws, "Soporte")
	ch := app.Channel(ws, "Principal")
	ana := app.User(ws, "ana@acme.pe", models.RoleAgent, ventas)
	luis := app.User(ws, "luis@acme.pe", models.RoleAgent, soporte)
	admin := app.User(ws, "admin@acme.pe", models.RoleAdmin)
	conv := app.Inbound(ch, "51911111111", "Pedro", "Hola, quiero cotizar")
	anaAPI, adminAPI := app.API(ana), app.API(admin)
	if r := anaAPI.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/take", conv.ID), ""); r.StatusCode != 200 {
		t.Fatalf("take: %d %s", r.StatusCode, r.Body)
	}
	mine := newLead(t, anaAPI, fmt.Sprintf(`{"conversation_id":%d,"title":"Licencias 2027","value":1200.5,"currency":"USD","stage":"Calificado"}`, conv.ID))
	// A lead of Pedro's that Ana may not see: Luis's, from no conversation of hers.
	hidden := newLead(t, adminAPI, fmt.Sprintf(`{"contact_id":%d,"title":"Contrato secreto","value":99000,"stage":"Propuesta"}`, conv.ContactID))
	testutil.Must(t, app.DB.Gorm.Exec(`UPDATE leads SET conversation_id = NULL, cycle_id = NULL, owner_id = ? WHERE id = ?`, luis.ID, hidden.ID).Error)
	if r := anaAPI.Do("PATCH", fmt.Sprintf("/api/v1/leads/%d", mine.ID), `{"stage":"Propuesta"}`); r.StatusCode != 200 {
		t.Fatalf("move: %d %s", r.StatusCode, r.Body)
	}

	path := fmt.Sprintf("/contacts/%d", conv.ContactID)
	c := app.LoginAs(ana)
	doc := c.Get(path).Doc(t)
	leads := doc.Find(`[data-testid="contact-leads"] [data-testid="contact-lead"]`)
	if leads.Length() != 1 {
		t.Fatalf("Ana sees %d leads on the contact: %s", leads.Length(), leads.Text())
	}
	text := func(s *goquery.Selection, id string) string {
		return strings.TrimSpace(s.Find(`[data-testid="` + id + `"]`).Text())
	}
	if text(leads, "contact-lead-title") != "Licencias 2027" || text(leads, "contact-lead-stage") != "Propuesta" ||
		text(leads, "contact-lead-value") != "1.200,50 USD" || !strings.Contains(leads.Text(), "Ana") {
		t.Fatalf("lead line: %q", leads.Text())
	}
	if href, _ := leads.Find(`a[data-testid="contact-lead-title"]`).Attr("href"); href != fmt.Sprintf("/leads/%d", mine.ID) {
		t.Fatalf("lead link: %q", href)
	}
	tl := doc.Find(`[data-testid="timeline"]`).Text()
	if !strings.Contains(tl, "Ana creó la oportunidad «Licencias 2027» en Calificado") || !strings.Contains(tl, "Ana movió «Licencias 2027» de Calificado a Propuesta") {
		t.Fatalf("timeline without the lead's history: %q", tl)
	}
	if strings.Contains(doc.Text(), "Contrato secreto") {
		t.Fatal("Ana sees a lead she may not see on the contact page")
	}
	// The admin sees both, open ones first, with the same money format.
	adoc := app.LoginAs(admin).Get(path).Doc(t)
	if got := adoc.Find(`[data-testid="contact-lead"]`).Length(); got != 2 || !strings.Contains(adoc.Text(), "99.000 USD") {
		t.Fatalf("admin sees %d leads", got)
	}

	// Adding a task from the contact's page: due in the workspace's time zone, for Ana.
	r := c.PostForm("/tasks", url.Values{"contact_id": {fmt.Sprint(conv.ContactID)}, "kind": {"call"}, "title": {"Llamar por la cotización"},
		"due_at": {"2027-01-10T10:00"}, "assignee_id": {""}, "back": {path + "#tareas"}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != path+"#tareas" {
		t.Fatalf("add task: %d %q %s", r.StatusCode, r.Header.Get("Location"), r.Body)
	}
	var task models.Task
	testutil.Must(t, app.DB.Gorm.Where("contact_id = ? AND title = ?", conv.ContactID, "Llamar por la cotización").Take(&task).Error)
	lima, _ := time.LoadLocation("America/Lima")
	if task.AssigneeID != ana.ID || task.Kind != models.TaskCall || !task.DueAt.Equal(time.Date(2027, 1, 10, 10, 0, 0, 0, lima)) || task.LeadID != nil {
		t.Fatalf("task: %+v", task)
	}
	// A task on the lead shows there too (it is the contact's as well); one done earlier goes last.
	r = anaAPI.Do("POST", "/api/v1/tasks", fmt.Sprintf(`{"kind":"demo","title":"Demo del módulo","due_at":"2027-01-05T15:00:00-05:00","lead_id":%d}`, mine.ID))
	if r.StatusCode != 201 {
		t.Fatalf("task on the lead: %d %s", r.StatusCode, r.Body)
	}
	var demo models.Task
	testutil.Must(t, app.DB.Gorm.Where("title = ?", "Demo del módulo").Take(&demo).Error)
	// One click: done.
	r = c.HTMX("POST", fmt.Sprintf("/tasks/%d/done", demo.ID), url.Values{"done": {"1"}})
	if r.StatusCode != 200 || r.Doc(t).Find(`[data-testid="task-undo"]`).Length() != 1 {
		t.Fatalf("done: %d %s", r.StatusCode, r.Body)
	}
	doc = c.Get(path).Doc(t)
	tasks := doc.Find(`[data-testid="contact-tasks"] [data-testid="task"]`)
	if tasks.Length() != 2 {
		t.Fatalf("contact tasks: %d %q", tasks.Length(), tasks.Text())
	}
	first, second := tasks.Eq(0), tasks.Eq(1)
	if !strings.Contains(first.Text(), "Llamar por la cotización") || first.HasClass("is-done") || first.Find(`[data-testid="task-done"]`).Length() != 1 {
		t.Fatalf("the open task is not first: %q", first.Text())
	}
	if !strings.Contains(second.Text(), "Demo del módulo") || !second.HasClass("is-done") || !strings.Contains(second.Text(), "Licencias 2027") {
		t.Fatalf("the done task: %q", second.Text())
	}
	if due := strings.TrimSpace(first.Find(`[data-testid="task-due"]`).Text()); due != "10 ene 2027, 10:00" {
		t.Fatalf("due date: %q", due)
	}
	if doc.Find(`[data-testid="contact-tasks"] form[data-testid="task-form"] input[name="contact_id"]`).Length() != 1 {
		t.Fatal("no add-task form on the contact page")
	}

	// Luis cannot see Pedro: no page, no task on him.
	lc := app.LoginAs(luis)
	if r := lc.Get(path); r.StatusCode != http.StatusNotFound {
		t.Fatalf("Luis opening Pedro: %d", r.StatusCode)
	}
	if r := lc.PostForm("/tasks", url.Values{"contact_id": {fmt.Sprint(conv.ContactID)}, "kind": {"call"}, "due_at": {"2027-01-10T10:00"}}); r.StatusCode != http.StatusNotFound {
		t.Fatalf("Luis adding a task on Pedro: %d", r.StatusCode)
	}
}

func TestCompanyOpenLeadTotals(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	ch := app.Channel(ws, "Principal")
	admin := app.User(ws, "admin@acme.pe", models.RoleAdmin)
	ana := app.User(ws, "ana@acme.pe", models.RoleAgent)
	api := app.API(admin)
	pedro := app.Inbound(ch, "51911111111", "Pedro", "Hola").ContactID
	rosa := app.Inbound(ch, "51922222222", "Rosa", "Hola").ContactID
	otro := app.Inbound(ch, "51933333333", "Otro", "Hola").ContactID
	for _, id := range []int64{pedro, rosa} {
		if r := api.Do("PATCH", fmt.Sprintf("/api/v1/contacts/%d", id), `{"company":"Andina SAC"}`); r.StatusCode != 200 {
			t.Fatalf("company: %d %s", r.StatusCode, r.Body)
		}
	}
	newLead(t, api, fmt.Sprintf(`{"contact_id":%d,"title":"Licencias","value":1000,"stage":"Calificado"}`, pedro))             // 20 %
	newLead(t, api, fmt.Sprintf(`{"contact_id":%d,"title":"Ampliación","value":2000.5,"stage":"Propuesta"}`, rosa))            // 50 %
	newLead(t, api, fmt.Sprintf(`{"contact_id":%d,"title":"Soporte","value":500,"currency":"PEN","stage":"Entrantes"}`, rosa)) // 10 %
	newLead(t, api, fmt.Sprintf(`{"contact_id":%d,"title":"Ganada","value":7000,"stage":"Ganado"}`, pedro))
	newLead(t, api, fmt.Sprintf(`{"contact_id":%d,"title":"De otra empresa","value":3000,"stage":"Propuesta"}`, otro))
	var co models.Company
	testutil.Must(t, app.DB.Gorm.Where("workspace_id = ? AND name = ?", ws.ID, "Andina SAC").Take(&co).Error)

	path := fmt.Sprintf("/companies/%d", co.ID)
	doc := app.LoginAs(admin).Get(path).Doc(t)
	box := doc.Find(`[data-testid="company-leads"]`)
	if n := box.Find(`[data-testid="contact-lead"]`).Length(); n != 3 {
		t.Fatalf("open leads: %d %q", n, box.Text())
	}
	if strings.Contains(box.Text(), "Ganada") || strings.Contains(box.Text(), "De otra empresa") {
		t.Fatalf("a won lead or another company's among the open ones: %q", box.Text())
	}
	if got := strings.TrimSpace(box.Find(`[data-testid="company-lead-sum"]`).Text()); got != "3.000,50 USD · 500 PEN" {
		t.Fatalf("total: %q", got)
	}
	// 1000 × 20 % + 2000,50 × 50 % = 1200,25; 500 × 10 % = 50.
	if got := strings.TrimSpace(box.Find(`[data-testid="company-lead-weighted"]`).Text()); got != "1.200,25 USD · 50 PEN" {
		t.Fatalf("weighted: %q", got)
	}
	if !strings.Contains(box.Text(), "Rosa") {
		t.Fatalf("the lead lines do not name the contact: %q", box.Text())
	}
	// An agent counts only the leads they may see: Ana owns Rosa's proposal, and the
	// others come from no conversation of hers.
	testutil.Must(t, app.DB.Gorm.Exec(`UPDATE leads SET conversation_id = NULL, cycle_id = NULL`).Error)
	testutil.Must(t, app.DB.Gorm.Exec(`UPDATE leads SET owner_id = ? WHERE title = 'Ampliación'`, ana.ID).Error)
	box = app.LoginAs(ana).Get(path).Doc(t).Find(`[data-testid="company-leads"]`)
	if n := box.Find(`[data-testid="contact-lead"]`).Length(); n != 1 || !strings.Contains(box.Text(), "Ampliación") {
		t.Fatalf("Ana sees %d open leads: %q", n, box.Text())
	}
	if got := strings.TrimSpace(box.Find(`[data-testid="company-lead-sum"]`).Text()); got != "2.000,50 USD" {
		t.Fatalf("Ana's total: %q", got)
	}
}
