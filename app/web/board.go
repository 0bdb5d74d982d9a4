package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/inbox"
	"github.com/atiende/atiende/app/live"
	"github.com/atiende/atiende/views/layout"
	"github.com/atiende/atiende/views/pages/board"
)

// Live stream timings: a comment line keeps proxies from closing an idle stream; the
// viewer (teams, role, still active) is reloaded now and then; a stream ends after a
// while so that clients reconnect (and resync) through whatever process is healthy.
const (
	sseHeartbeat    = 15 * time.Second
	sseViewerReload = time.Minute
	sseMaxLifetime  = 30 * time.Minute
)

// headerBoardCounts carries the column counts (and the viewer's unread badge) as JSON
// on card, column and move answers, so the board's headers follow every change.
const headerBoardCounts = "X-Board-Counts"

// boardGateSend is how long a board answer may take to go out within its turn.
const boardGateSend = 100 * time.Millisecond

// gateBoard lets as many board reads work at once as twice the cores; the others wait
// their turn before reading anything. Sixteen boards reloading together then take
// turns instead of sharing the CPU sixteen ways: each answer comes as soon (they are
// served in the same total time), and a signed webhook arriving meanwhile (which
// Meta wants answered quickly and retries otherwise) competes with a few reads, not
// with all of them. The turn ends once the answer is sent, or boardGateSend after it
// started going out: a slow or stalled client receiving it holds no one else up.
func (s *Server) gateBoard(next echo.HandlerFunc) echo.HandlerFunc {
	// (Sending is compressing too, so normally it stays within the turn.)
	return func(c echo.Context) error {
		select {
		case s.boardGate <- struct{}{}:
		case <-c.Request().Context().Done():
			return clientGone(c, c.Request().Context().Err())
		}
		var once sync.Once
		release := func() { once.Do(func() { <-s.boardGate }) }
		var timer *time.Timer
		c.Response().Before(func() { timer = time.AfterFunc(boardGateSend, release) })
		defer func() {
			if timer != nil {
				timer.Stop()
			}
			release()
		}()
		return next(c)
	}
}

// boardFilter reads the board's filters from the URL; anything malformed is ignored.
// The second result is the same filters for the view.
func (s *Server) boardFilter(c echo.Context) (inbox.BoardFilter, board.Filter) {
	f := inbox.BoardFilter{View: inbox.ViewAll}
	vf := board.Filter{View: inbox.ViewAll, ClosedDays: 7}
	if view := c.QueryParam("view"); view == inbox.ViewMine || view == inbox.ViewUnassigned {
		f.View, vf.View = view, view
	}
	id := func(name string, dst **int64, out *int64) {
		if n, err := strconv.ParseInt(c.QueryParam(name), 10, 64); err == nil && n > 0 {
			*dst, *out = &n, n
		}
	}
	id("team", &f.TeamID, &vf.Team)
	id("label", &f.LabelID, &vf.Label)
	id("channel", &f.ChannelID, &vf.Channel)
	id("agent", &f.AssigneeID, &vf.Agent)
	f.Q = strings.TrimSpace(c.QueryParam("q"))
	vf.Q = f.Q
	f.Risk = c.QueryParam("risk") == "1"
	vf.Risk = f.Risk
	if days, err := strconv.Atoi(c.QueryParam("closed")); err == nil && days > 7 {
		vf.ClosedDays = min(days, 365)
	}
	f.ClosedSince = s.Clock.Now().Add(-time.Duration(vf.ClosedDays) * 24 * time.Hour)
	vf.Active = f.Active()
	noQ := vf
	noQ.Q = ""
	vf.ClearQ = "/board"
	if q := boardQuery(noQ); q != "" {
		vf.ClearQ += "?" + q
	}
	return f, vf
}

// boardQuery is the canonical query string of the filters in vf.
func boardQuery(vf board.Filter) string {
	q := url.Values{}
	if vf.View != "" && vf.View != inbox.ViewAll {
		q.Set("view", vf.View)
	}
	for name, n := range map[string]int64{"team": vf.Team, "label": vf.Label, "channel": vf.Channel, "agent": vf.Agent} {
		if n != 0 {
			q.Set(name, strconv.FormatInt(n, 10))
		}
	}
	if vf.Q != "" {
		q.Set("q", vf.Q)
	}
	if vf.Risk {
		q.Set("risk", "1")
	}
	if vf.ClosedDays > 7 {
		q.Set("closed", strconv.Itoa(vf.ClosedDays))
	}
	return q.Encode()
}

