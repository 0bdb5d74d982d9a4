package inbox

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/live"
	"github.com/atiende/atiende/models"
)

// Board reads (search matches, column pages, counts, filter choices, the unread
// badge) go through a live.Cache when one is set: every open board refetches its
// counts after each change, and with the cache the boards that ask for the same thing
// after a change share one query instead of each running its own, and an idle board
// costs nothing to reload.

// EnableBoardCache sends the board reads through c.
func (s *Service) EnableBoardCache(c *live.Cache) { s.cache = c }

// Changed records a change this process committed to the workspace's conversations,
// so that its next board reads (the very answer to the click that made it, too) see
// it. What depends only on the workspace's settings and people (the signed-in viewer,
// the names cards show) stays cached: writes to those bump everything (web requests
// through bumpAfterWrite, other processes through their events).
func (s *Service) Changed(workspaceID int64) {
	if s.cache != nil {
		s.cache.ChangedConversations(workspaceID)
	}
}

// ChangedByMessages is Changed for customers' messages stored by the webhook: their
// notifications, committed with them, say how they moved Cerrados, so what is kept
// of Cerrados' count waits for those.
func (s *Service) ChangedByMessages(workspaceID int64) {
	if s.cache != nil {
		s.cache.ChangedMessages(workspaceID)
	}
}

// scopeKey names what v may see within the workspace: admins all see the same;
// supervisors and agents see by their teams and by themselves.
func scopeKey(v accounts.Viewer) string {
	if v.User.Role == models.RoleAdmin {
		return "admin"
	}
	teams := slices.Clone(v.TeamIDs)
	slices.Sort(teams)
	return fmt.Sprintf("%s/u%d/t%v", v.User.Role, v.User.ID, teams)
}

// filterKey names f's question (the search by its text, not its matches).
func (s *Service) filterKey(f BoardFilter) string {
	var b strings.Builder
	b.WriteString(f.View)
	for _, p := range []*int64{f.TeamID, f.LabelID, f.ChannelID, f.AssigneeID} {
		if p == nil {
			b.WriteString("|-")
		} else {
			fmt.Fprintf(&b, "|%d", *p)
		}
	}
	// Cerrados' window by its length, not its start (which moves with every request):
	// a cached answer is at most the cache's TTL behind the clock.
	fmt.Fprintf(&b, "|c%d|q%q", s.Clock.Now().Sub(s.closedSince(f))/time.Minute, strings.TrimSpace(f.Q))
	if !f.ClosedUntil.IsZero() {
		fmt.Fprintf(&b, "|u%d", f.ClosedUntil.Unix())
	}
	if f.Risk {
		b.WriteString("|risk")
	}
	return b.String()
}
