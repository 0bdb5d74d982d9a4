// Package routing decides where a conversation goes when a customer opens a cycle: the
// workspace's rules in order (keywords, country, lead stage, company owner, channel),
// else the channel's welcome menu and its answer, else the default rule; then an agent
// of the chosen team by its strategy (round-robin, least busy, manual), among the
// eligible ones (online, inside their schedule, under their capacity), sticky to the
// agent who handled the contact before. It sends the away message outside the team's
// hours, drains team queues when agents come online or free capacity, and takes chats
// back from agents who went offline or left them unanswered. Every decision is a
// conversation event the activity shows (inbox.EvRoute, or an assignment's note).
package routing

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/atiende/atiende/app/calendar"
	"github.com/atiende/atiende/app/clock"
	"github.com/atiende/atiende/app/inbox"
	"github.com/atiende/atiende/app/phone"
	"github.com/atiende/atiende/models"
)

// MaxMenuRetries is how many times an unclear answer gets the menu again before the
// default rule decides.
const MaxMenuRetries = 2

// DefaultAway is the away message when a team has none; {proxima_apertura} names the
// next opening ("el lunes 9 de marzo a las 9:00").
const DefaultAway = "Gracias por escribirnos. Te responderemos {proxima_apertura}."

// Service routes conversations. Build it with New and set it as the inbox's OnRouting
// and AfterCommit hooks (app/services does).
type Service struct {
	DB     *gorm.DB
	Inbox  *inbox.Service
	Clock  clock.Clock
	Logger *slog.Logger

	setups setupCache
}

// New returns a routing service.
func New(db *gorm.DB, ib *inbox.Service, clk clock.Clock, logger *slog.Logger) *Service {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Service{DB: db, Inbox: ib, Clock: clk, Logger: logger}
}

// setupCache remembers each (workspace, channel)'s setup with the workspace's routing
// setup version it was read at (routing_setup_versions, bumped by triggers on every
// change of a rule, a menu, a team or a calendar). A cached setup is never modified.
type setupCache struct {
	mu sync.Mutex
	m  map[[2]int64]versioned
}

type versioned struct {
	version int64
	set     setup
}

// maxSetups bounds the cache (it is emptied when it grows past it).
const maxSetups = 10_000

// setup returns the rules and menu for a message of channel channelID: remembered when
// version (read in this transaction) is the one they were read at, else read now.
func (s *Service) setup(tx *gorm.DB, wsID, channelID int64, version *int64) (setup, error) {
	key := [2]int64{wsID, channelID}
	if version != nil {
		s.setups.mu.Lock()
		v, ok := s.setups.m[key]
		s.setups.mu.Unlock()
		if ok && v.version == *version {
			return v.set, nil
		}
	}
	set, got, err := loadSetup(tx, wsID, channelID)
	if err != nil {
		return set, err
	}
	s.setups.mu.Lock()
	if s.setups.m == nil || len(s.setups.m) >= maxSetups {
		s.setups.m = map[[2]int64]versioned{}
	}
	if v, ok := s.setups.m[key]; !ok || v.version <= got {
		s.setups.m[key] = versioned{version: got, set: set}
	}
	s.setups.mu.Unlock()
	return set, nil
}

// rule is a routing rule as evaluated.
type rule struct {
	ID       int64           `json:"id"`
	Name     string          `json:"name"`
	Kind     string          `json:"kind"`
	Cond     json.RawMessage `json:"cond"`
	TeamID   *int64          `json:"team_id"`
	LabelID  *int64          `json:"label_id"`
	Priority string          `json:"priority"`
}

type cond struct {
	Country      json.RawMessage `json:"country"`
	Keywords     []string        `json:"keywords"`
	MenuOption   string          `json:"menu_option"`
	StageID      int64           `json:"stage_id"`
	ChannelID    int64           `json:"channel_id"`
	CompanyOwner bool            `json:"company_owner"`
}

