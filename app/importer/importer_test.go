package importer_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/atiende/atiende/app/importer"
	"github.com/atiende/atiende/app/testutil"
)

const setup = `{"type":"workspace","name":"Demo","timezone":"America/Lima"}
{"type":"calendar","name":"Lima","timezone":"America/Lima","hours":{"mon":[["09:00","13:00"],["14:00","18:00"]],"sat":[["09:00","12:00"]]},"holidays":["2026-07-28"]}
{"type":"team","name":"Ventas","assignment":"round_robin","calendar":"Lima"}
{"type":"team","name":"Soporte"}
{"type":"agent","email":"ana@example.com","name":"Ana","role":"agent","teams":["Ventas"]}
{"type":"agent","email":"luis@example.com","name":"Luis","role":"agent","teams":["Soporte"],"max_conversations":5}
{"type":"channel","name":"Principal","phone_number_id":"106540352242922","display_phone":"+51 1 555 0100"}
`

var setupLines = strings.Count(setup, "\n")

func run(t *testing.T, app *testutil.App, file string) (importer.Result, error) {
	t.Helper()
	return app.Server.Services.Importer.Run(context.Background(), strings.NewReader(file), importer.Options{})
}

func counts(t *testing.T, app *testutil.App) string {
	t.Helper()
	var parts []string
	for _, table := range []string{"workspaces", "teams", "users", "team_members", "channels", "contacts", "conversations", "cycles", "conversation_events", "messages", "import_keys"} {
		var n int64
		testutil.Must(t, app.DB.Gorm.Table(table).Count(&n).Error)
		parts = append(parts, fmt.Sprintf("%s=%d", table, n))
	}
	return strings.Join(parts, " ")
}

// history is a file of n conversations' events after the setup lines.
func history(n int) string {
	var b strings.Builder
	b.WriteString(setup)
	t0 := time.Date(2026, 10, 1, 13, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		wa := fmt.Sprintf("519%08d", i)
		at := t0.Add(time.Duration(i) * time.Minute)
		ts := func(d time.Duration) string { return at.Add(d).Format(time.RFC3339) }
		fmt.Fprintf(&b, `{"type":"inbound","at":%q,"channel":"106540352242922","from":%q,"name":"Cliente %d","text":"Hola","id":"wamid.H%d","team":"Ventas"}`+"\n", ts(0), wa, i, i)
		fmt.Fprintf(&b, `{"type":"reply","at":%q,"contact":%q,"agent":"ana@example.com","text":"¡Hola! ¿En qué te ayudo?"}`+"\n", ts(3*time.Minute), wa)
		fmt.Fprintf(&b, `{"type":"inbound","at":%q,"contact":%q,"from":%q,"text":"Quiero una cotización"}`+"\n", ts(5*time.Minute), wa, wa)
		fmt.Fprintf(&b, `{"type":"note","at":%q,"contact":%q,"agent":"ana@example.com","text":"cliente nuevo"}`+"\n", ts(6*time.Minute), wa)
		fmt.Fprintf(&b, `{"type":"transfer","at":%q,"contact":%q,"team":"Soporte","agent":"luis@example.com","note":"pasa a soporte"}`+"\n", ts(7*time.Minute), wa)
		fmt.Fprintf(&b, `{"type":"reply","at":%q,"contact":%q,"agent":"luis@example.com","text":"Te ayudo yo"}`+"\n", ts(9*time.Minute), wa)
		fmt.Fprintf(&b, `{"type":"status","at":%q,"contact":%q,"status":"closed","reason":"Resuelto"}`+"\n", ts(20*time.Minute), wa)
	}
	return b.String()
}

func TestImportTwiceChangesNothingTheSecondTime(t *testing.T) {
	app := testutil.NewApp(t)
	file := history(30)
	res, err := run(t, app, file)
	testutil.Must(t, err)
	if res.Setup != setupLines || res.Applied != 30*7 || res.Skipped != 0 {
		t.Fatalf("first run: %+v", res)
	}
	first := counts(t, app)
	res, err = run(t, app, file)
	testutil.Must(t, err)
	if res.Skipped != 30*7 {
		t.Errorf("second run skipped %d event lines, want %d", res.Skipped, 30*7)
	}
	var audited int64
	testutil.Must(t, app.DB.Gorm.Table("audit_events").Where("action = 'data.import'").Count(&audited).Error)
	if audited != 2 {
		t.Errorf("%d imports in the audit log, want 2", audited)
	}
	if again := counts(t, app); again != first {
		t.Errorf("the second run changed the database:\nfirst:  %s\nsecond: %s", first, again)
	}
	// What was imported reads back as history: closed, transferred, credited to Ana.
	var row struct {
		Status      string
		Transferred bool
		Replier     string
		Assignee    string
	}
	testutil.Must(t, app.DB.Gorm.Raw(`SELECT c.status, y.transferred, f.email AS replier, u.email AS assignee
		FROM conversations c JOIN cycles y ON y.id = c.cycle_id JOIN users f ON f.id = y.first_reply_user_id JOIN users u ON u.id = y.assignee_id
		JOIN contacts k ON k.id = c.contact_id WHERE k.wa_id = '51900000007'`).Scan(&row).Error)
	if row.Status != "closed" || !row.Transferred || row.Replier != "ana@example.com" || row.Assignee != "luis@example.com" {
		t.Errorf("imported conversation: %+v", row)
	}
}

