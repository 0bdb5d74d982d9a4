package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Filter selects audit rows of one workspace, newest first.
type Filter struct {
	WorkspaceID int64
	UserID      int64     // 0: anyone
	Action      string    // "": every action
	From, To    time.Time // From inclusive, To exclusive; zero: open
	After       string    // a Cursor from the previous page
	Limit       int       // default 50, at most 1000
}

// Row is one audit event as the screen and the CSV show it.
type Row struct {
	ID         int64
	CreatedAt  time.Time
	UserID     *int64
	ActorName  string
	ActorEmail string
	Action     string
	TargetType string
	TargetID   *int64
	TargetName string // the user's or team's name when the target is one
	Data       json.RawMessage
	IP         string
	Source     string
}

// Cursor returns the keyset position after r.
func (r Row) Cursor() string {
	return strconv.FormatInt(r.CreatedAt.UnixMicro(), 10) + "." + strconv.FormatInt(r.ID, 10)
}

func parseCursor(s string) (time.Time, int64, bool) {
	a, b, ok := strings.Cut(s, ".")
	if !ok {
		return time.Time{}, 0, false
	}
	us, err1 := strconv.ParseInt(a, 10, 64)
	id, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil {
		return time.Time{}, 0, false
	}
	return time.UnixMicro(us), id, true
}

// List returns one page of rows and the cursor of the next page ("" on the last).
func List(ctx context.Context, db *gorm.DB, f Filter) ([]Row, string, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	if f.Limit > 1000 {
		f.Limit = 1000
	}
	where := []string{"a.workspace_id = ?"}
	args := []any{f.WorkspaceID}
	if f.UserID != 0 {
		where = append(where, "a.user_id = ?")
		args = append(args, f.UserID)
	}
	if f.Action != "" {
		where = append(where, "a.action = ?")
		args = append(args, f.Action)
	}
	if !f.From.IsZero() {
		where = append(where, "a.created_at >= ?")
		args = append(args, f.From)
	}
	if !f.To.IsZero() {
		where = append(where, "a.created_at < ?")
		args = append(args, f.To)
	}
	if f.After != "" {
		if at, id, ok := parseCursor(f.After); ok {
			where = append(where, "(a.created_at, a.id) < (?, ?)")
			args = append(args, at, id)
		}
	}
	q := fmt.Sprintf(`SELECT a.id, a.created_at, a.user_id, COALESCE(u.name, '') AS actor_name, COALESCE(u.email, '') AS actor_email,
			a.action, a.target_type, a.target_id, COALESCE(t.name, tm.name, '') AS target_name, a.data, a.ip, a.source
		FROM audit_events a
		LEFT JOIN users u ON u.id = a.user_id AND u.workspace_id = a.workspace_id
		LEFT JOIN users t ON a.target_type = 'user' AND t.id = a.target_id AND t.workspace_id = a.workspace_id
		LEFT JOIN teams tm ON a.target_type = 'team' AND tm.id = a.target_id AND tm.workspace_id = a.workspace_id
		WHERE %s
		ORDER BY a.created_at DESC, a.id DESC
		LIMIT %d`, strings.Join(where, " AND "), f.Limit+1)
	var rows []Row
	if err := db.WithContext(ctx).Raw(q, args...).Scan(&rows).Error; err != nil {
		return nil, "", err
	}
	next := ""
	if len(rows) > f.Limit {
		rows = rows[:f.Limit]
		next = rows[len(rows)-1].Cursor()
	}
	return rows, next, nil
}