type menu struct {
	ID      int64               `json:"id"`
	Text    string              `json:"text"`
	Options []models.MenuOption `json:"options"`
	Active  bool                `json:"active"`
}

// setup is a workspace's rules and a channel's menu, read in one round trip.
type setup struct {
	Rules []rule
	Menu  *menu
	// Teams are the teams the rules name, with their calendars (read with the rules).
	Teams map[int64]team
}

// loadSetup reads the setup and the version it is at (one snapshot).
func loadSetup(tx *gorm.DB, wsID, channelID int64) (setup, int64, error) {
	var row struct {
		Rules   []byte
		Menu    []byte
		Teams   []byte
		Version int64
	}
	err := tx.Raw(`SELECT
		(SELECT COALESCE(json_agg(json_build_object('id', r.id, 'name', r.name, 'kind', r.kind, 'cond', r.cond, 'team_id', r.team_id,
			'label_id', r.label_id, 'priority', r.priority) ORDER BY r.position, r.id), '[]')
			FROM routing_rules r WHERE r.workspace_id = ? AND r.active) AS rules,
		(SELECT json_build_object('id', m.id, 'text', m.text, 'options', m.options, 'active', m.active)
			FROM channel_menus m WHERE m.channel_id = ? AND m.workspace_id = ? AND m.active) AS menu,
		(SELECT json_agg(json_build_object('id', t.id, 'name', t.name, 'routing_mode', t.routing_mode, 'sticky', t.sticky,
			'away_message', t.away_message, 'offline_grace_seconds', t.offline_grace_seconds, 'unanswered_limit_seconds', t.unanswered_limit_seconds,
			'cal_timezone', cal.timezone, 'cal_hours', cal.hours, 'cal_holidays', cal.holidays, 'cal_name', cal.name))
			FROM teams t LEFT JOIN calendars cal ON cal.id = t.calendar_id
			WHERE t.workspace_id = ? AND t.id IN (SELECT r.team_id FROM routing_rules r WHERE r.workspace_id = ? AND r.active)) AS teams,
		COALESCE((SELECT v.version FROM routing_setup_versions v WHERE v.workspace_id = ?), 0) AS version`,
		wsID, channelID, wsID, wsID, wsID, wsID).Row().Scan(&row.Rules, &row.Menu, &row.Teams, &row.Version)
	if err != nil {
		return setup{}, 0, err
	}
	var s setup
	if err := json.Unmarshal(row.Rules, &s.Rules); err != nil {
		return s, 0, err
	}
	if len(row.Menu) > 0 {
		var m menu
		if err := json.Unmarshal(row.Menu, &m); err != nil {
			return s, 0, err
		}
		if len(m.Options) > 0 {
			s.Menu = &m
		}
	}
	if len(row.Teams) > 0 {
		var ts []teamJSON
		if err := json.Unmarshal(row.Teams, &ts); err != nil {
			return s, 0, err
		}
		s.Teams = map[int64]team{}
		for _, t := range ts {
			s.Teams[t.ID] = team{ID: t.ID, Name: t.Name, RoutingMode: t.RoutingMode, Sticky: t.Sticky, AwayMessage: t.AwayMessage,
				OfflineGraceSeconds: t.OfflineGraceSeconds, UnansweredLimitSeconds: t.UnansweredLimitSeconds, CalTimezone: t.CalTimezone,
				CalHours: t.CalHours, CalHolidays: t.CalHolidays, CalName: t.CalName}
		}
	}
	return s, row.Version, nil
}

func (s setup) defaultRule() *rule {
	for i := range s.Rules {
		if s.Rules[i].Kind == models.RuleDefault {
			return &s.Rules[i]
		}
	}
	return nil
}

