package web

import (
	"context"
	"time"

	"github.com/atiende/atiende/app/accounts"
)

// viewerTTL bounds how long a signed-in user's viewer (user, workspace, teams) is
// reused between requests. It is reused only while the workspace's live version
// holds, and every change made through this process (a deactivation, a new role, new
// teams) moves that version before its answer is sent; a change made by another
// process is seen when its notification arrives or after viewerTTL at most.
const viewerTTL = 5 * time.Second

type viewerEntry struct {
	v       accounts.Viewer
	version uint64
	until   time.Time
}

// loadViewer is Accounts.LoadViewer for page requests, without its three queries
// when nothing in the user's workspace changed since the last request.
func (s *Server) loadViewer(ctx context.Context, userID int64) (accounts.Viewer, error) {
	prev, seen := s.viewers.Load(userID)
	if seen {
		e := prev.(viewerEntry)
		if time.Now().Before(e.until) && s.Hub.Version(e.v.Workspace.ID) == e.version {
			return e.v, nil
		}
	}
	var version uint64
	if seen {
		// Read before loading: a change committed meanwhile makes the entry stale.
		version = s.Hub.Version(prev.(viewerEntry).v.Workspace.ID)
	}
	v, err := s.Accounts.LoadViewer(ctx, userID)
	if err != nil {
		s.viewers.Delete(userID)
		return v, err
	}
	e := viewerEntry{v: v, version: version, until: time.Now().Add(viewerTTL)}
	if !seen {
		// The workspace was not known before loading, so neither was its version:
		// keep the entry only to know it next time.
		e.until = time.Time{}
	}
	s.viewers.Store(userID, e)
	return v, nil
}
