package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

// TestWebhooksScreenListsAndReplaysDeadLetters: an item that could not be stored is
// shown with its error, and «Reintentar» stores it once the cause is gone; agents
// cannot open the screen.
func TestWebhooksScreenListsAndReplaysDeadLetters(t *testing.T) {
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	ch := app.Channel(ws, "Ventas")
	admin := app.User(ws, "admin@acme.pe", models.RoleAdmin)
	agent := app.User(ws, "ana@acme.pe", models.RoleAgent)
	testutil.Must(t, app.DB.Gorm.Exec(`ALTER TABLE messages ADD CONSTRAINT test_poison CHECK (body <> 'veneno') NOT VALID`).Error)
	at := time.Now()
	body := testutil.InboundMessages(ch, []map[string]any{{"wa_id": "51911111111", "profile": map[string]any{"name": "Rosa"}}},
		map[string]any{"from": "51911111111", "id": "wamid.GOOD", "timestamp": fmt.Sprint(at.Unix()), "type": "text", "text": map[string]any{"body": "hola"}},
		map[string]any{"from": "51911111111", "id": "wamid.POISON", "timestamp": fmt.Sprint(at.Unix() + 1), "type": "text", "text": map[string]any{"body": "veneno"}})
	if code := app.Webhook(ch, body); code != http.StatusOK {
		t.Fatal(code)
	}
	c := app.LoginAs(admin)
	page := c.Get("/settings/webhooks")
	if page.StatusCode != http.StatusOK {
		t.Fatalf("webhooks screen: %d", page.StatusCode)
	}
	doc := page.Doc(t)
	if n := doc.Find(`[data-testid="dead-row"]`).Length(); n != 1 {
		t.Fatalf("dead letters shown: %d", n)
	}
	if e := doc.Find(`[data-testid="dead-error"]`).Text(); !strings.Contains(e, "test_poison") {
		t.Errorf("error shown: %q", e)
	}
	if o := doc.Find(`[data-testid="delivery-outcome"]`).First().Text(); !strings.Contains(o, "1 sin guardar") {
		t.Errorf("delivery outcome: %q", o)
	}
	id, _ := doc.Find(`[data-testid="dead-row"]`).Attr("data-id")
	// Still failing: it says so and stays.
	r := c.PostForm("/settings/webhooks/"+id+"/replay", url.Values{})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("replay: %d", r.StatusCode)
	}
	if p := c.Get("/settings/webhooks").Body; !strings.Contains(p, "Volvió a fallar") || !strings.Contains(p, "2 intentos") {
		t.Error("a failed replay is not reported")
	}
	testutil.Must(t, app.DB.Gorm.Exec(`ALTER TABLE messages DROP CONSTRAINT test_poison`).Error)
	c.PostForm("/settings/webhooks/"+id+"/replay", url.Values{})
	doc = c.Get("/settings/webhooks").Doc(t)
	if s := doc.Find(`[data-testid="dead-state"]`).Text(); s != "Guardado" || doc.Find(`[data-testid="dead-replay"]`).Length() != 0 {
		t.Errorf("after a good replay the state is %q", s)
	}
	var n int64
	app.DB.Gorm.Raw(`SELECT count(*) FROM messages WHERE wamid = 'wamid.POISON'`).Scan(&n)
	if n != 1 {
		t.Error("the replayed message was not stored")
	}
	// Another workspace's admin cannot replay it; agents cannot see the screen.
	other := app.Workspace("Otra")
	intruder := app.LoginAs(app.User(other, "admin@otra.pe", models.RoleAdmin))
	if r := intruder.PostForm("/settings/webhooks/"+id+"/replay", url.Values{}); r.StatusCode != http.StatusNotFound {
		t.Errorf("cross-workspace replay: %d", r.StatusCode)
	}
	if r := app.LoginAs(agent).Get("/settings/webhooks"); r.StatusCode != http.StatusForbidden && r.StatusCode != http.StatusNotFound {
		t.Errorf("agent opened the webhooks screen: %d", r.StatusCode)
	}
}