// Route is the inbox's OnRouting hook: in the transaction of a live customer message
// that may answer the welcome menu (or, without the PreRoute hook, that opened a cycle).
func (s *Service) Route(tx *gorm.DB, in inbox.Inbound, c *models.Conversation, opened bool) error {
	if c.Status == models.StatusClosed || c.CycleID == nil {
		return nil
	}
	if opened {
		// Decided after the fact: the decision as its own command.
		d, err := s.decideOpening(tx, in, c, *c.CycleID)
		if err != nil {
			return err
		}
		if d.Note != "" {
			a := inbox.As(inbox.ActorRouting, models.Workspace{ID: c.WorkspaceID})
			if _, err := s.Inbox.Apply(tx, c, inbox.Command{Kind: inbox.CmdRoute, At: s.Clock.Now(), Actor: a, Team: d.Team, Agent: d.Agent, Note: d.Note}); err != nil {
				return err
			}
		}
		if d.After != nil {
			return d.After(tx, c)
		}
		return nil
	}
	set, err := s.setup(tx, c.WorkspaceID, c.ChannelID, in.RoutingVersion)
	if err != nil {
		return err
	}
	return s.menuAnswer(tx, inbox.As(inbox.ActorRouting, models.Workspace{ID: c.WorkspaceID}), set, in, c)
}

// Decide is the inbox's PreRoute hook: for a live customer message about to open a
// cycle, the team and agent it goes to and why, written with the cycle; what needs the
// open cycle (labels, priority, the away message, the welcome menu) runs After.
func (s *Service) Decide(tx *gorm.DB, in inbox.Inbound, c *models.Conversation) (inbox.RouteDecision, error) {
	return s.decideOpening(tx, in, c, 0)
}

// decideOpening evaluates the rules for a cycle that opens; cycle is the open cycle's
// id (0: it opens with the decision), never taken for a previous one.
func (s *Service) decideOpening(tx *gorm.DB, in inbox.Inbound, c *models.Conversation, cycle int64) (inbox.RouteDecision, error) {
	var d inbox.RouteDecision
	a := inbox.As(inbox.ActorRouting, models.Workspace{ID: c.WorkspaceID})
	set, err := s.setup(tx, c.WorkspaceID, c.ChannelID, in.RoutingVersion)
	if err != nil {
		return d, err
	}
	var then []func(tx *gorm.DB, c *models.Conversation) error
	if c.MenuState != "" || c.MenuAttempts != 0 {
		then = append(then, func(tx *gorm.DB, c *models.Conversation) error { return s.setMenuState(tx, c, "", 0) })
	}
	chain := func() {
		if len(then) > 0 {
			fns := then
			d.After = func(tx *gorm.DB, c *models.Conversation) error {
				for _, fn := range fns {
					if err := fn(tx, c); err != nil {
						return err
					}
				}
				return nil
			}
		}
	}
	if len(set.Rules) == 0 && set.Menu == nil {
		chain() // routing is not set up
		return d, nil
	}
	var p *placement
	facts := &facts{s: s, tx: tx, in: in, c: c}
	for i := range set.Rules {
		r := &set.Rules[i]
		if r.Kind == models.RuleMenuOption || r.Kind == models.RuleDefault {
			continue // menu options answer the menu; the default comes last
		}
		ok, owner, err := facts.match(r)
		if err != nil {
			return d, err
		}
		if !ok {
			continue
		}
		p = &placement{why: fmt.Sprintf("Regla «%s»", r.Name), team: r.TeamID, label: r.LabelID, priority: r.Priority, set: &set}
		if owner != nil {
			p.prefer, p.preferWhy = &owner.ID, fmt.Sprintf("Asignada a %s, responsable de %s", owner.Name, owner.Company)
			if p.team == nil {
				p.team = owner.TeamID
			}
		}
		break
	}
	def := set.defaultRule()
	if p == nil && set.Menu != nil {
		menu := set.Menu
		then = append(then, func(tx *gorm.DB, c *models.Conversation) error {
			if def != nil && def.TeamID != nil {
				// Outside hours, the customer hears when someone will answer before choosing.
				t, err := set.team(tx, c.WorkspaceID, *def.TeamID)
				if err != nil {
					return err
				}
				if err := s.away(tx, a, c, t); err != nil {
					return err
				}
			}
			if err := s.sendMenu(tx, a, c, menu, false); err != nil {
				return err
			}
			return s.setMenuState(tx, c, "waiting", 0)
		})
		chain()
		return d, nil
	}
	if p == nil && def != nil {
		p = &placement{why: fmt.Sprintf("Regla por defecto «%s»", def.Name), team: def.TeamID, label: def.LabelID, priority: def.Priority, set: &set}
	}
	if p == nil {
		chain()
		return d, nil
	}
	team, agent, note, after, err := s.decide(tx, c, *p, cycle)
	if err != nil {
		return d, err
	}
	d.Team, d.Agent, d.Note = team, agent, note
	if after != nil {
		then = append(then, after)
	}
	chain()
	return d, nil
}

