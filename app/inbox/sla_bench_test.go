package inbox_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/atiende/atiende/app/inbox"
	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

// BenchmarkSLAJob: the sla job over 10,000 open conversations whose first-response
// deadline has just passed (each gets a breach event, an activity line, a new state
// and a live notification with a toast), among 10,000 more not yet due — the worst
// minute a busy workspace can have. Target: under a second. Then the next run, with
// nothing left to mark.
func BenchmarkSLAJob(b *testing.B) {
	for range b.N {
		b.StopTimer()
		d := testutil.NewDB(b)
		db := d.Gorm
		ws := models.Workspace{Name: "Bench", Timezone: "America/Lima"}
		testutil.Must(b, db.Create(&ws).Error)
		team := models.Team{WorkspaceID: ws.ID, Name: "Ventas", Color: "#0f766e", RoutingMode: "manual"}
		testutil.Must(b, db.Create(&team).Error)
		ch := models.Channel{WorkspaceID: ws.ID, Name: "Principal", PhoneNumberID: "106540352242922", DisplayPhone: "+51 1 555 0100"}
		testutil.Must(b, db.Create(&ch).Error)
		for i := range 3 {
			u := models.User{WorkspaceID: ws.ID, Email: fmt.Sprintf("sup%d@bench.pe", i), Name: "Supervisor", Role: models.RoleSupervisor, Active: true, Presence: "offline"}
			testutil.Must(b, db.Create(&u).Error)
			testutil.Must(b, db.Exec(`INSERT INTO team_members (workspace_id, team_id, user_id) VALUES (?, ?, ?)`, ws.ID, team.ID, u.ID).Error)
		}
		now := time.Date(2026, 10, 5, 16, 0, 0, 0, time.UTC)
		exec := func(sql string, args ...any) {
			testutil.Must(b, db.Exec(sql, args...).Error)
		}
		exec(`INSERT INTO sla_policies (workspace_id, name, first_response_seconds, resolution_seconds) VALUES (?, 'Ventas', 3600, 14400)`, ws.ID)
		exec(`UPDATE teams SET sla_policy_id = (SELECT id FROM sla_policies WHERE workspace_id = ?) WHERE id = ?`, ws.ID, team.ID)
		exec(`INSERT INTO contacts (workspace_id, wa_id, phone, profile_name, created_at, updated_at)
			SELECT ?, '51900' || lpad(i::text, 6, '0'), '+51900' || lpad(i::text, 6, '0'), 'Cliente ' || i, now(), now()
			FROM generate_series(1, 20000) i`, ws.ID)
		// 10,000 opened an hour and a half ago (due now), 10,000 opened just now.
		exec(`INSERT INTO conversations (workspace_id, channel_id, contact_id, status, team_id, last_message_at, last_inbound_at,
				waiting_since, first_response_due_at, first_response_warn_at, resolution_due_at, resolution_warn_at, sla_state,
				sla_next_check_at, created_at, updated_at)
			SELECT ?, ?, k.id, 'new', ?, o, o, o, o + interval '1 hour', o + interval '48 minutes', o + interval '4 hours',
				o + interval '192 minutes', 'warning',
				CASE WHEN n <= 10000 THEN o + interval '1 hour' ELSE o + interval '48 minutes' END, o, o
			FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM contacts WHERE workspace_id = ?) k,
				LATERAL (SELECT CASE WHEN k.n <= 10000 THEN ?::timestamptz - interval '61 minutes' ELSE ?::timestamptz END AS o) t`,
			ws.ID, ch.ID, team.ID, ws.ID, now, now)
		exec(`UPDATE conversations SET sla_notified = 1 WHERE workspace_id = ? AND sla_next_check_at <= ?`, ws.ID, now)
		exec(`INSERT INTO cycles (workspace_id, conversation_id, opened_at, opened_by, team_id)
			SELECT workspace_id, id, last_message_at, 'inbound', team_id FROM conversations WHERE workspace_id = ?`, ws.ID)
		exec(`UPDATE conversations c SET cycle_id = y.id FROM cycles y WHERE y.conversation_id = c.id`)
		exec(`ANALYZE`)

		b.StartTimer()
		start := time.Now()
		n, err := inbox.CheckSLA(context.Background(), d.Pool, now)
		took := time.Since(start)
		b.StopTimer()
		testutil.Must(b, err)
		if n != 10000 {
			b.Fatalf("alerts %d, want 10000", n)
		}
		start = time.Now()
		again, err := inbox.CheckSLA(context.Background(), d.Pool, now)
		idle := time.Since(start)
		testutil.Must(b, err)
		if again != 0 {
			b.Fatalf("second run alerted %d", again)
		}
		b.ReportMetric(float64(took.Milliseconds()), "ms/10k-breaches")
		fmt.Printf("sla job: 10,000 breaches among 20,000 open conversations in %d ms (target < 1000 ms); next run %.1f ms\n",
			took.Milliseconds(), float64(idle.Microseconds())/1000)
	}
}
