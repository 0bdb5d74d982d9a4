package reports_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/atiende/atiende/app/importer"
	"github.com/atiende/atiende/app/reports"
	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

// A small history whose figures were computed by hand (Lima: UTC-5; the Ventas
// calendar opens 09:00–13:00 and 14:00–18:00 on weekdays).
const history = `{"type":"workspace","name":"Demo","timezone":"America/Lima"}
{"type":"calendar","name":"Lima","timezone":"America/Lima","hours":{"mon":[["09:00","13:00"],["14:00","18:00"]],"tue":[["09:00","13:00"],["14:00","18:00"]],"wed":[["09:00","13:00"],["14:00","18:00"]],"thu":[["09:00","13:00"],["14:00","18:00"]],"fri":[["09:00","13:00"],["14:00","18:00"]]}}
{"type":"team","name":"Ventas","calendar":"Lima"}
{"type":"team","name":"Soporte"}
{"type":"team","name":"Cobranzas"}
{"type":"agent","email":"ana@example.com","name":"Ana","teams":["Ventas"]}
{"type":"agent","email":"luis@example.com","name":"Luis","teams":["Soporte"]}
{"type":"channel","name":"Principal","phone_number_id":"106540352242922"}
{"type":"inbound","at":"2026-10-01T12:30:00-05:00","from":"51911111111","text":"Hola","id":"A1","team":"Ventas"}
{"type":"reply","at":"2026-10-01T14:30:00-05:00","contact":"51911111111","agent":"ana@example.com","text":"Hola"}
{"type":"inbound","at":"2026-10-01T14:40:00-05:00","from":"51911111111","text":"¿Precio?","id":"A2"}
{"type":"reply","at":"2026-10-01T15:10:00-05:00","contact":"51911111111","agent":"ana@example.com","text":"100"}
{"type":"inbound","at":"2026-10-01T15:20:00-05:00","from":"51911111111","text":"¿Y envío?","id":"A3"}
{"type":"inbound","at":"2026-10-01T15:25:00-05:00","from":"51911111111","text":"¿Hola?","id":"A4"}
{"type":"reply","at":"2026-10-01T15:40:00-05:00","contact":"51911111111","agent":"ana@example.com","text":"Gratis"}
{"type":"status","at":"2026-10-01T16:00:00-05:00","contact":"51911111111","agent":"ana@example.com","status":"closed"}
{"type":"inbound","at":"2026-10-01T10:00:00-05:00","from":"51933333333","text":"Falla","id":"C1","team":"Ventas"}
{"type":"reply","at":"2026-10-01T10:10:00-05:00","contact":"51933333333","agent":"ana@example.com","text":"Veo"}
{"type":"transfer","at":"2026-10-01T10:20:00-05:00","contact":"51933333333","team":"Soporte","note":"técnico"}
{"type":"reply","at":"2026-10-01T10:30:00-05:00","contact":"51933333333","agent":"luis@example.com","text":"Listo"}
{"type":"status","at":"2026-10-01T11:00:00-05:00","contact":"51933333333","agent":"luis@example.com","status":"closed"}
{"type":"inbound","at":"2026-10-02T17:30:00-05:00","from":"51922222222","text":"¿Atienden?","id":"B1","team":"Ventas"}
{"type":"inbound","at":"2026-10-05T10:00:00-05:00","from":"51944444444","text":"Hola","id":"D1","team":"Ventas"}
{"type":"reply","at":"2026-10-05T10:05:00-05:00","contact":"51944444444","agent":"ana@example.com","text":"Hola"}
{"type":"status","at":"2026-10-05T10:10:00-05:00","contact":"51944444444","agent":"ana@example.com","status":"closed"}
{"type":"inbound","at":"2026-10-05T20:00:00-05:00","from":"51944444444","text":"Otra cosa","id":"D2"}
{"type":"inbound","at":"2026-10-06T09:00:00-05:00","from":"51955555555","text":"Fuera del rango","id":"E1","team":"Ventas"}
`

// withHistory is an app with history imported, and its workspace.
func withHistory(t *testing.T) (*testutil.App, int64) {
	t.Helper()
	app := testutil.NewApp(t)
	_, err := app.Server.Services.Importer.Run(context.Background(), strings.NewReader(history), importer.Options{})
	testutil.Must(t, err)
	var ws int64
	testutil.Must(t, app.DB.Gorm.Raw("SELECT id FROM workspaces").Row().Scan(&ws))
	return app, ws
}

