package inbox

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/models"
)

// Scheduled replies: an agent writes a reply now for WhatsApp to deliver later. The
// Scheduler job sends each one at its time through Reply (so the outbox, the board and
// the metrics see an ordinary reply by its author) when the 24-hour window is still
// open; otherwise it holds it with a warning, and the agent sends a template instead.

// MaxScheduleAhead is how far ahead a reply may be scheduled.
const MaxScheduleAhead = 30 * 24 * time.Hour

// HeldWindowClosed is the warning on a reply held because the window had closed.
const HeldWindowClosed = "No se envió: a esa hora la ventana de 24 h ya estaba cerrada. Envía una plantilla aprobada o reprográmalo para cuando el cliente vuelva a escribir."

// ScheduledView is a scheduled reply as the conversation lists it.
type ScheduledView struct {
	models.ScheduledMessage
	Author string
	// WindowClosesFirst: the 24-hour window closes before SendAt, so unless the
	// customer writes again the reply will be held.
	WindowClosesFirst bool
}

func (s *Service) checkSchedule(body string, at time.Time) (string, error) {
	body, err := cleanBody(body)
	if err != nil {
		return "", err
	}
	now := s.Clock.Now()
	switch {
	case at.IsZero():
		return "", apperr.Validation{"send_at": "Elige la fecha y la hora del envío."}
	case !at.After(now.Add(30 * time.Second)):
		return "", apperr.Validation{"send_at": "Elige una fecha y hora futuras."}
	case at.After(now.Add(MaxScheduleAhead)):
		return "", apperr.Validation{"send_at": "Puedes programar envíos hasta con 30 días de anticipación."}
	}
	return body, nil
}

// Schedule programs body to go to the customer of conversation convID at at.
func (s *Service) Schedule(ctx context.Context, v accounts.Viewer, convID int64, body string, at time.Time) (models.ScheduledMessage, error) {
	body, err := s.checkSchedule(body, at)
	if err != nil {
		return models.ScheduledMessage{}, err
	}
	var sm models.ScheduledMessage
	err = s.locked(ctx, By(v), convID, func(tx *gorm.DB, c *models.Conversation) error {
		if !canWork(By(v), c) {
			return apperr.ErrForbidden
		}
		if c.Status == models.StatusClosed {
			return apperr.Validation{"send_at": "La conversación está cerrada: reábrela para programar un mensaje."}
		}
		now := s.Clock.Now()
		sm = models.ScheduledMessage{WorkspaceID: c.WorkspaceID, ConversationID: c.ID, UserID: &v.User.ID, Body: body,
			SendAt: at, State: models.ScheduledPending, CreatedAt: now, UpdatedAt: now}
		return tx.Omit("ID", "MessageID").Create(&sm).Error
	})
	return sm, err
}

// ScheduledFor lists the conversation's scheduled and held replies, soonest first.
func (s *Service) ScheduledFor(ctx context.Context, v accounts.Viewer, convID int64) ([]ScheduledView, error) {
	c, err := s.visibleConv(ctx, v, convID)
	if err != nil {
		return nil, err
	}
	var out []ScheduledView
	err = s.DB.WithContext(ctx).Raw(`SELECT sm.*, COALESCE(u.name, '') AS author FROM scheduled_messages sm
		LEFT JOIN users u ON u.id = sm.user_id
		WHERE sm.conversation_id = ? AND sm.workspace_id = ? AND sm.state IN ('scheduled','held')
		ORDER BY sm.send_at, sm.id`, convID, v.Workspace.ID).Scan(&out).Error
	for i := range out {
		out[i].WindowClosesFirst = out[i].State == models.ScheduledPending && !WindowOpen(c.LastInboundAt, out[i].SendAt)
	}
	return out, err
}

func (s *Service) visibleConv(ctx context.Context, v accounts.Viewer, convID int64) (models.Conversation, error) {
	var c models.Conversation
	cond, args := Visible(v, "")
	err := s.DB.WithContext(ctx).Where("id = ?", convID).Where(cond, args...).Take(&c).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return c, apperr.ErrNotFound
	}
	return c, err
}

// editScheduled runs fn on a scheduled or held reply of the conversation, locked.
func (s *Service) editScheduled(ctx context.Context, v accounts.Viewer, convID, id int64, fn func(tx *gorm.DB, sm *models.ScheduledMessage) error) error {
	return s.locked(ctx, By(v), convID, func(tx *gorm.DB, c *models.Conversation) error {
		if !canWork(By(v), c) {
			return apperr.ErrForbidden
		}
		var sm models.ScheduledMessage
		err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("id = ? AND conversation_id = ? AND workspace_id = ?", id, convID, v.Workspace.ID).Take(&sm).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return apperr.ErrNotFound
		}
		if err != nil {
			return err
		}
		switch sm.State {
		case models.ScheduledSent:
			return apperr.Conflict{Msg: "Ese mensaje ya se envió."}
		case models.ScheduledCancelled:
			return apperr.Conflict{Msg: "Ese envío ya estaba cancelado."}
		case models.ScheduledFailed:
			return apperr.Conflict{Msg: "Ese envío ya no se puede cambiar."}
		}
		return fn(tx, &sm)
	})
}

