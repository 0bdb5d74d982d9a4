package importer_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

// The routing lines of metrics.md: team strategy, stickiness and grace, an agent's
// schedule, a channel's menu and rules in file order. Imported history is never routed.
func TestImportRoutingSetup(t *testing.T) {
	app := testutil.NewApp(t)
	file := `{"type":"workspace","name":"Demo","timezone":"America/Lima"}
{"type":"calendar","name":"Lima","timezone":"America/Lima","hours":{"mon":[["09:00","18:00"]]}}
{"type":"team","name":"Ventas","calendar":"Lima","assignment":"round_robin","sticky":false,"offline_grace":"15m"}
{"type":"team","name":"Soporte","assignment":"least_busy"}
{"type":"agent","email":"luis@example.com","name":"Luis","role":"agent","teams":["Ventas"],"max_conversations":5,"schedule":"Lima"}
{"type":"channel","name":"Principal","phone_number_id":"106540352242922","display_phone":"+51 1 555 0100","app_secret":"` + testutil.AppSecret + `","verify_token":"v","access_token":"t","waba_id":"1"}
{"type":"pipeline","name":"B2B","stages":[{"name":"Propuesta"},{"name":"Ganado","kind":"won"}]}
{"type":"menu","channel":"Principal","text":"Hola 👋, ¿en qué te ayudamos?","options":[{"key":"1","title":"Ventas y nuevos servicios","team":"Ventas","label":"Ventas"},{"key":"2","title":"Soporte","team":"Soporte"}]}
{"type":"routing_rule","name":"México a Ventas","when":{"country":"MX"},"team":"Ventas","label":"Ventas"}
{"type":"routing_rule","name":"Reclamos","when":{"keywords":["reclamo","queja"]},"team":"Soporte","priority":"high"}
{"type":"routing_rule","name":"Propuestas","when":{"stage":"Propuesta"},"team":"Ventas"}
{"type":"routing_rule","name":"Canal principal","when":{"channel":"Principal"},"team":"Soporte","active":false}
{"type":"routing_rule","name":"Dueños","when":{"company_owner":true}}
{"type":"routing_rule","name":"Opción 2","when":{"menu_option":"2"},"team":"Soporte"}
{"type":"routing_rule","name":"Por defecto","when":{"default":true},"team":"Soporte"}
{"type":"inbound","at":"2026-10-01T14:03:00Z","channel":"106540352242922","from":"5215512345678","name":"Pedro","text":"Hola","id":"wamid.A1"}
`
	_, err := run(t, app, file)
	testutil.Must(t, err)
	var team models.Team
	testutil.Must(t, app.DB.Gorm.Where("name = 'Ventas'").Take(&team).Error)
	if team.RoutingMode != models.RoutingRoundRobin || team.Sticky || team.OfflineGraceSeconds != 900 || team.CalendarID == nil {
		t.Fatalf("team: %+v", team)
	}
	var luis models.User
	testutil.Must(t, app.DB.Gorm.Where("email = 'luis@example.com'").Take(&luis).Error)
	if luis.ScheduleCalendarID == nil || *luis.ScheduleCalendarID != *team.CalendarID || luis.MaxConcurrent != 5 {
		t.Fatalf("agent: %+v", luis)
	}
	var menu models.ChannelMenu
	testutil.Must(t, app.DB.Gorm.Take(&menu).Error)
	var opts []models.MenuOption
	testutil.Must(t, json.Unmarshal(menu.Options, &opts))
	if len(opts) != 2 || opts[0].Title != "Ventas y nuevos servicios" || opts[0].TeamID == nil || *opts[0].TeamID != team.ID || opts[0].LabelID == nil {
		t.Fatalf("menu options %+v", opts)
	}
	var rules []models.RoutingRule
	testutil.Must(t, app.DB.Gorm.Order("position, id").Find(&rules).Error)
	var names []string
	for _, r := range rules {
		names = append(names, r.Name+":"+r.Kind)
	}
	want := "México a Ventas:country Reclamos:keywords Propuestas:stage Canal principal:channel Dueños:company_owner Opción 2:menu_option Por defecto:default"
	if got := join(names); got != want {
		t.Fatalf("rules in order:\n%s\nwant\n%s", got, want)
	}
	if rules[1].Priority != "high" || rules[3].Active || string(rules[0].Cond) != `{"country": "MX"}` {
		t.Fatalf("rules: %+v", rules)
	}
	// History is never routed: the Mexican customer's imported message has no team and
	// got no menu.
	var c models.Conversation
	testutil.Must(t, app.DB.Gorm.Take(&c).Error)
	if c.TeamID != nil || c.AssigneeID != nil {
		t.Fatalf("imported history was routed: %+v", c)
	}
	var auto int64
	testutil.Must(t, app.DB.Gorm.Model(&models.Message{}).Where("automatic").Count(&auto).Error)
	if auto != 0 {
		t.Fatal("imported history sent automatic messages")
	}
	// Importing again changes nothing: same rules, same order.
	_, err = run(t, app, file)
	testutil.Must(t, err)
	var n int64
	testutil.Must(t, app.DB.Gorm.Model(&models.RoutingRule{}).Count(&n).Error)
	if n != 7 {
		t.Fatalf("%d rules after a second import", n)
	}
	// Live: a new Mexican customer goes to Ventas by the imported rule.
	var ch models.Channel
	testutil.Must(t, app.DB.Gorm.Take(&ch).Error)
	body := testutil.InboundText(ch, "5215500000001", "Lupe", "wamid.LIVE1", "Hola", time.Now())
	if code := app.Webhook(ch, body); code != http.StatusOK {
		t.Fatalf("webhook %d", code)
	}
	var live models.Conversation
	testutil.Must(t, app.DB.Gorm.Raw(`SELECT c.* FROM conversations c JOIN contacts k ON k.id = c.contact_id WHERE k.wa_id = '5215500000001'`).Scan(&live).Error)
	if live.TeamID == nil || *live.TeamID != team.ID {
		t.Fatalf("the live Mexican chat is in team %v, want %d", live.TeamID, team.ID)
	}
}

func join(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out
}
