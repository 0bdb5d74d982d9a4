package web_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

// rulesInOrder are the workspace's routing rules' names in the order routing tries
// them (position, id) — the order the routing engine reads.
func rulesInOrder(t *testing.T, app *testutil.App, ws models.Workspace) []string {
	t.Helper()
	var names []string
	testutil.Must(t, app.DB.Gorm.Model(&models.RoutingRule{}).Where("workspace_id = ?", ws.ID).Order("position, id").Pluck("name", &names).Error)
	return names
}

// auditCount counts the workspace's audit events of action.
func auditCount(t *testing.T, app *testutil.App, ws models.Workspace, action string) int64 {
	t.Helper()
	var n int64
	testutil.Must(t, app.DB.Gorm.Model(&models.AuditEvent{}).Where("workspace_id = ? AND action = ?", ws.ID, action).Count(&n).Error)
	return n
}

// fieldError is the Spanish message shown under a field (testid error-<field>).
func fieldError(t *testing.T, res testutil.Response, field string) string {
	t.Helper()
	return squash(byTestID(t, res, "error-"+field).Text())
}

func ruleForm(name, kind string, team models.Team, extra ...string) url.Values {
	f := url.Values{"name": {name}, "kind": {kind}}
	if team.ID != 0 {
		f.Set("team_id", itoa(team.ID))
	}
	for i := 0; i+1 < len(extra); i += 2 {
		f.Set(extra[i], extra[i+1])
	}
	return f
}

func ruleID(t *testing.T, app *testutil.App, ws models.Workspace, name string) int64 {
	t.Helper()
	var id int64
	testutil.Must(t, app.DB.Gorm.Model(&models.RoutingRule{}).Where("workspace_id = ? AND name = ?", ws.ID, name).Pluck("id", &id).Error)
	if id == 0 {
		t.Fatalf("no rule %q", name)
	}
	return id
}

func TestRoutingSetupIsForAdminsOnly(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	ventas := app.Team(ws, "Ventas")
	ch := app.Channel(ws, "Principal")
	admin := newUser(t, app, ws, "ana@acme.pe", models.RoleAdmin)
	a := app.LoginAs(admin)
	wantStatus(t, a.PostForm("/settings/routing", ruleForm("Todo a Ventas", models.RuleDefault, ventas)), http.StatusSeeOther)
	id := itoa(ruleID(t, app, ws, "Todo a Ventas"))

	pages := []string{"/settings/routing", "/settings/routing/" + id, "/settings/channels/" + itoa(ch.ID) + "/menu",
		"/settings/calendars", "/settings/automations"}
	posts := map[string]url.Values{
		"/settings/routing":                           ruleForm("Otra", models.RuleCountry, ventas, "country", "MX"),
		"/settings/routing/" + id:                     ruleForm("Cambiada", models.RuleDefault, ventas),
		"/settings/routing/" + id + "/delete":         {},
		"/settings/routing/order":                     {"ids": {id}},
		"/settings/channels/" + itoa(ch.ID) + "/menu": {"text": {"Hola"}, "key_0": {"1"}, "title_0": {"Ventas"}, "team_0": {itoa(ventas.ID)}},
		"/settings/calendars":                         {"name": {"Lima"}, "timezone": {"America/Lima"}, "day_mon": {"09:00-18:00"}},
		"/settings/automations":                       {"name": {"X"}, "trigger_kind": {models.TriggerConversationClosed}, "action_kind": {models.ActionAssign}, "action_team_id": {itoa(ventas.ID)}},
	}
	for _, role := range []string{models.RoleSupervisor, models.RoleAgent} {
		u := newUser(t, app, ws, role+"@acme.pe", role, ventas)
		c := app.LoginAs(u)
		for _, p := range pages {
			wantStatus(t, c.Get(p), http.StatusForbidden)
		}
		for p, f := range posts {
			wantStatus(t, c.PostForm(p, f), http.StatusForbidden)
		}
		// The settings menu does not offer them either.
		res := c.Get("/settings/tokens")
		for _, tab := range []string{"routing", "calendars", "automations"} {
			if byTestID(t, res, "settings-tab-"+tab).Length() != 0 {
				t.Errorf("%s sees the %s tab", role, tab)
			}
		}
	}
	if got := rulesInOrder(t, app, ws); len(got) != 1 || got[0] != "Todo a Ventas" {
		t.Fatalf("rules changed by non-admins: %v", got)
	}
	var n int64
	app.DB.Gorm.Model(&models.Calendar{}).Count(&n)
	if n != 0 {
		t.Fatal("a non-admin created a calendar")
	}
}

