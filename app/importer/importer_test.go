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
{"type":"team","name":"Ventas","assignment":"round_robin"}
{"type":"team","name":"Soporte"}
{"type":"agent","email":"ana@example.com","name":"Ana","role":"agent","teams":["Ventas"]}
{"type":"agent","email":"luis@example.com","name":"Luis","role":"agent","teams":["Soporte"],"max_conversations":5}
{"type":"channel","name":"Principal","phone_number_id":"106540352242922","display_phone":"+51 1 555 0100"}
`

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
	if res.Setup != 6 || res.Applied != 30*7 || res.Skipped != 0 {
		t.Fatalf("first run: %+v", res)
	}
	first := counts(t, app)
	res, err = run(t, app, file)
	testutil.Must(t, err)
	if res.Skipped != 30*7 {
		t.Errorf("second run skipped %d event lines, want %d", res.Skipped, 30*7)
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
	// 2,106 lines in batches of 500: the bad line 1,236 sits in the third batch, so the
	// batches before it are committed and its own is rolled back and replayed up to it.
	lines := strings.Split(strings.TrimSuffix(history(300), "\n"), "\n")
	const badLine = 1236 // (1236-1-6) % 7 == 4: a transfer line
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
	if !errors.As(err, &le) || le.Line != badLine || !strings.HasPrefix(err.Error(), "line 1236: ") || !strings.Contains(err.Error(), `unknown agent "nadie@example.com"`) {
		t.Fatalf("error %v, want one naming line 1236 and the unknown agent", err)
	}
	if res.Setup+res.Applied != badLine-1 {
		t.Errorf("applied %d lines before the bad one, want %d", res.Setup+res.Applied, badLine-1)
	}
	var n int64
	testutil.Must(t, app.DB.Gorm.Table("import_keys").Count(&n).Error)
	if n != badLine-1-6 {
		t.Errorf("%d event lines remembered, want %d (every event line before the bad one)", n, badLine-1-6)
	}
	var transfers int64
	testutil.Must(t, app.DB.Gorm.Table("conversation_events").Where("kind = 'transfer'").Count(&transfers).Error)
	if want := int64((badLine - 1 - 6) / 7); transfers != want {
		t.Errorf("%d transfers applied, want %d: nothing of the bad line", transfers, want)
	}
	// Fixed, run again: completes; a third run changes nothing.
	res, err = run(t, app, strings.Join(lines, "\n")+"\n")
	testutil.Must(t, err)
	if res.Skipped != badLine-1-6 {
		t.Errorf("second run skipped %d, want %d", res.Skipped, badLine-1-6)
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
		{"a type not supported yet", `{"type":"menu","channel":"Principal","text":"Hola"}`, `type "menu"`},
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
		{"a calendar on a team", `{"type":"team","name":"Ventas","calendar":"Lima"}`, `field "calendar"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			app := testutil.NewApp(t)
			file := setup + `{"type":"inbound","at":"2026-10-01T14:03:00Z","channel":"106540352242922","from":"51987654321","name":"Pedro","text":"Hola","id":"wamid.A1"}` + "\n" + tc.line + "\n" +
				`{"type":"note","at":"2026-10-01T15:00:00Z","contact":"51987654321","agent":"ana@example.com","text":"después"}` + "\n"
			before := ""
			_, err := run(t, app, file)
			want := fmt.Sprintf("line %d: ", strings.Count(setup, "\n")+2)
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
	if res.Lines != 6+100*7 {
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
