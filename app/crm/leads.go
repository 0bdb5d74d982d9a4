package crm

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"gorm.io/gorm"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/inbox"
	"github.com/atiende/atiende/models"
)

// ErrNoLead: the lead does not exist or the viewer may not see it (both look the same).
var ErrNoLead = apperr.NotFound{Msg: "No existe esa oportunidad o no tienes acceso."}

// LeadInput creates a lead. The contact comes from the conversation when one is given.
type LeadInput struct {
	ConversationID *int64
	ContactID      *int64
	Title          string
	Value          *float64
	Currency       string
	// Pipeline and Stage by name ("" = the default pipeline, its first open stage);
	// PipelineID and StageID win over the names when set.
	Pipeline   string
	Stage      string
	PipelineID int64
	StageID    int64
	OwnerID    *int64
	// ExpectedClose is a date (time of day ignored).
	ExpectedClose *time.Time
	// Reason is required when the lead starts in a lost stage.
	Reason string
}

// MaxValue is the largest amount a lead may carry (numeric(15,2)).
const MaxValue = 9_999_999_999_999.99

func validValue(v *float64, errs apperr.Validation) float64 {
	if v == nil {
		return 0
	}
	if math.IsNaN(*v) || *v < 0 || *v > MaxValue {
		errs.Add("value", "El valor debe ser un número mayor o igual a 0")
		return 0
	}
	return math.Round(*v*100) / 100
}

// pipelineAndStage resolves where a lead goes.
func (s *Service) pipelineAndStage(ctx context.Context, wsID int64, pipelineID, stageID int64, pipeline, stage string) (models.Pipeline, models.Stage, error) {
	var p models.Pipeline
	var err error
	if stageID != 0 && pipelineID == 0 {
		if err := s.ctxDB(ctx).Model(&models.Stage{}).Where("workspace_id = ? AND id = ?", wsID, stageID).Pluck("pipeline_id", &pipelineID).Error; err != nil {
			return p, models.Stage{}, err
		}
		if pipelineID == 0 {
			return p, models.Stage{}, apperr.Validation{"stage": "Esa etapa ya no existe: vuelve a cargar la página"}
		}
	}
	if pipelineID != 0 {
		p, err = s.Pipeline(ctx, wsID, pipelineID)
		if errors.Is(err, apperr.ErrNotFound) {
			err = apperr.Validation{"pipeline": "Ese embudo ya no existe: vuelve a cargar la página"}
		}
	} else {
		p, err = s.PipelineByName(ctx, wsID, pipeline)
	}
	if err != nil {
		return p, models.Stage{}, err
	}
	if stageID != 0 {
		for _, st := range p.Stages {
			if st.ID == stageID {
				return p, st, nil
			}
		}
		return p, models.Stage{}, apperr.Validation{"stage": fmt.Sprintf("Esa etapa no es del embudo «%s»", p.Name)}
	}
	if clean(stage) != "" {
		st, err := StageNamed(p, stage)
		return p, st, err
	}
	st, ok := FirstOpen(p)
	if !ok {
		return p, st, apperr.Validation{"stage": fmt.Sprintf("El embudo «%s» no tiene etapas abiertas", p.Name)}
	}
	return p, st, nil
}

