package demo_test

import (
	"context"
	"testing"

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
	res, err := demo.Load(ctx, d, cfg)
	testutil.Must(t, err)
	if len(res.Users) != 5 || res.WebhookPath == "" {
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
	_, err = demo.Load(ctx, d, cfg)
	testutil.Must(t, err)
	if second := counts(); len(second) != len(first) || second["messages"] != first["messages"] || second["users"] != first["users"] || second["conversations"] != first["conversations"] {
		t.Errorf("running the demo twice changed the data: %v -> %v", first, second)
	}
}
