package ingest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atiende/atiende/app/channels"
	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/app/whatsapp"
	"github.com/atiende/atiende/models"
)

// fixtureChannel connects the number the shared fixtures are addressed to.
func fixtureChannel(t *testing.T, app *testutil.App) models.Channel {
	t.Helper()
	ws := app.Workspace("Acme")
	ch, err := app.Server.Channels.Create(context.Background(), ws.ID, channels.Input{Name: "Principal", PhoneNumberID: "106540352242922",
		DisplayPhone: "+51 1 555 0100", WabaID: "102290129340398", AccessToken: "tok", AppSecret: testutil.AppSecret, VerifyToken: testutil.VerifyToken})
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "fixtures", "whatsapp", name))
	if err != nil {
		t.Skipf("shared fixtures not available: %v", err)
	}
	return b
}

func count(t *testing.T, app *testutil.App, q string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := app.DB.Gorm.Raw(q, args...).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func TestInboundTextFixture(t *testing.T) {
	app := testutil.NewApp(t)
	ch := fixtureChannel(t, app)
	if code := app.Webhook(ch, fixture(t, "inbound_text.json")); code != http.StatusOK {
		t.Fatalf("webhook: %d", code)
	}
	var c models.Contact
	testutil.Must(t, app.DB.Gorm.Where("wa_id = ?", "16505551234").First(&c).Error)
	if c.ProfileName != "Sheena Nelson" || c.Phone != "+16505551234" || c.Country != "US" {
		t.Errorf("contact = %+v", c)
	}
	var conv models.Conversation
	testutil.Must(t, app.DB.Gorm.Where("contact_id = ?", c.ID).First(&conv).Error)
	if conv.Status != models.StatusNew || conv.CycleID == nil || conv.UnreadCount != 1 || conv.LastMessagePreview != "Does it come in another color?" {
		t.Errorf("conversation = %+v", conv)
	}
	if conv.LastInboundAt == nil || !conv.LastInboundAt.Equal(time.Unix(1749416383, 0)) {
		t.Errorf("window starts at the message time, got %v", conv.LastInboundAt)
	}
	if n := count(t, app, "SELECT count(*) FROM webhook_events"); n != 1 {
		t.Errorf("raw payload kept %d times, want 1", n)
	}
}

func TestMixedBatchStoresEveryType(t *testing.T) {
	app := testutil.NewApp(t)
	ch := fixtureChannel(t, app)
	if code := app.Webhook(ch, fixture(t, "inbound_batch_mixed.json")); code != http.StatusOK {
		t.Fatalf("webhook: %d", code)
	}
	var msgs []models.Message
	testutil.Must(t, app.DB.Gorm.Order("wamid").Find(&msgs).Error)
	if len(msgs) != 6 {
		t.Fatalf("stored %d messages, want 6", len(msgs))
	}
	byWamid := map[string]models.Message{}
	for _, m := range msgs {
		byWamid[*m.Wamid] = m
	}
	check := func(wamid, kind, body string) models.Message {
		t.Helper()
		m := byWamid[wamid]
		if m.Kind != kind || m.Body != body {
			t.Errorf("%s: kind %q body %q, want %q %q", wamid, m.Kind, m.Body, kind, body)
		}
		return m
	}
	check("wamid.BATCH0001", "text", "Hola, necesito una cotización para 20 licencias 🙏")
	img := check("wamid.BATCH0002", "image", "comprobante de pago")
	if img.MediaID != "1479537139650973" || img.MediaMime != "image/jpeg" {
		t.Errorf("image media = %q %q", img.MediaID, img.MediaMime)
	}
	inter := check("wamid.BATCH0003", "interactive", "Ventas")
	if inter.ContextWamid != "wamid.MENU0001" || !strings.Contains(string(inter.Data), `"menu_ventas"`) {
		t.Errorf("interactive reply context %q data %s", inter.ContextWamid, inter.Data)
	}
	loc := check("wamid.BATCH0004", "location", "Oficina CDMX · Av. Reforma 222")
	if !strings.Contains(string(loc.Data), "19.4326") {
		t.Errorf("location data %s", loc.Data)
	}
	react := check("wamid.BATCH0005", "reaction", "👍")
	if react.ContextWamid != "wamid.OUT0001" {
		t.Errorf("reaction attached to %q", react.ContextWamid)
	}
	uns := check("wamid.BATCH0006", "unsupported", byWamid["wamid.BATCH0006"].Body)
	if !strings.Contains(uns.Body, "no") || uns.Body == "" {
		t.Errorf("unsupported reason %q", uns.Body)
	}
	if n := count(t, app, "SELECT count(*) FROM conversations"); n != 2 {
		t.Errorf("conversations = %d, want 2 (one per contact)", n)
	}
	if n := count(t, app, "SELECT count(*) FROM media WHERE media_id = '1479537139650973'"); n != 1 {
		t.Errorf("media rows = %d, want 1 (queued for fetching)", n)
	}
	// The Mexican contact's phone drops WhatsApp's legacy 1 after +52.
	var phone string
	app.DB.Gorm.Raw("SELECT phone FROM contacts WHERE wa_id = '5215512345678'").Scan(&phone)
	if phone != "+525512345678" {
		t.Errorf("MX phone %q", phone)
	}
}

func TestReplayedBatchIsStoredOnce(t *testing.T) {
	app := testutil.NewApp(t)
	ch := fixtureChannel(t, app)
	body := fixture(t, "inbound_batch_mixed.json")
	var wg sync.WaitGroup
	codes := make(chan int, 10)
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); codes <- app.Webhook(ch, body) }()
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != http.StatusOK {
			t.Errorf("a delivery answered %d, want 200", c)
		}
	}
	if n := count(t, app, "SELECT count(*) FROM messages WHERE direction = 'in'"); n != 6 {
		t.Errorf("messages = %d after 10 concurrent deliveries, want 6", n)
	}
	if n := count(t, app, "SELECT count(*) FROM cycles"); n != 2 {
		t.Errorf("cycles = %d, want 2", n)
	}
	var unread int64
	app.DB.Gorm.Raw("SELECT sum(unread_count) FROM conversations").Scan(&unread)
	if unread != 5 { // the reaction is not a message to answer
		t.Errorf("unread = %d, want 5", unread)
	}
	// Days later, the same payload again: still nothing new.
	if code := app.Webhook(ch, body); code != http.StatusOK {
		t.Fatal(code)
	}
	if n := count(t, app, "SELECT count(*) FROM messages WHERE direction = 'in'"); n != 6 {
		t.Errorf("messages = %d after a late retry, want 6", n)
	}
}

