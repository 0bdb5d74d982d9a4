package inbox

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/models"
)

// The conversation read model: what the conversation screen shows, loaded in a fixed
// number of queries and always through Visible, so a conversation v may not see is
// ErrNotFound whatever the reason (another agent's, another team's, another workspace's).

// DefaultPage is how many history items a page holds when the caller does not say.
const DefaultPage = 50

// maxPage bounds a page so one request never loads a whole long history.
const maxPage = 200

// Person is a user as the conversation screen shows them.
type Person struct {
	ID       int64
	Name     string
	Email    string
	Role     string
	Presence string
}

// ChannelInfo is the WhatsApp number a conversation runs on (never its secrets).
type ChannelInfo struct {
	ID           int64
	Name         string
	DisplayPhone string
}

// TransferNote is the latest hand-over of the open cycle: the note the receiver reads first.
type TransferNote struct {
	At      time.Time
	Note    string
	ByName  string
	ToTeam  string
	ToAgent string
}

// OtherConversation is another conversation of the same contact (another number of
// the company), listed in the contact panel when v may see it.
type OtherConversation struct {
	ID            int64
	Status        string
	ChannelName   string
	ChannelPhone  string
	LastMessageAt *time.Time
	Preview       string
	AssigneeName  string
}

// ThreadView is everything the conversation screen shows around the history.
type ThreadView struct {
	Conversation models.Conversation
	Contact      models.Contact
	Channel      ChannelInfo
	Team         *models.Team
	Assignee     *Person
	Owner        *Person
	Labels       []models.Label
	// Cycles in the order they opened.
	Cycles []models.Cycle
	// Transfer is the latest transfer of the open cycle, nil when there is none.
	Transfer *TransferNote
	Others   []OtherConversation
	// WindowExpiresAt is when the 24-hour customer service window closes (nil: the
	// customer never wrote).
	WindowExpiresAt *time.Time
	// CanWork reports whether v may reply and act on the conversation as its agent.
	CanWork bool
}

// WindowOpen reports whether a free-form reply is allowed at now.
func (t ThreadView) WindowOpen(now time.Time) bool {
	return t.WindowExpiresAt != nil && now.Before(*t.WindowExpiresAt)
}

// visibleConversation loads conversation id if v may see it.
func (s *Service) visibleConversation(db *gorm.DB, v accounts.Viewer, id int64) (models.Conversation, error) {
	cond, args := Visible(v, "")
	var c models.Conversation
	err := db.Where("id = ?", id).Where(cond, args...).First(&c).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return c, ErrNoConversation
	}
	return c, err
}

