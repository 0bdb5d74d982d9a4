package board

import (
	"bytes"
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/atiende/atiende/app/inbox"
)

// A kept card is written exactly as Card writes it, whatever changed in between: the
// clock crossing a minute of any of its times, its data, the viewer's token and
// filters, the order and the time zone.
func TestCachedCardWritesWhatCardWrites(t *testing.T) {
	lima, err := time.LoadLocation("America/Lima")
	if err != nil {
		t.Fatal(err)
	}
	madrid, err := time.LoadLocation("Europe/Madrid")
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 12, 31, 23, 50, 17, 123456789, time.UTC)
	at := func(d time.Duration) *time.Time { t := base.Add(d); return &t }
	team, agent := int64(4), int64(9)
	cards := []inbox.Card{
		{ID: 101, Status: "new", ContactName: "Carmen Quispe", Phone: "+51 900 000 003", ChannelName: "Principal",
			ChannelPhone: "+51 1 555 0001", Preview: "Hola, ¿me confirman el pedido?", LastMessageAt: base.Add(-90 * time.Second),
			LastInboundAt: at(-90 * time.Second), WaitingSince: at(-14*time.Minute - 31*time.Second), UnreadCount: 2,
			SLAState: "warning", SLADueAt: at(3*time.Minute + 7*time.Second), SLATarget: "first_response",
			FirstResponseDueAt: at(3*time.Minute + 7*time.Second), TeamID: &team, TeamName: "Ventas", TeamColor: "#0f766e",
			Labels: []inbox.CardLabel{{ID: 1, Name: "VIP", Color: "#be185d"}}},
		{ID: 102, Status: "active", ContactName: "Luis <b>\"O'Neil\"</b> & co", Company: "Acme S.A.C.", Preview: "Tú: listo",
			PreviewOut: true, LastMessageAt: base.Add(-23*time.Hour - 59*time.Minute - 40*time.Second),
			LastInboundAt: at(-23*time.Hour - 59*time.Minute - 40*time.Second), AssigneeID: &agent, AssigneeName: "Valeria Ríos",
			AssigneePresence: "online", Lead: &inbox.CardLead{ID: 5, Title: "Renovación", Stage: "Propuesta", StageKind: "open"}},
		{ID: 103, Status: "closed", ContactName: "+51 987 654 321", LastMessageAt: base.Add(-400 * 24 * time.Hour),
			ClosedAt: at(-399 * 24 * time.Hour), CloseReason: "Resuelto"},
	}
	type view struct {
		csrf, query string
		risk        bool
		loc         *time.Location
	}
	views := []view{{"tok-A", "", false, lima}, {"tok-B/+=", "view=mine&q=caf%C3%A9", false, lima},
		{"tok-C", "team=4", true, lima}, {"tok-A", "", false, madrid}}
	cardCache.Lock()
	cardCache.m = map[int64]*cardMarkup{}
	cardCache.Unlock()
	r := rand.New(rand.NewPCG(1, 2))
	now := base
	for step := range 400 {
		// Mostly small steps (a board reloading), now and then a jump, never backwards
		// except once in a while (a test clock set back).
		switch d := r.IntN(20); {
		case d == 0:
			now = now.Add(-time.Duration(r.IntN(120)) * time.Second)
		case d == 1:
			now = now.Add(time.Duration(r.IntN(48)) * time.Hour)
		default:
			now = now.Add(time.Duration(r.IntN(7000)) * time.Millisecond)
		}
		i := r.IntN(len(cards))
		if step%37 == 0 { // the card changes
			cards[i].UnreadCount++
			cards[i].Preview = strings.Repeat("ñ", step%5) + cards[i].Preview
		}
		v := views[r.IntN(len(views))]
		e := Env{Clock: Clock{Now: now, Loc: v.loc}, CSRF: v.csrf, Query: v.query, Risk: v.risk}
		var want, got bytes.Buffer
		if err := Card(e, cards[i]).Render(context.Background(), &want); err != nil {
			t.Fatal(err)
		}
		if err := CachedCard(e, cards[i]).Render(context.Background(), &got); err != nil {
			t.Fatal(err)
		}
		if want.String() != got.String() {
			t.Fatalf("step %d (card %d at %s, %+v):\nwant %s\n got %s", step, cards[i].ID, now, v, want.String(), got.String())
		}
	}
	cardCache.Lock()
	kept := len(cardCache.m)
	cardCache.Unlock()
	if kept != len(cards) {
		t.Fatalf("%d cards kept, want %d", kept, len(cards))
	}
}

// A card whose text holds a NUL (nothing stored can, but a card built elsewhere
// might) is written as Card writes it and not kept in a form another viewer could get.
func TestCachedCardWithANulIsNotKept(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	c := inbox.Card{ID: 7001, Status: "new", ContactName: "x\x00csrf\x00y", LastMessageAt: now.Add(-time.Minute)}
	for _, tok := range []string{"first", "second"} {
		e := Env{Clock: Clock{Now: now, Loc: time.UTC}, CSRF: tok}
		var want, got bytes.Buffer
		_ = Card(e, c).Render(context.Background(), &want)
		if err := CachedCard(e, c).Render(context.Background(), &got); err != nil {
			t.Fatal(err)
		}
		if want.String() != got.String() {
			t.Fatalf("want %q\n got %q", want.String(), got.String())
		}
	}
	cardCache.Lock()
	_, kept := cardCache.m[c.ID]
	cardCache.Unlock()
	if kept {
		t.Fatal("a card with a NUL was kept (with its viewer's token in it)")
	}
}
