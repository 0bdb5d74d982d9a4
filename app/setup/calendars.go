package setup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/audit"
	"github.com/atiende/atiende/app/calendar"
	"github.com/atiende/atiende/models"
)

// Weekdays are the calendar's day keys in the form's order (Monday first) with their names.
var Weekdays = []struct{ Key, Label string }{
	{"mon", "Lunes"}, {"tue", "Martes"}, {"wed", "Miércoles"}, {"thu", "Jueves"}, {"fri", "Viernes"}, {"sat", "Sábado"}, {"sun", "Domingo"},
}

// TimeZones offered for calendars: the Americas' zones, then UTC.
var TimeZones = []string{
	"America/Argentina/Buenos_Aires", "America/Asuncion", "America/Bogota", "America/Caracas", "America/Chicago",
	"America/Costa_Rica", "America/El_Salvador", "America/Guatemala", "America/Guayaquil", "America/Havana",
	"America/La_Paz", "America/Lima", "America/Los_Angeles", "America/Managua", "America/Mexico_City",
	"America/Montevideo", "America/Monterrey", "America/New_York", "America/Panama", "America/Puerto_Rico",
	"America/Santiago", "America/Santo_Domingo", "America/Sao_Paulo", "America/Tegucigalpa", "America/Tijuana",
	"America/Cancun", "America/Denver", "America/Toronto", "UTC",
}

func init() { sort.Strings(TimeZones[:len(TimeZones)-1]) }

// CalendarInput is what saving a calendar takes: per day key, its intervals written
// "09:00-13:00, 14:00-18:00"; holidays one date (YYYY-MM-DD) per line or comma.
type CalendarInput struct {
	Name     string
	Timezone string
	Days     map[string]string
	Holidays string
}

// CalendarForm turns a stored calendar back into the form's text.
func CalendarForm(m models.Calendar) CalendarInput {
	in := CalendarInput{Name: m.Name, Timezone: m.Timezone, Days: map[string]string{}}
	var hours map[string][][2]string
	var hol []string
	_ = json.Unmarshal(m.Hours, &hours)
	_ = json.Unmarshal(m.Holidays, &hol)
	for day, spans := range hours {
		parts := make([]string, len(spans))
		for i, sp := range spans {
			parts[i] = sp[0] + "–" + sp[1]
		}
		in.Days[day] = strings.Join(parts, ", ")
	}
	in.Holidays = strings.Join(hol, "\n")
	return in
}

// parseCalendar validates in field by field (Spanish messages keyed by "day_mon"…,
// "timezone", "holidays") and returns the stored form and the parsed calendar.
func parseCalendar(in *CalendarInput) (map[string][][2]string, []string, calendar.Calendar, apperr.Validation) {
	v := apperr.Validation{}
	in.Name = strings.Join(strings.Fields(in.Name), " ")
	switch {
	case in.Name == "":
		v.Add("name", "Escribe un nombre, por ejemplo «Oficina Lima»")
	case utf8.RuneCountInString(in.Name) > 60:
		v.Add("name", "El nombre puede tener hasta 60 caracteres")
	}
	if _, err := time.LoadLocation(in.Timezone); err != nil || in.Timezone == "" {
		v.Add("timezone", "Elige la zona horaria")
	}
	hours := map[string][][2]string{}
	for _, d := range Weekdays {
		text := strings.TrimSpace(in.Days[d.Key])
		if text == "" {
			continue
		}
		var spans [][2]string
		prevEnd := -1
		type sp struct{ s, e int }
		var parsed []sp
		for _, part := range strings.Split(text, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			part = strings.NewReplacer("–", "-", "—", "-", " a ", "-", " ", "").Replace(part)
			ab := strings.Split(part, "-")
			if len(ab) != 2 {
				v.Add("day_"+d.Key, fmt.Sprintf("%s: escribe cada intervalo como 09:00-13:00, separados por comas", d.Label))
				break
			}
			a, okA := hhmm(ab[0])
			b, okB := hhmm(ab[1])
			if !okA || !okB {
				v.Add("day_"+d.Key, fmt.Sprintf("%s: «%s» no es una hora válida (de 00:00 a 24:00)", d.Label, part))
				break
			}
			if b <= a {
				v.Add("day_"+d.Key, fmt.Sprintf("%s: %s termina antes de empezar (un intervalo no cruza la medianoche)", d.Label, part))
				break
			}
			parsed = append(parsed, sp{a, b})
		}
		if _, bad := v["day_"+d.Key]; bad {
			continue
		}
		sort.Slice(parsed, func(i, j int) bool { return parsed[i].s < parsed[j].s })
		for _, p := range parsed {
			if p.s < prevEnd {
				v.Add("day_"+d.Key, fmt.Sprintf("%s: los intervalos se superponen", d.Label))
				break
			}
			prevEnd = p.e
			spans = append(spans, [2]string{clockText(p.s), clockText(p.e)})
		}
		if len(spans) > 0 {
			hours[d.Key] = spans
		}
	}
	var holidays []string
	seen := map[string]bool{}
	for _, h := range strings.FieldsFunc(in.Holidays, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' || r == ';' || r == ' ' }) {
		d, err := time.Parse("2006-01-02", h)
		if err != nil {
			v.Add("holidays", fmt.Sprintf("«%s» no es una fecha: escribe AAAA-MM-DD, por ejemplo 2026-12-25", h))
			break
		}
		if k := d.Format("2006-01-02"); !seen[k] {
			seen[k] = true
			holidays = append(holidays, k)
		}
	}
	sort.Strings(holidays)
	if len(hours) == 0 && len(v) == 0 {
		v.Add("", "Indica al menos un día con horario de atención")
	}
	if len(v) > 0 {
		return nil, nil, calendar.Calendar{}, v
	}
	cal, err := calendar.Parse(in.Timezone, hours, holidays)
	if err != nil {
		v.Add("", "El horario no es válido: "+err.Error())
	}
	return hours, holidays, cal, v
}

