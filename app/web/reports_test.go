package web_test

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/atiende/atiende/app/clock"
	"github.com/atiende/atiende/app/importer"
	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

// reportsNow is the manual clock of the reports tests: Tuesday 20 October 2026, 15:00 in Lima.
var reportsNow = time.Date(2026, 10, 20, 20, 0, 0, 0, time.UTC)

// reportsHistory is four weeks of plausible history: three teams, agents with
// different speeds, transfers, unanswered chats, leads moving through a pipeline.
func reportsHistory() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w(`{"type":"workspace","name":"Demo","timezone":"America/Lima"}`)
	w(`{"type":"calendar","name":"Lima","timezone":"America/Lima","hours":{"mon":[["09:00","13:00"],["14:00","18:00"]],"tue":[["09:00","13:00"],["14:00","18:00"]],"wed":[["09:00","13:00"],["14:00","18:00"]],"thu":[["09:00","13:00"],["14:00","18:00"]],"fri":[["09:00","13:00"],["14:00","18:00"]],"sat":[["09:00","12:00"]]},"holidays":["2026-10-08"]}`)
	for _, t := range []string{"Ventas", "Soporte técnico", "Cobranzas"} {
		w(`{"type":"team","name":%q,"calendar":"Lima"}`, t)
	}
	agents := []struct{ email, name, team string }{{"ana@example.com", "Ana Torres", "Ventas"}, {"luis@example.com", "Luis Paredes", "Soporte técnico"},
		{"carla@example.com", "Carla Ríos", "Ventas"}, {"jorge@example.com", "Jorge Quispe", "Cobranzas"}}
	for _, a := range agents {
		w(`{"type":"agent","email":%q,"name":%q,"teams":[%q]}`, a.email, a.name, a.team)
	}
	w(`{"type":"channel","name":"Principal","phone_number_id":"106540352242922"}`)
	w(`{"type":"pipeline","name":"B2B","stages":[{"name":"Calificado","probability":20},{"name":"Propuesta","probability":50},{"name":"Ganado","kind":"won"},{"name":"Perdido","kind":"lost"}]}`)
	rng := rand.New(rand.NewSource(7))
	speed := map[string]time.Duration{"ana@example.com": 6 * time.Minute, "luis@example.com": 25 * time.Minute, "carla@example.com": 12 * time.Minute, "jorge@example.com": 50 * time.Minute}
	start := reportsNow.AddDate(0, 0, -27)
	n := 0
	for d := 0; d < 28; d++ {
		day := start.AddDate(0, 0, d)
		per := 4 + rng.Intn(8)
		for i := 0; i < per; i++ {
			n++
			a := agents[rng.Intn(len(agents))]
			at := time.Date(day.Year(), day.Month(), day.Day(), 13+rng.Intn(9), rng.Intn(60), 0, 0, time.UTC)
			if at.After(reportsNow) {
				continue
			}
			wa := fmt.Sprintf("5199%07d", n)
			w(`{"type":"inbound","at":%q,"from":%q,"name":"Cliente %d","text":"Hola","id":"m%d","team":%q}`, at.Format(time.RFC3339), wa, n, n, a.team)
			if rng.Intn(9) == 0 {
				continue // unanswered
			}
			at = at.Add(speed[a.email]/2 + time.Duration(rng.Int63n(int64(speed[a.email]))))
			if at.After(reportsNow) {
				continue
			}
			w(`{"type":"reply","at":%q,"contact":%q,"agent":%q,"text":"Buenas, ¿en qué le ayudo?"}`, at.Format(time.RFC3339), wa, a.email)
			if rng.Intn(4) == 0 {
				at = at.Add(20 * time.Minute)
				w(`{"type":"lead","at":%q,"contact":%q,"title":"Pedido %d","value":%d,"currency":"USD","stage":"Calificado","pipeline":"B2B"}`, at.Format(time.RFC3339), wa, n, 300+rng.Intn(40)*50)
				if rng.Intn(2) == 0 {
					w(`{"type":"stage","at":%q,"contact":%q,"stage":"Propuesta"}`, at.Add(time.Duration(20+rng.Intn(60))*time.Hour).Format(time.RFC3339), wa)
				}
			}
			if rng.Intn(7) == 0 && a.team != "Soporte técnico" {
				at = at.Add(10 * time.Minute)
				w(`{"type":"transfer","at":%q,"contact":%q,"team":"Soporte técnico","agent":"luis@example.com","note":"consulta técnica"}`, at.Format(time.RFC3339), wa)
			}
			at = at.Add(time.Duration(10+rng.Intn(120)) * time.Minute)
			if at.Before(reportsNow) && rng.Intn(6) != 0 {
				w(`{"type":"status","at":%q,"contact":%q,"status":"closed"}`, at.Format(time.RFC3339), wa)
			}
		}
	}
	return b.String()
}

