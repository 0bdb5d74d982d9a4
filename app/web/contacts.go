package web

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/apperr"
	crm "github.com/atiende/atiende/app/contacts"
	"github.com/atiende/atiende/models"
	views "github.com/atiende/atiende/views/pages/contacts"
	"github.com/atiende/atiende/views/pages/settings"
)

// Contactos and Empresas (the CRM's people and accounts), their custom fields and the
// CSV import. The domain is app/contacts; this file reads forms and renders.

func (s *Server) contacts() *crm.Service { return s.Services.Contacts }

func (s *Server) owners(ctx context.Context, ws int64) ([]views.Option, error) {
	var out []views.Option
	err := s.DB.Gorm.WithContext(ctx).Raw(`SELECT id, name FROM users WHERE workspace_id = ? AND active ORDER BY lower(name)`, ws).Scan(&out).Error
	return out, err
}

func canImport(v accounts.Viewer) bool { return v.IsAdmin() || v.IsSupervisor() }

func queryID(c echo.Context, name string) int64 {
	n, _ := strconv.ParseInt(c.QueryParam(name), 10, 64)
	return n
}

func contactFilter(c echo.Context) crm.Filter {
	f := crm.Filter{Q: strings.TrimSpace(c.QueryParam("q")), OwnerID: queryID(c, "owner"), CompanyID: queryID(c, "company"),
		Country: strings.ToUpper(strings.TrimSpace(c.QueryParam("country"))), LabelID: queryID(c, "label"), After: queryID(c, "after"),
		OpenLead: c.QueryParam("open_lead") == "1"}
	if f.OwnerID < -1 {
		f.OwnerID = 0
	}
	if len(f.Country) != 2 {
		f.Country = ""
	}
	return f
}

func (s *Server) contactsList(c echo.Context) error {
	ctx, v := c.Request().Context(), viewer(c)
	f := contactFilter(c)
	rows, next, err := s.contacts().List(ctx, v, f)
	if err != nil {
		return err
	}
	p := views.ListProps{Rows: rows, Next: next, Filter: f, Countries: views.Countries(), Loc: v.Workspace.Location(), CanImport: canImport(v),
		Filtered: f.Q != "" || f.OwnerID != 0 || f.CompanyID != 0 || f.Country != "" || f.LabelID != 0 || f.OpenLead}
	if f.After > 0 && isHTMX(c) {
		return renderComponent(c, http.StatusOK, views.Rows(p))
	}
	if p.Owners, err = s.owners(ctx, v.Workspace.ID); err != nil {
		return err
	}
	companies, err := s.contacts().Companies(ctx, v, "", 500)
	if err != nil {
		return err
	}
	for _, co := range companies {
		p.Companies = append(p.Companies, views.Option{ID: co.ID, Name: co.Name})
	}
	if err := s.DB.Gorm.WithContext(ctx).Raw(`SELECT id, name FROM labels WHERE workspace_id = ? ORDER BY lower(name)`, v.Workspace.ID).Scan(&p.Labels).Error; err != nil {
		return err
	}
	g := s.globals(c, "Contactos", "contacts")
	g.Search = "" // the top bar searches conversations; this page has its own search
	return s.render(c, http.StatusOK, g, views.List(p))
}

// contactsExport writes the filtered list as CSV (UTF-8 with BOM, so Excel reads the accents).
func (s *Server) contactsExport(c echo.Context) error {
	ctx, v := c.Request().Context(), viewer(c)
	f := contactFilter(c)
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	h.Set(echo.HeaderContentDisposition, `attachment; filename="contactos.csv"`)
	c.Response().WriteHeader(http.StatusOK)
	_, _ = io.WriteString(c.Response(), "\ufeff")
	w := csv.NewWriter(c.Response())
	_ = w.Write([]string{"id", "nombre", "telefono", "pais", "empresa", "correo", "responsable", "creado"})
	err := s.contacts().Each(ctx, v, f, func(r crm.Row) error {
		return w.Write([]string{strconv.FormatInt(r.ID, 10), r.Name, r.Phone, r.Country, r.Company, r.Email, r.OwnerName, r.CreatedAt.UTC().Format("2006-01-02")})
	})
	w.Flush()
	if err != nil {
		s.Logger.Error("contacts export failed", "err", err)
	}
	return nil
}