func (s *Server) boardEnv(c echo.Context, v accounts.Viewer, vf board.Filter) board.Env {
	return board.Env{
		Clock:      board.Clock{Now: s.Clock.Now(), Loc: v.Workspace.Location()},
		CSRF:       s.csrfToken(c),
		UserID:     v.User.ID,
		Query:      boardQuery(vf),
		ClosedDays: vf.ClosedDays,
		Risk:       vf.Risk,
	}
}

// board is the kanban: filters, four columns with their counts, the first page of each.
func (s *Server) board(c echo.Context) error {
	ctx := c.Request().Context()
	v := viewer(c)
	f, vf := s.boardFilter(c)
	f, err := s.Inbox.ResolveSearch(ctx, v, f) // once for the counts and the four columns
	if err != nil {
		return err
	}
	counts, unread, err := s.Inbox.CountsAndUnread(ctx, v, f)
	if err != nil {
		return err
	}
	vf.SearchTruncated = f.SearchTruncated()
	p := board.Props{Env: s.boardEnv(c, v, vf), Filter: vf, Presence: v.User.Presence, CanConnect: v.IsAdmin()}
	var filled []string // the columns with cards: their first pages come in one statement
	for _, st := range inbox.BoardStatuses {
		if counts[st] > 0 {
			filled = append(filled, st)
		}
	}
	cards, next, err := s.Inbox.FirstPages(ctx, v, filled, f, inbox.DefaultColumnLimit)
	if err != nil {
		return err
	}
	for _, st := range inbox.BoardStatuses {
		col := board.Column{Status: st, Title: inbox.StatusLabel(st), Count: counts[st], Cards: cards[st], Next: next[st]}
		p.Total += col.Count
		p.Columns = append(p.Columns, col)
	}
	if p.Options, err = s.Inbox.FilterOptions(ctx, v); err != nil {
		return err
	}
	if p.TransferTeams, err = s.Inbox.TransferTeams(ctx, v); err != nil {
		return err
	}
	if p.Total == 0 && !vf.Active {
		anyConv, err := s.Inbox.HasConversations(ctx, v.Workspace.ID)
		if err != nil {
			return err
		}
		p.Empty = !anyConv
	}
	g := s.globals(c, "Tablero", "board")
	if unread > 0 {
		g.Title = fmt.Sprintf("(%d) Tablero", unread)
	}
	g.Search = vf.Q
	page := board.Page(p)
	if c.Request().Header.Get("HX-History-Restore-Request") == "true" {
		// htmx rebuilding history wants the whole document, frame included.
		return renderComponent(c, http.StatusOK, layout.Page(g, page))
	}
	return s.render(c, http.StatusOK, g, page)
}

// boardColumn answers "Cargar más" (a cursor: the next cards and button) and live
// refreshes (no cursor: the whole column with its count).
func (s *Server) boardColumn(c echo.Context) error {
	ctx := c.Request().Context()
	v := viewer(c)
	status := c.Param("status")
	if !inbox.IsBoardStatus(status) {
		return apperr.ErrNotFound
	}
	f, vf := s.boardFilter(c)
	f, err := s.Inbox.ResolveSearch(ctx, v, f)
	if err != nil {
		return err
	}
	cursor := c.QueryParam("cursor")
	cards, next, err := s.Inbox.ListColumn(ctx, v, status, f, cursor, inbox.DefaultColumnLimit)
	if err != nil {
		return clientGone(c, err)
	}
	env := s.boardEnv(c, v, vf)
	col := board.Column{Status: status, Title: inbox.StatusLabel(status), Cards: cards, Next: next}
	if cursor != "" {
		return renderComponent(c, http.StatusOK, board.ColumnCards(env, col))
	}
	counts, err := s.setCountsHeader(c, v, f)
	if err != nil {
		return err
	}
	col.Count = counts[status]
	return renderComponent(c, http.StatusOK, board.ColumnSection(env, col))
}

// setCountsHeader computes the board's counts under f and sends them in a header.
func (s *Server) setCountsHeader(c echo.Context, v accounts.Viewer, f inbox.BoardFilter) (map[string]int, error) {
	ctx := c.Request().Context()
	counts, unread, err := s.Inbox.CountsAndUnread(ctx, v, f)
	if err != nil {
		return nil, err
	}
	out := map[string]int{"unread": unread}
	for k, n := range counts {
		out[k] = n
	}
	b, _ := json.Marshal(out)
	c.Response().Header().Set(headerBoardCounts, string(b))
	return counts, nil
}

