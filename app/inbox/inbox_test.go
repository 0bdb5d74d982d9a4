package inbox_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/clock"
	"github.com/atiende/atiende/app/inbox"
	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
	"github.com/atiende/atiende/views/pages/conversation"
)

type world struct {
	app                   *testutil.App
	ws                    models.Workspace
	ventas, soporte       models.Team
	ch                    models.Channel
	ana, luis, sup, admin accounts.Viewer
	clk                   *clock.Manual
	svc                   *inbox.Service
}

func newWorld(t *testing.T) *world {
	t.Helper()
	app := testutil.NewApp(t)
	w := &world{app: app, ws: app.Workspace("Acme")}
	w.ventas, w.soporte = app.Team(w.ws, "Ventas"), app.Team(w.ws, "Soporte")
	w.ch = app.Channel(w.ws, "Principal")
	load := func(u models.User) accounts.Viewer {
		v, err := app.Accounts.LoadViewer(context.Background(), u.ID)
		testutil.Must(t, err)
		return v
	}
	w.ana = load(app.User(w.ws, "ana@acme.pe", models.RoleAgent, w.ventas))
	w.luis = load(app.User(w.ws, "luis@acme.pe", models.RoleAgent, w.soporte))
	w.sup = load(app.User(w.ws, "sup@acme.pe", models.RoleSupervisor, w.ventas))
	w.admin = load(app.User(w.ws, "admin@acme.pe", models.RoleAdmin))
	w.clk = clock.NewManual(time.Now())
	w.svc = inbox.New(app.DB.Gorm, w.clk)
	return w
}

// inbound delivers a customer message through the real webhook.
func (w *world) inbound(t *testing.T, wa, text string) models.Conversation {
	t.Helper()
	return w.app.Inbound(w.ch, wa, "Cliente", text)
}

func (w *world) conv(t *testing.T, id int64) models.Conversation {
	t.Helper()
	return w.app.Conversation(id)
}

func (w *world) cycle(t *testing.T, id int64) models.Cycle {
	t.Helper()
	var c models.Cycle
	testutil.Must(t, w.app.DB.Gorm.First(&c, id).Error)
	return c
}

func TestStatusMachine(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	c := w.inbound(t, "51911111111", "Hola")
	if c.Status != models.StatusNew || c.AssigneeID != nil {
		t.Fatalf("a new cycle is new and unassigned, got %s", c.Status)
	}
	// Taking by hand moves new -> active and assigns.
	testutil.Must(t, w.svc.Take(ctx, inbox.By(w.ana), c.ID))
	c = w.conv(t, c.ID)
	if c.Status != models.StatusActive || c.AssigneeID == nil || *c.AssigneeID != w.ana.User.ID {
		t.Fatalf("after take: %s %v", c.Status, c.AssigneeID)
	}
	// An agent reply -> pending, and records the first response of the cycle.
	w.clk.Advance(3 * time.Minute)
	_, err := w.svc.Reply(ctx, inbox.By(w.ana), c.ID, "¡Hola! ¿En qué te ayudo?", "")
	testutil.Must(t, err)
	c = w.conv(t, c.ID)
	cy := w.cycle(t, *c.CycleID)
	if c.Status != models.StatusPending || cy.FirstReplyAt == nil || *cy.FirstReplyUserID != w.ana.User.ID {
		t.Fatalf("after reply: %s first reply %v", c.Status, cy.FirstReplyAt)
	}
	// A note never changes the status.
	_, err = w.svc.AddNote(ctx, inbox.By(w.ana), c.ID, "cliente VIP")
	testutil.Must(t, err)
	if got := w.conv(t, c.ID).Status; got != models.StatusPending {
		t.Fatalf("a note moved the card to %s", got)
	}
	// The customer writes while pending -> active, same cycle.
	c = w.inbound(t, "51911111111", "Gracias, una consulta más")
	if c.Status != models.StatusActive || *c.CycleID != cy.ID {
		t.Fatalf("customer on pending: %s cycle %d", c.Status, *c.CycleID)
	}
	// Nothing answered goes back to Nuevos.
	err = w.svc.SetStatus(ctx, inbox.By(w.ana), c.ID, models.StatusNew, "")
	var v apperr.Validation
	if !errors.As(err, &v) {
		t.Fatalf("active -> new allowed: %v", err)
	}
	// Close with a reason ends the cycle.
	testutil.Must(t, w.svc.SetStatus(ctx, inbox.By(w.ana), c.ID, models.StatusClosed, "Resuelto"))
	c = w.conv(t, c.ID)
	cy = w.cycle(t, cy.ID)
	if c.Status != models.StatusClosed || cy.ClosedAt == nil || cy.CloseReason != "Resuelto" {
		t.Fatalf("close: %s %v %q", c.Status, cy.ClosedAt, cy.CloseReason)
	}
	// A reply on a closed conversation opens no cycle and leaves it closed.
	_, err = w.svc.Reply(ctx, inbox.By(w.ana), c.ID, "Por cierto, te envié la factura", "")
	testutil.Must(t, err)
	if c2 := w.conv(t, c.ID); c2.Status != models.StatusClosed || *c2.CycleID != cy.ID {
		t.Fatalf("reply on closed: %s cycle %d", c2.Status, *c2.CycleID)
	}
	// Dragging out of Cerrados reopens as a new cycle starting now.
	testutil.Must(t, w.svc.SetStatus(ctx, inbox.By(w.ana), c.ID, models.StatusActive, ""))
	c = w.conv(t, c.ID)
	ncy := w.cycle(t, *c.CycleID)
	if c.Status != models.StatusActive || ncy.ID == cy.ID || ncy.OpenedBy != "reopen" || !ncy.OpenedAt.Equal(w.clk.Now().Truncate(time.Microsecond)) {
		t.Fatalf("reopen: %s cycle %+v", c.Status, ncy)
	}
}