func newReportsApp(t *testing.T) (*testutil.App, models.Workspace) {
	t.Helper()
	app := testutil.NewAppWithClock(t, clock.NewManual(reportsNow))
	_, err := app.Server.Services.Importer.Run(context.Background(), strings.NewReader(reportsHistory()), importer.Options{})
	testutil.Must(t, err)
	var ws models.Workspace
	testutil.Must(t, app.DB.Gorm.First(&ws).Error)
	hour, day := 1800, 8*3600
	pol := models.SLAPolicy{WorkspaceID: ws.ID, Name: "Estándar", FirstResponseSeconds: &hour, ResolutionSeconds: &day, BusinessHours: true}
	testutil.Must(t, app.DB.Gorm.Create(&pol).Error)
	testutil.Must(t, app.DB.Gorm.Model(&models.Team{}).Where("workspace_id = ?", ws.ID).Update("sla_policy_id", pol.ID).Error)
	return app, ws
}

// Agents get 403; a supervisor sees only their teams (tables, filters, figures).
func TestReportsPageRoles(t *testing.T) {
	t.Parallel()
	app, ws := newReportsApp(t)
	var soporte models.Team
	testutil.Must(t, app.DB.Gorm.Where("name = 'Soporte técnico'").First(&soporte).Error)
	agent := app.User(ws, "agente@example.com", models.RoleAgent, soporte)
	sup := app.User(ws, "sup@example.com", models.RoleSupervisor, soporte)
	admin := app.User(ws, "admin@example.com", models.RoleAdmin)
	for _, path := range []string{"/reports", "/reports/export.csv"} {
		if res := app.LoginAs(agent).Get(path); res.StatusCode != 403 {
			t.Errorf("agent %s: %d", path, res.StatusCode)
		}
	}
	doc := app.LoginAs(sup).Get("/reports?rango=30d").Doc(t)
	if teams := doc.Find(`[data-testid="team-table"] tbody tr`); teams.Length() != 1 || !strings.Contains(teams.Text(), "Soporte técnico") {
		t.Errorf("supervisor's team table: %q", teams.Text())
	}
	if opts := doc.Find(`select[name="equipo"] option`); opts.Length() != 2 {
		t.Errorf("supervisor's team filter: %d options", opts.Length())
	}
	supN, _ := doc.Find(`[data-kpi="conversations"]`).Attr("data-value")
	adminDoc := app.LoginAs(admin).Get("/reports?rango=30d&equipo=Soporte+t%C3%A9cnico").Doc(t)
	if n, _ := adminDoc.Find(`[data-kpi="conversations"]`).Attr("data-value"); n != supN || n == "0" {
		t.Errorf("supervisor sees %s conversations, admin filtering Soporte técnico %s", supN, n)
	}
	// Another team by name is not a way around it.
	doc = app.LoginAs(sup).Get("/reports?rango=30d&equipo=Ventas").Doc(t)
	if n, _ := doc.Find(`[data-kpi="conversations"]`).Attr("data-value"); n != "0" {
		t.Errorf("supervisor asking for Ventas: %s conversations", n)
	}
	// Bad input is a message, not an error page.
	res := app.LoginAs(admin).Get("/reports?rango=custom&desde=2026-10-09&hasta=2026-10-01")
	if res.StatusCode != 200 || !strings.Contains(res.Body, "no puede ser posterior") {
		t.Errorf("reversed range: %d", res.StatusCode)
	}
	// An empty period says so.
	res = app.LoginAs(admin).Get("/reports?rango=custom&desde=2025-01-01&hasta=2025-01-07")
	if !strings.Contains(res.Body, "No hay conversaciones en este período") {
		t.Errorf("empty period: no empty state")
	}
}

