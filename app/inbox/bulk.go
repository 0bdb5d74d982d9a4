package inbox

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/models"
)

// Bulk actions on the board: the same command on many conversations, each through
// the ordinary method (Assign, Transfer, SetLabels, SetStatus) with its own lock,
// rules and events, and an outcome per conversation.

// MaxBulk is the most conversations one bulk action takes.
const MaxBulk = 500

// Bulk action kinds.
const (
	BulkAssign   = "assign"
	BulkTransfer = "transfer"
	BulkLabel    = "label"
	BulkClose    = "close"
)

// BulkAction is what to do to every selected conversation.
type BulkAction struct {
	Kind    string
	AgentID int64
	TeamID  int64
	LabelID int64
	Note    string // transfers
	Reason  string // closing
}

// BulkOutcome is what happened to one conversation. Name is empty for one the viewer
// cannot see (the screen names it from the card it showed).
type BulkOutcome struct {
	ID     int64
	Name   string
	OK     bool
	Reason string
}

// Bulk applies a to each conversation of ids, in order.
func (s *Service) Bulk(ctx context.Context, v accounts.Viewer, ids []int64, a BulkAction) ([]BulkOutcome, error) {
	if len(ids) == 0 {
		return nil, apperr.Validation{"ids": "Selecciona al menos una conversación"}
	}
	if len(ids) > MaxBulk {
		return nil, apperr.Validation{"ids": "Puedes cambiar hasta 500 conversaciones a la vez"}
	}
	switch a.Kind {
	case BulkAssign:
		if a.AgentID == 0 {
			return nil, apperr.Validation{"agent": "Elige a quién asignar las conversaciones"}
		}
		if v.User.Role == models.RoleAgent && a.AgentID != v.User.ID {
			return nil, apperr.Validation{"agent": "Solo supervisores y administradores asignan conversaciones a otras personas"}
		}
	case BulkTransfer:
		if a.TeamID == 0 {
			return nil, apperr.Validation{"team": "Elige el equipo que las recibe"}
		}
		if strings.TrimSpace(a.Note) == "" {
			return nil, apperr.Validation{"note": "Escribe una nota para quien recibe: qué pidieron los clientes y qué falta"}
		}
	case BulkLabel:
		var n int64
		if err := s.DB.WithContext(ctx).Model(&models.Label{}).Where("id = ? AND workspace_id = ?", a.LabelID, v.Workspace.ID).Count(&n).Error; err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, apperr.Validation{"label": "Elige una etiqueta de la lista"}
		}
	case BulkClose:
		if len([]rune(strings.TrimSpace(a.Reason))) > 500 {
			return nil, apperr.Validation{"reason": "El motivo puede tener hasta 500 caracteres"}
		}
	default:
		return nil, apperr.Validation{"action": "Acción desconocida"}
	}
	// One read for what the viewer can see of the selection: names and states.
	type row struct {
		ID     int64
		Status string
		Name   string
	}
	var rows []row
	cond, args := Visible(v, "c")
	err := s.DB.WithContext(ctx).Raw(`SELECT c.id, c.status,
			COALESCE(NULLIF(ct.name, ''), NULLIF(ct.profile_name, ''), NULLIF(ct.phone, ''), '+' || ct.wa_id) AS name
		FROM conversations c JOIN contacts ct ON ct.id = c.contact_id
		WHERE c.id IN ? AND `+cond, append([]any{ids}, args...)...).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	seen := map[int64]row{}
	for _, r := range rows {
		seen[r.ID] = r
	}
	var out []BulkOutcome
	done := map[int64]bool{}
	for _, id := range ids {
		if done[id] {
			continue
		}
		done[id] = true
		r, ok := seen[id]
		if !ok {
			out = append(out, BulkOutcome{ID: id, Reason: "ya no la ves"})
			continue
		}
		o := BulkOutcome{ID: id, Name: r.Name}
		if r.Status == models.StatusClosed {
			o.Reason = "está cerrada"
			if a.Kind == BulkClose {
				o.Reason = "ya estaba cerrada"
			}
			out = append(out, o)
			continue
		}
		var err error
		switch a.Kind {
		case BulkAssign:
			err = s.Assign(ctx, By(v), id, a.AgentID)
		case BulkTransfer:
			team := a.TeamID
			err = s.Transfer(ctx, By(v), id, TransferInput{TeamID: &team, Note: a.Note})
		case BulkLabel:
			var have []int64
			if err = s.DB.WithContext(ctx).Model(&models.ConversationLabel{}).Where("conversation_id = ?", id).Pluck("label_id", &have).Error; err == nil && !slices.Contains(have, a.LabelID) {
				err = s.SetLabels(ctx, By(v), id, append(have, a.LabelID))
			}
		case BulkClose:
			err = s.SetStatus(ctx, By(v), id, models.StatusClosed, a.Reason)
		}
		var verr apperr.Validation
		var conflict apperr.Conflict
		switch {
		case err == nil:
			o.OK = true
		case errors.Is(err, apperr.ErrNotFound):
			o.Name, o.Reason = "", "ya no la ves"
		case errors.Is(err, apperr.ErrForbidden):
			o.Reason = "no está a tu cargo"
		case errors.As(err, &verr):
			o.Reason = verr.Error()
		case errors.As(err, &conflict):
			o.Reason = conflict.Msg
		default:
			return out, err
		}
		out = append(out, o)
	}
	return out, nil
}

// TransferTeams lists every team of the workspace, the choices of a bulk transfer.
// Teams change rarely and messages often: the list is kept 30 s regardless of the
// workspace's changes, so a busy workspace does not re-read it on every board page
// (a team created meanwhile shows within 30 s; one deleted fails the transfer with
// a clear reason).
func (s *Service) TransferTeams(ctx context.Context, v accounts.Viewer) ([]FilterOption, error) {
	transferTeamsMu.Lock()
	e, ok := transferTeamsCache[v.Workspace.ID]
	transferTeamsMu.Unlock()
	if ok && time.Now().Before(e.until) {
		return slices.Clone(e.teams), nil
	}
	var out []FilterOption
	err := s.DB.WithContext(ctx).Model(&models.Team{}).Select("id", "name", "color").
		Where("workspace_id = ?", v.Workspace.ID).Order("lower(name), id").Scan(&out).Error
	if err != nil {
		return nil, err
	}
	transferTeamsMu.Lock()
	if len(transferTeamsCache) > 10_000 {
		transferTeamsCache = map[int64]transferTeamsEntry{}
	}
	transferTeamsCache[v.Workspace.ID] = transferTeamsEntry{teams: out, until: time.Now().Add(30 * time.Second)}
	transferTeamsMu.Unlock()
	return slices.Clone(out), nil
}

type transferTeamsEntry struct {
	teams []FilterOption
	until time.Time
}

var (
	transferTeamsMu    sync.Mutex
	transferTeamsCache = map[int64]transferTeamsEntry{}
)