func TestBatchAcrossEntriesAndChanges(t *testing.T) {
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	ch := app.Channel(ws, "Ventas")
	other := app.Channel(ws, "Soporte") // same app, another number: Meta posts both to one callback
	now := time.Now()
	entry := func(c models.Channel, from string, ids ...string) map[string]any {
		var msgs []any
		for _, id := range ids {
			msgs = append(msgs, map[string]any{"from": from, "id": id, "timestamp": fmt.Sprint(now.Unix()), "type": "text", "text": map[string]any{"body": "hola " + id}})
		}
		return map[string]any{"field": "messages", "value": map[string]any{"messaging_product": "whatsapp",
			"metadata": map[string]any{"phone_number_id": c.PhoneNumberID}, "contacts": []any{map[string]any{"wa_id": from, "profile": map[string]any{"name": from}}},
			"messages": msgs}}
	}
	body, _ := json.Marshal(map[string]any{"object": "whatsapp_business_account", "entry": []any{
		map[string]any{"id": "1", "changes": []any{entry(ch, "51911111111", "wamid.E1", "wamid.E2"), entry(other, "51922222222", "wamid.E3")}},
		map[string]any{"id": "1", "changes": []any{entry(ch, "51933333333", "wamid.E4")}},
	}})
	if code := app.Webhook(ch, body); code != http.StatusOK {
		t.Fatal(code)
	}
	if n := count(t, app, "SELECT count(*) FROM messages"); n != 4 {
		t.Fatalf("messages = %d, want 4", n)
	}
	if n := count(t, app, "SELECT count(*) FROM messages WHERE channel_id = ?", other.ID); n != 1 {
		t.Errorf("messages on the second number = %d, want 1", n)
	}
}