func (s *Server) contactPage(c echo.Context, status int, k models.Contact, errs apperr.Validation, custom map[string]string) error {
	ctx, v := c.Request().Context(), viewer(c)
	p := views.DetailProps{Contact: k, Errors: errs, CSRF: s.csrfToken(c), Loc: v.Workspace.Location(), Now: s.Clock.Now(),
		CanMerge: v.IsAdmin() || v.IsSupervisor(), MergeQ: strings.TrimSpace(c.QueryParam("merge_q")), Custom: custom}
	var err error
	if p.Owners, err = s.owners(ctx, v.Workspace.ID); err != nil {
		return err
	}
	if p.Fields, err = s.contacts().Fields(ctx, v.Workspace.ID); err != nil {
		return err
	}
	if p.Custom == nil {
		p.Custom = customStrings(k.Custom)
	}
	companies, err := s.contacts().Companies(ctx, v, "", 500)
	if err != nil {
		return err
	}
	for _, co := range companies {
		p.CompanyNames = append(p.CompanyNames, co.Name)
	}
	if p.Conversations, err = s.contacts().Conversations(ctx, v, k.ID); err != nil {
		return err
	}
	if p.Timeline, err = s.contacts().Timeline(ctx, v, k.ID); err != nil {
		return err
	}
	if p.Timeline, err = s.withLeadEvents(ctx, v, k.ID, p.Timeline); err != nil {
		return err
	}
	if p.Sales, err = s.contactSales(ctx, v, k.ID); err != nil {
		return err
	}
	if p.CanMerge && p.MergeQ != "" {
		rows, _, err := s.contacts().List(ctx, v, crm.Filter{Q: p.MergeQ, Limit: 10})
		if err != nil {
			return err
		}
		for _, r := range rows {
			if r.ID != k.ID {
				p.Candidates = append(p.Candidates, r)
			}
		}
	}
	return s.render(c, status, s.globals(c, k.DisplayName(), "contacts"), views.Detail(p))
}

func customStrings(j models.JSON) map[string]string {
	out := map[string]string{}
	var m map[string]any
	if len(j) > 0 && json.Unmarshal(j, &m) == nil {
		for k, v := range m {
			switch t := v.(type) {
			case string:
				out[k] = t
			case float64:
				out[k] = strconv.FormatFloat(t, 'f', -1, 64)
			}
		}
	}
	return out
}

func (s *Server) contactShow(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return crm.ErrNoContact
	}
	k, err := s.contacts().Get(c.Request().Context(), viewer(c), id)
	if err != nil {
		return err
	}
	return s.contactPage(c, http.StatusOK, k, nil, nil)
}

func (s *Server) contactUpdate(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return crm.ErrNoContact
	}
	ctx, v := c.Request().Context(), viewer(c)
	in := crm.ProfileInput{Custom: map[string]string{}}
	name, company, email, notes := c.FormValue("name"), c.FormValue("company"), c.FormValue("email"), c.FormValue("notes")
	in.Name, in.Company, in.Email, in.Notes = &name, &company, &email, &notes
	var owner *int64
	if o := c.FormValue("owner_id"); o != "" {
		n, err := strconv.ParseInt(o, 10, 64)
		if err != nil {
			return apperr.Validation{"owner_id": "Elige un responsable de la lista."}
		}
		owner = &n
	}
	in.OwnerID = &owner
	form, err := c.FormParams()
	if err != nil {
		return err
	}
	for key, vals := range form {
		if k, ok := strings.CutPrefix(key, "custom."); ok && len(vals) > 0 {
			in.Custom[k] = vals[0]
		}
	}
	k, err := s.contacts().Update(ctx, v, id, in)
	var verr apperr.Validation
	if errors.As(err, &verr) {
		k.Name, k.Company, k.Email, k.Notes, k.OwnerID = name, company, email, notes, owner
		return s.contactPage(c, http.StatusUnprocessableEntity, k, verr, in.Custom)
	}
	if err != nil {
		return err
	}
	s.flash(c, "Contacto guardado.")
	return seeOther(c, "/contacts/"+strconv.FormatInt(id, 10))
}

func (s *Server) contactMerge(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return crm.ErrNoContact
	}
	other, err := strconv.ParseInt(c.FormValue("other_id"), 10, 64)
	if err != nil {
		return crm.ErrNoContact
	}
	res, err := s.contacts().Merge(c.Request().Context(), viewer(c), id, other)
	if err != nil {
		return err
	}
	msg := "Contactos fusionados."
	if n := res.ConversationsMoved + res.ConversationsCombined; n > 0 {
		msg = "Contactos fusionados: " + plural(n, "conversación pasó", "conversaciones pasaron") + " a este contacto."
	}
	s.flash(c, msg)
	return seeOther(c, "/contacts/"+strconv.FormatInt(id, 10))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// Empresas.

