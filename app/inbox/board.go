package inbox

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"gorm.io/gorm"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/live"
	"github.com/atiende/atiende/app/phone"
	"github.com/atiende/atiende/models"
)

// BoardStatuses are the board's columns, left to right.
var BoardStatuses = []string{models.StatusNew, models.StatusActive, models.StatusPending, models.StatusClosed}

// Board views: whose conversations the board shows, within what the role allows.
const (
	ViewAll        = "all"
	ViewMine       = "mine"
	ViewUnassigned = "unassigned"
)

// ClosedWindow is how far back Cerrados looks unless asked for more.
const ClosedWindow = 7 * 24 * time.Hour

// Column page sizes.
const (
	DefaultColumnLimit = 20
	MaxColumnLimit     = 100
)

// maxSearch bounds the search text (longer input is cut, not refused).
const maxSearch = 100

// MaxSearchMatches bounds what a search brings to the board: the most recently active
// matching conversations.
const MaxSearchMatches = 2000

// BoardFilter narrows the board. Zero values mean "no filter"; visibility rules
// always apply on top.
type BoardFilter struct {
	View       string // ViewAll (or ""), ViewMine, ViewUnassigned
	TeamID     *int64
	LabelID    *int64
	ChannelID  *int64
	AssigneeID *int64
	// Q searches contact name, profile name, company and number (any fragment) and
	// message text (words, by prefix).
	Q string
	// ClosedSince is the start of Cerrados' window; zero means ClosedWindow before now.
	ClosedSince time.Time
	// ClosedUntil, when set, is the end of Cerrados' window (exclusive).
	ClosedUntil time.Time
	// Risk keeps the cards whose SLA is in warning or breached ("En riesgo"), nearest
	// deadline first (the most overdue at the top).
	Risk bool

	// searched is set once ResolveSearch has run Q: matches are the conversations found.
	searched bool
	matches  []int64
}

// SearchTruncated reports a resolved search that found more conversations than the
// board shows (MaxSearchMatches, the most recently active).
func (f BoardFilter) SearchTruncated() bool { return f.searched && len(f.matches) >= MaxSearchMatches }

// Active reports whether any filter beyond the default view is set.
func (f BoardFilter) Active() bool {
	return (f.View != "" && f.View != ViewAll) || f.TeamID != nil || f.LabelID != nil || f.ChannelID != nil ||
		f.AssigneeID != nil || strings.TrimSpace(f.Q) != "" || f.Risk
}

// Card is everything a board card shows, loaded in one query.
type Card struct {
	ID     int64
	Status string

	ContactID int64
	// ContactName is the name an agent set, the WhatsApp profile name, or the formatted number.
	ContactName string
	// Phone is the contact's number for people ("+51 987 654 321"); empty for a
	// customer known only by a WhatsApp username (UserID, Username).
	Phone    string
	UserID   string
	Username string
	Company  string

	ChannelID    int64
	ChannelName  string
	ChannelPhone string

	TeamID    *int64
	TeamName  string
	TeamColor string

	AssigneeID       *int64
	AssigneeName     string
	AssigneePresence string

	Preview string
	// PreviewOut marks our own last message ("Tú: …").
	PreviewOut    bool
	LastMessageAt time.Time
	LastInboundAt *time.Time
	// WaitingSince is when the customer started waiting for us (nil: nobody waits).
	WaitingSince *time.Time
	UnreadCount  int

	// SLAState is "" (no policy), ok, warning or breached; SLADueAt is the nearest
	// running deadline and SLATarget its clock (first_response, next_response,
	// resolution); the three running deadlines follow (nil: not running).
	SLAState           string
	SLADueAt           *time.Time
	SLATarget          string
	FirstResponseDueAt *time.Time
	NextResponseDueAt  *time.Time
	ResolutionDueAt    *time.Time

	ClosedAt    *time.Time
	CloseReason string

	Labels []CardLabel
	// Lead is the linked lead's stage chip; nil when the conversation has no lead.
	Lead *CardLead
}

// Equal reports whether c and o show the same (every field, pointed-to values and
// labels included): the board keeps a card's markup while it is Equal.
func (c Card) Equal(o Card) bool {
	return c.ID == o.ID && c.Status == o.Status && c.ContactID == o.ContactID && c.ContactName == o.ContactName &&
		c.Phone == o.Phone && c.UserID == o.UserID && c.Username == o.Username && c.Company == o.Company &&
		c.ChannelID == o.ChannelID && c.ChannelName == o.ChannelName && c.ChannelPhone == o.ChannelPhone &&
		eqPtr(c.TeamID, o.TeamID) && c.TeamName == o.TeamName && c.TeamColor == o.TeamColor &&
		eqPtr(c.AssigneeID, o.AssigneeID) && c.AssigneeName == o.AssigneeName && c.AssigneePresence == o.AssigneePresence &&
		c.Preview == o.Preview && c.PreviewOut == o.PreviewOut && c.LastMessageAt.Equal(o.LastMessageAt) &&
		eqTime(c.LastInboundAt, o.LastInboundAt) && eqTime(c.WaitingSince, o.WaitingSince) && c.UnreadCount == o.UnreadCount &&
		c.SLAState == o.SLAState && eqTime(c.SLADueAt, o.SLADueAt) && c.SLATarget == o.SLATarget &&
		eqTime(c.FirstResponseDueAt, o.FirstResponseDueAt) && eqTime(c.NextResponseDueAt, o.NextResponseDueAt) &&
		eqTime(c.ResolutionDueAt, o.ResolutionDueAt) && eqTime(c.ClosedAt, o.ClosedAt) && c.CloseReason == o.CloseReason &&
		slices.Equal(c.Labels, o.Labels) && eqPtr(c.Lead, o.Lead)
}

func eqPtr[T comparable](a, b *T) bool { return a == b || (a != nil && b != nil && *a == *b) }

func eqTime(a, b *time.Time) bool { return a == b || (a != nil && b != nil && a.Equal(*b)) }

// CardLabel is a label chip.
type CardLabel struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Color string `json:"color"`
}

// CardLead is the stage chip of the lead linked to a conversation.
type CardLead struct {
	ID    int64
	Title string
	Stage string
	// StageKind is open, won or lost (the chip's colour).
	StageKind string
}

// WindowExpiresAt is when WhatsApp's 24-hour customer service window closes (nil: it never opened).
func (c Card) WindowExpiresAt() *time.Time {
	if c.LastInboundAt == nil {
		return nil
	}
	t := c.LastInboundAt.Add(Window)
	return &t
}

// SortKey orders cards within a column the way the board query does (newest first):
// the client uses it to place a card that changed live.
func (c Card) SortKey() string {
	return fmt.Sprintf("%019d.%019d", c.LastMessageAt.UnixMicro(), c.ID)
}

func encodeCursor(at time.Time, id int64) string { return EncodeKeyset(at, id) }

// errBadCursor: a "Cargar más" link that was tampered with or is from another version.
var errBadCursor = apperr.Invalid("El enlace para cargar más no es válido. Vuelve a cargar el tablero.")