// Thread loads the conversation id with its contact, channel, team, assignee, labels,
// cycles, the transfer note of the open cycle and the contact's other conversations
// that v may see. A conversation v may not see is ErrNotFound.
func (s *Service) Thread(ctx context.Context, v accounts.Viewer, id int64) (ThreadView, error) {
	db := s.DB.WithContext(ctx)
	var t ThreadView
	c, err := s.visibleConversation(db, v, id)
	if err != nil {
		return t, err
	}
	t.Conversation = c
	t.CanWork = canWork(By(v), &c)
	if c.LastInboundAt != nil {
		exp := c.LastInboundAt.Add(Window)
		t.WindowExpiresAt = &exp
	}
	if err := db.Where("id = ? AND workspace_id = ?", c.ContactID, c.WorkspaceID).First(&t.Contact).Error; err != nil {
		return t, err
	}
	if err := db.Model(&models.Channel{}).Select("id", "name", "display_phone").
		Where("id = ? AND workspace_id = ?", c.ChannelID, c.WorkspaceID).Scan(&t.Channel).Error; err != nil {
		return t, err
	}
	if c.TeamID != nil {
		var team models.Team
		if err := db.Where("id = ? AND workspace_id = ?", *c.TeamID, c.WorkspaceID).Limit(1).Find(&team).Error; err != nil {
			return t, err
		}
		if team.ID != 0 {
			t.Team = &team
		}
	}
	var ids []int64
	if c.AssigneeID != nil {
		ids = append(ids, *c.AssigneeID)
	}
	if t.Contact.OwnerID != nil {
		ids = append(ids, *t.Contact.OwnerID)
	}
	if len(ids) > 0 {
		var people []Person
		if err := db.Model(&models.User{}).Select("id", "name", "email", "role", "presence").
			Where("workspace_id = ? AND id IN ?", c.WorkspaceID, ids).Scan(&people).Error; err != nil {
			return t, err
		}
		for i := range people {
			p := people[i]
			if c.AssigneeID != nil && p.ID == *c.AssigneeID {
				t.Assignee = &p
			}
			if t.Contact.OwnerID != nil && p.ID == *t.Contact.OwnerID {
				t.Owner = &p
			}
		}
	}
	if err := db.Raw(`SELECT l.* FROM labels l JOIN conversation_labels cl ON cl.label_id = l.id
		WHERE cl.conversation_id = ? AND l.workspace_id = ? ORDER BY lower(l.name), l.id`, c.ID, c.WorkspaceID).
		Scan(&t.Labels).Error; err != nil {
		return t, err
	}
	if err := db.Where("conversation_id = ? AND workspace_id = ?", c.ID, c.WorkspaceID).
		Order("opened_at, id").Find(&t.Cycles).Error; err != nil {
		return t, err
	}
	if c.CycleID != nil && c.Status != models.StatusClosed {
		var tr []TransferNote
		if err := db.Raw(`SELECT e.at, e.note, COALESCE(a.name, '') AS by_name, COALESCE(tt.name, '') AS to_team,
				COALESCE(tu.name, '') AS to_agent
			FROM conversation_events e
			LEFT JOIN users a ON a.id = e.actor_id
			LEFT JOIN teams tt ON tt.id = e.to_team_id
			LEFT JOIN users tu ON tu.id = e.to_user_id
			WHERE e.conversation_id = ? AND e.workspace_id = ? AND e.cycle_id = ? AND e.kind = 'transfer'
			ORDER BY e.at DESC, e.id DESC LIMIT 1`, c.ID, c.WorkspaceID, *c.CycleID).Scan(&tr).Error; err != nil {
			return t, err
		}
		if len(tr) == 1 {
			t.Transfer = &tr[0]
		}
	}
	cond, args := Visible(v, "c")
	if err := db.Raw(`SELECT c.id, c.status, ch.name AS channel_name, ch.display_phone AS channel_phone,
			c.last_message_at, c.last_message_preview AS preview, COALESCE(u.name, '') AS assignee_name
		FROM conversations c
		JOIN channels ch ON ch.id = c.channel_id
		LEFT JOIN users u ON u.id = c.assignee_id
		WHERE c.contact_id = ? AND c.id <> ? AND `+cond+`
		ORDER BY c.last_message_at DESC NULLS LAST, c.id DESC LIMIT 20`,
		append([]any{c.ContactID, c.ID}, args...)...).Scan(&t.Others).Error; err != nil {
		return t, err
	}
	return t, nil
}

// Cursor is a position in a conversation's history: a page before it holds the items
// strictly older than (At, ID). The zero Cursor means "the newest items".
type Cursor struct {
	At time.Time
	ID int64
}

// IsZero reports the cursor of the newest page.
func (c Cursor) IsZero() bool { return c.ID == 0 }

// String encodes the cursor for a URL: microseconds since the epoch (PostgreSQL's
// precision, so the position is exact) and the id.
func (c Cursor) String() string {
	if c.IsZero() {
		return ""
	}
	return strconv.FormatInt(c.At.UnixMicro(), 10) + "-" + strconv.FormatInt(c.ID, 10)
}

// ParseCursor reads a Cursor written by String; anything else is the zero Cursor and false.
func ParseCursor(s string) (Cursor, bool) {
	at, id, ok := strings.Cut(s, "-")
	if !ok {
		return Cursor{}, false
	}
	us, err1 := strconv.ParseInt(at, 10, 64)
	n, err2 := strconv.ParseInt(id, 10, 64)
	if err1 != nil || err2 != nil || n <= 0 {
		return Cursor{}, false
	}
	return Cursor{At: time.UnixMicro(us).UTC(), ID: n}, true
}

// MediaInfo is the stored file behind a media message. ID is the media row, served at
// /media/{ID}; Ready is false until the fetcher has downloaded the bytes.
type MediaInfo struct {
	ID       int64
	Ready    bool
	Filename string
	Size     int64
	Error    string
}

// Reaction is an emoji the customer (or an agent) put on a message; only the latest
// of each side counts, and an empty emoji removed it.
type Reaction struct {
	Emoji     string
	Direction string
	At        time.Time
}

// Quoted is the message a reply refers to. Missing means WhatsApp named a message
// this history does not hold (sent from the phone, or before Atiende).
type Quoted struct {
	ID         int64
	Kind       string
	Body       string
	Direction  string
	SenderName string
	Missing    bool
}