// menuAnswer reads the customer's message as an answer to the welcome menu.
func (s *Service) menuAnswer(tx *gorm.DB, a inbox.Actor, set setup, in inbox.Inbound, c *models.Conversation) error {
	if c.MenuState == "" {
		return nil
	}
	if c.AssigneeID != nil || set.Menu == nil {
		// An agent took the chat meanwhile (or the menu was switched off): no more menu.
		return s.setMenuState(tx, c, "", 0)
	}
	opt := matchOption(set.Menu.Options, in)
	if opt == nil {
		if c.MenuAttempts < MaxMenuRetries {
			if err := s.sendMenu(tx, a, c, set.Menu, true); err != nil {
				return err
			}
			return s.setMenuState(tx, c, "waiting", c.MenuAttempts+1)
		}
		if err := s.setMenuState(tx, c, "", 0); err != nil {
			return err
		}
		def := set.defaultRule()
		if def == nil {
			return s.record(tx, a, c, "Sin respuesta clara al menú y sin regla por defecto: espera sin equipo")
		}
		return s.place(tx, a, c, placement{why: fmt.Sprintf("Sin respuesta clara al menú: regla por defecto «%s»", def.Name),
			team: def.TeamID, label: def.LabelID, priority: def.Priority, set: &set})
	}
	if err := s.setMenuState(tx, c, "", 0); err != nil {
		return err
	}
	p := placement{why: fmt.Sprintf("Eligió «%s» en el menú", opt.Title), team: opt.TeamID, label: opt.LabelID, set: &set}
	for i := range set.Rules {
		r := set.Rules[i]
		if r.Kind != models.RuleMenuOption {
			continue
		}
		var cd cond
		_ = json.Unmarshal(r.Cond, &cd)
		if normalize(cd.MenuOption) == normalize(opt.Key) {
			p.why += fmt.Sprintf(" (regla «%s»)", r.Name)
			if r.TeamID != nil {
				p.team = r.TeamID
			}
			if r.LabelID != nil {
				p.extraLabel = r.LabelID
			}
			p.priority = r.Priority
			break
		}
	}
	if p.team == nil {
		if def := set.defaultRule(); def != nil {
			p.team = def.TeamID
		}
	}
	return s.place(tx, a, c, p)
}

func (s *Service) setMenuState(tx *gorm.DB, c *models.Conversation, state string, attempts int) error {
	c.MenuState, c.MenuAttempts = state, attempts
	return tx.Exec(`UPDATE conversations SET menu_state = ?, menu_attempts = ? WHERE id = ?`, state, attempts, c.ID).Error
}

// placement is where a decision puts the conversation.
type placement struct {
	why        string
	team       *int64
	label      *int64
	extraLabel *int64
	priority   string
	// prefer is an agent to choose first when eligible (the company's owner).
	prefer    *int64
	preferWhy string
	// exclude is an agent not to choose (the one the chat is taken from).
	exclude *int64
	// set holds the teams already read with the rules (nil: read the team).
	set *setup
}