func decodeCursor(s string) (time.Time, int64, error) {
	at, id, ok := DecodeKeyset(s)
	if !ok {
		return time.Time{}, 0, errBadCursor
	}
	return at, id, nil
}

// EncodeKeyset writes a keyset position (a time and an id) for a "Cargar más" link:
// the board's columns, the lead board and its list use it.
func EncodeKeyset(at time.Time, id int64) string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%d.%d", at.UnixMicro(), id))
}

// DecodeKeyset reads what EncodeKeyset wrote; ok is false for anything else.
func DecodeKeyset(s string) (time.Time, int64, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return time.Time{}, 0, false
	}
	at, id, ok := strings.Cut(string(b), ".")
	if !ok {
		return time.Time{}, 0, false
	}
	us, err1 := strconv.ParseInt(at, 10, 64)
	n, err2 := strconv.ParseInt(id, 10, 64)
	if err1 != nil || err2 != nil || n <= 0 {
		return time.Time{}, 0, false
	}
	return time.UnixMicro(us).UTC(), n, true
}

// cardSelect loads cards with what they show of their contact, their label ids and
// their lead, one row per card; the names of channels, teams, assignees and labels
// come from the workspace's directory (boardDirectory), kept while only conversations
// change. Only the columns a card shows are read, and scanned without reflection.
const cardSelect = `
SELECT c.id, c.status, c.contact_id, c.channel_id, c.team_id, c.assignee_id, c.last_message_preview, c.last_message_out,
	c.last_message_at, c.last_inbound_at, c.waiting_since, c.unread_count, c.sla_state, c.first_response_due_at,
	c.next_response_due_at, c.resolution_due_at, c.closed_at, c.close_reason,
	k.name, k.profile_name, k.phone, k.wa_id, COALESCE(k.user_id, ''), COALESCE(k.username, ''), k.company,
	COALESCE((SELECT string_agg(cl.label_id::text, ',') FROM conversation_labels cl WHERE cl.conversation_id = c.id), ''),
	CASE WHEN EXISTS (SELECT 1 FROM leads ld WHERE ld.conversation_id = c.id) THEN
		(SELECT json_build_object('id', ld.id, 'title', ld.title, 'stage', st.name, 'kind', st.kind) FROM leads ld JOIN stages st ON st.id = ld.stage_id
		WHERE ld.conversation_id = c.id ORDER BY ld.created_at DESC, ld.id DESC LIMIT 1) END`

// cardFrom is what follows cardSelect for conversations aliased c.
const cardFrom = `
FROM conversations c
JOIN contacts k ON k.id = c.contact_id`

// cardRow is one row of cardSelect.
type cardRow struct {
	ID, ContactID, ChannelID                                    int64
	Status, Preview, SLAState, CloseReason                      string
	TeamID, AssigneeID                                          *int64
	PreviewOut                                                  bool
	LastMessageAt                                               *time.Time
	LastInboundAt, WaitingSince                                 *time.Time
	UnreadCount                                                 int
	FirstResponseDueAt, NextResponseDueAt, ResolutionDueAt      *time.Time
	ClosedAt                                                    *time.Time
	ContactName, ProfileName, Phone, WaID, UserID, Username, Co string
	Labels                                                      string
	Lead                                                        *string
	// Col is the column a row of FirstPages belongs to.
	Col int
}

