package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/atiende/atiende/app/importer"
	"github.com/atiende/atiende/app/reports"
	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

// Two channels, two teams (one with a business calendar and a business-hours SLA
// policy), transfers, a reopen, an unanswered cycle, an open cycle and a lead.
const agreeHistory = `{"type":"workspace","name":"Demo","timezone":"America/Lima"}
{"type":"calendar","name":"Lima","timezone":"America/Lima","hours":{"mon":[["09:00","13:00"],["14:00","18:00"]],"tue":[["09:00","13:00"],["14:00","18:00"]],"wed":[["09:00","13:00"],["14:00","18:00"]],"thu":[["09:00","13:00"],["14:00","18:00"]],"fri":[["09:00","13:00"],["14:00","18:00"]]}}
{"type":"team","name":"Ventas","calendar":"Lima"}
{"type":"team","name":"Soporte"}
{"type":"agent","email":"ana@example.com","name":"Ana","teams":["Ventas"]}
{"type":"agent","email":"luis@example.com","name":"Luis","teams":["Soporte"]}
{"type":"channel","name":"Principal","phone_number_id":"106540352242922"}
{"type":"channel","name":"Sucursal","phone_number_id":"106540352242923"}
{"type":"pipeline","name":"B2B","stages":[{"name":"Calificado","probability":20},{"name":"Propuesta","probability":50},{"name":"Ganado","kind":"won"},{"name":"Perdido","kind":"lost"}]}
{"type":"inbound","at":"2026-10-01T12:30:00-05:00","channel":"106540352242922","from":"51911111111","text":"Hola","id":"A1","team":"Ventas"}
{"type":"reply","at":"2026-10-01T14:30:00-05:00","contact":"51911111111","agent":"ana@example.com","text":"Hola"}
{"type":"inbound","at":"2026-10-01T14:40:00-05:00","channel":"106540352242922","from":"51911111111","text":"¿Precio?","id":"A2"}
{"type":"lead","at":"2026-10-01T14:50:00-05:00","contact":"51911111111","title":"Licencias","value":1200,"currency":"USD","stage":"Calificado","pipeline":"B2B"}
{"type":"reply","at":"2026-10-01T15:10:00-05:00","contact":"51911111111","agent":"ana@example.com","text":"100"}
{"type":"status","at":"2026-10-01T16:00:00-05:00","contact":"51911111111","agent":"ana@example.com","status":"closed"}
{"type":"inbound","at":"2026-10-01T10:00:00-05:00","channel":"106540352242923","from":"51933333333","text":"Falla","id":"C1","team":"Ventas"}
{"type":"reply","at":"2026-10-01T10:10:00-05:00","contact":"51933333333","agent":"ana@example.com","text":"Veo"}
{"type":"transfer","at":"2026-10-01T10:20:00-05:00","contact":"51933333333","team":"Soporte","note":"técnico"}
{"type":"reply","at":"2026-10-01T10:30:00-05:00","contact":"51933333333","agent":"luis@example.com","text":"Listo"}
{"type":"status","at":"2026-10-01T11:00:00-05:00","contact":"51933333333","agent":"luis@example.com","status":"closed"}
{"type":"inbound","at":"2026-10-02T17:30:00-05:00","channel":"106540352242923","from":"51922222222","text":"¿Atienden?","id":"B1","team":"Ventas"}
{"type":"inbound","at":"2026-10-05T10:00:00-05:00","channel":"106540352242922","from":"51944444444","text":"Hola","id":"D1","team":"Soporte"}
{"type":"reply","at":"2026-10-05T10:05:00-05:00","contact":"51944444444","agent":"luis@example.com","text":"Hola"}
{"type":"status","at":"2026-10-05T10:10:00-05:00","contact":"51944444444","agent":"luis@example.com","status":"closed"}
{"type":"inbound","at":"2026-10-05T20:00:00-05:00","channel":"106540352242922","from":"51944444444","text":"Otra cosa","id":"D2"}
{"type":"reply","at":"2026-10-06T09:00:00-05:00","contact":"51944444444","agent":"luis@example.com","text":"Dime"}
{"type":"status","at":"2026-10-06T09:30:00-05:00","contact":"51944444444","agent":"luis@example.com","status":"closed"}
`

