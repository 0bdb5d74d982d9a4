package live

import (
	"testing"
	"time"
)

// The closed log says a window moved when a change after the reader's mark touched a
// closing at or after the window's start, or touched it in a way nobody described, or
// when so many changes came that the log forgot some.
func TestClosedChangedSince(t *testing.T) {
	h := NewHub("", nil)
	const ws = 7
	start := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	seq := h.ClosedSeq(ws)
	if h.ClosedChangedSince(ws, seq, start) {
		t.Fatal("nothing changed yet")
	}
	h.dispatch(Event{Kind: "message", WorkspaceID: ws, ConversationID: 1, ClosedSame: true})
	if h.ClosedChangedSince(ws, seq, start) {
		t.Error("a message on an open chat moved Cerrados")
	}
	before := start.Add(-time.Hour)
	h.dispatch(Event{Kind: "message", WorkspaceID: ws, ConversationID: 2, ClosedAt: &before})
	if h.ClosedChangedSince(ws, seq, start) {
		t.Error("reopening a chat closed before the window moved it")
	}
	if !h.ClosedChangedSince(ws, seq, before) {
		t.Error("reopening a chat closed at the window's start did not move it")
	}
	h.dispatch(Event{Kind: "message", WorkspaceID: ws + 1, ConversationID: 3}) // another workspace
	if h.ClosedChangedSince(ws, seq, start) {
		t.Error("another workspace's change moved this one's Cerrados")
	}
	h.dispatch(Event{Kind: "viewing", WorkspaceID: ws, ConversationID: 4})
	if h.ClosedChangedSince(ws, seq, start) {
		t.Error("someone viewing a chat moved Cerrados")
	}
	mark := h.ClosedSeq(ws)
	h.dispatch(Event{Kind: "status", WorkspaceID: ws, ConversationID: 5}) // says nothing of Cerrados
	if !h.ClosedChangedSince(ws, mark, start) {
		t.Error("an undescribed change did not move Cerrados")
	}
	mark = h.ClosedSeq(ws)
	h.BumpMessages(ws)
	if h.ClosedChangedSince(ws, mark, start) {
		t.Error("messages whose notifications are on their way moved Cerrados before them")
	}
	h.BumpConversations(ws)
	if !h.ClosedChangedSince(ws, mark, start) {
		t.Error("a change of this process's own did not move Cerrados")
	}
	mark = h.ClosedSeq(ws)
	for range closedLogSize + 1 {
		h.dispatch(Event{Kind: "message", WorkspaceID: ws, ConversationID: 1, ClosedAt: &before})
	}
	if !h.ClosedChangedSince(ws, mark, start) {
		t.Error("the log forgot changes and still said nothing moved")
	}
	mark = h.ClosedSeq(ws)
	h.bumpAll() // the LISTEN connection was lost
	if !h.ClosedChangedSince(ws, mark, start) {
		t.Error("a lost connection did not move Cerrados")
	}
}

// Open columns' versions move only with the changes that name them, and all of them
// with anything that does not say.
func TestColumnVersions(t *testing.T) {
	h := NewHub("", nil)
	const ws = 3
	at := func() [3]uint64 {
		return [3]uint64{h.ColumnVersion(ws, "new"), h.ColumnVersion(ws, "active"), h.ColumnVersion(ws, "pending")}
	}
	moved := func(before, after [3]uint64) (out [3]bool) {
		for i := range before {
			out[i] = before[i] != after[i]
		}
		return out
	}
	steps := []struct {
		name string
		do   func()
		want [3]bool
	}{
		{"a message in Nuevos", func() {
			h.dispatch(Event{Kind: "message", WorkspaceID: ws, ConversationID: 1, Status: "new", PrevStatus: "new"})
		}, [3]bool{true, false, false}},
		{"a move from Pendientes to En atención", func() {
			h.dispatch(Event{Kind: "status", WorkspaceID: ws, ConversationID: 1, Status: "active", PrevStatus: "pending"})
		}, [3]bool{false, true, true}},
		{"a reopening", func() {
			h.dispatch(Event{Kind: "message", WorkspaceID: ws, ConversationID: 1, Status: "new", PrevStatus: "closed"})
		}, [3]bool{true, false, false}},
		{"a change that does not say its column", func() {
			h.dispatch(Event{Kind: "lead", WorkspaceID: ws, ConversationID: 1, Status: "active"})
		}, [3]bool{true, true, true}},
		{"messages whose notifications are on their way", func() { h.BumpMessages(ws) }, [3]bool{}},
		{"this process's own change", func() { h.BumpConversations(ws) }, [3]bool{true, true, true}},
		{"a settings change", func() { h.dispatch(Event{Kind: "team", WorkspaceID: ws}) }, [3]bool{true, true, true}},
		{"someone viewing", func() { h.dispatch(Event{Kind: "viewing", WorkspaceID: ws, ConversationID: 1}) }, [3]bool{}},
		{"a lost connection", func() { h.bumpAll() }, [3]bool{true, true, true}},
	}
	for _, s := range steps {
		before := at()
		s.do()
		if got := moved(before, at()); got != s.want {
			t.Errorf("%s moved (Nuevos, En atención, Pendientes) %v, want %v", s.name, got, s.want)
		}
	}
	if h.ColumnVersion(ws, "closed") != 0 {
		t.Error("Cerrados has a column version")
	}
}