// scanCards reads the rows of a statement made of cardSelect (with the column first
// when col is set).
func scanCards(rows *sql.Rows, col bool) ([]cardRow, error) {
	defer rows.Close()
	var out []cardRow
	for rows.Next() {
		var r cardRow
		dst := []any{&r.ID, &r.Status, &r.ContactID, &r.ChannelID, &r.TeamID, &r.AssigneeID, &r.Preview, &r.PreviewOut,
			&r.LastMessageAt, &r.LastInboundAt, &r.WaitingSince, &r.UnreadCount, &r.SLAState, &r.FirstResponseDueAt,
			&r.NextResponseDueAt, &r.ResolutionDueAt, &r.ClosedAt, &r.CloseReason,
			&r.ContactName, &r.ProfileName, &r.Phone, &r.WaID, &r.UserID, &r.Username, &r.Co, &r.Labels, &r.Lead}
		if col {
			dst = append([]any{&r.Col}, dst...)
		}
		if err := rows.Scan(dst...); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// queryCards runs a statement made of cardSelect on db.
func (s *Service) queryCards(ctx context.Context, db *gorm.DB, col bool, q string, args ...any) ([]cardRow, error) {
	rows, err := db.WithContext(ctx).Raw(q, args...).Rows()
	if err != nil {
		return nil, err
	}
	return scanCards(rows, col)
}

func (r cardRow) card(d *boardDirectory) (Card, error) {
	var last time.Time
	if r.LastMessageAt != nil {
		last = *r.LastMessageAt
	}
	c := Card{ID: r.ID, Status: r.Status, ContactID: r.ContactID, Company: r.Co, ChannelID: r.ChannelID,
		TeamID: r.TeamID, AssigneeID: r.AssigneeID,
		Preview: r.Preview, PreviewOut: r.PreviewOut, LastMessageAt: last,
		LastInboundAt: r.LastInboundAt, UnreadCount: r.UnreadCount, SLAState: r.SLAState,
		ClosedAt: r.ClosedAt, CloseReason: r.CloseReason, Labels: []CardLabel{}}
	if ch, ok := d.channels[r.ChannelID]; ok {
		c.ChannelName, c.ChannelPhone = ch.Name, ch.Detail
	}
	if r.TeamID != nil {
		t := d.teams[*r.TeamID]
		c.TeamName, c.TeamColor = t.Name, t.Color
	}
	if r.AssigneeID != nil {
		u := d.users[*r.AssigneeID]
		c.AssigneeName, c.AssigneePresence = u.Name, u.Detail
	}
	e164 := r.Phone
	if e164 == "" && r.WaID != "" {
		e164 = "+" + r.WaID
	}
	if e164 != "" {
		c.Phone = formatPhone(e164)
	}
	c.UserID, c.Username = r.UserID, r.Username
	c.ContactName = models.Contact{Name: r.ContactName, ProfileName: r.ProfileName, Phone: c.Phone, WaID: r.WaID,
		UserID: r.UserID, Username: r.Username}.DisplayName()
	// Only a customer waiting on an open conversation is "waiting".
	if r.Status == models.StatusNew || r.Status == models.StatusActive {
		c.WaitingSince = r.WaitingSince
	}
	c.FirstResponseDueAt, c.NextResponseDueAt, c.ResolutionDueAt = r.FirstResponseDueAt, r.NextResponseDueAt, r.ResolutionDueAt
	for i, due := range []*time.Time{r.FirstResponseDueAt, r.NextResponseDueAt, r.ResolutionDueAt} {
		if due != nil && (c.SLADueAt == nil || due.Before(*c.SLADueAt)) {
			c.SLADueAt, c.SLATarget = due, [...]string{"first_response", "next_response", "resolution"}[i]
		}
	}
	if r.Labels != "" {
		for _, f := range strings.Split(r.Labels, ",") {
			id, err := strconv.ParseInt(f, 10, 64)
			if err != nil {
				return c, fmt.Errorf("card %d labels: %w", r.ID, err)
			}
			if l, ok := d.labels[id]; ok {
				c.Labels = append(c.Labels, CardLabel{ID: id, Name: l.Name, Color: l.Color})
			}
		}
		// By name, as the label filter lists them.
		slices.SortFunc(c.Labels, func(a, b CardLabel) int { return d.labelRank[a.ID] - d.labelRank[b.ID] })
	}
	if r.Lead != nil {
		var l struct {
			ID                 int64
			Title, Stage, Kind string
		}
		if err := json.Unmarshal([]byte(*r.Lead), &l); err != nil {
			return c, fmt.Errorf("card %d lead: %w", r.ID, err)
		}
		c.Lead = &CardLead{ID: l.ID, Title: l.Title, Stage: l.Stage, StageKind: l.Kind}
	}
	return c, nil
}

// riskKey is riskSort of the row.
func (r cardRow) riskKey() time.Time {
	return riskKey(models.Conversation{FirstResponseDueAt: r.FirstResponseDueAt, NextResponseDueAt: r.NextResponseDueAt,
		ResolutionDueAt: r.ResolutionDueAt})
}

// boardDirectory is what cards show of the workspace's numbers, teams, people and
// labels, and what the board's filters offer: one small statement, kept while only
// conversations change (live.GetSettings).
type boardDirectory struct {
	channels, teams, users, labels map[int64]FilterOption
	// labelRank orders labels by name; the lists are in the filters' order (agents:
	// the active people).
	labelRank                                   map[int64]int
	teamList, labelList, channelList, agentList []FilterOption
}

// has reports whether the directory knows every number, team, person and label the
// rows name (one created a moment ago in another process may be missing).
func (d *boardDirectory) has(rows []cardRow) bool {
	for _, r := range rows {
		if _, ok := d.channels[r.ChannelID]; !ok {
			return false
		}
		if r.TeamID != nil {
			if _, ok := d.teams[*r.TeamID]; !ok {
				return false
			}
		}
		if r.AssigneeID != nil {
			if _, ok := d.users[*r.AssigneeID]; !ok {
				return false
			}
		}
		if r.Labels != "" {
			for _, f := range strings.Split(r.Labels, ",") {
				id, _ := strconv.ParseInt(f, 10, 64)
				if _, ok := d.labels[id]; !ok {
					return false
				}
			}
		}
	}
	return true
}

const directoryKey = "board-directory"

// directory returns the workspace's board directory.
func (s *Service) directory(ctx context.Context, workspaceID int64) (*boardDirectory, error) {
	return live.GetSettings(ctx, s.cache, workspaceID, directoryKey, func(ctx context.Context) (*boardDirectory, error) {
		return s.loadDirectory(ctx, workspaceID)
	})
}

func (s *Service) loadDirectory(ctx context.Context, ws int64) (*boardDirectory, error) {
	rows, err := s.DB.WithContext(ctx).Raw(`
		SELECT kind, id, name, color, detail, active FROM (
			SELECT 'team' AS kind, id, name, color, '' AS detail, true AS active FROM teams WHERE workspace_id = ?
			UNION ALL SELECT 'label', id, name, color, '', true FROM labels WHERE workspace_id = ?
			UNION ALL SELECT 'channel', id, name, '', display_phone, true FROM channels WHERE workspace_id = ?
			UNION ALL SELECT 'user', id, name, '', presence, active FROM users WHERE workspace_id = ?
		) o ORDER BY kind, lower(name), id`, ws, ws, ws, ws).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	d := &boardDirectory{channels: map[int64]FilterOption{}, teams: map[int64]FilterOption{}, users: map[int64]FilterOption{},
		labels: map[int64]FilterOption{}, labelRank: map[int64]int{}}
	for rows.Next() {
		var kind string
		var o FilterOption
		var active bool
		if err := rows.Scan(&kind, &o.ID, &o.Name, &o.Color, &o.Detail, &active); err != nil {
			return nil, err
		}
		switch kind {
		case "team":
			d.teams[o.ID] = o
			d.teamList = append(d.teamList, o)
		case "label":
			d.labels[o.ID] = o
			d.labelRank[o.ID] = len(d.labelList)
			d.labelList = append(d.labelList, o)
		case "channel":
			d.channels[o.ID] = o
			d.channelList = append(d.channelList, o)
		case "user":
			d.users[o.ID] = o
			if active {
				d.agentList = append(d.agentList, o)
			}
		}
	}
	return d, rows.Err()
}

// toCards makes cards of rows with the workspace's directory (read again when it does
// not know something the rows name).
func (s *Service) toCards(ctx context.Context, workspaceID int64, rows []cardRow) ([]Card, error) {
	d, err := s.directory(ctx, workspaceID)
	if err != nil {
		return nil, err
	}
	if !d.has(rows) {
		s.cache.Forget(workspaceID, directoryKey)
		if d, err = s.loadDirectory(ctx, workspaceID); err != nil {
			return nil, err
		}
	}
	out := make([]Card, 0, len(rows))
	for _, r := range rows {
		c, err := r.card(d)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// phoneCache remembers formatted numbers: libphonenumber parses with regular
// expressions, and the same contacts come back on every board refresh.
var phoneCache struct {
	sync.Mutex
	m map[string]string
}

func formatPhone(e164 string) string {
	phoneCache.Lock()
	f, ok := phoneCache.m[e164]
	phoneCache.Unlock()
	if ok {
		return f
	}
	f = phone.Format(e164)
	phoneCache.Lock()
	if phoneCache.m == nil || len(phoneCache.m) >= 20_000 {
		phoneCache.m = make(map[string]string, 1024) // bounded: start over when full
	}
	phoneCache.m[e164] = f
	phoneCache.Unlock()
	return f
}

// IsBoardStatus reports whether s is one of the board's columns.
func IsBoardStatus(s string) bool {
	for _, st := range BoardStatuses {
		if s == st {
			return true
		}
	}
	return false
}

// closedSince is the start of Cerrados' window for f.
func (s *Service) closedSince(f BoardFilter) time.Time {
	if !f.ClosedSince.IsZero() {
		return f.ClosedSince
	}
	return s.Clock.Now().Add(-ClosedWindow)
}

// boardWhere is the visibility rule plus f's filters on conversations aliased c.
func boardWhere(v accounts.Viewer, f BoardFilter) (string, []any) {
	cond, args := Visible(v, "c")
	parts := []string{cond, "c.last_message_at IS NOT NULL"}
	add := func(sql string, a ...any) {
		parts = append(parts, sql)
		args = append(args, a...)
	}
	switch f.View {
	case ViewMine:
		add("c.assignee_id = ?", v.User.ID)
	case ViewUnassigned:
		add("c.assignee_id IS NULL")
	}
	if f.TeamID != nil {
		add("c.team_id = ?", *f.TeamID)
	}
	if f.ChannelID != nil {
		add("c.channel_id = ?", *f.ChannelID)
	}
	if f.AssigneeID != nil {
		add("c.assignee_id = ?", *f.AssigneeID)
	}
	if f.LabelID != nil {
		add("EXISTS (SELECT 1 FROM conversation_labels cl WHERE cl.conversation_id = c.id AND cl.label_id = ?)", *f.LabelID)
	}
	if f.Risk {
		add("c.sla_state IN ('warning', 'breached')")
	}
	if f.searched {
		if len(f.matches) == 0 {
			add("false")
		} else {
			add("c.id = ANY(?::bigint[])", idArray(f.matches))
		}
	} else if likes, words := parseSearch(f.Q); len(likes) > 0 {
		// One card at a time (live refreshes): the card's own contact and messages.
		km, a := contactMatch(likes)
		cond := `EXISTS (SELECT 1 FROM contacts k2 WHERE k2.id = c.contact_id AND ` + km + `)`
		if len(words) > 0 {
			mm, margs := messageMatch(words)
			cond = "(" + cond + ` OR EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id AND ` + mm + `))`
			a = append(a, margs...)
		}
		add(cond, a...)
	}
	return strings.Join(parts, " AND "), args
}

// messageMatch is the messages (aliased m) holding every word (by its beginning),
// written exactly as messages_search_idx indexes them. Each word is its own argument,
// folded like the index and stripped of whatever folding turned into a tsquery
// operator (U+02BC folds to an apostrophe): no input can form an operator, and a
// word that folds to nothing matches nothing.
func messageMatch(words []string) (string, []any) {
	parts := make([]string, len(words))
	args := make([]any, len(words))
	for i, w := range words {
		parts[i] = tsWord
		args[i] = w
	}
	return `m.kind <> 'activity' AND m.body <> ''
	AND to_tsvector('spanish'::regconfig, search_fold(m.body)) @@ (` + strings.Join(parts, " && ") + `)`, args
}

// tsWord is one word as a prefix tsquery; translate drops the characters to_tsquery
// reads as syntax: quote, & | ! ( ) : * < > backslash, space, tab and hyphen.
const tsWord = `to_tsquery('spanish'::regconfig, NULLIF(translate(search_fold(?), E'''&|!():*<>\\ \t-', ''), '') || ':*')`

func idArray(ids []int64) string {
	b := make([]byte, 0, len(ids)*8+2)
	b = append(b, '{')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return string(append(b, '}'))
}

// ResolveSearch runs f's search once, through the indexes (names and numbers by
// trigram, message text by full-text), and returns f carrying the conversations it
// found among those v may see: the counts and columns of one request then reuse the
// answer instead of searching again for each. Without Q it returns f as is.
func (s *Service) ResolveSearch(ctx context.Context, v accounts.Viewer, f BoardFilter) (BoardFilter, error) {
	likes, words := parseSearch(f.Q)
	if f.searched || len(likes) == 0 {
		return f, nil
	}
	rest := f
	rest.Q = ""
	where, args := boardWhere(v, rest)
	// The matching contacts and messages are found once, through their indexes; the
	// board's conversations (open ones, and those closed within the window) are then
	// walked through their own indexes and kept when they match.
	km, kargs := contactMatch(likes)
	with := `WITH kc AS MATERIALIZED (SELECT k2.id FROM contacts k2 WHERE k2.workspace_id = ? AND ` + km + `)`
	match := `c.contact_id IN (SELECT id FROM kc)`
	all := append([]any{v.Workspace.ID}, kargs...)
	if len(words) > 0 {
		mm, margs := messageMatch(words)
		with += `, mc AS MATERIALIZED (SELECT m.conversation_id FROM messages m WHERE m.workspace_id = ? AND ` + mm + `)`
		match = "(" + match + ` OR c.id IN (SELECT conversation_id FROM mc))`
		all = append(append(all, v.Workspace.ID), margs...)
	}
	all = append(append(all, args...), args...)
	all = append(all, s.closedSince(f), MaxSearchMatches)
	ids, err := live.Get(ctx, s.cache, v.Workspace.ID, "s|"+scopeKey(v)+"|"+s.filterKey(f), func(ctx context.Context) ([]int64, error) {
		return s.search(ctx, with, where, match, all)
	})
	if err != nil {
		return f, err
	}
	f.searched, f.matches = true, ids
	return f, nil
}

func (s *Service) search(ctx context.Context, with, where, match string, all []any) ([]int64, error) {
	var ids []int64
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// Starting parallel workers costs more than this query: a search is one request
		// among many, not a report.
		if err := tx.Exec("SET LOCAL max_parallel_workers_per_gather = 0").Error; err != nil {
			return err
		}
		return tx.Raw(with+`
			SELECT id FROM (
				SELECT c.id, c.last_message_at FROM conversations c WHERE `+where+` AND c.status <> 'closed' AND `+match+`
				UNION ALL
				SELECT c.id, c.last_message_at FROM conversations c WHERE `+where+` AND c.status = 'closed' AND c.closed_at >= ? AND `+match+`
			) found ORDER BY last_message_at DESC, id DESC LIMIT ?`, all...).Scan(&ids).Error
	}, &sql.TxOptions{ReadOnly: true})
	return ids, err
}

// parseSearch turns what a person typed into LIKE fragments (for names, companies and
// numbers: every word must appear) and a prefix tsquery (for message text: every word,
// by its beginning). A number typed with spaces, dashes or a + ("+51 987-654") is
// searched by its digits.
func parseSearch(q string) (likes []string, words []string) {
	q = strings.TrimSpace(q)
	if r := []rune(q); len(r) > maxSearch {
		q = string(r[:maxSearch])
	}
	if q == "" {
		return nil, nil
	}
	digits, phoneish := 0, true
	for _, r := range q {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case strings.ContainsRune("+-(). ", r):
		default:
			phoneish = false
		}
	}
	if phoneish && digits >= 3 {
		d := strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, q)
		return []string{d}, []string{d}
	}
	escape := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	for _, w := range strings.Fields(q) {
		if len(likes) < 8 {
			likes = append(likes, escape.Replace(w))
		}
	}
	// Only letters and digits make words; messageMatch keeps operators out of them.
	terms := strings.FieldsFunc(q, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	if len(terms) > 8 {
		terms = terms[:8]
	}
	return likes, terms
}

// contactMatch is the contacts (aliased k2) whose name, profile name, company or number
// hold every fragment, as contacts_search_idx indexes them.
func contactMatch(likes []string) (string, []any) {
	parts := make([]string, len(likes))
	args := make([]any, len(likes))
	for i, l := range likes {
		parts[i] = `k2.search_text LIKE '%' || search_fold(?) || '%'`
		args[i] = l
	}
	return strings.Join(parts, " AND "), args
}

// statusWhere restricts to one column; Cerrados only reaches back to the window's start.
func (s *Service) statusWhere(status string, f BoardFilter) (string, []any) {
	if status == models.StatusClosed {
		if !f.ClosedUntil.IsZero() {
			return "c.status = 'closed' AND c.closed_at >= ? AND c.closed_at < ?", []any{s.closedSince(f), f.ClosedUntil}
		}
		return "c.status = 'closed' AND c.closed_at >= ?", []any{s.closedSince(f)}
	}
	if !IsBoardStatus(status) {
		return "false", nil
	}
	// Written out (one of the board's four words): a plan kept for the statement then
	// knows which column it reads.
	return "c.status = '" + status + "'", nil
}

// ListColumn returns one page of a column, newest activity first, and the cursor of
// the next page ("" when this is the last). Pages are keyset on (last_message_at, id):
// cards arriving meanwhile never shift or repeat what is already shown.
func (s *Service) ListColumn(ctx context.Context, v accounts.Viewer, status string, f BoardFilter, cursor string, limit int) ([]Card, string, error) {
	if !IsBoardStatus(status) {
		return nil, "", apperr.ErrNotFound
	}
	if limit <= 0 {
		limit = DefaultColumnLimit
	}
	limit = min(limit, MaxColumnLimit)
	f, err := s.ResolveSearch(ctx, v, f)
	if err != nil {
		return nil, "", err
	}
	where, args := boardWhere(v, f)
	sw, sargs := s.statusWhere(status, f)
	where += " AND " + sw
	args = append(args, sargs...)
	// Newest activity first; "En riesgo": nearest deadline first.
	sortCol, order, before := "c.last_message_at", "c.last_message_at DESC, c.id DESC", "<"
	if f.Risk {
		sortCol, order, before = riskSort, riskSort+", c.id", ">"
	}
	if cursor != "" {
		at, id, err := decodeCursor(cursor)
		if err != nil {
			return nil, "", err
		}
		where += " AND (" + sortCol + ", c.id) " + before + " (?, ?)"
		args = append(args, at, id)
	}
	keepKey, keepSince, keepSeq := "", time.Time{}, uint64(0)
	if status == models.StatusClosed && cursor == "" && s.closedKeepable(f) {
		keepKey = s.closedPageKey(v, f, limit)
		keepSince, keepSeq = s.closedSince(f), s.cache.ClosedSeq(v.Workspace.ID)
		if kp, ok := s.keptClosedPage(keepKey); ok && s.closedPageValid(v.Workspace.ID, kp, keepSince) {
			return slices.Clone(kp.page.cards), kp.page.next, nil
		}
	}
	key := fmt.Sprintf("c|%s|%s|%s|%s|%d", scopeKey(v), s.filterKey(f), status, cursor, limit)
	get := live.Get[columnPage]
	if cursor == "" && s.columnsCacheable(f) {
		// Kept while no change touches this column (see FirstPages).
		get = func(ctx context.Context, c *live.Cache, ws int64, key string, load func(context.Context) (columnPage, error)) (columnPage, error) {
			return live.GetColumn(ctx, c, ws, status, key, load)
		}
	}
	page, err := get(ctx, s.cache, v.Workspace.ID, key, func(ctx context.Context) (columnPage, error) {
		rows, err := s.queryCards(ctx, s.boardReads(v, f, status), false, cardSelect+cardFrom+" WHERE "+where+" ORDER BY "+order+" LIMIT "+strconv.Itoa(limit+1), args...)
		if err != nil {
			return columnPage{}, err
		}
		var p columnPage
		if len(rows) > limit {
			p.beyond = rows[limit].ClosedAt
			rows = rows[:limit]
			last := rows[limit-1]
			p.next = encodeCursor(*last.LastMessageAt, last.ID) // the board lists only conversations with messages
			if f.Risk {
				p.next = encodeCursor(last.riskKey(), last.ID)
			}
		}
		p.cards, err = s.toCards(ctx, v.Workspace.ID, rows)
		return p, err
	})
	if err != nil {
		return nil, "", err
	}
	if keepKey != "" {
		s.keepClosedPage(keepKey, closedPage{page: page, since: keepSince, seq: keepSeq, at: time.Now()})
	}
	return slices.Clone(page.cards), page.next, nil
}

// riskSort orders "En riesgo" by the nearest running deadline; a breach whose clock is
// paused (pending) has none and comes last.
const riskSort = "COALESCE(LEAST(c.first_response_due_at, c.next_response_due_at, c.resolution_due_at), '9999-01-01'::timestamptz)"

// riskKey is riskSort of conversation c.
func riskKey(c models.Conversation) time.Time {
	k := time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, due := range []*time.Time{c.FirstResponseDueAt, c.NextResponseDueAt, c.ResolutionDueAt} {
		if due != nil && due.Before(k) {
			k = *due
		}
	}
	return k
}

// RiskSortKey orders cards within a column as "En riesgo" does (nearest deadline first),
// in the same descending string order as SortKey, for the client's live placement.
func (c Card) RiskSortKey() string {
	k := riskKey(models.Conversation{FirstResponseDueAt: c.FirstResponseDueAt, NextResponseDueAt: c.NextResponseDueAt,
		ResolutionDueAt: c.ResolutionDueAt})
	return fmt.Sprintf("%019d.%019d", math.MaxInt64-k.UnixMicro(), math.MaxInt64-c.ID)
}

// FirstPages returns the first page (limit cards, newest activity first) of each
// column in statuses and the cursor of its next page, in one statement: the full board
// asks for its four columns at once instead of one round trip (and one plan) each.
// Each column is walked through conversations_board_idx up to its limit; the cards'
// details are then joined once for all of them.
func (s *Service) FirstPages(ctx context.Context, v accounts.Viewer, statuses []string, f BoardFilter, limit int) (map[string][]Card, map[string]string, error) {
	cards, next := map[string][]Card{}, map[string]string{}
	if len(statuses) == 0 {
		return cards, next, nil
	}
	if f.Risk {
		// "En riesgo" sorts by deadline: each column pages on its own.
		for _, st := range statuses {
			cs, nx, err := s.ListColumn(ctx, v, st, f, "", limit)
			if err != nil {
				return nil, nil, err
			}
			cards[st], next[st] = cs, nx
		}
		return cards, next, nil
	}
	if limit <= 0 {
		limit = DefaultColumnLimit
	}
	limit = min(limit, MaxColumnLimit)
	f, err := s.ResolveSearch(ctx, v, f)
	if err != nil {
		return nil, nil, err
	}
	for _, st := range statuses {
		if !IsBoardStatus(st) {
			return nil, nil, apperr.ErrNotFound
		}
	}
	// Cerrados' first page, kept while nothing can have changed it (see closedPage).
	keepKey, keepSince, keepSeq := "", time.Time{}, uint64(0)
	if i := slices.Index(statuses, models.StatusClosed); i >= 0 && s.closedKeepable(f) {
		keepKey = s.closedPageKey(v, f, limit)
		keepSince, keepSeq = s.closedSince(f), s.cache.ClosedSeq(v.Workspace.ID)
		if kp, ok := s.keptClosedPage(keepKey); ok && s.closedPageValid(v.Workspace.ID, kp, keepSince) {
			cards[models.StatusClosed], next[models.StatusClosed] = slices.Clone(kp.page.cards), kp.page.next
			statuses = slices.Delete(slices.Clone(statuses), i, i+1)
			keepKey = ""
			if len(statuses) == 0 {
				return cards, next, nil
			}
		}
	}
	var pages []columnPage
	if s.columnsCacheable(f) {
		// Each open column kept while no change touches it (live.GetColumn): a message
		// on a chat in Nuevos reads Nuevos again, not En atención and Pendientes.
		pages = make([]columnPage, len(statuses))
		for i, st := range statuses {
			key := fmt.Sprintf("p|%s|%s|%s|%d", scopeKey(v), s.filterKey(f), st, limit)
			load := func(ctx context.Context) (columnPage, error) {
				ps, err := s.loadFirstPages(ctx, v, f, []string{st}, limit)
				if err != nil {
					return columnPage{}, err
				}
				return ps[0], nil
			}
			var err error
			if pages[i], err = live.GetColumn(ctx, s.cache, v.Workspace.ID, st, key, load); err != nil {
				return nil, nil, err
			}
		}
	} else {
		key := fmt.Sprintf("p|%s|%s|%s|%d", scopeKey(v), s.filterKey(f), strings.Join(statuses, ","), limit)
		pages, err = live.Get(ctx, s.cache, v.Workspace.ID, key, func(ctx context.Context) ([]columnPage, error) {
			return s.loadFirstPages(ctx, v, f, statuses, limit)
		})
	}
	if err != nil {
		return nil, nil, err
	}
	for i, st := range statuses {
		cards[st], next[st] = slices.Clone(pages[i].cards), pages[i].next
		if st == models.StatusClosed && keepKey != "" {
			s.keepClosedPage(keepKey, closedPage{page: pages[i], since: keepSince, seq: keepSeq, at: time.Now()})
		}
	}
	return cards, next, nil
}

// columnsCacheable reports whether the board's open columns under f may be kept by
// column (live.GetColumn): not a search (its matches move with any message) nor En
// riesgo (ordered by deadlines the SLA job moves).
func (s *Service) columnsCacheable(f BoardFilter) bool {
	return s.cache != nil && !f.Risk && !f.searched && strings.TrimSpace(f.Q) == ""
}

// loadFirstPages reads the first page of each column in statuses (valid board
// statuses), one statement per connection kind (see boardReads): usually all the
// columns in one.
func (s *Service) loadFirstPages(ctx context.Context, v accounts.Viewer, f BoardFilter, statuses []string, limit int) ([]columnPage, error) {
	where, args := boardWhere(v, f)
	type statement struct {
		db       *gorm.DB
		branches []string
		args     []any
	}
	var stmts []*statement
	for i, st := range statuses {
		db := s.boardReads(v, f, st)
		var q *statement
		for _, x := range stmts {
			if x.db == db {
				q = x
			}
		}
		if q == nil {
			q = &statement{db: db}
			stmts = append(stmts, q)
		}
		sw, sargs := s.statusWhere(st, f)
		q.branches = append(q.branches, fmt.Sprintf(`(SELECT c.id, %d AS col FROM conversations c WHERE %s AND %s
			ORDER BY c.last_message_at DESC, c.id DESC LIMIT %d)`, i, where, sw, limit+1))
		q.args = append(append(q.args, args...), sargs...)
	}
	var rows []cardRow
	for _, q := range stmts {
		rs, err := s.queryCards(ctx, q.db, true, `WITH page AS (`+strings.Join(q.branches, " UNION ALL ")+`)
			`+strings.Replace(cardSelect, "SELECT ", "SELECT page.col, ", 1)+`
			FROM page JOIN conversations c ON c.id = page.id JOIN contacts k ON k.id = c.contact_id
			ORDER BY page.col, c.last_message_at DESC, c.id DESC`, q.args...)
		if err != nil {
			return nil, err
		}
		rows = append(rows, rs...)
	}
	cards, err := s.toCards(ctx, v.Workspace.ID, rows)
	if err != nil {
		return nil, err
	}
	byCol := make([][]Card, len(statuses))
	for i := range byCol {
		byCol[i] = []Card{} // as a column of its own: empty, not nil
	}
	for i, r := range rows {
		byCol[r.Col] = append(byCol[r.Col], cards[i])
	}
	out := make([]columnPage, len(statuses))
	for i, cs := range byCol {
		if len(cs) > limit {
			out[i].beyond = cs[limit].ClosedAt
			cs = cs[:limit]
			last := cs[limit-1]
			out[i].next = encodeCursor(last.LastMessageAt, last.ID)
		}
		out[i].cards = cs
	}
	return out, nil
}

// boardReads is where v's board reads of a column (status; "" for the counts) under
// f run: on the connections that keep one plan per statement (db.DB.Reads) when the
// statement walks conversations_board_idx from the column's newest card whatever the
// values (planning it anew took longer than running it), anywhere else on the usual
// connections, planned for the values asked for. Kept plans serve the boards without
// filters: an admin's whole board, everyone's counts (small tables, the unread index,
// and Cerrados' window through conversations_closed_idx whatever the values) and open
// columns (a few thousand conversations at most, whoever sees them). A kept plan cannot know that a
// label, an agent ("Mías"), a team, or the visibility rules of an agent with few
// conversations leave few cards among all the closed ones: it would walk the whole of
// Cerrados where a plan for the values reads conversations_closed_idx (an agent's
// Cerrados: 0.09 ms planned for the values, 288 ms with the kept plan, on 220,000
// closed conversations).
func (s *Service) boardReads(v accounts.Viewer, f BoardFilter, status string) *gorm.DB {
	if s.Reads == nil || f.Active() || f.searched || !f.ClosedUntil.IsZero() {
		return s.DB
	}
	if v.IsAdmin() || status != models.StatusClosed {
		return s.Reads
	}
	return s.DB
}

// columnPage is one page of a column as ListColumn caches it.
type columnPage struct {
	cards []Card
	next  string
	// beyond is the closing time of the first card past the page (Cerrados; nil: none).
	beyond *time.Time
}

// Counts returns how many cards each column holds under f (Cerrados within its window).
func (s *Service) Counts(ctx context.Context, v accounts.Viewer, f BoardFilter) (map[string]int, error) {
	counts, _, err := s.CountsAndUnread(ctx, v, f)
	return counts, err
}

// CountsAndUnread is Counts and MyUnread in one statement: every board answer shows both.
func (s *Service) CountsAndUnread(ctx context.Context, v accounts.Viewer, f BoardFilter) (map[string]int, int, error) {
	f, err := s.ResolveSearch(ctx, v, f)
	if err != nil {
		return nil, 0, err
	}
	key := fmt.Sprintf("n|u%d|%s|%s", v.User.ID, scopeKey(v), s.filterKey(f))
	counts, err := live.Get(ctx, s.cache, v.Workspace.ID, key, func(ctx context.Context) (map[string]int, error) {
		return s.counts(ctx, v, f)
	})
	if err != nil {
		return nil, 0, err
	}
	counts = maps.Clone(counts)
	unread := counts[unreadKey]
	delete(counts, unreadKey)
	return counts, unread, nil
}

// unreadKey carries MyUnread among the counts.
const unreadKey = "-unread"

// counts reads the open columns from board_counts (kept by triggers in the statements
// that change conversations: a few hundred rows at most) when f filters only by what
// that table keys, and Cerrados' window from conversations_closed_idx; any other filter
// (a label, a search) counts the conversations themselves. One statement either way.
func (s *Service) counts(ctx context.Context, v accounts.Viewer, f BoardFilter) (map[string]int, error) {
	where, args := boardWhere(v, f)
	closedWhere, closedArgs := s.statusWhere(models.StatusClosed, f)
	// Each row: a column, its count, and (from board_count_deltas) how many changes
	// wait to be folded in.
	open := `SELECT c.status, count(*) AS n, 0 AS d FROM conversations c
		WHERE ` + where + ` AND c.status IN ('new', 'active', 'pending') GROUP BY c.status`
	all := append([]any{}, args...)
	keyed := false
	if kw, kargs, ok := keyedWhere(v, f); ok {
		// The folded counts and the changes since, read in one snapshot and one pass.
		keyed = true
		open = `SELECT c.status, COALESCE(sum(c.n) FILTER (WHERE ` + kw + `), 0)::bigint AS n, count(*) FILTER (WHERE c.delta) AS d FROM (
				SELECT workspace_id, status, channel_id, team_id, assignee_id, n, false AS delta FROM board_counts WHERE workspace_id = ?
				UNION ALL
				SELECT workspace_id, status, channel_id, team_id, assignee_id, n, true FROM board_count_deltas WHERE workspace_id = ?
			) c GROUP BY c.status`
		all = append(append([]any{}, kargs...), v.Workspace.ID, v.Workspace.ID)
	}
	// Cerrados' window, counted by the index, or (kept) what was counted a moment ago
	// for an earlier start minus the closings the window has slid past since.
	since := s.closedSince(f)
	ck := fmt.Sprintf("w%d|%s|%s", v.Workspace.ID, scopeKey(v), s.filterKey(f))
	var seq uint64
	var kept closedCount
	slide := false
	if keyed && s.closedKeepable(f) {
		seq = s.cache.ClosedSeq(v.Workspace.ID)
		kept, slide = s.keptClosed(ck)
		slide = slide && !since.Before(kept.since) && time.Since(kept.at) < s.cache.TTL() &&
			!s.cache.ClosedChangedSince(v.Workspace.ID, kept.seq, kept.since)
		if slide {
			closedWhere, closedArgs = "c.status = 'closed' AND c.closed_at >= ? AND c.closed_at < ?", []any{kept.since, since}
		}
	}
	all = append(append(all, args...), closedArgs...)
	all = append(all, v.Workspace.ID, v.User.ID)
	res, err := s.boardReads(v, f, "").WithContext(ctx).Raw(open+`
		UNION ALL
		SELECT 'closed', count(*), 0 FROM conversations c WHERE `+where+` AND `+closedWhere+`
		UNION ALL
		SELECT '`+unreadKey+`', count(*), 0 FROM conversations
		WHERE workspace_id = ? AND assignee_id = ? AND status IN ('new', 'active', 'pending') AND unread_count > 0`, all...).Rows()
	if err != nil {
		return nil, err
	}
	defer res.Close()
	out := make(map[string]int, len(BoardStatuses)+1)
	for _, st := range BoardStatuses {
		out[st] = 0
	}
	pending := 0
	for res.Next() {
		var status string
		var n, d int
		if err := res.Scan(&status, &n, &d); err != nil {
			return nil, err
		}
		out[status] += n
		pending += d
	}
	if err := res.Err(); err != nil {
		return nil, err
	}
	res.Close()
	switch {
	case slide:
		out[models.StatusClosed] = kept.count - out[models.StatusClosed]
	case keyed && s.closedKeepable(f):
		s.keepClosed(ck, closedCount{count: out[models.StatusClosed], since: since, seq: seq, at: time.Now()})
	}
	if keyed && pending >= compactAfter {
		if err := s.compactCounts(ctx, v.Workspace.ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// closedCount is Cerrados' count for a scope and filters, kept while no change can
// have moved it (live.Hub.ClosedChangedSince): a busy workspace's messages mostly
// reopen chats closed long before any window, or touch open ones, and counting a
// week of closings for every board read was the largest part of its counts. Kept no
// longer than the board cache's TTL (what no notification announces).
type closedCount struct {
	count int
	since time.Time // the window's start it was counted for
	seq   uint64    // the hub's closed log before counting
	at    time.Time
}

type closedKeep struct {
	mu    sync.Mutex
	m     map[string]closedCount
	pages map[string]closedPage
}

// closedPage is Cerrados' first page for a viewer's scope and filters, kept like its
// count (closedCount): while no change can have moved Cerrados within its window, and
// none of its cards (nor the first one past it) has slid out of the window since.
// Any change to a closed conversation moves Cerrados (its notification says so), so
// the cards show what they are. Kept no longer than the board cache's TTL.
type closedPage struct {
	page  columnPage
	since time.Time
	seq   uint64
	at    time.Time
}

// closedKeepable reports whether Cerrados under f may be kept: a window without an
// end, no search, not En riesgo, and a board cache to hear of changes.
func (s *Service) closedKeepable(f BoardFilter) bool {
	return s.cache != nil && s.closed != nil && !f.Risk && !f.searched && strings.TrimSpace(f.Q) == "" && f.ClosedUntil.IsZero()
}

func (s *Service) closedPageKey(v accounts.Viewer, f BoardFilter, limit int) string {
	return fmt.Sprintf("w%d|%s|%s|%d", v.Workspace.ID, scopeKey(v), s.filterKey(f), limit)
}

func (s *Service) closedPageValid(workspaceID int64, kp closedPage, since time.Time) bool {
	if since.Before(kp.since) || time.Since(kp.at) >= s.cache.TTL() || s.cache.ClosedChangedSince(workspaceID, kp.seq, kp.since) {
		return false
	}
	in := func(t *time.Time) bool { return t != nil && !t.Before(since) }
	for _, c := range kp.page.cards {
		if !in(c.ClosedAt) {
			return false
		}
	}
	return kp.page.beyond == nil || in(kp.page.beyond)
}

func (s *Service) keptClosedPage(key string) (closedPage, bool) {
	s.closed.mu.Lock()
	defer s.closed.mu.Unlock()
	p, ok := s.closed.pages[key]
	return p, ok
}

func (s *Service) keepClosedPage(key string, p closedPage) {
	s.closed.mu.Lock()
	defer s.closed.mu.Unlock()
	if s.closed.pages == nil || len(s.closed.pages) >= 10_000 {
		s.closed.pages = make(map[string]closedPage, 64)
	}
	s.closed.pages[key] = p
}

func (s *Service) keptClosed(key string) (closedCount, bool) {
	if s.closed == nil {
		return closedCount{}, false
	}
	s.closed.mu.Lock()
	defer s.closed.mu.Unlock()
	c, ok := s.closed.m[key]
	return c, ok
}

func (s *Service) keepClosed(key string, c closedCount) {
	if s.closed == nil {
		return
	}
	s.closed.mu.Lock()
	defer s.closed.mu.Unlock()
	if s.closed.m == nil || len(s.closed.m) >= 10_000 {
		s.closed.m = make(map[string]closedCount, 64)
	}
	s.closed.m[key] = c
}

// compactAfter is how many changes may wait in board_count_deltas before a board read
// folds them into board_counts.
const compactAfter = 200

// compactCounts folds the workspace's waiting changes into board_counts, in one
// statement. One process at a time does it (the others carry on reading the changes);
// webhooks go on inserting changes meanwhile and never wait for it.
func (s *Service) compactCounts(ctx context.Context, workspaceID int64) error {
	return s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var mine bool
		if err := tx.Raw(`SELECT pg_try_advisory_xact_lock(hashtextextended('board_counts', ?))`, workspaceID).Scan(&mine).Error; err != nil || !mine {
			return err
		}
		return tx.Exec(`WITH d AS (DELETE FROM board_count_deltas WHERE workspace_id = ? RETURNING status, channel_id, team_id, assignee_id, n)
			INSERT INTO board_counts AS b (workspace_id, status, channel_id, team_id, assignee_id, n)
			SELECT ?, status, channel_id, team_id, assignee_id, sum(n) FROM d GROUP BY status, channel_id, team_id, assignee_id
			ON CONFLICT ON CONSTRAINT board_counts_key DO UPDATE SET n = b.n + EXCLUDED.n`, workspaceID, workspaceID).Error
	})
}

// keyedWhere is boardWhere for board_counts (aliased c): visibility, view, team, channel
// and assignee, the columns the table keys. ok is false when f filters by anything
// else (a label, a search, or a filter added later): such counts need the conversations.
func keyedWhere(v accounts.Viewer, f BoardFilter) (string, []any, bool) {
	rest := f
	rest.View, rest.TeamID, rest.ChannelID, rest.AssigneeID = "", nil, nil, nil
	rest.ClosedSince, rest.ClosedUntil = time.Time{}, time.Time{}
	if f.View != "" && f.View != ViewAll && f.View != ViewMine && f.View != ViewUnassigned {
		return "", nil, false
	}
	if !reflect.ValueOf(rest).IsZero() {
		return "", nil, false
	}
	cond, args := Visible(v, "c")
	parts := []string{cond}
	add := func(sql string, a ...any) {
		parts = append(parts, sql)
		args = append(args, a...)
	}
	switch f.View {
	case ViewMine:
		add("c.assignee_id = ?", v.User.ID)
	case ViewUnassigned:
		add("c.assignee_id IS NULL")
	}
	if f.TeamID != nil {
		add("c.team_id = ?", *f.TeamID)
	}
	if f.ChannelID != nil {
		add("c.channel_id = ?", *f.ChannelID)
	}
	if f.AssigneeID != nil {
		add("c.assignee_id = ?", *f.AssigneeID)
	}
	return strings.Join(parts, " AND "), args, true
}

// MyUnread counts v's open conversations with customer messages nobody has read:
// the badge in the tab title.
func (s *Service) MyUnread(ctx context.Context, v accounts.Viewer) (int, error) {
	key := fmt.Sprintf("u|u%d", v.User.ID)
	return live.Get(ctx, s.cache, v.Workspace.ID, key, func(ctx context.Context) (int, error) {
		var n int64
		err := s.DB.WithContext(ctx).Model(&models.Conversation{}).
			Where("workspace_id = ? AND assignee_id = ? AND status IN ('new', 'active', 'pending') AND unread_count > 0", v.Workspace.ID, v.User.ID).
			Count(&n).Error
		return int(n), err
	})
}

// HasConversations reports whether the workspace has had any conversation at all
// (an empty board then explains how to connect a number). The ORDER BY follows
// conversations_board_idx, so this reads one index entry.
func (s *Service) HasConversations(ctx context.Context, workspaceID int64) (bool, error) {
	var ids []int64
	err := s.DB.WithContext(ctx).Raw(`SELECT id FROM conversations WHERE workspace_id = ? ORDER BY workspace_id, status LIMIT 1`, workspaceID).
		Scan(&ids).Error
	return len(ids) > 0, err
}

// CardByID returns one card if v may see it, whatever the board's filters; otherwise ErrNotFound.
func (s *Service) CardByID(ctx context.Context, v accounts.Viewer, id int64) (Card, error) {
	cond, args := Visible(v, "c")
	rows, err := s.queryCards(ctx, s.DB, false, cardSelect+cardFrom+" WHERE c.id = ? AND c.last_message_at IS NOT NULL AND "+cond, append([]any{id}, args...)...)
	if err != nil {
		return Card{}, err
	}
	if len(rows) == 0 {
		return Card{}, apperr.ErrNotFound
	}
	cards, err := s.toCards(ctx, v.Workspace.ID, rows)
	if err != nil {
		return Card{}, err
	}
	return cards[0], nil
}

// CardInView returns the card and whether it belongs on a board filtered by f (a card
// that changed live may have left the view: another assignee, closed long ago, …).
// A card v may not see at all is ErrNotFound.
func (s *Service) CardInView(ctx context.Context, v accounts.Viewer, id int64, f BoardFilter) (Card, bool, error) {
	c, err := s.CardByID(ctx, v, id)
	if err != nil {
		return c, false, err
	}
	where, args := boardWhere(v, f)
	sw, sargs := s.statusWhere(c.Status, f)
	var in bool
	err = s.DB.WithContext(ctx).Raw("SELECT EXISTS (SELECT 1 FROM conversations c WHERE c.id = ? AND "+where+" AND "+sw+")",
		append(append([]any{id}, args...), sargs...)...).Scan(&in).Error
	return c, in, err
}

// FilterOption is one choice in a board filter.
type FilterOption struct {
	ID    int64
	Name  string
	Color string
	// Detail is a channel's number or an agent's presence.
	Detail string
}

// BoardOptions are the choices of the board's filters.
type BoardOptions struct {
	Teams    []FilterOption
	Labels   []FilterOption
	Channels []FilterOption
	// Agents is empty for agents: only supervisors and admins filter by agent.
	Agents []FilterOption
}

// FilterOptions returns the board's filter choices, from the workspace's directory:
// admins pick any team, others their own; agents get no agent filter.
func (s *Service) FilterOptions(ctx context.Context, v accounts.Viewer) (BoardOptions, error) {
	d, err := s.directory(ctx, v.Workspace.ID)
	if err != nil {
		return BoardOptions{}, err
	}
	o := BoardOptions{Labels: slices.Clone(d.labelList), Channels: slices.Clone(d.channelList)}
	for _, t := range d.teamList {
		if v.IsAdmin() || slices.Contains(v.TeamIDs, t.ID) {
			o.Teams = append(o.Teams, t)
		}
	}
	if v.User.Role != models.RoleAgent {
		o.Agents = slices.Clone(d.agentList)
	}
	return o, nil
}
