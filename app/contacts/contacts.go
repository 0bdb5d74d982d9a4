// Package contacts is the CRM's people and B2B accounts: the contacts list and search,
// profiles with custom fields, companies, the timeline, merging two contacts into one
// and the CSV import. Who sees a contact follows the inbox: an agent or a supervisor
// sees the contacts of the conversations they can see (and those they own), an admin
// every contact of the workspace.
package contacts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/clock"
	"github.com/atiende/atiende/app/inbox"
	"github.com/atiende/atiende/app/phone"
	"github.com/atiende/atiende/models"
)

// Service is the contacts and companies service.
type Service struct {
	DB    *gorm.DB
	Clock clock.Clock
}

// New returns the service.
func New(db *gorm.DB, clk clock.Clock) *Service { return &Service{DB: db, Clock: clk} }

// ErrNoContact is the 404 of a contact that does not exist or the viewer cannot see.
var ErrNoContact = apperr.NotFound{Msg: "No existe ese contacto o no tienes acceso."}

// ErrNoCompany is the 404 of a company.
var ErrNoCompany = apperr.NotFound{Msg: "No existe esa empresa."}

// PageSize is how many contacts a page of the list shows.
const PageSize = 50

// visible restricts contacts aliased k to what v may see.
func visible(v accounts.Viewer) (string, []any) {
	if v.IsAdmin() {
		return "k.workspace_id = ?", []any{v.Workspace.ID}
	}
	// One IN over a union (not OR EXISTS per contact): the few contacts an agent can see
	// are found from their conversations and owned contacts, instead of checking every
	// contact of the workspace in turn.
	cond, args := inbox.Visible(v, "c")
	return "k.workspace_id = ? AND k.id IN (SELECT c.contact_id FROM conversations c WHERE " + cond +
			" UNION ALL SELECT o.id FROM contacts o WHERE o.workspace_id = ? AND o.owner_id = ?)",
		append(append([]any{v.Workspace.ID}, args...), v.Workspace.ID, v.User.ID)
}

// Filter narrows the contacts list.
type Filter struct {
	Q         string
	OwnerID   int64 // -1: without owner
	CompanyID int64
	Country   string
	LabelID   int64
	OpenLead  bool  // only contacts with a lead in an open stage
	After     int64 // keyset cursor: contacts with a smaller id
	Limit     int
}

// Row is one contact in the list.
type Row struct {
	ID          int64
	Name        string
	Phone       string
	Country     string
	Company     string
	CompanyID   *int64
	Email       string
	OwnerID     *int64
	OwnerName   string
	CreatedAt   time.Time
	WaID        string
	ProfileName string
}

var likeEscape = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// searchWhere turns what a person typed into conditions the indexes serve. A number in
// any format is found in full (its E.164 form, or the WhatsApp id it starts) or by its
// last digits ("987 654 321" without the country code); other searches match every word
// by its beginning in the name, WhatsApp name, company, e-mail and number. rare says
// the matches are few (a number): the indexes answer at once.
func searchWhere(q string) (cond string, args []any, rare bool) {
	q = strings.TrimSpace(q)
	if utf8.RuneCountInString(q) > 100 {
		q = string([]rune(q)[:100])
	}
	if q == "" {
		return "", nil, false
	}
	digits, phoneish := 0, true
	for _, r := range q {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case strings.ContainsRune("+-(). /", r):
		default:
			phoneish = false
		}
	}
	if phoneish && digits >= 3 {
		d := onlyDigits(q)
		cond = "(k.wa_id LIKE ? OR reverse(k.wa_id) LIKE ?"
		args = []any{d + "%", reverse(d) + "%"}
		if e, _, ok := phone.Normalize(q, ""); ok && (strings.HasPrefix(q, "+") || digits >= 10) {
			cond, args = cond+" OR k.phone = ?", append(args, e)
		}
		return cond + ")", args, true
	}
	// Each word is its own argument, folded like the index and stripped of whatever
	// folding turns into tsquery syntax (U+02BC folds to an apostrophe): no input can
	// form an operator, and a word that folds to nothing matches nothing.
	var parts []string
	for _, t := range strings.FieldsFunc(q, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if len(parts) < 8 {
			parts = append(parts, `to_tsquery('simple'::regconfig, NULLIF(translate(search_fold(?), E'''&|!():*<>\\ \t-', ''), '') || ':*')`)
			args = append(args, t)
		}
	}
	if len(parts) == 0 {
		return "false", nil, true
	}
	return "k.search_words @@ (" + strings.Join(parts, " && ") + ")", args, false
}

func reverse(s string) string {
	b := []byte(s)
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}

func onlyDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