// CreateLead creates a lead for a person (web or API) or for the importer and the
// system. A person must see the conversation or the contact; the lead's owner is the
// person unless another is given.
func (s *Service) CreateLead(ctx context.Context, a inbox.Actor, in LeadInput) (models.Lead, error) {
	ws := a.Workspace.ID
	errs := apperr.Validation{}
	value := validValue(in.Value, errs)
	if in.Title = clean(in.Title); len([]rune(in.Title)) > 120 {
		errs.Add("title", "El título puede tener hasta 120 caracteres")
	}
	if len(errs) > 0 {
		return models.Lead{}, errs
	}
	p, st, err := s.pipelineAndStage(ctx, ws, in.PipelineID, in.StageID, in.Pipeline, in.Stage)
	if err != nil {
		return models.Lead{}, err
	}
	currency := p.Currency
	if in.Currency != "" {
		if currency = NormalizeCurrency(in.Currency); currency == "" {
			return models.Lead{}, apperr.Validation{"currency": "La moneda es un código de tres letras, como USD, PEN o MXN"}
		}
	}
	reason := clean(in.Reason)
	if st.Kind == models.StageLost && reason == "" {
		return models.Lead{}, apperr.Validation{"reason": "Escribe por qué se perdió la oportunidad"}
	}
	v := a.Viewer()
	var lead models.Lead
	err = s.ctxDB(ctx).Transaction(func(tx *gorm.DB) error {
		var contactName string
		var contactID int64
		var convID, cycleID *int64
		switch {
		case in.ConversationID != nil:
			cond, args := inbox.Visible(v, "c")
			var row struct {
				ID, ContactID int64
				CycleID       *int64
				Status        string
				Name, Profile string
				Phone, WaID   string
			}
			if err := tx.Raw(`SELECT c.id, c.contact_id, c.cycle_id, c.status, k.name, k.profile_name AS profile, k.phone, k.wa_id
				FROM conversations c JOIN contacts k ON k.id = c.contact_id WHERE c.id = ? AND `+cond,
				append([]any{*in.ConversationID}, args...)...).Find(&row).Error; err != nil {
				return err
			}
			if row.ID == 0 {
				return apperr.NotFound{Msg: "No existe esa conversación o no tienes acceso."}
			}
			contactID, convID = row.ContactID, &row.ID
			if row.Status != models.StatusClosed {
				cycleID = row.CycleID // the cycle it was born in, while it is open
			}
			contactName = models.Contact{Name: row.Name, ProfileName: row.Profile, Phone: row.Phone, WaID: row.WaID}.DisplayName()
		case in.ContactID != nil:
			cond, args := visibleContact(v, "k")
			var k models.Contact
			if err := tx.Raw(`SELECT k.* FROM contacts k WHERE k.id = ? AND `+cond, append([]any{*in.ContactID}, args...)...).Find(&k).Error; err != nil {
				return err
			}
			if k.ID == 0 {
				return apperr.NotFound{Msg: "No existe ese contacto o no tienes acceso."}
			}
			contactID, contactName = k.ID, k.DisplayName()
			// The contact's latest conversation, and its cycle while open (the lead was born in it).
			var c models.Conversation
			if err := tx.Raw(`SELECT id, cycle_id, status FROM conversations WHERE contact_id = ? ORDER BY last_message_at DESC NULLS LAST, id DESC LIMIT 1`, k.ID).Find(&c).Error; err != nil {
				return err
			}
			if c.ID != 0 {
				convID = &c.ID
				if c.Status != models.StatusClosed {
					cycleID = c.CycleID
				}
			}
		default:
			return apperr.Validation{"contact_id": "Indica la conversación o el contacto de la oportunidad"}
		}
		owner := a.UserID()
		if in.OwnerID != nil {
			if err := checkUser(tx, ws, *in.OwnerID, "owner"); err != nil {
				return err
			}
			owner = in.OwnerID
		}
		title := in.Title
		if title == "" {
			title = "Oportunidad de " + contactName
		}
		now := s.Clock.Now()
		lead = models.Lead{WorkspaceID: ws, PipelineID: p.ID, StageID: st.ID, Title: title, Value: value, Currency: currency,
			ContactID: contactID, OwnerID: owner, ConversationID: convID, CycleID: cycleID, ExpectedClose: dateOnly(in.ExpectedClose),
			StageChangedAt: now, CreatedAt: now, UpdatedAt: now}
		if st.Kind != models.StageOpen {
			lead.ClosedAt = &now
		}
		if st.Kind == models.StageLost {
			lead.LostReason = reason
		}
		if err := tx.Create(&lead).Error; err != nil {
			return err
		}
		if err := tx.Create(&models.LeadEvent{WorkspaceID: ws, LeadID: lead.ID, Kind: "created", At: now, ActorKind: a.Kind,
			UserID: a.UserID(), ToStageID: &st.ID, Note: lead.LostReason}).Error; err != nil {
			return err
		}
		if a.Kind == inbox.ActorImporter {
			return nil // history: no live event
		}
		return publishLead(tx, ws, convID, a.UserID())
	})
	if err == nil {
		s.changed(ws)
	}
	return lead, err
}