func TestCustomerAfterCloseOpensUnassignedCycle(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	c := w.inbound(t, "51922222222", "Hola")
	testutil.Must(t, w.svc.Take(ctx, inbox.By(w.ana), c.ID))
	testutil.Must(t, w.svc.SetStatus(ctx, inbox.By(w.ana), c.ID, models.StatusClosed, ""))
	first := *w.conv(t, c.ID).CycleID
	c = w.inbound(t, "51922222222", "Hola otra vez")
	if c.Status != models.StatusNew || *c.CycleID == first || c.AssigneeID != nil {
		t.Fatalf("customer after close: %s cycle %d assignee %v", c.Status, *c.CycleID, c.AssigneeID)
	}
}

func TestReplyOutsideWindowIsRefusedAndStoresNothing(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	c := w.inbound(t, "51933333333", "Hola")
	w.clk.Set(time.Now().Add(25 * time.Hour))
	_, err := w.svc.Reply(ctx, inbox.By(w.ana), c.ID, "¿Sigues ahí?", "")
	var v apperr.Validation
	if !errors.As(err, &v) || v["body"] != inbox.ErrWindowClosed["body"] {
		t.Fatalf("err = %v, want the window message", err)
	}
	var n int64
	w.app.DB.Gorm.Model(&models.Message{}).Where("direction = 'out'").Count(&n)
	var o int64
	w.app.DB.Gorm.Model(&models.Outbox{}).Count(&o)
	if n != 0 || o != 0 {
		t.Errorf("refused reply left %d messages and %d outbox rows", n, o)
	}
}

func TestReplyQueuesOnceAndNoteNever(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	c := w.inbound(t, "51944444444", "Hola")
	m, err := w.svc.Reply(ctx, inbox.By(w.ana), c.ID, "Hola, ¿qué necesitas?", "")
	testutil.Must(t, err)
	_, err = w.svc.AddNote(ctx, inbox.By(w.ana), c.ID, "ojo: pidió descuento")
	testutil.Must(t, err)
	var rows []models.Outbox
	testutil.Must(t, w.app.DB.Gorm.Find(&rows).Error)
	if len(rows) != 1 || rows[0].MessageID == nil || *rows[0].MessageID != m.ID || rows[0].Recipient != "51944444444" {
		t.Fatalf("outbox = %+v, want exactly the reply", rows)
	}
	// Answering an unassigned conversation makes it the agent's.
	if a := w.conv(t, c.ID).AssigneeID; a == nil || *a != w.ana.User.ID {
		t.Errorf("assignee after reply = %v", a)
	}
}

