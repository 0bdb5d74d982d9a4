package inbox

import (
	"time"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/models"
)

// The conversation engine. Every change to a conversation — a customer message, an
// agent reply, an automatic message, a note, taking, assigning, transferring, a drag to
// a status, closing, reopening — is a Command given to Transition, which returns the
// new State and the events to record. The board's status machine (design.md) and the
// "status moves that matter" (metrics.md) live in Transition alone; the services only
// load, check permissions, persist what it returns and publish.

// Actor kinds: who acts on a conversation.
const (
	ActorUser     = "user"     // a signed-in person on the web
	ActorAPI      = "api"      // a person through an API token
	ActorRouting  = "routing"  // automatic routing and assignment
	ActorSLA      = "sla"      // the SLA job
	ActorImporter = "importer" // the history importer (and the demo)
	ActorSystem   = "system"   // Atiende itself (automatic messages, jobs)
	ActorContact  = "contact"  // the customer, writing on WhatsApp
	// ActorAutomation is an admin's automation (app/automations) acting on its own:
	// what it changes never triggers automations again.
	ActorAutomation = "automation"
)

// Actor says who runs a command. People (web or API) carry their user, role and teams:
// permission checks apply to them. Routing, jobs and the importer act as themselves,
// without pretending to be someone.
type Actor struct {
	Kind      string
	User      *models.User
	TeamIDs   []int64
	Workspace models.Workspace
}

// By is the signed-in person v acting on the web.
func By(v accounts.Viewer) Actor {
	u := v.User
	return Actor{Kind: ActorUser, User: &u, TeamIDs: v.TeamIDs, Workspace: v.Workspace}
}

// ByAPI is the person v acting through an API token.
func ByAPI(v accounts.Viewer) Actor {
	a := By(v)
	a.Kind = ActorAPI
	return a
}

// As is a non-person actor of kind k (routing, sla, importer, system) in workspace ws.
func As(kind string, ws models.Workspace) Actor { return Actor{Kind: kind, Workspace: ws} }

// IsPerson reports a user acting on the web or through the API.
func (a Actor) IsPerson() bool { return a.User != nil && (a.Kind == ActorUser || a.Kind == ActorAPI) }

// UserID is the acting user's id (nil for routing, jobs, the importer acting alone).
func (a Actor) UserID() *int64 {
	if a.User == nil {
		return nil
	}
	id := a.User.ID
	return &id
}

// Role is the acting person's role ("" for non-person actors).
func (a Actor) Role() string {
	if a.User == nil {
		return ""
	}
	return a.User.Role
}

// Viewer is the actor as the visibility rules see it. Non-person actors see the whole
// workspace, as an admin does.
// A person actor without its user sees nothing.
func (a Actor) Viewer() accounts.Viewer {
	switch a.Kind {
	case ActorUser, ActorAPI:
		if a.User == nil {
			return accounts.Viewer{} // malformed: workspace 0, nothing is visible
		}
		return accounts.Viewer{User: *a.User, Workspace: a.Workspace, TeamIDs: a.TeamIDs}
	case ActorRouting, ActorSLA, ActorImporter, ActorSystem, ActorAutomation:
		return accounts.Viewer{User: models.User{Role: models.RoleAdmin}, Workspace: a.Workspace}
	}
	return accounts.Viewer{}
}

// history reports an actor whose messages are history: recorded as delivered and
// read, and never sent to WhatsApp.
func (a Actor) history() bool { return a.Kind == ActorImporter }

// Command kinds.
const (
	CmdInbound  = "inbound"  // a customer message
	CmdReply    = "reply"    // an agent's public reply (counts for metrics)
	CmdAuto     = "auto"     // an automatic message (welcome, menu, away, template by a rule): never an agent reply
	CmdNote     = "note"     // an internal note: never changes status
	CmdTake     = "take"     // an agent takes the card by hand
	CmdAssign   = "assign"   // assign to an agent (a person, routing, the importer)
	CmdTransfer = "transfer" // hand over to a team and/or agent with a note
	CmdMove     = "move"     // drag to a status: closing, reopening and the moves between
	// CmdRoute is routing placing the conversation: its team (nil keeps it) and agent
	// (nil: the team's queue, taking it from whoever had it). Note says why.
	CmdRoute = "route"
)

// Command is one thing that happens to a conversation.
type Command struct {
	Kind  string
	At    time.Time
	Actor Actor
	// Counts is false for inbound messages that are not the customer writing
	// (reactions, system notices): they neither open cycles nor wake the card.
	Counts bool
	// PinTeam is the team of a cycle an inbound message opens (routing's or the importer's choice).
	PinTeam *int64
	// Status is where CmdMove goes.
	Status string
	// Team and Agent are the target of CmdAssign (Agent) and CmdTransfer (either or both).
	Team, Agent *int64
	// Note is a transfer's note or a close's reason.
	Note string
}

