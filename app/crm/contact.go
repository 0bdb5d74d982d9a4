package crm

import (
	"context"
	"sort"
	"time"

	"github.com/atiende/atiende/app/accounts"
)

// What a contact's and a company's pages show of the sales side: their leads (as v may
// see them, like everywhere), the open ones' totals, and the leads' stage history for
// the contact's timeline.

// LeadsOfContact are every lead of the contact v may see: open ones first, then newest.
func (s *Service) LeadsOfContact(ctx context.Context, v accounts.Viewer, contactID int64) ([]LeadView, error) {
	cond, args := VisibleLeads(v, "l")
	var rows []LeadView
	err := s.ctxDB(ctx).Raw(leadViewSelect+" WHERE l.contact_id = ? AND "+cond+
		" ORDER BY (s.kind = 'open') DESC, l.created_at DESC, l.id DESC LIMIT 200", append([]any{contactID}, args...)...).Scan(&rows).Error
	for i := range rows {
		rows[i].fill()
	}
	return rows, err
}

// OpenLeads are a company's leads in open stages: the leads of its contacts that v may
// see, with their total per currency and the total weighted by each stage's probability.
type OpenLeads struct {
	Leads []LeadView
	Sums  []Sum
}

// CompanyOpenLeads returns the company's open leads (at most 500, the soonest to close
// first) and their totals over all of them.
func (s *Service) CompanyOpenLeads(ctx context.Context, v accounts.Viewer, companyID int64) (OpenLeads, error) {
	var out OpenLeads
	cond, args := VisibleLeads(v, "l")
	where := ` WHERE l.contact_id IN (SELECT ck.id FROM contacts ck WHERE ck.company_id = ? AND ck.workspace_id = ?) AND s.kind = 'open' AND ` + cond
	args = append([]any{companyID, v.Workspace.ID}, args...)
	db := s.ctxDB(ctx)
	if err := db.Raw(`SELECT l.currency, sum(l.value)::float8 AS value, sum(l.value * s.probability / 100.0)::float8 AS weighted
		FROM leads l JOIN stages s ON s.id = l.stage_id`+where+` GROUP BY l.currency ORDER BY sum(l.value) DESC, l.currency`, args...).Scan(&out.Sums).Error; err != nil {
		return out, err
	}
	if err := db.Raw(leadViewSelect+where+` ORDER BY l.expected_close NULLS LAST, l.created_at DESC, l.id DESC LIMIT 500`, args...).Scan(&out.Leads).Error; err != nil {
		return out, err
	}
	for i := range out.Leads {
		out.Leads[i].fill()
	}
	return out, nil
}

// LeadEvent is a line of a contact's timeline about one of their leads.
type LeadEvent struct {
	LeadID    int64
	LeadTitle string
	Kind      string // created, stage
	At        time.Time
	ActorKind string
	UserName  string
	FromStage string
	ToStage   string
	ToKind    string
	Note      string
}

// ContactLeadEvents are the creation and stage changes of the contact's leads that v
// may see, newest first (at most 100).
func (s *Service) ContactLeadEvents(ctx context.Context, v accounts.Viewer, contactID int64) ([]LeadEvent, error) {
	cond, args := VisibleLeads(v, "l")
	var rows []LeadEvent
	err := s.ctxDB(ctx).Raw(`SELECT e.lead_id, l.title AS lead_title, e.kind, e.at, e.actor_kind, COALESCE(u.name, '') AS user_name,
		COALESCE(fs.name, '') AS from_stage, COALESCE(ts.name, '') AS to_stage, COALESCE(ts.kind, '') AS to_kind, e.note
		FROM lead_events e JOIN leads l ON l.id = e.lead_id LEFT JOIN users u ON u.id = e.user_id
		LEFT JOIN stages fs ON fs.id = e.from_stage_id LEFT JOIN stages ts ON ts.id = e.to_stage_id
		WHERE l.contact_id = ? AND e.kind IN ('created', 'stage') AND `+cond+` ORDER BY e.at DESC, e.id DESC LIMIT 100`,
		append([]any{contactID}, args...)...).Scan(&rows).Error
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].At.After(rows[j].At) })
	return rows, err
}
