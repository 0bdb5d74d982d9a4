package crm_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/clock"
	"github.com/atiende/atiende/app/crm"
	"github.com/atiende/atiende/app/inbox"
	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

type world struct {
	app                   *testutil.App
	ws                    models.Workspace
	ventas, soporte       models.Team
	ch                    models.Channel
	ana, luis, sup, admin accounts.Viewer
	clk                   *clock.Manual
	svc                   *crm.Service
	ib                    *inbox.Service
	pipe                  models.Pipeline
}

func newWorld(t *testing.T) *world {
	t.Helper()
	app := testutil.NewApp(t)
	w := &world{app: app, ws: app.Workspace("Acme")}
	w.ventas, w.soporte = app.Team(w.ws, "Ventas"), app.Team(w.ws, "Soporte")
	w.ch = app.Channel(w.ws, "Principal")
	load := func(u models.User) accounts.Viewer {
		v, err := app.Accounts.LoadViewer(context.Background(), u.ID)
		testutil.Must(t, err)
		return v
	}
	w.ana = load(app.User(w.ws, "ana@acme.pe", models.RoleAgent, w.ventas))
	w.luis = load(app.User(w.ws, "luis@acme.pe", models.RoleAgent, w.soporte))
	w.sup = load(app.User(w.ws, "sup@acme.pe", models.RoleSupervisor, w.ventas))
	w.admin = load(app.User(w.ws, "admin@acme.pe", models.RoleAdmin))
	w.clk = clock.NewManual(time.Now())
	w.ib = inbox.New(app.DB.Gorm, w.clk)
	w.svc = crm.New(app.DB.Gorm, w.clk, w.ib)
	p, err := w.svc.SavePipeline(context.Background(), w.ws.ID, 0, crm.PipelineInput{Name: "Ventas B2B", Currency: "USD", Stages: []crm.StageInput{
		{Name: "Calificado", Probability: ip(20), RotDays: ip(7)}, {Name: "Propuesta", Probability: ip(50)},
		{Name: "Negociación", Probability: ip(75)}, {Name: "Ganado", Kind: "won"}, {Name: "Perdido", Kind: "lost"}}})
	testutil.Must(t, err)
	w.pipe = p
	return w
}

func ip(n int) *int { return &n }

// conversationFor gives the customer a conversation in team, assigned to assignee (nil: unassigned).
func (w *world) conversationFor(t *testing.T, wa string, team *models.Team, assignee *accounts.Viewer) models.Conversation {
	t.Helper()
	c := w.app.Inbound(w.ch, wa, "Cliente "+wa[len(wa)-3:], "Hola, quiero una cotización")
	sys := inbox.As(inbox.ActorSystem, w.ws)
	in := inbox.TransferInput{}
	if team != nil {
		in.TeamID = &team.ID
	}
	if assignee != nil {
		in.AgentID = &assignee.User.ID
	}
	if team != nil || assignee != nil {
		testutil.Must(t, w.ib.Transfer(context.Background(), sys, c.ID, in))
	}
	return w.app.Conversation(c.ID)
}

func (w *world) stage(name string) models.Stage {
	st, _ := crm.StageNamed(w.pipe, name)
	return st
}

func wantField(t *testing.T, err error, field, contains string) {
	t.Helper()
	var v apperr.Validation
	if !errors.As(err, &v) {
		t.Fatalf("want a validation error on %q, got %v", field, err)
	}
	if msg, ok := v[field]; !ok || !strings.Contains(msg, contains) {
		t.Fatalf("want %q on %q to mention %q, got %v", field, field, contains, v)
	}
}