func TestRoutingRulesCreateValidateReorder(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	ventas, soporte := app.Team(ws, "Ventas"), app.Team(ws, "Soporte")
	admin := newUser(t, app, ws, "ana@acme.pe", models.RoleAdmin)
	c := app.LoginAs(admin)

	// The empty list says what to do first.
	res := c.Get("/settings/routing")
	wantStatus(t, res, http.StatusOK)
	if !strings.Contains(byTestID(t, res, "rules-empty").Text(), "Predeterminada") {
		t.Fatalf("empty state: %q", squash(byTestID(t, res, "rules-empty").Text()))
	}

	// Validation, in Spanish, field by field.
	res = c.PostForm("/settings/routing", ruleForm("", models.RuleCountry, models.Team{}))
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if got := fieldError(t, res, "team_id"); got != "Elige un equipo" {
		t.Fatalf("no team: %q", got)
	}
	if fieldError(t, res, "name") == "" || !strings.Contains(fieldError(t, res, "country"), "Elige un país") {
		t.Fatalf("missing name/country messages: %q / %q", fieldError(t, res, "name"), fieldError(t, res, "country"))
	}
	res = c.PostForm("/settings/routing", ruleForm("Precios", models.RuleKeywords, ventas, "keywords", " , ,"))
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if !strings.Contains(fieldError(t, res, "keywords"), "al menos una palabra clave") {
		t.Fatalf("keywords: %q", fieldError(t, res, "keywords"))
	}

	wantStatus(t, c.PostForm("/settings/routing", ruleForm("Resto a Soporte", models.RuleDefault, soporte)), http.StatusSeeOther)
	// Only one default rule.
	res = c.PostForm("/settings/routing", ruleForm("Otra predeterminada", models.RuleDefault, ventas))
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if got := fieldError(t, res, "kind"); !strings.Contains(got, "Solo puede haber una regla predeterminada") || !strings.Contains(got, "«Resto a Soporte»") {
		t.Fatalf("second default: %q", got)
	}
	wantStatus(t, c.PostForm("/settings/routing", ruleForm("México a Ventas", models.RuleCountry, ventas, "country", "MX", "priority", "high")), http.StatusSeeOther)
	wantStatus(t, c.PostForm("/settings/routing", ruleForm("Precios a Ventas", models.RuleKeywords, ventas, "keywords", "precio, Cotización, precio")), http.StatusSeeOther)
	if got := strings.Join(rulesInOrder(t, app, ws), " | "); got != "Resto a Soporte | México a Ventas | Precios a Ventas" {
		t.Fatalf("new rules go last: %s", got)
	}

	// The list shows each rule's condition and team, in order.
	res = c.Get("/settings/routing")
	rows := byTestID(t, res, "rule-row")
	if rows.Length() != 3 || !strings.Contains(squash(rows.Eq(1).Text()), "México (MX)") || !strings.Contains(rows.Eq(1).Text(), "Ventas") ||
		!strings.Contains(squash(rows.Eq(2).Text()), "precio, Cotización") || !strings.Contains(rows.Eq(1).Text(), "Prioridad alta") {
		t.Fatalf("rule rows: %q", squash(rows.Text()))
	}

	// The drag posts the new order (htmx): saved at once, the list comes back renumbered.
	def, mx, kw := ruleID(t, app, ws, "Resto a Soporte"), ruleID(t, app, ws, "México a Ventas"), ruleID(t, app, ws, "Precios a Ventas")
	res = c.HTMX("POST", "/settings/routing/order", url.Values{"ids": {itoa(kw), itoa(mx), itoa(def)}, "_csrf": {c.CSRF}})
	wantStatus(t, res, http.StatusOK)
	if got := strings.Join(rulesInOrder(t, app, ws), " | "); got != "Precios a Ventas | México a Ventas | Resto a Soporte" {
		t.Fatalf("after the drag: %s", got)
	}
	if first := squash(byTestID(t, res, "rule-row").First().Find(`[data-testid="rule-name"]`).Text()); first != "Precios a Ventas" {
		t.Fatalf("fragment after the drag starts with %q", first)
	}
	var toast map[string]map[string]string
	if err := json.Unmarshal([]byte(res.Header.Get("HX-Trigger")), &toast); err != nil || toast["atiende:toast"]["value"] != "Orden guardado" {
		t.Fatalf("no toast: %q", res.Header.Get("HX-Trigger"))
	}
	// An order that does not name every rule (another admin added one meanwhile) is refused.
	res = c.HTMX("POST", "/settings/routing/order", url.Values{"ids": {itoa(mx), itoa(kw)}, "_csrf": {c.CSRF}})
	wantStatus(t, res, http.StatusConflict)
	if got := strings.Join(rulesInOrder(t, app, ws), " | "); got != "Precios a Ventas | México a Ventas | Resto a Soporte" {
		t.Fatalf("a refused order changed it: %s", got)
	}
	// ↑ (the keyboard's way) moves one rule a place up.
	wantStatus(t, c.PostForm("/settings/routing/"+itoa(def)+"/move?dir=up", url.Values{}), http.StatusSeeOther)
	if got := strings.Join(rulesInOrder(t, app, ws), " | "); got != "Precios a Ventas | Resto a Soporte | México a Ventas" {
		t.Fatalf("after ↑: %s", got)
	}

	// Edit, pause and delete.
	res = c.Get("/settings/routing/" + itoa(mx))
	wantStatus(t, res, http.StatusOK)
	if v, _ := byTestID(t, res, "rule-form").Find(`select[name="country"] option[selected]`).Attr("value"); v != "MX" {
		t.Fatalf("edit form country: %q", v)
	}
	wantStatus(t, c.PostForm("/settings/routing/"+itoa(mx), ruleForm("Perú a Soporte", models.RuleCountry, soporte, "country", "PE")), http.StatusSeeOther)
	res = c.HTMX("POST", "/settings/routing/"+itoa(mx)+"/active", url.Values{"_csrf": {c.CSRF}})
	wantStatus(t, res, http.StatusOK)
	var r models.RoutingRule
	testutil.Must(t, app.DB.Gorm.First(&r, mx).Error)
	if r.Active || r.Name != "Perú a Soporte" || string(r.Cond) != `{"country": "PE"}` || *r.TeamID != soporte.ID {
		t.Fatalf("edited and paused: %+v cond %s", r, r.Cond)
	}
	if !strings.Contains(byTestID(t, res, "rule-row").Eq(2).Text(), "Pausada") {
		t.Fatalf("paused rule not marked: %q", squash(res.Body))
	}
	wantStatus(t, c.PostForm("/settings/routing/"+itoa(kw)+"/delete", url.Values{}), http.StatusSeeOther)
	if got := strings.Join(rulesInOrder(t, app, ws), " | "); got != "Resto a Soporte | Perú a Soporte" {
		t.Fatalf("after delete: %s", got)
	}

	// Every change is in the audit log.
	for action, want := range map[string]int64{"routing.rule_create": 3, "routing.rule_update": 2, "routing.rule_reorder": 2, "routing.rule_delete": 1} {
		if got := auditCount(t, app, ws, action); got != want {
			t.Errorf("%s: %d audit events, want %d", action, got, want)
		}
	}
	// Another workspace's rule is not found.
	other := app.Workspace("Otra")
	otherAdmin := newUser(t, app, other, "admin@otra.pe", models.RoleAdmin)
	wantStatus(t, app.LoginAs(otherAdmin).Get("/settings/routing/"+itoa(def)), http.StatusNotFound)
}