func TestReportByHand(t *testing.T) {
	app, ws := withHistory(t)
	r, err := app.Server.Services.Reports.Run(context.Background(), reports.Query{WorkspaceID: ws, From: "2026-10-01", To: "2026-10-05"})
	testutil.Must(t, err)
	b, _ := json.Marshal(r)
	var got map[string]any
	testutil.Must(t, json.Unmarshal(b, &got))
	o := got["overall"].(map[string]any)
	check := func(what string, v any, want any) {
		t.Helper()
		if b, _ := json.Marshal(v); string(b) != want {
			t.Errorf("%s = %s, want %s", what, b, want)
		}
	}
	check("conversations", o["conversations"], "5")
	check("closed", o["closed"], "3")
	check("unanswered", o["unanswered"], "2")
	check("first_response", o["first_response"], `{"avg_seconds":2700,"business":{"avg_seconds":1500,"median_seconds":600,"p90_seconds":3000},"count":3,"median_seconds":600,"p90_seconds":5880}`)
	check("next_response", o["next_response"], `{"avg_seconds":1500,"business":{"avg_seconds":1500,"median_seconds":1500,"p90_seconds":1740},"count":2,"median_seconds":1500,"p90_seconds":1740}`)
	check("resolution", o["resolution"], `{"avg_seconds":5600,"business":{"avg_seconds":4400,"median_seconds":3600,"p90_seconds":7920},"count":3,"median_seconds":3600,"p90_seconds":10800}`)
	check("fcr_rate", o["fcr_rate"], "0.2")
	check("sla", o["sla"], `{"evaluated":0,"hit":0,"hit_rate":null}`)
	teams := got["teams"].([]any)
	if len(teams) != 3 {
		t.Fatalf("teams: %v", teams)
	}
	check("team names", []any{teams[0].(map[string]any)["team"], teams[1].(map[string]any)["team"], teams[2].(map[string]any)["team"]}, `["Cobranzas","Soporte","Ventas"]`)
	check("Cobranzas (no cycles)", teams[0].(map[string]any)["conversations"], "0")
	check("Cobranzas first response", teams[0].(map[string]any)["first_response"], `{"avg_seconds":null,"business":{"avg_seconds":null,"median_seconds":null,"p90_seconds":null},"count":0,"median_seconds":null,"p90_seconds":null}`)
	check("Cobranzas fcr", teams[0].(map[string]any)["fcr_rate"], "null")
	check("Soporte (the transferred cycle)", teams[1].(map[string]any)["conversations"], "1")
	check("Ventas", teams[2].(map[string]any)["conversations"], "4")
	agents := map[string]map[string]any{}
	for _, a := range got["agents"].([]any) {
		agents[a.(map[string]any)["agent"].(string)] = a.(map[string]any)
	}
	check("ana", []any{agents["ana@example.com"]["replies"], agents["ana@example.com"]["first_responses"], agents["ana@example.com"]["closed"]}, "[5,3,2]")
	check("luis", []any{agents["luis@example.com"]["replies"], agents["luis@example.com"]["first_responses"], agents["luis@example.com"]["closed"]}, "[1,0,1]")

	// One team: overall is that team's cycles only.
	r, err = app.Server.Services.Reports.Run(context.Background(), reports.Query{WorkspaceID: ws, From: "2026-10-01", To: "2026-10-05", Team: "soporte"})
	testutil.Must(t, err)
	if r.Overall.Conversations != 1 || len(r.Teams) != 1 || r.Overall.FCRRate == nil || *r.Overall.FCRRate != 0 {
		t.Errorf("--team Soporte: %+v", r.Overall)
	}
	if _, err := app.Server.Services.Reports.Run(context.Background(), reports.Query{WorkspaceID: ws, From: "2026-10-05", To: "2026-10-01"}); err == nil {
		t.Error("a range that ends before it starts was accepted")
	}
	// The CSV has one row per cycle.
	var csv strings.Builder
	r, _ = app.Server.Services.Reports.Run(context.Background(), reports.Query{WorkspaceID: ws, From: "2026-10-01", To: "2026-10-05", WithCycles: true})
	testutil.Must(t, reports.WriteCSV(&csv, r))
	lines := strings.Split(strings.TrimSpace(csv.String()), "\n")
	if len(lines) != 6 || !strings.Contains(lines[1], ",+51933333333,Soporte,luis@example.com,") {
		t.Errorf("csv:\n%s", csv.String())
	}
}

// The API answers with the same figures as the service, to supervisors and admins only.
func TestReportSummaryAPI(t *testing.T) {
	app := testutil.NewApp(t)
	_, err := app.Server.Services.Importer.Run(context.Background(), strings.NewReader(history), importer.Options{})
	testutil.Must(t, err)
	var ws models.Workspace
	testutil.Must(t, app.DB.Gorm.First(&ws).Error)
	soporte := app.Team(ws, "Soporte")
	admin := app.User(ws, "admin@example.com", models.RoleAdmin)
	sup := app.User(ws, "sup@example.com", models.RoleSupervisor, soporte)
	agent := app.User(ws, "carla@example.com", models.RoleAgent, soporte)
	res := app.API(admin).Do("GET", "/api/v1/reports/summary?from=2026-10-01&to=2026-10-05", "")
	if res.StatusCode != 200 {
		t.Fatalf("admin: %d %s", res.StatusCode, res.Body)
	}
	want, _ := app.Server.Services.Reports.Run(context.Background(), reports.Query{WorkspaceID: ws.ID, From: "2026-10-01", To: "2026-10-05"})
	wb, _ := json.Marshal(want)
	if strings.TrimSpace(res.Body) != string(wb) {
		t.Errorf("API and service differ:\n%s\n%s", res.Body, wb)
	}
	res = app.API(sup).Do("GET", "/api/v1/reports/summary?from=2026-10-01&to=2026-10-05", "")
	var r reports.Report
	testutil.Must(t, json.Unmarshal([]byte(res.Body), &r))
	if res.StatusCode != 200 || r.Overall.Conversations != 1 || len(r.Teams) != 1 || r.Teams[0].Team != "Soporte" {
		t.Errorf("supervisor of Soporte: %d %s", res.StatusCode, res.Body)
	}
	if res := app.API(agent).Do("GET", "/api/v1/reports/summary", ""); res.StatusCode != 403 {
		t.Errorf("agent: %d", res.StatusCode)
	}
	if res := app.API(admin).Do("GET", "/api/v1/reports/summary?from=ayer", ""); res.StatusCode != 422 || !strings.Contains(res.Body, "AAAA-MM-DD") {
		t.Errorf("bad date: %d %s", res.StatusCode, res.Body)
	}
}
