package inbox_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/inbox"
	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

func (w *world) scheduled(t *testing.T, id int64) models.ScheduledMessage {
	t.Helper()
	var sm models.ScheduledMessage
	testutil.Must(t, w.app.DB.Gorm.First(&sm, id).Error)
	return sm
}

func TestScheduledReplyGoesOutAtItsTimeOnce(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	c := w.inbound(t, "51911111111", "¿Me escriben mañana temprano?")
	job := &inbox.Scheduler{Inbox: w.svc, Accounts: w.app.Accounts}
	start := w.clk.Now()
	testutil.Must(t, w.svc.Take(ctx, inbox.By(w.ana), c.ID))

	if _, err := w.svc.Schedule(ctx, w.ana, c.ID, "Hola", start.Add(-time.Minute)); err == nil {
		t.Fatal("a time in the past was accepted")
	}
	sm, err := w.svc.Schedule(ctx, w.ana, c.ID, "Buenos días, aquí va la cotización", start.Add(2*time.Hour))
	testutil.Must(t, err)
	// Luis cannot see Ana's conversation, so cannot schedule on it.
	if _, err := w.svc.Schedule(ctx, w.luis, c.ID, "Hola", start.Add(time.Hour)); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("Luis scheduled on a conversation he cannot see: %v", err)
	}

	// Not due yet: nothing happens.
	if n, err := job.SendDue(ctx, start.Add(time.Hour)); err != nil || n != 0 {
		t.Fatalf("an hour early: sent %d, %v", n, err)
	}
	list, err := w.svc.ScheduledFor(ctx, w.ana, c.ID)
	testutil.Must(t, err)
	if len(list) != 1 || list[0].Author == "" || list[0].WindowClosesFirst {
		t.Fatalf("list = %+v", list)
	}
	// Edited: new text and time.
	testutil.Must(t, w.svc.UpdateScheduled(ctx, w.ana, c.ID, sm.ID, "Buenos días, te envío la cotización", start.Add(3*time.Hour)))
	if n, _ := job.SendDue(ctx, start.Add(150*time.Minute)); n != 0 {
		t.Fatal("sent at the old time after being moved later")
	}

	// At its time it is sent as Ana's reply, through the outbox, once.
	w.clk.Set(start.Add(3*time.Hour + time.Minute))
	n, err := job.SendDue(ctx, w.clk.Now())
	if err != nil || n != 1 {
		t.Fatalf("at its time: sent %d, %v", n, err)
	}
	if n, _ := job.SendDue(ctx, w.clk.Now()); n != 0 {
		t.Fatal("sent twice")
	}
	got := w.scheduled(t, sm.ID)
	if got.State != models.ScheduledSent || got.MessageID == nil {
		t.Fatalf("after sending: %+v", got)
	}
	var m models.Message
	testutil.Must(t, w.app.DB.Gorm.First(&m, *got.MessageID).Error)
	var queued int64
	w.app.DB.Gorm.Model(&models.Outbox{}).Where("message_id = ?", m.ID).Count(&queued)
	if m.Body != "Buenos días, te envío la cotización" || *m.SenderUserID != w.ana.User.ID || queued != 1 || m.CreatedAt.Sub(w.clk.Now()).Abs() > time.Millisecond {
		t.Fatalf("message %q by %v, %d outbox rows, at %v", m.Body, m.SenderUserID, queued, m.CreatedAt)
	}
	if st := w.conv(t, c.ID).Status; st != models.StatusPending {
		t.Errorf("after the scheduled reply the conversation is %s, want pending", st)
	}
	if err := w.svc.CancelScheduled(ctx, w.ana, c.ID, sm.ID); err == nil {
		t.Error("a sent message could be cancelled")
	}
}

func TestScheduledReplyIsHeldWhenTheWindowClosed(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	c := w.inbound(t, "51922222222", "Escríbanme el lunes")
	job := &inbox.Scheduler{Inbox: w.svc, Accounts: w.app.Accounts}
	at := w.clk.Now().Add(30 * time.Hour)
	sm, err := w.svc.Schedule(ctx, w.ana, c.ID, "Hola, ¿seguimos con el pedido?", at)
	testutil.Must(t, err)
	list, _ := w.svc.ScheduledFor(ctx, w.ana, c.ID)
	if len(list) != 1 || !list[0].WindowClosesFirst {
		t.Fatalf("the list does not warn that the window closes first: %+v", list)
	}
	cancelMe, err := w.svc.Schedule(ctx, w.ana, c.ID, "Otro recordatorio", at.Add(time.Hour))
	testutil.Must(t, err)
	testutil.Must(t, w.svc.CancelScheduled(ctx, w.ana, c.ID, cancelMe.ID))

	w.clk.Set(at.Add(2 * time.Hour))
	if n, err := job.SendDue(ctx, w.clk.Now()); err != nil || n != 0 {
		t.Fatalf("sent %d, %v", n, err)
	}
	got := w.scheduled(t, sm.ID)
	if got.State != models.ScheduledHeld || got.Note != inbox.HeldWindowClosed {
		t.Fatalf("held? %+v", got)
	}
	if w.scheduled(t, cancelMe.ID).State != models.ScheduledCancelled {
		t.Error("the cancelled one changed")
	}
	var out int64
	w.app.DB.Gorm.Model(&models.Message{}).Where("conversation_id = ? AND direction = 'out'", c.ID).Count(&out)
	if out != 0 {
		t.Fatalf("%d messages sent with the window closed", out)
	}
	list, _ = w.svc.ScheduledFor(ctx, w.ana, c.ID)
	if len(list) != 1 || list[0].State != models.ScheduledHeld {
		t.Fatalf("the held reply is not listed: %+v", list)
	}
}