func TestImportStopsAtTheBadLineAndResumes(t *testing.T) {
	app := testutil.NewApp(t)
	// 2,107 lines in batches of 500: the bad line 1,237 sits in the third batch, so the
	// batches before it are committed and its own is rolled back and replayed up to it.
	lines := strings.Split(strings.TrimSuffix(history(300), "\n"), "\n")
	const badLine = 1237 // (1237-1-setupLines) % 7 == 4: a transfer line
	good := lines[badLine-1]
	bad := append([]string{}, lines...)
	bad[badLine-1] = strings.Replace(good, "luis@example.com", "nadie@example.com", 1)
	if bad[badLine-1] == good {
		t.Fatalf("line %d is not a transfer: %s", badLine, good)
	}
	im := *app.Server.Services.Importer
	im.BatchSize = 500
	res, err := im.Run(context.Background(), strings.NewReader(strings.Join(bad, "\n")+"\n"), importer.Options{})
	var le *importer.LineError
	if !errors.As(err, &le) || le.Line != badLine || !strings.HasPrefix(err.Error(), "line 1237: ") || !strings.Contains(err.Error(), `unknown agent "nadie@example.com"`) {
		t.Fatalf("error %v, want one naming line 1237 and the unknown agent", err)
	}
	if res.Setup+res.Applied != badLine-1 {
		t.Errorf("applied %d lines before the bad one, want %d", res.Setup+res.Applied, badLine-1)
	}
	var n int64
	testutil.Must(t, app.DB.Gorm.Table("import_keys").Count(&n).Error)
	if n != int64(badLine-1-setupLines) {
		t.Errorf("%d event lines remembered, want %d (every event line before the bad one)", n, badLine-1-setupLines)
	}
	var transfers int64
	testutil.Must(t, app.DB.Gorm.Table("conversation_events").Where("kind = 'transfer'").Count(&transfers).Error)
	if want := int64((badLine - 1 - setupLines) / 7); transfers != want {
		t.Errorf("%d transfers applied, want %d: nothing of the bad line", transfers, want)
	}
	// Fixed, run again: completes; a third run changes nothing.
	res, err = run(t, app, strings.Join(lines, "\n")+"\n")
	testutil.Must(t, err)
	if res.Skipped != badLine-1-setupLines {
		t.Errorf("second run skipped %d, want %d", res.Skipped, badLine-1-setupLines)
	}
	full := counts(t, app)
	fresh := testutil.NewApp(t)
	_, err = run(t, fresh, strings.Join(lines, "\n")+"\n")
	testutil.Must(t, err)
	if want := counts(t, fresh); full != want {
		t.Errorf("interrupted and resumed import differs from a clean one:\nresumed: %s\nclean:   %s", full, want)
	}
	res, err = run(t, app, strings.Join(lines, "\n")+"\n")
	testutil.Must(t, err)
	if res.Applied != 0 || counts(t, app) != full { // the six setup lines update in place
		t.Errorf("third run: %+v\n%s\n%s", res, counts(t, app), full)
	}
}

