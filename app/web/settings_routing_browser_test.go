package web_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

// routingOrderFixture is a workspace with two routing rules that both match a new chat
// from Peru on the Principal channel: "Principal a Ventas" (channel) first, then
// "Perú a Soporte" (country). Which team the chat gets depends only on their order.
type routingOrderFixture struct {
	app             *testutil.App
	ws              models.Workspace
	ch              models.Channel
	ventas, soporte models.Team
	admin           models.User
	chats           int
}

func newRoutingOrderFixture(t *testing.T) *routingOrderFixture {
	t.Helper()
	app := testutil.NewApp(t)
	f := &routingOrderFixture{app: app, ws: app.Workspace("Acme")}
	f.ventas, f.soporte = app.Team(f.ws, "Ventas"), app.Team(f.ws, "Soporte")
	f.ch = app.Channel(f.ws, "Principal")
	f.admin = newUser(t, app, f.ws, "admin@acme.pe", models.RoleAdmin)
	c := app.LoginAs(f.admin)
	wantStatus(t, c.PostForm("/settings/routing", ruleForm("Principal a Ventas", models.RuleChannel, f.ventas, "channel_id", itoa(f.ch.ID))), 303)
	wantStatus(t, c.PostForm("/settings/routing", ruleForm("Perú a Soporte", models.RuleCountry, f.soporte, "country", "PE")), 303)
	return f
}

// nextChatTeam sends a first message from a new Peruvian customer on Principal and
// returns the name of the team the conversation ended in ("" when none): with routing,
// it is the team of the first rule in the order.
func (f *routingOrderFixture) nextChatTeam(t *testing.T) string {
	t.Helper()
	f.chats++
	conv := f.app.Inbound(f.ch, "5199900000"+itoa(int64(f.chats)), "Cliente "+itoa(int64(f.chats)), "Hola, quiero información")
	if conv.TeamID == nil {
		return ""
	}
	var name string
	testutil.Must(t, f.app.DB.Gorm.Model(&models.Team{}).Where("id = ?", *conv.TeamID).Pluck("name", &name).Error)
	return name
}

