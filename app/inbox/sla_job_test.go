package inbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/atiende/atiende/app/inbox"
	"github.com/atiende/atiende/app/live"
	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

// Overlapping runs of the sla job (each with its parallel batches) over more than a
// batch of due conversations: every threshold is announced exactly once — one event,
// one activity line, one live notification per conversation with its toast — and the
// card's state and next check move on.
func TestCheckSLAOverlappingRunsAnnounceEachThresholdOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := testutil.NewDatabaseURL(t)
	d := testutil.NewDBFromURL(t, u)
	db := d.Gorm
	ws := models.Workspace{Name: "Acme", Timezone: "America/Lima"}
	testutil.Must(t, db.Create(&ws).Error)
	team := models.Team{WorkspaceID: ws.ID, Name: "Ventas", Color: "#0f766e", RoutingMode: "manual"}
	testutil.Must(t, db.Create(&team).Error)
	ch := models.Channel{WorkspaceID: ws.ID, Name: "Principal", PhoneNumberID: "106540352242923", DisplayPhone: "+51 1 555 0101"}
	testutil.Must(t, db.Create(&ch).Error)
	var users []models.User
	for i, role := range []string{models.RoleSupervisor, models.RoleSupervisor, models.RoleAgent} {
		u := models.User{WorkspaceID: ws.ID, Email: fmt.Sprintf("u%d@acme.pe", i), Name: "Persona", Role: role, Active: true, Presence: "offline"}
		testutil.Must(t, db.Create(&u).Error)
		testutil.Must(t, db.Exec(`INSERT INTO team_members (workspace_id, team_id, user_id) VALUES (?, ?, ?)`, ws.ID, team.ID, u.ID).Error)
		users = append(users, u)
	}
	sup1, sup2, agent := users[0].ID, users[1].ID, users[2].ID
	exec := func(sql string, args ...any) {
		t.Helper()
		testutil.Must(t, db.Exec(sql, args...).Error)
	}
	now := time.Date(2026, 10, 5, 16, 0, 0, 0, time.UTC)
	exec(`INSERT INTO sla_policies (workspace_id, name, first_response_seconds, resolution_seconds) VALUES (?, 'Ventas', 3600, 14400)`, ws.ID)
	exec(`UPDATE teams SET sla_policy_id = (SELECT id FROM sla_policies WHERE workspace_id = ?) WHERE id = ?`, ws.ID, team.ID)
	const n = inbox.SLABatch + inbox.SLABatch/2
	exec(`INSERT INTO contacts (workspace_id, wa_id, phone, profile_name, created_at, updated_at)
		SELECT ?, '51911' || lpad(i::text, 6, '0'), '+51911' || lpad(i::text, 6, '0'), 'Cliente ' || i, now(), now()
		FROM generate_series(1, ?) i`, ws.ID, n+100)
	// n conversations opened 61 minutes ago with nothing announced (the warning and the
	// breach of the first response come due together: only the breach is announced),
	// every other one assigned to the agent; 100 more opened just now.
	exec(`INSERT INTO conversations (workspace_id, channel_id, contact_id, status, team_id, assignee_id, last_message_at,
			last_inbound_at, waiting_since, first_response_due_at, first_response_warn_at, resolution_due_at, resolution_warn_at,
			sla_state, sla_next_check_at, created_at, updated_at)
		SELECT ?, ?, k.id, 'new', ?, CASE WHEN k.n % 2 = 0 THEN ?::bigint END, o, o, o, o + interval '1 hour', o + interval '48 minutes',
			o + interval '4 hours', o + interval '192 minutes', 'ok', o + interval '48 minutes', o, o
		FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM contacts WHERE workspace_id = ?) k,
			LATERAL (SELECT CASE WHEN k.n <= ? THEN ?::timestamptz - interval '61 minutes' ELSE ?::timestamptz END AS o) t`,
		ws.ID, ch.ID, team.ID, agent, ws.ID, n, now, now)
	exec(`INSERT INTO cycles (workspace_id, conversation_id, opened_at, opened_by, team_id)
		SELECT workspace_id, id, last_message_at, 'inbound', team_id FROM conversations WHERE workspace_id = ?`, ws.ID)
	exec(`UPDATE conversations c SET cycle_id = y.id FROM cycles y WHERE y.conversation_id = c.id`)

	var named []struct {
		ID   int64
		Name string
	}
	testutil.Must(t, db.Raw(`SELECT c.id, k.profile_name AS name FROM conversations c JOIN contacts k ON k.id = c.contact_id
		WHERE c.workspace_id = ?`, ws.ID).Scan(&named).Error)
	names := map[int64]string{}
	for _, r := range named {
		names[r.ID] = r.Name
	}

	listener, err := pgx.Connect(ctx, u)
	testutil.Must(t, err)
	defer listener.Close(ctx)
	_, err = listener.Exec(ctx, "LISTEN "+live.Channel)
	testutil.Must(t, err)

	const runs = 3
	var wg sync.WaitGroup
	alerts := make([]int, runs)
	errs := make([]error, runs)
	for i := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			alerts[i], errs[i] = inbox.CheckSLA(ctx, d.Pool, now)
		}()
	}
	wg.Wait()
	total := 0
	for i := range runs {
		testutil.Must(t, errs[i])
		total += alerts[i]
	}
	if total != n {
		t.Fatalf("the runs announced %d alerts together (%v), want %d", total, alerts, n)
	}
	if again, err := inbox.CheckSLA(ctx, d.Pool, now); err != nil || again != 0 {
		t.Fatalf("a later run announced %d (%v)", again, err)
	}

	var check struct {
		Events, Breaches, Convs, Activity, Linked, Marked, Untouched int64
	}
	testutil.Must(t, db.Raw(`SELECT
			(SELECT count(*) FROM conversation_events WHERE workspace_id = ? AND kind LIKE 'sla_%') AS events,
			(SELECT count(*) FROM conversation_events WHERE workspace_id = ? AND kind = ? AND note = 'first_response 3600'
				AND actor_kind = ? AND at = ?::timestamptz - interval '1 minute') AS breaches,
			(SELECT count(DISTINCT conversation_id) FROM conversation_events WHERE workspace_id = ? AND kind LIKE 'sla_%') AS convs,
			(SELECT count(*) FROM messages WHERE workspace_id = ? AND kind = 'activity') AS activity,
			(SELECT count(*) FROM messages m JOIN conversation_events e ON e.id = m.event_id AND e.conversation_id = m.conversation_id
				AND e.cycle_id = m.cycle_id AND e.at = m.created_at WHERE m.workspace_id = ? AND m.kind = 'activity') AS linked,
			(SELECT count(*) FROM conversations WHERE workspace_id = ? AND sla_notified = 3 AND sla_state = 'breached'
				AND sla_next_check_at = resolution_warn_at) AS marked,
			(SELECT count(*) FROM conversations WHERE workspace_id = ? AND sla_notified = 0 AND sla_state = 'ok'
				AND sla_next_check_at > ?) AS untouched`,
		ws.ID, ws.ID, inbox.EvSLABreach, inbox.ActorSLA, now, ws.ID, ws.ID, ws.ID, ws.ID, ws.ID, now).Scan(&check).Error)
	if check.Events != n || check.Breaches != n || check.Convs != n || check.Activity != n || check.Linked != n ||
		check.Marked != n || check.Untouched != 100 {
		t.Fatalf("want %d of each (100 untouched): %+v", n, check)
	}

	// One notification per conversation, with the toast for the assignee and the supervisors.
	seen := map[int64]bool{}
	for len(seen) < n {
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		note, err := listener.WaitForNotification(wctx)
		cancel()
		if err != nil {
			t.Fatalf("after %d notifications: %v", len(seen), err)
		}
		var e live.Event
		testutil.Must(t, json.Unmarshal([]byte(note.Payload), &e))
		if e.Kind != "sla" || e.WorkspaceID != ws.ID || seen[e.ConversationID] {
			t.Fatalf("unexpected or repeated notification %s", note.Payload)
		}
		seen[e.ConversationID] = true
		var toast inbox.SLAToast
		testutil.Must(t, json.Unmarshal([]byte(e.Text), &toast))
		want := []int64{sup1, sup2}
		if e.AssigneeID != nil {
			want = []int64{agent, sup1, sup2}
		}
		if fmt.Sprint(toast.Users) != fmt.Sprint(want) || !toast.Breach ||
			toast.Text != names[e.ConversationID]+" · Se venció el plazo de primera respuesta (1 h)" {
			t.Fatalf("toast %+v (assignee %v)", toast, e.AssigneeID)
		}
	}
	wctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if note, err := listener.WaitForNotification(wctx); err == nil {
		t.Fatalf("one notification too many: %s", note.Payload)
	}
}
