package importer_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

// The pipeline, lead and stage lines exactly as metrics.md shows them.
const crmFile = setup + `{"type":"pipeline","name":"B2B","stages":[{"name":"Calificado","probability":20},{"name":"Propuesta","probability":50},{"name":"Ganado","kind":"won"},{"name":"Perdido","kind":"lost"}]}
{"type":"inbound","at":"2026-10-01T14:03:00Z","channel":"106540352242922","from":"51987654321","name":"Pedro","text":"Hola","id":"wamid.A1","team":"Ventas"}
{"type":"reply","at":"2026-10-01T14:20:00Z","contact":"51987654321","agent":"ana@example.com","text":"¡Hola Pedro!"}
{"type":"lead","at":"2026-10-01T14:25:00Z","contact":"51987654321","title":"Licencias 2027","value":1200,"currency":"USD","stage":"Calificado","pipeline":"B2B"}
{"type":"stage","at":"2026-10-02T10:00:00Z","contact":"51987654321","stage":"Propuesta"}
{"type":"status","at":"2026-10-02T11:00:00Z","contact":"51987654321","status":"closed"}
{"type":"lead","at":"2026-10-03T09:00:00Z","contact":"51987654321","title":"Soporte premium","value":300.5,"currency":"PEN","stage":"Calificado","pipeline":"B2B","agent":"ana@example.com"}
{"type":"stage","at":"2026-10-04T09:00:00Z","contact":"51987654321","stage":"Perdido","reason":"Sin presupuesto","pipeline":"B2B"}
`

func TestImportPipelineLeadAndStageLines(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	res, err := run(t, app, crmFile)
	testutil.Must(t, err)
	if res.Applied != 7 || res.Setup != setupLines+1 {
		t.Fatalf("first run: %+v", res)
	}
	var p models.Pipeline
	testutil.Must(t, app.DB.Gorm.Preload("Stages", "1=1 ORDER BY position").Where("name = ?", "B2B").Take(&p).Error)
	if len(p.Stages) != 4 || p.Stages[0].Name != "Calificado" || p.Stages[0].Probability != 20 || p.Stages[2].Kind != models.StageWon ||
		p.Stages[2].Probability != 100 || p.Stages[3].Kind != models.StageLost {
		t.Fatalf("pipeline: %+v", p.Stages)
	}
	var leads []struct {
		models.Lead `gorm:"embedded"`
		Stage       string
	}
	testutil.Must(t, app.DB.Gorm.Raw(`SELECT l.*, s.name AS stage FROM leads l JOIN stages s ON s.id = l.stage_id ORDER BY l.id`).Scan(&leads).Error)
	if len(leads) != 2 {
		t.Fatalf("leads: %d", len(leads))
	}
	first, second := leads[0], leads[1]
	var conv models.Conversation
	testutil.Must(t, app.DB.Gorm.Take(&conv).Error)
	// The first lead was created while the cycle was open: it links to it. The
	// second came after the close: no open cycle to link.
	if first.Title != "Licencias 2027" || first.Value != 1200 || first.Currency != "USD" || first.Stage != "Propuesta" ||
		first.ConversationID == nil || *first.ConversationID != conv.ID || first.CycleID == nil || first.OwnerID != nil ||
		first.CreatedAt.UTC().Format("2006-01-02T15:04") != "2026-10-01T14:25" || first.StageChangedAt.UTC().Format("2006-01-02") != "2026-10-02" {
		t.Fatalf("first lead: %+v", first)
	}
	if second.Stage != "Perdido" || second.LostReason != "Sin presupuesto" || second.CycleID != nil || second.Value != 300.5 ||
		second.OwnerID == nil || second.ClosedAt == nil || second.ClosedAt.UTC().Format("2006-01-02") != "2026-10-04" {
		t.Fatalf("second lead: %+v", second)
	}
	var events int64
	testutil.Must(t, app.DB.Gorm.Model(&models.LeadEvent{}).Count(&events).Error)
	if events != 4 {
		t.Fatalf("timeline events: %d", events)
	}

	// A rerun changes nothing.
	res, err = run(t, app, crmFile)
	testutil.Must(t, err)
	var n int64
	testutil.Must(t, app.DB.Gorm.Model(&models.Lead{}).Count(&n).Error)
	if res.Applied != 0 || n != 2 {
		t.Fatalf("rerun applied %d, leads %d", res.Applied, n)
	}
	// A stage line for a contact with no lead names the problem.
	_, err = run(t, app, setup+`{"type":"inbound","at":"2026-10-05T14:03:00Z","channel":"106540352242922","from":"51911111111","text":"Hola"}
{"type":"stage","at":"2026-10-05T15:00:00Z","contact":"51911111111","stage":"Ganado"}
`)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("line %d: ", setupLines+2)) || !strings.Contains(err.Error(), "no lead") {
		t.Fatalf("stage without a lead: %v", err)
	}
}