// UpdateScheduled changes the text and time of a scheduled (or held) reply; a held one
// is scheduled again.
func (s *Service) UpdateScheduled(ctx context.Context, v accounts.Viewer, convID, id int64, body string, at time.Time) error {
	body, err := s.checkSchedule(body, at)
	if err != nil {
		return err
	}
	return s.editScheduled(ctx, v, convID, id, func(tx *gorm.DB, sm *models.ScheduledMessage) error {
		return tx.Model(sm).Updates(map[string]any{"body": body, "send_at": at, "state": models.ScheduledPending,
			"note": "", "updated_at": s.Clock.Now()}).Error
	})
}

// CancelScheduled cancels a scheduled (or held) reply.
func (s *Service) CancelScheduled(ctx context.Context, v accounts.Viewer, convID, id int64) error {
	return s.editScheduled(ctx, v, convID, id, func(tx *gorm.DB, sm *models.ScheduledMessage) error {
		return tx.Model(sm).Updates(map[string]any{"state": models.ScheduledCancelled, "updated_at": s.Clock.Now()}).Error
	})
}

// Scheduler sends scheduled replies when they are due (the scheduled.send job).
type Scheduler struct {
	Inbox    *Service
	Accounts *accounts.Service
}

// SendDue sends every reply due at now, one transaction each: the reply and the
// scheduled row's new state commit together, so a reply goes out once. It returns
// how many were sent.
func (s *Scheduler) SendDue(ctx context.Context, now time.Time) (int, error) {
	sent := 0
	var errs []error
	for range 1000 {
		done, ok, err := s.sendOne(ctx, now)
		if err != nil {
			errs = append(errs, err)
		}
		if !ok {
			break
		}
		if done {
			sent++
		}
	}
	return sent, errors.Join(errs...)
}

// sendOne handles the oldest due reply; ok is false when none is left.
func (s *Scheduler) sendOne(ctx context.Context, now time.Time) (sent, ok bool, err error) {
	err = s.Inbox.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var sm models.ScheduledMessage
		res := tx.Raw(`SELECT * FROM scheduled_messages WHERE state = 'scheduled' AND send_at <= ?
			ORDER BY send_at, id LIMIT 1 FOR UPDATE SKIP LOCKED`, now).Scan(&sm)
		if res.Error != nil || sm.ID == 0 {
			return res.Error
		}
		ok = true
		settle := func(state, note string, msgID *int64) error {
			return tx.Model(&sm).Updates(map[string]any{"state": state, "note": note, "message_id": msgID, "updated_at": now}).Error
		}
		if sm.UserID == nil {
			return settle(models.ScheduledFailed, "Quien lo programó ya no está en el equipo: no se envió.", nil)
		}
		v, err := s.Accounts.LoadViewer(ctx, *sm.UserID)
		if errors.Is(err, apperr.ErrNotFound) || (err == nil && v.Workspace.ID != sm.WorkspaceID) {
			return settle(models.ScheduledFailed, "Quien lo programó ya no tiene acceso: no se envió.", nil)
		}
		if err != nil {
			return err
		}
		// The reply runs in this transaction (as a savepoint), with the job's time.
		in := *s.Inbox
		in.DB, in.Clock = tx, fixedClock(now)
		m, err := in.Reply(ctx, By(v), sm.ConversationID, sm.Body, "")
		var verr apperr.Validation
		switch {
		case err == nil:
			sent = true
			return settle(models.ScheduledSent, "", &m.ID)
		case errors.As(err, &verr) && verr["body"] == ErrWindowClosed["body"]:
			return settle(models.ScheduledHeld, HeldWindowClosed, nil)
		case errors.Is(err, apperr.ErrForbidden), errors.Is(err, apperr.ErrNotFound):
			return settle(models.ScheduledHeld, "No se envió: la conversación ya no está a tu cargo. Quien la atienda puede reprogramarlo o cancelarlo.", nil)
		case errors.As(err, &verr):
			return settle(models.ScheduledFailed, fmt.Sprintf("No se envió: %s", verr.Error()), nil)
		}
		return err
	})
	return sent, ok, err
}

type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }
