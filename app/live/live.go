// Package live carries change events from whichever process made a change to every
// process with open boards: PostgreSQL NOTIFY on commit, one LISTEN connection per
// process, and an in-memory fan-out to that process's SSE subscribers.
package live

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"
)

// Channel is the PostgreSQL notification channel.
const Channel = "atiende_live"

// Event says that something about a conversation changed. It carries what the
// visibility rules need, before and after, so a hub can route it without a query.
type Event struct {
	Kind           string `json:"kind"` // message, status, assignment, sla, note, labels, read, presence
	WorkspaceID    int64  `json:"ws"`
	ConversationID int64  `json:"conv,omitempty"`
	Status         string `json:"status,omitempty"`
	TeamID         *int64 `json:"team,omitempty"`
	AssigneeID     *int64 `json:"assignee,omitempty"`
	PrevTeamID     *int64 `json:"prev_team,omitempty"`
	PrevAssigneeID *int64 `json:"prev_assignee,omitempty"`
	ActorID        *int64 `json:"actor,omitempty"`
	// Incoming marks a customer message (for notifications and unread badges).
	Incoming bool `json:"in,omitempty"`
	// UserID is set on presence, viewing and mention events; Name is the user's name
	// on viewing events (who else has the conversation open) and the author's on mentions.
	UserID int64  `json:"user,omitempty"`
	Name   string `json:"name,omitempty"`
	Text   string `json:"text,omitempty"`
	// At is when the change was committed by its process (latency measurement).
	At time.Time `json:"at"`
	// How the change may have moved Cerrados (the closed conversations a board counts
	// in its window): ClosedSame, not at all (it neither closed nor reopened nor changed
	// a closed conversation); ClosedAt, for windows starting at or before that closing
	// time; neither, for any window (see Hub.ClosedChangedSince).
	ClosedSame bool       `json:"closed_same,omitempty"`
	ClosedAt   *time.Time `json:"closed_at,omitempty"`
	// PrevStatus is the conversation's column before the change ("": unknown, which
	// moves every open column's version; see Hub.ColumnVersion).
	PrevStatus string `json:"prev_status,omitempty"`
}

// Publish queues e inside tx; PostgreSQL delivers it only if tx commits.
func Publish(tx *gorm.DB, e Event) error {
	p, err := Payload(e)
	if err != nil {
		return err
	}
	return tx.Exec("SELECT pg_notify(?, ?)", Channel, p).Error
}

// Payload encodes e for pg_notify, for callers that fold the notification into
// another statement.
func Payload(e Event) (string, error) {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	b, err := json.Marshal(e)
	return string(b), err
}

// Hub listens on one connection and fans events out to subscribers.
type Hub struct {
	DatabaseURL string
	Logger      *slog.Logger

	mu   sync.Mutex
	subs map[*Subscription]struct{}
	// generation increases on every reconnect: subscribers learn they may have missed events.
	generation int
	ready      chan struct{}
	readyOnce  sync.Once

	// versions count the changes seen per workspace (see Version); settings count
	// those that may have changed more than conversations (see SettingsVersion).
	versions sync.Map // workspace ID → *atomic.Uint64
	settings sync.Map // workspace ID → *atomic.Uint64
	closed   sync.Map // workspace ID → *closedLog
	columns  sync.Map // workspace ID → *[3]atomic.Uint64 (new, active, pending)
}

// openColumns are the columns with versions of their own (ColumnVersion).
var openColumns = [...]string{"new", "active", "pending"}

// ColumnVersion changes whenever a change may have touched the workspace's open
// column status (new, active or pending): a card entering, leaving or changing in it,
// or anything else Version moves for without saying which conversation and columns
// (settings, this process's own changes, a lost connection). A customer's message on
// a chat in Nuevos leaves En atención's version as it was. Other statuses have none
// (0: use Version).
func (h *Hub) ColumnVersion(workspaceID int64, status string) uint64 {
	i := slices.Index(openColumns[:], status)
	if i < 0 {
		return 0
	}
	return h.columnCounters(workspaceID)[i].Load()
}

func (h *Hub) columnCounters(workspaceID int64) *[3]atomic.Uint64 {
	if v, ok := h.columns.Load(workspaceID); ok {
		return v.(*[3]atomic.Uint64)
	}
	v, _ := h.columns.LoadOrStore(workspaceID, new([3]atomic.Uint64))
	return v.(*[3]atomic.Uint64)
}

// bumpColumns moves the versions of the open columns named (all of them when none is).
func (h *Hub) bumpColumns(workspaceID int64, statuses ...string) {
	c := h.columnCounters(workspaceID)
	if len(statuses) == 0 {
		for i := range c {
			c[i].Add(1)
		}
		return
	}
	for _, st := range statuses {
		if i := slices.Index(openColumns[:], st); i >= 0 {
			c[i].Add(1)
		}
	}
}

// closedLog remembers a workspace's latest changes that may have moved Cerrados.
type closedLog struct {
	mu   sync.Mutex
	seq  uint64
	ring [closedLogSize]closedMark
}

type closedMark struct {
	at time.Time // windows starting at or before it moved; the zero time: every window
}

const closedLogSize = 512

// Subscription receives the events of one workspace.
type Subscription struct {
	WorkspaceID int64
	C           chan Event
	hub         *Hub
	dropped     bool
}

// NewHub returns a hub; call Run to start listening.
func NewHub(url string, logger *slog.Logger) *Hub {
	return &Hub{DatabaseURL: url, Logger: logger, subs: map[*Subscription]struct{}{}, ready: make(chan struct{})}
}

// Version changes whenever something in the workspace may have changed: an event
// arrived for it, this process wrote to it (Bump), or the LISTEN connection was lost
// (events may have been missed). Caches of what a workspace shows read it before
// they load and are valid only while it stays the same (see Cache).
func (h *Hub) Version(workspaceID int64) uint64 {
	return h.counter(workspaceID).Load()
}

// SettingsVersion changes whenever something in the workspace other than its
// conversations (and what hangs from them: messages, contacts, labels on them, leads)
// may have changed: its people, their presence, teams, numbers, labels, settings.
// It moves with every Bump, every event that is not about a conversation, and every
// lost LISTEN connection, but not with BumpConversations nor with conversation
// events: what only those change (who is signed in, the names a board shows) stays
// cached while messages arrive.
func (h *Hub) SettingsVersion(workspaceID int64) uint64 {
	return counter(&h.settings, workspaceID).Load()
}

// Bump records a change this process just committed in the workspace: its own
// readers must not wait for the notification to see it.
func (h *Hub) Bump(workspaceID int64) {
	h.counter(workspaceID).Add(1)
	counter(&h.settings, workspaceID).Add(1)
	h.bumpClosed(workspaceID, time.Time{})
	h.bumpColumns(workspaceID)
}

// BumpConversations is Bump for a change to conversations only (a message, a move,
// an assignment): SettingsVersion stays.
func (h *Hub) BumpConversations(workspaceID int64) {
	h.counter(workspaceID).Add(1)
	h.bumpClosed(workspaceID, time.Time{})
	h.bumpColumns(workspaceID)
}

// BumpMessages is BumpConversations for changes whose notifications (already
// committed, on their way) say how they moved Cerrados and which columns they touched:
// what is kept of those waits for them (a customer's messages through the webhook).
// Boards hear of the change from the same notifications, after the hub has moved
// the versions, so their next reads see it.
func (h *Hub) BumpMessages(workspaceID int64) {
	h.counter(workspaceID).Add(1)
}

// ClosedSeq is where the workspace's log of changes to Cerrados stands: read it before
// counting, and ask ClosedChangedSince later.
func (h *Hub) ClosedSeq(workspaceID int64) uint64 {
	l := h.closedLog(workspaceID)
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.seq
}

// ClosedChangedSince reports whether a change after seq may have moved the closed
// conversations of a window starting at since (or whether the log no longer knows).
func (h *Hub) ClosedChangedSince(workspaceID int64, seq uint64, since time.Time) bool {
	l := h.closedLog(workspaceID)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seq-seq >= closedLogSize {
		return l.seq != seq
	}
	for n := seq + 1; n <= l.seq; n++ {
		m := l.ring[n%closedLogSize]
		if m.at.IsZero() || !since.After(m.at) {
			return true
		}
	}
	return false
}

func (h *Hub) bumpClosed(workspaceID int64, at time.Time) {
	l := h.closedLog(workspaceID)
	l.mu.Lock()
	l.seq++
	l.ring[l.seq%closedLogSize] = closedMark{at: at}
	l.mu.Unlock()
}

func (h *Hub) closedLog(workspaceID int64) *closedLog {
	if v, ok := h.closed.Load(workspaceID); ok {
		return v.(*closedLog)
	}
	v, _ := h.closed.LoadOrStore(workspaceID, &closedLog{})
	return v.(*closedLog)
}

