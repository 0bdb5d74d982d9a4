package main

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/app/whatsapp/fakemeta"
)

// `atiende templates sync` copies the templates of the channel's account from the
// Graph API (here the fake, which serves the demo's templates).
func TestTemplatesSyncCommand(t *testing.T) {
	fake := fakemeta.New(fakemeta.Config{NoStatusWebhooks: true})
	srv := httptest.NewServer(fake)
	t.Cleanup(func() { srv.Close(); fake.Close() })
	env := map[string]string{"DATABASE_URL": testutil.NewDatabaseURL(t), "WHATSAPP_GRAPH_URL": srv.URL + "/v25.0"}
	mustRun(t, env, "user", "add", "--email", "ana@acme.pe", "--name", "Ana", "--role", "admin", "--password", "secreta-123")
	// Without a channel there is nothing to read: said plainly.
	if out := mustRun(t, env, "templates", "sync"); !strings.Contains(out, "WABA ID") {
		t.Errorf("no channel: %q", out)
	}
	mustRun(t, env, "channel", "add", "--name", "Ventas", "--phone-number-id", "106540352242922", "--display-phone", "+51 1 555 0100",
		"--waba-id", "102290129340398", "--access-token", "tok", "--app-secret", "sec", "--verify-token", "ver")
	out := mustRun(t, env, "templates", "sync")
	if !strings.Contains(out, "6 plantillas de Meta al día") {
		t.Fatalf("stdout: %q", out)
	}
	db, err := pgx.Connect(context.Background(), env["DATABASE_URL"])
	testutil.Must(t, err)
	defer db.Close(context.Background())
	var approved int
	testutil.Must(t, db.QueryRow(context.Background(), `SELECT count(*) FROM templates WHERE status = 'approved' AND waba_id = '102290129340398'`).Scan(&approved))
	if approved != 4 {
		t.Errorf("%d approved templates, want 4", approved)
	}
}
