package inbox

import (
	"context"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/atiende/atiende/models"
)

// pipelinedSelect locks the conversation of a known contact and reads what the
// common case needs (findLocked, for a pipeline).
const pipelinedSelect = `SELECT c.id, c.workspace_id, c.contact_id, c.status, c.team_id, c.assignee_id, c.cycle_id,
	c.last_message_at, c.last_message_preview, c.last_message_out, c.last_inbound_at, c.waiting_since, c.unread_count,
	c.close_reason, c.closed_at, c.first_response_due_at, c.next_response_due_at, c.resolution_due_at, c.sla_state,
	k.profile_name
FROM conversations c JOIN contacts k ON k.id = c.contact_id
WHERE k.workspace_id = $1 AND k.wa_id = $2 AND c.channel_id = $3 FOR UPDATE OF c`

// ReceivePipelined is ReceiveInbound's common case (a known contact writing in an
// open, not pending conversation) in two round trips on conn instead of five:
// BEGIN, the statement before (if any: the webhook's raw payload) and the locking
// read go in one pipeline; the insert, the update, the notification and COMMIT in
// another. ok is false when the message is not the common case: nothing was
// written (the transaction was rolled back) and the caller takes the general path.
// The result is the same as ReceiveInbound's, byte for byte in the database.
func (s *Service) ReceivePipelined(ctx context.Context, conn *pgx.Conn, in Inbound, before string, beforeArgs ...any) (r Received, ok bool, err error) {
	if !opensCycle(in.Kind) || len(in.Referral) > 0 {
		return r, false, nil
	}
	rollback := func() { _, _ = conn.Exec(context.WithoutCancel(ctx), "ROLLBACK") }

	b := &pgx.Batch{}
	b.Queue("BEGIN")
	if before != "" {
		b.Queue(dollars(before), beforeArgs...)
	}
	b.Queue(pipelinedSelect, in.WorkspaceID, in.WaID, in.ChannelID)
	br := conn.SendBatch(ctx, b)
	var c models.Conversation
	var profile string
	found := false
	_, err = br.Exec()
	if err == nil && before != "" {
		_, err = br.Exec()
	}
	if err == nil {
		var rows pgx.Rows
		rows, err = br.Query()
		if err == nil {
			for rows.Next() {
				found = true
				err = rows.Scan(&c.ID, &c.WorkspaceID, &c.ContactID, &c.Status, &c.TeamID, &c.AssigneeID, &c.CycleID,
					&c.LastMessageAt, &c.LastMessagePreview, &c.LastMessageOut, &c.LastInboundAt, &c.WaitingSince, &c.UnreadCount,
					&c.CloseReason, &c.ClosedAt, &c.FirstResponseDueAt, &c.NextResponseDueAt, &c.ResolutionDueAt, &c.SLAState,
					&profile)
			}
			rows.Close()
			if err == nil {
				err = rows.Err()
			}
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		rollback()
		return r, false, err
	}
	if !found || !isCommonCase(c, in) || (in.ProfileName != "" && in.ProfileName != profile) {
		rollback()
		return r, false, nil
	}

	r.ContactID, r.ConversationID = c.ContactID, c.ID
	q, args, err := s.commonCaseSQL(&c, inboundMessage(c, in), in)
	if err != nil {
		rollback()
		return r, false, err
	}
	b = &pgx.Batch{}
	b.Queue(dollars(q), args...)
	b.Queue("COMMIT")
	br = conn.SendBatch(ctx, b)
	var id *int64
	var notified int64
	err = br.QueryRow().Scan(&id, &notified)
	if err == nil {
		_, err = br.Exec()
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		rollback() // a failed statement skips the COMMIT: the transaction is aborted
		return r, false, err
	}
	if id == nil {
		r.Duplicate = true
	} else {
		r.MessageID = *id
	}
	return r, true, nil
}

// dollars numbers GORM's ? placeholders as PostgreSQL's $1, $2, … (the statements
// built here hold no ? of their own).
func dollars(q string) string {
	var b strings.Builder
	b.Grow(len(q) + 32)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}
