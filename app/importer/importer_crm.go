package importer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/atiende/atiende/app/clock"
	"github.com/atiende/atiende/app/crm"
	"github.com/atiende/atiende/app/inbox"
	"github.com/atiende/atiende/models"
)

// pipeline applies a pipeline line: created or updated by name, stages in order.
func (st *run) pipeline(ctx context.Context, tx *gorm.DB, l line) error {
	if strings.TrimSpace(l.Name) == "" {
		return errors.New(`a pipeline line needs "name"`)
	}
	var stages []crm.StageInput
	if l.Stages != nil {
		stages = *l.Stages
		if len(stages) == 0 {
			return errors.New(`a pipeline line's "stages" cannot be empty`)
		}
	}
	svc := crm.New(tx, clock.Real{}, nil)
	_, err := svc.EnsurePipeline(ctx, st.ws.ID, l.Name, l.Currency, stages)
	return explain(err)
}

// crmKey identifies a lead or stage line without an id, so a rerun skips it.
func crmKey(l line, at time.Time) string {
	if l.ID != "" {
		return l.Type + ":" + l.ID
	}
	value := ""
	if l.Value != nil {
		value = strconv.FormatFloat(*l.Value, 'f', -1, 64)
	}
	h := sha256.New()
	for _, p := range []string{l.Type, at.UTC().Format(time.RFC3339Nano), l.Contact, strings.ToLower(l.Agent), l.Title, value,
		l.Currency, l.Stage, l.Pipeline, l.Reason} {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return l.Type + "#" + hex.EncodeToString(h.Sum(nil)[:16])
}

// crmEvent applies a lead line (a lead for the contact, linked to its conversation and
// to the current cycle when one is open) or a stage line (the contact's latest lead,
// in the named pipeline if given, moves to a stage), at the line's time.
func (st *run) crmEvent(ctx context.Context, tx *gorm.DB, p *part, l line) (bool, error) {
	if l.At == "" {
		return false, fmt.Errorf(`a %s line needs "at" (RFC 3339)`, l.Type)
	}
	at, err := time.Parse(time.RFC3339Nano, l.At)
	if err != nil {
		return false, fmt.Errorf("at %q is not an RFC 3339 time", l.At)
	}
	k := crmKey(l, at)
	if st.keys[k] || p.seen[k] {
		return false, nil
	}
	waID := normalizeWaID(l.Contact)
	if waID == "" {
		return false, fmt.Errorf(`a %s line needs "contact" (the customer's wa_id)`, l.Type)
	}
	actor := inbox.As(inbox.ActorImporter, st.ws)
	if l.Agent != "" {
		u, err := st.user(tx, l.Agent)
		if err != nil {
			return false, err
		}
		actor.User = &u
	}
	svc := crm.New(tx, clock.NewManual(at), nil)
	switch l.Type {
	case "lead":
		if strings.TrimSpace(l.Stage) == "" && strings.TrimSpace(l.Pipeline) == "" && l.Title == "" {
			return false, errors.New(`a lead line needs "title" and usually "pipeline" and "stage"`)
		}
		var contactID int64
		if err := tx.Model(&models.Contact{}).Where("workspace_id = ? AND wa_id = ? AND wa_id <> ''", st.ws.ID, waID).Pluck("id", &contactID).Error; err != nil {
			return false, err
		}
		if contactID == 0 {
			return false, fmt.Errorf("unknown contact %q: no inbound line from this number before it", waID)
		}
		in := crm.LeadInput{Title: l.Title, Value: l.Value, Currency: l.Currency, Pipeline: l.Pipeline, Stage: l.Stage, Reason: l.Reason}
		if conv, err := st.conversation(tx, p, waID); err == nil {
			in.ConversationID = &conv.ID
		} else {
			in.ContactID = &contactID
		}
		if _, err := svc.CreateLead(ctx, actor, in); err != nil {
			return false, explain(err)
		}
	case "stage":
		if strings.TrimSpace(l.Stage) == "" {
			return false, errors.New(`a stage line needs "stage"`)
		}
		var leadID int64
		q := `SELECT l.id FROM leads l JOIN contacts k ON k.id = l.contact_id JOIN pipelines p ON p.id = l.pipeline_id
			WHERE k.workspace_id = ? AND k.wa_id = ?`
		args := []any{st.ws.ID, waID}
		if strings.TrimSpace(l.Pipeline) != "" {
			q += " AND lower(p.name) = lower(?)"
			args = append(args, strings.TrimSpace(l.Pipeline))
		}
		if err := tx.Raw(q+" ORDER BY l.created_at DESC, l.id DESC LIMIT 1", args...).Find(&leadID).Error; err != nil {
			return false, err
		}
		if leadID == 0 {
			return false, fmt.Errorf("contact %q has no lead to move: add a lead line before it", waID)
		}
		stage := l.Stage
		if _, err := svc.UpdateLead(ctx, actor, leadID, crm.LeadPatch{Stage: &stage, Reason: l.Reason}); err != nil {
			return false, explain(err)
		}
	}
	p.newKeys = append(p.newKeys, k)
	p.seen[k] = true
	return true, nil
}
