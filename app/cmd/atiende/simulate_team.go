package main

import (
	"context"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"gorm.io/gorm"
)

// The team pace (`simulate --pace team`, what `make run` uses): customers behave as
// customers do. A new customer writes every few minutes, but not while several chats
// already wait for a first answer; a customer who got an answer writes back after a
// human pause; one left waiting a long while nudges once. One team can keep up.
const (
	teamNewEvery    = 4 * time.Minute  // on average, one new chat this often
	teamMaxWaiting  = 4                // no new chat while this many wait for an agent
	teamReplyMin    = 15 * time.Second // a customer answers an agent after 15–75 s
	teamReplySpread = 60 * time.Second
	teamNudgeAfter  = 12 * time.Minute // unanswered this long: "¿Siguen ahí?" (once)
	teamTick        = 3 * time.Second
)

// simState is what the simulator knows of one customer's chat from the database.
type simState struct {
	lastDir string    // "in" (customer wrote last), "out" (an agent did), "" (never wrote)
	lastAt  time.Time // when
	lastOut string    // wamid of the agent's last message
}

// teamAction is what a customer does now: write the next step of their script
// (reply or first message) or nudge.
type teamAction struct {
	contact int
	nudge   bool
}

// teamPlan decides who writes now, given each customer's chat. due holds the time a
// customer who got an answer will write back (decided once per answer); nudged the
// customers who already nudged since their last message.
func teamPlan(now time.Time, r *mrand.Rand, states []simState, due map[int]time.Time, answered map[int]time.Time, nudged map[int]bool, tick time.Duration) []teamAction {
	var out []teamAction
	waiting := 0
	for i, st := range states {
		switch st.lastDir {
		case "out":
			delete(nudged, i)
			if answered[i] != st.lastAt { // a new answer from an agent: decide when to write back
				answered[i] = st.lastAt
				due[i] = st.lastAt.Add(teamReplyMin + time.Duration(r.Int64N(int64(teamReplySpread))))
			}
			if t, ok := due[i]; ok && !now.Before(t) {
				delete(due, i)
				out = append(out, teamAction{contact: i})
			}
		case "in":
			waiting++
			if now.Sub(st.lastAt) > teamNudgeAfter && !nudged[i] {
				nudged[i] = true
				out = append(out, teamAction{contact: i, nudge: true})
			}
		}
	}
	// A new customer now and then (a Poisson process), unless the team is behind.
	if waiting < teamMaxWaiting && r.Float64() < float64(tick)/float64(teamNewEvery) {
		var fresh []int
		for i, st := range states {
			if st.lastDir == "" || (st.lastDir == "out" && now.Sub(st.lastAt) > 6*time.Hour) {
				fresh = append(fresh, i)
			}
		}
		if len(fresh) > 0 {
			out = append(out, teamAction{contact: fresh[r.IntN(len(fresh))]})
		}
	}
	return out
}

// loadStates reads, for each simulated customer, the last message of their chat.
func loadStates(ctx context.Context, db *gorm.DB, wsID int64, sim *simulation) ([]simState, error) {
	ids := make([]string, len(sim.contacts))
	for i, c := range sim.contacts {
		ids[i] = c.waID
	}
	var rows []struct {
		WaID, Direction string
		CreatedAt       time.Time
		Wamid           *string
	}
	err := db.WithContext(ctx).Raw(`SELECT DISTINCT ON (c.wa_id) c.wa_id, m.direction, m.created_at, m.wamid FROM messages m
		JOIN conversations cv ON cv.id = m.conversation_id JOIN contacts c ON c.id = cv.contact_id
		WHERE m.workspace_id = ? AND c.wa_id IN ? AND m.kind NOT IN ('note', 'activity', 'system')
		ORDER BY c.wa_id, m.id DESC`, wsID, ids).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	by := map[string]int{}
	for i, c := range sim.contacts {
		by[c.waID] = i
	}
	states := make([]simState, len(sim.contacts))
	for _, r := range rows {
		st := simState{lastDir: r.Direction, lastAt: r.CreatedAt}
		if r.Wamid != nil && r.Direction == "out" {
			st.lastOut = *r.Wamid
		}
		states[by[r.WaID]] = st
	}
	return states, nil
}

func simulateTeam(ctx context.Context, env *Env, db *gorm.DB, wsID int64, sim *simulation, base string, duration time.Duration) error {
	fmt.Fprintf(env.Stdout, "simulate: customers at one team's pace for %v (a new chat every ~%v, answers after %v–%v)\n",
		duration, teamNewEvery, teamReplyMin, teamReplyMin+teamReplySpread)
	client := &http.Client{Timeout: 10 * time.Second}
	res := &simResults{}
	due, answered, nudged := map[int]time.Time{}, map[int]time.Time{}, map[int]bool{}
	runCtx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()
	tick := time.NewTicker(teamTick)
	defer tick.Stop()
	start, messages := time.Now(), 0
	first := true
	for {
		states, err := loadStates(runCtx, db, wsID, sim)
		if err == nil {
			if first {
				// What was answered before this run is old news: no burst of replies.
				for i, st := range states {
					if st.lastDir == "out" {
						answered[i] = st.lastAt
					}
				}
				first = false
			}
			for _, a := range teamPlan(time.Now(), sim.r, states, due, answered, nudged, teamTick) {
				c := sim.contacts[a.contact]
				c.lastOut = states[a.contact].lastOut
				var j simJob
				if a.nudge {
					j = sim.nudge(c)
				} else {
					j = sim.jobFor(c, 1)
				}
				messages += j.messages
				res.add(post(client, j))
			}
		}
		select {
		case <-runCtx.Done():
			res.print(env.Stdout, time.Since(start), messages)
			return nil
		case <-tick.C:
		}
	}
}

// nudge is a customer left waiting asking whether anyone is there.
func (s *simulation) nudge(c *simContact) simJob {
	text := "¿Hola? ¿Siguen ahí? 🙏"
	if c.country.voseo {
		text = "¿Hola? ¿Hay alguien? 🙏"
	}
	id := s.wamid(c)
	c.lastIn = id
	m := map[string]any{"from": c.waID, "id": id, "timestamp": strconv.FormatInt(time.Now().Unix(), 10), "type": "text",
		"text": map[string]string{"body": text}}
	return s.jobWith(c, []map[string]any{m})
}