func companyInput(c echo.Context) (crm.CompanyInput, error) {
	in := crm.CompanyInput{Name: c.FormValue("name"), TaxID: c.FormValue("tax_id"), Country: c.FormValue("country"), Domain: c.FormValue("domain")}
	if o := c.FormValue("owner_id"); o != "" {
		n, err := strconv.ParseInt(o, 10, 64)
		if err != nil {
			return in, apperr.Validation{"owner_id": "Elige un responsable de la lista."}
		}
		in.OwnerID = &n
	}
	return in, nil
}

func companyForm(in crm.CompanyInput, errs apperr.Validation, csrf string) views.CompanyForm {
	f := views.CompanyForm{Name: in.Name, TaxID: in.TaxID, Country: in.Country, Domain: in.Domain, Errors: errs, CSRF: csrf}
	if in.OwnerID != nil {
		f.OwnerID = *in.OwnerID
	}
	return f
}

func (s *Server) companiesPage(c echo.Context, status int, f views.CompanyForm) error {
	ctx, v := c.Request().Context(), viewer(c)
	q := strings.TrimSpace(c.QueryParam("q"))
	rows, err := s.contacts().Companies(ctx, v, q, 500)
	if err != nil {
		return err
	}
	owners, err := s.owners(ctx, v.Workspace.ID)
	if err != nil {
		return err
	}
	f.CSRF = s.csrfToken(c)
	return s.render(c, status, s.globals(c, "Empresas", "contacts"), views.Companies(views.CompaniesProps{Rows: rows, Q: q, Form: f, Owners: owners}))
}

func (s *Server) companiesList(c echo.Context) error {
	return s.companiesPage(c, http.StatusOK, views.CompanyForm{})
}

func (s *Server) companyCreate(c echo.Context) error {
	in, err := companyInput(c)
	var verr apperr.Validation
	if err == nil {
		var co models.Company
		co, err = s.contacts().CreateCompany(c.Request().Context(), viewer(c), in)
		if err == nil {
			s.flash(c, "Empresa creada: "+co.Name)
			return seeOther(c, "/companies/"+strconv.FormatInt(co.ID, 10))
		}
	}
	if errors.As(err, &verr) {
		return s.companiesPage(c, http.StatusUnprocessableEntity, companyForm(in, verr, ""))
	}
	return err
}

func (s *Server) companyPage(c echo.Context, status int, co models.Company, f views.CompanyForm) error {
	ctx, v := c.Request().Context(), viewer(c)
	p := views.CompanyProps{Company: co, Form: f, Loc: v.Workspace.Location(), Now: s.Clock.Now()}
	var err error
	if p.Owners, err = s.owners(ctx, v.Workspace.ID); err != nil {
		return err
	}
	for _, o := range p.Owners {
		if co.OwnerID != nil && o.ID == *co.OwnerID {
			p.OwnerName = o.Name
		}
	}
	if p.Contacts, _, err = s.contacts().List(ctx, v, crm.Filter{CompanyID: co.ID, Limit: 500}); err != nil {
		return err
	}
	ids := make([]int64, len(p.Contacts))
	for i, r := range p.Contacts {
		ids[i] = r.ID
	}
	if p.Conversations, err = s.contacts().Conversations(ctx, v, ids...); err != nil {
		return err
	}
	if p.Sales.Open, err = s.Services.CRM.CompanyOpenLeads(ctx, v, co.ID); err != nil {
		return err
	}
	p.Form.ID, p.Form.CSRF = co.ID, s.csrfToken(c)
	return s.render(c, status, s.globals(c, co.Name, "contacts"), views.Company(p))
}

func (s *Server) companyShow(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return crm.ErrNoCompany
	}
	co, err := s.contacts().Company(c.Request().Context(), viewer(c), id)
	if err != nil {
		return err
	}
	in := crm.CompanyInput{Name: co.Name, TaxID: co.TaxID, Country: co.Country, Domain: co.Domain, OwnerID: co.OwnerID}
	return s.companyPage(c, http.StatusOK, co, companyForm(in, nil, ""))
}