// outbound inserts a message we sent with a known wamid, as the outbox would leave it.
func outbound(t *testing.T, app *testutil.App, conv models.Conversation, wamid string) int64 {
	t.Helper()
	m := models.Message{WorkspaceID: conv.WorkspaceID, ConversationID: conv.ID, ChannelID: conv.ChannelID, Direction: "out", Kind: "text",
		Body: "hola", Wamid: &wamid, SenderType: "agent", Status: "queued", CreatedAt: time.Now()}
	testutil.Must(t, app.DB.Gorm.Create(&m).Error)
	return m.ID
}

func statusBody(ch models.Channel, wamid, status string, ts int64, errs ...map[string]any) []byte {
	st := map[string]any{"id": wamid, "status": status, "timestamp": fmt.Sprint(ts), "recipient_id": "51987654321"}
	if len(errs) > 0 {
		st["errors"] = errs
	}
	b, _ := json.Marshal(map[string]any{"object": "whatsapp_business_account", "entry": []any{map[string]any{"id": "1", "changes": []any{
		map[string]any{"field": "messages", "value": map[string]any{"messaging_product": "whatsapp",
			"metadata": map[string]any{"phone_number_id": ch.PhoneNumberID}, "statuses": []any{st}}}}}}})
	return b
}

func TestStatusesOnlyMoveForward(t *testing.T) {
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	ch := app.Channel(ws, "Principal")
	conv := app.Inbound(ch, "51987654321", "Pedro", "Hola")
	id := outbound(t, app, conv, "wamid.OUT1")
	now := time.Now().Unix()
	for _, s := range []string{"read", "delivered", "sent", "read", "delivered"} { // out of order and repeated
		if code := app.Webhook(ch, statusBody(ch, "wamid.OUT1", s, now)); code != http.StatusOK {
			t.Fatalf("%s: %d", s, code)
		}
	}
	var m models.Message
	testutil.Must(t, app.DB.Gorm.First(&m, id).Error)
	if m.Status != "read" {
		t.Errorf("status = %q, want read (never backwards)", m.Status)
	}
	if n := count(t, app, "SELECT count(*) FROM message_statuses WHERE wamid = 'wamid.OUT1'"); n != 3 {
		t.Errorf("status rows = %d, want 3 (deduplicated on wamid+status)", n)
	}
}

func TestFailedStatusKeepsMetaReasonInSpanish(t *testing.T) {
	app := testutil.NewApp(t)
	ch := fixtureChannel(t, app)
	conv := app.Inbound(ch, "16505551234", "Sheena", "hi")
	id := outbound(t, app, conv, "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMQA=")
	if code := app.Webhook(ch, fixture(t, "status_failed_131047.json")); code != http.StatusOK {
		t.Fatal(code)
	}
	var m models.Message
	testutil.Must(t, app.DB.Gorm.First(&m, id).Error)
	if m.Status != "failed" || m.ErrorCode == nil || *m.ErrorCode != 131047 || !strings.Contains(m.ErrorDetail, "24 horas") {
		t.Errorf("failed message = status %q code %v detail %q", m.Status, m.ErrorCode, m.ErrorDetail)
	}
	// A late "delivered" for a failed message changes nothing.
	app.Webhook(ch, statusBody(ch, *m.Wamid, "delivered", time.Now().Unix()))
	testutil.Must(t, app.DB.Gorm.First(&m, id).Error)
	if m.Status != "failed" {
		t.Errorf("failed is terminal, got %q", m.Status)
	}
}