func checkUser(tx *gorm.DB, wsID, id int64, field string) error {
	var n int64
	if err := tx.Model(&models.User{}).Where("workspace_id = ? AND id = ? AND active", wsID, id).Count(&n).Error; err != nil {
		return err
	}
	if n == 0 {
		return apperr.Validation{field: "Esa persona no existe o está desactivada"}
	}
	return nil
}

func dateOnly(t *time.Time) *time.Time {
	if t == nil || t.IsZero() {
		return nil
	}
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	return &d
}

// lockedLead loads lead id for update if v may see it and runs fn in the same transaction.
func (s *Service) lockedLead(ctx context.Context, a inbox.Actor, id int64, fn func(tx *gorm.DB, l *models.Lead) error) error {
	v := a.Viewer()
	cond, args := VisibleLeads(v, "l")
	err := s.ctxDB(ctx).Transaction(func(tx *gorm.DB) error {
		var l models.Lead
		if err := tx.Raw(`SELECT l.* FROM leads l WHERE l.id = ? AND `+cond+` FOR UPDATE OF l`, append([]any{id}, args...)...).Find(&l).Error; err != nil {
			return err
		}
		if l.ID == 0 {
			return ErrNoLead
		}
		return fn(tx, &l)
	})
	if err == nil {
		s.changed(v.Workspace.ID)
	}
	return err
}

// LeadPatch changes some of a lead's fields; nil fields stay as they are.
type LeadPatch struct {
	Title         *string
	Value         *float64
	Currency      *string
	OwnerID       **int64
	ExpectedClose **time.Time
	// Stage moves the lead (by name within its pipeline, or StageID); Reason is
	// required when the stage is a lost one.
	Stage   *string
	StageID int64
	Reason  string
}

// MoveLead moves a lead to another stage of its pipeline. Moving to a lost stage needs a reason.
func (s *Service) MoveLead(ctx context.Context, a inbox.Actor, id, stageID int64, reason string) (models.Lead, error) {
	return s.UpdateLead(ctx, a, id, LeadPatch{StageID: stageID, Reason: reason})
}