// State is what the status machine reads and writes of a conversation.
type State struct {
	Status   string
	Team     *int64
	Assignee *int64
	// CycleOpen: a cycle is running (the conversation has had a customer message or a
	// reopen since its last close).
	CycleOpen bool
	// Replied: the open cycle already has an agent reply.
	Replied bool
}

// Event kinds recorded in conversation_events.
const (
	EvCycleOpened = "cycle_opened"
	EvStatus      = "status"
	EvAssign      = "assign"
	EvTransfer    = "transfer"
	EvClose       = "close"
	EvReopen      = "reopen"
	EvRoute       = "route" // a routing decision: team, agent or queue, and why (Note)
)

// Event is one entry of conversation_events, as Transition decides it.
type Event struct {
	Kind               string
	FromStatus         string
	ToStatus           string
	FromTeam, ToTeam   *int64
	FromAgent, ToAgent *int64
	Note               string
	// Activity: the history shows this event as a line ("Ana tomó la conversación").
	Activity bool
}

// Outcome is what a command does.
type Outcome struct {
	State State
	// OpenCycle is "inbound" or "reopen" when the command opens a cycle (before the events).
	OpenCycle string
	// CloseCycle: the command ends the open cycle.
	CloseCycle bool
	// FirstReply: this is the cycle's first agent reply.
	FirstReply bool
	// Transferred marks the cycle as transferred (metrics.md): Handover after the
	// cycle's first reply.
	Transferred bool
	// Handover: agent to another agent, or a team change, in an open cycle — a transfer
	// once the cycle has a reply. Persisted as a condition on the stored first reply,
	// so a reply that commits while the command waits for the row still counts.
	Handover bool
	Events   []Event
}

// Changed reports whether the outcome changes anything beyond the message itself.
func (o Outcome) Changed() bool {
	return o.OpenCycle != "" || o.CloseCycle || o.FirstReply || o.Transferred || len(o.Events) > 0
}

func (o Outcome) has(kind string) bool {
	for _, e := range o.Events {
		if e.Kind == kind {
			return true
		}
	}
	return false
}

func validStatus(s string) bool {
	switch s {
	case models.StatusNew, models.StatusActive, models.StatusPending, models.StatusClosed:
		return true
	}
	return false
}

