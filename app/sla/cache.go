package sla

import (
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/atiende/atiende/app/calendar"
	"github.com/atiende/atiende/models"
)

// TTL is how long a team's policy is remembered: a change made on another process
// reaches this one within it (this process forgets at once, see Invalidate).
const TTL = 30 * time.Second

// Cache remembers each team's policy and calendar, so the engine computes deadlines
// without a query on most events. The zero value is not usable: NewCache.
type Cache struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[int64]cached
	gen uint64
}

type cached struct {
	p      *Policy
	loaded time.Time
}

// NewCache returns a cache keeping policies for ttl.
func NewCache(ttl time.Duration) *Cache { return &Cache{ttl: ttl, m: map[int64]cached{}} }

// Invalidate forgets every policy (a policy, a team or a calendar changed).
func (c *Cache) Invalidate() {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.m = map[int64]cached{}
	c.gen++
	c.mu.Unlock()
}

// ForTeam returns the policy of team (nil: no team, or a team without a policy),
// loading it with db when it is not known or too old. A nil cache always loads.
func (c *Cache) ForTeam(db *gorm.DB, team *int64) (*Policy, error) {
	if team == nil {
		return nil, nil
	}
	if c == nil {
		return Load(db, *team)
	}
	// The TTL is infrastructure (how stale a copy may be), measured on the process's own clock.
	now := time.Now()
	c.mu.Lock()
	e, ok := c.m[*team]
	gen := c.gen
	c.mu.Unlock()
	if ok && now.Sub(e.loaded) < c.ttl {
		return e.p, nil
	}
	p, err := Load(db, *team)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.gen == gen { // nothing was invalidated while loading
		if len(c.m) > 10_000 {
			c.m = map[int64]cached{}
		}
		c.m[*team] = cached{p: p, loaded: now}
	}
	c.mu.Unlock()
	return p, nil
}

// Load reads a team's policy and calendar in one query (nil: the team has no policy).
// A calendar that cannot be read counts as none (wall clock).
func Load(db *gorm.DB, team int64) (*Policy, error) {
	var row struct {
		models.SLAPolicy `gorm:"embedded"`
		CalName          *string
		CalTimezone      *string
		CalHours         models.JSON
		CalHolidays      models.JSON
	}
	err := db.Raw(`SELECT p.*, k.name AS cal_name, k.timezone AS cal_timezone, k.hours AS cal_hours, k.holidays AS cal_holidays
		FROM teams t JOIN sla_policies p ON p.id = t.sla_policy_id LEFT JOIN calendars k ON k.id = t.calendar_id
		WHERE t.id = ?`, team).Find(&row).Error
	if err != nil || row.ID == 0 {
		return nil, err
	}
	var cal *calendar.Calendar
	if row.CalTimezone != nil {
		if k, err := calendar.FromModel(models.Calendar{Name: *row.CalName, Timezone: *row.CalTimezone, Hours: row.CalHours,
			Holidays: row.CalHolidays}); err == nil {
			cal = &k
		}
	}
	p := FromModel(row.SLAPolicy, cal)
	return &p, nil
}
