package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

// Custom fields defined by an admin are edited on the contact with the profile; a bad
// value is a clear 422 that changes nothing; the company typed is found or created and
// its page lists the contact and the conversation; the list filters, pages and exports.
func TestContactProfileFieldsCompanyAndList(t *testing.T) {
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	ch := app.Channel(ws, "Principal")
	admin := app.User(ws, "admin@acme.pe", models.RoleAdmin)
	ana := app.User(ws, "ana@acme.pe", models.RoleAgent)
	conv := app.Inbound(ch, "51987654321", "Mari", "Hola")
	for i := 0; i < 55; i++ {
		app.Inbound(ch, fmt.Sprintf("5191100%04d", i), fmt.Sprintf("Cliente %d", i), "Hola")
	}
	c := app.Client()
	c.Login(admin.Email, testutil.Password)

	if r := c.PostForm("/settings/contact-fields", url.Values{"label": {"Plan"}, "kind": {"select"}, "options": {"Básico"}}); r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "al menos dos opciones") {
		t.Fatalf("select with one option: %d", r.StatusCode)
	}
	for _, f := range []url.Values{
		{"label": {"Plan"}, "kind": {"select"}, "options": {"Básico\nPro\nEmpresa"}},
		{"label": {"Cumpleaños"}, "kind": {"date"}},
		{"label": {"Empleados"}, "kind": {"number"}},
	} {
		if r := c.PostForm("/settings/contact-fields", f); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("create field %v: %d %s", f, r.StatusCode, r.Body)
		}
	}
	if r := c.PostForm("/settings/contact-fields", url.Values{"label": {"plan"}, "kind": {"text"}}); r.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("duplicate field: %d", r.StatusCode)
	}
	path := fmt.Sprintf("/contacts/%d", conv.ContactID)
	form := url.Values{"name": {"María Quispe"}, "company": {"Constructora Andina"}, "email": {"maria@andina.pe"}, "owner_id": {fmt.Sprint(ana.ID)},
		"notes": {"Prefiere llamadas por la tarde"}, "custom.plan": {"pro"}, "custom.cumpleanos": {"31/12/1990"}, "custom.empleados": {"muchos"}}
	r := c.PostForm(path, form)
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "Empleados: escribe un número") {
		t.Fatalf("bad number: %d", r.StatusCode)
	}
	if v := r.Doc(t).Find(`input[name="name"]`).AttrOr("value", ""); v != "María Quispe" {
		t.Errorf("the form lost what was typed: %q", v)
	}
	var k models.Contact
	testutil.Must(t, app.DB.Gorm.First(&k, conv.ContactID).Error)
	if k.Name != "" || k.CompanyID != nil {
		t.Fatalf("a rejected edit changed the contact: %+v", k)
	}
	form.Set("custom.empleados", "120")
	if r := c.PostForm(path, form); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d %s", r.StatusCode, r.Body)
	}
	testutil.Must(t, app.DB.Gorm.First(&k, conv.ContactID).Error)
	if k.Name != "María Quispe" || k.Company != "Constructora Andina" || k.CompanyID == nil || k.OwnerID == nil || *k.OwnerID != ana.ID ||
		!strings.Contains(string(k.Custom), `"plan": "Pro"`) || !strings.Contains(string(k.Custom), `"cumpleanos": "1990-12-31"`) {
		t.Fatalf("saved contact: %+v custom %s", k, k.Custom)
	}
	doc := c.Get(path).Doc(t)
	if v := doc.Find(`select[name="custom.plan"] option[selected]`).Text(); v != "Pro" {
		t.Errorf("plan shown as %q", v)
	}
	if tl := doc.Find(`[data-testid="timeline"]`).Text(); !strings.Contains(tl, "Admin editó nombre, correo, notas, responsable, plan, cumpleaños, empleados y empresa") {
		t.Errorf("timeline: %q", strings.Join(strings.Fields(tl), " "))
	}
	// The company: the same name in other case is the same company; renaming it renames it on its contacts.
	co := fmt.Sprintf("/companies/%d", *k.CompanyID)
	page := c.Get(co).Doc(t)
	if page.Find(`[data-testid="company-contact"]`).Length() != 1 || page.Find(`[data-testid="conversation-item"]`).Length() != 1 {
		t.Errorf("company page: %d contacts, %d conversations", page.Find(`[data-testid="company-contact"]`).Length(), page.Find(`[data-testid="conversation-item"]`).Length())
	}
	if r := c.PostForm(co, url.Values{"name": {"Constructora Andina S.A.C."}, "tax_id": {"20123456789"}, "country": {"PE"}, "domain": {"https://www.andina.pe/"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("company update: %d %s", r.StatusCode, r.Body)
	}
	testutil.Must(t, app.DB.Gorm.First(&k, conv.ContactID).Error)
	var company models.Company
	testutil.Must(t, app.DB.Gorm.First(&company, *k.CompanyID).Error)
	if k.Company != "Constructora Andina S.A.C." || company.Domain != "andina.pe" || company.TaxID != "20123456789" {
		t.Errorf("after rename: contact company %q, company %+v", k.Company, company)
	}
	if r := c.PostForm("/companies", url.Values{"name": {"constructora andina s.a.c."}}); r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "Ya existe una empresa") {
		t.Errorf("duplicate company: %d", r.StatusCode)
	}
	if r := c.PostForm("/companies", url.Values{"name": {"Acme"}, "domain": {"no es dominio"}}); r.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("bad domain: %d", r.StatusCode)
	}
	// The list: filter by company, search by e-mail, keyset "Cargar más", CSV export.
	one := c.Get("/contacts?company=" + fmt.Sprint(*k.CompanyID)).Doc(t)
	if one.Find(`[data-testid="contact-row"]`).Length() != 1 {
		t.Errorf("company filter rows = %d", one.Find(`[data-testid="contact-row"]`).Length())
	}
	if c.Get("/contacts?q=andina.pe").Doc(t).Find(`[data-testid="contact-row"]`).Length() != 1 {
		t.Errorf("search by e-mail")
	}
	first := c.Get("/contacts").Doc(t)
	if first.Find(`[data-testid="contact-row"]`).Length() != 50 {
		t.Fatalf("first page rows = %d, want 50", first.Find(`[data-testid="contact-row"]`).Length())
	}
	more, _ := first.Find(`[data-testid="load-more"]`).Attr("hx-get")
	rest := c.HTMX("GET", more, nil).Body // table rows, swapped in place of the button's row
	if strings.Count(rest, `data-testid="contact-row"`) != 6 || strings.Contains(rest, "load-more") || strings.Contains(rest, "<html") {
		t.Errorf("second page: %s", rest)
	}
	csv := c.Get("/contacts/export.csv?owner=" + fmt.Sprint(ana.ID))
	if csv.StatusCode != 200 || !strings.Contains(csv.Body, "id,nombre,telefono") || !strings.Contains(csv.Body, "María Quispe,+51987654321,PE,Constructora Andina S.A.C.,maria@andina.pe,Ana") || strings.Count(csv.Body, "\n") != 2 {
		t.Errorf("export: %d\n%s", csv.StatusCode, csv.Body)
	}
}
