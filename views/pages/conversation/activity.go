package conversation

import (
	"strings"

	"github.com/atiende/atiende/app/inbox"
	"github.com/atiende/atiende/app/sla"
)

// ActivityText is the sentence an activity line of the history shows, rendered from
// the recorded event (who acted, from and to, the note). Lines written before events
// were recorded keep the text they were stored with.
func ActivityText(m inbox.MessageView) string {
	a := m.Activity
	if a == nil {
		return m.Body
	}
	actor := first(a.ActorName)
	switch a.ActorKind {
	case inbox.ActorRouting:
		actor = "El enrutamiento"
	case inbox.ActorSLA, inbox.ActorSystem:
		actor = "Atiende"
	case inbox.ActorAutomation:
		actor = "Una automatización"
	}
	if actor == "" {
		actor = "Alguien"
	}
	quoted := func(s string) string {
		if s = strings.TrimSpace(s); s == "" {
			return ""
		}
		return ": «" + s + "»"
	}
	switch a.Kind {
	case inbox.EvAssign:
		switch {
		case a.ToAgent == "":
			return actor + " devolvió la conversación a la cola"
		case a.ActorID != nil && a.ToAgentID != nil && *a.ActorID == *a.ToAgentID:
			return actor + " tomó la conversación"
		case a.ActorKind == inbox.ActorRouting && strings.TrimSpace(a.Note) != "":
			return a.Note // routing says why: "Asignada a Luis (turno rotativo)"
		case a.ActorKind == inbox.ActorRouting || a.ActorKind == inbox.ActorAutomation:
			return "Asignada automáticamente a " + a.ToAgent
		case a.ActorID == nil:
			return "Asignada a " + a.ToAgent
		}
		return actor + " asignó la conversación a " + a.ToAgent
	case inbox.EvTransfer:
		target := a.ToTeam
		switch {
		case target != "" && a.ToAgent != "" && a.ToTeam != a.FromTeam:
			target += " (" + a.ToAgent + ")"
		case a.ToAgent != "":
			target = a.ToAgent
		case target == "":
			target = "la cola"
		}
		if a.ActorID == nil {
			return "Transferida a " + target + quoted(a.Note)
		}
		return "Transferida a " + target + " por " + actor + quoted(a.Note)
	case inbox.EvRoute:
		// A routing decision, in its own words ("Regla «México» → Ventas. Asignada a
		// Luis (turno rotativo)", "Ana se desconectó: vuelve a la cola").
		if n := strings.TrimSpace(a.Note); n != "" {
			return n
		}
		switch {
		case a.ToAgent != "":
			return "Enrutada a " + first(a.ToAgent)
		case a.ToTeam != "":
			return "En la cola de " + a.ToTeam
		}
		return "Enrutada"
	case inbox.EvClose:
		if a.ActorID == nil && a.ActorKind != inbox.ActorRouting {
			return "Conversación cerrada" + quoted(a.Note)
		}
		return actor + " cerró la conversación" + quoted(a.Note)
	case inbox.EvSLAWarning, inbox.EvSLABreach:
		return sla.AlertText(a.Kind == inbox.EvSLABreach, a.Note)
	case "automation":
		// An automation's run: its sentence is stored whole ("Automatización «X»: asignada a Ventas").
		return a.Note
	case inbox.EvReopen:
		if a.ActorID == nil {
			return "Conversación reabierta"
		}
		return actor + " reabrió la conversación"
	}
	return m.Body
}

func first(full string) string {
	if f := strings.Fields(full); len(f) > 0 {
		return f[0]
	}
	return full
}