// Transition applies cmd to s: the one definition of the status machine. It checks
// the rules of the machine (a closed card cannot be taken, nothing answered goes back
// to Nuevos…), not who may act: permissions are the services' job.
func Transition(s State, cmd Command) (Outcome, error) {
	o := Outcome{State: s}
	n := &o.State
	setStatus := func(to string) {
		if n.Status != to {
			o.Events = append(o.Events, Event{Kind: EvStatus, FromStatus: n.Status, ToStatus: to})
			n.Status = to
		}
	}
	// waiting is where an open card goes when the customer is waiting: with an agent on
	// it, En atención; with nobody, its team's queue (Nuevos).
	waiting := func() string {
		if n.Assignee == nil {
			return models.StatusNew
		}
		return models.StatusActive
	}
	me := cmd.Actor.UserID()
	switch cmd.Kind {
	case CmdInbound:
		if !cmd.Counts {
			return o, nil
		}
		if !s.CycleOpen {
			// The message that finds no open cycle opens one: new work, unassigned, in
			// its team's queue (routing or the importer may pin the team).
			o.OpenCycle = "inbound"
			if cmd.PinTeam != nil {
				n.Team = cmd.PinTeam
			}
			// Routing decides before the cycle opens (PinTeam, Agent and why in Note), so
			// the message, the new cycle and the decision are written together.
			n.Assignee, n.Replied = cmd.Agent, false
			o.Events = append(o.Events, Event{Kind: EvCycleOpened, Note: "inbound"})
			if s.Status != models.StatusClosed {
				n.Status = "" // a brand-new conversation: nothing to move from
			}
			setStatus(models.StatusNew)
			if cmd.Note != "" {
				o.Events = append(o.Events, Event{Kind: EvRoute, FromTeam: s.Team, ToTeam: n.Team, ToAgent: n.Assignee, Note: cmd.Note, Activity: true})
			}
			return o, nil
		}
		if s.Status == models.StatusPending {
			setStatus(waiting())
		}
		return o, nil

	case CmdReply:
		if !s.CycleOpen {
			return o, nil // a reply on a closed conversation opens no cycle and leaves it closed
		}
		if n.Assignee == nil && me != nil {
			// Answering an unassigned chat makes it yours: nobody else answers it twice.
			n.Assignee = me
			o.Events = append(o.Events, Event{Kind: EvAssign, ToAgent: me})
		}
		if !s.Replied {
			o.FirstReply, n.Replied = true, true
		}
		setStatus(models.StatusPending)
		return o, nil

	case CmdAuto, CmdNote:
		return o, nil // automatic messages and notes never change the card

	case CmdTake:
		if me == nil {
			return o, apperr.ErrForbidden
		}
		if s.Status == models.StatusClosed || !s.CycleOpen {
			return o, apperr.Validation{"status": "La conversación está cerrada: reábrela para tomarla."}
		}
		if s.Assignee != nil && *s.Assignee != *me {
			return o, apperr.ErrConflict
		}
		if s.Assignee == nil {
			n.Assignee = me
			o.Events = append(o.Events, Event{Kind: EvAssign, ToAgent: me, Activity: true})
		}
		if s.Status == models.StatusNew {
			setStatus(models.StatusActive) // taking by hand moves Nuevos to En atención
		}
		return o, nil

	case CmdAssign:
		if cmd.Agent == nil {
			return o, apperr.Validation{"agent": "Elige un agente"}
		}
		if sameID(cmd.Agent, s.Assignee) {
			return o, nil
		}
		n.Assignee = cmd.Agent
		o.Events = append(o.Events, Event{Kind: EvAssign, FromAgent: s.Assignee, ToAgent: cmd.Agent, Note: cmd.Note, Activity: true})
		// Assigning never moves the card (automatic assignment leaves Nuevos as is).
		o.Handover = s.CycleOpen && s.Assignee != nil
		o.Transferred = o.Handover && s.Replied
		return o, nil

	case CmdTransfer:
		if cmd.Team == nil && cmd.Agent == nil {
			return o, apperr.Validation{"to": "Elige un equipo o un agente"}
		}
		team, agent := s.Team, cmd.Agent
		if cmd.Team != nil {
			team = cmd.Team
		}
		if sameID(team, s.Team) && sameID(agent, s.Assignee) {
			return o, apperr.Validation{"to": "La conversación ya está ahí: elige otro equipo o agente"}
		}
		n.Team, n.Assignee = team, agent
		o.Events = append(o.Events, Event{Kind: EvTransfer, FromTeam: s.Team, ToTeam: team, FromAgent: s.Assignee, ToAgent: agent,
			Note: cmd.Note, Activity: true})
		o.Handover = s.CycleOpen && (!sameID(team, s.Team) || (s.Assignee != nil && agent != nil && *s.Assignee != *agent))
		o.Transferred = o.Handover && s.Replied
		if agent == nil && s.Status == models.StatusActive {
			// Nobody named: the card waits in the team's queue, not in En atención with nobody on it.
			setStatus(models.StatusNew)
		}
		return o, nil

	case CmdRoute:
		if !s.CycleOpen {
			return o, apperr.Validation{"status": "La conversación está cerrada: no hay nada que enrutar."}
		}
		team := s.Team
		if cmd.Team != nil {
			team = cmd.Team
		}
		n.Team, n.Assignee = team, cmd.Agent
		// Always recorded: a decision that changes nothing (still waiting in the queue)
		// is still what the activity explains.
		o.Events = append(o.Events, Event{Kind: EvRoute, FromTeam: s.Team, ToTeam: team, FromAgent: s.Assignee, ToAgent: cmd.Agent,
			Note: cmd.Note, Activity: true})
		// Routing's first choice of a team is no handover; taking the chat from an agent,
		// or moving it to another team, is one.
		o.Handover = (s.Team != nil && !sameID(team, s.Team)) || (s.Assignee != nil && !sameID(s.Assignee, cmd.Agent))
		o.Transferred = o.Handover && s.Replied
		if n.Assignee == nil && s.Status == models.StatusActive {
			setStatus(models.StatusNew) // nobody on it: back to the team's queue
		}
		return o, nil

	case CmdMove:
		to := cmd.Status
		if !validStatus(to) {
			return o, apperr.Validation{"status": "Estado desconocido"}
		}
		if s.Status == to {
			return o, nil
		}
		switch {
		case to == models.StatusClosed:
			o.CloseCycle = s.CycleOpen
			setStatus(to)
			o.Events = append(o.Events, Event{Kind: EvClose, Note: cmd.Note, Activity: true})
		case s.Status == models.StatusClosed:
			// Dragging a closed card out reopens it: a new cycle starting at the drag. It
			// stays with whoever had it; an agent reopening an unassigned card takes it.
			o.OpenCycle = "reopen"
			n.Replied = false
			o.Events = append(o.Events, Event{Kind: EvCycleOpened, Note: "reopen"})
			setStatus(to)
			o.Events = append(o.Events, Event{Kind: EvReopen, Activity: true})
			if n.Assignee == nil && cmd.Actor.Role() == models.RoleAgent && me != nil {
				n.Assignee = me
				o.Events = append(o.Events, Event{Kind: EvAssign, ToAgent: me})
			}
		case to == models.StatusNew:
			return o, apperr.Validation{"status": "Una conversación que ya se atendió no vuelve a Nuevos. Muévela a En atención o Pendientes."}
		default:
			if to == models.StatusActive && s.Status == models.StatusNew && s.Assignee == nil && cmd.Actor.Role() == models.RoleAgent {
				// Dragging into En atención is taking the card by hand.
				n.Assignee = me
				o.Events = append(o.Events, Event{Kind: EvAssign, ToAgent: me, Activity: true})
			}
			setStatus(to)
		}
		return o, nil
	}
	return o, apperr.Invalid("orden desconocida: " + cmd.Kind)
}