func TestStageValidation(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	cases := []struct {
		name  string
		in    crm.PipelineInput
		field string
		text  string
	}{
		{"no name", crm.PipelineInput{Stages: []crm.StageInput{{Name: "A"}}}, "name", "nombre"},
		{"no open stage", crm.PipelineInput{Name: "X", Stages: []crm.StageInput{{Name: "Ganado", Kind: "won"}}}, "stages", "abierta"},
		{"duplicate stage", crm.PipelineInput{Name: "X", Stages: []crm.StageInput{{Name: "Uno"}, {Name: "uno"}}}, "stages.1", "uno"},
		{"probability over 100", crm.PipelineInput{Name: "X", Stages: []crm.StageInput{{Name: "Uno", Probability: ip(120)}}}, "stages.0", "entre 0 y 100"},
		{"unknown kind", crm.PipelineInput{Name: "X", Stages: []crm.StageInput{{Name: "Uno"}, {Name: "Dos", Kind: "maybe"}}}, "stages.1", "tipo"},
		{"rot days zero", crm.PipelineInput{Name: "X", Stages: []crm.StageInput{{Name: "Uno", RotDays: ip(0)}}}, "stages.0", "días"},
		{"bad currency", crm.PipelineInput{Name: "X", Currency: "dólares", Stages: []crm.StageInput{{Name: "Uno"}}}, "currency", "tres letras"},
		{"same name as another", crm.PipelineInput{Name: "ventas b2b", Stages: []crm.StageInput{{Name: "Uno"}}}, "name", "Ya hay"},
	}
	for _, tc := range cases {
		_, err := w.svc.SavePipeline(ctx, w.ws.ID, 0, tc.in)
		if err == nil {
			t.Fatalf("%s: saved", tc.name)
		}
		var v apperr.Validation
		if !errors.As(err, &v) || !strings.Contains(v[tc.field], tc.text) {
			t.Fatalf("%s: want %q on %s, got %v", tc.name, tc.text, tc.field, err)
		}
	}

	// Moves are checked against the lead's own pipeline.
	other, err := w.svc.SavePipeline(ctx, w.ws.ID, 0, crm.PipelineInput{Name: "Renovaciones", Stages: []crm.StageInput{{Name: "Entrantes"}}})
	testutil.Must(t, err)
	c := w.conversationFor(t, "51911100001", nil, &w.ana)
	l, err := w.svc.CreateLead(ctx, inbox.By(w.ana), crm.LeadInput{ConversationID: &c.ID})
	testutil.Must(t, err)
	if l.StageID != w.stage("Calificado").ID || l.PipelineID != w.pipe.ID {
		t.Fatalf("a lead from the chat starts in the default pipeline's first open stage; got stage %d", l.StageID)
	}
	_, err = w.svc.MoveLead(ctx, inbox.By(w.ana), l.ID, other.Stages[0].ID, "")
	wantField(t, err, "stage", "Ventas B2B")
	name := "Cerrado"
	_, err = w.svc.UpdateLead(ctx, inbox.By(w.ana), l.ID, crm.LeadPatch{Stage: &name})
	wantField(t, err, "stage", "«Cerrado»")
	_, err = w.svc.CreateLead(ctx, inbox.By(w.ana), crm.LeadInput{ConversationID: &c.ID, Pipeline: "Postventa"})
	wantField(t, err, "pipeline", "«Postventa»")

	// A stage with leads cannot be removed.
	var keep []crm.StageInput
	for _, st := range w.pipe.Stages[1:] {
		keep = append(keep, crm.StageInput{ID: st.ID, Name: st.Name, Kind: st.Kind, Probability: ip(st.Probability)})
	}
	_, err = w.svc.SavePipeline(ctx, w.ws.ID, w.pipe.ID, crm.PipelineInput{Name: w.pipe.Name, Stages: keep})
	wantField(t, err, "stages", "Calificado")
}

func TestLostNeedsAReasonAndTheTimelineSaysWhoMovedIt(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	c := w.conversationFor(t, "51911100002", nil, &w.ana)
	v := 1500.0
	l, err := w.svc.CreateLead(ctx, inbox.By(w.ana), crm.LeadInput{ConversationID: &c.ID, Title: "Licencias", Value: &v})
	testutil.Must(t, err)
	if l.CycleID == nil || *l.CycleID != *c.CycleID {
		t.Fatalf("the lead is linked to the conversation's open cycle: got %v, want %v", l.CycleID, c.CycleID)
	}
	w.clk.Advance(time.Hour)
	_, err = w.svc.MoveLead(ctx, inbox.By(w.ana), l.ID, w.stage("Propuesta").ID, "")
	testutil.Must(t, err)
	_, err = w.svc.MoveLead(ctx, inbox.By(w.ana), l.ID, w.stage("Perdido").ID, "   ")
	wantField(t, err, "reason", "por qué")
	got, err := w.svc.Lead(ctx, w.admin, l.ID)
	testutil.Must(t, err)
	if got.StageName != "Propuesta" || got.ClosedAt != nil {
		t.Fatalf("a refused move changed the lead: %s closed=%v", got.StageName, got.ClosedAt)
	}
	_, err = w.svc.MoveLead(ctx, inbox.By(w.ana), l.ID, w.stage("Perdido").ID, "Eligió a otro proveedor")
	testutil.Must(t, err)
	got, _ = w.svc.Lead(ctx, w.admin, l.ID)
	if got.StageKind != models.StageLost || got.LostReason != "Eligió a otro proveedor" || got.ClosedAt == nil {
		t.Fatalf("lost lead: %+v", got)
	}
	tl, err := w.svc.Timeline(ctx, l.ID)
	testutil.Must(t, err)
	if len(tl) != 3 || tl[1].FromStage != "Calificado" || tl[1].ToStage != "Propuesta" || tl[1].UserName != "Ana" ||
		tl[2].ToStage != "Perdido" || tl[2].Note != "Eligió a otro proveedor" || tl[1].At.Sub(w.clk.Now()).Abs() > time.Millisecond {
		t.Fatalf("timeline: %+v", tl)
	}
	// Back to an open stage: reopened, the reason cleared.
	_, err = w.svc.MoveLead(ctx, inbox.By(w.ana), l.ID, w.stage("Negociación").ID, "")
	testutil.Must(t, err)
	got, _ = w.svc.Lead(ctx, w.admin, l.ID)
	if got.ClosedAt != nil || got.LostReason != "" {
		t.Fatalf("reopened lead keeps closed_at=%v reason=%q", got.ClosedAt, got.LostReason)
	}
}