func hhmm(s string) (int, bool) {
	s = strings.TrimSpace(s)
	if len(s) == 4 && s[1] == ':' {
		s = "0" + s
	}
	if len(s) == 2 || len(s) == 1 {
		s = fmt.Sprintf("%02s:00", s)
	}
	var h, m int
	if _, err := fmt.Sscanf(s, "%d:%d", &h, &m); err != nil || len(s) != 5 || h < 0 || m < 0 || m > 59 || h > 24 || (h == 24 && m != 0) {
		return 0, false
	}
	return h*60 + m, true
}

func clockText(m int) string { return fmt.Sprintf("%02d:%02d", m/60, m%60) }

// ErrNoCalendar: no such calendar in the workspace.
var ErrNoCalendar = apperr.NotFound{Msg: "No existe ese horario."}

// CalendarRow is a calendar with who uses it.
type CalendarRow struct {
	models.Calendar
	Teams  int
	Agents int
}

// Calendars returns the workspace's calendars by name, with how many teams and agents use each.
func (s *Service) Calendars(ctx context.Context, wsID int64) ([]CalendarRow, error) {
	var rows []CalendarRow
	err := s.DB.WithContext(ctx).Raw(`SELECT k.*, (SELECT count(*) FROM teams t WHERE t.calendar_id = k.id) AS teams,
			(SELECT count(*) FROM users u WHERE u.schedule_calendar_id = k.id AND u.active) AS agents
		FROM calendars k WHERE k.workspace_id = ? ORDER BY lower(k.name)`, wsID).Scan(&rows).Error
	return rows, err
}

// GetCalendar returns one calendar.
func (s *Service) GetCalendar(ctx context.Context, wsID, id int64) (models.Calendar, error) {
	var c models.Calendar
	err := s.DB.WithContext(ctx).Where("workspace_id = ? AND id = ?", wsID, id).Take(&c).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return c, ErrNoCalendar
	}
	return c, err
}

// PreviewCalendar validates in and returns the next n openings after now (for the
// form's live preview).
func PreviewCalendar(in CalendarInput, now time.Time, n int) ([]time.Time, bool, apperr.Validation) {
	in.Name = "preview" // the name does not change the openings
	_, _, cal, v := parseCalendar(&in)
	if len(v) > 0 {
		return nil, false, v
	}
	return NextOpenings(cal, now, n), cal.IsOpen(now), nil
}