// boardCard is one card as the board filtered by the query shows it: 200 with the
// card, 204 when it left this view (other filters, closed long ago), 404 when the
// viewer may not see it at all. With counts=1 the counts come along.
func (s *Server) boardCard(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return apperr.ErrNotFound
	}
	return s.cardAnswer(c, id, c.QueryParam("counts") == "1")
}

func (s *Server) cardAnswer(c echo.Context, id int64, withCounts bool) error {
	v := viewer(c)
	f, vf := s.boardFilter(c)
	if withCounts {
		// Counts go along with every answer, 404 included: a card that left the
		// viewer's sight changes their counts too.
		if _, err := s.setCountsHeader(c, v, f); err != nil {
			return clientGone(c, err)
		}
	}
	card, in, err := s.Inbox.CardInView(c.Request().Context(), v, id, f)
	if err != nil {
		return clientGone(c, err)
	}
	if !in {
		return c.NoContent(http.StatusNoContent)
	}
	return renderComponent(c, http.StatusOK, board.Card(s.boardEnv(c, v, vf), card))
}

// conversationMove is a drop on another column, or the "Mover a…" menu: the status
// machine and the viewer's rights decide; a refusal comes back as a message and the
// board puts the card back.
func (s *Server) conversationMove(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return apperr.ErrNotFound
	}
	status := c.FormValue("status")
	if err := s.Inbox.SetStatus(c.Request().Context(), inbox.By(viewer(c)), id, status, c.FormValue("reason")); err != nil {
		return err
	}
	if c.Request().Header.Get("HX-Request") != "true" {
		// Without JavaScript the menu is a plain form: back to the same board.
		_, vf := s.boardFilter(c)
		to := "/board"
		if q := boardQuery(vf); q != "" {
			to += "?" + q
		}
		s.flash(c, "Conversación movida a "+inbox.StatusLabel(status)+".")
		return c.Redirect(http.StatusSeeOther, to)
	}
	return s.cardAnswer(c, id, true)
}

// setPresence records the presence the agent chose and answers with the picker.
func (s *Server) setPresence(c echo.Context) error {
	v := viewer(c)
	presence := c.FormValue("presence")
	if err := s.Inbox.SetPresence(c.Request().Context(), v, presence); err != nil {
		return err
	}
	if c.Request().Header.Get("HX-Request") != "true" {
		return c.Redirect(http.StatusSeeOther, "/board")
	}
	return renderComponent(c, http.StatusOK, board.PresencePicker(presence, s.csrfToken(c)))
}

// heartbeat says the agent still has Atiende open (the board sends one every 30 s).
func (s *Server) heartbeat(c echo.Context) error {
	presence, err := s.Inbox.Heartbeat(c.Request().Context(), viewer(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"presence": presence})
}

// clientGone drops the error of a request whose browser went away meanwhile (a
// reload while live refreshes were in flight): nobody is left to answer.
func clientGone(c echo.Context, err error) error {
	if err != nil && c.Request().Context().Err() != nil {
		return nil
	}
	return err
}

// liveMessage is what the browser receives about one change.
type liveMessage struct {
	Kind         string `json:"kind"`
	Conversation int64  `json:"conv,omitempty"`
	Status       string `json:"status,omitempty"`
	Assignee     *int64 `json:"assignee,omitempty"`
	PrevAssignee *int64 `json:"prev_assignee,omitempty"`
	Actor        *int64 `json:"actor,omitempty"`
	Incoming     bool   `json:"in,omitempty"`
	User         int64  `json:"user,omitempty"`
	Presence     string `json:"presence,omitempty"`
	Name         string `json:"name,omitempty"`
	State        string `json:"state,omitempty"`
	Text         string `json:"text,omitempty"`
	// Task is a due task (JSON, crm.TaskDue) on task_due events.
	Task string `json:"task,omitempty"`
}