func TestBoardWeightedTotalsPerCurrency(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	c := w.conversationFor(t, "51911100003", nil, &w.ana)
	add := func(stage string, value float64, cur string) {
		v := value
		_, err := w.svc.CreateLead(ctx, inbox.By(w.ana), crm.LeadInput{ConversationID: &c.ID, Value: &v, Currency: cur, Stage: stage})
		testutil.Must(t, err)
	}
	add("Calificado", 1000, "")
	add("Calificado", 500.5, "USD")
	add("Propuesta", 2000, "USD")
	add("Propuesta", 300, "pen")
	b, err := w.svc.Board(ctx, w.admin, crm.Filter{})
	testutil.Must(t, err)
	col := func(name string) crm.Column {
		for _, c := range b.Columns {
			if c.Stage.Name == name {
				return c
			}
		}
		t.Fatalf("no column %s", name)
		return crm.Column{}
	}
	q := col("Calificado")
	if q.Count != 2 || len(q.Sums) != 1 || q.Sums[0].Value != 1500.5 || q.Sums[0].Weighted != 300.1 || q.Sums[0].Currency != "USD" {
		t.Fatalf("Calificado: %+v", q)
	}
	p := col("Propuesta")
	if p.Count != 2 || len(p.Sums) != 2 || p.Sums[0] != (crm.Sum{Currency: "USD", Value: 2000, Weighted: 1000}) ||
		p.Sums[1] != (crm.Sum{Currency: "PEN", Value: 300, Weighted: 150}) {
		t.Fatalf("Propuesta: %+v", p.Sums)
	}
	if b.Total != 4 || len(col("Ganado").Cards) != 0 {
		t.Fatalf("board total %d", b.Total)
	}
	// The owner filter narrows the totals too.
	b, err = w.svc.Board(ctx, w.admin, crm.Filter{OwnerID: w.luis.User.ID})
	testutil.Must(t, err)
	if b.Total != 0 {
		t.Fatalf("Luis owns no lead, yet the board counts %d", b.Total)
	}
	for _, c := range b.Columns {
		if c.Count != 0 || len(c.Sums) != 0 {
			t.Fatalf("Luis owns nothing, yet %s has %d", c.Stage.Name, c.Count)
		}
	}
}

func TestRotting(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	c := w.conversationFor(t, "51911100004", nil, &w.ana)
	l, err := w.svc.CreateLead(ctx, inbox.By(w.ana), crm.LeadInput{ConversationID: &c.ID, Title: "Calificada"})
	testutil.Must(t, err)
	won, err := w.svc.CreateLead(ctx, inbox.By(w.ana), crm.LeadInput{ConversationID: &c.ID, Title: "Ganada", Stage: "Ganado"})
	testutil.Must(t, err)
	rotting := func() map[int64]bool {
		b, err := w.svc.Board(ctx, w.admin, crm.Filter{})
		testutil.Must(t, err)
		out := map[int64]bool{}
		for _, col := range b.Columns {
			for _, card := range col.Cards {
				out[card.ID] = card.Rotting
			}
		}
		return out
	}
	w.clk.Advance(6 * 24 * time.Hour)
	if r := rotting(); r[l.ID] {
		t.Fatal("6 days in a 7-day stage is not rotting yet")
	}
	w.clk.Advance(2 * 24 * time.Hour)
	if r := rotting(); !r[l.ID] || r[won.ID] {
		t.Fatalf("after 8 days: rotting=%v (want the open lead only)", r)
	}
	// A move starts the clock again.
	_, err = w.svc.MoveLead(ctx, inbox.By(w.ana), l.ID, w.stage("Propuesta").ID, "")
	testutil.Must(t, err)
	_, err = w.svc.MoveLead(ctx, inbox.By(w.ana), l.ID, w.stage("Calificado").ID, "")
	testutil.Must(t, err)
	if r := rotting(); r[l.ID] {
		t.Fatal("a lead just moved back is not rotting")
	}
}

