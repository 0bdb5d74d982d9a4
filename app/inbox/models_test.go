package inbox_test

import (
	"testing"

	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

// The entities load with their associations (conversation → contact, channel, team,
// assignee, cycles; cycle → team, assignee, first replier), as the CRM builds on them.
func TestEntitiesLoadWithTheirAssociations(t *testing.T) {
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	ventas := app.Team(ws, "Ventas")
	ana := app.User(ws, "ana@acme.test", models.RoleAgent, ventas)
	ch := app.Channel(ws, "Principal")
	conv := app.Inbound(ch, "51987654321", "Pedro", "Hola")
	testutil.Must(t, app.DB.Gorm.Exec("UPDATE conversations SET team_id = ?, assignee_id = ? WHERE id = ?", ventas.ID, ana.ID, conv.ID).Error)
	testutil.Must(t, app.DB.Gorm.Exec("UPDATE cycles SET team_id = ?, assignee_id = ?, first_reply_user_id = ? WHERE id = ?", ventas.ID, ana.ID, ana.ID, *conv.CycleID).Error)

	var c models.Conversation
	testutil.Must(t, app.DB.Gorm.Preload("Contact").Preload("Channel").Preload("Team").Preload("Assignee").
		Preload("Cycles.FirstReplyUser").Where("workspace_id = ?", ws.ID).First(&c, conv.ID).Error)
	if c.Contact == nil || c.Contact.WaID != "51987654321" || c.Channel == nil || c.Channel.Name != "Principal" ||
		c.Team == nil || c.Team.Name != "Ventas" || c.Assignee == nil || c.Assignee.Email != "ana@acme.test" {
		t.Fatalf("associations: contact %v channel %v team %v assignee %v", c.Contact, c.Channel, c.Team, c.Assignee)
	}
	if len(c.Cycles) != 1 || c.Cycles[0].FirstReplyUser == nil || c.Cycles[0].FirstReplyUser.ID != ana.ID {
		t.Fatalf("cycles: %+v", c.Cycles)
	}
	var k models.Contact
	testutil.Must(t, app.DB.Gorm.Preload("Conversations").Where("workspace_id = ?", ws.ID).First(&k, c.ContactID).Error)
	if len(k.Conversations) != 1 || k.Conversations[0].ID != conv.ID {
		t.Fatalf("contact's conversations: %+v", k.Conversations)
	}
}
