// Package contacts renders the CRM's contacts, companies, custom fields and imports.
package contacts

import (
	"net/url"
	"sort"
	"strconv"
	"time"

	crm "github.com/atiende/atiende/app/contacts"
	salescrm "github.com/atiende/atiende/app/crm"
	"github.com/atiende/atiende/app/phone"
	"github.com/atiende/atiende/models"
	"github.com/atiende/atiende/views/pages/conversation"
	crmview "github.com/atiende/atiende/views/pages/crm"
	"github.com/atiende/atiende/views/pages/settings"
)

// Option is an entry of a select.
type Option struct {
	ID   int64
	Name string
}

// ListProps is the contacts list.
type ListProps struct {
	Rows      []crm.Row
	Next      int64
	Filter    crm.Filter
	Owners    []Option
	Companies []Option
	Labels    []Option
	Countries []string
	Filtered  bool
	CanImport bool
	Loc       *time.Location
}

// Query is the filter as a query string (without the cursor).
func (p ListProps) Query() url.Values {
	q := url.Values{}
	f := p.Filter
	if f.Q != "" {
		q.Set("q", f.Q)
	}
	if f.OwnerID != 0 {
		q.Set("owner", strconv.FormatInt(f.OwnerID, 10))
	}
	if f.CompanyID != 0 {
		q.Set("company", strconv.FormatInt(f.CompanyID, 10))
	}
	if f.Country != "" {
		q.Set("country", f.Country)
	}
	if f.LabelID != 0 {
		q.Set("label", strconv.FormatInt(f.LabelID, 10))
	}
	if f.OpenLead {
		q.Set("open_lead", "1")
	}
	return q
}

func (p ListProps) moreURL() string {
	q := p.Query()
	q.Set("after", strconv.FormatInt(p.Next, 10))
	return "/contacts?" + q.Encode()
}

func (p ListProps) exportURL() string {
	q := p.Query()
	if len(q) == 0 {
		return "/contacts/export.csv"
	}
	return "/contacts/export.csv?" + q.Encode()
}

// DetailProps is a contact's page.
type DetailProps struct {
	Contact       models.Contact
	Owners        []Option
	CompanyNames  []string
	Fields        []crm.Field
	Custom        map[string]string
	Conversations []crm.ContactConversation
	Timeline      []crm.TimelineItem
	CanMerge      bool
	MergeQ        string
	Candidates    []crm.Row
	Sales         Sales
	Errors        map[string]string
	CSRF          string
	Loc           *time.Location
	Now           time.Time
}

// CompaniesProps is the companies list with the form to add one.
type CompaniesProps struct {
	Rows   []crm.CompanyRow
	Q      string
	Form   CompanyForm
	Owners []Option
}

// CompanyForm is a company's form.
type CompanyForm struct {
	ID                           int64
	Name, TaxID, Country, Domain string
	OwnerID                      int64
	Errors                       map[string]string
	CSRF                         string
}

// CompanyProps is a company's page.
type CompanyProps struct {
	Company       models.Company
	OwnerName     string
	Contacts      []crm.Row
	Conversations []crm.ContactConversation
	Sales         CompanySales
	Form          CompanyForm
	Owners        []Option
	Loc           *time.Location
	Now           time.Time
}

// FieldsProps is Configuración → Campos de contacto.
type FieldsProps struct {
	Fields []crm.Field
	Label  string
	Kind   string
	Opts   string
	Errors map[string]string
	CSRF   string
}

// ImportsProps is the upload screen with the latest imports.
type ImportsProps struct {
	Imports []models.ContactImport
	Errors  map[string]string
	CSRF    string
	Loc     *time.Location
}

// MappingProps is the column mapping of an uploaded file.
type MappingProps struct {
	Import  models.ContactImport
	Preview crm.Preview
	Fields  []crm.Field
	Error   string
	CSRF    string
}

// ProgressProps is a running or finished import.
type ProgressProps struct {
	Import models.ContactImport
	Errors []crm.ImportError
}

func i64(n int64) string { return strconv.FormatInt(n, 10) }
func itoa(n int) string  { return strconv.Itoa(n) }

func phoneText(e164, waID string) string {
	if e164 != "" {
		return phone.Format(e164)
	}
	return "+" + waID
}

func countryName(code string) string {
	if code == "" {
		return ""
	}
	return conversation.CountryName(code)
}

func statusLabel(s string) string { return conversation.StatusLabel(s) }

func when(t time.Time, loc *time.Location) string { return settings.AbsTime(t, loc) }

func whenPtr(t *time.Time, loc *time.Location) string {
	if t == nil {
		return ""
	}
	return settings.AbsTime(*t, loc)
}

func ownerSelected(id *int64, o Option) bool { return id != nil && *id == o.ID }

func pct(imp models.ContactImport) int {
	if imp.Total == 0 {
		return 100
	}
	return imp.Processed * 100 / imp.Total
}

func importRunning(imp models.ContactImport) bool {
	return imp.Status == "queued" || imp.Status == "running"
}

func importStatus(imp models.ContactImport) string {
	switch imp.Status {
	case "mapping":
		return "Falta elegir las columnas"
	case "queued":
		return "En cola"
	case "running":
		return "Importando…"
	case "done":
		return "Terminada"
	case "failed":
		return "Detenida"
	}
	return imp.Status
}

// Countries is the country picker: LatAm first, by Spanish name.
func Countries() []string {
	codes := []string{"AR", "BO", "BR", "CL", "CO", "CR", "CU", "DO", "EC", "ES", "GT", "HN", "MX", "NI", "PA", "PE", "PR", "PY", "SV", "US", "UY", "VE"}
	sort.Slice(codes, func(i, j int) bool { return conversation.CountryName(codes[i]) < conversation.CountryName(codes[j]) })
	return codes
}

func kindLabel(k string) string {
	for _, f := range crm.FieldKinds {
		if f.Kind == k {
			return f.Label
		}
	}
	return k
}

func initials(name string) string { return conversation.Initials(name) }

func guessed(p MappingProps, col int, target string) bool { return p.Preview.Guess[col] == target }

func cellAt(row []string, i int) string {
	if i < len(row) {
		return row[i]
	}
	return ""
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return itoa(n) + " " + many
}

// Sales is what a contact's page shows of the sales side: its leads and its tasks.
type Sales struct {
	Leads  []salescrm.LeadView
	Tasks  []salescrm.TaskView
	People []crmview.Option
}

// CompanySales are a company's open leads and their totals.
type CompanySales struct {
	Open salescrm.OpenLeads
}

func money(v float64, currency string) string { return crmview.Money(v, currency) }

func sums(s []salescrm.Sum, weighted bool) string { return crmview.Sums(s, weighted) }

func leadDay(t *time.Time, now time.Time) string {
	if t == nil {
		return ""
	}
	return crmview.Day(*t, now)
}