// team returns team id, from the rules' teams when it is one of them.
func (s setup) team(tx *gorm.DB, wsID, id int64) (team, error) {
	if t, ok := s.Teams[id]; ok {
		return t, nil
	}
	return loadTeam(tx, wsID, id)
}

// place applies a decision on an open cycle: the team and agent (or its queue),
// recorded with why, then the label, priority and away message.
func (s *Service) place(tx *gorm.DB, a inbox.Actor, c *models.Conversation, p placement) error {
	var cycle int64
	if c.CycleID != nil {
		cycle = *c.CycleID
	}
	team, agent, note, after, err := s.decide(tx, c, p, cycle)
	if err != nil {
		return err
	}
	if _, err := s.Inbox.Apply(tx, c, inbox.Command{Kind: inbox.CmdRoute, At: s.Clock.Now(), Actor: a, Team: team, Agent: agent, Note: note}); err != nil {
		return err
	}
	if after != nil {
		return after(tx, c)
	}
	return nil
}

// decide turns a placement into a team, an agent of it (locked: see pick) and why;
// after applies the label, the priority and the away message once the cycle is open.
func (s *Service) decide(tx *gorm.DB, c *models.Conversation, p placement, cycle int64) (teamID, agent *int64, note string,
	after func(tx *gorm.DB, c *models.Conversation) error, err error) {
	var t team
	teamID = c.TeamID
	if p.team != nil {
		if p.set != nil {
			t, err = p.set.team(tx, c.WorkspaceID, *p.team)
		} else {
			t, err = loadTeam(tx, c.WorkspaceID, *p.team)
		}
		if err != nil {
			return nil, nil, "", nil, err
		}
	}
	label := func(tx *gorm.DB, c *models.Conversation) error {
		for _, l := range []*int64{p.label, p.extraLabel} {
			if l != nil {
				if err := tx.Exec(`INSERT INTO conversation_labels (workspace_id, conversation_id, label_id)
					SELECT ?, ?, id FROM labels WHERE id = ? AND workspace_id = ? ON CONFLICT DO NOTHING`, c.WorkspaceID, c.ID, *l, c.WorkspaceID).Error; err != nil {
					return err
				}
			}
		}
		if p.priority != "" && p.priority != c.Priority {
			if err := tx.Exec(`UPDATE conversations SET priority = ? WHERE id = ?`, p.priority, c.ID).Error; err != nil {
				return err
			}
			c.Priority = p.priority
		}
		if t.ID != 0 {
			return s.away(tx, inbox.As(inbox.ActorRouting, models.Workspace{ID: c.WorkspaceID}), c, t)
		}
		return nil
	}
	if p.label != nil || p.extraLabel != nil || p.priority != "" || t.CalTimezone != nil {
		after = label
	}
	switch {
	case p.team == nil:
		return teamID, nil, p.why + ": sin equipo", after, nil
	case t.ID == 0:
		return teamID, nil, p.why + ": su equipo ya no existe", after, nil
	}
	pick, err := s.pick(tx, t, c, p.prefer, p.exclude, cycle)
	if err != nil {
		return nil, nil, "", nil, err
	}
	note = p.why + " → " + t.Name + ". " + pick.why
	if pick.agent != nil && p.prefer != nil && *pick.agent == *p.prefer {
		note = p.why + " → " + t.Name + ". " + p.preferWhy
	}
	return &t.ID, pick.agent, note, after, nil
}

// record writes a decision that changes nothing.
func (s *Service) record(tx *gorm.DB, a inbox.Actor, c *models.Conversation, why string) error {
	_, err := s.Inbox.Apply(tx, c, inbox.Command{Kind: inbox.CmdRoute, At: s.Clock.Now(), Actor: a, Team: c.TeamID, Agent: c.AssigneeID, Note: why})
	return err
}

