package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

// autoFixture is a workspace with a channel, two teams, labels, an admin and an agent.
type autoFixture struct {
	app             *testutil.App
	ws              models.Workspace
	ch              models.Channel
	ventas, soporte models.Team
	admin, ana      models.User
	c               *testutil.Client
}

func newAutoFixture(t *testing.T) *autoFixture {
	t.Helper()
	app := testutil.NewApp(t)
	f := &autoFixture{app: app, ws: app.Workspace("Acme")}
	f.ventas, f.soporte = app.Team(f.ws, "Ventas"), app.Team(f.ws, "Soporte")
	f.ch = app.Channel(f.ws, "Principal")
	f.admin = newUser(t, app, f.ws, "admin@acme.pe", models.RoleAdmin)
	f.ana = newUser(t, app, f.ws, "ana@acme.pe", models.RoleAgent, f.ventas)
	testutil.Must(t, app.Server.Services.CRM.EnsureDefault(context.Background(), f.ws.ID))
	f.c = app.LoginAs(f.admin)
	return f
}

func (f *autoFixture) label(t *testing.T, name string) models.Label {
	t.Helper()
	l := models.Label{WorkspaceID: f.ws.ID, Name: name, Color: "#2563eb"}
	testutil.Must(t, f.app.DB.Gorm.Create(&l).Error)
	return l
}

func (f *autoFixture) stage(t *testing.T, name string) int64 {
	t.Helper()
	var id int64
	testutil.Must(t, f.app.DB.Gorm.Model(&models.Stage{}).Where("workspace_id = ? AND name = ?", f.ws.ID, name).Pluck("id", &id).Error)
	if id == 0 {
		t.Fatalf("no stage %q", name)
	}
	return id
}

// automation creates one through the screen and returns its id.
func (f *autoFixture) automation(t *testing.T, form url.Values) int64 {
	t.Helper()
	res := f.c.PostForm("/settings/automations", form)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("create automation %q: %d %q", form.Get("name"), res.StatusCode, squash(res.Doc(t).Find(".field-error, .alert").Text()))
	}
	var id int64
	testutil.Must(t, f.app.DB.Gorm.Model(&models.Automation{}).Where("workspace_id = ? AND name = ?", f.ws.ID, form.Get("name")).Pluck("id", &id).Error)
	return id
}

// runs are the automations that ran, in the order they ran.
func (f *autoFixture) runs(t *testing.T) []string {
	t.Helper()
	var names []string
	testutil.Must(t, f.app.DB.Gorm.Raw(`SELECT a.name FROM automation_runs r JOIN automations a ON a.id = r.automation_id
		WHERE r.workspace_id = ? ORDER BY r.id`, f.ws.ID).Scan(&names).Error)
	return names
}

func (f *autoFixture) labels(t *testing.T, convID int64) []string {
	t.Helper()
	var names []string
	testutil.Must(t, f.app.DB.Gorm.Raw(`SELECT l.name FROM conversation_labels cl JOIN labels l ON l.id = cl.label_id
		WHERE cl.conversation_id = ? ORDER BY l.name`, convID).Scan(&names).Error)
	return names
}

// activity are the conversation's activity lines as the history shows them.
func (f *autoFixture) activity(t *testing.T, convID int64) string {
	t.Helper()
	return squash(f.c.Get(fmt.Sprintf("/conversations/%d", convID)).Doc(t).Find(".activity, [data-testid=activity]").Text())
}

