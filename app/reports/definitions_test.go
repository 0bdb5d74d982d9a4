package reports_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/atiende/atiende/app/clock"
	"github.com/atiende/atiende/app/importer"
	"github.com/atiende/atiende/app/reports"
	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

// Hand-computed cases for the definitions the first test does not cover. The clock
// is Tuesday 20 October 2026, 15:00 in Lima (UTC-5). Lima's calendar opens 09:00–13:00
// and 14:00–18:00 on weekdays, Friday 9 October is a holiday. Santiago's calendar opens
// Saturday 22:00–24:00 and Sunday 00:00–01:30, across both DST changes of 2026.
// Soporte has no calendar and a wall-clock policy: first response 30 min, next response
// 10 min, resolution 2 h.
const definitions = `{"type":"workspace","name":"Demo","timezone":"America/Lima"}
{"type":"calendar","name":"Lima","timezone":"America/Lima","hours":{"mon":[["09:00","13:00"],["14:00","18:00"]],"tue":[["09:00","13:00"],["14:00","18:00"]],"wed":[["09:00","13:00"],["14:00","18:00"]],"thu":[["09:00","13:00"],["14:00","18:00"]],"fri":[["09:00","13:00"],["14:00","18:00"]]},"holidays":["2026-10-09"]}
{"type":"calendar","name":"Santiago","timezone":"America/Santiago","hours":{"sat":[["22:00","24:00"]],"sun":[["00:00","01:30"]]}}
{"type":"team","name":"Ventas","calendar":"Lima"}
{"type":"team","name":"Soporte"}
{"type":"team","name":"Chile","calendar":"Santiago"}
{"type":"agent","email":"ana@example.com","name":"Ana","teams":["Ventas"]}
{"type":"agent","email":"carla@example.com","name":"Carla","teams":["Ventas"]}
{"type":"agent","email":"luis@example.com","name":"Luis","teams":["Soporte"]}
{"type":"agent","email":"pedro@example.com","name":"Pedro","teams":["Chile"]}
{"type":"channel","name":"Principal","phone_number_id":"106540352242922"}
{"type":"inbound","at":"2026-10-13T10:00:00-05:00","from":"51900000001","text":"S1","team":"Soporte"}
{"type":"reply","at":"2026-10-13T10:10:00-05:00","contact":"51900000001","agent":"luis@example.com","text":"a"}
{"type":"inbound","at":"2026-10-13T13:00:00-05:00","from":"51900000001","text":"S1 b"}
{"type":"reply","at":"2026-10-13T13:05:00-05:00","contact":"51900000001","agent":"luis@example.com","text":"b"}
{"type":"status","at":"2026-10-13T13:10:00-05:00","contact":"51900000001","agent":"luis@example.com","status":"closed"}
{"type":"inbound","at":"2026-10-13T10:00:00-05:00","from":"51900000002","text":"S2","team":"Soporte"}
{"type":"reply","at":"2026-10-13T10:05:00-05:00","contact":"51900000002","agent":"luis@example.com","text":"a"}
{"type":"inbound","at":"2026-10-13T10:30:00-05:00","from":"51900000002","text":"S2 b"}
{"type":"reply","at":"2026-10-13T10:45:00-05:00","contact":"51900000002","agent":"luis@example.com","text":"b"}
{"type":"status","at":"2026-10-13T10:50:00-05:00","contact":"51900000002","agent":"luis@example.com","status":"closed"}
{"type":"inbound","at":"2026-10-13T11:00:00-05:00","from":"51900000003","text":"S3","team":"Soporte"}
{"type":"status","at":"2026-10-13T11:20:00-05:00","contact":"51900000003","agent":"luis@example.com","status":"closed"}
{"type":"inbound","at":"2026-10-20T14:00:00-05:00","from":"51900000004","text":"S4","team":"Soporte"}
{"type":"inbound","at":"2026-10-20T14:50:00-05:00","from":"51900000005","text":"S5","team":"Soporte"}
{"type":"inbound","at":"2026-10-19T10:00:00-05:00","from":"51900000006","text":"S6","team":"Soporte"}
{"type":"inbound","at":"2026-10-14T10:00:00-05:00","from":"51900000007","text":"S7","team":"Soporte"}
{"type":"reply","at":"2026-10-15T11:00:00-05:00","contact":"51900000007","agent":"luis@example.com","text":"tarde"}
{"type":"status","at":"2026-10-15T11:10:00-05:00","contact":"51900000007","agent":"luis@example.com","status":"closed"}
{"type":"inbound","at":"2026-10-13T10:00:00-05:00","from":"51900000011","text":"F1","team":"Ventas"}
{"type":"reply","at":"2026-10-13T10:05:00-05:00","contact":"51900000011","agent":"ana@example.com","text":"a"}
{"type":"status","at":"2026-10-13T10:10:00-05:00","contact":"51900000011","agent":"ana@example.com","status":"closed"}
{"type":"inbound","at":"2026-10-14T09:00:00-05:00","from":"51900000011","text":"F1 otra vez","team":"Ventas"}
{"type":"reply","at":"2026-10-14T09:05:00-05:00","contact":"51900000011","agent":"ana@example.com","text":"b"}
{"type":"status","at":"2026-10-14T09:10:00-05:00","contact":"51900000011","agent":"ana@example.com","status":"closed"}
{"type":"inbound","at":"2026-10-13T10:00:00-05:00","from":"51900000012","text":"F2","team":"Ventas"}
{"type":"reply","at":"2026-10-13T10:05:00-05:00","contact":"51900000012","agent":"ana@example.com","text":"a"}
{"type":"status","at":"2026-10-13T10:10:00-05:00","contact":"51900000012","agent":"ana@example.com","status":"closed"}
{"type":"inbound","at":"2026-10-14T10:11:00-05:00","from":"51900000012","text":"F2 otra vez","team":"Ventas"}
{"type":"inbound","at":"2026-10-20T13:00:00-05:00","from":"51900000013","text":"F3","team":"Ventas"}
{"type":"reply","at":"2026-10-20T13:05:00-05:00","contact":"51900000013","agent":"ana@example.com","text":"a"}
{"type":"status","at":"2026-10-20T13:10:00-05:00","contact":"51900000013","agent":"ana@example.com","status":"closed"}
{"type":"inbound","at":"2026-10-13T11:00:00-05:00","from":"51900000014","text":"T1","team":"Ventas"}
{"type":"assign","at":"2026-10-13T11:01:00-05:00","contact":"51900000014","agent":"carla@example.com"}
{"type":"reply","at":"2026-10-13T11:05:00-05:00","contact":"51900000014","agent":"carla@example.com","text":"a"}
{"type":"transfer","at":"2026-10-13T11:10:00-05:00","contact":"51900000014","team":"Ventas","agent":"ana@example.com","note":"te lo paso"}
{"type":"reply","at":"2026-10-13T11:15:00-05:00","contact":"51900000014","agent":"ana@example.com","text":"b"}
{"type":"status","at":"2026-10-13T11:20:00-05:00","contact":"51900000014","agent":"ana@example.com","status":"closed"}
{"type":"inbound","at":"2026-10-13T12:00:00-05:00","from":"51900000016","text":"U1","team":"Ventas"}
{"type":"assign","at":"2026-10-13T12:01:00-05:00","contact":"51900000016","agent":"carla@example.com"}
{"type":"reply","at":"2026-10-13T12:05:00-05:00","contact":"51900000016","agent":"carla@example.com","text":"a"}
{"type":"status","at":"2026-10-13T12:20:00-05:00","contact":"51900000016","agent":"carla@example.com","status":"closed"}
{"type":"inbound","at":"2026-10-08T17:30:00-05:00","from":"51900000015","text":"H1","team":"Ventas"}
{"type":"reply","at":"2026-10-12T09:30:00-05:00","contact":"51900000015","agent":"ana@example.com","text":"tras el feriado"}
{"type":"inbound","at":"2026-09-05T23:00:00-04:00","from":"51900000021","text":"C1","team":"Chile"}
{"type":"reply","at":"2026-09-06T03:00:00-03:00","contact":"51900000021","agent":"pedro@example.com","text":"a"}
{"type":"inbound","at":"2026-04-04T22:00:00-03:00","from":"51900000022","text":"C2","team":"Chile"}
{"type":"reply","at":"2026-04-05T00:30:00-04:00","contact":"51900000022","agent":"pedro@example.com","text":"a"}
`

