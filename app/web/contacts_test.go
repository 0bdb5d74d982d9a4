package web_test

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

func contactCount(t *testing.T, app *testutil.App, ws int64, where string, args ...any) int {
	t.Helper()
	var n int
	testutil.Must(t, app.DB.Gorm.Raw(`SELECT count(*) FROM contacts WHERE workspace_id = ? AND `+where, append([]any{ws}, args...)...).Scan(&n).Error)
	return n
}

// The same number written any way is one contact: Mexico's 521 and Argentina's 9 in
// WhatsApp ids, a number typed in the API, a number in an imported CSV.
func TestOneContactPerNumberAcrossFormats(t *testing.T) {
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	ch := app.Channel(ws, "Principal")
	admin := app.User(ws, "admin@acme.pe", models.RoleAdmin)

	mx := app.Inbound(ch, "5215512345678", "Carlos", "Hola")
	at := time.Now()
	if code := app.Webhook(ch, testutil.InboundText(ch, "525512345678", "Carlos", "wamid.MX2", "Sigo aquí", at)); code != http.StatusOK {
		t.Fatalf("webhook: %d", code)
	}
	ar := app.Inbound(ch, "5491123456789", "Martín", "Buenas")
	if code := app.Webhook(ch, testutil.InboundText(ch, "541123456789", "Martín", "wamid.AR2", "¿Hola?", at)); code != http.StatusOK {
		t.Fatalf("webhook: %d", code)
	}
	if n := contactCount(t, app, ws.ID, "true"); n != 2 {
		t.Fatalf("contacts = %d, want 2 (one per person)", n)
	}
	var convs, msgs int
	testutil.Must(t, app.DB.Gorm.Raw(`SELECT count(*) FROM conversations WHERE workspace_id = ?`, ws.ID).Scan(&convs).Error)
	testutil.Must(t, app.DB.Gorm.Raw(`SELECT count(*) FROM messages WHERE conversation_id IN (?, ?) AND direction = 'in'`, mx.ID, ar.ID).Scan(&msgs).Error)
	if convs != 2 || msgs != 4 {
		t.Fatalf("conversations = %d, inbound messages in them = %d; want 2 and 4", convs, msgs)
	}
	if n := contactCount(t, app, ws.ID, "phone IN ('+525512345678', '+5491123456789')"); n != 2 {
		t.Fatalf("phones not in E.164: %d match", n)
	}

	api := app.API(admin)
	for _, typed := range []string{"+52 1 55 1234 5678", "+52 55 1234-5678", "+54 11 2345-6789", "011 15 2345-6789"} {
		body := fmt.Sprintf(`{"phone": %q, "country": "AR", "name": "Otro"}`, typed)
		r := api.Do("POST", "/api/v1/contacts", body)
		var e apiErr
		decode(t, r, &e)
		if r.StatusCode != http.StatusConflict || !strings.Contains(e.Error.Message, "Ya existe un contacto") {
			t.Errorf("POST %s: %d %s, want 409 naming the existing contact", typed, r.StatusCode, r.Body)
		}
	}
	if n := contactCount(t, app, ws.ID, "true"); n != 2 {
		t.Fatalf("contacts after API = %d, want 2", n)
	}
	// A customer added first by the API, then writing from WhatsApp, stays one contact.
	r := api.Do("POST", "/api/v1/contacts", `{"phone": "+51 987 654 321", "name": "Rosa"}`)
	if r.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %s", r.StatusCode, r.Body)
	}
	if code := app.Webhook(ch, testutil.InboundText(ch, "51987654321", "Rosita", "wamid.PE1", "Hola", at)); code != http.StatusOK {
		t.Fatalf("webhook: %d", code)
	}
	if n := contactCount(t, app, ws.ID, "phone = '+51987654321'"); n != 1 {
		t.Fatalf("contacts with +51987654321 = %d, want 1", n)
	}
}

func uploadCSV(t *testing.T, c *testutil.Client, name, content string) testutil.Response {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	_ = w.WriteField("_csrf", c.CSRF)
	fw, _ := w.CreateFormFile("file", name)
	_, _ = fw.Write([]byte(content))
	_ = w.Close()
	req, _ := http.NewRequest(http.MethodPost, c.Base+"/contacts/import", &buf)
	req.Header.Set("Content-Type", w.FormDataContentType())
	return c.Do(req)
}

