package web_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/atiende/atiende/models"
)

type bulkAnswer struct {
	Action string  `json:"action"`
	Done   []int64 `json:"done"`
	Failed []struct {
		ID     int64  `json:"id"`
		Name   string `json:"name"`
		Reason string `json:"reason"`
	} `json:"failed"`
}

func TestBulkLabelTransferAndRules(t *testing.T) {
	f := newBoardFixture(t)
	a := f.customer(t, "Carlos Mendoza", "Hola", 40*time.Minute)
	b := f.customer(t, "Rosa Quispe", "Buenas", 20*time.Minute)
	ana := f.app.LoginAs(f.ana)
	ana.Get("/board")
	post := func(form url.Values, ids ...int64) (int, string) {
		for _, id := range ids {
			form.Add("id", fmt.Sprint(id))
		}
		r := ana.HTMX("POST", "/board/bulk", form)
		return r.StatusCode, r.Body
	}
	// Labels are added, not replaced; a label already there is fine.
	if code, body := post(url.Values{"action": {"label"}, "label_id": {fmt.Sprint(f.labels["VIP"])}}, a.ID, b.ID); code != 200 {
		t.Fatalf("label: %d %s", code, body)
	}
	var res bulkAnswer
	code, body := post(url.Values{"action": {"label"}, "label_id": {fmt.Sprint(f.labels["Cobranzas"])}}, a.ID, 999999)
	if err := json.Unmarshal([]byte(body), &res); err != nil || code != 200 {
		t.Fatalf("label: %d %s", code, body)
	}
	if len(res.Done) != 1 || len(res.Failed) != 1 || res.Failed[0].ID != 999999 || res.Failed[0].Name != "" || res.Failed[0].Reason != "ya no la ves" {
		t.Fatalf("outcome = %+v", res)
	}
	var n int64
	f.app.DB.Gorm.Model(&models.ConversationLabel{}).Where("conversation_id = ?", a.ID).Count(&n)
	if n != 2 {
		t.Errorf("conversation %d has %d labels, want VIP and Cobranzas", a.ID, n)
	}
	// A transfer needs its note; an agent cannot assign to someone else.
	if code, body := post(url.Values{"action": {"transfer"}, "team_id": {fmt.Sprint(f.soporte.ID)}}, a.ID); code != 422 || !strings.Contains(body, "nota") {
		t.Errorf("transfer without note: %d %s", code, body)
	}
	if code, body := post(url.Values{"action": {"assign"}, "agent_id": {fmt.Sprint(f.carla.ID)}}, a.ID); code != 422 {
		t.Errorf("agent assigning to Carla: %d %s", code, body)
	}
	if code, body := post(url.Values{"action": {"transfer"}, "team_id": {fmt.Sprint(f.soporte.ID)}, "note": {"Piden factura"}}, a.ID, b.ID); code != 200 || !strings.Contains(body, fmt.Sprintf(`"done":[%d,%d]`, a.ID, b.ID)) {
		t.Fatalf("transfer: %d %s", code, body)
	}
	if got := f.app.Conversation(a.ID); got.TeamID == nil || *got.TeamID != f.soporte.ID {
		t.Error("not transferred to Soporte")
	}
	// A stranger from another workspace changes nothing.
	other := f.app.LoginAs(f.stranger)
	other.Get("/board")
	r := other.HTMX("POST", "/board/bulk", url.Values{"action": {"close"}, "id": {fmt.Sprint(b.ID)}})
	if err := json.Unmarshal([]byte(r.Body), &res); err != nil || len(res.Done) != 0 {
		t.Fatalf("stranger: %d %s", r.StatusCode, r.Body)
	}
	if f.app.Conversation(b.ID).Status == models.StatusClosed {
		t.Fatal("another workspace's admin closed it")
	}
}