// bumpAll moves every workspace's versions: notifications may have been lost.
func (h *Hub) bumpAll() {
	for _, m := range []*sync.Map{&h.versions, &h.settings} {
		m.Range(func(_, v any) bool {
			v.(*atomic.Uint64).Add(1)
			return true
		})
	}
	h.closed.Range(func(k, _ any) bool {
		h.bumpClosed(k.(int64), time.Time{})
		return true
	})
	h.columns.Range(func(k, _ any) bool {
		h.bumpColumns(k.(int64))
		return true
	})
}

func (h *Hub) counter(workspaceID int64) *atomic.Uint64 { return counter(&h.versions, workspaceID) }

func counter(m *sync.Map, workspaceID int64) *atomic.Uint64 {
	v, ok := m.Load(workspaceID)
	if !ok {
		v, _ = m.LoadOrStore(workspaceID, new(atomic.Uint64))
	}
	return v.(*atomic.Uint64)
}

// aboutConversation reports an event that changes a conversation only (SettingsVersion
// stays): presence and everything without a conversation move both versions.
func aboutConversation(e Event) bool { return e.ConversationID != 0 && e.Kind != "presence" }

// Ready is closed once the hub listens for the first time.
func (h *Hub) Ready() <-chan struct{} { return h.ready }

// Subscribe registers a subscriber for a workspace's events.
func (h *Hub) Subscribe(workspaceID int64) *Subscription {
	s := &Subscription{WorkspaceID: workspaceID, C: make(chan Event, 256), hub: h}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	return s
}

// Close unregisters the subscription.
func (s *Subscription) Close() {
	s.hub.mu.Lock()
	if _, ok := s.hub.subs[s]; ok {
		delete(s.hub.subs, s)
		close(s.C)
	}
	s.hub.mu.Unlock()
}

// Run listens until ctx ends, reconnecting after failures. After a reconnect every
// subscriber gets a "resync" event, since notifications sent meanwhile are lost.
func (h *Hub) Run(ctx context.Context) {
	backoff := 200 * time.Millisecond
	for ctx.Err() == nil {
		err := h.listen(ctx)
		h.bumpAll() // events may be missed until the next LISTEN
		if ctx.Err() != nil {
			return
		}
		h.Logger.Warn("live: listen connection lost; reconnecting", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		if backoff < 5*time.Second {
			backoff *= 2
		}
	}
}

func (h *Hub) listen(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	conn, err := pgx.Connect(cctx, h.DatabaseURL)
	cancel()
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+Channel); err != nil {
		return err
	}
	h.mu.Lock()
	h.generation++
	reconnect := h.generation > 1
	h.mu.Unlock()
	h.bumpAll()
	h.readyOnce.Do(func() { close(h.ready) })
	if reconnect {
		h.broadcast(Event{Kind: "resync", At: time.Now()})
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		var e Event
		if err := json.Unmarshal([]byte(n.Payload), &e); err != nil {
			h.Logger.Warn("live: bad payload", "err", err)
			continue
		}
		h.dispatch(e)
	}
}

// Ephemeral reports whether an event of this kind changes nothing stored (who is
// viewing or typing, a mention's notification): it must not invalidate caches.
func Ephemeral(kind string) bool { return kind == "viewing" || kind == "mention" }

func (h *Hub) dispatch(e Event) {
	switch {
	case Ephemeral(e.Kind):
	case aboutConversation(e):
		h.counter(e.WorkspaceID).Add(1)
		if e.PrevStatus != "" && e.Status != "" {
			h.bumpColumns(e.WorkspaceID, e.PrevStatus, e.Status)
		} else {
			h.bumpColumns(e.WorkspaceID)
		}
		switch {
		case e.ClosedSame:
		case e.ClosedAt != nil:
			h.bumpClosed(e.WorkspaceID, *e.ClosedAt)
		default:
			h.bumpClosed(e.WorkspaceID, time.Time{})
		}
	default:
		h.Bump(e.WorkspaceID)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		if s.WorkspaceID == e.WorkspaceID {
			h.send(s, e)
		}
	}
}

func (h *Hub) broadcast(e Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		h.send(s, e)
	}
}

// send never blocks the hub. A subscriber that cannot keep up loses events; as soon as
// it has room again it is told to resync (refetch what it shows) before anything else.
func (h *Hub) send(s *Subscription, e Event) {
	if s.dropped {
		select {
		case s.C <- Event{Kind: "resync", WorkspaceID: s.WorkspaceID, At: time.Now()}:
			s.dropped = false
		default:
			return
		}
	}
	select {
	case s.C <- e:
	default:
		s.dropped = true
		h.Logger.Warn("live: slow subscriber; events dropped until it catches up", "workspace", s.WorkspaceID)
	}
}
