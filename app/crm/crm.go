// Package crm is the sales side of Atiende: pipelines and their stages, leads
// (oportunidades) born in conversations, their timeline, and tasks (next steps).
// Who sees a lead follows the conversations: an agent sees the leads they own or that
// come from conversations they can see; a supervisor also their teams' leads; an admin
// the whole workspace.
package crm

import (
	"context"
	"fmt"
	"strings"

	"gorm.io/gorm"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/clock"
	"github.com/atiende/atiende/app/inbox"
	"github.com/atiende/atiende/app/live"
	"github.com/atiende/atiende/models"
)

// Service runs pipeline, lead and task commands.
type Service struct {
	DB    *gorm.DB
	Clock clock.Clock
	// Inbox, when set, learns of changes that show on the conversations board (the
	// lead's stage chip), so its cached reads are refreshed.
	Inbox *inbox.Service
	// OnLeadStage, when set, runs in the transaction of a lead's move to another stage
	// (automations, app/automations); from is the stage it left.
	OnLeadStage func(tx *gorm.DB, a inbox.Actor, l models.Lead, from int64) error

	cache *live.Cache // nil: lead board reads go to the database every time
}

// EnableCache serves repeated lead board reads from c while the workspace is unchanged
// (the conversations board's cache; every lead change bumps the workspace's version).
func (s *Service) EnableCache(c *live.Cache) { s.cache = c }

// New returns a Service.
func New(db *gorm.DB, c clock.Clock, ib *inbox.Service) *Service {
	return &Service{DB: db, Clock: c, Inbox: ib}
}

// WithTx returns a copy of the service that runs inside tx with clock c (the importer).
func (s *Service) WithTx(tx *gorm.DB, c clock.Clock) *Service {
	cp := *s
	cp.DB, cp.Clock = tx, c
	return &cp
}

func (s *Service) changed(wsID int64) {
	if s.Inbox != nil {
		s.Inbox.Changed(wsID)
	}
}

// VisibleLeads restricts a leads query (alias l) to what v may see.
func VisibleLeads(v accounts.Viewer, alias string) (string, []any) {
	p := alias + "."
	if v.User.Role == models.RoleAdmin {
		return p + "workspace_id = ?", []any{v.Workspace.ID}
	}
	conv, convArgs := inbox.Visible(v, "vc")
	args := []any{v.Workspace.ID, v.User.ID}
	team := ""
	if v.User.Role == models.RoleSupervisor && len(v.TeamIDs) > 0 {
		team = fmt.Sprintf(" OR %sowner_id IN (SELECT tm.user_id FROM team_members tm WHERE tm.team_id IN ?)", p)
		args = append(args, v.TeamIDs)
	}
	args = append(args, convArgs...)
	// IN (uncorrelated subquery): PostgreSQL hashes the visible conversations once
	// instead of probing them lead by lead.
	return fmt.Sprintf("%[1]sworkspace_id = ? AND (%[1]sowner_id = ?%[2]s OR %[1]sconversation_id IN (SELECT vc.id FROM conversations vc WHERE %[3]s))",
		p, team, conv), args
}

// visibleContact restricts a contacts query (alias k) to what v may see: admins all;
// others the contacts they own or of conversations they can see.
func visibleContact(v accounts.Viewer, alias string) (string, []any) {
	p := alias + "."
	if v.User.Role == models.RoleAdmin {
		return p + "workspace_id = ?", []any{v.Workspace.ID}
	}
	conv, convArgs := inbox.Visible(v, "vc")
	return fmt.Sprintf("%[1]sworkspace_id = ? AND (%[1]sowner_id = ? OR EXISTS (SELECT 1 FROM conversations vc WHERE vc.contact_id = %[1]sid AND %[2]s))", p, conv),
		append([]any{v.Workspace.ID, v.User.ID}, convArgs...)
}

// publishLead tells open boards that the card of the lead's conversation changed (its
// stage chip), inside tx.
func publishLead(tx *gorm.DB, wsID int64, convID *int64, actor *int64) error {
	if convID == nil {
		return nil
	}
	var c models.Conversation
	if err := tx.Raw(`SELECT id, status, team_id, assignee_id FROM conversations WHERE id = ?`, *convID).Find(&c).Error; err != nil || c.ID == 0 {
		return err
	}
	return live.Publish(tx, live.Event{Kind: "lead", WorkspaceID: wsID, ConversationID: c.ID, Status: c.Status,
		TeamID: c.TeamID, AssigneeID: c.AssigneeID, PrevTeamID: c.TeamID, PrevAssigneeID: c.AssigneeID, ActorID: actor})
}

// ctxDB is the service's database with ctx.
func (s *Service) ctxDB(ctx context.Context) *gorm.DB { return s.DB.WithContext(ctx) }

func clean(s string) string { return strings.Join(strings.Fields(s), " ") }

// People are the workspace's active users by name (owner and assignee choices).
func (s *Service) People(ctx context.Context, wsID int64) ([]models.User, error) {
	var us []models.User
	err := s.ctxDB(ctx).Select("id", "name", "email", "role").Where("workspace_id = ? AND active", wsID).Order("lower(name), id").Find(&us).Error
	return us, err
}