func (s *Server) companyUpdate(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return crm.ErrNoCompany
	}
	ctx, v := c.Request().Context(), viewer(c)
	co, err := s.contacts().Company(ctx, v, id)
	if err != nil {
		return err
	}
	in, err := companyInput(c)
	if err == nil {
		if _, err = s.contacts().UpdateCompany(ctx, v, id, in); err == nil {
			s.flash(c, "Empresa guardada.")
			return seeOther(c, "/companies/"+strconv.FormatInt(id, 10))
		}
	}
	var verr apperr.Validation
	if errors.As(err, &verr) {
		return s.companyPage(c, http.StatusUnprocessableEntity, co, companyForm(in, verr, ""))
	}
	return err
}

// Configuración → Campos de contacto.

func (s *Server) fieldsPage(c echo.Context, status int, p views.FieldsProps) error {
	fields, err := s.contacts().Fields(c.Request().Context(), viewer(c).Workspace.ID)
	if err != nil {
		return err
	}
	p.Fields, p.CSRF = fields, s.csrfToken(c)
	return s.render(c, status, s.globals(c, "Campos de contacto", "settings"), settings.Shell("contact-fields", views.Fields(p)))
}

func (s *Server) fieldsList(c echo.Context) error {
	return s.fieldsPage(c, http.StatusOK, views.FieldsProps{Kind: models.FieldText})
}

func (s *Server) fieldCreate(c echo.Context) error {
	in := crm.FieldInput{Label: c.FormValue("label"), Kind: c.FormValue("kind"), Options: c.FormValue("options")}
	f, err := s.contacts().CreateField(c.Request().Context(), viewer(c), in)
	var verr apperr.Validation
	switch {
	case err == nil:
		s.flash(c, "Campo creado: "+f.Label)
		return seeOther(c, "/settings/contact-fields")
	case errors.As(err, &verr):
		return s.fieldsPage(c, http.StatusUnprocessableEntity, views.FieldsProps{Label: in.Label, Kind: in.Kind, Opts: in.Options, Errors: verr})
	}
	return err
}

func (s *Server) fieldDelete(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return err
	}
	f, err := s.contacts().DeleteField(c.Request().Context(), viewer(c), id)
	if err != nil {
		return err
	}
	s.flash(c, "Campo eliminado: "+f.Label)
	return seeOther(c, "/settings/contact-fields")
}

// Importar contactos (admins and supervisors).

func (s *Server) importsPage(c echo.Context, status int, errs apperr.Validation) error {
	ctx, v := c.Request().Context(), viewer(c)
	list, err := s.contacts().Imports(ctx, v)
	if err != nil {
		return err
	}
	return s.render(c, status, s.globals(c, "Importar contactos", "contacts"),
		views.Imports(views.ImportsProps{Imports: list, Errors: errs, CSRF: s.csrfToken(c), Loc: v.Workspace.Location()}))
}

func (s *Server) importsList(c echo.Context) error { return s.importsPage(c, http.StatusOK, nil) }

func (s *Server) importUpload(c echo.Context) error {
	fh, err := c.FormFile("file")
	if err != nil {
		return s.importsPage(c, http.StatusUnprocessableEntity, apperr.Validation{"file": "Elige un archivo CSV."})
	}
	if fh.Size > crm.MaxImportBytes {
		return s.importsPage(c, http.StatusUnprocessableEntity, apperr.Validation{"file": "El archivo pesa más de 9 MB: divídelo en partes."})
	}
	f, err := fh.Open()
	if err != nil {
		return err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, crm.MaxImportBytes+1))
	if err != nil {
		return err
	}
	id, err := s.contacts().Upload(c.Request().Context(), viewer(c), fh.Filename, data)
	var verr apperr.Validation
	if errors.As(err, &verr) {
		return s.importsPage(c, http.StatusUnprocessableEntity, verr)
	}
	if err != nil {
		return err
	}
	return seeOther(c, "/contacts/import/"+strconv.FormatInt(id, 10))
}

func (s *Server) importMappingPage(c echo.Context, status int, imp models.ContactImport, msg string) error {
	ctx, v := c.Request().Context(), viewer(c)
	prev, err := s.contacts().PreviewImport(ctx, v, imp.ID)
	if err != nil {
		return err
	}
	fields, err := s.contacts().Fields(ctx, v.Workspace.ID)
	if err != nil {
		return err
	}
	return s.render(c, status, s.globals(c, "Importar contactos", "contacts"),
		views.Mapping(views.MappingProps{Import: imp, Preview: prev, Fields: fields, Error: msg, CSRF: s.csrfToken(c)}))
}