// where builds the list's conditions for v and f (without the cursor).
func where(v accounts.Viewer, f Filter) (string, []any) {
	cond, args := visible(v)
	parts := []string{cond}
	if s, a, _ := searchWhere(f.Q); s != "" {
		parts, args = append(parts, s), append(args, a...)
	}
	switch {
	case f.OwnerID > 0:
		parts, args = append(parts, "k.owner_id = ?"), append(args, f.OwnerID)
	case f.OwnerID == -1:
		parts = append(parts, "k.owner_id IS NULL")
	}
	if f.CompanyID > 0 {
		parts, args = append(parts, "k.company_id = ?"), append(args, f.CompanyID)
	}
	if f.Country != "" {
		parts, args = append(parts, "k.country = ?"), append(args, strings.ToUpper(f.Country))
	}
	if f.LabelID > 0 {
		parts = append(parts, "EXISTS (SELECT 1 FROM conversations lc JOIN conversation_labels cl ON cl.conversation_id = lc.id WHERE lc.contact_id = k.id AND cl.label_id = ?)")
		args = append(args, f.LabelID)
	}
	if f.OpenLead {
		parts = append(parts, "EXISTS (SELECT 1 FROM leads ol JOIN stages os ON os.id = ol.stage_id WHERE ol.contact_id = k.id AND os.kind = 'open')")
	}
	return strings.Join(parts, " AND "), args
}

const rowSelect = `SELECT k.id, COALESCE(NULLIF(k.name, ''), NULLIF(k.profile_name, ''), k.phone) AS name, k.phone, k.country,
	k.company, k.company_id, k.email, k.owner_id, COALESCE(u.name, '') AS owner_name, k.created_at, k.wa_id, k.profile_name
	FROM contacts k LEFT JOIN users u ON u.id = k.owner_id`

// List returns a page of the contacts v may see, newest first, and the cursor of the
// next page (0 when this is the last).
func (s *Service) List(ctx context.Context, v accounts.Viewer, f Filter) ([]Row, int64, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = PageSize
	}
	cond, args := where(v, f)
	if f.After > 0 {
		cond, args = cond+" AND k.id < ?", append(args, f.After)
	}
	var rows []Row
	args = append(args, f.Limit+1)
	done := false
	_, _, rare := searchWhere(f.Q)
	if strings.TrimSpace(f.Q) != "" && !rare {
		// A search is fast one of two ways: a common word by walking the newest contacts
		// until a page is full, a rare one (or a rare combination) through the indexes,
		// then sorted. The planner cannot tell which from the words, so the walk is
		// tried first under a short time limit, and the indexes answer when it runs out.
		err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			if err := tx.Exec(`SELECT set_config('statement_timeout', '10', true), set_config('enable_bitmapscan', 'off', true),
				set_config('enable_seqscan', 'off', true)`).Error; err != nil {
				return err
			}
			return tx.Raw(rowSelect+" WHERE "+cond+" ORDER BY k.id DESC LIMIT ?", args...).Scan(&rows).Error
		})
		var pgErr *pgconn.PgError
		switch {
		case err == nil:
			done = true
		case errors.As(err, &pgErr) && pgErr.Code == "57014": // query_canceled: rare words
			rows = nil
		default:
			return nil, 0, err
		}
	}
	if !done {
		order := "k.id DESC"
		if strings.TrimSpace(f.Q) != "" {
			order = "k.id + 0 DESC" // the indexes, not the walk
		}
		if err := s.DB.WithContext(ctx).Raw(rowSelect+" WHERE "+cond+" ORDER BY "+order+" LIMIT ?", args...).Scan(&rows).Error; err != nil {
			return nil, 0, err
		}
	}
	var next int64
	if len(rows) > f.Limit {
		rows = rows[:f.Limit]
		next = rows[len(rows)-1].ID
	}
	return rows, next, nil
}

// Each calls fn for every contact matching f (the CSV export), a thousand at a time.
func (s *Service) Each(ctx context.Context, v accounts.Viewer, f Filter, fn func(Row) error) error {
	f.Limit = 1000
	f.After = 0
	for {
		rows, next, err := s.List(ctx, v, f)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if err := fn(r); err != nil {
				return err
			}
		}
		if next == 0 {
			return nil
		}
		f.After = next
	}
}

// Get returns a contact v may see.
func (s *Service) Get(ctx context.Context, v accounts.Viewer, id int64) (models.Contact, error) {
	cond, args := visible(v)
	var k models.Contact
	err := s.DB.WithContext(ctx).Raw("SELECT k.* FROM contacts k WHERE k.id = ? AND "+cond, append([]any{id}, args...)...).Scan(&k).Error
	if err != nil {
		return k, err
	}
	if k.ID == 0 {
		return k, ErrNoContact
	}
	return k, nil
}

