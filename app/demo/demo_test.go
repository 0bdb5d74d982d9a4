package demo_test

import (
	"context"
	"testing"
	"time"

	"github.com/atiende/atiende/app/config"
	"github.com/atiende/atiende/app/demo"
	"github.com/atiende/atiende/app/testutil"
)

func TestDemoIsIdempotentAndFillsEveryColumn(t *testing.T) {
	d := testutil.NewDB(t)
	cfg, err := config.Load(func(string) string { return "" })
	testutil.Must(t, err)
	ctx := context.Background()
	counts := func() map[string]int64 {
		out := map[string]int64{}
		for _, table := range []string{"workspaces", "users", "teams", "channels", "contacts", "conversations", "cycles", "messages", "labels", "outbox"} {
			var n int64
			testutil.Must(t, d.Gorm.Table(table).Count(&n).Error)
			out[table] = n
		}
		return out
	}
	t0 := time.Now()
	res, err := demo.Load(ctx, d, cfg)
	testutil.Must(t, err)
	t.Logf("the demo loaded in %s", time.Since(t0).Round(time.Millisecond))
	if len(res.Users) != 6 || res.WebhookPath == "" {
		t.Fatalf("demo result %+v", res)
	}
	first := counts()
	if first["cycles"] < 30 || first["outbox"] != 0 {
		t.Errorf("demo history: %d cycles (want weeks of them), %d outbox rows (history is never sent)", first["cycles"], first["outbox"])
	}
	var statuses []string
	testutil.Must(t, d.Gorm.Raw("SELECT DISTINCT status FROM conversations ORDER BY 1").Scan(&statuses).Error)
	if len(statuses) != 4 {
		t.Errorf("demo fills columns %v, want all four", statuses)
	}
	// Six weeks of history: what a manager's first look at the reports needs.
	var facts struct {
		Days, Cycles, Transferred, Reopened, Unanswered, Won, Lost, Teams, WithPolicy, Policies, Canned, Templates int
		Clash                                                                                                      string
	}
	testutil.Must(t, d.Gorm.Raw(`SELECT
		(SELECT (now()::date - min(opened_at)::date) FROM cycles) AS days,
		(SELECT count(*) FROM cycles) AS cycles,
		(SELECT count(*) FROM cycles WHERE transferred) AS transferred,
		(SELECT count(*) FROM cycles y JOIN cycles p ON p.conversation_id = y.conversation_id AND p.id <> y.id
			AND p.closed_at <= y.opened_at AND y.opened_at < p.closed_at + interval '24 hours') AS reopened,
		(SELECT count(*) FROM cycles WHERE closed_at IS NOT NULL AND first_reply_at IS NULL) AS unanswered,
		(SELECT count(*) FROM leads l JOIN stages s ON s.id = l.stage_id WHERE s.kind = 'won') AS won,
		(SELECT count(*) FROM leads l JOIN stages s ON s.id = l.stage_id WHERE s.kind = 'lost') AS lost,
		(SELECT count(*) FROM teams) AS teams,
		(SELECT count(*) FROM teams WHERE sla_policy_id IS NOT NULL AND calendar_id IS NOT NULL) AS with_policy,
		(SELECT count(*) FROM sla_policies) AS policies,
		(SELECT count(*) FROM canned_responses) AS canned,
		(SELECT count(*) FROM templates WHERE status = 'approved') AS templates,
		COALESCE((SELECT string_agg(t.name, ', ') FROM teams t JOIN labels l ON l.workspace_id = t.workspace_id AND lower(l.name) = lower(t.name)), '') AS clash`).
		Scan(&facts).Error)
	t.Logf("demo history: %+v", facts)
	if facts.Days < 41 || facts.Cycles < 200 {
		t.Errorf("the history covers %d days with %d cycles, want six weeks of a busy team", facts.Days, facts.Cycles)
	}
	if facts.Transferred == 0 || facts.Reopened == 0 || facts.Unanswered == 0 || facts.Won == 0 || facts.Lost == 0 {
		t.Errorf("the history lacks transfers, reopens, unanswered chats or won and lost leads: %+v", facts)
	}
	if facts.Teams != 3 || facts.WithPolicy != 3 || facts.Policies != 3 || facts.Canned == 0 || facts.Templates == 0 {
		t.Errorf("teams with a calendar and an SLA policy, canned responses, approved templates: %+v", facts)
	}
	if facts.Clash != "" {
		t.Errorf("a team and a label share a name (%s): a card would show it twice", facts.Clash)
	}
	_, err = demo.Load(ctx, d, cfg)
	testutil.Must(t, err)
	if second := counts(); len(second) != len(first) || second["messages"] != first["messages"] || second["users"] != first["users"] || second["conversations"] != first["conversations"] {
		t.Errorf("running the demo twice changed the data: %v -> %v", first, second)
	}
}