var definitionsNow = time.Date(2026, 10, 20, 20, 0, 0, 0, time.UTC)

func TestDefinitionsByHand(t *testing.T) {
	clk := clock.NewManual(definitionsNow)
	app := testutil.NewAppWithClock(t, clk)
	ctx := context.Background()
	svc := app.Server.Services
	_, err := svc.Importer.Run(ctx, strings.NewReader(definitions), importer.Options{})
	testutil.Must(t, err)
	var ws models.Workspace
	testutil.Must(t, app.DB.Gorm.First(&ws).Error)
	half, ten, two := 1800, 600, 7200
	pol := models.SLAPolicy{WorkspaceID: ws.ID, Name: "Soporte", FirstResponseSeconds: &half, NextResponseSeconds: &ten, ResolutionSeconds: &two}
	testutil.Must(t, app.DB.Gorm.Create(&pol).Error)
	testutil.Must(t, app.DB.Gorm.Model(&models.Team{}).Where("name = 'Soporte'").Update("sla_policy_id", pol.ID).Error)

	run := func(team string) reports.Report {
		t.Helper()
		r, err := svc.Reports.Run(ctx, reports.Query{WorkspaceID: ws.ID, From: "2026-04-01", To: "2026-10-20", Team: team, WithCycles: true})
		testutil.Must(t, err)
		return r
	}
	// cycles by contact, oldest first.
	byContact := func(r reports.Report) map[string][]reports.Cycle {
		m := map[string][]reports.Cycle{}
		for _, c := range r.Cycles {
			k := c.Contact[len(c.Contact)-2:]
			m[k] = append(m[k], c)
		}
		return m
	}
	sec := func(f *float64) float64 {
		if f == nil {
			return -1
		}
		return *f
	}
	r := run("")
	cs := byContact(r)
	check := func(what string, got, want any) {
		t.Helper()
		if gb, _ := json.Marshal(got); string(gb) != mustJSON(want) {
			t.Errorf("%s = %s, want %s", what, gb, mustJSON(want))
		}
	}

	// Pending time is taken out of the resolution SLA: 3 h 10 min open, 2 h 55 min pending.
	s1 := cs["01"][0]
	check("S1 resolution", sec(s1.Resolution), 11400)
	check("S1 next responses", s1.NextResponses, []float64{300})
	check("S1 breaches", s1.Breaches, nil)
	// A 15-minute next response misses the 10-minute target.
	check("S2 breaches", cs["02"][0].Breaches, []string{"next_response"})
	// Closed after 20 minutes without a reply: unanswered, within the first-response target.
	check("S3 unanswered", []any{len(cs["03"][0].Replies), cs["03"][0].Breaches}, []any{0, nil})
	// Open for an hour without a reply: breached now, though no job has run.
	check("S4 breaches", cs["04"][0].Breaches, []string{"first_response"})
	check("S5 (10 minutes old)", cs["05"][0].Breaches, nil)
	// 29 hours without a reply: the window closed, and the target was missed.
	check("S6", []any{cs["06"][0].WindowLost, cs["06"][0].Breaches}, []any{true, []string{"first_response", "resolution"}})
	// A reply 25 hours after the customer's message: the window had closed.
	check("S7 window lost", cs["07"][0].WindowLost, true)
	check("S1 window", s1.WindowLost, false)

	// Reopened 22 h 50 min after the close: not resolved on first contact; the new
	// cycle is. Reopened 24 h 01 min after: it was.
	check("F1 FCR", []bool{cs["11"][0].FCR, cs["11"][1].FCR}, []bool{false, true})
	check("F2 FCR", cs["12"][0].FCR, true)
	check("F3 FCR (closed 1 h 50 min ago)", cs["13"][0].FCR, true)
	// Assigning before the first reply is no transfer; handing over after it is.
	check("T1", []bool{cs["14"][0].Transferred, cs["14"][0].FCR}, []bool{true, false})
	check("U1", []bool{cs["16"][0].Transferred, cs["16"][0].FCR}, []bool{false, true})
	// Thursday 17:30 to Monday 09:30 across a holiday Friday and the weekend: 30 + 30 business minutes.
	h1 := cs["15"][0]
	check("H1 first response", []float64{sec(h1.FirstResponse), sec(h1.FirstResponseBusiness)}, []float64{316800, 3600})
	// Santiago, September: 00:00–01:00 on Sunday does not exist; Saturday 23–24 and Sunday 01:00–01:30 count.
	c1 := cs["21"][0]
	check("C1 (DST starts)", []float64{sec(c1.FirstResponse), sec(c1.FirstResponseBusiness)}, []float64{10800, 5400})
	// Santiago, April: Saturday 23:00–24:00 happens twice and counts twice (3 h of
	// Saturday's 22:00–24:00) plus Sunday 00:00–00:30; counted once it would be 2 h 30 min.
	c2 := cs["22"][0]
	check("C2 (DST ends)", []float64{sec(c2.FirstResponse), sec(c2.FirstResponseBusiness)}, []float64{12600, 12600})

	// Soporte's aggregates: 7 cycles; evaluated S1 S2 S3 S4 S6 S7 (S5 is open without a
	// breach); hit S1 and S3.
	sop := run("Soporte").Overall
	check("Soporte", []any{sop.Conversations, sop.Unanswered, sop.WindowLost, sop.SLA}, []any{7, 4, 2, map[string]any{"evaluated": 6, "hit": 2, "hit_rate": 1.0 / 3}})
	teams := map[string]reports.TeamRow{}
	for _, tr := range r.Teams {
		teams[tr.Team] = tr
	}
	check("teams without a policy are never evaluated", []int{teams["Ventas"].SLA.Evaluated, teams["Chile"].SLA.Evaluated}, []int{0, 0})
	check("overall SLA", r.Overall.SLA.Evaluated, 6)

	// Half an hour later S5 has waited 40 minutes: breached, with no job in between.
	clk.Advance(30 * time.Minute)
	sop = run("Soporte").Overall
	check("Soporte 30 min later", sop.SLA, map[string]any{"evaluated": 7, "hit": 2, "hit_rate": 2.0 / 7})

	// The job catches up, settles what closed more than 24 h ago, and changes nothing.
	snapshot := func() string { r := run(""); return mustJSON(r) + mustJSON(r.Cycles) }
	before := snapshot()
	testutil.Must(t, svc.RunJob(ctx, "reports.rollup", clk.Now()))
	var queued, settled, unsettled int
	testutil.Must(t, app.DB.Gorm.Raw(`SELECT count(*) FROM report_dirty`).Row().Scan(&queued))
	testutil.Must(t, app.DB.Gorm.Raw(`SELECT count(*) FILTER (WHERE settled), count(*) FILTER (WHERE NOT settled AND closed_at IS NOT NULL) FROM cycle_figures`).Row().Scan(&settled, &unsettled))
	check("after the job", []int{queued, settled, unsettled}, []int{0, 9, 1}) // F3 closed today
	if after := snapshot(); after != before {
		t.Errorf("the job changed the report:\n%s\n%s", before, after)
	}

	// F3's customer writes again 1 h 20 min after the close: it no longer counts as
	// resolved on first contact, at once (the job has not run).
	_, err = svc.Importer.Run(ctx, strings.NewReader(`{"type":"inbound","at":"2026-10-20T14:30:00-05:00","from":"51900000013","text":"F3 otra vez","team":"Ventas"}`+"\n"), importer.Options{})
	testutil.Must(t, err)
	check("F3 FCR after the reopen", byContact(run(""))["13"][0].FCR, false)

	// Recomputing everything from scratch gives the same report as the incremental path.
	testutil.Must(t, svc.RunJob(ctx, "reports.rollup", clk.Now()))
	incremental := snapshot()
	testutil.Must(t, app.DB.Gorm.Exec(`TRUNCATE cycle_figures, report_daily`).Error)
	testutil.Must(t, app.DB.Gorm.Exec(`INSERT INTO report_dirty (cycle_id, workspace_id) SELECT id, workspace_id FROM cycles ON CONFLICT DO NOTHING`).Error)
	if scratch := snapshot(); scratch != incremental {
		t.Errorf("incremental and from-scratch reports differ:\n%s\n%s", incremental, scratch)
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