func TestTransferredFlagFollowsTheDefinition(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name       string
		replyFirst bool
		do         func(w *world, id int64) error
		want       bool
	}{
		{"assigning an unassigned conversation", true, func(w *world, id int64) error {
			// The reply made the admin its agent; back to the team's queue (not a transfer:
			// no agent receives it), then assigned to Ana (from nobody: not a transfer either).
			if err := w.svc.Transfer(ctx, inbox.By(w.admin), id, inbox.TransferInput{TeamID: &w.ventas.ID, Note: "a la cola"}); err != nil {
				return err
			}
			return w.svc.Assign(ctx, inbox.By(w.sup), id, w.ana.User.ID)
		}, false},
		{"agent to another agent after the first reply", true, func(w *world, id int64) error {
			if err := w.svc.Assign(ctx, inbox.By(w.sup), id, w.ana.User.ID); err != nil {
				return err
			}
			return w.svc.Assign(ctx, inbox.By(w.sup), id, w.sup.User.ID)
		}, true},
		{"team change after the first reply", true, func(w *world, id int64) error {
			return w.svc.Transfer(ctx, inbox.By(w.admin), id, inbox.TransferInput{TeamID: &w.soporte.ID, Note: "pasa a soporte"})
		}, true},
		{"team change before any reply", false, func(w *world, id int64) error {
			return w.svc.Transfer(ctx, inbox.By(w.admin), id, inbox.TransferInput{TeamID: &w.soporte.ID, Note: "pasa a soporte"})
		}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			c := w.inbound(t, "51955555555", "Hola")
			testutil.Must(t, w.app.DB.Gorm.Exec("UPDATE conversations SET team_id = ? WHERE id = ?", w.ventas.ID, c.ID).Error)
			if tc.replyFirst {
				_, err := w.svc.Reply(ctx, inbox.By(w.admin), c.ID, "Hola", "")
				testutil.Must(t, err)
			}
			testutil.Must(t, tc.do(w, c.ID))
			if got := w.cycle(t, *w.conv(t, c.ID).CycleID).Transferred; got != tc.want {
				t.Errorf("transferred = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestTransferNeedsANoteAndLeavesAnActivityLine(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	c := w.inbound(t, "51966666666", "Necesito factura")
	testutil.Must(t, w.svc.Take(ctx, inbox.By(w.ana), c.ID))
	err := w.svc.Transfer(ctx, inbox.By(w.ana), c.ID, inbox.TransferInput{TeamID: &w.soporte.ID})
	var v apperr.Validation
	if !errors.As(err, &v) || v["note"] == "" {
		t.Fatalf("transfer without note: %v", err)
	}
	testutil.Must(t, w.svc.Transfer(ctx, inbox.By(w.ana), c.ID, inbox.TransferInput{TeamID: &w.soporte.ID, Note: "cliente pide factura"}))
	c = w.conv(t, c.ID)
	if c.TeamID == nil || *c.TeamID != w.soporte.ID || c.AssigneeID != nil {
		t.Fatalf("after transfer to a team: team %v assignee %v", c.TeamID, c.AssigneeID)
	}
	page, err := w.svc.Messages(ctx, w.admin, c.ID, inbox.Cursor{}, 50)
	testutil.Must(t, err)
	line := ""
	for _, m := range page.Messages {
		if m.Kind == models.KindActivity {
			line = conversation.ActivityText(m)
		}
	}
	if line != "Transferida a Soporte por Ana: «cliente pide factura»" {
		t.Errorf("activity line %q", line)
	}
	// Ana no longer sees it; Luis (Soporte) now does.
	if err := w.svc.Take(ctx, inbox.By(w.ana), c.ID); !errors.Is(err, apperr.ErrNotFound) {
		t.Errorf("Ana acting on a conversation she can no longer see: %v", err)
	}
	testutil.Must(t, w.svc.Take(ctx, inbox.By(w.luis), c.ID))
}

func TestVisibility(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	mine := w.inbound(t, "51970000001", "a")
	testutil.Must(t, w.svc.Take(ctx, inbox.By(w.ana), mine.ID))
	ventas := w.inbound(t, "51970000002", "b")
	w.app.DB.Gorm.Exec("UPDATE conversations SET team_id = ? WHERE id = ?", w.ventas.ID, ventas.ID)
	soporte := w.inbound(t, "51970000003", "c")
	w.app.DB.Gorm.Exec("UPDATE conversations SET team_id = ? WHERE id = ?", w.soporte.ID, soporte.ID)
	luisOwn := w.inbound(t, "51970000004", "d")
	testutil.Must(t, w.svc.Take(ctx, inbox.By(w.luis), luisOwn.ID))
	noTeam := w.inbound(t, "51970000005", "e")

	other := w.app.Workspace("Otra")
	otherAdmin, err := w.app.Accounts.LoadViewer(ctx, w.app.User(other, "boss@otra.pe", models.RoleAdmin).ID)
	testutil.Must(t, err)

	visible := func(v accounts.Viewer) map[int64]bool {
		cond, args := inbox.Visible(v, "")
		var ids []int64
		testutil.Must(t, w.app.DB.Gorm.Model(&models.Conversation{}).Where(cond, args...).Pluck("id", &ids).Error)
		out := map[int64]bool{}
		for _, id := range ids {
			out[id] = true
		}
		return out
	}
	cases := []struct {
		name string
		v    accounts.Viewer
		want []int64
	}{
		{"agent: own, unassigned of her team, unassigned without team", w.ana, []int64{mine.ID, ventas.ID, noTeam.ID}},
		{"supervisor: everything of Ventas and without team", w.sup, []int64{mine.ID, ventas.ID, luisOwn.ID, noTeam.ID}},
		{"admin: the workspace", w.admin, []int64{mine.ID, ventas.ID, soporte.ID, luisOwn.ID, noTeam.ID}},
		{"another workspace: nothing", otherAdmin, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := visible(tc.v)
			if len(got) != len(tc.want) {
				t.Errorf("sees %v, want %v", got, tc.want)
			}
			for _, id := range tc.want {
				if !got[id] {
					t.Errorf("does not see %d", id)
				}
			}
			// The in-memory rule (live events) agrees with the SQL one.
			for _, id := range []int64{mine.ID, ventas.ID, soporte.ID, luisOwn.ID, noTeam.ID} {
				c := w.conv(t, id)
				if inbox.CanSee(tc.v, c.WorkspaceID, c.TeamID, c.AssigneeID) != got[id] {
					t.Errorf("CanSee disagrees with Visible on conversation %d", id)
				}
			}
		})
	}
}