// ruleNamesOnScreen are the rule names as the open page lists them, top to bottom.
func ruleNamesOnScreen(t *testing.T, ctx context.Context) string {
	t.Helper()
	names, err := chromedp.Run(ctx, chromedp.Evaluate[string](`Array.from(document.querySelectorAll('[data-testid="rule-name"]')).map(e => e.textContent.trim()).join(" | ")`))
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// TestBrowserAdminReordersRulesByDrag: an admin drags the second rule above the first
// on /settings/routing; the order is saved at once (no button) and is still there
// after a reload, in the order routing reads the rules (position, id).
func TestBrowserAdminReordersRulesByDrag(t *testing.T) {
	t.Parallel()
	f := newRoutingOrderFixture(t)
	ctx := testutil.NewBrowser(t)
	do(t, ctx,
		chromedp.EmulateViewport(1366, 900),
		chromedp.Navigate(f.app.URL+"/login?next=/settings/routing"),
		signIn(f.admin.Email, testutil.Password),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="rules-list"]`)),
	)
	if got := ruleNamesOnScreen(t, ctx); got != "Principal a Ventas | Perú a Soporte" {
		t.Fatalf("before: %s", got)
	}
	if got := f.nextChatTeam(t); got != "Ventas" {
		t.Fatalf("before the drag a new chat went to %q, want Ventas", got)
	}

	do(t, ctx, chromedp.DragAndDrop(
		chromedp.CSS(`[data-testid="rule-row"]:nth-child(2) [data-testid="rule-name"]`),
		chromedp.CSS(`[data-testid="rule-row"]:nth-child(1) [data-testid="rule-name"]`)))
	// Saved by the drop itself: the server's list comes back in the new order.
	boardPoll(t, ctx, `(function(){var n=document.querySelectorAll('[data-testid="rule-name"]');var l=document.querySelector('[data-testid="rules-list"]');return n.length===2&&n[0].textContent.trim()==="Perú a Soporte"&&!l.classList.contains("is-saving")})()`, boardWait)
	if got := strings.Join(rulesInOrder(t, f.app, f.ws), " | "); got != "Perú a Soporte | Principal a Ventas" {
		t.Fatalf("stored order after the drag: %s", got)
	}

	do(t, ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`[data-testid="rules-list"]`)))
	if got := ruleNamesOnScreen(t, ctx); got != "Perú a Soporte | Principal a Ventas" {
		t.Fatalf("after reload: %s", got)
	}
	if got := textOf(t, ctx, `[data-testid="rule-row"]:nth-child(1) [data-testid="rule-position"]`); got != "1" {
		t.Fatalf("first position shows %q", got)
	}
	if n := auditCount(t, f.app, f.ws, "routing.rule_reorder"); n != 1 {
		t.Fatalf("%d reorder audit events, want 1", n)
	}
	// Routing reads the new order: the next new chat follows the rule now on top.
	if got := f.nextChatTeam(t); got != "Soporte" {
		t.Fatalf("after the drag a new chat went to %q, want Soporte", got)
	}
}

// seedRoutingScreens gives the routing and automation screens something to show:
// rules, a welcome menu, a calendar used by a team, an automation. It returns the
// pages to visit (screen name, path, testid to wait for).
func seedRoutingScreens(t *testing.T, app *testutil.App, ws models.Workspace, ventas, soporte models.Team) [][3]string {
	t.Helper()
	admin := newUser(t, app, ws, "seed-routing@acme.pe", models.RoleAdmin)
	c := app.LoginAs(admin)
	ch := app.Channel(ws, "Principal")
	vip := models.Label{WorkspaceID: ws.ID, Name: "VIP", Color: "#7c3aed"}
	testutil.Must(t, app.DB.Gorm.Create(&vip).Error)
	testutil.Must(t, app.Server.Services.CRM.EnsureDefault(context.Background(), ws.ID))
	var propuesta int64
	testutil.Must(t, app.DB.Gorm.Model(&models.Stage{}).Where("workspace_id = ? AND name = ?", ws.ID, "Propuesta").Pluck("id", &propuesta).Error)
	posts := []struct {
		path string
		form map[string]string
	}{
		{"/settings/routing", map[string]string{"name": "México a Ventas", "kind": models.RuleCountry, "country": "MX", "team_id": itoa(ventas.ID), "label_id": itoa(vip.ID), "priority": "high"}},
		{"/settings/routing", map[string]string{"name": "Precios y cotizaciones", "kind": models.RuleKeywords, "keywords": "precio, cotización, comprar", "team_id": itoa(ventas.ID)}},
		{"/settings/routing", map[string]string{"name": "Menú: soporte", "kind": models.RuleMenuOption, "menu_option": "2", "team_id": itoa(soporte.ID)}},
		{"/settings/routing", map[string]string{"name": "Cuentas con dueño", "kind": models.RuleCompanyOwner}},
		{"/settings/routing", map[string]string{"name": "Todo lo demás a Soporte", "kind": models.RuleDefault, "team_id": itoa(soporte.ID)}},
		{"/settings/channels/" + itoa(ch.ID) + "/menu", map[string]string{"text": "Hola 👋 Gracias por escribir a Acme. ¿Con quién quieres hablar?", "active": "1",
			"key_0": "1", "title_0": "Ventas y cotizaciones", "team_0": itoa(ventas.ID), "label_0": itoa(vip.ID),
			"key_1": "2", "title_1": "Soporte técnico", "team_1": itoa(soporte.ID),
			"key_2": "3", "title_2": "Facturas y pagos", "team_2": itoa(soporte.ID),
			"key_3": "4", "title_3": "Otra consulta", "team_3": itoa(soporte.ID)}},
		{"/settings/calendars", map[string]string{"name": "Oficina Lima", "timezone": "America/Lima", "day_mon": "09:00-13:00, 14:00-18:00",
			"day_tue": "09:00-13:00, 14:00-18:00", "day_wed": "09:00-13:00, 14:00-18:00", "day_thu": "09:00-13:00, 14:00-18:00",
			"day_fri": "09:00-13:00, 14:00-17:00", "day_sat": "09:00-12:00", "holidays": "2026-12-25\n2027-01-01"}},
		{"/settings/automations", map[string]string{"name": "Propuesta: seguimiento", "trigger_kind": models.TriggerLeadStage, "trigger_stage_id": itoa(propuesta),
			"action_kind": models.ActionCreateTask, "action_task_kind": "call", "action_task_title": "Llamar para cerrar la propuesta", "action_due_amount": "2", "action_due_unit": "days"}},
		{"/settings/automations", map[string]string{"name": "Cierre: a la cola de Soporte", "trigger_kind": models.TriggerConversationClosed,
			"action_kind": models.ActionAssign, "action_team_id": itoa(soporte.ID)}},
	}
	for _, p := range posts {
		f := map[string][]string{}
		for k, v := range p.form {
			f[k] = []string{v}
		}
		wantStatus(t, c.PostForm(p.path, f), 303)
	}
	var cal int64
	testutil.Must(t, app.DB.Gorm.Model(&models.Calendar{}).Where("workspace_id = ?", ws.ID).Pluck("id", &cal).Error)
	testutil.Must(t, app.DB.Gorm.Model(&models.Team{}).Where("id = ?", ventas.ID).Updates(map[string]any{"calendar_id": cal, "routing_mode": models.RoutingRoundRobin}).Error)
	return [][3]string{
		{"routing", "/settings/routing", "rules-list"},
		{"routing-menu", "/settings/channels/" + itoa(ch.ID) + "/menu", "menu-preview"},
		{"calendars", "/settings/calendars", "calendars-table"},
		{"calendar-edit", "/settings/calendars/" + itoa(cal), "calendar-preview"},
		{"team-edit", "/settings/teams/" + itoa(ventas.ID), "team-form"},
		{"user-edit", "/settings/users/" + itoa(admin.ID), "user-form"},
		{"automations", "/settings/automations", "automations-list"},
	}
}

// TestBrowserMenuPreviewFollowsTyping: the WhatsApp preview of a welcome menu follows
// what the admin types — buttons up to three options, the «Ver opciones» list from four,
// and the 24-character counter of a title.
func TestBrowserMenuPreviewFollowsTyping(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	app.Team(ws, "Ventas")
	ch := app.Channel(ws, "Principal")
	admin := newUser(t, app, ws, "admin@acme.pe", models.RoleAdmin)
	ctx := testutil.NewBrowser(t)
	do(t, ctx,
		chromedp.EmulateViewport(1366, 900),
		chromedp.Navigate(app.URL+"/login?next=/settings/channels/"+itoa(ch.ID)+"/menu"),
		signIn(admin.Email, testutil.Password),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="menu-form"]`)),
		chromedp.SendKeys(chromedp.CSS(`textarea[name="text"]`), "Hola, ¿con quién quieres hablar?"),
	)
	for i, title := range []string{"Ventas", "Soporte", "Cobranzas"} {
		do(t, ctx, chromedp.SendKeys(chromedp.CSS(`input[name="title_`+itoa(int64(i))+`"]`), title))
	}
	visible := func(sel string) bool {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!document.querySelector('[data-testid="menu-preview"] `+sel+`').hidden`))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if got := textOf(t, ctx, `[data-preview-text]`); got != "Hola, ¿con quién quieres hablar?" {
		t.Fatalf("preview text: %q", got)
	}
	if !visible("[data-preview-buttons]") || visible("[data-preview-list]") || squash(textOf(t, ctx, `[data-preview-buttons]`)) != "Ventas Soporte Cobranzas" {
		t.Fatalf("three options: buttons %v list %v %q", visible("[data-preview-buttons]"), visible("[data-preview-list]"), textOf(t, ctx, `[data-preview-buttons]`))
	}
	do(t, ctx, chromedp.SendKeys(chromedp.CSS(`input[name="title_3"]`), "Facturas"))
	if visible("[data-preview-buttons]") || !visible("[data-preview-list]") {
		t.Fatal("four options do not show the «Ver opciones» list")
	}
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="preview-row"]').length`)); n != 4 {
		t.Fatalf("%d list rows, want 4", n)
	}
	if got := textOf(t, ctx, `[data-testid="menu-option"]:has(input[name="title_0"]) [data-menu-count]`); got != "6/24" {
		t.Fatalf("counter: %q", got)
	}
	// A title longer than a list row: the counter turns amber and the row shows it
	// shortened, whole underneath, as WhatsApp does.
	do(t, ctx, chromedp.SendKeys(chromedp.CSS(`input[name="title_0"]`), " y nuevos servicios"))
	if got := textOf(t, ctx, `[data-testid="menu-option"]:has(input[name="title_0"]) [data-menu-count]`); got != "25/24" {
		t.Fatalf("long counter: %q", got)
	}
	if long, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('[data-testid="menu-option"]:has(input[name="title_0"]) [data-menu-count]').classList.contains('is-long')`)); !long {
		t.Fatal("the counter of a 25-character title is not marked long")
	}
	if got := squash(textOf(t, ctx, `[data-testid="preview-row"]`)); got != "Ventas y nuevos… Ventas y nuevos servicios" {
		t.Fatalf("long row: %q", got)
	}
	testutil.Screenshot(t, ctx, "menu-long-title-1366")
}