func (s *Server) importProgressProps(c echo.Context, id int64) (views.ProgressProps, error) {
	ctx, v := c.Request().Context(), viewer(c)
	imp, err := s.contacts().Import(ctx, v, id)
	if err != nil {
		return views.ProgressProps{}, err
	}
	p := views.ProgressProps{Import: imp}
	p.Errors, err = s.contacts().ImportErrors(ctx, v, id, 50)
	return p, err
}

// importShow is the mapping, the progress or the result; opening it resumes an import
// whose run was cut short (a restart): the advisory lock keeps it to one runner.
func (s *Server) importShow(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return err
	}
	p, err := s.importProgressProps(c, id)
	if err != nil {
		return err
	}
	if p.Import.Status == "mapping" {
		return s.importMappingPage(c, http.StatusOK, p.Import, "")
	}
	if p.Import.Status == "queued" || p.Import.Status == "running" {
		s.runImport(id)
	}
	return s.render(c, http.StatusOK, s.globals(c, "Importar contactos", "contacts"), views.Progress(p))
}

func (s *Server) runImport(id int64) {
	go func() { _ = s.Services.ContactImports.Run(context.Background(), id) }()
}

func (s *Server) importStart(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return err
	}
	ctx, v := c.Request().Context(), viewer(c)
	m := crm.Mapping{Columns: map[string]string{}, DefaultCountry: c.FormValue("default_country")}
	form, err := c.FormParams()
	if err != nil {
		return err
	}
	for key, vals := range form {
		if col, ok := strings.CutPrefix(key, "col."); ok && len(vals) > 0 && vals[0] != "" {
			m.Columns[col] = vals[0]
		}
	}
	err = s.contacts().StartImport(ctx, v, id, m)
	var verr apperr.Validation
	if errors.As(err, &verr) {
		imp, ierr := s.contacts().Import(ctx, v, id)
		if ierr != nil {
			return ierr
		}
		return s.importMappingPage(c, http.StatusUnprocessableEntity, imp, verr.Error())
	}
	if err != nil {
		return err
	}
	s.runImport(id)
	return seeOther(c, "/contacts/import/"+strconv.FormatInt(id, 10))
}

func (s *Server) importProgress(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return err
	}
	p, err := s.importProgressProps(c, id)
	if err != nil {
		return err
	}
	return renderComponent(c, http.StatusOK, views.ProgressCard(p))
}

func (s *Server) importErrorsCSV(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return err
	}
	ctx, v := c.Request().Context(), viewer(c)
	if _, err := s.contacts().Import(ctx, v, id); err != nil {
		return err
	}
	list, err := s.contacts().ImportErrors(ctx, v, id, 0)
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	h.Set(echo.HeaderContentDisposition, `attachment; filename="errores-importacion-`+strconv.FormatInt(id, 10)+`.csv"`)
	c.Response().WriteHeader(http.StatusOK)
	_, _ = io.WriteString(c.Response(), "\ufeff")
	w := csv.NewWriter(c.Response())
	_ = w.Write([]string{"linea", "motivo"})
	for _, e := range list {
		_ = w.Write([]string{strconv.Itoa(e.Line), e.Message})
	}
	w.Flush()
	return nil
}

// API: /api/v1/contacts.

type apiContactView struct {
	ID        int64             `json:"id"`
	WaID      string            `json:"wa_id"`
	Phone     string            `json:"phone"`
	Country   string            `json:"country"`
	Name      string            `json:"name"`
	Company   *apiCompanyRef    `json:"company"`
	Email     string            `json:"email"`
	Owner     *apiPerson        `json:"owner"`
	Notes     string            `json:"notes,omitempty"`
	Custom    map[string]string `json:"custom,omitempty"`
	CreatedAt string            `json:"created_at"`
}

type apiCompanyRef struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

func contactView(id int64, waID, ph, country, name, company string, companyID *int64, email string, ownerID *int64, ownerName string, created string) apiContactView {
	out := apiContactView{ID: id, WaID: waID, Phone: ph, Country: country, Name: name, Email: email, CreatedAt: created}
	if companyID != nil {
		out.Company = &apiCompanyRef{ID: *companyID, Name: company}
	}
	if ownerID != nil {
		out.Owner = &apiPerson{ID: *ownerID, Name: ownerName}
	}
	return out
}

