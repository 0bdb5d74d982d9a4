package inbox

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/models"
)

// The status machine of design.md and the "status moves that matter" of metrics.md,
// one row per rule.
func TestTransitionTable(t *testing.T) {
	ana, luis := int64(1), int64(2)
	ventas, soporte := int64(10), int64(20)
	agent := func(id int64) Actor {
		return Actor{Kind: ActorUser, User: &models.User{ID: id, Role: models.RoleAgent, Name: fmt.Sprint(id)}}
	}
	sup := Actor{Kind: ActorUser, User: &models.User{ID: 3, Role: models.RoleSupervisor}}
	admin := Actor{Kind: ActorUser, User: &models.User{ID: 4, Role: models.RoleAdmin}}
	routing := Actor{Kind: ActorRouting}
	customer := Actor{Kind: ActorContact}
	const (
		New, Active, Pending, Closed = models.StatusNew, models.StatusActive, models.StatusPending, models.StatusClosed
	)
	fresh := State{Status: New}
	open := func(status string, team, assignee *int64, replied bool) State {
		return State{Status: status, Team: team, Assignee: assignee, CycleOpen: true, Replied: replied}
	}
	closed := func(team, assignee *int64) State { return State{Status: Closed, Team: team, Assignee: assignee} }

	type want struct {
		status      string
		team        *int64
		assignee    *int64
		openCycle   string
		closeCycle  bool
		firstReply  bool
		transferred bool
		events      string // kinds, in order, e.g. "cycle_opened status"
		err         string // a substring of the refusal; "conflict" for ErrConflict
	}
	rows := []struct {
		rule string
		from State
		cmd  Command
		want want
	}{
		// Customer messages.
		{"the first message ever opens a cycle in Nuevos", fresh,
			Command{Kind: CmdInbound, Actor: customer, Counts: true},
			want{status: New, openCycle: "inbound", events: "cycle_opened status"}},
		{"a message after a close opens a new cycle, unassigned, in its pinned team", closed(&ventas, &ana),
			Command{Kind: CmdInbound, Actor: customer, Counts: true, PinTeam: &soporte},
			want{status: New, team: &soporte, openCycle: "inbound", events: "cycle_opened status"}},
		{"a pinned team is ignored when a cycle is already open", open(Active, &ventas, &ana, true),
			Command{Kind: CmdInbound, Actor: customer, Counts: true, PinTeam: &soporte},
			want{status: Active, team: &ventas, assignee: &ana}},
		{"a customer message on pending goes to En atención", open(Pending, &ventas, &ana, true),
			Command{Kind: CmdInbound, Actor: customer, Counts: true},
			want{status: Active, team: &ventas, assignee: &ana, events: "status"}},
		{"a customer message on pending with nobody on it goes to the team's queue", open(Pending, &ventas, nil, true),
			Command{Kind: CmdInbound, Actor: customer, Counts: true},
			want{status: New, team: &ventas, events: "status"}},
		{"a customer message on new changes nothing", open(New, &ventas, nil, false),
			Command{Kind: CmdInbound, Actor: customer, Counts: true},
			want{status: New, team: &ventas}},
		{"a customer message on active changes nothing", open(Active, &ventas, &ana, true),
			Command{Kind: CmdInbound, Actor: customer, Counts: true},
			want{status: Active, team: &ventas, assignee: &ana}},
		// Routing.
		{"routing's decision rides on the message that opens the cycle: team, agent, why", closed(&ventas, &ana),
			Command{Kind: CmdInbound, Actor: customer, Counts: true, PinTeam: &soporte, Agent: &luis, Note: "Regla «Soporte»"},
			want{status: New, team: &soporte, assignee: &luis, openCycle: "inbound", events: "cycle_opened status route"}},
		{"routing places a new cycle in a team with an agent, leaving Nuevos", open(New, nil, nil, false),
			Command{Kind: CmdRoute, Actor: routing, Team: &ventas, Agent: &ana, Note: "Asignada a Ana (turno rotativo)"},
			want{status: New, team: &ventas, assignee: &ana, events: "route"}},
		{"routing sends an active chat back to the queue: Nuevos, unassigned", open(Active, &ventas, &ana, false),
			Command{Kind: CmdRoute, Actor: routing, Note: "Ana se desconectó: vuelve a la cola"},
			want{status: New, team: &ventas, events: "route status"}},
		{"routing taking a replied chat from its agent is a transfer", open(Active, &ventas, &ana, true),
			Command{Kind: CmdRoute, Actor: routing},
			want{status: New, team: &ventas, transferred: true, events: "route status"}},
		{"routing records a decision that changes nothing (still in the queue)", open(New, &ventas, nil, false),
			Command{Kind: CmdRoute, Actor: routing, Note: "Sin agentes disponibles"},
			want{status: New, team: &ventas, events: "route"}},
		{"routing does not touch a closed conversation", closed(&ventas, nil),
			Command{Kind: CmdRoute, Actor: routing, Team: &soporte},
			want{err: "cerrada"}},
		{"a reaction opens no cycle", closed(&ventas, &ana),
			Command{Kind: CmdInbound, Actor: customer, Counts: false},
			want{status: Closed, team: &ventas, assignee: &ana}},
		{"a reaction does not wake a pending card", open(Pending, &ventas, &ana, true),
			Command{Kind: CmdInbound, Actor: customer, Counts: false},
			want{status: Pending, team: &ventas, assignee: &ana}},

		// Agent replies, automatic messages, notes.
		{"the first reply on an unassigned card assigns the replier and waits on the customer", open(New, &ventas, nil, false),
			Command{Kind: CmdReply, Actor: agent(ana)},
			want{status: Pending, team: &ventas, assignee: &ana, firstReply: true, events: "assign status"}},
		{"a later reply moves En atención to Pendientes", open(Active, &ventas, &ana, true),
			Command{Kind: CmdReply, Actor: agent(ana)},
			want{status: Pending, team: &ventas, assignee: &ana, events: "status"}},
		{"a run of replies starts one pending span", open(Pending, &ventas, &ana, true),
			Command{Kind: CmdReply, Actor: agent(ana)},
			want{status: Pending, team: &ventas, assignee: &ana}},
		{"a reply on a closed conversation opens no cycle and leaves it closed", closed(&ventas, &ana),
			Command{Kind: CmdReply, Actor: agent(ana)},
			want{status: Closed, team: &ventas, assignee: &ana}},
		{"an automatic message is never an agent reply", open(New, &ventas, nil, false),
			Command{Kind: CmdAuto, Actor: routing},
			want{status: New, team: &ventas}},
		{"notes never change status", open(Pending, &ventas, &ana, true),
			Command{Kind: CmdNote, Actor: agent(ana)},
			want{status: Pending, team: &ventas, assignee: &ana}},

		// Taking and assigning.
		{"taking by hand moves Nuevos to En atención", open(New, &ventas, nil, false),
			Command{Kind: CmdTake, Actor: agent(ana)},
			want{status: Active, team: &ventas, assignee: &ana, events: "assign status"}},
		{"taking a card someone else has is a conflict", open(Active, &ventas, &luis, false),
			Command{Kind: CmdTake, Actor: agent(ana)},
			want{err: "conflict"}},
		{"a closed card cannot be taken", closed(&ventas, nil),
			Command{Kind: CmdTake, Actor: agent(ana)},
			want{err: "cerrada"}},
		{"taking never ends a pending span", open(Pending, &ventas, nil, true),
			Command{Kind: CmdTake, Actor: agent(ana)},
			want{status: Pending, team: &ventas, assignee: &ana, events: "assign"}},
		{"automatic assignment leaves the card in Nuevos", open(New, &ventas, nil, false),
			Command{Kind: CmdAssign, Actor: routing, Agent: &ana},
			want{status: New, team: &ventas, assignee: &ana, events: "assign"}},
		{"assigning never ends a pending span", open(Pending, &ventas, &ana, true),
			Command{Kind: CmdAssign, Actor: sup, Agent: &luis},
			want{status: Pending, team: &ventas, assignee: &luis, transferred: true, events: "assign"}},
		{"assigning an unassigned card after the first reply is not a transfer", open(Active, &ventas, nil, true),
			Command{Kind: CmdAssign, Actor: sup, Agent: &ana},
			want{status: Active, team: &ventas, assignee: &ana, events: "assign"}},
		{"agent to agent before the first reply is not a transfer", open(New, &ventas, &ana, false),
			Command{Kind: CmdAssign, Actor: sup, Agent: &luis},
			want{status: New, team: &ventas, assignee: &luis, events: "assign"}},
		{"assigning to whoever has it changes nothing", open(Active, &ventas, &ana, true),
			Command{Kind: CmdAssign, Actor: sup, Agent: &ana},
			want{status: Active, team: &ventas, assignee: &ana}},

		// Transfers.
		{"a transfer to a team with nobody named puts it in that team's queue", open(Active, &ventas, &ana, true),
			Command{Kind: CmdTransfer, Actor: agent(ana), Team: &soporte, Note: "pasa a soporte"},
			want{status: New, team: &soporte, transferred: true, events: "transfer status"}},
		{"a transfer to a team while waiting on the customer stays in Pendientes", open(Pending, &ventas, &ana, true),
			Command{Kind: CmdTransfer, Actor: agent(ana), Team: &soporte, Note: "pasa a soporte"},
			want{status: Pending, team: &soporte, transferred: true, events: "transfer"}},
		{"a transfer before the first reply is not counted as transferred", open(New, &ventas, nil, false),
			Command{Kind: CmdTransfer, Actor: sup, Team: &soporte, Note: "es de soporte"},
			want{status: New, team: &soporte, events: "transfer"}},
		{"a transfer to an agent keeps the team and the column", open(Active, &ventas, &ana, true),
			Command{Kind: CmdTransfer, Actor: agent(ana), Agent: &luis, Note: "te lo paso"},
			want{status: Active, team: &ventas, assignee: &luis, transferred: true, events: "transfer"}},
		{"a transfer to where it already is is refused", open(Active, &ventas, &ana, true),
			Command{Kind: CmdTransfer, Actor: sup, Team: &ventas, Agent: &ana, Note: "x"},
			want{err: "ya está ahí"}},

		// Drags: closing, reopening, the moves between.
		{"closing ends the cycle", open(Active, &ventas, &ana, true),
			Command{Kind: CmdMove, Actor: agent(ana), Status: Closed, Note: "Resuelto"},
			want{status: Closed, team: &ventas, assignee: &ana, closeCycle: true, events: "status close"}},
		{"dragging out of Cerrados opens a cycle at the drag", closed(&ventas, &ana),
			Command{Kind: CmdMove, Actor: agent(ana), Status: Pending},
			want{status: Pending, team: &ventas, assignee: &ana, openCycle: "reopen", events: "cycle_opened status reopen"}},
		{"an agent reopening an unassigned card into En atención takes it", closed(&ventas, nil),
			Command{Kind: CmdMove, Actor: agent(ana), Status: Active},
			want{status: Active, team: &ventas, assignee: &ana, openCycle: "reopen", events: "cycle_opened status reopen assign"}},
		{"a supervisor reopening keeps whoever had it", closed(&ventas, &luis),
			Command{Kind: CmdMove, Actor: sup, Status: Active},
			want{status: Active, team: &ventas, assignee: &luis, openCycle: "reopen", events: "cycle_opened status reopen"}},
		{"nothing answered goes back to Nuevos", open(Active, &ventas, &ana, true),
			Command{Kind: CmdMove, Actor: agent(ana), Status: New},
			want{err: "no vuelve a Nuevos"}},
		{"dragging into En atención is taking by hand", open(New, &ventas, nil, false),
			Command{Kind: CmdMove, Actor: agent(ana), Status: Active},
			want{status: Active, team: &ventas, assignee: &ana, events: "assign status"}},
		{"an admin dragging into En atención does not take it", open(New, &ventas, nil, false),
			Command{Kind: CmdMove, Actor: admin, Status: Active},
			want{status: Active, team: &ventas, events: "status"}},
		{"dragging to Pendientes starts a pending span", open(Active, &ventas, &ana, true),
			Command{Kind: CmdMove, Actor: agent(ana), Status: Pending},
			want{status: Pending, team: &ventas, assignee: &ana, events: "status"}},
		{"dragging out of Pendientes ends it", open(Pending, &ventas, &ana, true),
			Command{Kind: CmdMove, Actor: agent(ana), Status: Active},
			want{status: Active, team: &ventas, assignee: &ana, events: "status"}},
		{"dragging to the column it is in changes nothing", open(Pending, &ventas, &ana, true),
			Command{Kind: CmdMove, Actor: agent(ana), Status: Pending},
			want{status: Pending, team: &ventas, assignee: &ana}},
		{"an unknown column is refused", open(Pending, &ventas, &ana, true),
			Command{Kind: CmdMove, Actor: agent(ana), Status: "archived"},
			want{err: "Estado desconocido"}},
	}
	for _, r := range rows {
		t.Run(r.rule, func(t *testing.T) {
			r.cmd.At = time.Date(2026, 10, 1, 14, 0, 0, 0, time.UTC)
			o, err := Transition(r.from, r.cmd)
			if r.want.err != "" {
				switch {
				case err == nil:
					t.Fatalf("allowed, want a refusal with %q", r.want.err)
				case r.want.err == "conflict" && !errors.Is(err, apperr.ErrConflict):
					t.Fatalf("error %v, want a conflict", err)
				case r.want.err != "conflict" && !strings.Contains(err.Error(), r.want.err):
					t.Fatalf("error %q, want %q", err, r.want.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := o.State
			if got.Status != r.want.status || !sameID(got.Team, r.want.team) || !sameID(got.Assignee, r.want.assignee) {
				t.Errorf("state %s team %v assignee %v, want %s team %v assignee %v", got.Status, idOf(got.Team), idOf(got.Assignee),
					r.want.status, idOf(r.want.team), idOf(r.want.assignee))
			}
			if o.OpenCycle != r.want.openCycle || o.CloseCycle != r.want.closeCycle || o.FirstReply != r.want.firstReply || o.Transferred != r.want.transferred {
				t.Errorf("cycle: open %q close %v first reply %v transferred %v, want %q %v %v %v", o.OpenCycle, o.CloseCycle, o.FirstReply,
					o.Transferred, r.want.openCycle, r.want.closeCycle, r.want.firstReply, r.want.transferred)
			}
			var kinds []string
			for _, e := range o.Events {
				kinds = append(kinds, e.Kind)
			}
			if strings.Join(kinds, " ") != r.want.events {
				t.Errorf("events %q, want %q", strings.Join(kinds, " "), r.want.events)
			}
		})
	}
}

func idOf(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}