// events streams the changes the signed-in user may see (Server-Sent Events). Each
// conversation event is checked against who could see it before and after the
// change, so a card that leaves someone's view still reaches them and disappears.
// After a reconnect (Last-Event-ID) or a lost LISTEN connection the browser is told
// to "resync": it fetches its columns again.
func (s *Server) events(c echo.Context) error {
	ctx := c.Request().Context()
	v := viewer(c)
	sub := s.Hub.Subscribe(v.Workspace.ID)
	defer sub.Close()

	res := c.Response()
	h := res.Header()
	h.Set(echo.HeaderContentType, "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache, no-transform")
	h.Set("Connection", "keep-alive")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	res.WriteHeader(http.StatusOK)

	send := func(event string, data any) error {
		b, err := json.Marshal(data)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(res, "id: %d\nevent: %s\ndata: %s\n\n", time.Now().UnixNano(), event, b)
		return err
	}
	if _, err := fmt.Fprint(res, "retry: 3000\n\n"); err != nil {
		return nil
	}
	first := "hello"
	if c.Request().Header.Get("Last-Event-ID") != "" {
		first = "resync" // a reconnect: whatever happened meanwhile is unknown
	}
	if err := send(first, map[string]string{"kind": first}); err != nil {
		return nil
	}
	res.Flush()

	ping := time.NewTicker(sseHeartbeat)
	defer ping.Stop()
	reload := time.NewTicker(sseViewerReload)
	defer reload.Stop()
	lifetime := time.NewTimer(sseMaxLifetime + rand.N(5*time.Minute))
	defer lifetime.Stop()
	for {
		var err error
		select {
		case <-ctx.Done():
			return nil
		case <-lifetime.C:
			return nil
		case <-ping.C:
			_, err = fmt.Fprint(res, ": ping\n\n")
		case <-reload.C:
			nv, lerr := s.Accounts.LoadViewer(ctx, v.User.ID)
			if errors.Is(lerr, apperr.ErrNotFound) {
				return nil // deactivated: stop streaming
			}
			if lerr == nil {
				v = nv
			}
			continue
		case e, ok := <-sub.C:
			if !ok {
				return nil
			}
			msg, deliver := liveFor(v, e)
			if !deliver {
				continue
			}
			event := "change"
			if e.Kind == "resync" || e.Kind == "presence" || e.Kind == "viewing" || e.Kind == "mention" || e.Kind == "task_due" {
				event = e.Kind
			}
			err = send(event, msg)
		}
		if err != nil {
			return nil // the client went away
		}
		res.Flush()
	}
}

// liveFor decides whether v hears about e and what they are told.
func liveFor(v accounts.Viewer, e live.Event) (liveMessage, bool) {
	switch e.Kind {
	case "resync":
		return liveMessage{Kind: "resync"}, true
	case "presence":
		if e.WorkspaceID != v.Workspace.ID {
			return liveMessage{}, false
		}
		return liveMessage{Kind: "presence", User: e.UserID, Presence: e.Text}, true
	case "mention":
		// Only the person mentioned hears of it, and only about a chat they may open.
		if e.UserID != v.User.ID || !inbox.CanSee(v, e.WorkspaceID, e.TeamID, e.AssigneeID) {
			return liveMessage{}, false
		}
		return liveMessage{Kind: "mention", Conversation: e.ConversationID, Actor: e.ActorID, Name: e.Name, Text: e.Text}, true
	case "viewing":
		if e.UserID == v.User.ID || !inbox.CanSee(v, e.WorkspaceID, e.TeamID, e.AssigneeID) {
			return liveMessage{}, false
		}
		return liveMessage{Kind: "viewing", Conversation: e.ConversationID, User: e.UserID, Name: e.Name, State: e.Text}, true
	case "task_due": // only the assignee hears about their task
		if e.WorkspaceID != v.Workspace.ID || e.UserID != v.User.ID {
			return liveMessage{}, false
		}
		return liveMessage{Kind: "task_due", Task: e.Text}, true
	}
	if e.ConversationID == 0 {
		return liveMessage{}, false
	}
	if !inbox.CanSee(v, e.WorkspaceID, e.TeamID, e.AssigneeID) && !inbox.CanSee(v, e.WorkspaceID, e.PrevTeamID, e.PrevAssigneeID) {
		return liveMessage{}, false
	}
	msg := liveMessage{Kind: e.Kind, Conversation: e.ConversationID, Status: e.Status, Assignee: e.AssigneeID,
		PrevAssignee: e.PrevAssigneeID, Actor: e.ActorID, Incoming: e.Incoming}
	if e.Kind == "sla" {
		msg.Text = slaToastFor(v, e.Text) // everyone refreshes the card; the assignee and supervisors get the toast
	}
	return msg, true
}

// slaToastFor is the toast of an SLA alert for v ("" when v is not told: the toast
// goes to the assignee and the team's supervisors).
func slaToastFor(v accounts.Viewer, text string) string {
	var t inbox.SLAToast
	if json.Unmarshal([]byte(text), &t) != nil {
		return ""
	}
	for _, u := range t.Users {
		if u == v.User.ID {
			return t.Text
		}
	}
	return ""
}
