package inbox

import (
	"fmt"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/models"
)

// Who sees what: the one definition, used by the board, search, the conversation page,
// the API, live updates and exports. An agent sees the conversations assigned to them,
// the unassigned ones of their teams and the unassigned ones with no team; a supervisor
// everything of their teams plus what has no team (and their own); an admin the whole
// workspace. Nobody sees another workspace.

// Visible restricts a conversations query (aliased c or unaliased) to what v may see:
// admins everything in the workspace; supervisors their teams' conversations, those
// without a team and their own; agents their own plus the unassigned ones of their
// teams or without a team.
func Visible(v accounts.Viewer, alias string) (string, []any) {
	p := ""
	if alias != "" {
		p = alias + "."
	}
	teams := v.TeamIDs
	if len(teams) == 0 {
		teams = []int64{0}
	}
	switch v.User.Role {
	case models.RoleAdmin:
		return p + "workspace_id = ?", []any{v.Workspace.ID}
	case models.RoleSupervisor:
		return fmt.Sprintf("%[1]sworkspace_id = ? AND (%[1]steam_id IN ? OR %[1]steam_id IS NULL OR %[1]sassignee_id = ?)", p),
			[]any{v.Workspace.ID, teams, v.User.ID}
	}
	return fmt.Sprintf("%[1]sworkspace_id = ? AND (%[1]sassignee_id = ? OR (%[1]sassignee_id IS NULL AND (%[1]steam_id IN ? OR %[1]steam_id IS NULL)))", p),
		[]any{v.Workspace.ID, v.User.ID, teams}
}

// CanSee applies the same rule as Visible to one conversation in memory (live events).
func CanSee(v accounts.Viewer, workspaceID int64, teamID, assigneeID *int64) bool {
	if workspaceID != v.Workspace.ID {
		return false
	}
	switch v.User.Role {
	case models.RoleAdmin:
		return true
	case models.RoleSupervisor:
		return teamID == nil || v.InTeam(*teamID) || (assigneeID != nil && *assigneeID == v.User.ID)
	}
	if assigneeID != nil {
		return *assigneeID == v.User.ID
	}
	return teamID == nil || v.InTeam(*teamID)
}