func TestAutomationsScreen(t *testing.T) {
	t.Parallel()
	f := newAutoFixture(t)
	propuesta := f.stage(t, "Propuesta")

	res := f.c.Get("/settings/automations")
	wantStatus(t, res, http.StatusOK)
	if !strings.Contains(byTestID(t, res, "automations-empty").Text(), "Aún no hay automatizaciones") {
		t.Fatal("no empty state")
	}
	// Nothing chosen: each part of the sentence asks for itself.
	res = f.c.PostForm("/settings/automations", url.Values{"name": {""}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	for field, want := range map[string]string{"name": "Escribe un nombre", "trigger_kind": "Elige cuándo se ejecuta", "action_kind": "Elige qué hace"} {
		if got := fieldError(t, res, field); !strings.Contains(got, want) {
			t.Errorf("%s: %q, want %q", field, got, want)
		}
	}
	res = f.c.PostForm("/settings/automations", url.Values{"name": {"Seguimiento"}, "trigger_kind": {"lead_stage"}, "action_kind": {"create_task"},
		"action_task_kind": {"call"}, "action_due_amount": {"2"}, "action_due_unit": {"days"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if !strings.Contains(fieldError(t, res, "trigger_stage_id"), "Elige la etapa") || !strings.Contains(fieldError(t, res, "action_task_title"), "Escribe qué hay que hacer") {
		t.Fatalf("stage/title: %q / %q", fieldError(t, res, "trigger_stage_id"), fieldError(t, res, "action_task_title"))
	}

	id := f.automation(t, url.Values{"name": {"Propuesta: seguimiento"}, "trigger_kind": {"lead_stage"}, "trigger_stage_id": {itoa(propuesta)},
		"action_kind": {"create_task"}, "action_task_kind": {"call"}, "action_task_title": {"Llamar para cerrar"}, "action_due_amount": {"2"}, "action_due_unit": {"days"}})
	res = f.c.Get("/settings/automations")
	row := squash(byTestID(t, res, "automation-row").Text())
	if !strings.Contains(row, "Cuando una oportunidad entra en «Ventas · Propuesta», entonces crear la tarea «Llamar para cerrar» para el dueño de la oportunidad (vence en 2 días).") {
		t.Fatalf("row: %q", row)
	}
	// The edit form comes back as saved.
	res = f.c.Get("/settings/automations/" + itoa(id))
	doc := res.Doc(t)
	if v, _ := doc.Find(`select[name="action_due_unit"] option[selected]`).Attr("value"); v != "days" {
		t.Fatalf("due unit: %q", v)
	}
	if v, _ := doc.Find(`input[name="action_due_amount"]`).Attr("value"); v != "2" {
		t.Fatalf("due amount: %q", v)
	}
	wantStatus(t, f.c.PostForm("/settings/automations/"+itoa(id)+"/active", url.Values{"active": {"0"}}), http.StatusSeeOther)
	if !strings.Contains(byTestID(t, f.c.Get("/settings/automations"), "automation-row").Text(), "Pausada") {
		t.Fatal("pause not shown")
	}
	wantStatus(t, f.c.PostForm("/settings/automations/"+itoa(id)+"/active", url.Values{"active": {"1"}}), http.StatusSeeOther)
	wantStatus(t, f.c.PostForm("/settings/automations/"+itoa(id)+"/delete", url.Values{}), http.StatusSeeOther)
	var n int64
	f.app.DB.Gorm.Model(&models.Automation{}).Where("workspace_id = ?", f.ws.ID).Count(&n)
	if n != 0 {
		t.Fatal("not deleted")
	}
	for action, want := range map[string]int64{"automation.create": 1, "automation.update": 2, "automation.delete": 1} {
		if got := auditCount(t, f.app, f.ws, action); got != want {
			t.Errorf("%s: %d, want %d", action, got, want)
		}
	}
}

// Rule A (label X → add Y) and rule B (label Y → add X): what an automation does never
// triggers automations, so each fires once per person's change and nothing loops.
func TestAutomationsNeverLoop(t *testing.T) {
	t.Parallel()
	f := newAutoFixture(t)
	x, y := f.label(t, "VIP"), f.label(t, "Prioridad")
	f.automation(t, url.Values{"name": {"A"}, "trigger_kind": {"label_added"}, "trigger_label_id": {itoa(x.ID)}, "action_kind": {"add_label"}, "action_label_id": {itoa(y.ID)}})
	f.automation(t, url.Values{"name": {"B"}, "trigger_kind": {"label_added"}, "trigger_label_id": {itoa(y.ID)}, "action_kind": {"add_label"}, "action_label_id": {itoa(x.ID)}})
	// A rule cannot add the label that triggers it.
	res := f.c.PostForm("/settings/automations", url.Values{"name": {"C"}, "trigger_kind": {"label_added"}, "trigger_label_id": {itoa(x.ID)}, "action_kind": {"add_label"}, "action_label_id": {itoa(x.ID)}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if !strings.Contains(fieldError(t, res, "action_label_id"), "debe ser otra") {
		t.Fatalf("self label: %q", fieldError(t, res, "action_label_id"))
	}

	conv := f.app.Inbound(f.ch, "51911111111", "Pedro", "Hola")
	wantStatus(t, f.c.PostForm(fmt.Sprintf("/conversations/%d/labels", conv.ID), url.Values{"label_id": {itoa(x.ID)}}), http.StatusSeeOther)
	if got := strings.Join(f.labels(t, conv.ID), ","); got != "Prioridad,VIP" {
		t.Fatalf("labels: %s", got)
	}
	if got := strings.Join(f.runs(t), ","); got != "A" {
		t.Fatalf("runs after adding VIP: %s, want A only", got)
	}
	if act := f.activity(t, conv.ID); !strings.Contains(act, "Automatización «A»: etiqueta «Prioridad» añadida") {
		t.Fatalf("activity: %q", act)
	}
	// Labels changed without adding one (VIP removed): nothing fires.
	wantStatus(t, f.c.PostForm(fmt.Sprintf("/conversations/%d/labels", conv.ID), url.Values{"label_id": {itoa(y.ID)}}), http.StatusSeeOther)
	if got := strings.Join(f.runs(t), ","); got != "A" {
		t.Fatalf("runs after removing a label: %s", got)
	}
	// A person adds VIP again: A fires once more; B never ran from A's change.
	wantStatus(t, f.c.PostForm(fmt.Sprintf("/conversations/%d/labels", conv.ID), url.Values{"label_id": {itoa(y.ID), itoa(x.ID)}}), http.StatusSeeOther)
	if got := strings.Join(f.runs(t), ","); got != "A" {
		// Y was already there: A ran but found nothing to do, so it is recorded too.
		if got != "A,A" {
			t.Fatalf("runs: %s", got)
		}
	}
	// A second conversation: a person adds Prioridad → B fires once (adds VIP), A does not.
	conv2 := f.app.Inbound(f.ch, "51922222222", "Rosa", "Buenas")
	before := len(f.runs(t))
	wantStatus(t, f.c.PostForm(fmt.Sprintf("/conversations/%d/labels", conv2.ID), url.Values{"label_id": {itoa(y.ID)}}), http.StatusSeeOther)
	if got := f.runs(t)[before:]; strings.Join(got, ",") != "B" {
		t.Fatalf("runs on the second conversation: %v, want B once", got)
	}
	if got := strings.Join(f.labels(t, conv2.ID), ","); got != "Prioridad,VIP" {
		t.Fatalf("labels 2: %s", got)
	}
}

// On a close, the rules fire in their order, once each; a paused one does not.
func TestAutomationsFireInOrderOnceOnClose(t *testing.T) {
	t.Parallel()
	f := newAutoFixture(t)
	cerrada, nunca := f.label(t, "Atendida"), f.label(t, "Nunca")
	f.automation(t, url.Values{"name": {"Etiquetar"}, "trigger_kind": {"conversation_closed"}, "action_kind": {"add_label"}, "action_label_id": {itoa(cerrada.ID)}})
	f.automation(t, url.Values{"name": {"A Soporte"}, "trigger_kind": {"conversation_closed"}, "action_kind": {"assign"}, "action_team_id": {itoa(f.soporte.ID)}})
	paused := f.automation(t, url.Values{"name": {"Pausada"}, "trigger_kind": {"conversation_closed"}, "action_kind": {"add_label"}, "action_label_id": {itoa(nunca.ID)}})
	wantStatus(t, f.c.PostForm("/settings/automations/"+itoa(paused)+"/active", url.Values{"active": {"0"}}), http.StatusSeeOther)

	conv := f.app.Inbound(f.ch, "51911111111", "Pedro", "Hola")
	wantStatus(t, f.c.HTMX("POST", fmt.Sprintf("/conversations/%d/status", conv.ID), url.Values{"status": {"closed"}, "reason": {"Resuelto"}}), http.StatusOK)
	if got := strings.Join(f.runs(t), ","); got != "Etiquetar,A Soporte" {
		t.Fatalf("runs: %s", got)
	}
	c := f.app.Conversation(conv.ID)
	if c.Status != models.StatusClosed || c.TeamID == nil || *c.TeamID != f.soporte.ID {
		t.Fatalf("conversation after close: status %s team %v", c.Status, c.TeamID)
	}
	if got := strings.Join(f.labels(t, conv.ID), ","); got != "Atendida" {
		t.Fatalf("labels: %s", got)
	}
	act := f.activity(t, conv.ID)
	i, j := strings.Index(act, "Automatización «Etiquetar»: etiqueta «Atendida» añadida"), strings.Index(act, "Automatización «A Soporte»: asignada a Soporte")
	if i < 0 || j < 0 || i > j {
		t.Fatalf("activity lines in order: %q", act)
	}
	// Closing an already closed conversation is no event: nothing fires again.
	f.c.HTMX("POST", fmt.Sprintf("/conversations/%d/status", conv.ID), url.Values{"status": {"closed"}})
	if n := len(f.runs(t)); n != 2 {
		t.Fatalf("%d runs after a second close, want 2", n)
	}
	// The API closes like the board does.
	conv2 := f.app.Inbound(f.ch, "51922222222", "Rosa", "Buenas")
	if r := f.app.API(f.admin).Do("POST", fmt.Sprintf("/api/v1/conversations/%d/status", conv2.ID), `{"status":"closed"}`); r.StatusCode != 200 {
		t.Fatalf("API close: %d %s", r.StatusCode, r.Body)
	}
	if got := strings.Join(f.runs(t), ","); got != "Etiquetar,A Soporte,Etiquetar,A Soporte" {
		t.Fatalf("runs after the API close: %s", got)
	}
}

// A lead moved on the lead board or through the API fires the stage's rules; the
// automation's own move of the lead fires nothing.
func TestAutomationLeadStageTrigger(t *testing.T) {
	t.Parallel()
	f := newAutoFixture(t)
	propuesta, calificado := f.stage(t, "Propuesta"), f.stage(t, "Calificado")
	f.automation(t, url.Values{"name": {"Tarea de propuesta"}, "trigger_kind": {"lead_stage"}, "trigger_stage_id": {itoa(propuesta)},
		"action_kind": {"create_task"}, "action_task_kind": {"follow_up"}, "action_task_title": {"Enviar la propuesta"}, "action_due_amount": {"2"}, "action_due_unit": {"days"}})
	f.automation(t, url.Values{"name": {"Calificado a propuesta"}, "trigger_kind": {"lead_stage"}, "trigger_stage_id": {itoa(calificado)},
		"action_kind": {"move_lead"}, "action_stage_id": {itoa(propuesta)}})

	conv := f.app.Inbound(f.ch, "51911111111", "Pedro", "Quiero cotizar")
	api := f.app.API(f.ana)
	if r := api.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/take", conv.ID), ""); r.StatusCode != 200 {
		t.Fatalf("take: %d", r.StatusCode)
	}
	var lead apiLeadJSON
	decodeData(t, api.Do("POST", "/api/v1/leads", fmt.Sprintf(`{"conversation_id":%d,"title":"Licencias"}`, conv.ID)), &lead)

	// Ana drags it to Propuesta on the lead board.
	anaWeb := f.app.LoginAs(f.ana)
	start := time.Now()
	wantStatus(t, anaWeb.HTMX("POST", fmt.Sprintf("/leads/%d/stage", lead.ID), url.Values{"stage_id": {itoa(propuesta)}}), http.StatusOK)
	var tasks []models.Task
	testutil.Must(t, f.app.DB.Gorm.Where("workspace_id = ?", f.ws.ID).Find(&tasks).Error)
	if len(tasks) != 1 || tasks[0].Title != "Enviar la propuesta" || tasks[0].AssigneeID != f.ana.ID || tasks[0].LeadID == nil || *tasks[0].LeadID != lead.ID ||
		tasks[0].DueAt.Before(start.Add(47*time.Hour)) || tasks[0].DueAt.After(time.Now().Add(49*time.Hour)) {
		t.Fatalf("tasks: %+v", tasks)
	}
	if act := f.activity(t, conv.ID); !strings.Contains(act, "Automatización «Tarea de propuesta»: tarea «Enviar la propuesta» para Ana, vence en 2 días") {
		t.Fatalf("activity: %q", act)
	}

	// Through the API to Calificado: the second rule moves it on to Propuesta, and that
	// move (an automation's) does not create the task again.
	if r := api.Do("PATCH", fmt.Sprintf("/api/v1/leads/%d", lead.ID), `{"stage":"Calificado"}`); r.StatusCode != 200 {
		t.Fatalf("API move: %d %s", r.StatusCode, r.Body)
	}
	var stageID int64
	f.app.DB.Gorm.Model(&models.Lead{}).Where("id = ?", lead.ID).Pluck("stage_id", &stageID)
	if stageID != propuesta {
		t.Fatalf("lead in stage %d, want Propuesta (%d)", stageID, propuesta)
	}
	var n int64
	f.app.DB.Gorm.Model(&models.Task{}).Where("workspace_id = ?", f.ws.ID).Count(&n)
	if n != 1 {
		t.Fatalf("%d tasks: the automation's own move triggered automations", n)
	}
	if got := strings.Join(f.runs(t), ","); got != "Tarea de propuesta,Calificado a propuesta" {
		t.Fatalf("runs: %s", got)
	}
}

// Only approved templates may be chosen; a template that stops being approved is not
// sent, and the run says why. Parameters come from the contact and the lead.
func TestAutomationTemplateOnlyApproved(t *testing.T) {
	t.Parallel()
	f := newAutoFixture(t)
	ok := models.Template{WorkspaceID: f.ws.ID, Name: "gracias_compra", Language: "es", Category: "utility", Status: "approved",
		Body: "Hola {{1}}, gracias por tu compra de {{2}}.", WabaID: f.ch.WabaID}
	pending := models.Template{WorkspaceID: f.ws.ID, Name: "promo", Language: "es", Category: "marketing", Status: "pending", Body: "Oferta para {{1}}", WabaID: f.ch.WabaID}
	testutil.Must(t, f.app.DB.Gorm.Create(&ok).Error)
	testutil.Must(t, f.app.DB.Gorm.Create(&pending).Error)
	ganado := f.stage(t, "Ganado")

	// The form offers only the approved one; posting the pending one is refused.
	res := f.c.Get("/settings/automations")
	if opts := res.Doc(t).Find(`select[name="action_template_id"] option`).Text(); !strings.Contains(opts, "gracias_compra") || strings.Contains(opts, "promo") {
		t.Fatalf("offered templates: %q", opts)
	}
	res = f.c.PostForm("/settings/automations", url.Values{"name": {"Promo"}, "trigger_kind": {"lead_stage"}, "trigger_stage_id": {itoa(ganado)},
		"action_kind": {"send_template"}, "action_template_id": {itoa(pending.ID)}, "param_" + itoa(pending.ID) + "_1": {"{{nombre}}"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if !strings.Contains(fieldError(t, res, "action_template_id"), "no está aprobada") {
		t.Fatalf("pending template: %q", fieldError(t, res, "action_template_id"))
	}
	// Every variable needs a value.
	res = f.c.PostForm("/settings/automations", url.Values{"name": {"Gracias"}, "trigger_kind": {"lead_stage"}, "trigger_stage_id": {itoa(ganado)},
		"action_kind": {"send_template"}, "action_template_id": {itoa(ok.ID)}, "param_" + itoa(ok.ID) + "_1": {"{{nombre}}"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if !strings.Contains(fieldError(t, res, "action_params"), "{{2}}") {
		t.Fatalf("missing value: %q", fieldError(t, res, "action_params"))
	}
	f.automation(t, url.Values{"name": {"Gracias"}, "trigger_kind": {"lead_stage"}, "trigger_stage_id": {itoa(ganado)},
		"action_kind": {"send_template"}, "action_template_id": {itoa(ok.ID)}, "param_" + itoa(ok.ID) + "_1": {"{{nombre}}"}, "param_" + itoa(ok.ID) + "_2": {"{{lead.titulo}} ({{lead.valor}})"}})

	conv := f.app.Inbound(f.ch, "51911111111", "Pedro Quispe", "Hola")
	api := f.app.API(f.admin)
	var lead apiLeadJSON
	decodeData(t, api.Do("POST", "/api/v1/leads", fmt.Sprintf(`{"conversation_id":%d,"title":"Licencias 2027","value":1234.5,"currency":"USD"}`, conv.ID)), &lead)
	if r := api.Do("PATCH", fmt.Sprintf("/api/v1/leads/%d", lead.ID), `{"stage":"Ganado"}`); r.StatusCode != 200 {
		t.Fatalf("move: %d %s", r.StatusCode, r.Body)
	}
	var msgs []models.Message
	testutil.Must(t, f.app.DB.Gorm.Where("conversation_id = ? AND kind = ?", conv.ID, models.KindTemplate).Find(&msgs).Error)
	if len(msgs) != 1 || msgs[0].Body != "Hola Pedro Quispe, gracias por tu compra de Licencias 2027 (1.234,50 USD)." || !msgs[0].Automatic || msgs[0].SenderType != models.SenderSystem {
		t.Fatalf("template messages: %+v", msgs)
	}
	var queued int64
	f.app.DB.Gorm.Model(&models.Outbox{}).Where("message_id = ?", msgs[0].ID).Count(&queued)
	if queued != 1 {
		t.Fatal("the template was not queued in the outbox")
	}

	// Meta pauses the template: the next run sends nothing and says why.
	testutil.Must(t, f.app.DB.Gorm.Model(&ok).Update("status", "paused").Error)
	conv2 := f.app.Inbound(f.ch, "51922222222", "Rosa", "Hola")
	var lead2 apiLeadJSON
	decodeData(t, api.Do("POST", "/api/v1/leads", fmt.Sprintf(`{"conversation_id":%d,"title":"Soporte anual"}`, conv2.ID)), &lead2)
	if r := api.Do("PATCH", fmt.Sprintf("/api/v1/leads/%d", lead2.ID), `{"stage":"Ganado"}`); r.StatusCode != 200 {
		t.Fatalf("move 2: %d %s", r.StatusCode, r.Body)
	}
	var n int64
	f.app.DB.Gorm.Model(&models.Message{}).Where("conversation_id = ? AND kind = ?", conv2.ID, models.KindTemplate).Count(&n)
	if n != 0 {
		t.Fatal("a paused template was sent")
	}
	var run models.AutomationRun
	testutil.Must(t, f.app.DB.Gorm.Where("lead_id = ?", lead2.ID).First(&run).Error)
	if run.OK || !strings.Contains(run.Outcome, "no está aprobada") {
		t.Fatalf("run: %+v", run)
	}
	if act := f.activity(t, conv2.ID); !strings.Contains(act, "Automatización «Gracias»: no se pudo: esta plantilla no está aprobada") {
		t.Fatalf("activity: %q", act)
	}
}