func TestAutomaticLeadForANewConversation(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	var n int64
	count := func() int64 {
		testutil.Must(t, w.app.DB.Gorm.Model(&models.Lead{}).Count(&n).Error)
		return n
	}
	// Off by default.
	w.app.Inbound(w.ch, "51922200001", "Rosa", "Hola")
	if count() != 0 {
		t.Fatal("a channel without automatic leads created one")
	}
	entrantes, err := w.svc.SavePipeline(ctx, w.ws.ID, 0, crm.PipelineInput{Name: "Entrantes WhatsApp", Currency: "PEN",
		Stages: []crm.StageInput{{Name: "Ganado", Kind: "won"}, {Name: "Entrantes", Probability: ip(10)}, {Name: "Calificado", Probability: ip(30)}}})
	testutil.Must(t, err)
	auto := w.app.Channel(w.ws, "Anuncios")
	testutil.Must(t, w.svc.SetAutoLead(ctx, w.ws.ID, auto.ID, &entrantes.ID))

	c := w.app.Inbound(auto, "51922200002", "Pedro Ramos", "Vi su anuncio, ¿precios?")
	w.app.Inbound(auto, "51922200002", "Pedro Ramos", "¿Hacen envíos?")
	var leads []models.Lead
	testutil.Must(t, w.app.DB.Gorm.Where("conversation_id = ?", c.ID).Find(&leads).Error)
	if len(leads) != 1 {
		t.Fatalf("want one lead for the new conversation, got %d", len(leads))
	}
	l := leads[0]
	if l.PipelineID != entrantes.ID || l.StageID != entrantes.Stages[1].ID || l.Currency != "PEN" || l.ContactID != c.ContactID ||
		l.CycleID == nil || *l.CycleID != *w.app.Conversation(c.ID).CycleID || l.Title != "Oportunidad de Pedro Ramos" {
		t.Fatalf("automatic lead: %+v", l)
	}
	tl, err := w.svc.Timeline(ctx, l.ID)
	testutil.Must(t, err)
	if len(tl) != 1 || tl[0].Kind != "created" || tl[0].ToStage != "Entrantes" {
		t.Fatalf("timeline: %+v", tl)
	}
	// The board card shows the lead's stage chip.
	card, err := w.ib.CardByID(ctx, w.admin, c.ID)
	testutil.Must(t, err)
	if card.Lead == nil || card.Lead.Stage != "Entrantes" || card.Lead.ID != l.ID {
		t.Fatalf("card lead chip: %+v", card.Lead)
	}
	// An existing conversation's new cycle is not a new conversation.
	sys := inbox.As(inbox.ActorSystem, w.ws)
	testutil.Must(t, w.ib.SetStatus(ctx, sys, c.ID, models.StatusClosed, "listo"))
	w.app.Inbound(auto, "51922200002", "Pedro Ramos", "Una consulta más")
	if count() != 1 {
		t.Fatalf("a second cycle created another lead: %d", n)
	}
}