// The page, `atiende report` and GET /api/v1/reports/summary give the same numbers for
// the same filters.
func TestReportPageCLIAndAPIAgree(t *testing.T) {
	app := testutil.NewApp(t)
	ctx := context.Background()
	_, err := app.Server.Services.Importer.Run(ctx, strings.NewReader(agreeHistory), importer.Options{})
	testutil.Must(t, err)
	var ws models.Workspace
	testutil.Must(t, app.DB.Gorm.First(&ws).Error)
	// Ventas: first response within 1 business hour, resolution within 2.
	hour, two := 3600, 7200
	pol := models.SLAPolicy{WorkspaceID: ws.ID, Name: "Ventas", FirstResponseSeconds: &hour, ResolutionSeconds: &two, BusinessHours: true}
	testutil.Must(t, app.DB.Gorm.Create(&pol).Error)
	testutil.Must(t, app.DB.Gorm.Model(&models.Team{}).Where("workspace_id = ? AND name = 'Ventas'", ws.ID).Update("sla_policy_id", pol.ID).Error)
	admin := app.User(ws, "admin@example.com", models.RoleAdmin)
	var principal int64
	testutil.Must(t, app.DB.Gorm.Raw(`SELECT id FROM channels WHERE name = 'Principal'`).Row().Scan(&principal))
	env := map[string]string{"DATABASE_URL": app.DB.URL}
	browser := app.LoginAs(admin)

	cases := []struct {
		name       string
		cli        []string
		api, page  url.Values
		conversons int
	}{
		{"everything", nil, url.Values{}, url.Values{}, 5},
		{"one team", []string{"--team", "Soporte"}, url.Values{"team": {"Soporte"}}, url.Values{"equipo": {"Soporte"}}, 3},
		{"agent and channel", []string{"--agent", "luis@example.com", "--channel", strconv.FormatInt(principal, 10)},
			url.Values{"agent": {"luis@example.com"}, "channel": {strconv.FormatInt(principal, 10)}},
			url.Values{"agente": {"luis@example.com"}, "canal": {strconv.FormatInt(principal, 10)}}, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := mustRun(t, env, append([]string{"report", "--from", "2026-10-01", "--to", "2026-10-06"}, tc.cli...)...)
			var cli, api reports.Report
			testutil.Must(t, json.Unmarshal([]byte(out), &cli))
			tc.api.Set("from", "2026-10-01")
			tc.api.Set("to", "2026-10-06")
			res := app.API(admin).Do("GET", "/api/v1/reports/summary?"+tc.api.Encode(), "")
			if res.StatusCode != 200 {
				t.Fatalf("API: %d %s", res.StatusCode, res.Body)
			}
			testutil.Must(t, json.Unmarshal([]byte(res.Body), &api))
			if !reflect.DeepEqual(cli, api) {
				t.Fatalf("CLI and API differ:\n%s\n%s", out, res.Body)
			}
			if cli.Overall.Conversations != tc.conversons {
				t.Errorf("conversations = %d, want %d", cli.Overall.Conversations, tc.conversons)
			}
			for _, business := range []bool{false, true} {
				q := url.Values{"rango": {"custom"}, "desde": {"2026-10-01"}, "hasta": {"2026-10-06"}}
				for k, v := range tc.page {
					q[k] = v
				}
				fr := cli.Overall.FirstResponse
				want := map[string]*float64{"first_response_avg": fr.Avg, "first_response_median": fr.Median, "first_response_p90": fr.P90,
					"resolution_median": cli.Overall.Resolution.Median}
				if business {
					q.Set("horas", "laborales")
					want = map[string]*float64{"first_response_avg": fr.Business.Avg, "first_response_median": fr.Business.Median,
						"first_response_p90": fr.Business.P90, "resolution_median": cli.Overall.Resolution.Business.Median}
				}
				f := func(n int) *float64 { x := float64(n); return &x }
				want["conversations"], want["unanswered"] = f(cli.Overall.Conversations), f(cli.Overall.Unanswered)
				want["sla_hit_rate"], want["fcr_rate"], want["conversion_rate"] = cli.Overall.SLA.HitRate, cli.Overall.FCRRate, cli.Overall.ConversionRate
				page := browser.Get("/reports?" + q.Encode())
				if page.StatusCode != 200 {
					t.Fatalf("page: %d", page.StatusCode)
				}
				doc := page.Doc(t)
				for key, w := range want {
					got, ok := doc.Find(fmt.Sprintf(`[data-kpi=%q]`, key)).Attr("data-value")
					if !ok || got != numText(w) {
						t.Errorf("business=%v: page %s = %q, CLI and API %q", business, key, got, numText(w))
					}
				}
				// The tables: every team's and agent's counts.
				for _, tr := range cli.Teams {
					got := strings.TrimSpace(doc.Find(fmt.Sprintf(`[data-testid="team-table"] tr[data-team=%q] [data-col="conversations"]`, tr.Team)).Text())
					if got != strconv.Itoa(tr.Conversations) {
						t.Errorf("team %s: page %q, CLI %d", tr.Team, got, tr.Conversations)
					}
				}
				for _, a := range cli.Agents {
					row := doc.Find(fmt.Sprintf(`[data-testid="agent-table"] tr[data-agent=%q]`, a.Agent))
					got := []string{row.Find(`[data-col="first_responses"]`).Text(), row.Find(`[data-col="replies"]`).Text(), row.Find(`[data-col="closed"]`).Text()}
					if !reflect.DeepEqual(got, []string{strconv.Itoa(a.FirstResponses), strconv.Itoa(a.Replies), strconv.Itoa(a.Closed)}) {
						t.Errorf("agent %s: page %v, CLI %+v", a.Agent, got, a)
					}
				}
			}
			// The CSV export is the CLI's CSV.
			q := url.Values{"rango": {"custom"}, "desde": {"2026-10-01"}, "hasta": {"2026-10-06"}}
			for k, v := range tc.page {
				q[k] = v
			}
			csvPage := browser.Get("/reports/export.csv?" + q.Encode())
			csvCLI := mustRun(t, env, append([]string{"report", "--from", "2026-10-01", "--to", "2026-10-06", "--format", "csv"}, tc.cli...)...)
			if csvPage.StatusCode != 200 || csvPage.Body != csvCLI {
				t.Errorf("CSV export (%d) and CLI differ:\n%s\n%s", csvPage.StatusCode, csvPage.Body, csvCLI)
			}
			if n := strings.Count(strings.TrimSpace(csvCLI), "\n"); n != tc.conversons {
				t.Errorf("CSV has %d rows, want %d", n, tc.conversons)
			}
		})
	}
	// The opportunity is on the page, linked to its conversation and lead.
	doc := browser.Get("/reports?rango=custom&desde=2026-10-01&hasta=2026-10-06").Doc(t)
	opp := doc.Find(`[data-testid="opportunity"]`)
	if opp.Length() != 1 || !strings.Contains(opp.Text(), "Licencias") || !strings.Contains(opp.Text(), "Calificado") ||
		!strings.Contains(opp.Text(), "1.200 USD") {
		t.Errorf("opportunities: %q", opp.Text())
	}
	hrefs := opp.Find("a").Map(func(_ int, s *goquery.Selection) string { h, _ := s.Attr("href"); return h })
	if len(hrefs) != 2 || !strings.HasPrefix(hrefs[0], "/conversations/") || !strings.HasPrefix(hrefs[1], "/leads/") {
		t.Errorf("opportunity links: %v", hrefs)
	}
}

func numText(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'f', -1, 64)
}