// The page in a browser: presets in the workspace time zone, the business-hours
// toggle, sortable tables, charts with their values. With ATIENDE_SCREENSHOTS set it
// saves the page at 1366 and 390 px.
func TestReportsPageBrowser(t *testing.T) {
	t.Parallel()
	app, ws := newReportsApp(t)
	admin := app.User(ws, "admin@example.com", models.RoleAdmin)
	ctx := testutil.NewBrowser(t)
	run := func(steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatal(err)
		}
	}
	eval := func(js string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	run(chromedp.EmulateViewport(1366, 900, chromedp.EmulateScale(1)),
		chromedp.Navigate(app.URL+"/login?next=/reports"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="login-form"] input[name="email"]`), admin.Email),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="login-form"] input[name="password"]`), testutil.Password),
		chromedp.Click(chromedp.CSS(`[data-testid="login-form"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="reports-page"]`)))
	// "7 días" by default: 14/10 to 20/10 (Lima).
	if got := eval(`document.querySelector('[data-testid="report-from"]').value + " " + document.querySelector('[data-testid="report-to"]').value`); got != "2026-10-14 2026-10-20" {
		t.Errorf("7 días = %s", got)
	}
	// "30 días" by clicking the preset and Aplicar.
	run(chromedp.Click(chromedp.CSS(`input[name="rango"][value="30d"]`)), chromedp.Click(chromedp.CSS(`[data-testid="report-filters"] button[type="submit"]`)))
	run(chromedp.WaitVisible(chromedp.CSS(`[data-testid="reports-page"][data-preset="30d"]`)))
	if got := eval(`document.querySelector('[data-testid="report-from"]').value`); got != "2026-09-21" {
		t.Errorf("30 días starts %s", got)
	}
	// One bar per team with its value written on it.
	if got := eval(`Array.from(document.querySelectorAll('[data-testid="chart-teams"] .bar-value')).map(e => e.textContent).join("|")`); strings.Count(got, "min") != 3 {
		t.Errorf("bar values: %q", got)
	}
	shot := func(name string) {
		t.Helper()
		dir := os.Getenv("ATIENDE_SCREENSHOTS")
		if dir == "" {
			return
		}
		testutil.Must(t, os.MkdirAll(dir, 0o755))
		// Viewport by viewport (a capture beyond the viewport lays the sticky rail out wrong).
		h, err := chromedp.Run(ctx, chromedp.Evaluate[int64](`document.documentElement.scrollHeight`))
		testutil.Must(t, err)
		for i, y := 0, int64(0); y < h && i < 6; i, y = i+1, y+800 {
			run(chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`window.scrollTo(0, %d)`, y)))
			png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
			testutil.Must(t, err)
			testutil.Must(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%d.png", name, i+1)), png, 0o644))
		}
		run(chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	}
	shot("reports-1366")
	// The business-hours toggle changes the figures.
	wall := eval(`document.querySelector('[data-kpi="first_response_avg"]').dataset.value`)
	run(chromedp.Click(chromedp.CSS(`[data-testid="hours-business"]`)))
	run(chromedp.WaitVisible(chromedp.CSS(`.hours-toggle .seg.is-on[data-testid="hours-business"]`)))
	if business := eval(`document.querySelector('[data-kpi="first_response_avg"]').dataset.value`); business == wall || business == "" {
		t.Errorf("business-hours average %q, wall %q", business, wall)
	}
	// Sorting the agents by name, then the other way.
	names := `Array.from(document.querySelectorAll('[data-testid="agent-table"] tbody tr')).map(r => r.dataset.agent).join(",")`
	run(chromedp.Click(chromedp.CSS(`[data-testid="agent-table"] a[data-sort="agent"]`)))
	run(chromedp.WaitVisible(chromedp.CSS(`[data-testid="agent-table"] th[aria-sort="ascending"]`)))
	if got := eval(names); got != "ana@example.com,carla@example.com,jorge@example.com,luis@example.com" {
		t.Errorf("by name: %s", got)
	}
	run(chromedp.Click(chromedp.CSS(`[data-testid="agent-table"] a[data-sort="agent"]`)))
	run(chromedp.WaitVisible(chromedp.CSS(`[data-testid="agent-table"] th[aria-sort="descending"]`)))
	if got := eval(names); got != "luis@example.com,jorge@example.com,carla@example.com,ana@example.com" {
		t.Errorf("by name, descending: %s", got)
	}
	run(chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(1)), chromedp.Navigate(app.URL+"/reports?rango=30d"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="reports-page"]`)))
	if w := eval(`String(document.documentElement.scrollWidth)`); w != "390" {
		t.Errorf("at 390 px the page is %s px wide", w)
	}
	shot("reports-390")
}