func waitImport(t *testing.T, app *testutil.App, id int64) models.ContactImport {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var imp models.ContactImport
		testutil.Must(t, app.DB.Gorm.Omit("data").First(&imp, id).Error)
		if imp.Status == "done" || imp.Status == "failed" {
			return imp
		}
		if time.Now().After(deadline) {
			t.Fatalf("import %d still %s after 2 minutes (%d/%d)", id, imp.Status, imp.Processed, imp.Total)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A CSV import: mapping with a preview, dedupe by phone against the file and the
// database, an error per bad line with its number, and no half-imported row.
func TestContactImportReportsLinesAndNeverHalfImports(t *testing.T) {
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	ch := app.Channel(ws, "Principal")
	admin := app.User(ws, "admin@acme.pe", models.RoleAdmin)
	app.User(ws, "ana@acme.pe", models.RoleAgent)
	existing := app.Inbound(ch, "5215512345678", "Carlos WA", "Hola")

	c := app.Client()
	c.Login(admin.Email, testutil.Password)
	if r := c.PostForm("/settings/contact-fields", url.Values{"label": {"Plan"}, "kind": {"select"}, "options": {"Básico\nPro"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("field: %d", r.StatusCode)
	}
	csv := "Nombre;Teléfono;Correo;Empresa;Vendedor;Plan\n" + // semicolons, as Excel saves in LatAm
		"María Quispe;+51 987 654 321;maria@andina.pe;Constructora Andina;ana@acme.pe;pro\n" + // 2 ok
		"Carlos Díaz;+52 1 55 1234 5678;carlos@valle.mx;Logística del Valle;;\n" + // 3 updates the WhatsApp contact
		"Sin número;;nadie@x.com;;;\n" + // 4 no phone
		"Mal correo;+51 911 111 111;no-es-correo;Acme;;\n" + // 5 bad e-mail: nothing of it imported
		"Repetida;987654321;;;;\n" + // 6 same as line 2 once read in PE
		"Pedro;+51 922 222 222;;constructora andina;;Oro\n" + // 7 a plan that is not an option
		"Ana;+51 933 333 333;;;nadie@acme.pe;\n" + // 8 unknown owner
		"\"Luis \"\"Lucho\"\" Pérez\";+57 300 123 4567;luis@cafe.co;Café de Altura;;\n" + // 9 ok, quotes
		"Pedro;+51 922 222 222;;constructora andina;;Básico\n" // 10 ok, same company any case
	r := uploadCSV(t, c, "clientes.csv", csv)
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("upload: %d %s", r.StatusCode, r.Body)
	}
	path := r.Header.Get("Location")
	doc := c.Get(path).Doc(t)
	if got := doc.Find(`[data-testid="mapping-row"]`).Length(); got != 6 {
		t.Fatalf("mapping rows = %d, want one per column (6)", got)
	}
	if v, _ := doc.Find(`[data-testid="map-5"] option[selected]`).Attr("value"); v != "custom:plan" {
		t.Errorf("Plan column guessed as %q, want the custom field", v)
	}
	if v, _ := doc.Find(`[data-testid="map-1"] option[selected]`).Attr("value"); v != "phone" {
		t.Errorf("Teléfono column guessed as %q, want phone", v)
	}
	if !strings.Contains(doc.Find(".mapping-sample").First().Text(), "María Quispe") {
		t.Errorf("preview does not show the first rows: %q", doc.Find(".mapping-sample").First().Text())
	}
	// Without a phone column the import cannot start.
	if r := c.PostForm(path+"/start", url.Values{"col.0": {"name"}}); r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "teléfono") {
		t.Fatalf("start without phone: %d", r.StatusCode)
	}
	r = c.PostForm(path+"/start", url.Values{"col.0": {"name"}, "col.1": {"phone"}, "col.2": {"email"}, "col.3": {"company"}, "col.4": {"owner"}, "col.5": {"custom:plan"}, "default_country": {"PE"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("start: %d %s", r.StatusCode, r.Body)
	}
	var id int64
	fmt.Sscanf(path, "/contacts/import/%d", &id)
	imp := waitImport(t, app, id)
	if imp.Status != "done" || imp.Created != 3 || imp.Updated != 1 || imp.Failed != 5 || imp.Processed != 9 {
		t.Fatalf("import = %s created %d updated %d failed %d processed %d; want done 3 1 5 9", imp.Status, imp.Created, imp.Updated, imp.Failed, imp.Processed)
	}
	errs := c.Get(fmt.Sprintf("/contacts/import/%d/errors.csv", id))
	for _, want := range []string{"4,Falta el teléfono.", "5,El correo «no-es-correo» no es válido.", "6,El número +51 987 654 321 ya aparece en la línea 2.", "8,El responsable «nadie@acme.pe» no es un usuario activo", `7,"Plan: elige una de las opciones (Básico, Pro)."`} {
		if !strings.Contains(errs.Body, want) {
			t.Errorf("errors CSV lacks %q:\n%s", want, errs.Body)
		}
	}
	if n := contactCount(t, app, ws.ID, "phone = '+51911111111'"); n != 0 {
		t.Errorf("the row with a bad e-mail was half imported")
	}
	if n := contactCount(t, app, ws.ID, "phone = '+525512345678'"); n != 1 {
		t.Errorf("the WhatsApp contact was duplicated: %d", n)
	}
	var carlos models.Contact
	testutil.Must(t, app.DB.Gorm.First(&carlos, existing.ContactID).Error)
	if carlos.Name != "Carlos Díaz" || carlos.Email != "carlos@valle.mx" || carlos.Company != "Logística del Valle" || carlos.CompanyID == nil {
		t.Errorf("existing contact not updated from the file: %+v", carlos)
	}
	var companies int
	testutil.Must(t, app.DB.Gorm.Raw(`SELECT count(*) FROM companies WHERE workspace_id = ? AND lower(name) = 'constructora andina'`, ws.ID).Scan(&companies).Error)
	var linked int
	testutil.Must(t, app.DB.Gorm.Raw(`SELECT count(*) FROM contacts k JOIN companies co ON co.id = k.company_id WHERE lower(co.name) = 'constructora andina'`).Scan(&linked).Error)
	if companies != 1 || linked != 2 {
		t.Errorf("companies named Constructora Andina = %d with %d contacts; want 1 with 2", companies, linked)
	}
	var luis models.Contact
	testutil.Must(t, app.DB.Gorm.Where("phone = ?", "+573001234567").First(&luis).Error)
	if luis.Name != `Luis "Lucho" Pérez` || luis.Country != "CO" {
		t.Errorf("quoted name or country: %+v", luis)
	}
	// The progress page shows the result and the bad lines; the timeline tells the import.
	page := c.Get(path).Doc(t)
	if got := strings.Join(strings.Fields(page.Find(`[data-testid="import-counts"]`).Text()), " "); !strings.Contains(got, "9 de 9 filas · 3 nuevos · 1 actualizados · 5 con error") {
		t.Errorf("counts = %q", got)
	}
	if page.Find(`[data-testid="import-errors"] tbody tr`).Length() != 5 {
		t.Errorf("error table rows = %d, want 5", page.Find(`[data-testid="import-errors"] tbody tr`).Length())
	}
	var maria models.Contact
	testutil.Must(t, app.DB.Gorm.Where("phone = ?", "+51987654321").First(&maria).Error)
	if !strings.Contains(string(maria.Custom), `"plan": "Pro"`) {
		t.Errorf("custom field not imported: %s", maria.Custom)
	}
	if tl := c.Get(fmt.Sprintf("/contacts/%d", carlos.ID)).Doc(t).Find(`[data-testid="timeline"]`).Text(); !strings.Contains(tl, "Importado desde clientes.csv") {
		t.Errorf("timeline lacks the import: %q", tl)
	}
	// Agents cannot import.
	agent := app.Client()
	agent.Login("ana@acme.pe", testutil.Password)
	if r := agent.Get("/contacts/import"); r.StatusCode != http.StatusForbidden {
		t.Errorf("agent import page: %d, want 403", r.StatusCode)
	}
}

// An agent sees the contacts of the conversations they can see; a supervisor their
// teams'; an admin every contact. The API says so with a 404 for the rest.
func TestContactVisibilityPerRole(t *testing.T) {
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	ventas, soporte := app.Team(ws, "Ventas"), app.Team(ws, "Soporte")
	ch := app.Channel(ws, "Principal")
	ana := app.User(ws, "ana@acme.pe", models.RoleAgent, ventas)
	luis := app.User(ws, "luis@acme.pe", models.RoleAgent, ventas)
	sup := app.User(ws, "sup@acme.pe", models.RoleSupervisor, soporte)
	admin := app.User(ws, "admin@acme.pe", models.RoleAdmin)
	anas := app.Inbound(ch, "51911111111", "Pedro", "Hola")
	luiss := app.Inbound(ch, "51922222222", "Rosa", "Hola")
	sops := app.Inbound(ch, "51933333333", "Juan", "Hola")
	testutil.Must(t, app.DB.Gorm.Exec(`UPDATE conversations SET team_id = ?, assignee_id = ? WHERE id = ?`, ventas.ID, ana.ID, anas.ID).Error)
	testutil.Must(t, app.DB.Gorm.Exec(`UPDATE conversations SET team_id = ?, assignee_id = ? WHERE id = ?`, ventas.ID, luis.ID, luiss.ID).Error)
	testutil.Must(t, app.DB.Gorm.Exec(`UPDATE conversations SET team_id = ? WHERE id = ?`, soporte.ID, sops.ID).Error)
	other := app.Workspace("Otra")
	otherAdmin := app.User(other, "admin@otra.pe", models.RoleAdmin)

	list := func(u models.User) []string {
		var out struct {
			Data []struct {
				Name string `json:"name"`
			} `json:"data"`
		}
		decode(t, app.API(u).Do("GET", "/api/v1/contacts", ""), &out)
		var names []string
		for _, d := range out.Data {
			names = append(names, d.Name)
		}
		return names
	}
	for _, tc := range []struct {
		u    models.User
		want string
	}{{ana, "Pedro"}, {luis, "Rosa"}, {sup, "Juan"}, {admin, "Juan,Rosa,Pedro"}, {otherAdmin, ""}} {
		if got := strings.Join(list(tc.u), ","); got != tc.want {
			t.Errorf("%s sees %q, want %q", tc.u.Email, got, tc.want)
		}
	}
	r := app.API(ana).Do("GET", fmt.Sprintf("/api/v1/contacts/%d", luiss.ContactID), "")
	var e apiErr
	decode(t, r, &e)
	if r.StatusCode != http.StatusNotFound || e.Error.Message != "No existe ese contacto o no tienes acceso." {
		t.Errorf("agent reading another's contact: %d %q", r.StatusCode, e.Error.Message)
	}
	if r := app.API(ana).Do("PATCH", fmt.Sprintf("/api/v1/contacts/%d", luiss.ContactID), `{"name":"X"}`); r.StatusCode != http.StatusNotFound {
		t.Errorf("agent patching another's contact: %d", r.StatusCode)
	}
	if r := app.API(otherAdmin).Do("GET", fmt.Sprintf("/api/v1/contacts/%d", anas.ContactID), ""); r.StatusCode != http.StatusNotFound {
		t.Errorf("another workspace's admin: %d", r.StatusCode)
	}
	// Pages follow the same rule.
	c := app.Client()
	c.Login(ana.Email, testutil.Password)
	if r := c.Get(fmt.Sprintf("/contacts/%d", luiss.ContactID)); r.StatusCode != http.StatusNotFound || !strings.Contains(r.Body, "No existe ese contacto o no tienes acceso.") {
		t.Errorf("agent page for another's contact: %d", r.StatusCode)
	}
	if doc := c.Get("/contacts").Doc(t); doc.Find(`[data-testid="contact-row"]`).Length() != 1 {
		t.Errorf("agent list rows = %d, want 1", doc.Find(`[data-testid="contact-row"]`).Length())
	}
	// Agents cannot merge.
	if r := c.PostForm(fmt.Sprintf("/contacts/%d/merge", anas.ContactID), url.Values{"other_id": {fmt.Sprint(luiss.ContactID)}}); r.StatusCode != http.StatusForbidden {
		t.Errorf("agent merge: %d, want 403", r.StatusCode)
	}
}

// The API: search in any format, keyset cursor, create, patch with validation.
func TestContactsAPI(t *testing.T) {
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	ch := app.Channel(ws, "Principal")
	admin := app.User(ws, "admin@acme.pe", models.RoleAdmin)
	app.User(ws, "ana@acme.pe", models.RoleAgent)
	for i := 0; i < 5; i++ {
		app.Inbound(ch, fmt.Sprintf("5198765432%d", i), fmt.Sprintf("Cliente %d", i), "Hola")
	}
	api := app.API(admin)
	r := api.Do("POST", "/api/v1/contacts", `{"phone": "+52 1 55 1234 5678", "name": "José Núñez", "email": "Jose@Valle.MX", "company": "Logística del Valle"}`)
	var created struct {
		Data struct {
			ID      int64  `json:"id"`
			Phone   string `json:"phone"`
			Email   string `json:"email"`
			Company *struct {
				ID   int64  `json:"id"`
				Name string `json:"name"`
			} `json:"company"`
		} `json:"data"`
	}
	decode(t, r, &created)
	if r.StatusCode != http.StatusCreated || created.Data.Phone != "+525512345678" || created.Data.Email != "jose@valle.mx" || created.Data.Company == nil {
		t.Fatalf("create: %d %s", r.StatusCode, r.Body)
	}
	for _, q := range []string{"nunez", "55 1234 5678", "+52 1 55 1234-5678", "valle.mx", "logistica"} {
		var out struct {
			Data []struct {
				ID int64 `json:"id"`
			} `json:"data"`
		}
		decode(t, api.Do("GET", "/api/v1/contacts?q="+url.QueryEscape(q), ""), &out)
		if len(out.Data) != 1 || out.Data[0].ID != created.Data.ID {
			t.Errorf("q=%q found %+v, want only José", q, out.Data)
		}
	}
	// Keyset paging: 6 contacts, 4 per page.
	seen := map[int64]bool{}
	cursor := ""
	for page := 0; page < 3; page++ {
		var out struct {
			Data []struct {
				ID int64 `json:"id"`
			} `json:"data"`
			Next *string `json:"next_cursor"`
		}
		p := "/api/v1/contacts?limit=4"
		if cursor != "" {
			p += "&cursor=" + cursor
		}
		decode(t, api.Do("GET", p, ""), &out)
		for _, d := range out.Data {
			if seen[d.ID] {
				t.Fatalf("contact %d on two pages", d.ID)
			}
			seen[d.ID] = true
		}
		if out.Next == nil {
			break
		}
		cursor = *out.Next
	}
	if len(seen) != 6 {
		t.Errorf("paged through %d contacts, want 6", len(seen))
	}
	if r := api.Do("GET", "/api/v1/contacts?cursor=abc", ""); r.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("bad cursor: %d", r.StatusCode)
	}
	path := fmt.Sprintf("/api/v1/contacts/%d", created.Data.ID)
	r = api.Do("PATCH", path, `{"email": "no", "owner": "nadie@acme.pe"}`)
	var e apiErr
	decode(t, r, &e)
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(e.Error.Message, "nadie@acme.pe") {
		t.Errorf("bad patch: %d %s", r.StatusCode, r.Body)
	}
	r = api.Do("PATCH", path, `{"name": "José Núñez R.", "owner": "ana@acme.pe", "notes": "Prefiere WhatsApp"}`)
	var got struct {
		Data struct {
			Name  string `json:"name"`
			Notes string `json:"notes"`
			Owner *struct {
				Name string `json:"name"`
			} `json:"owner"`
		} `json:"data"`
	}
	decode(t, r, &got)
	if r.StatusCode != 200 || got.Data.Name != "José Núñez R." || got.Data.Owner == nil || got.Data.Notes != "Prefiere WhatsApp" {
		t.Errorf("patch: %d %s", r.StatusCode, r.Body)
	}
	if r := api.Do("POST", "/api/v1/contacts", `{"phone": "hola"}`); r.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("bad phone: %d", r.StatusCode)
	}
	if r := api.Do("GET", "/api/v1/contacts/999999", ""); r.StatusCode != http.StatusNotFound {
		t.Errorf("missing: %d", r.StatusCode)
	}
}