func post(t *testing.T, url string, body []byte, sig string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if sig != "" {
		req.Header.Set("X-Hub-Signature-256", sig)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestRejectedWebhooksStoreNothing(t *testing.T) {
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	ch := app.Channel(ws, "Principal")
	url := app.URL + ch.WebhookPath()
	good := testutil.InboundText(ch, "51987654321", "Pedro", "wamid.X1", "hola", time.Now())
	cases := []struct {
		name string
		body []byte
		sig  string
		want int
	}{
		{"missing signature", good, "", http.StatusUnauthorized},
		{"forged signature", good, whatsapp.Sign([]byte("not-the-secret"), good), http.StatusUnauthorized},
		{"signature of another body", good, whatsapp.Sign([]byte(testutil.AppSecret), append(good, ' ')), http.StatusUnauthorized},
		{"malformed header", good, "sha256=zz", http.StatusUnauthorized},
		{"truncated JSON", good[:len(good)/2], whatsapp.Sign([]byte(testutil.AppSecret), good[:len(good)/2]), http.StatusBadRequest},
		{"not a WhatsApp payload", []byte(`{"object":"page"}`), whatsapp.Sign([]byte(testutil.AppSecret), []byte(`{"object":"page"}`)), http.StatusBadRequest},
		{"oversize", bytes.Repeat([]byte("a"), 4<<20+1), "sha256=00", http.StatusRequestEntityTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if code, _ := post(t, url, c.body, c.sig); code != c.want {
				t.Errorf("status %d, want %d", code, c.want)
			}
		})
	}
	if code, _ := post(t, app.URL+"/webhooks/whatsapp/unknown-key", good, whatsapp.Sign([]byte(testutil.AppSecret), good)); code != http.StatusNotFound {
		t.Errorf("unknown webhook path: %d, want 404", code)
	}
	if n := count(t, app, "SELECT count(*) FROM webhook_events"); n != 0 {
		t.Errorf("webhook_events = %d, want 0", n)
	}
	if n := count(t, app, "SELECT count(*) FROM messages"); n != 0 {
		t.Errorf("messages = %d, want 0", n)
	}
}

func TestEscapedNonASCIIBodyVerifiesOverRawBytes(t *testing.T) {
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	ch := app.Channel(ws, "Principal")
	// Meta escapes non-ASCII as \uXXXX; re-serialising would change the bytes and the signature.
	raw := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"phone_number_id":"` +
		ch.PhoneNumberID + `"},"contacts":[{"profile":{"name":"Mar\u00eda Pe\u00f1a"},"wa_id":"51987654321"}],"messages":[{"from":"51987654321","id":"wamid.ESC1","timestamp":"` +
		fmt.Sprint(time.Now().Unix()) + `","type":"text","text":{"body":"\u00bfTienen ma\u00f1ana? \ud83d\ude4f"}}]}}]}]}`)
	if code, body := post(t, app.URL+ch.WebhookPath(), raw, whatsapp.Sign([]byte(testutil.AppSecret), raw)); code != http.StatusOK {
		t.Fatalf("status %d %s", code, body)
	}
	var m models.Message
	testutil.Must(t, app.DB.Gorm.Where("wamid = 'wamid.ESC1'").First(&m).Error)
	if m.Body != "¿Tienen mañana? 🙏" {
		t.Errorf("body %q", m.Body)
	}
	var stored []byte
	testutil.Must(t, app.DB.Gorm.Raw("SELECT body FROM webhook_events").Row().Scan(&stored))
	if !bytes.Equal(stored, raw) {
		t.Error("raw payload not kept byte for byte")
	}
	var name string
	app.DB.Gorm.Raw("SELECT profile_name FROM contacts").Scan(&name)
	if name != "María Peña" {
		t.Errorf("profile name %q", name)
	}
}

