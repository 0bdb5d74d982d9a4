package reports

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/atiende/atiende/models"
)

// summaryCache keeps the summaries of the latest reads (a few: the page of each filter
// being looked at), keyed by everything they were computed from.
type summaryCache struct {
	mu      sync.Mutex
	entries map[string]*cached
	order   []string // oldest first
}

type cached struct{ cur, old *summary }

// cacheSize is how many reads are kept.
const cacheSize = 16

func (c *summaryCache) get(key string) (*summary, *summary) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[key]; e != nil {
		return e.cur, e.old
	}
	return nil, nil
}

func (c *summaryCache) put(key string, cur, old *summary) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]*cached{}
	}
	if c.entries[key] == nil {
		c.order = append(c.order, key)
	}
	c.entries[key] = &cached{cur: cur, old: old}
	for len(c.order) > cacheSize {
		delete(c.entries, c.order[0])
		c.order = c.order[1:]
	}
}

// summaryKey is everything a read's summaries depend on: the workspace's figures
// version, the scope and its previous period, the clocks, and the SLA policy of each
// team (a cycle is evaluated against its team's current policy).
func summaryKey(version int64, q Query, sc Scope, prev *Scope, pq Query, policies map[int64]*models.SLAPolicy) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d/%d/%d-%d/%v/%d/%d/%s", sc.Workspace.ID, version, sc.From.UnixNano(), sc.End.UnixNano(), sc.Only, sc.AgentID, sc.ChannelID, q.Clock)
	if prev != nil {
		fmt.Fprintf(&b, "/prev:%d-%d/%s", prev.From.UnixNano(), prev.End.UnixNano(), pq.Clock)
	}
	ids := make([]int64, 0, len(policies))
	for id := range policies {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	n := func(p *int) string {
		if p == nil {
			return "-"
		}
		return fmt.Sprint(*p)
	}
	for _, id := range ids {
		p := policies[id]
		fmt.Fprintf(&b, "/t%d:p%d:%s:%s:%s:%v", id, p.ID, n(p.FirstResponseSeconds), n(p.NextResponseSeconds), n(p.ResolutionSeconds), p.BusinessHours)
	}
	return b.String()
}
