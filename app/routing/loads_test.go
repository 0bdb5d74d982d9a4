package routing_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

// The load routing reads for each agent (agent_loads) is their open chats, whatever
// changes them: routing, a transfer, Pendientes and back, a close, a bulk swap, many
// transfers between two agents at once in both directions, a deleted conversation,
// TRUNCATE.
func TestAgentLoadsFollowEveryChange(t *testing.T) {
	e := newEnv(t, tuesday)
	ventas := e.team("Ventas", models.RoutingRoundRobin)
	e.rule("Todo a Ventas", models.RuleDefault, `{"default":true}`, &ventas, nil, "")
	ana := e.agent("Ana", 50, ventas)
	luis := e.agent("Luis", 50, ventas)
	check := func(step string) {
		t.Helper()
		var rows []struct {
			Name       string
			Open, Kept int64
		}
		testutil.Must(t, e.app.DB.Gorm.Raw(`SELECT u.name,
				(SELECT count(*) FROM conversations c WHERE c.assignee_id = u.id AND c.status IN ('new', 'active')) AS open,
				COALESCE((SELECT n FROM agent_loads l WHERE l.user_id = u.id), 0) AS kept
			FROM users u WHERE u.workspace_id = ? AND u.role = 'agent' ORDER BY u.name`, e.ws.ID).Scan(&rows).Error)
		for _, r := range rows {
			if r.Open != r.Kept {
				t.Fatalf("%s: %s has %d open chats, agent_loads says %d", step, r.Name, r.Open, r.Kept)
			}
		}
	}
	var ids []int64
	for i := 0; i < 8; i++ {
		ids = append(ids, e.say(fmt.Sprintf("51988800%03d", i), "Hola").ID)
	}
	if e.scalar(`SELECT count(*) FROM conversations WHERE assignee_id IS NOT NULL`) != 8 {
		t.Fatal("the chats were not all routed")
	}
	check("routed")
	e.exec(`UPDATE conversations SET assignee_id = ? WHERE id = ?`, luis.ID, ids[0])
	e.exec(`UPDATE conversations SET status = 'pending' WHERE id = ?`, ids[1])
	check("a transfer and one waiting on the customer")
	e.exec(`UPDATE conversations SET status = 'active' WHERE id = ?`, ids[1])
	e.close(ids[2])
	e.exec(`UPDATE conversations SET assignee_id = NULL WHERE id = ?`, ids[3])
	check("back from Pendientes, a close, one unassigned")
	e.exec(`UPDATE conversations SET assignee_id = CASE WHEN assignee_id = ?::bigint THEN ?::bigint ELSE ?::bigint END
		WHERE id = ANY(?::bigint[]) AND assignee_id IS NOT NULL`, ana.ID, luis.ID, ana.ID, pgArray(ids))
	check("a bulk swap")
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			from, to := ana.ID, luis.ID
			if i%2 == 1 {
				from, to = to, from
			}
			_ = e.app.DB.Gorm.Exec(`UPDATE conversations SET assignee_id = ? WHERE id IN
				(SELECT id FROM conversations WHERE assignee_id = ? AND id = ANY(?::bigint[]) ORDER BY id LIMIT 1)`, to, from, pgArray(ids)).Error
		}()
	}
	wg.Wait()
	check("transfers both ways at once")
	e.exec(`DELETE FROM conversations WHERE id = ?`, ids[4])
	check("a deleted conversation")
	e.exec(`TRUNCATE conversations CASCADE`)
	check("TRUNCATE")
	if n := e.scalar(`SELECT count(*) FROM agent_loads WHERE n <> 0`); n != 0 {
		t.Fatalf("%d agents keep a load after TRUNCATE", n)
	}
}

func pgArray(ids []int64) string {
	s := "{"
	for i, id := range ids {
		if i > 0 {
			s += ","
		}
		s += fmt.Sprint(id)
	}
	return s + "}"
}