type teamJSON struct {
	ID                     int64           `json:"id"`
	Name                   string          `json:"name"`
	RoutingMode            string          `json:"routing_mode"`
	Sticky                 bool            `json:"sticky"`
	AwayMessage            string          `json:"away_message"`
	OfflineGraceSeconds    int             `json:"offline_grace_seconds"`
	UnansweredLimitSeconds *int            `json:"unanswered_limit_seconds"`
	CalTimezone            *string         `json:"cal_timezone"`
	CalHours               json.RawMessage `json:"cal_hours"`
	CalHolidays            json.RawMessage `json:"cal_holidays"`
	CalName                *string         `json:"cal_name"`
}

// team is what routing reads of a team, with its calendar.
type team struct {
	ID                     int64
	Name                   string
	RoutingMode            string
	Sticky                 bool
	AwayMessage            string
	OfflineGraceSeconds    int
	UnansweredLimitSeconds *int
	CalTimezone            *string
	CalHours               []byte
	CalHolidays            []byte
	CalName                *string
}

func (t team) calendar() (*calendar.Calendar, error) {
	if t.CalTimezone == nil {
		return nil, nil
	}
	cal, err := calendar.FromModel(models.Calendar{Name: deref(t.CalName), Timezone: *t.CalTimezone, Hours: t.CalHours, Holidays: t.CalHolidays})
	if err != nil {
		return nil, err
	}
	return &cal, nil
}

func loadTeam(tx *gorm.DB, wsID, id int64) (team, error) {
	var t team
	err := tx.Raw(`SELECT t.id, t.name, t.routing_mode, t.sticky, t.away_message, t.offline_grace_seconds, t.unanswered_limit_seconds,
			cal.timezone AS cal_timezone, cal.hours AS cal_hours, cal.holidays AS cal_holidays, cal.name AS cal_name
		FROM teams t LEFT JOIN calendars cal ON cal.id = t.calendar_id WHERE t.id = ? AND t.workspace_id = ?`, id, wsID).Find(&t).Error
	return t, err
}

// away sends the team's away message once per cycle when its calendar is closed now.
func (s *Service) away(tx *gorm.DB, a inbox.Actor, c *models.Conversation, t team) error {
	if c.AwayCycleID != nil && c.CycleID != nil && *c.AwayCycleID == *c.CycleID {
		return nil
	}
	cal, err := t.calendar()
	if err != nil || cal == nil {
		if err != nil {
			s.Logger.Warn("routing: team calendar unreadable", "team", t.ID, "err", err)
		}
		return nil
	}
	now := s.Clock.Now()
	if cal.IsOpen(now) {
		return nil
	}
	text := AwayText(t.AwayMessage, *cal, now)
	if _, err := s.Inbox.SendAutomaticTx(tx, a, c, text, nil, models.JSON(`{"automatic":"away"}`)); err != nil {
		return err
	}
	c.AwayCycleID = c.CycleID
	return tx.Exec(`UPDATE conversations SET away_cycle_id = ? WHERE id = ?`, c.CycleID, c.ID).Error
}

// facts answers the rules' questions about the message and its contact, reading the
// database only for the rules that need it.
type facts struct {
	s  *Service
	tx *gorm.DB
	in inbox.Inbound
	c  *models.Conversation

	country      *string
	stages       map[int64]bool
	ownerLoaded  bool
	owner        *owner
	words        string
	wordsDecided bool
}

type owner struct {
	ID      int64
	Name    string
	Company string
	TeamID  *int64
}