func (s *Server) apiContactJSON(c echo.Context, status int, k models.Contact) error {
	ownerName := ""
	if k.OwnerID != nil {
		if err := s.DB.Gorm.WithContext(c.Request().Context()).Raw(`SELECT name FROM users WHERE id = ?`, *k.OwnerID).Scan(&ownerName).Error; err != nil {
			return err
		}
	}
	out := contactView(k.ID, k.WaID, k.Phone, k.Country, k.DisplayName(), k.Company, k.CompanyID, k.Email, k.OwnerID, ownerName,
		k.CreatedAt.UTC().Format("2006-01-02T15:04:05Z07:00"))
	out.Notes, out.Custom = k.Notes, customStrings(k.Custom)
	return c.JSON(status, map[string]any{"data": out})
}

func (s *Server) apiContacts(c echo.Context) error {
	f := crm.Filter{Q: c.QueryParam("q")}
	switch c.QueryParam("open_lead") {
	case "", "0", "false":
	case "1", "true":
		f.OpenLead = true
	default:
		return apperr.Validation{"open_lead": "open_lead es 1 (solo contactos con una oportunidad abierta) o 0."}
	}
	if cur := c.QueryParam("cursor"); cur != "" {
		n, err := strconv.ParseInt(cur, 10, 64)
		if err != nil || n <= 0 {
			return apperr.Validation{"cursor": "El cursor no es válido: usa el next_cursor de la respuesta anterior."}
		}
		f.After = n
	}
	if l := c.QueryParam("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 200 {
			return apperr.Validation{"limit": "limit va de 1 a 200."}
		}
		f.Limit = n
	}
	rows, next, err := s.contacts().List(c.Request().Context(), viewer(c), f)
	if err != nil {
		return err
	}
	data := make([]apiContactView, len(rows))
	for i, r := range rows {
		data[i] = contactView(r.ID, r.WaID, r.Phone, r.Country, r.Name, r.Company, r.CompanyID, r.Email, r.OwnerID, r.OwnerName,
			r.CreatedAt.UTC().Format("2006-01-02T15:04:05Z07:00"))
	}
	var cursor *string
	if next != 0 {
		n := strconv.FormatInt(next, 10)
		cursor = &n
	}
	return c.JSON(http.StatusOK, map[string]any{"data": data, "next_cursor": cursor})
}

func (s *Server) apiContact(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return crm.ErrNoContact
	}
	k, err := s.contacts().Get(c.Request().Context(), viewer(c), id)
	if err != nil {
		return err
	}
	return s.apiContactJSON(c, http.StatusOK, k)
}

func (s *Server) apiContactCreate(c echo.Context) error {
	var in struct {
		Phone   string `json:"phone"`
		Name    string `json:"name"`
		Email   string `json:"email"`
		Company string `json:"company"`
		Country string `json:"country"`
	}
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	k, err := s.contacts().Create(c.Request().Context(), viewer(c), crm.CreateInput{Phone: in.Phone, Name: in.Name, Email: in.Email, Company: in.Company, Country: in.Country})
	if err != nil {
		return err
	}
	return s.apiContactJSON(c, http.StatusCreated, k)
}

func (s *Server) apiContactPatch(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return crm.ErrNoContact
	}
	var in struct {
		Name    *string           `json:"name"`
		Email   *string           `json:"email"`
		Company *string           `json:"company"`
		Notes   *string           `json:"notes"`
		Owner   *string           `json:"owner"` // the owner's e-mail; "" clears
		Custom  map[string]string `json:"custom"`
	}
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	ctx, v := c.Request().Context(), viewer(c)
	p := crm.ProfileInput{Name: in.Name, Email: in.Email, Company: in.Company, Notes: in.Notes, Custom: in.Custom}
	if in.Owner != nil {
		var owner *int64
		if e := strings.TrimSpace(*in.Owner); e != "" {
			var uid int64
			if err := s.DB.Gorm.WithContext(ctx).Raw(`SELECT id FROM users WHERE workspace_id = ? AND lower(email) = lower(?) AND active`, v.Workspace.ID, e).Scan(&uid).Error; err != nil {
				return err
			}
			if uid == 0 {
				return apperr.Validation{"owner": "No hay un usuario activo con el correo " + e + "."}
			}
			owner = &uid
		}
		p.OwnerID = &owner
	}
	k, err := s.contacts().Update(ctx, v, id, p)
	if err != nil {
		return err
	}
	return s.apiContactJSON(c, http.StatusOK, k)
}
