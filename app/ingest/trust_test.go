package ingest_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/atiende/atiende/app/clock"
	"github.com/atiende/atiende/app/ingest"
	"github.com/atiende/atiende/app/jobs"
	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

// poisoned is the shared mixed batch with a NUL in a message id, a media id, a mime
// type, a sha256, a context id and a caption, plus a message whose id PostgreSQL cannot
// index (too long), plus a status with a NUL in its id: before, the NULs made the
// webhook answer 500 on every retry and nothing of the batch was stored.
func poisoned(t *testing.T) []byte {
	t.Helper()
	s := string(fixture(t, "inbound_batch_mixed.json"))
	for old, repl := range map[string]string{
		`"id":"wamid.BATCH0001"`:     `"id":"wamid.BATCH\u00000001"`,
		`"id":"1479537139650973"`:    `"id":"1479537139650973\u0000"`,
		`"mime_type":"image/jpeg"`:   `"mime_type":"image/jpeg\u0000"`,
		`"sha256":"N8PlvWAW`:         `"sha256":"N8Pl\u0000vWAW`,
		`"id":"wamid.MENU0001"`:      `"id":"wamid.MENU\u00000001"`,
		`"caption":"comprobante de `: `"caption":"comprobante\u0000 de `,
	} {
		if !strings.Contains(s, old) {
			t.Fatalf("fixture changed: %q not found", old)
		}
		s = strings.Replace(s, old, repl, 1)
	}
	var w map[string]any
	testutil.Must(t, json.Unmarshal([]byte(s), &w))
	value := w["entry"].([]any)[0].(map[string]any)["changes"].([]any)[0].(map[string]any)["value"].(map[string]any)
	huge := make([]byte, 12000)
	rand.Read(huge)
	value["messages"] = append(value["messages"].([]any), map[string]any{"from": "51987654321", "id": "wamid." + hex.EncodeToString(huge),
		"timestamp": "1761912040", "type": "text", "text": map[string]any{"body": "este no entra"}})
	value["statuses"] = []any{map[string]any{"id": "wamid.OUT\u00000001", "status": "delivered", "timestamp": "1761912050", "recipient_id": "51987654321"}}
	b, err := json.Marshal(w)
	testutil.Must(t, err)
	return b
}

func TestPoisonItemsDoNotSinkTheBatch(t *testing.T) {
	app := testutil.NewApp(t)
	ch := fixtureChannel(t, app)
	body := poisoned(t)
	for i := 0; i < 2; i++ { // Meta's retry of the same body changes nothing
		if code := app.Webhook(ch, body); code != http.StatusOK {
			t.Fatalf("delivery %d answered %d, want 200", i+1, code)
		}
	}
	good := count(t, app, "SELECT count(*) FROM messages WHERE direction = 'in'")
	if good != 6 {
		t.Errorf("stored %d of the batch's 6 good messages", good)
	}
	var img models.Message
	testutil.Must(t, app.DB.Gorm.Where("wamid = ?", "wamid.BATCH0002").First(&img).Error)
	if img.MediaID != "1479537139650973" || img.MediaMime != "image/jpeg" || img.Body != "comprobante de pago" {
		t.Errorf("image cleaned to %q %q %q", img.MediaID, img.MediaMime, img.Body)
	}
	if n := count(t, app, "SELECT count(*) FROM messages WHERE wamid = 'wamid.BATCH0001'"); n != 1 {
		t.Errorf("the message whose id held a NUL was not stored under its cleaned id")
	}
	if n := count(t, app, "SELECT count(*) FROM messages WHERE context_wamid = 'wamid.MENU0001'"); n != 1 {
		t.Errorf("context id not cleaned")
	}
	if n := count(t, app, "SELECT count(*) FROM message_statuses WHERE wamid = 'wamid.OUT0001'"); n != 1 {
		t.Errorf("status with a NUL in its id not recorded")
	}
	dls, err := app.Server.Ingest.DeadLetters(context.Background(), ch.WorkspaceID, true, 10)
	testutil.Must(t, err)
	if len(dls) != 2 { // one per delivery: the retry fails the same way
		t.Fatalf("dead letters = %d, want 2", len(dls))
	}
	if dls[0].Kind != "message" || !strings.HasPrefix(dls[0].ItemID, "wamid.") || dls[0].Error == "" ||
		!strings.Contains(string(dls[0].Payload), "este no entra") {
		t.Errorf("dead letter = %+v", dls[0])
	}
	t.Logf("poison batch: %d of 6 good messages stored, %d item(s) set aside per delivery", good, len(dls)/2)
	if n := count(t, app, "SELECT count(*) FROM webhook_events WHERE failed = 1 AND messages + duplicates = 6"); n != 2 {
		t.Errorf("deliveries recorded with their outcome: %d, want 2", n)
	}
}

// failOn makes every message with body text fail to insert, as a transient fault would.
func failOn(t *testing.T, app *testutil.App, text string) func() {
	testutil.Must(t, app.DB.Gorm.Exec(fmt.Sprintf(`ALTER TABLE messages ADD CONSTRAINT test_poison CHECK (body <> '%s') NOT VALID`, text)).Error)
	return func() { testutil.Must(t, app.DB.Gorm.Exec(`ALTER TABLE messages DROP CONSTRAINT test_poison`).Error) }
}