func TestWelcomeMenuWithPreview(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	ventas, soporte := app.Team(ws, "Ventas"), app.Team(ws, "Soporte")
	ch := app.Channel(ws, "Principal")
	c := app.LoginAs(newUser(t, app, ws, "ana@acme.pe", models.RoleAdmin))
	path := "/settings/channels/" + itoa(ch.ID) + "/menu"

	res := c.Get(path)
	wantStatus(t, res, http.StatusOK)
	if n := byTestID(t, res, "menu-option").Length(); n != 10 {
		t.Fatalf("%d option rows, want 10", n)
	}

	// A title longer than WhatsApp shows even as a list row's description, a repeated
	// key, no team: each said in Spanish.
	res = c.PostForm(path, url.Values{"text": {"Hola 👋 ¿Con quién quieres hablar?"}, "active": {"1"},
		"key_0": {"1"}, "title_0": {strings.Repeat("Ventas y nuevos servicios ", 3)}, "team_0": {itoa(ventas.ID)},
		"key_1": {"1"}, "title_1": {"Soporte"}, "team_1": {itoa(soporte.ID)},
		"key_2": {"3"}, "title_2": {"Cobranzas"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if got := squash(byTestID(t, res, "error-option_0").Text()); !strings.Contains(got, "hasta 72 caracteres") {
		t.Fatalf("long title: %q", got)
	}
	if got := squash(byTestID(t, res, "error-option_1").Text()); !strings.Contains(got, "se repite") {
		t.Fatalf("repeated key: %q", got)
	}
	if got := squash(byTestID(t, res, "error-option_2").Text()); !strings.Contains(got, "Elige un equipo") {
		t.Fatalf("no team: %q", got)
	}

	// Two options: WhatsApp shows buttons.
	res = c.PostForm(path, url.Values{"text": {"Hola 👋"}, "active": {"1"},
		"key_0": {"1"}, "title_0": {"Ventas y cotizaciones"}, "team_0": {itoa(ventas.ID)},
		"key_1": {"2"}, "title_1": {"Soporte técnico"}, "team_1": {itoa(soporte.ID)}})
	wantStatus(t, res, http.StatusSeeOther)
	res = c.Get(path)
	if n := byTestID(t, res, "preview-button").Length(); n != 2 {
		t.Fatalf("%d preview buttons, want 2", n)
	}
	if _, hidden := byTestID(t, res, "menu-preview").Find("[data-preview-list]").Attr("hidden"); !hidden {
		t.Fatal("the list shows with 2 options")
	}
	// Five options: a "Ver opciones" list with five rows. A title longer than a row
	// (the issue's own example, 25 characters) is taken: the row shows it shortened
	// and whole underneath, as WhatsApp will.
	f := url.Values{"text": {"Hola 👋"}, "active": {"1"}}
	for i, title := range []string{"Ventas y nuevos servicios", "Soporte", "Cobranzas", "Facturas", "Otros"} {
		f.Set("key_"+itoa(int64(i)), itoa(int64(i+1)))
		f.Set("title_"+itoa(int64(i)), title)
		f.Set("team_"+itoa(int64(i)), itoa(ventas.ID))
	}
	if res := c.PostForm(path, f); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("five options: %d %q", res.StatusCode, squash(res.Doc(t).Find(".field-error, .alert").Text()))
	}
	res = c.Get(path)
	if _, hidden := byTestID(t, res, "menu-preview").Find("[data-preview-list]").Attr("hidden"); hidden || byTestID(t, res, "preview-row").Length() != 5 ||
		!strings.Contains(byTestID(t, res, "preview-list").Text(), "Ver opciones") {
		t.Fatalf("list preview: %q", squash(byTestID(t, res, "menu-preview").Text()))
	}
	if got := squash(byTestID(t, res, "preview-row").First().Text()); got != "Ventas y nuevos… Ventas y nuevos servicios" {
		t.Fatalf("long title's row: %q", got)
	}
	if got := squash(byTestID(t, res, "menu-option").First().Find("[data-menu-count]").Text()); got != "25/24" {
		t.Fatalf("long title's counter: %q", got)
	}
	var m models.ChannelMenu
	testutil.Must(t, app.DB.Gorm.Where("channel_id = ?", ch.ID).First(&m).Error)
	var opts []models.MenuOption
	testutil.Must(t, json.Unmarshal(m.Options, &opts))
	if len(opts) != 5 || opts[0].Title != "Ventas y nuevos servicios" || opts[2].Title != "Cobranzas" || opts[2].Key != "3" || *opts[2].TeamID != ventas.ID || !m.Active {
		t.Fatalf("stored menu: %+v", opts)
	}
	// The routing page lists the channel with its menu.
	if got := squash(byTestID(t, c.Get("/settings/routing"), "menu-channel").Text()); !strings.Contains(got, "Menú activo · 5 opciones") {
		t.Fatalf("menus section: %q", got)
	}
	if got := auditCount(t, app, ws, "routing.menu_update"); got != 2 {
		t.Fatalf("%d menu audit events, want 2", got)
	}
}

func TestCalendarsWithSplitHoursHolidaysAndPreview(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	ventas := app.Team(ws, "Ventas")
	c := app.LoginAs(newUser(t, app, ws, "ana@acme.pe", models.RoleAdmin))

	form := url.Values{"name": {"Oficina Lima"}, "timezone": {"America/Lima"}, "holidays": {"2026-12-25\n2027-01-01"}}
	for _, d := range []string{"mon", "tue", "wed", "thu", "fri"} {
		form.Set("day_"+d, "09:00-13:00, 14:00-18:00")
	}
	form.Set("day_sat", "9:00 - 12:30")

	// Mistakes are said per day, in Spanish.
	bad := url.Values{"name": {"Mal"}, "timezone": {"America/Lima"}, "day_mon": {"09:00-13:00, 12:00-18:00"}, "day_tue": {"18:00-09:00"}, "day_wed": {"nueve a cinco"}, "holidays": {"25/12/2026"}}
	res := c.PostForm("/settings/calendars", bad)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	for field, want := range map[string]string{"day_mon": "se superponen", "day_tue": "termina antes de empezar", "day_wed": "no es una hora válida", "holidays": "AAAA-MM-DD"} {
		if got := fieldError(t, res, field); !strings.Contains(got, want) {
			t.Errorf("%s: %q, want %q", field, got, want)
		}
	}

	// The live preview names the next three openings in Spanish.
	res = c.HTMX("POST", "/settings/calendars/preview", form)
	wantStatus(t, res, http.StatusOK)
	opens := byTestID(t, res, "calendar-opening")
	if opens.Length() != 3 || !strings.Contains(opens.First().Text(), " a las ") {
		t.Fatalf("preview: %q", squash(res.Body))
	}
	for _, s := range opens.Nodes {
		text := s.FirstChild.Data
		if !strings.HasSuffix(text, "9:00") && !strings.HasSuffix(text, "14:00") {
			t.Errorf("an opening that is not the start of an interval: %q", text)
		}
	}

	wantStatus(t, c.PostForm("/settings/calendars", form), http.StatusSeeOther)
	var k models.Calendar
	testutil.Must(t, app.DB.Gorm.Where("workspace_id = ? AND name = ?", ws.ID, "Oficina Lima").First(&k).Error)
	if !strings.Contains(string(k.Hours), `"mon": [["09:00", "13:00"], ["14:00", "18:00"]]`) || !strings.Contains(string(k.Hours), `"sat": [["09:00", "12:30"]]`) ||
		string(k.Holidays) != `["2026-12-25", "2027-01-01"]` || k.Timezone != "America/Lima" {
		t.Fatalf("stored: %s %s", k.Hours, k.Holidays)
	}
	// A duplicate name is refused.
	res = c.PostForm("/settings/calendars", form)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if !strings.Contains(fieldError(t, res, "name"), "Ya hay un horario") {
		t.Fatalf("duplicate: %q", fieldError(t, res, "name"))
	}
	res = c.Get("/settings/calendars")
	if got := squash(byTestID(t, res, "calendar-row").Text()); !strings.Contains(got, "Lun–Vie 09:00–13:00, 14:00–18:00") || !strings.Contains(got, "2 feriados") {
		t.Fatalf("list: %q", got)
	}
	// Edit it back in the same words; a team uses it.
	res = c.Get("/settings/calendars/" + itoa(k.ID))
	if v, _ := res.Doc(t).Find(`input[name="day_mon"]`).Attr("value"); v != "09:00–13:00, 14:00–18:00" {
		t.Fatalf("edit form monday: %q", v)
	}
	tf := url.Values{"name": {"Ventas"}, "color": {"#2563eb"}, "routing_mode": {"round_robin"}, "sticky": {"1"}, "offline_grace": {"10"}, "calendar_id": {itoa(k.ID)}}
	wantStatus(t, c.PostForm("/settings/teams/"+itoa(ventas.ID), tf), http.StatusSeeOther)
	if got := squash(byTestID(t, c.Get("/settings/calendars"), "calendar-row").Text()); !strings.Contains(got, "1 equipo") {
		t.Fatalf("usage: %q", got)
	}
	wantStatus(t, c.PostForm("/settings/calendars/"+itoa(k.ID)+"/delete", url.Values{}), http.StatusSeeOther)
	var team models.Team
	testutil.Must(t, app.DB.Gorm.First(&team, ventas.ID).Error)
	if team.CalendarID != nil {
		t.Fatal("the team still names a deleted calendar")
	}
	for action, want := range map[string]int64{"calendar.create": 1, "calendar.delete": 1} {
		if got := auditCount(t, app, ws, action); got != want {
			t.Errorf("%s: %d, want %d", action, got, want)
		}
	}
}

func TestTeamRoutingSettingsAndAgentSchedule(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	ventas := app.Team(ws, "Ventas")
	admin := newUser(t, app, ws, "ana@acme.pe", models.RoleAdmin)
	luis := newUser(t, app, ws, "luis@acme.pe", models.RoleAgent, ventas)
	c := app.LoginAs(admin)
	k := models.Calendar{WorkspaceID: ws.ID, Name: "Lima", Timezone: "America/Lima", Hours: models.JSON(`{"mon":[["09:00","18:00"]]}`), Holidays: models.JSON(`[]`)}
	testutil.Must(t, app.DB.Gorm.Create(&k).Error)
	pol := models.SLAPolicy{WorkspaceID: ws.ID, Name: "Estándar", WarningPercent: 80}
	testutil.Must(t, app.DB.Gorm.Create(&pol).Error)

	res := c.Get("/settings/teams/" + itoa(ventas.ID))
	wantStatus(t, res, http.StatusOK)
	doc := res.Doc(t)
	for _, want := range []string{"Turno rotativo", "Menos ocupado", "Solo manual", "Devolver al mismo agente", "{proxima_apertura}", "Estándar", "Lima"} {
		if !strings.Contains(doc.Text(), want) {
			t.Errorf("team form lacks %q", want)
		}
	}

	bad := url.Values{"name": {"Ventas"}, "color": {"#2563eb"}, "routing_mode": {"least_busy"}, "offline_grace": {"-5"}, "unanswered_limit": {"quince"}}
	res = c.PostForm("/settings/teams/"+itoa(ventas.ID), bad)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if !strings.Contains(fieldError(t, res, "offline_grace"), "0 a 1440 minutos") || !strings.Contains(fieldError(t, res, "unanswered_limit"), "déjalo vacío") {
		t.Fatalf("messages: %q / %q", fieldError(t, res, "offline_grace"), fieldError(t, res, "unanswered_limit"))
	}

	good := url.Values{"name": {"Ventas"}, "color": {"#2563eb"}, "routing_mode": {"least_busy"}, "offline_grace": {"5"}, "unanswered_limit": {"15"},
		"calendar_id": {itoa(k.ID)}, "sla_policy_id": {itoa(pol.ID)}, "away_message": {"Volvemos el {proxima_apertura}."}}
	wantStatus(t, c.PostForm("/settings/teams/"+itoa(ventas.ID), good), http.StatusSeeOther)
	var team models.Team
	testutil.Must(t, app.DB.Gorm.First(&team, ventas.ID).Error)
	if team.RoutingMode != models.RoutingLeastBusy || team.Sticky || team.OfflineGraceSeconds != 300 || team.UnansweredLimitSeconds == nil ||
		*team.UnansweredLimitSeconds != 900 || team.CalendarID == nil || *team.CalendarID != k.ID || team.SLAPolicyID == nil ||
		*team.SLAPolicyID != pol.ID || team.AwayMessage != "Volvemos el {proxima_apertura}." {
		t.Fatalf("team: %+v", team)
	}
	// A new team is sticky with 10 minutes of grace unless the admin says otherwise.
	wantStatus(t, c.PostForm("/settings/teams", url.Values{"name": {"Soporte"}, "color": {"#16a34a"}, "routing_mode": {"round_robin"}, "sticky": {"1"}, "offline_grace": {"10"}}), http.StatusSeeOther)
	var soporte models.Team
	testutil.Must(t, app.DB.Gorm.Where("workspace_id = ? AND name = ?", ws.ID, "Soporte").First(&soporte).Error)
	if !soporte.Sticky || soporte.OfflineGraceSeconds != 600 || soporte.UnansweredLimitSeconds != nil {
		t.Fatalf("new team: %+v", soporte)
	}

	// An agent's capacity and working schedule.
	uf := userForm("Luis", "luis@acme.pe", models.RoleAgent, ventas)
	uf.Del("password")
	uf.Set("max_concurrent", "4")
	uf.Set("schedule_calendar_id", itoa(k.ID))
	wantStatus(t, c.PostForm("/settings/users/"+itoa(luis.ID), uf), http.StatusSeeOther)
	u, _ := loadUser(t, app, luis.ID)
	if u.MaxConcurrent != 4 || u.ScheduleCalendarID == nil || *u.ScheduleCalendarID != k.ID {
		t.Fatalf("agent: capacity %d schedule %v", u.MaxConcurrent, u.ScheduleCalendarID)
	}
	if v, _ := byTestID(t, c.Get("/settings/users/"+itoa(luis.ID)), "user-schedule").Find("option[selected]").Attr("value"); v != itoa(k.ID) {
		t.Fatalf("schedule not shown selected: %q", v)
	}
	// Another workspace's calendar is refused.
	other := models.Calendar{WorkspaceID: app.Workspace("Otra").ID, Name: "Ajeno", Timezone: "UTC", Hours: models.JSON(`{}`), Holidays: models.JSON(`[]`)}
	testutil.Must(t, app.DB.Gorm.Create(&other).Error)
	uf.Set("schedule_calendar_id", itoa(other.ID))
	res = c.PostForm("/settings/users/"+itoa(luis.ID), uf)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if !strings.Contains(fieldError(t, res, "schedule_calendar_id"), "Ese horario no existe") {
		t.Fatalf("foreign calendar: %q", fieldError(t, res, "schedule_calendar_id"))
	}
	if got := auditCount(t, app, ws, "team.update"); got != 1 {
		t.Fatalf("%d team audit events, want 1", got)
	}
}