func TestWebhookVerificationHandshake(t *testing.T) {
	app := testutil.NewApp(t)
	ch := app.Channel(app.Workspace("Acme"), "Principal")
	get := func(q string) (int, string) {
		res, err := http.Get(app.URL + ch.WebhookPath() + "?" + q)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, body := get("hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=" + testutil.VerifyToken); code != 200 || body != "1158201444" {
		t.Errorf("handshake = %d %q, want 200 with the raw challenge", code, body)
	}
	if code, _ := get("hub.mode=subscribe&hub.challenge=1&hub.verify_token=wrong"); code != http.StatusForbidden {
		t.Errorf("wrong token: %d, want 403", code)
	}
	if code, _ := get("hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=" + testutil.VerifyToken); code != http.StatusForbidden {
		t.Errorf("wrong mode: %d, want 403", code)
	}
}

func TestCustomerMessageWakesPendingAndReopensClosed(t *testing.T) {
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	ch := app.Channel(ws, "Principal")
	conv := app.Inbound(ch, "51987654321", "Pedro", "Hola")
	firstCycle := *conv.CycleID
	ana := app.User(ws, "ana@acme.test", models.RoleAgent)
	app.DB.Gorm.Exec("UPDATE conversations SET status = 'pending', assignee_id = ? WHERE id = ?", ana.ID, conv.ID)
	conv = app.Inbound(ch, "51987654321", "Pedro", "¿Siguen ahí?")
	if conv.Status != models.StatusActive || *conv.CycleID != firstCycle {
		t.Errorf("pending + customer message: status %q cycle %d, want active in the same cycle", conv.Status, *conv.CycleID)
	}
	app.DB.Gorm.Exec("UPDATE conversations SET status = 'closed' WHERE id = ?", conv.ID)
	app.DB.Gorm.Exec("UPDATE cycles SET closed_at = now() WHERE id = ?", firstCycle)
	conv = app.Inbound(ch, "51987654321", "Pedro", "Hola de nuevo")
	if conv.Status != models.StatusNew || *conv.CycleID == firstCycle {
		t.Errorf("closed + customer message: status %q cycle %d, want a new cycle in new", conv.Status, *conv.CycleID)
	}
}

// A dropped database connection mid-stream (as in a PostgreSQL restart) must not lose
// anything that was answered 200: Meta only retries what failed.
func TestConnectionLossLosesNothingAnswered200(t *testing.T) {
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	ch := app.Channel(ws, "Principal")
	var dbName string
	app.DB.Gorm.Raw("SELECT current_database()").Scan(&dbName)
	const total = 300
	acked := make(chan string, total)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := 0; i < total; i++ {
		if i == total/3 || i == 2*total/3 {
			// Kill every server connection of this database, as a restart would.
			app.DB.Gorm.Exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ? AND pid <> pg_backend_pid()", dbName)
		}
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			wamid := fmt.Sprintf("wamid.R%d", i)
			body := testutil.InboundText(ch, fmt.Sprintf("519%08d", i%40), "Cliente", wamid, "hola", time.Now())
			req, _ := http.NewRequest(http.MethodPost, app.URL+ch.WebhookPath(), bytes.NewReader(body))
			req.Header.Set("X-Hub-Signature-256", whatsapp.Sign([]byte(testutil.AppSecret), body))
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				return
			}
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				acked <- wamid
			}
		}(i)
	}
	wg.Wait()
	close(acked)
	n := 0
	for w := range acked {
		n++
		if count(t, app, "SELECT count(*) FROM messages WHERE wamid = ?", w) != 1 {
			t.Errorf("%s was answered 200 but is not stored", w)
		}
	}
	if n < total/2 {
		t.Errorf("only %d of %d deliveries succeeded; the pool should recover", n, total)
	}
	t.Logf("%d/%d deliveries answered 200 across two connection losses", n, total)
}

// A NUL character (PostgreSQL refuses it in text and jsonb) must not fail the batch
// forever: the message is stored without it, and the rest of the batch too.
func TestNULCharactersDoNotPoisonABatch(t *testing.T) {
	app := testutil.NewApp(t)
	ch := app.Channel(app.Workspace("Acme"), "Principal")
	ts := fmt.Sprint(time.Now().Unix())
	raw := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"phone_number_id":"` +
		ch.PhoneNumberID + `"},"contacts":[{"profile":{"name":"Pe\u0000dro"},"wa_id":"51987654321"}],"messages":[` +
		`{"from":"51987654321","id":"wamid.NUL1","timestamp":"` + ts + `","type":"text","text":{"body":"ho\u0000la"}},` +
		`{"from":"51987654321","id":"wamid.NUL2","timestamp":"` + ts + `","type":"interactive","interactive":{"type":"button_reply","button_reply":{"id":"a\u0000","title":"S\u0000í"}}},` +
		`{"from":"51987654321","id":"wamid.NUL3","timestamp":"` + ts + `","type":"text","text":{"body":"una barra \\u0000 literal"}}]}}]}]}`)
	if code, body := post(t, app.URL+ch.WebhookPath(), raw, whatsapp.Sign([]byte(testutil.AppSecret), raw)); code != http.StatusOK {
		t.Fatalf("status %d %s", code, body)
	}
	var bodies []string
	app.DB.Gorm.Raw("SELECT body FROM messages ORDER BY wamid").Scan(&bodies)
	if strings.Join(bodies, "|") != `hola|Sí|una barra \u0000 literal` {
		t.Errorf("bodies %q", bodies)
	}
	var name string
	app.DB.Gorm.Raw("SELECT profile_name FROM contacts").Scan(&name)
	if name != "Pedro" {
		t.Errorf("profile name %q", name)
	}
}