// CycleMark marks the first item of a cycle, where the history draws its separator.
type CycleMark struct {
	ID       int64
	Number   int
	OpenedAt time.Time
	OpenedBy string
}

// MessageView is one history item with what the screen shows beside it.
type MessageView struct {
	models.Message
	// SenderName is the agent's name for our messages and notes ("" for the customer's).
	SenderName string
	Media      *MediaInfo
	Reactions  []Reaction
	Quoted     *Quoted
	// Cycle is set on the first item of a cycle.
	Cycle *CycleMark
	// Activity is the event an activity line shows (nil for lines written before events).
	Activity *Activity
}

// Activity is a recorded conversation event as the history shows it: the views turn
// it into words ("Ana tomó la conversación").
type Activity struct {
	Kind       string
	ActorKind  string
	ActorID    *int64
	ActorName  string
	FromStatus string
	ToStatus   string
	FromTeam   string
	ToTeam     string
	FromAgent  string
	ToAgent    string
	ToAgentID  *int64
	Note       string
}

// Cursor is the position of this item, for loading what came before it.
func (m MessageView) Cursor() Cursor { return Cursor{At: m.CreatedAt, ID: m.ID} }

// MessagePage is one page of history, oldest first. Older is the cursor of the page
// before it, nil when this page reaches the beginning. ContactName labels the
// customer's side (quotes, reactions).
type MessagePage struct {
	Messages    []MessageView
	Older       *Cursor
	ContactName string
}

type messageRow struct {
	models.Message `gorm:"embedded"`
	SenderName     string
	MediaRowID     *int64
	MediaReady     bool
	MediaFilename  string
	MediaSize      int64
	MediaError     string
	CycleNumber    *int
	CycleOpenedAt  *time.Time
	CycleOpenedBy  string
	StartsCycle    bool
	EvKind         *string
	EvActorKind    string
	EvActorID      *int64
	EvActorName    string
	EvFromStatus   string
	EvToStatus     string
	EvFromTeam     string
	EvToTeam       string
	EvFromAgent    string
	EvToAgent      string
	EvToAgentID    *int64
	EvNote         string
}

