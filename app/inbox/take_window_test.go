package inbox_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/inbox"
	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

// TestTakeSaysWhoWonOnlyRightAfterTheRace: Tomar on a conversation a teammate took
// answers 409 naming them only when that take happened within the last 10 seconds
// (a race just lost); later it is the same not-found as any conversation the agent
// cannot see, so Tomar cannot be used to learn who holds a colleague's chats.
func TestTakeSaysWhoWonOnlyRightAfterTheRace(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	bea, err := w.app.Accounts.LoadViewer(ctx, w.app.User(w.ws, "bea@acme.pe", models.RoleAgent, w.ventas).ID)
	testutil.Must(t, err)
	take := func(agent accounts.Viewer, phone string, lateBy time.Duration) error {
		c := w.inbound(t, phone, "Hola")
		testutil.Must(t, w.app.DB.Gorm.Exec("UPDATE conversations SET team_id = ? WHERE id = ?", w.ventas.ID, c.ID).Error)
		testutil.Must(t, w.svc.Take(ctx, inbox.By(w.ana), c.ID))
		w.clk.Advance(lateBy)
		return w.svc.Take(ctx, inbox.By(agent), c.ID)
	}

	err = take(bea, "51971000001", 2*time.Second)
	var conflict apperr.Conflict
	if !errors.As(err, &conflict) || !strings.Contains(conflict.Msg, "Ana ya tomó") {
		t.Fatalf("a take lost 2 s ago: %v, want a 409 naming Ana", err)
	}
	for i, late := range []time.Duration{11 * time.Second, 3 * time.Hour, 72 * time.Hour} {
		err = take(bea, fmt.Sprintf("5197100001%d", i), late)
		if !errors.Is(err, apperr.ErrNotFound) {
			t.Fatalf("Tomar %s after Ana took it: %v, want not found like any invisible conversation", late, err)
		}
	}
}
