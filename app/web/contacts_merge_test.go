package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/atiende/atiende/app/inbox"
	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

func count(t *testing.T, app *testutil.App, q string, args ...any) int {
	t.Helper()
	var n int
	testutil.Must(t, app.DB.Gorm.Raw(q, args...).Scan(&n).Error)
	return n
}

// Merging moves everything of the duplicate to the survivor in one go: conversations
// (two on the same channel become one, with every message, cycle, event and label),
// notes and profile data, rows of other tables with a contact_id; the merge is in the
// audit log and on the survivor's timeline, and nothing is lost.
func TestMergeMovesEverything(t *testing.T) {
	for _, tc := range []struct {
		name          string
		closeSurvivor bool
	}{{"both open", false}, {"survivor closed", true}} {
		t.Run(tc.name, func(t *testing.T) {
			app := testutil.NewApp(t)
			ctx := context.Background()
			ws := app.Workspace("Acme")
			ch1, ch2 := app.Channel(ws, "Principal"), app.Channel(ws, "Ventas")
			sup := app.User(ws, "sup@acme.pe", models.RoleSupervisor)
			ana := app.User(ws, "ana@acme.pe", models.RoleAgent)
			a1 := app.Inbound(ch1, "51911111111", "Pedro", "Hola")
			b1 := app.Inbound(ch1, "51922222222", "Pedro Ruiz", "Hola otra vez")
			app.Inbound(ch1, "51922222222", "Pedro Ruiz", "¿Me ayudan?")
			b2 := app.Inbound(ch2, "51922222222", "Pedro Ruiz", "Quiero comprar")
			survivor, dup := a1.ContactID, b1.ContactID

			v, err := app.Accounts.LoadViewer(ctx, sup.ID)
			testutil.Must(t, err)
			svc := app.Server.Services.Inbox
			if tc.closeSurvivor {
				testutil.Must(t, svc.SetStatus(ctx, inbox.By(v), a1.ID, models.StatusClosed, "Resuelto"))
			}
			_, err = svc.AddNote(ctx, inbox.By(v), b1.ID, "Cliente mayorista")
			testutil.Must(t, err)
			var l1, l2 models.Label
			testutil.Must(t, app.DB.Gorm.Raw(`INSERT INTO labels (workspace_id, name) VALUES (?, 'VIP') RETURNING *`, ws.ID).Scan(&l1).Error)
			testutil.Must(t, app.DB.Gorm.Raw(`INSERT INTO labels (workspace_id, name) VALUES (?, 'Ventas') RETURNING *`, ws.ID).Scan(&l2).Error)
			testutil.Must(t, svc.SetLabels(ctx, inbox.By(v), a1.ID, []int64{l1.ID}))
			testutil.Must(t, svc.SetLabels(ctx, inbox.By(v), b1.ID, []int64{l1.ID, l2.ID}))
			testutil.Must(t, app.DB.Gorm.Exec(`UPDATE contacts SET email = 'pedro@ruiz.pe', notes = 'Paga a 30 días', owner_id = ? WHERE id = ?`, ana.ID, dup).Error)
			testutil.Must(t, app.DB.Gorm.Exec(`UPDATE contacts SET notes = 'Cliente desde 2020' WHERE id = ?`, survivor).Error)
			// A table added later (tasks, leads…) with a contact_id follows the person.
			testutil.Must(t, app.DB.Gorm.Exec(`CREATE TABLE later_tasks (id serial PRIMARY KEY, workspace_id bigint NOT NULL, contact_id bigint NOT NULL)`).Error)
			testutil.Must(t, app.DB.Gorm.Exec(`INSERT INTO later_tasks (workspace_id, contact_id) VALUES (?, ?)`, ws.ID, dup).Error)

			all := []int64{a1.ID, b1.ID, b2.ID}
			msgs := count(t, app, `SELECT count(*) FROM messages WHERE conversation_id IN ?`, all)
			cycles := count(t, app, `SELECT count(*) FROM cycles WHERE conversation_id IN ?`, all)
			events := count(t, app, `SELECT count(*) FROM conversation_events WHERE conversation_id IN ?`, all)

			c := app.Client()
			c.Login(sup.Email, testutil.Password)
			r := c.PostForm(fmt.Sprintf("/contacts/%d/merge", survivor), url.Values{"other_id": {fmt.Sprint(dup)}})
			if r.StatusCode != http.StatusSeeOther {
				t.Fatalf("merge: %d %s", r.StatusCode, r.Body)
			}
			if n := count(t, app, `SELECT count(*) FROM contacts WHERE id = ?`, dup); n != 0 {
				t.Fatal("the duplicate still exists")
			}
			if n := count(t, app, `SELECT count(*) FROM conversations WHERE contact_id = ?`, survivor); n != 2 {
				t.Fatalf("survivor conversations = %d, want 2 (one per channel)", n)
			}
			if n := count(t, app, `SELECT count(*) FROM conversations WHERE id = ?`, b1.ID); n != 0 {
				t.Fatal("the same-channel conversation was not combined")
			}
			if got := count(t, app, `SELECT count(*) FROM messages WHERE conversation_id IN ?`, []int64{a1.ID, b2.ID}); got != msgs {
				t.Errorf("messages after = %d, before = %d", got, msgs)
			}
			if got := count(t, app, `SELECT count(*) FROM cycles WHERE conversation_id IN ?`, []int64{a1.ID, b2.ID}); got != cycles {
				t.Errorf("cycles after = %d, before = %d", got, cycles)
			}
			if got := count(t, app, `SELECT count(*) FROM conversation_events WHERE conversation_id IN ?`, []int64{a1.ID, b2.ID}); got != events {
				t.Errorf("events after = %d, before = %d", got, events)
			}
			if n := count(t, app, `SELECT count(*) FROM cycles WHERE conversation_id = ? AND closed_at IS NULL`, a1.ID); n != 1 {
				t.Errorf("open cycles in the combined conversation = %d, want 1", n)
			}
			conv := app.Conversation(a1.ID)
			if conv.Status == models.StatusClosed || conv.CycleID == nil {
				t.Errorf("combined conversation is %s with cycle %v: the open work was lost", conv.Status, conv.CycleID)
			}
			if n := count(t, app, `SELECT count(*) FROM cycles WHERE id = ? AND conversation_id = ? AND closed_at IS NULL`, *conv.CycleID, a1.ID); n != 1 {
				t.Errorf("the conversation's cycle is not its open cycle")
			}
			if n := count(t, app, `SELECT count(*) FROM conversation_labels WHERE conversation_id = ?`, a1.ID); n != 2 {
				t.Errorf("labels on the combined conversation = %d, want 2", n)
			}
			if n := count(t, app, `SELECT count(*) FROM messages WHERE conversation_id = ? AND private AND body = 'Cliente mayorista'`, a1.ID); n != 1 {
				t.Errorf("the note did not move")
			}
			if n := count(t, app, `SELECT count(*) FROM later_tasks WHERE contact_id = ?`, survivor); n != 1 {
				t.Errorf("a later table's row did not follow the contact")
			}
			var k models.Contact
			testutil.Must(t, app.DB.Gorm.First(&k, survivor).Error)
			if k.Email != "pedro@ruiz.pe" || k.Notes != "Cliente desde 2020\n\nPaga a 30 días" || k.OwnerID == nil || *k.OwnerID != ana.ID {
				t.Errorf("profile not completed from the duplicate: %+v", k)
			}
			if n := count(t, app, `SELECT count(*) FROM audit_events WHERE action = 'contact.merge' AND target_id = ? AND (data->'merged'->>'id')::bigint = ? AND user_id = ?`, survivor, dup, sup.ID); n != 1 {
				t.Errorf("merge not in the audit log")
			}
			doc := c.Get(fmt.Sprintf("/contacts/%d", survivor)).Doc(t)
			if tl := doc.Find(`[data-testid="timeline"]`).Text(); !strings.Contains(tl, "fusionó aquí a «Pedro Ruiz» (+51922222222): 2 conversaciones pasaron a este contacto") {
				t.Errorf("timeline: %q", strings.Join(strings.Fields(tl), " "))
			}
			if n := doc.Find(`[data-testid="conversation-item"]`).Length(); n != 2 {
				t.Errorf("conversations on the page = %d", n)
			}
			if r := c.Get(fmt.Sprintf("/conversations/%d", a1.ID)); r.StatusCode != 200 {
				t.Errorf("combined conversation page: %d", r.StatusCode)
			}
			// The customer writes again from the surviving number: same conversation.
			app.Inbound(ch1, "51911111111", "Pedro", "Gracias")
			if n := count(t, app, `SELECT count(*) FROM conversations WHERE workspace_id = ?`, ws.ID); n != 2 {
				t.Errorf("conversations after a new message = %d, want 2", n)
			}
			// Merging again (the duplicate is gone) is a clean 404.
			if r := c.PostForm(fmt.Sprintf("/contacts/%d/merge", survivor), url.Values{"other_id": {fmt.Sprint(dup)}}); r.StatusCode != http.StatusNotFound {
				t.Errorf("second merge: %d", r.StatusCode)
			}
			if r := c.PostForm(fmt.Sprintf("/contacts/%d/merge", survivor), url.Values{"other_id": {fmt.Sprint(survivor)}}); r.StatusCode != http.StatusUnprocessableEntity {
				t.Errorf("self merge: %d", r.StatusCode)
			}
		})
	}
}
