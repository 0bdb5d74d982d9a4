package inbox

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/models"
)

// Versions tells when a workspace last changed: a number that moves on every change
// this process made (Bump) or heard of (live.Hub implements it).
type Versions interface {
	Version(workspaceID int64) uint64
	Bump(workspaceID int64)
}

// Board reads (search matches, column pages, counts, filter choices) are kept in
// memory per viewer's scope and filters while their workspace's version stays the
// same, and never longer than boardCacheTTL. Every open board refetches its counts
// after each change; with the cache, the boards that ask for the same thing after a
// change share one query instead of each running its own, and an idle board costs
// nothing to reload. The TTL bounds what no event announces (Cerrados' window
// sliding with the clock).
const (
	boardCacheTTL = 5 * time.Second
	// closedStep rounds the start of Cerrados' window, so that requests a few seconds
	// apart ask the same question.
	closedStep = 5 * time.Second
	// boardCacheMax bounds the entries; the cache starts over when full.
	boardCacheMax = 20_000
)

type boardCache struct {
	versions Versions
	mu       sync.Mutex
	m        map[string]boardEntry
	flight   singleflight.Group
}

type boardEntry struct {
	version uint64
	until   time.Time
	value   any
}

// EnableBoardCache turns the board cache on, invalidated by versions.
func (s *Service) EnableBoardCache(versions Versions) {
	s.cache = &boardCache{versions: versions, m: map[string]boardEntry{}}
}

// Changed records a change this process committed in the workspace, so that its
// next board reads (the very answer to the click that made it, too) see it.
func (s *Service) Changed(workspaceID int64) {
	if s.cache != nil {
		s.cache.versions.Bump(workspaceID)
	}
}

// cached returns the value kept under key for the workspace's current version, or
// loads it, once for all the requests asking at the same time. Without a cache it
// just loads. The version is read before loading, so a change committed while the
// load runs makes the entry stale at once.
func cached[T any](ctx context.Context, s *Service, workspaceID int64, key string, load func(ctx context.Context) (T, error)) (T, error) {
	c := s.cache
	if c == nil {
		return load(ctx)
	}
	version := c.versions.Version(workspaceID)
	now := time.Now()
	c.mu.Lock()
	e, ok := c.m[key]
	c.mu.Unlock()
	if ok && e.version == version && now.Before(e.until) {
		return e.value.(T), nil
	}
	// A browser that goes away must not fail the others waiting on the same load.
	lctx := context.WithoutCancel(ctx)
	v, err, _ := c.flight.Do(fmt.Sprintf("%s|%d", key, version), func() (any, error) {
		v, err := load(lctx)
		if err != nil {
			return v, err
		}
		c.mu.Lock()
		if len(c.m) >= boardCacheMax {
			c.m = make(map[string]boardEntry, 1024)
		}
		c.m[key] = boardEntry{version: version, until: time.Now().Add(boardCacheTTL), value: v}
		c.mu.Unlock()
		return v, nil
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return v.(T), nil
}

// scopeKey names what v may see: admins of a workspace all see the same; supervisors
// and agents see by their teams and by themselves.
func scopeKey(v accounts.Viewer) string {
	if v.User.Role == models.RoleAdmin {
		return fmt.Sprintf("w%d/admin", v.Workspace.ID)
	}
	teams := slices.Clone(v.TeamIDs)
	slices.Sort(teams)
	return fmt.Sprintf("w%d/%s/u%d/t%v", v.Workspace.ID, v.User.Role, v.User.ID, teams)
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
	fmt.Fprintf(&b, "|c%d|q%q", s.closedSince(f).Unix(), strings.TrimSpace(f.Q))
	return b.String()
}
