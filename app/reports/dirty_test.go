package reports_test

import (
	"context"
	"slices"
	"testing"

	"gorm.io/gorm"

	"github.com/atiende/atiende/app/testutil"
)

// A transaction that touches a cycle many times queues it for the rollup once, and
// touching it again after a savepoint that undid its first mark still queues it: no
// change a report depends on is ever left out of the queue.
func TestDirtyQueueMarksEachTouchedCycle(t *testing.T) {
	app, _ := withHistory(t)
	ctx := context.Background()
	svc := app.Server.Services.Reports
	_, err := svc.Rollup(ctx, svc.Clock.Now())
	testutil.Must(t, err)
	queued := func() []int64 {
		t.Helper()
		var ids []int64
		testutil.Must(t, app.DB.Gorm.Raw(`SELECT cycle_id FROM report_dirty ORDER BY cycle_id`).Scan(&ids).Error)
		return ids
	}
	if q := queued(); len(q) != 0 {
		t.Fatalf("after the rollup the queue holds %v", q)
	}
	var cycles []int64
	testutil.Must(t, app.DB.Gorm.Raw(`SELECT id FROM cycles ORDER BY id LIMIT 3`).Scan(&cycles).Error)
	if len(cycles) < 3 {
		t.Fatalf("the history has %d cycles", len(cycles))
	}
	a, b, c := cycles[0], cycles[1], cycles[2]
	reply := func(tx *gorm.DB, cycle int64) {
		t.Helper()
		testutil.Must(t, tx.Exec(`INSERT INTO messages (workspace_id, conversation_id, cycle_id, channel_id, direction, kind, body,
				sender_type, status, created_at)
			SELECT y.workspace_id, y.conversation_id, y.id, c.channel_id, 'out', 'text', 'otra vez', 'system', 'sent', y.opened_at + interval '1 minute'
			FROM cycles y JOIN conversations c ON c.id = y.conversation_id WHERE y.id = ?`, cycle).Error)
	}
	tx := app.DB.Gorm.Begin()
	ex := tx
	reply(ex, a)
	reply(ex, a)
	reply(ex, b)
	reply(ex, a)
	testutil.Must(t, tx.Exec(`SAVEPOINT s`).Error)
	reply(ex, c)
	testutil.Must(t, tx.Exec(`ROLLBACK TO SAVEPOINT s`).Error)
	reply(ex, c) // the mark undone with the savepoint is made again
	testutil.Must(t, tx.Commit().Error)
	want := []int64{a, b, c}
	slices.Sort(want)
	if q := queued(); !slices.Equal(q, want) {
		t.Fatalf("queued %v, want %v (each touched cycle once)", q, want)
	}
	n, err := svc.Rollup(ctx, svc.Clock.Now())
	testutil.Must(t, err)
	if n != 3 || len(queued()) != 0 {
		t.Fatalf("the rollup recomputed %d cycles and left %v", n, queued())
	}
}
