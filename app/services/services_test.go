package services_test

import (
	"context"
	"testing"
	"time"

	"github.com/atiende/atiende/app/clock"
	"github.com/atiende/atiende/app/config"
	"github.com/atiende/atiende/app/services"
	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

// Jobs take the time they run at: driven by a manual clock, the presence job shows an
// agent offline only once their heartbeats are old by that clock, whatever the wall clock says.
func TestJobsRunAtTheTimeTheyAreGiven(t *testing.T) {
	d := testutil.NewDB(t)
	cfg, err := config.Load(func(k string) string {
		if k == "DATABASE_URL" {
			return d.URL
		}
		return ""
	})
	testutil.Must(t, err)
	t0 := time.Date(2031, 3, 9, 9, 0, 0, 0, time.UTC) // years ahead of the wall clock
	clk := clock.NewManual(t0)
	svc, err := services.New(cfg, d, clk, nil, nil)
	testutil.Must(t, err)
	ctx := context.Background()
	ws, err := svc.Accounts.EnsureWorkspace(ctx, "Acme", "America/Lima")
	testutil.Must(t, err)
	testutil.Must(t, d.Gorm.Exec(`INSERT INTO users (workspace_id, email, name, password_hash, role, presence, last_seen_at)
		VALUES (?, 'ana@acme.test', 'Ana', '!', 'agent', 'online', ?)`, ws.ID, t0).Error)
	presence := func() string {
		var p string
		testutil.Must(t, d.Gorm.Model(&models.User{}).Where("email = 'ana@acme.test'").Pluck("presence", &p).Error)
		return p
	}
	testutil.Must(t, svc.RunJob(ctx, "presence.away", t0.Add(30*time.Second)))
	if p := presence(); p != "online" {
		t.Fatalf("30 s after her last heartbeat Ana is %s", p)
	}
	clk.Advance(10 * time.Minute)
	testutil.Must(t, svc.RunJob(ctx, "presence.away", clk.Now()))
	if p := presence(); p != "offline" {
		t.Fatalf("10 min after her last heartbeat Ana is %s", p)
	}
	if err := svc.RunJob(ctx, "no.such.job", clk.Now()); err == nil {
		t.Fatal("an unknown job ran")
	}
	// Every job of the table runs at a given time without error.
	for _, j := range svc.Jobs() {
		if j.Name == "media.fetch" {
			continue // needs a Graph API
		}
		if err := j.Fn(ctx, clk.Now()); err != nil {
			t.Errorf("job %s: %v", j.Name, err)
		}
	}
}
