package main

import (
	mrand "math/rand/v2"
	"testing"
	"time"
)

// TestTeamPaceKeepsNuevosManageable: with nobody answering for 20 minutes, the team
// pace opens a few chats (not dozens) and nudges each once; when an agent answers,
// the customer writes back once, after a human pause.
func TestTeamPaceKeepsNuevosManageable(t *testing.T) {
	r := mrand.New(mrand.NewPCG(7, 7))
	states := make([]simState, 40)
	due, answered, nudged := map[int]time.Time{}, map[int]time.Time{}, map[int]bool{}
	start := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	now := start
	customerMsgs, nudges := 0, 0
	for now.Before(start.Add(20 * time.Minute)) {
		for _, a := range teamPlan(now, r, states, due, answered, nudged, teamTick) {
			customerMsgs++
			if a.nudge {
				nudges++
			}
			states[a.contact] = simState{lastDir: "in", lastAt: now}
		}
		now = now.Add(teamTick)
	}
	waiting := 0
	for _, st := range states {
		if st.lastDir == "in" {
			waiting++
		}
	}
	if waiting > teamMaxWaiting || waiting == 0 {
		t.Errorf("%d chats waiting after 20 minutes unanswered; want 1..%d", waiting, teamMaxWaiting)
	}
	if nudges > waiting {
		t.Errorf("%d nudges for %d waiting chats", nudges, waiting)
	}

	// An agent answers chat 0: its customer writes back once, 15–75 s later.
	var who int
	for i, st := range states {
		if st.lastDir == "in" {
			who = i
			break
		}
	}
	answeredAt := now
	states[who] = simState{lastDir: "out", lastAt: answeredAt}
	var replies []time.Time
	for end := now.Add(5 * time.Minute); now.Before(end); now = now.Add(teamTick) {
		for _, a := range teamPlan(now, r, states, due, answered, nudged, teamTick) {
			if a.contact == who {
				replies = append(replies, now)
				states[who] = simState{lastDir: "in", lastAt: now}
			}
		}
	}
	if len(replies) != 1 {
		t.Fatalf("the customer wrote back %d times", len(replies))
	}
	if d := replies[0].Sub(answeredAt); d < teamReplyMin || d > teamReplyMin+teamReplySpread+teamTick {
		t.Errorf("the customer wrote back after %v", d)
	}
}