// UpdateLead applies a patch: edits and a stage change, recorded on the timeline.
func (s *Service) UpdateLead(ctx context.Context, a inbox.Actor, id int64, p LeadPatch) (models.Lead, error) {
	var out models.Lead
	err := s.lockedLead(ctx, a, id, func(tx *gorm.DB, l *models.Lead) error {
		now := s.Clock.Now()
		var movedFrom int64 // the stage the lead left (0: it did not move)
		errs := apperr.Validation{}
		if p.Title != nil {
			t := clean(*p.Title)
			switch {
			case t == "":
				errs.Add("title", "La oportunidad necesita un título")
			case len([]rune(t)) > 120:
				errs.Add("title", "El título puede tener hasta 120 caracteres")
			}
			l.Title = t
		}
		if p.Value != nil {
			l.Value = validValue(p.Value, errs)
		}
		if p.Currency != nil {
			if c := NormalizeCurrency(*p.Currency); c == "" {
				errs.Add("currency", "La moneda es un código de tres letras, como USD, PEN o MXN")
			} else {
				l.Currency = c
			}
		}
		if p.ExpectedClose != nil {
			l.ExpectedClose = dateOnly(*p.ExpectedClose)
		}
		if len(errs) > 0 {
			return errs
		}
		if p.OwnerID != nil {
			if *p.OwnerID != nil {
				if err := checkUser(tx, l.WorkspaceID, **p.OwnerID, "owner"); err != nil {
					return err
				}
			}
			l.OwnerID = *p.OwnerID
		}
		if p.Stage != nil || p.StageID != 0 {
			var stages []models.Stage
			if err := tx.Where("pipeline_id = ?", l.PipelineID).Order("position, id").Find(&stages).Error; err != nil {
				return err
			}
			pl := models.Pipeline{ID: l.PipelineID, Stages: stages}
			if err := tx.Model(&models.Pipeline{}).Where("id = ?", l.PipelineID).Pluck("name", &pl.Name).Error; err != nil {
				return err
			}
			var to models.Stage
			if p.StageID != 0 {
				found := false
				for _, st := range stages {
					if st.ID == p.StageID {
						to, found = st, true
					}
				}
				if !found {
					return apperr.Validation{"stage": fmt.Sprintf("Esa etapa no es del embudo «%s»", pl.Name)}
				}
			} else {
				var err error
				if to, err = StageNamed(pl, *p.Stage); err != nil {
					return err
				}
			}
			if to.ID != l.StageID {
				reason := clean(p.Reason)
				if to.Kind == models.StageLost && reason == "" {
					return apperr.Validation{"reason": "Escribe por qué se perdió la oportunidad"}
				}
				from := l.StageID
				movedFrom = from
				l.StageID, l.StageChangedAt = to.ID, now
				l.LostReason = ""
				l.ClosedAt = nil
				if to.Kind != models.StageOpen {
					l.ClosedAt = &now
				}
				if to.Kind == models.StageLost {
					l.LostReason = reason
				}
				if err := tx.Create(&models.LeadEvent{WorkspaceID: l.WorkspaceID, LeadID: l.ID, Kind: "stage", At: now, ActorKind: a.Kind,
					UserID: a.UserID(), FromStageID: &from, ToStageID: &to.ID, Note: l.LostReason}).Error; err != nil {
					return err
				}
			}
		}
		l.UpdatedAt = now
		if err := tx.Model(l).Select("title", "value", "currency", "owner_id", "expected_close", "stage_id", "stage_changed_at",
			"lost_reason", "closed_at", "updated_at").Updates(l).Error; err != nil {
			return err
		}
		out = *l
		if a.Kind == inbox.ActorImporter {
			return nil
		}
		if movedFrom != 0 && s.OnLeadStage != nil {
			if err := s.OnLeadStage(tx, a, *l, movedFrom); err != nil {
				return err
			}
		}
		return publishLead(tx, l.WorkspaceID, l.ConversationID, a.UserID())
	})
	return out, err
}

// LeadView is a lead with what screens and the API show of it.
type LeadView struct {
	models.Lead
	PipelineName   string
	StageName      string
	StageKind      string
	Probability    int
	RotDays        *int
	ContactName    string
	ContactPhone   string
	ContactWaID    string
	OwnerName      string
	OwnerEmail     string
	ContactProfile string
}

// Rotting reports whether the lead has stayed too long in an open stage at now.
func (l LeadView) Rotting(now time.Time) bool {
	return IsRotting(l.StageKind, l.RotDays, l.StageChangedAt, now)
}

// IsRotting: a lead is rotting when it has stayed in an open stage with a rotting
// limit for more than that many days.
func IsRotting(kind string, rotDays *int, since, now time.Time) bool {
	return kind == models.StageOpen && rotDays != nil && now.Sub(since) > time.Duration(*rotDays)*24*time.Hour
}

// DaysInStage are whole days since the lead entered its stage.
func DaysInStage(since, now time.Time) int {
	d := int(now.Sub(since) / (24 * time.Hour))
	if d < 0 {
		return 0
	}
	return d
}

