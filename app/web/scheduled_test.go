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

// Programar envío: the composer's text scheduled at a local time of the workspace,
// listed above the composer, edited and cancelled; Spanish errors for bad times.
func TestScheduleFromTheComposer(t *testing.T) {
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme") // America/Lima unless the harness says otherwise
	ch := app.Channel(ws, "Principal")
	ana := app.User(ws, "ana@acme.pe", models.RoleAgent)
	conv := app.Inbound(ch, "51911111111", "Pedro", "Escríbeme más tarde")
	c := app.LoginAs(ana)
	path := fmt.Sprintf("/conversations/%d", conv.ID)

	doc := c.Get(path).Doc(t)
	if doc.Find(`[data-testid="schedule-form"] input[name="send_at"]`).Length() != 1 {
		t.Fatal("no «Programar envío» in the composer")
	}
	loc := ws.Location()
	at := time.Now().In(loc).Add(3 * time.Hour).Truncate(time.Minute)
	local := at.Format("2006-01-02T15:04")

	if r := c.HTMX("POST", path+"/scheduled", url.Values{"body": {"Hola"}, "send_at": {"ayer"}}); r.StatusCode != 422 || !strings.Contains(r.Body, "Elige la fecha y la hora") {
		t.Fatalf("bad time: %d %s", r.StatusCode, r.Body)
	}
	if r := c.HTMX("POST", path+"/scheduled", url.Values{"body": {"Hola"}, "send_at": {time.Now().In(loc).Add(-time.Hour).Format("2006-01-02T15:04")}}); r.StatusCode != 422 || !strings.Contains(r.Body, "futuras") {
		t.Fatalf("past time: %d %s", r.StatusCode, r.Body)
	}
	if r := c.HTMX("POST", path+"/scheduled", url.Values{"body": {"  "}, "send_at": {local}}); r.StatusCode != 422 {
		t.Fatalf("empty body: %d %s", r.StatusCode, r.Body)
	}
	r := c.HTMX("POST", path+"/scheduled", url.Values{"body": {"Te confirmo el envío a las 5"}, "send_at": {local}})
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Header.Get("HX-Trigger"), "Mensaje programado") {
		t.Fatalf("schedule: %d %s", r.StatusCode, r.Header.Get("HX-Trigger"))
	}
	var sm models.ScheduledMessage
	testutil.Must(t, app.DB.Gorm.Where("conversation_id = ?", conv.ID).First(&sm).Error)
	if !sm.SendAt.Equal(at) || sm.State != "scheduled" {
		t.Fatalf("stored for %v (%s), want %v: the time must be read in the workspace's zone", sm.SendAt, sm.State, at)
	}
	// Nothing was sent yet.
	var out int64
	app.DB.Gorm.Model(&models.Message{}).Where("conversation_id = ? AND direction = 'out'", conv.ID).Count(&out)
	if out != 0 {
		t.Fatal("scheduling sent the message")
	}

	list := c.HTMX("GET", path+"/scheduled", nil).Doc(t)
	item := list.Find(`[data-testid="scheduled-item"]`)
	if item.Length() != 1 || !strings.Contains(item.Text(), "Te confirmo el envío a las 5") || !strings.Contains(item.Text(), at.Format("15:04")) {
		t.Fatalf("list: %q", item.Text())
	}
	// Edit: text and time.
	later := at.Add(time.Hour).Format("2006-01-02T15:04")
	r = c.HTMX("POST", fmt.Sprintf("%s/scheduled/%d", path, sm.ID), url.Values{"body": {"Te confirmo el envío a las 6"}, "send_at": {later}})
	if r.StatusCode != 200 || !strings.Contains(r.Body, "a las 6") {
		t.Fatalf("edit: %d %s", r.StatusCode, r.Body)
	}
	// Once Ana takes the conversation, another agent cannot touch its scheduled replies.
	if r := c.HTMX("POST", path+"/take", url.Values{}); r.StatusCode != 200 {
		t.Fatalf("take: %d", r.StatusCode)
	}
	luis := app.User(ws, "luis@acme.pe", models.RoleAgent)
	if r := app.LoginAs(luis).HTMX("POST", fmt.Sprintf("%s/scheduled/%d/cancel", path, sm.ID), url.Values{}); r.StatusCode != 404 {
		t.Fatalf("Luis cancelled Ana's scheduled reply: %d", r.StatusCode)
	}
	// Cancel.
	r = c.HTMX("POST", fmt.Sprintf("%s/scheduled/%d/cancel", path, sm.ID), url.Values{})
	if r.StatusCode != 200 || r.Doc(t).Find(`[data-testid="scheduled-item"]`).Length() != 0 {
		t.Fatalf("cancel: %d %s", r.StatusCode, r.Body)
	}
	testutil.Must(t, app.DB.Gorm.First(&sm, sm.ID).Error)
	if sm.State != "cancelled" {
		t.Fatalf("state after cancel = %s", sm.State)
	}
}
