package contacts

import (
	"context"
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/inbox"
)

// TimelineItem is one line of a contact's timeline.
type TimelineItem struct {
	At   time.Time
	Kind string // opened, closed, update, merge, create, import
	Text string
	Href string
}

// Timeline is what happened with a contact, newest first: conversations opened and
// closed (those v can see), profile edits, merges (and what the merged contact had
// before), creation and imports.
func (s *Service) Timeline(ctx context.Context, v accounts.Viewer, contactID int64) ([]TimelineItem, error) {
	cond, args := inbox.Visible(v, "c")
	var cycles []struct {
		ConversationID int64
		Channel        string
		OpenedAt       time.Time
		OpenedBy       string
		ClosedAt       *time.Time
		CloseReason    string
	}
	if err := s.DB.WithContext(ctx).Raw(`SELECT y.conversation_id, ch.name AS channel, y.opened_at, y.opened_by, y.closed_at, y.close_reason
		FROM cycles y JOIN conversations c ON c.id = y.conversation_id JOIN channels ch ON ch.id = c.channel_id
		WHERE c.contact_id = ? AND `+cond+` ORDER BY y.opened_at DESC LIMIT 100`, append([]any{contactID}, args...)...).Scan(&cycles).Error; err != nil {
		return nil, err
	}
	var out []TimelineItem
	for _, y := range cycles {
		href := "/conversations/" + strconv.FormatInt(y.ConversationID, 10)
		text := "Escribió por " + y.Channel + ": se abrió una conversación"
		if y.OpenedBy == "reopen" {
			text = "Se reabrió la conversación de " + y.Channel
		}
		out = append(out, TimelineItem{At: y.OpenedAt, Kind: "opened", Text: text, Href: href})
		if y.ClosedAt != nil {
			t := "Se cerró la conversación de " + y.Channel
			switch y.CloseReason {
			case "":
			case "merged":
				t += " (unida al fusionar contactos)"
			default:
				t += " (" + y.CloseReason + ")"
			}
			out = append(out, TimelineItem{At: *y.ClosedAt, Kind: "closed", Text: t, Href: href})
		}
	}
	var events []struct {
		Action    string
		TargetID  int64
		UserName  string
		Data      []byte
		CreatedAt time.Time
	}
	if err := s.DB.WithContext(ctx).Raw(`SELECT a.action, a.target_id, COALESCE(u.name, 'Alguien') AS user_name, a.data, a.created_at
		FROM audit_events a LEFT JOIN users u ON u.id = a.user_id
		WHERE a.workspace_id = ? AND a.target_type = 'contact' AND (a.target_id = ? OR a.target_id IN (
			SELECT (m.data->'merged'->>'id')::bigint FROM audit_events m
			WHERE m.workspace_id = ? AND m.target_type = 'contact' AND m.target_id = ? AND m.action = 'contact.merge'))
		ORDER BY a.created_at DESC LIMIT 100`, v.Workspace.ID, contactID, v.Workspace.ID, contactID).Scan(&events).Error; err != nil {
		return nil, err
	}
	for _, e := range events {
		var d struct {
			Fields []string `json:"fields"`
			Merged struct {
				Name  string `json:"name"`
				Phone string `json:"phone"`
			} `json:"merged"`
			Moved    int    `json:"conversations_moved"`
			Combined int    `json:"conversations_combined"`
			File     string `json:"file"`
		}
		_ = json.Unmarshal(e.Data, &d)
		it := TimelineItem{At: e.CreatedAt}
		prefix := ""
		if e.TargetID != contactID {
			prefix = "En el contacto fusionado: "
		}
		switch e.Action {
		case "contact.update":
			it.Kind, it.Text = "update", e.UserName+" editó "+joinY(d.Fields)
		case "contact.merge":
			it.Kind = "merge"
			it.Text = e.UserName + " fusionó aquí a «" + d.Merged.Name + "» (" + d.Merged.Phone + ")"
			if n := d.Moved + d.Combined; n > 0 {
				it.Text += ": " + plural(n, "conversación pasó", "conversaciones pasaron") + " a este contacto"
			}
		case "contact.create":
			it.Kind, it.Text = "create", e.UserName+" creó el contacto"
		case "contact.import":
			it.Kind, it.Text = "import", "Importado desde "+d.File+" por "+e.UserName
		default:
			continue
		}
		it.Text = prefix + it.Text
		out = append(out, it)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.After(out[j].At) })
	if len(out) > 100 {
		out = out[:100]
	}
	return out, nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// joinY lists words the Spanish way: "nombre, correo y empresa".
func joinY(w []string) string {
	switch len(w) {
	case 0:
		return "el perfil"
	case 1:
		return w[0]
	}
	return strings.Join(w[:len(w)-1], ", ") + " y " + w[len(w)-1]
}