func TestLeadVisibility(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	anaConv := w.conversationFor(t, "51933300001", &w.ventas, &w.ana)
	luisConv := w.conversationFor(t, "51933300002", &w.soporte, &w.luis)
	fromAna, err := w.svc.CreateLead(ctx, inbox.By(w.ana), crm.LeadInput{ConversationID: &anaConv.ID, Title: "De Ana"})
	testutil.Must(t, err)
	fromLuis, err := w.svc.CreateLead(ctx, inbox.By(w.luis), crm.LeadInput{ConversationID: &luisConv.ID, Title: "De Luis"})
	testutil.Must(t, err)
	// Owned by Luis but born in Ana's conversation: Ana sees it through the conversation.
	owner := &w.luis.User.ID
	shared, err := w.svc.CreateLead(ctx, inbox.By(w.admin), crm.LeadInput{ConversationID: &anaConv.ID, Title: "Compartida", OwnerID: owner})
	testutil.Must(t, err)

	sees := func(v accounts.Viewer) map[string]bool {
		page, err := w.svc.List(ctx, v, crm.Filter{}, "", 0)
		testutil.Must(t, err)
		out := map[string]bool{}
		for _, l := range page.Leads {
			out[l.Title] = true
		}
		return out
	}
	if s := sees(w.ana); !s["De Ana"] || !s["Compartida"] || s["De Luis"] {
		t.Fatalf("Ana sees %v", s)
	}
	if s := sees(w.luis); !s["De Luis"] || !s["Compartida"] || s["De Ana"] {
		t.Fatalf("Luis sees %v", s)
	}
	if s := sees(w.sup); !s["De Ana"] || !s["Compartida"] || s["De Luis"] {
		t.Fatalf("the Ventas supervisor sees %v", s)
	}
	if s := sees(w.admin); len(s) != 3 {
		t.Fatalf("the admin sees %v", s)
	}
	if _, err := w.svc.Lead(ctx, w.ana, fromLuis.ID); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("Ana reading Luis's lead: %v", err)
	}
	if _, err := w.svc.MoveLead(ctx, inbox.By(w.ana), fromLuis.ID, w.stage("Propuesta").ID, ""); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("Ana moving Luis's lead: %v", err)
	}
	if _, err := w.svc.CreateLead(ctx, inbox.By(w.ana), crm.LeadInput{ConversationID: &luisConv.ID}); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("Ana creating a lead on Luis's conversation: %v", err)
	}
	_ = fromAna
	_ = shared
}

func TestTaskComesDueOnceAndTheAssigneeHearsIt(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	c := w.conversationFor(t, "51944400001", nil, &w.ana)
	l, err := w.svc.CreateLead(ctx, inbox.By(w.ana), crm.LeadInput{ConversationID: &c.ID, Title: "Demo"})
	testutil.Must(t, err)
	due := w.clk.Now().Add(2 * time.Hour)
	task, err := w.svc.CreateTask(ctx, inbox.By(w.ana), crm.TaskInput{Kind: "llamada", Title: "Confirmar licencias", DueAt: due, LeadID: &l.ID})
	testutil.Must(t, err)
	if task.AssigneeID != w.ana.User.ID || task.ContactID == nil || *task.ContactID != c.ContactID || task.Kind != models.TaskCall {
		t.Fatalf("task: %+v", task)
	}
	_, err = w.svc.CreateTask(ctx, inbox.By(w.ana), crm.TaskInput{Kind: "almuerzo", DueAt: due, LeadID: &l.ID})
	wantField(t, err, "kind", "llamada")

	mine, err := w.svc.Mine(ctx, w.ana)
	testutil.Must(t, err)
	if len(mine.Today)+len(mine.Upcoming) != 1 || len(mine.Overdue) != 0 {
		t.Fatalf("before it is due: %+v", mine)
	}
	w.app.SyncLive()
	sub := w.app.Server.Hub.Subscribe(w.ws.ID)
	defer sub.Close()
	n, err := crm.NotifyDue(ctx, w.app.DB.Gorm, due.Add(-time.Minute))
	testutil.Must(t, err)
	if n != 0 {
		t.Fatalf("%d notices before the task is due", n)
	}
	n, err = crm.NotifyDue(ctx, w.app.DB.Gorm, due.Add(time.Second))
	testutil.Must(t, err)
	if n != 1 {
		t.Fatalf("notices when due: %d", n)
	}
	deadline := time.After(15 * time.Second)
	for got := false; !got; {
		select {
		case e := <-sub.C:
			if e.Kind == "task_due" {
				if e.UserID != w.ana.User.ID || !strings.Contains(e.Text, "Confirmar licencias") {
					t.Fatalf("event: %+v", e)
				}
				got = true
			}
		case <-deadline:
			t.Fatal("no live task_due event")
		}
	}
	if n, _ = crm.NotifyDue(ctx, w.app.DB.Gorm, due.Add(time.Hour)); n != 0 {
		t.Fatalf("notified again: %d", n)
	}
	w.clk.Set(due.Add(time.Minute))
	mine, _ = w.svc.Mine(ctx, w.ana)
	if len(mine.Overdue) != 1 {
		t.Fatalf("after its time the task is overdue: %+v", mine)
	}
	// Done in one click; Luis cannot touch Ana's task.
	if _, err := w.svc.SetTaskDone(ctx, inbox.By(w.luis), task.ID, true); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("Luis completing Ana's task: %v", err)
	}
	_, err = w.svc.SetTaskDone(ctx, inbox.By(w.ana), task.ID, true)
	testutil.Must(t, err)
	mine, _ = w.svc.Mine(ctx, w.ana)
	if len(mine.Overdue) != 0 || len(mine.DoneToday) != 1 {
		t.Fatalf("after done: %+v", mine)
	}
}
