package web

import (
	"context"
	"sort"
	"strconv"

	"github.com/atiende/atiende/app/accounts"
	contactsapp "github.com/atiende/atiende/app/contacts"
	"github.com/atiende/atiende/app/crm"
	views "github.com/atiende/atiende/views/pages/contacts"
	crmview "github.com/atiende/atiende/views/pages/crm"
)

// The sales side of a contact's and a company's pages: the contact's leads and tasks
// (and its leads' history on the timeline), the company's open leads and their totals.

func (s *Server) contactSales(ctx context.Context, v accounts.Viewer, contactID int64) (views.Sales, error) {
	var out views.Sales
	var err error
	if out.Leads, err = s.Services.CRM.LeadsOfContact(ctx, v, contactID); err != nil {
		return out, err
	}
	if out.Tasks, err = s.Services.CRM.Tasks(ctx, v, crm.TaskFilter{ContactID: contactID}); err != nil {
		return out, err
	}
	people, err := s.Services.CRM.People(ctx, v.Workspace.ID)
	if err != nil {
		return out, err
	}
	for _, u := range people {
		if u.ID != v.User.ID { // "Para mí" is the first choice
			out.People = append(out.People, crmview.Option{ID: u.ID, Name: u.Name})
		}
	}
	return out, nil
}

// withLeadEvents adds the contact's leads' creation and stage changes to its timeline.
func (s *Server) withLeadEvents(ctx context.Context, v accounts.Viewer, contactID int64, tl []contactsapp.TimelineItem) ([]contactsapp.TimelineItem, error) {
	events, err := s.Services.CRM.ContactLeadEvents(ctx, v, contactID)
	if err != nil || len(events) == 0 {
		return tl, err
	}
	for _, e := range events {
		tl = append(tl, contactsapp.TimelineItem{At: e.At, Kind: "lead", Text: leadEventText(e), Href: "/leads/" + strconv.FormatInt(e.LeadID, 10)})
	}
	sort.SliceStable(tl, func(i, j int) bool { return tl[i].At.After(tl[j].At) })
	if len(tl) > 100 {
		tl = tl[:100]
	}
	return tl, nil
}

func leadEventText(e crm.LeadEvent) string {
	who := e.UserName
	if who == "" {
		switch e.ActorKind {
		case "importer":
			who = "La importación"
		default:
			who = "Atiende"
		}
	}
	t := who + " movió «" + e.LeadTitle + "» de " + e.FromStage + " a " + e.ToStage
	if e.Kind == "created" {
		t = who + " creó la oportunidad «" + e.LeadTitle + "» en " + e.ToStage
	}
	if e.Note != "" {
		t += ": " + e.Note
	}
	return t
}
