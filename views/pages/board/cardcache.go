package board

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/a-h/templ"

	"github.com/atiende/atiende/app/inbox"
)

// A board shows the same cards over and over: every open board reloads its columns
// after each change in the workspace, and a change touches one card while the page
// shows eighty. CachedCard keeps each card's markup and writes it again while
// nothing it shows has changed, the same bytes Card would write:
//
//   - the card's data is the same (inbox.Card.Equal);
//   - the clock has not crossed a step of any of its relative times: every time a
//     card shows ("hace 4 min", "espera 12 min", "Vence en 55 min", the window's
//     hours) counts whole minutes from one of its timestamps, so its text can only
//     change when the clock reaches one of those timestamps plus a whole number of
//     minutes; the markup is kept until the nearest such instant, and never past the
//     next minute (the date of an old message depends on the current year);
//   - the board's order (En riesgo or not) and time zone are the same;
//   - the viewer's CSRF token and filters are not part of what is kept: the markup is
//     made with markers in their place, filled in on every write. The markers hold
//     NUL, which nothing stored in PostgreSQL can (so no customer's text can fake one).
//
// Markup is the same for every viewer given the same card: what a viewer may see is
// decided by which cards the board's queries return, before any markup is written.
var cardCache = struct {
	sync.Mutex
	m map[int64]*cardMarkup
}{m: map[int64]*cardMarkup{}}

// cardCacheMax bounds the cards kept (a few KB each): past it, a tenth of them go.
const cardCacheMax = 8192

const (
	csrfMarker  = "\x00csrf\x00"
	queryMarker = "\x00q\x00"
)

// cardMarkup is a card's markup cut at the markers: parts[0] hole[0] parts[1] …
type cardMarkup struct {
	card      inbox.Card
	risk      bool
	zone      string
	from, end time.Time
	parts     [][]byte
	holes     []byte // 'c': the CSRF token; 'q': "?" and the filters, or nothing
}

// CachedCard writes what Card(e, c) writes, from the markup kept for c when it still fits.
func CachedCard(e Env, c inbox.Card) templ.Component {
	// Wall-clock readings only: a clock set back makes the kept markup too new to use.
	e.Now = e.Now.Round(0)
	return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		cardCache.Lock()
		m := cardCache.m[c.ID]
		cardCache.Unlock()
		if m == nil || !m.fits(e, c) {
			var err error
			if m, err = renderCard(ctx, e, c); err != nil {
				return err
			}
			if m.end.IsZero() { // not to be kept (see renderCard)
				return m.write(w, e)
			}
			cardCache.Lock()
			if len(cardCache.m) >= cardCacheMax {
				n := 0
				for id := range cardCache.m { // map order is random enough
					delete(cardCache.m, id)
					if n++; n >= cardCacheMax/10 {
						break
					}
				}
			}
			cardCache.m[c.ID] = m
			cardCache.Unlock()
		}
		return m.write(w, e)
	})
}

func (m *cardMarkup) fits(e Env, c inbox.Card) bool {
	now := e.Now
	return !now.Before(m.from) && now.Before(m.end) && m.risk == e.Risk && m.zone == zoneName(e.Loc) && m.card.Equal(c)
}

func zoneName(l *time.Location) string {
	if l == nil {
		return ""
	}
	return l.String()
}

func renderCard(ctx context.Context, e Env, c inbox.Card) (*cardMarkup, error) {
	if hasNUL(reflect.ValueOf(c)) {
		// Could pass for a marker: written as Card writes it, and never kept.
		var plain bytes.Buffer
		if err := Card(e, c).Render(ctx, &plain); err != nil {
			return nil, err
		}
		return &cardMarkup{parts: [][]byte{plain.Bytes()}}, nil
	}
	marked := e
	marked.CSRF, marked.Query = csrfMarker, queryMarker
	var buf bytes.Buffer
	if err := Card(marked, c).Render(ctx, &buf); err != nil {
		return nil, err
	}
	m := &cardMarkup{card: c, risk: e.Risk, zone: zoneName(e.Loc), from: e.Now, end: stepAfter(e.Now, c)}
	rest := buf.Bytes()
	for {
		i := bytes.IndexByte(rest, 0)
		if i < 0 {
			break
		}
		var kind byte
		var cut, skip int
		switch {
		case bytes.HasPrefix(rest[i:], []byte(csrfMarker)):
			kind, cut, skip = 'c', i, len(csrfMarker)
		case i > 0 && rest[i-1] == '?' && bytes.HasPrefix(rest[i:], []byte(queryMarker)):
			kind, cut, skip = 'q', i-1, 1+len(queryMarker)
		default:
			return nil, fmt.Errorf("card %d: a NUL that is not a marker", c.ID)
		}
		m.parts = append(m.parts, rest[:cut])
		m.holes = append(m.holes, kind)
		rest = rest[cut+skip:]
	}
	m.parts = append(m.parts, rest)
	return m, nil
}

func (m *cardMarkup) write(w io.Writer, e Env) error {
	for i, p := range m.parts {
		if _, err := w.Write(p); err != nil {
			return err
		}
		if i == len(m.holes) {
			break
		}
		var fill string
		switch m.holes[i] {
		case 'c':
			fill = templ.EscapeString(e.CSRF)
		case 'q':
			if e.Query != "" {
				fill = "?" + templ.EscapeString(e.Query)
			}
		}
		if _, err := io.WriteString(w, fill); err != nil {
			return err
		}
	}
	return nil
}

// stepAfter is the first instant after now at which the card's markup may change
// with the clock alone: the nearest of its timestamps plus a whole number of minutes,
// or the next minute.
func stepAfter(now time.Time, c inbox.Card) time.Time {
	end := now.Truncate(time.Minute).Add(time.Minute)
	step := func(t time.Time) {
		d := t.Sub(now) % time.Minute // in (-1 min, 1 min)
		if d <= 0 {
			d += time.Minute
		}
		if at := now.Add(d); at.Before(end) {
			end = at
		}
	}
	step(c.LastMessageAt)
	for _, t := range []*time.Time{c.LastInboundAt, c.WaitingSince, c.SLADueAt, c.FirstResponseDueAt,
		c.NextResponseDueAt, c.ResolutionDueAt, c.ClosedAt} {
		if t != nil {
			step(*t)
		}
	}
	return end
}

var timeType = reflect.TypeOf(time.Time{})

// hasNUL reports whether any text in v holds a NUL byte.
func hasNUL(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.String:
		return strings.IndexByte(v.String(), 0) >= 0
	case reflect.Pointer:
		return !v.IsNil() && hasNUL(v.Elem())
	case reflect.Slice:
		for i := range v.Len() {
			if hasNUL(v.Index(i)) {
				return true
			}
		}
	case reflect.Struct:
		if v.Type() == timeType {
			return false
		}
		for i := range v.NumField() {
			if hasNUL(v.Field(i)) {
				return true
			}
		}
	}
	return false
}