// Messages returns the page of conversation id's history before the cursor (the newest
// page for the zero Cursor), oldest first, at most limit items. Reactions are not
// items: they are grouped onto the message they react to. Replies carry the message
// they quote. Five queries at most, whatever the page holds.
func (s *Service) Messages(ctx context.Context, v accounts.Viewer, id int64, before Cursor, limit int) (MessagePage, error) {
	var page MessagePage
	if limit <= 0 {
		limit = DefaultPage
	}
	if limit > maxPage {
		limit = maxPage
	}
	db := s.DB.WithContext(ctx)
	c, err := s.visibleConversation(db, v, id)
	if err != nil {
		return page, err
	}
	var contact models.Contact
	if err := db.Where("id = ? AND workspace_id = ?", c.ContactID, c.WorkspaceID).First(&contact).Error; err != nil {
		return page, err
	}
	page.ContactName = contact.DisplayName()
	q := `SELECT m.*, COALESCE(u.name, '') AS sender_name,
			md.id AS media_row_id, (md.data IS NOT NULL) AS media_ready, COALESCE(md.filename, '') AS media_filename,
			COALESCE(md.size, 0) AS media_size, COALESCE(md.error, '') AS media_error,
			cy.n AS cycle_number, cy.opened_at AS cycle_opened_at, COALESCE(cy.opened_by, '') AS cycle_opened_by,
			(m.cycle_id IS NOT NULL AND NOT EXISTS (
				SELECT 1 FROM messages p WHERE p.conversation_id = m.conversation_id AND p.cycle_id = m.cycle_id
					AND p.kind <> 'reaction' AND (p.created_at, p.id) < (m.created_at, m.id))) AS starts_cycle,
			e.kind AS ev_kind, COALESCE(e.actor_kind, '') AS ev_actor_kind, e.actor_id AS ev_actor_id, COALESCE(ea.name, '') AS ev_actor_name,
			COALESCE(e.from_status, '') AS ev_from_status, COALESCE(e.to_status, '') AS ev_to_status,
			COALESCE(eft.name, '') AS ev_from_team, COALESCE(ett.name, '') AS ev_to_team,
			COALESCE(efu.name, '') AS ev_from_agent, COALESCE(etu.name, '') AS ev_to_agent, e.to_user_id AS ev_to_agent_id,
			COALESCE(e.note, '') AS ev_note
		FROM messages m
		LEFT JOIN users u ON u.id = m.sender_user_id
		LEFT JOIN conversation_events e ON e.id = m.event_id
		LEFT JOIN users ea ON ea.id = e.actor_id
		LEFT JOIN teams eft ON eft.id = e.from_team_id
		LEFT JOIN teams ett ON ett.id = e.to_team_id
		LEFT JOIN users efu ON efu.id = e.from_user_id
		LEFT JOIN users etu ON etu.id = e.to_user_id
		LEFT JOIN media md ON m.media_id <> '' AND md.channel_id = m.channel_id AND md.media_id = m.media_id
		LEFT JOIN (SELECT id, opened_at, opened_by, row_number() OVER (ORDER BY opened_at, id) AS n
			FROM cycles WHERE conversation_id = ?) cy ON cy.id = m.cycle_id
		WHERE m.conversation_id = ? AND m.workspace_id = ? AND m.kind <> 'reaction'`
	args := []any{c.ID, c.ID, c.WorkspaceID}
	if !before.IsZero() {
		q += ` AND (m.created_at, m.id) < (?, ?)`
		args = append(args, before.At, before.ID)
	}
	q += ` ORDER BY m.created_at DESC, m.id DESC LIMIT ?`
	args = append(args, limit+1)
	var rows []messageRow
	if err := db.Raw(q, args...).Scan(&rows).Error; err != nil {
		return page, err
	}
	more := len(rows) > limit
	if more {
		rows = rows[:limit]
	}
	page.Messages = make([]MessageView, len(rows))
	var targets, quotes []string
	for i, r := range rows {
		mv := MessageView{Message: r.Message, SenderName: r.SenderName}
		if r.MediaRowID != nil {
			mv.Media = &MediaInfo{ID: *r.MediaRowID, Ready: r.MediaReady, Filename: r.MediaFilename, Size: r.MediaSize, Error: r.MediaError}
		}
		if r.EvKind != nil {
			mv.Activity = &Activity{Kind: *r.EvKind, ActorKind: r.EvActorKind, ActorID: r.EvActorID, ActorName: r.EvActorName,
				FromStatus: r.EvFromStatus, ToStatus: r.EvToStatus, FromTeam: r.EvFromTeam, ToTeam: r.EvToTeam,
				FromAgent: r.EvFromAgent, ToAgent: r.EvToAgent, ToAgentID: r.EvToAgentID, Note: r.EvNote}
		}
		if r.StartsCycle && r.CycleNumber != nil && r.CycleOpenedAt != nil && r.CycleID != nil {
			mv.Cycle = &CycleMark{ID: *r.CycleID, Number: *r.CycleNumber, OpenedAt: *r.CycleOpenedAt, OpenedBy: r.CycleOpenedBy}
		}
		if r.Wamid != nil && *r.Wamid != "" {
			targets = append(targets, *r.Wamid)
		}
		if r.ContextWamid != "" {
			quotes = append(quotes, r.ContextWamid)
		}
		page.Messages[len(rows)-1-i] = mv // oldest first
	}
	if more {
		last := rows[len(rows)-1]
		page.Older = &Cursor{At: last.CreatedAt, ID: last.ID}
	}
	if len(targets) > 0 {
		var rs []struct {
			ContextWamid string
			Direction    string
			Body         string
			CreatedAt    time.Time
		}
		// The latest reaction of each side wins; an empty emoji withdrew it.
		if err := db.Raw(`SELECT DISTINCT ON (context_wamid, direction) context_wamid, direction, body, created_at
			FROM messages WHERE conversation_id = ? AND kind = 'reaction' AND context_wamid IN ?
			ORDER BY context_wamid, direction, created_at DESC, id DESC`, c.ID, targets).Scan(&rs).Error; err != nil {
			return page, err
		}
		byTarget := map[string][]Reaction{}
		for _, r := range rs {
			if strings.TrimSpace(r.Body) != "" {
				byTarget[r.ContextWamid] = append(byTarget[r.ContextWamid], Reaction{Emoji: r.Body, Direction: r.Direction, At: r.CreatedAt})
			}
		}
		for i := range page.Messages {
			if w := page.Messages[i].Wamid; w != nil {
				page.Messages[i].Reactions = byTarget[*w]
			}
		}
	}
	if len(quotes) > 0 {
		var qs []struct {
			ID         int64
			Wamid      string
			Kind       string
			Body       string
			Direction  string
			SenderName string
		}
		if err := db.Raw(`SELECT m.id, m.wamid, m.kind, m.body, m.direction, COALESCE(u.name, '') AS sender_name
			FROM messages m LEFT JOIN users u ON u.id = m.sender_user_id
			WHERE m.conversation_id = ? AND m.wamid IN ?`, c.ID, quotes).Scan(&qs).Error; err != nil {
			return page, err
		}
		byWamid := map[string]Quoted{}
		for _, q := range qs {
			byWamid[q.Wamid] = Quoted{ID: q.ID, Kind: q.Kind, Body: q.Body, Direction: q.Direction, SenderName: q.SenderName}
		}
		for i := range page.Messages {
			m := &page.Messages[i]
			if m.ContextWamid == "" || m.Kind == models.KindReaction {
				continue
			}
			q, ok := byWamid[m.ContextWamid]
			if !ok {
				q = Quoted{Missing: true}
			}
			m.Quoted = &q
		}
	}
	return page, nil
}