// ContactConversation is one conversation of a contact.
type ContactConversation struct {
	ID            int64
	ContactID     int64
	ContactName   string
	ChannelName   string
	Status        string
	AssigneeName  string
	TeamName      string
	Preview       string
	LastMessageAt *time.Time
	Cycles        int
}

// Conversations lists the contact's conversations v may see, latest activity first.
func (s *Service) Conversations(ctx context.Context, v accounts.Viewer, contactIDs ...int64) ([]ContactConversation, error) {
	if len(contactIDs) == 0 {
		return nil, nil
	}
	cond, args := inbox.Visible(v, "c")
	var out []ContactConversation
	err := s.DB.WithContext(ctx).Raw(`SELECT c.id, c.contact_id, COALESCE(NULLIF(k.name, ''), NULLIF(k.profile_name, ''), k.phone) AS contact_name, ch.name AS channel_name, c.status, COALESCE(u.name, '') AS assignee_name,
		COALESCE(t.name, '') AS team_name, c.last_message_preview AS preview, c.last_message_at,
		(SELECT count(*) FROM cycles y WHERE y.conversation_id = c.id) AS cycles
		FROM conversations c JOIN channels ch ON ch.id = c.channel_id JOIN contacts k ON k.id = c.contact_id
		LEFT JOIN users u ON u.id = c.assignee_id LEFT JOIN teams t ON t.id = c.team_id
		WHERE c.contact_id IN ? AND `+cond+` ORDER BY c.last_message_at DESC NULLS LAST, c.id DESC LIMIT 200`,
		append([]any{contactIDs}, args...)...).Scan(&out).Error
	return out, err
}

// ProfileInput is an edit of a contact's profile. Nil fields are left as they are.
type ProfileInput struct {
	Name    *string
	Company *string // a company name: found (any case) or created; "" leaves the company
	Email   *string
	OwnerID **int64
	Notes   *string
	Custom  map[string]string // by field key; "" clears
}

var emailRe = regexp.MustCompile(`^[^\s@]+@[^\s@]+\.[^\s@]+$`)

func validEmail(e string) bool {
	if !emailRe.MatchString(e) {
		return false
	}
	_, err := mail.ParseAddress(e)
	return err == nil
}

// Update edits a contact's profile and records what changed on its timeline.
func (s *Service) Update(ctx context.Context, v accounts.Viewer, id int64, in ProfileInput) (models.Contact, error) {
	k, err := s.Get(ctx, v, id)
	if err != nil {
		return k, err
	}
	fields, err := s.Fields(ctx, v.Workspace.ID)
	if err != nil {
		return k, err
	}
	errs := apperr.Validation{}
	upd := map[string]any{}
	var changed []string
	if in.Name != nil {
		n := strings.TrimSpace(*in.Name)
		if utf8.RuneCountInString(n) > 120 {
			errs.Add("name", "El nombre puede tener hasta 120 caracteres.")
		} else if n != k.Name {
			upd["name"], changed = n, append(changed, "nombre")
		}
	}
	if in.Email != nil {
		e := strings.ToLower(strings.TrimSpace(*in.Email))
		if e != "" && !validEmail(e) {
			errs.Add("email", "Escribe un correo válido, como ana@empresa.com.")
		} else if e != k.Email {
			upd["email"], changed = e, append(changed, "correo")
		}
	}
	if in.Notes != nil {
		n := strings.TrimSpace(*in.Notes)
		if utf8.RuneCountInString(n) > 5000 {
			errs.Add("notes", "Las notas pueden tener hasta 5000 caracteres.")
		} else if n != k.Notes {
			upd["notes"], changed = n, append(changed, "notas")
		}
	}
	if in.OwnerID != nil {
		o := *in.OwnerID
		if o != nil {
			var n int64
			if err := s.DB.WithContext(ctx).Raw(`SELECT count(*) FROM users WHERE id = ? AND workspace_id = ? AND active`, *o, v.Workspace.ID).Scan(&n).Error; err != nil {
				return k, err
			}
			if n == 0 {
				errs.Add("owner_id", "Elige un responsable de la lista.")
			}
		}
		if !sameID(o, k.OwnerID) {
			upd["owner_id"], changed = o, append(changed, "responsable")
		}
	}
	custom := map[string]any{}
	if len(k.Custom) > 0 {
		_ = json.Unmarshal(k.Custom, &custom)
	}
	customChanged := false
	for _, f := range fields {
		val, ok := in.Custom[f.Key]
		if !ok {
			continue
		}
		norm, msg := CheckValue(f, val)
		if msg != "" {
			errs.Add("custom."+f.Key, msg)
			continue
		}
		old, had := custom[f.Key]
		if norm == "" {
			if had {
				delete(custom, f.Key)
				customChanged, changed = true, append(changed, strings.ToLower(f.Label))
			}
			continue
		}
		if !had || fmt.Sprint(old) != norm {
			custom[f.Key] = norm
			customChanged, changed = true, append(changed, strings.ToLower(f.Label))
		}
	}
	if err := errs.Err(); err != nil {
		return k, err
	}
	if customChanged {
		b, _ := json.Marshal(custom)
		upd["custom"] = models.JSON(b)
	}
	now := s.Clock.Now()
	err = s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if in.Company != nil {
			name := strings.TrimSpace(*in.Company)
			var companyID *int64
			if name != "" {
				co, err := findOrCreateCompany(tx, v.Workspace.ID, name, now)
				if err != nil {
					return err
				}
				companyID, name = &co.ID, co.Name
			}
			if name != k.Company || !sameID(companyID, k.CompanyID) {
				upd["company"], upd["company_id"], changed = name, companyID, append(changed, "empresa")
			}
		}
		if len(upd) == 0 {
			return nil
		}
		upd["updated_at"] = now
		if err := tx.Model(&models.Contact{}).Where("id = ? AND workspace_id = ?", id, v.Workspace.ID).Updates(upd).Error; err != nil {
			return err
		}
		return audit(tx, v.Workspace.ID, &v.User.ID, "contact.update", "contact", id, map[string]any{"fields": changed}, now)
	})
	if err != nil {
		return k, err
	}
	return s.Get(ctx, v, id)
}

