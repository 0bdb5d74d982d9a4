package routing

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"
	"gorm.io/gorm"

	"github.com/atiende/atiende/app/calendar"
	"github.com/atiende/atiende/app/inbox"
	"github.com/atiende/atiende/app/whatsapp"
	"github.com/atiende/atiende/models"
)

// normalize lowers s and strips accents and punctuation at the ends ("¡Ventas!" → "ventas").
func normalize(s string) string {
	return strings.Join(words(s), " ")
}

// words splits s into lower-case words without accents ("Cotización, por favor" →
// ["cotizacion", "por", "favor"]).
func words(s string) []string {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
			// a combining accent: dropped
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(unicode.ToLower(r))
		default:
			b.WriteRune(' ')
		}
	}
	return strings.Fields(b.String())
}

// menuIDPrefix starts the id of every interactive option of the welcome menu.
const menuIDPrefix = "menu:"

// matchOption reads the customer's answer to the menu: a tapped button or list row, the
// option's key ("1", "1.", "opción 1"), its title, or one word of its title that no
// other option has ("ventas"). Nil when unclear.
func matchOption(opts []models.MenuOption, in inbox.Inbound) *models.MenuOption {
	if in.Kind == models.KindInteractive || in.Kind == "button" {
		var d struct {
			ID      string `json:"id"`
			Payload string `json:"payload"`
		}
		_ = json.Unmarshal(in.Data, &d)
		id := d.ID
		if id == "" {
			id = d.Payload
		}
		if key, ok := strings.CutPrefix(id, menuIDPrefix); ok {
			for i := range opts {
				if opts[i].Key == key {
					return &opts[i]
				}
			}
		}
	}
	ans := words(in.Body)
	if len(ans) > 1 && (ans[0] == "opcion" || ans[0] == "la" || ans[0] == "el") {
		ans = ans[1:]
		if len(ans) > 1 && ans[0] == "opcion" {
			ans = ans[1:]
		}
	}
	a := strings.Join(ans, " ")
	if a == "" {
		return nil
	}
	for i := range opts {
		if normalize(opts[i].Key) == a || normalize(opts[i].Title) == a {
			return &opts[i]
		}
	}
	// One significant word (or more) found in exactly one option's title.
	var found *models.MenuOption
	for i := range opts {
		title := " " + normalize(opts[i].Title) + " "
		hit := false
		for _, w := range ans {
			if len([]rune(w)) >= 3 && !stopword[w] && strings.Contains(title, " "+w+" ") {
				hit = true
				break
			}
		}
		if hit {
			if found != nil {
				return nil // two options share the word: unclear
			}
			found = &opts[i]
		}
	}
	return found
}

var stopword = map[string]bool{"con": true, "para": true, "por": true, "los": true, "las": true, "del": true, "una": true, "uno": true,
	"que": true, "quiero": true, "hola": true, "servicios": false}

// sendMenu sends the welcome menu: buttons (up to 3 options) or a list (up to 10)
// inside the 24-hour window, numbered text otherwise. again: an unclear answer.
func (s *Service) sendMenu(tx *gorm.DB, a inbox.Actor, c *models.Conversation, m *menu, again bool) error {
	text := strings.TrimSpace(m.Text)
	if again {
		text = "No entendí tu respuesta 🙏 Elige una opción:\n\n" + text
	}
	var lines []string
	for _, o := range m.Options {
		lines = append(lines, fmt.Sprintf("%s. %s", o.Key, o.Title))
	}
	plain := text + "\n\n" + strings.Join(lines, "\n") + "\n\nResponde con el número de tu opción."
	waID := ""
	if err := tx.Raw(`SELECT COALESCE(NULLIF(wa_id, ''), user_id) FROM contacts WHERE id = ?`, c.ContactID).Scan(&waID).Error; err != nil {
		return err
	}
	var graph []byte
	kind := "text"
	if inbox.WindowOpen(c.LastInboundAt, s.Clock.Now()) && len(m.Options) <= 10 {
		graph, kind = InteractiveMenu(waID, text, m.Options)
	}
	opts := make([]map[string]string, len(m.Options))
	for i, o := range m.Options {
		opts[i] = map[string]string{"key": o.Key, "title": o.Title}
	}
	data, _ := json.Marshal(map[string]any{"automatic": "menu", "interactive": kind, "options": opts})
	body := plain
	if kind != "text" {
		body = text + "\n\n" + strings.Join(lines, "\n")
	}
	_, err := s.Inbox.SendAutomaticTx(tx, a, c, body, graph, models.JSON(data))
	return err
}

// InteractiveMenu is the Graph request of the welcome menu as reply buttons (up to 3
// options) or a list (up to 10), each option's id "menu:KEY"; kind is "button" or "list".
func InteractiveMenu(to, text string, opts []models.MenuOption) ([]byte, string) {
	type reply struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	type button struct {
		Type  string `json:"type"`
		Reply reply  `json:"reply"`
	}
	type row struct {
		ID          string `json:"id"`
		Title       string `json:"title"`
		Description string `json:"description,omitempty"`
	}
	type section struct {
		Title string `json:"title"`
		Rows  []row  `json:"rows"`
	}
	action := map[string]any{}
	kind := "button"
	if len(opts) <= 3 {
		var bs []button
		for _, o := range opts {
			bs = append(bs, button{Type: "reply", Reply: reply{ID: menuIDPrefix + o.Key, Title: whatsapp.Shorten(o.Title, whatsapp.ButtonTitleMax)}})
		}
		action["buttons"] = bs
	} else {
		kind = "list"
		var rows []row
		for _, o := range opts {
			r := row{ID: menuIDPrefix + o.Key}
			r.Title, r.Description = whatsapp.MenuRow(o.Title)
			rows = append(rows, r)
		}
		action["button"] = "Ver opciones"
		action["sections"] = []section{{Title: "Opciones", Rows: rows}}
	}
	req := map[string]any{"messaging_product": "whatsapp", "recipient_type": "individual", "type": "interactive",
		"interactive": map[string]any{"type": kind, "body": map[string]string{"text": whatsapp.Shorten(text, 1024)}, "action": action}}
	if strings.Contains(to, ".") {
		req["recipient"] = strings.TrimSpace(to) // a business-scoped user id
	} else {
		req["to"] = "+" + strings.TrimPrefix(strings.TrimSpace(to), "+")
	}
	b, _ := json.Marshal(req)
	return b, kind
}

// NextOpeningText names the calendar's next opening after now in Spanish, in the
// calendar's time zone: "hoy a las 14:00", "mañana a las 9:00", "el lunes 9 de marzo a las 9:00".
func NextOpeningText(cal calendar.Calendar, now time.Time) string {
	at := cal.NextOpening(now)
	if at.IsZero() {
		return "lo antes posible"
	}
	l, n := at.In(cal.Loc), now.In(cal.Loc)
	clock := calendar.ClockES(l)
	same := func(a, b time.Time) bool { return a.Year() == b.Year() && a.YearDay() == b.YearDay() }
	switch {
	case same(l, n):
		return "hoy " + clock
	case same(l, n.AddDate(0, 0, 1)):
		return "mañana " + clock
	}
	return "el " + calendar.OpeningES(at, cal.Loc)
}

// AwayText is a team's away message (DefaultAway when it has none) with
// {proxima_apertura} naming the next opening.
func AwayText(custom string, cal calendar.Calendar, now time.Time) string {
	t := strings.TrimSpace(custom)
	if t == "" {
		t = DefaultAway
	}
	return strings.ReplaceAll(t, "{proxima_apertura}", NextOpeningText(cal, now))
}