// TemplateOption is an approved template with the number of values it needs.
type TemplateOption struct {
	models.Template
	Params int
}

// ThreadOptions are the choices the conversation screen offers: where to transfer,
// whom to assign, which labels, templates and canned responses exist.
type ThreadOptions struct {
	Teams     []models.Team
	Agents    []Person
	Labels    []models.Label
	Templates []TemplateOption
	Canned    []models.CannedResponse
}

// Options loads v's workspace's teams, active users, labels, templates and canned
// responses (five queries).
func (s *Service) Options(ctx context.Context, v accounts.Viewer) (ThreadOptions, error) {
	var o ThreadOptions
	db := s.DB.WithContext(ctx)
	ws := v.Workspace.ID
	if err := db.Where("workspace_id = ?", ws).Order("lower(name), id").Find(&o.Teams).Error; err != nil {
		return o, err
	}
	if err := db.Model(&models.User{}).Select("id", "name", "email", "role", "presence").
		Where("workspace_id = ? AND active", ws).Order("lower(name), id").Scan(&o.Agents).Error; err != nil {
		return o, err
	}
	if err := db.Where("workspace_id = ?", ws).Order("lower(name), id").Find(&o.Labels).Error; err != nil {
		return o, err
	}
	var ts []models.Template
	if err := db.Where("workspace_id = ?", ws).Order("lower(name), language, id").Find(&ts).Error; err != nil {
		return o, err
	}
	for _, t := range ts {
		o.Templates = append(o.Templates, TemplateOption{Template: t, Params: TemplateParams(t.Body)})
	}
	if err := db.Where("workspace_id = ?", ws).Order("lower(shortcut), id").Limit(500).Find(&o.Canned).Error; err != nil {
		return o, err
	}
	return o, nil
}

// TakenBy explains why an agent's command on conversation id found nothing: when a
// colleague took a conversation of the agent's queue (their teams, or no team) while
// they were acting, it returns the colleague's name and true. Take locks the row
// and re-checks visibility, so an agent who loses the race would otherwise only hear
// "not found".
func (s *Service) TakenBy(ctx context.Context, v accounts.Viewer, id int64) (string, bool, error) {
	if v.User.Role != models.RoleAgent {
		return "", false, nil
	}
	teams := v.TeamIDs
	if len(teams) == 0 {
		teams = []int64{0}
	}
	var names []string
	err := s.DB.WithContext(ctx).Raw(`SELECT u.name FROM conversations c JOIN users u ON u.id = c.assignee_id
		WHERE c.id = ? AND c.workspace_id = ? AND c.assignee_id <> ? AND (c.team_id IS NULL OR c.team_id IN ?)`,
		id, v.Workspace.ID, v.User.ID, teams).Scan(&names).Error
	if err != nil || len(names) == 0 {
		return "", false, err
	}
	return names[0], true, nil
}

// Media returns the stored file media row id when v may see a conversation with a
// message carrying it; otherwise ErrNotFound.
func (s *Service) Media(ctx context.Context, v accounts.Viewer, id int64) (models.Media, error) {
	var md models.Media
	cond, args := Visible(v, "c")
	err := s.DB.WithContext(ctx).Raw(`SELECT md.* FROM media md
		WHERE md.id = ? AND md.workspace_id = ? AND EXISTS (
			SELECT 1 FROM messages m JOIN conversations c ON c.id = m.conversation_id
			WHERE m.channel_id = md.channel_id AND m.media_id = md.media_id AND `+cond+`)`,
		append([]any{id, v.Workspace.ID}, args...)...).Scan(&md).Error
	if err != nil {
		return md, fmt.Errorf("media %d: %w", id, err)
	}
	if md.ID == 0 {
		return md, apperr.ErrNotFound
	}
	return md, nil
}