// NextOpenings are the next n instants after now at which cal opens (the start of
// each open interval; an interval open at now is skipped).
func NextOpenings(cal calendar.Calendar, now time.Time, n int) []time.Time {
	var out []time.Time
	t := now
	if cal.IsOpen(t) {
		t = spanEnd(cal, t)
	}
	for len(out) < n {
		o := cal.NextOpening(t)
		if o.IsZero() {
			break
		}
		out = append(out, o)
		t = spanEnd(cal, o)
	}
	return out
}

// spanEnd is the end of the open interval containing t (a minute later when none does).
func spanEnd(cal calendar.Calendar, t time.Time) time.Time {
	l := t.In(cal.Loc)
	m := l.Hour()*60 + l.Minute()
	for _, sp := range cal.Week[l.Weekday()] {
		if m >= sp.Start && m < sp.End {
			e := time.Date(l.Year(), l.Month(), l.Day(), sp.End/60, sp.End%60, 0, 0, cal.Loc)
			if e.After(t) {
				return e
			}
		}
	}
	return t.Add(time.Minute)
}

// SaveCalendar creates (id 0) or edits a calendar.
func (s *Service) SaveCalendar(ctx context.Context, wsID, id int64, in CalendarInput) (models.Calendar, error) {
	hours, holidays, _, v := parseCalendar(&in)
	if len(v) > 0 {
		return models.Calendar{}, v
	}
	hj, _ := json.Marshal(hours)
	if holidays == nil {
		holidays = []string{}
	}
	dj, _ := json.Marshal(holidays)
	var out models.Calendar
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		now := s.Clock.Now()
		if id == 0 {
			out = models.Calendar{WorkspaceID: wsID, Name: in.Name, Timezone: in.Timezone, Hours: hj, Holidays: dj, CreatedAt: now, UpdatedAt: now}
			if err := tx.Create(&out).Error; err != nil {
				return err
			}
			return audit.Record(tx, audit.Entry{WorkspaceID: wsID, Action: audit.CalendarCreate, TargetType: "calendar", TargetID: out.ID,
				After: map[string]any{"name": out.Name, "timezone": out.Timezone, "hours": string(hj), "holidays": string(dj)}})
		}
		if err := tx.Clauses(forUpdate).Where("workspace_id = ? AND id = ?", wsID, id).Take(&out).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return ErrNoCalendar
			}
			return err
		}
		before := map[string]any{"name": out.Name, "timezone": out.Timezone, "hours": string(out.Hours), "holidays": string(out.Holidays)}
		out.Name, out.Timezone, out.Hours, out.Holidays, out.UpdatedAt = in.Name, in.Timezone, hj, dj, now
		if err := tx.Select("name", "timezone", "hours", "holidays", "updated_at").Save(&out).Error; err != nil {
			return err
		}
		return audit.Record(tx, audit.Entry{WorkspaceID: wsID, Action: audit.CalendarUpdate, TargetType: "calendar", TargetID: out.ID,
			Before: before, After: map[string]any{"name": out.Name, "timezone": out.Timezone, "hours": string(hj), "holidays": string(dj)}})
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return out, apperr.Validation{"name": "Ya hay un horario con ese nombre"}
	}
	return out, err
}

// DeleteCalendar removes a calendar; teams and agents that used it are left without one.
func (s *Service) DeleteCalendar(ctx context.Context, wsID, id int64) (models.Calendar, error) {
	var out models.Calendar
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Clauses(forUpdate).Where("workspace_id = ? AND id = ?", wsID, id).Take(&out).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return ErrNoCalendar
			}
			return err
		}
		// teams.calendar_id may have no foreign key: clear it by hand.
		if err := tx.Exec(`UPDATE teams SET calendar_id = NULL WHERE calendar_id = ? AND workspace_id = ?`, id, wsID).Error; err != nil {
			return err
		}
		if err := tx.Exec(`UPDATE users SET schedule_calendar_id = NULL WHERE schedule_calendar_id = ? AND workspace_id = ?`, id, wsID).Error; err != nil {
			return err
		}
		if err := tx.Delete(&out).Error; err != nil {
			return err
		}
		return audit.Record(tx, audit.Entry{WorkspaceID: wsID, Action: audit.CalendarDelete, TargetType: "calendar", TargetID: out.ID,
			Before: map[string]any{"name": out.Name, "timezone": out.Timezone}})
	})
	return out, err
}