const leadViewSelect = `SELECT l.*, p.name AS pipeline_name, s.name AS stage_name, s.kind AS stage_kind, s.probability, s.rot_days,
	k.name AS contact_name, k.profile_name AS contact_profile, k.phone AS contact_phone, k.wa_id AS contact_wa_id,
	COALESCE(u.name, '') AS owner_name, COALESCE(u.email, '') AS owner_email
FROM leads l JOIN pipelines p ON p.id = l.pipeline_id JOIN stages s ON s.id = l.stage_id JOIN contacts k ON k.id = l.contact_id
LEFT JOIN users u ON u.id = l.owner_id`

func (r *LeadView) fill() {
	r.ContactName = models.Contact{Name: r.ContactName, ProfileName: r.ContactProfile, Phone: r.ContactPhone, WaID: r.ContactWaID}.DisplayName()
}

// Lead returns one lead v may see.
func (s *Service) Lead(ctx context.Context, v accounts.Viewer, id int64) (LeadView, error) {
	cond, args := VisibleLeads(v, "l")
	var r LeadView
	if err := s.ctxDB(ctx).Raw(leadViewSelect+" WHERE l.id = ? AND "+cond, append([]any{id}, args...)...).Find(&r).Error; err != nil {
		return r, err
	}
	if r.ID == 0 {
		return r, ErrNoLead
	}
	r.fill()
	return r, nil
}

// LeadsOfConversation are the leads v may see that come from conversation convID or
// belong to its contact, newest first.
func (s *Service) LeadsOfConversation(ctx context.Context, v accounts.Viewer, convID, contactID int64) ([]LeadView, error) {
	cond, args := VisibleLeads(v, "l")
	var rows []LeadView
	err := s.ctxDB(ctx).Raw(leadViewSelect+" WHERE (l.conversation_id = ? OR l.contact_id = ?) AND "+cond+
		" ORDER BY (l.closed_at IS NULL) DESC, l.created_at DESC, l.id DESC LIMIT 20", append([]any{convID, contactID}, args...)...).Scan(&rows).Error
	for i := range rows {
		rows[i].fill()
	}
	return rows, err
}

// TimelineItem is one line of a lead's timeline.
type TimelineItem struct {
	Kind      string
	At        time.Time
	ActorKind string
	UserName  string
	FromStage string
	ToStage   string
	Note      string
}

// Timeline is the lead's history, oldest first.
func (s *Service) Timeline(ctx context.Context, leadID int64) ([]TimelineItem, error) {
	var rows []TimelineItem
	err := s.ctxDB(ctx).Raw(`SELECT e.kind, e.at, e.actor_kind, COALESCE(u.name, '') AS user_name,
		COALESCE(fs.name, '') AS from_stage, COALESCE(ts.name, '') AS to_stage, e.note
		FROM lead_events e LEFT JOIN users u ON u.id = e.user_id
		LEFT JOIN stages fs ON fs.id = e.from_stage_id LEFT JOIN stages ts ON ts.id = e.to_stage_id
		WHERE e.lead_id = ? ORDER BY e.at, e.id`, leadID).Scan(&rows).Error
	return rows, err
}

// LeadRef is the lead shown on a conversation (its card chip, the API): the newest
// one born in it.
type LeadRef struct {
	ID    int64  `json:"id"`
	Title string `json:"title"`
	Stage string `json:"stage"`
}

// ConversationLead returns the newest lead of a conversation, or nil.
func (s *Service) ConversationLead(ctx context.Context, convID int64) (*LeadRef, error) {
	var r LeadRef
	err := s.ctxDB(ctx).Raw(`SELECT l.id, l.title, s.name AS stage FROM leads l JOIN stages s ON s.id = l.stage_id
		WHERE l.conversation_id = ? ORDER BY l.created_at DESC, l.id DESC LIMIT 1`, convID).Find(&r).Error
	if err != nil || r.ID == 0 {
		return nil, err
	}
	return &r, nil
}
