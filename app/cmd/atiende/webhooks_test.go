package main

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/atiende/atiende/app/testutil"
)

func TestWebhooksFailedAndReplay(t *testing.T) {
	env := map[string]string{"DATABASE_URL": testutil.NewDatabaseURL(t)}
	ctx := context.Background()
	db, err := pgx.Connect(ctx, env["DATABASE_URL"])
	testutil.Must(t, err)
	defer db.Close(ctx)
	var ws, ch, id int64
	testutil.Must(t, db.QueryRow(ctx, `INSERT INTO workspaces (name) VALUES ('Acme') RETURNING id`).Scan(&ws))
	testutil.Must(t, db.QueryRow(ctx, `INSERT INTO channels (workspace_id, name, phone_number_id, webhook_key) VALUES ($1, 'Ventas', '1065', 'k1') RETURNING id`, ws).Scan(&ch))
	payload := `{"metadata":{"phone_number_id":"1065"},"contacts":[{"profile":{"name":"Rosa"},"wa_id":"51911111111"}],
		"messages":[{"from":"51911111111","id":"wamid.DL1","timestamp":"1761912000","type":"text","text":{"body":"¿Llegó mi pedido?"}}]}`
	testutil.Must(t, db.QueryRow(ctx, `INSERT INTO webhook_dead_letters (workspace_id, channel_id, kind, item_id, payload, error, received_at, last_tried_at, next_retry_at)
		VALUES ($1, $2, 'message', 'wamid.DL1', $3, 'la base de datos no respondió', now(), now(), now()) RETURNING id`, ws, ch, []byte(payload)).Scan(&id))

	out := mustRun(t, env, "webhooks", "failed")
	for _, want := range []string{"ID", "RECIBIDO", "CANAL", "ERROR", "Ventas", "la base de datos no respondió", "pendiente"} {
		if !strings.Contains(out, want) {
			t.Errorf("webhooks failed lacks %q:\n%s", want, out)
		}
	}
	if out := mustRun(t, env, "webhooks", "replay", strconv.FormatInt(id, 10)); !strings.Contains(out, "aplicado") {
		t.Errorf("replay said %q", out)
	}
	var body string
	testutil.Must(t, db.QueryRow(ctx, `SELECT body FROM messages WHERE wamid = 'wamid.DL1'`).Scan(&body))
	if body != "¿Llegó mi pedido?" {
		t.Errorf("replayed message body %q", body)
	}
	if out := mustRun(t, env, "webhooks", "failed"); !strings.Contains(out, "No hay webhooks fallidos") {
		t.Errorf("resolved dead letters still listed:\n%s", out)
	}
	for _, args := range [][]string{{"webhooks", "replay", "999"}, {"webhooks", "replay", "abc"}} {
		code, _, stderr := atiende(t, env, args...)
		if code == 0 || !strings.Contains(stderr, "webhook") {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
		assertNoStackTrace(t, stderr)
	}
}