func TestImportRefusesWhatItCannotApply(t *testing.T) {
	cases := []struct {
		name, line, want string
	}{
		{"bad JSON", `{"type":"inbound",`, "not valid JSON"},
		{"no type", `{"at":"2026-10-01T14:00:00Z"}`, `no "type"`},
		{"a menu without options", `{"type":"menu","channel":"Principal","text":"Hola"}`, `"options" must look like`},
		{"a menu option's title too long even for a list row's description", `{"type":"menu","channel":"Principal","text":"Hola","options":[{"key":"1","title":"` + strings.Repeat("Ventas ", 11) + `","team":"Ventas"}]}`, `a title at most 72`},
		{"a routing rule with an unknown condition", `{"type":"routing_rule","name":"X","when":{"weather":"rain"},"team":"Ventas"}`, `unknown condition "weather"`},
		{"a routing rule on an unknown stage", `{"type":"routing_rule","name":"X","when":{"stage":"Cierre"},"team":"Ventas"}`, `unknown stage "Cierre"`},
		{"a bad offline grace", `{"type":"team","name":"Ventas","offline_grace":"diez"}`, `"offline_grace" is a duration`},
		{"an agent on an unknown schedule", `{"type":"agent","email":"ana@example.com","schedule":"Marte"}`, `unknown calendar "Marte"`},
		{"a pipeline without stages", `{"type":"pipeline","name":"B2B","stages":[]}`, `"stages" cannot be empty`},
		{"a lead in an unknown stage", `{"type":"lead","at":"2026-10-01T14:20:00Z","contact":"51987654321","title":"X","stage":"Cerrado"}`, `«Cerrado»`},
		{"a lost stage without a reason", `{"type":"lead","at":"2026-10-01T14:20:00Z","contact":"51987654321","title":"X","stage":"Perdido"}`, "por qué"},
		{"an unknown type", `{"type":"fax"}`, `unknown line type "fax"`},
		{"unknown agent", `{"type":"reply","at":"2026-10-01T14:20:00Z","contact":"51987654321","agent":"nadie@example.com","text":"Hola"}`, `unknown agent "nadie@example.com"`},
		{"unknown contact", `{"type":"note","at":"2026-10-01T14:20:00Z","contact":"51900000000","agent":"ana@example.com","text":"x"}`, `unknown contact "51900000000"`},
		{"time going backwards", `{"type":"reply","at":"2026-10-01T13:00:00Z","contact":"51987654321","agent":"ana@example.com","text":"Hola"}`, "time goes backwards"},
		{"a bad time", `{"type":"reply","at":"ayer","contact":"51987654321","agent":"ana@example.com","text":"Hola"}`, "not an RFC 3339 time"},
		{"unknown team", `{"type":"transfer","at":"2026-10-01T14:20:00Z","contact":"51987654321","team":"Cobranzas","note":"x"}`, `unknown team "Cobranzas"`},
		{"unknown status", `{"type":"status","at":"2026-10-01T14:20:00Z","contact":"51987654321","status":"archived"}`, "Estado desconocido"},
		{"a reply without its agent", `{"type":"reply","at":"2026-10-01T14:20:00Z","contact":"51987654321","text":"Hola"}`, `needs "agent"`},
		{"unknown channel", `{"type":"inbound","at":"2026-10-01T14:20:00Z","channel":"999","from":"51911111111","text":"Hola"}`, `unknown channel "999"`},
		{"an unknown calendar on a team", `{"type":"team","name":"Ventas","calendar":"Quito"}`, `unknown calendar "Quito"`},
		{"a calendar with a bad interval", `{"type":"calendar","name":"Lima","hours":{"mon":[["18:00","09:00"]]}}`, "ends before it starts"},
		{"an SLA policy with a bad duration", `{"type":"sla_policy","name":"Ventas","first_response":"una hora"}`, `"first_response" is "una hora"`},
		{"an SLA policy with a negative target", `{"type":"sla_policy","name":"Ventas","resolution":"-2h"}`, `"resolution" is "-2h"`},
		{"an SLA policy with a number for a target", `{"type":"sla_policy","name":"Ventas","next_response":3600}`, `"next_response" must be a duration`},
		{"an SLA policy with a warning over 99", `{"type":"sla_policy","name":"Ventas","first_response":"1h","warning":120}`, `"warning"`},
		{"an SLA policy without a name", `{"type":"sla_policy","first_response":"1h"}`, `needs a "name"`},
		{"an unknown SLA policy on a team", `{"type":"team","name":"Ventas","sla_policy":"Oro"}`, `unknown SLA policy "Oro"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			app := testutil.NewApp(t)
			file := setup + `{"type":"inbound","at":"2026-10-01T14:03:00Z","channel":"106540352242922","from":"51987654321","name":"Pedro","text":"Hola","id":"wamid.A1"}` + "\n" + tc.line + "\n" +
				`{"type":"note","at":"2026-10-01T15:00:00Z","contact":"51987654321","agent":"ana@example.com","text":"después"}` + "\n"
			before := ""
			_, err := run(t, app, file)
			want := fmt.Sprintf("line %d: ", setupLines+2)
			if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q… with %q", err, want, tc.want)
			}
			// The lines before it are applied, nothing of it or after it.
			var msgs int64
			testutil.Must(t, app.DB.Gorm.Table("messages").Count(&msgs).Error)
			if msgs != 1 {
				t.Errorf("%d messages stored, want only the line before's", msgs)
			}
			_ = before
		})
	}
}

func TestImportReportsProgressOnLongFiles(t *testing.T) {
	app := testutil.NewApp(t)
	file := history(100)
	var progress bytes.Buffer
	im := *app.Server.Services.Importer
	im.BatchSize = 50
	res, err := im.Run(context.Background(), strings.NewReader(file),
		importer.Options{Size: int64(len(file)), Progress: &progress, ProgressAfter: 300, ProgressEvery: time.Nanosecond})
	testutil.Must(t, err)
	if res.Lines != setupLines+100*7 {
		t.Fatalf("read %d lines", res.Lines)
	}
	out := strings.Split(strings.TrimSpace(progress.String()), "\n")
	if len(out) < 10 || !strings.HasPrefix(out[0], "import: 300 lines (") || !strings.Contains(out[0], "%), ") || !strings.HasSuffix(out[0], " lines/s") {
		t.Fatalf("progress: %q", progress.String())
	}
	// Nothing before the threshold, and never more than 100 %.
	if strings.Contains(progress.String(), "import: 299 ") || strings.Contains(progress.String(), "(101%)") {
		t.Errorf("progress: %q", progress.String())
	}
}

// What the review found: one id on two customers' lines, several workspaces in one
// file, and a message that is already stored.
func TestImportEdgeCases(t *testing.T) {
	t.Run("one id on two customers' lines", func(t *testing.T) {
		app := testutil.NewApp(t)
		var b strings.Builder
		b.WriteString(setup)
		for i := 0; i < 40; i++ {
			fmt.Fprintf(&b, `{"type":"inbound","at":"2026-10-01T14:%02d:00Z","from":"5198%07d","text":"Hola","id":"wamid.SAME"}`+"\n", i, i)
		}
		im := *app.Server.Services.Importer
		im.BatchSize, im.Workers = 100, 2
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		// The setup goes alone first, then the events (one batch, parts side by side).
		_, err := im.Run(ctx, strings.NewReader(setup), importer.Options{})
		testutil.Must(t, err)
		res, err := im.Run(ctx, strings.NewReader(strings.TrimPrefix(b.String(), setup)), importer.Options{})
		testutil.Must(t, err)
		if res.Applied != 1 || res.Skipped != 39 {
			t.Errorf("%+v: want the first applied and the rest skipped, as in one transaction", res)
		}
	})
	t.Run("several workspaces in one file", func(t *testing.T) {
		app := testutil.NewApp(t)
		file := `{"type":"workspace","name":"Uno","timezone":"America/Lima"}
{"type":"channel","name":"Principal","phone_number_id":"1000001"}
{"type":"inbound","at":"2026-10-01T14:00:00Z","from":"51911111111","text":"Hola"}
{"type":"workspace","name":"Dos","timezone":"America/Bogota"}
{"type":"channel","name":"Principal","phone_number_id":"1000002"}
{"type":"inbound","at":"2026-10-01T13:00:00Z","from":"51911111111","text":"Hola"}
`
		_, err := run(t, app, file)
		testutil.Must(t, err)
		before := counts(t, app)
		res, err := run(t, app, file)
		testutil.Must(t, err)
		if res.Applied != 0 || res.Skipped != 2 || counts(t, app) != before {
			t.Errorf("rerun: %+v\n%s\n%s", res, before, counts(t, app))
		}
		var perWS []int64
		testutil.Must(t, app.DB.Gorm.Raw(`SELECT count(*) FROM import_keys GROUP BY workspace_id ORDER BY workspace_id`).Scan(&perWS).Error)
		if len(perWS) != 2 || perWS[0] != 1 || perWS[1] != 1 {
			t.Errorf("keys per workspace: %v", perWS)
		}
	})
	t.Run("a message already stored is skipped whatever its time", func(t *testing.T) {
		app := testutil.NewApp(t)
		_, err := run(t, app, setup+`{"type":"inbound","at":"2026-10-01T14:00:00Z","from":"51911111111","text":"Hola","id":"wamid.X1"}
{"type":"inbound","at":"2026-10-01T15:00:00Z","from":"51911111111","text":"¿Hola?","id":"wamid.X2"}
`)
		testutil.Must(t, err)
		testutil.Must(t, app.DB.Gorm.Exec("DELETE FROM import_keys").Error) // as if it had arrived live
		res, err := run(t, app, setup+`{"type":"inbound","at":"2026-10-01T14:00:00Z","from":"51911111111","text":"Hola","id":"wamid.X1"}
`)
		testutil.Must(t, err)
		if res.Applied != 0 || res.Skipped != 1 {
			t.Errorf("%+v", res)
		}
	})
}