func (f *facts) match(r *rule) (bool, *owner, error) {
	var cd cond
	if len(r.Cond) > 0 {
		if err := json.Unmarshal(r.Cond, &cd); err != nil {
			return false, nil, nil // a malformed condition never matches
		}
	}
	switch r.Kind {
	case models.RuleKeywords:
		if !f.wordsDecided {
			f.words, f.wordsDecided = " "+strings.Join(words(f.in.Body), " ")+" ", true
		}
		for _, k := range cd.Keywords {
			if w := strings.Join(words(k), " "); w != "" && strings.Contains(f.words, " "+w+" ") {
				return true, nil, nil
			}
		}
	case models.RuleCountry:
		want := countries(cd.Country)
		if len(want) == 0 {
			return false, nil, nil
		}
		got, err := f.contactCountry()
		if err != nil || got == "" {
			return false, nil, err
		}
		for _, w := range want {
			if strings.EqualFold(w, got) {
				return true, nil, nil
			}
		}
	case models.RuleChannel:
		return cd.ChannelID != 0 && cd.ChannelID == f.c.ChannelID, nil, nil
	case models.RuleStage:
		if cd.StageID == 0 {
			return false, nil, nil
		}
		if f.stages == nil {
			var ids []int64
			if err := f.tx.Raw(`SELECT stage_id FROM leads WHERE workspace_id = ? AND contact_id = ? AND closed_at IS NULL`,
				f.c.WorkspaceID, f.c.ContactID).Scan(&ids).Error; err != nil {
				return false, nil, err
			}
			f.stages = map[int64]bool{}
			for _, id := range ids {
				f.stages[id] = true
			}
		}
		return f.stages[cd.StageID], nil, nil
	case models.RuleCompanyOwner:
		if !f.ownerLoaded {
			f.ownerLoaded = true
			var o owner
			if err := f.tx.Raw(`SELECT u.id, u.name, co.name AS company,
					(SELECT m.team_id FROM team_members m WHERE m.user_id = u.id ORDER BY m.team_id LIMIT 1) AS team_id
				FROM contacts k JOIN companies co ON co.id = k.company_id JOIN users u ON u.id = co.owner_id
				WHERE k.id = ? AND k.workspace_id = ? AND u.active`, f.c.ContactID, f.c.WorkspaceID).Find(&o).Error; err != nil {
				return false, nil, err
			}
			if o.ID != 0 {
				f.owner = &o
			}
		}
		if f.owner != nil {
			return true, f.owner, nil
		}
	}
	return false, nil, nil
}

// contactCountry is the ISO country of the customer: from their number, or for a
// customer known only by a username, the country_code Meta sent in their profile.
func (f *facts) contactCountry() (string, error) {
	if f.country != nil {
		return *f.country, nil
	}
	got := ""
	switch {
	case f.in.WaID != "":
		_, got = phone.FromWaID(f.in.WaID)
	case f.in.Country != "":
		got = f.in.Country
	}
	if got == "" {
		if err := f.tx.Raw(`SELECT country FROM contacts WHERE id = ?`, f.c.ContactID).Scan(&got).Error; err != nil {
			return "", err
		}
	}
	got = strings.ToUpper(strings.TrimSpace(got))
	f.country = &got
	return got, nil
}

// countries reads a country condition: "MX" or ["MX","CO"].
func countries(raw json.RawMessage) []string {
	if len(raw) == 0 {
		return nil
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		if one = strings.TrimSpace(one); one != "" {
			return []string{one}
		}
		return nil
	}
	var many []string
	_ = json.Unmarshal(raw, &many)
	return many
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// ctxDB is the service's database bound to ctx.
func (s *Service) ctxDB(ctx context.Context) *gorm.DB { return s.DB.WithContext(ctx) }

// Decision is routing's latest word on a conversation, as "¿por qué aquí?" shows it.
type Decision struct {
	Note string
	At   time.Time
}

// LatestDecision is the most recent routing decision recorded on conversation id of
// workspace wsID (ok false when routing never decided on it).
func (s *Service) LatestDecision(ctx context.Context, wsID, id int64) (Decision, bool, error) {
	var d Decision
	err := s.ctxDB(ctx).Raw(`SELECT note, at FROM conversation_events
		WHERE conversation_id = ? AND workspace_id = ? AND actor_kind = 'routing' AND note <> ''
		ORDER BY at DESC, id DESC LIMIT 1`, id, wsID).Row().Scan(&d.Note, &d.At)
	if errors.Is(err, sql.ErrNoRows) {
		return d, false, nil
	}
	return d, err == nil, err
}
