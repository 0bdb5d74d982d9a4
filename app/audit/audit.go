// Package audit writes and reads the audit log: who did what, when, from where, and
// what changed. Domain services call Record with the transaction that makes the
// change, so an audited change and its audit row commit (or roll back) together.
//
//	err := db.Transaction(func(tx *gorm.DB) error {
//		// … the change …
//		return audit.Record(tx, audit.Entry{WorkspaceID: ws, Action: audit.UserUpdate,
//			TargetType: "user", TargetID: u.ID, Before: old, After: new})
//	})
//
// Who acted, their IP and the source (web, api, cli, job) come from the context of
// tx (see WithActor), so services need no extra parameters; an Entry may set them.
package audit

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"time"

	"gorm.io/gorm"

	"github.com/atiende/atiende/models"
)

// Sources of a change.
const (
	SourceWeb = "web"
	SourceAPI = "api"
	SourceCLI = "cli"
	SourceJob = "job"
)

// Actor is who is acting in a context: the signed-in user (0 when nobody, e.g. a
// failed sign-in or a job), their address, and the source.
type Actor struct {
	UserID int64
	IP     string
	Source string
}

type actorKey struct{}

// WithActor returns ctx carrying a; Record reads it from the transaction's context.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor ctx carries (zero when none).
func ActorFrom(ctx context.Context) Actor {
	a, _ := ctx.Value(actorKey{}).(Actor)
	return a
}

// Entry is one audited change.
type Entry struct {
	WorkspaceID int64
	Action      string // one of the constants in actions.go
	TargetType  string // "user", "api_token", "team", "channel", "workspace", …
	TargetID    int64  // 0: none
	// Before and After are what changed (any JSON-encodable value; maps are
	// reduced to the keys that differ). Either may be nil.
	Before, After any
	// Data holds other facts worth keeping (the email of a failed sign-in, a method).
	Data map[string]any
	// ActorID, IP and Source override the context's Actor when set.
	ActorID int64
	IP      string
	Source  string
	At      time.Time // zero: the database's now()
}

// Record writes e with tx (a transaction, or a plain *gorm.DB when the event is
// itself the change, like a sign-in).
func Record(tx *gorm.DB, e Entry) error {
	if e.WorkspaceID == 0 || e.Action == "" {
		return errors.New("audit: an entry needs a workspace and an action")
	}
	var ctx context.Context = context.Background()
	if tx.Statement != nil && tx.Statement.Context != nil {
		ctx = tx.Statement.Context
	}
	a := ActorFrom(ctx)
	if e.ActorID == 0 {
		e.ActorID = a.UserID
	}
	if e.IP == "" {
		e.IP = a.IP
	}
	if e.Source == "" {
		e.Source = a.Source
	}
	before, after := e.Before, e.After
	if bm, ok := before.(map[string]any); ok {
		if am, ok := after.(map[string]any); ok {
			before, after = Changes(bm, am)
		}
	}
	data := map[string]any{}
	for k, v := range e.Data {
		data[k] = v
	}
	if before != nil {
		data["before"] = before
	}
	if after != nil {
		data["after"] = after
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return err
	}
	ev := models.AuditEvent{WorkspaceID: e.WorkspaceID, Action: e.Action, TargetType: e.TargetType,
		Data: models.JSON(raw), IP: e.IP, Source: e.Source, CreatedAt: e.At}
	if e.ActorID != 0 {
		id := e.ActorID
		ev.UserID = &id
	}
	if e.TargetID != 0 {
		id := e.TargetID
		ev.TargetID = &id
	}
	q := tx.Session(&gorm.Session{NewDB: true})
	if e.At.IsZero() {
		return q.Omit("id", "created_at").Create(&ev).Error
	}
	return q.Omit("id").Create(&ev).Error
}

// Changes keeps only the keys whose values differ between before and after.
func Changes(before, after map[string]any) (map[string]any, map[string]any) {
	b, a := map[string]any{}, map[string]any{}
	for k, v := range before {
		if w, ok := after[k]; !ok || !same(v, w) {
			b[k] = v
		}
	}
	for k, w := range after {
		if v, ok := before[k]; !ok || !same(v, w) {
			a[k] = w
		}
	}
	return b, a
}

func same(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	if err1 != nil || err2 != nil {
		return reflect.DeepEqual(a, b)
	}
	return string(ja) == string(jb)
}
