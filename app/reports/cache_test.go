package reports_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/atiende/atiende/app/reports"
	"github.com/atiende/atiende/app/testutil"
)

// A report seen again reuses its read only while nothing it depends on changed: after a
// new message, a cycle deleted, the settling or a team's SLA policy changing, the
// figures are those of a service that never saw the report before.
func TestReportCacheFollowsChanges(t *testing.T) {
	app, ws := withHistory(t)
	ctx := context.Background()
	svc := app.Server.Services.Reports
	q := reports.Query{WorkspaceID: ws, From: "2026-10-01", To: "2026-10-05"}
	page := q
	page.Clock = reports.ClockWall
	asJSON := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	check := func(step string) {
		t.Helper()
		fresh := reports.New(app.DB.Gorm, app.DB.Pool, svc.Clock)
		for i := 0; i < 2; i++ { // the second time from the cache
			got, err := svc.Run(ctx, q)
			testutil.Must(t, err)
			want, err := fresh.Run(ctx, q)
			testutil.Must(t, err)
			if asJSON(got) != asJSON(want) {
				t.Fatalf("%s: report\n%s\nwant\n%s", step, asJSON(got), asJSON(want))
			}
			gp, err := svc.Page(ctx, page)
			testutil.Must(t, err)
			wp, err := fresh.Page(ctx, page)
			testutil.Must(t, err)
			if asJSON(gp.Report) != asJSON(wp.Report) || asJSON(gp.Previous) != asJSON(wp.Previous) {
				t.Fatalf("%s: page\n%s\nwant\n%s", step, asJSON(gp.Report), asJSON(wp.Report))
			}
		}
	}
	check("first")
	before := asJSON(must(svc.Run(ctx, q)))

	// A late agent reply in the cycle without replies.
	testutil.Must(t, app.DB.Gorm.Exec(`INSERT INTO messages (workspace_id, conversation_id, cycle_id, channel_id, direction, kind, body,
			sender_type, sender_user_id, status, created_at)
		SELECT y.workspace_id, y.conversation_id, y.id, c.channel_id, 'out', 'text', 'tarde', 'agent',
			(SELECT id FROM users WHERE email = 'ana@example.com'), 'sent', y.opened_at + interval '3 hours'
		FROM cycles y JOIN conversations c ON c.id = y.conversation_id JOIN contacts k ON k.id = c.contact_id
		WHERE k.wa_id = '51922222222'`).Error)
	check("a new reply")
	if asJSON(must(svc.Run(ctx, q))) == before {
		t.Fatal("the new reply did not change the report")
	}

	// A policy for Ventas, then its target changes.
	testutil.Must(t, app.DB.Gorm.Exec(`INSERT INTO sla_policies (workspace_id, name, first_response_seconds, business_hours, warning_percent, created_at, updated_at)
		VALUES (?, 'Rápida', 600, false, 80, now(), now())`, ws).Error)
	testutil.Must(t, app.DB.Gorm.Exec(`UPDATE teams SET sla_policy_id = (SELECT id FROM sla_policies WHERE name = 'Rápida') WHERE name = 'Ventas'`).Error)
	check("a policy")
	testutil.Must(t, app.DB.Gorm.Exec(`UPDATE sla_policies SET first_response_seconds = 100000`).Error)
	check("a target")

	// The settling, then a cycle deleted.
	_, err := svc.Settle(ctx, svc.Clock.Now())
	testutil.Must(t, err)
	check("settled")
	testutil.Must(t, app.DB.Gorm.Exec(`DELETE FROM cycles WHERE id = (SELECT max(id) FROM cycles WHERE closed_at IS NOT NULL)`).Error)
	check("a cycle deleted")
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// A cycle whose packed figures are too long for the read index (hundreds of next
// responses) is read all the same.
func TestReportReadsLongCycles(t *testing.T) {
	app, ws := withHistory(t)
	ctx := context.Background()
	_, err := app.Server.Services.Reports.Rollup(ctx, app.Server.Services.Reports.Clock.Now())
	testutil.Must(t, err)
	testutil.Must(t, app.DB.Gorm.Exec(`UPDATE cycle_figures SET next_s = ARRAY(SELECT g * 1.5 FROM generate_series(1, 300) g),
		next_bs = ARRAY(SELECT g * 0.5 FROM generate_series(1, 300) g)
		WHERE cycle_id = (SELECT min(cycle_id) FROM cycle_figures)`).Error)
	var long int
	testutil.Must(t, app.DB.Gorm.Raw(`SELECT count(*) FROM cycle_figures WHERE octet_length(packed) > 2000`).Row().Scan(&long))
	if long != 1 {
		t.Fatalf("%d long cycles", long)
	}
	var want struct {
		N        int
		Avg, Max float64
	}
	testutil.Must(t, app.DB.Gorm.Raw(`SELECT count(*) AS n, round(avg(x)::numeric, 3)::float8 AS avg, round((percentile_cont(0.9) WITHIN GROUP (ORDER BY x))::numeric, 3)::float8 AS max
		FROM cycle_figures f, unnest(f.next_s) x WHERE f.opened_at >= '2026-10-01 05:00+00' AND f.opened_at < '2026-10-06 05:00+00'`).Scan(&want).Error)
	r, err := app.Server.Services.Reports.Run(ctx, reports.Query{WorkspaceID: ws, From: "2026-10-01", To: "2026-10-05"})
	testutil.Must(t, err)
	nr := r.Overall.NextResponse
	if want.N < 300 || nr.Count != want.N || *nr.Avg != want.Avg || *nr.P90 != want.Max {
		t.Fatalf("next responses %d avg %v p90 %v, want %+v", nr.Count, *nr.Avg, *nr.P90, want)
	}
}