func TestDeadLettersAreRetriedWithBackoffThenGivenUp(t *testing.T) {
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	ch := app.Channel(ws, "Ventas")
	ctx := context.Background()
	at := time.Now().UTC().Truncate(time.Second)
	restore := failOn(t, app, "veneno")
	body := testutil.InboundMessages(ch, []map[string]any{{"wa_id": "51911111111", "profile": map[string]any{"name": "Rosa"}}},
		map[string]any{"from": "51911111111", "id": "wamid.OK", "timestamp": fmt.Sprint(at.Unix()), "type": "text", "text": map[string]any{"body": "hola"}},
		map[string]any{"from": "51911111111", "id": "wamid.BAD", "timestamp": fmt.Sprint(at.Unix() + 1), "type": "text", "text": map[string]any{"body": "veneno"}})
	if code := app.Webhook(ch, body); code != http.StatusOK {
		t.Fatal(code)
	}
	if n := count(t, app, "SELECT count(*) FROM messages WHERE wamid = 'wamid.OK'"); n != 1 {
		t.Fatal("the good message of the batch was not stored")
	}
	var dl ingest.DeadLetter
	testutil.Must(t, app.DB.Gorm.Table("webhook_dead_letters").First(&dl).Error)
	if dl.ItemID != "wamid.BAD" || dl.NextRetryAt == nil || !strings.Contains(dl.Error, "test_poison") {
		t.Fatalf("dead letter = %+v", dl)
	}
	// The job runs at the time a manual clock says.
	clk := clock.NewManual(dl.NextRetryAt.Add(-time.Second))
	g := app.Server.Ingest
	// Not due yet: nothing happens.
	testutil.Must(t, jobs.RetryDeadLetters(ctx, g, clk.Now()))
	testutil.Must(t, app.DB.Gorm.Table("webhook_dead_letters").First(&dl).Error)
	if dl.Attempts != 1 {
		t.Fatalf("retried before it was due: attempts %d", dl.Attempts)
	}
	// Due, still failing: the wait grows.
	clk.Advance(time.Second)
	testutil.Must(t, jobs.RetryDeadLetters(ctx, g, clk.Now()))
	testutil.Must(t, app.DB.Gorm.Table("webhook_dead_letters").First(&dl).Error)
	if dl.Attempts != 2 || dl.NextRetryAt == nil || dl.NextRetryAt.Sub(clk.Now()) != ingest.RetryBackoff(2) || dl.ResolvedAt != nil {
		t.Fatalf("after a failed retry: %+v", dl)
	}
	// The fault goes away: the next retry stores it.
	restore()
	clk.Set(*dl.NextRetryAt)
	testutil.Must(t, jobs.RetryDeadLetters(ctx, g, clk.Now()))
	testutil.Must(t, app.DB.Gorm.Table("webhook_dead_letters").First(&dl).Error)
	if dl.ResolvedAt == nil {
		t.Fatalf("not resolved: %+v", dl)
	}
	var m models.Message
	testutil.Must(t, app.DB.Gorm.Where("wamid = ?", "wamid.BAD").First(&m).Error)
	if m.Body != "veneno" || !m.CreatedAt.Equal(at.Add(time.Second)) {
		t.Errorf("replayed message = %q at %v", m.Body, m.CreatedAt)
	}

	// One that keeps failing is given up 7 days after it arrived.
	failOn(t, app, "siempre")
	body = testutil.InboundText(ch, "51922222222", "Luis", "wamid.ALWAYS", "siempre", at)
	if code := app.Webhook(ch, body); code != http.StatusOK {
		t.Fatal(code)
	}
	var stuck ingest.DeadLetter
	testutil.Must(t, app.DB.Gorm.Table("webhook_dead_letters").Where("item_id = 'wamid.ALWAYS'").First(&stuck).Error)
	clk.Set(stuck.ReceivedAt)
	for i := 0; i < 200 && stuck.NextRetryAt != nil; i++ {
		clk.Set(*stuck.NextRetryAt)
		testutil.Must(t, jobs.RetryDeadLetters(ctx, g, clk.Now()))
		id := stuck.ID
		stuck = ingest.DeadLetter{}
		testutil.Must(t, app.DB.Gorm.Table("webhook_dead_letters").Where("id = ?", id).First(&stuck).Error)
	}
	if stuck.NextRetryAt != nil || stuck.ResolvedAt != nil {
		t.Fatalf("still scheduled after 200 retries: %+v", stuck)
	}
	now := clk.Now()
	if since := now.Sub(stuck.ReceivedAt); since > ingest.RetryWindow || since < ingest.RetryWindow-ingest.RetryBackoff(100) {
		t.Errorf("last retry %v after arrival, want within the last backoff of 7 days", since)
	}
	t.Logf("a permanently failing item was tried %d times over %v", stuck.Attempts, now.Sub(stuck.ReceivedAt).Round(time.Hour))
}