func sameID(a, b *int64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// audit writes an audit event inside tx.
func audit(tx *gorm.DB, ws int64, userID *int64, action, targetType string, targetID int64, data any, at time.Time) error {
	b, err := json.Marshal(data)
	if err != nil {
		return err
	}
	return tx.Exec(`INSERT INTO audit_events (workspace_id, user_id, action, target_type, target_id, data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		ws, userID, action, targetType, targetID, string(b), at).Error
}

// CreateInput is a new contact (API).
type CreateInput struct {
	Phone   string
	Name    string
	Email   string
	Company string
	Country string // to read a national number
}

// Create adds a contact by its number. The same number written any way is the same
// contact: an existing one is a conflict that names it.
func (s *Service) Create(ctx context.Context, v accounts.Viewer, in CreateInput) (models.Contact, error) {
	errs := apperr.Validation{}
	e164, country, ok := phone.Normalize(in.Phone, in.Country)
	if !ok {
		errs.Add("phone", "Escribe un número válido con su código de país, como +51 987 654 321.")
	}
	email := strings.ToLower(strings.TrimSpace(in.Email))
	if email != "" && !validEmail(email) {
		errs.Add("email", "Escribe un correo válido, como ana@empresa.com.")
	}
	name := strings.TrimSpace(in.Name)
	if utf8.RuneCountInString(name) > 120 {
		errs.Add("name", "El nombre puede tener hasta 120 caracteres.")
	}
	if err := errs.Err(); err != nil {
		return models.Contact{}, err
	}
	now := s.Clock.Now()
	var id int64
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec(`SELECT pg_advisory_xact_lock(?, hashtext(?))`, v.Workspace.ID, e164).Error; err != nil {
			return err
		}
		var existing int64
		if err := tx.Raw(`SELECT id FROM contacts WHERE workspace_id = ? AND phone = ? LIMIT 1`, v.Workspace.ID, e164).Scan(&existing).Error; err != nil {
			return err
		}
		if existing != 0 {
			return apperr.Conflict{Msg: "Ya existe un contacto con el número " + phone.Format(e164) + " (id " + strconv.FormatInt(existing, 10) + ")."}
		}
		var companyID *int64
		company := strings.TrimSpace(in.Company)
		if company != "" {
			co, err := findOrCreateCompany(tx, v.Workspace.ID, company, now)
			if err != nil {
				return err
			}
			companyID, company = &co.ID, co.Name
		}
		var owner *int64
		if !v.IsAdmin() {
			owner = &v.User.ID // so the agent who adds it can see it
		}
		if err := tx.Raw(`INSERT INTO contacts (workspace_id, wa_id, phone, country, name, email, company, company_id, owner_id, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, v.Workspace.ID, strings.TrimPrefix(e164, "+"), e164, country, name, email,
			company, companyID, owner, now, now).Scan(&id).Error; err != nil {
			return err
		}
		return audit(tx, v.Workspace.ID, &v.User.ID, "contact.create", "contact", id, map[string]any{}, now)
	})
	if err != nil {
		return models.Contact{}, err
	}
	return s.Get(ctx, v, id)
}
