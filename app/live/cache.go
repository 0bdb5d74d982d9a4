package live

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// Cache keeps values of a workspace in memory while the workspace's version (see
// Hub.Version) stays the same, and never longer than its TTL (which bounds what no
// event announces: a window sliding with the clock, a change another process made
// without a notification). Concurrent loads of the same key share one load.
type Cache struct {
	hub *Hub
	ttl time.Duration
	max int

	mu     sync.Mutex
	m      map[string]cacheEntry
	flight singleflight.Group
}

type cacheEntry struct {
	version uint64
	until   time.Time
	value   any
}

// NewCache returns a cache invalidated by h, holding at most max entries (it starts
// over when full).
func NewCache(h *Hub, ttl time.Duration, max int) *Cache {
	return &Cache{hub: h, ttl: ttl, max: max, m: map[string]cacheEntry{}}
}

// Changed records a change this process committed in the workspace, so that its
// next reads (the very answer to the request that made it, too) see it.
func (c *Cache) Changed(workspaceID int64) { c.hub.Bump(workspaceID) }

// ChangedConversations is Changed for a change to conversations only: what
// GetSettings keeps stays.
func (c *Cache) ChangedConversations(workspaceID int64) { c.hub.BumpConversations(workspaceID) }

// ChangedMessages is ChangedConversations for changes whose notifications say how
// they moved Cerrados (Hub.BumpMessages).
func (c *Cache) ChangedMessages(workspaceID int64) { c.hub.BumpMessages(workspaceID) }

// ClosedSeq and ClosedChangedSince are the hub's (see Hub.ClosedSeq).
func (c *Cache) ClosedSeq(workspaceID int64) uint64 { return c.hub.ClosedSeq(workspaceID) }

// ClosedChangedSince: see Hub.ClosedChangedSince.
func (c *Cache) ClosedChangedSince(workspaceID int64, seq uint64, since time.Time) bool {
	return c.hub.ClosedChangedSince(workspaceID, seq, since)
}

// TTL is how long anything stays kept.
func (c *Cache) TTL() time.Duration { return c.ttl }

// Get returns the value kept under key for the workspace's current version, or loads
// it, once for all the callers asking at the same time. Keys must name everything the
// value depends on except the workspace's data. With a nil cache it just loads. The
// version is read before loading, so a change committed while the load runs makes
// the entry stale at once.
func Get[T any](ctx context.Context, c *Cache, workspaceID int64, key string, load func(ctx context.Context) (T, error)) (T, error) {
	if c == nil {
		return load(ctx)
	}
	return get(ctx, c, c.hub.Version(workspaceID), fmt.Sprintf("w%d|%s", workspaceID, key), load)
}

// GetColumn is Get for a value that depends only on the conversations of one open
// column (Hub.ColumnVersion): it stays cached while changes touch other columns. For
// any other status it is Get.
func GetColumn[T any](ctx context.Context, c *Cache, workspaceID int64, status, key string, load func(ctx context.Context) (T, error)) (T, error) {
	if c == nil {
		return load(ctx)
	}
	if !slices.Contains(openColumns[:], status) {
		return Get(ctx, c, workspaceID, key, load)
	}
	return get(ctx, c, c.hub.ColumnVersion(workspaceID, status), fmt.Sprintf("w%d|column|%s|%s", workspaceID, status, key), load)
}

// GetSettings is Get for a value that depends on the workspace's settings, people and
// presence but on none of its conversations (see Hub.SettingsVersion): it stays
// cached while messages arrive and goes with any other change.
func GetSettings[T any](ctx context.Context, c *Cache, workspaceID int64, key string, load func(ctx context.Context) (T, error)) (T, error) {
	if c == nil {
		return load(ctx)
	}
	return get(ctx, c, c.hub.SettingsVersion(workspaceID), fmt.Sprintf("w%d|settings|%s", workspaceID, key), load)
}

// Forget drops what GetSettings keeps under key (a value found out of date).
func (c *Cache) Forget(workspaceID int64, key string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	delete(c.m, fmt.Sprintf("w%d|settings|%s", workspaceID, key))
	c.mu.Unlock()
}

func get[T any](ctx context.Context, c *Cache, version uint64, key string, load func(ctx context.Context) (T, error)) (T, error) {
	c.mu.Lock()
	e, ok := c.m[key]
	c.mu.Unlock()
	if ok && e.version == version && time.Now().Before(e.until) {
		return e.value.(T), nil
	}
	// A caller that goes away must not fail the others waiting on the same load.
	lctx := context.WithoutCancel(ctx)
	v, err, _ := c.flight.Do(fmt.Sprintf("%s|%d", key, version), func() (any, error) {
		v, err := load(lctx)
		if err != nil {
			return v, err
		}
		c.mu.Lock()
		if len(c.m) >= c.max {
			c.m = make(map[string]cacheEntry, 1024)
		}
		c.m[key] = cacheEntry{version: version, until: time.Now().Add(c.ttl), value: v}
		c.mu.Unlock()
		return v, nil
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return v.(T), nil
}
