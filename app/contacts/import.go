package contacts

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/phone"
	"github.com/atiende/atiende/models"
)

// Importer runs CSV imports of contacts in the background. Each batch of rows is one
// transaction (COPY into a temporary table, then set-based statements), which also
// records the batch's errors and advances the import's progress: a row is imported
// whole or reported, never half, and a run cut short resumes after the last batch.
type Importer struct {
	Svc    *Service
	Pool   *pgxpool.Pool
	Logger *slog.Logger
}

// BatchSize is how many rows one transaction of an import takes.
const BatchSize = 5000

// MaxImportBytes bounds an upload.
const MaxImportBytes = 9 << 20

// Targets are the contact fields a CSV column can be mapped to (custom fields add
// "custom:<key>").
var Targets = []struct{ Key, Label string }{
	{"phone", "Teléfono (obligatorio)"}, {"name", "Nombre"}, {"email", "Correo"}, {"company", "Empresa"},
	{"country", "País (código ISO, como PE)"}, {"owner", "Responsable (correo del usuario)"}, {"notes", "Notas"},
}

// Preview is the head of an uploaded file.
type Preview struct {
	Headers []string
	Rows    [][]string
	Total   int
	Guess   map[int]string // column → target
}

// decodeCSV reads the whole file: UTF-8 (with or without BOM) or Latin-1 as Excel
// saves it, comma or semicolon separated.
func decodeCSV(data []byte) ([][]string, []int, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		var b strings.Builder
		for _, c := range data {
			b.WriteRune(rune(c))
		}
		data = []byte(b.String())
	}
	first, _, _ := bytes.Cut(data, []byte("\n"))
	r := csv.NewReader(bytes.NewReader(data))
	if bytes.Count(first, []byte(";")) > bytes.Count(first, []byte(",")) {
		r.Comma = ';'
	}
	r.FieldsPerRecord = -1
	r.ReuseRecord = false
	var recs [][]string
	var lines []int
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, nil, apperr.Validation{"file": fmt.Sprintf("El archivo no es un CSV válido (línea %d): revisa las comillas.", pe.Line)}
			}
			return nil, nil, err
		}
		line, _ := r.FieldPos(0)
		recs = append(recs, rec)
		lines = append(lines, line)
	}
	if len(recs) < 2 {
		return nil, nil, apperr.Validation{"file": "El archivo necesita una fila de encabezados y al menos un contacto."}
	}
	return recs, lines, nil
}

func guessTarget(h string) string {
	h = accents.Replace(strings.ToLower(strings.TrimSpace(h)))
	switch {
	case strings.Contains(h, "tel") || strings.Contains(h, "cel") || strings.Contains(h, "phone") || strings.Contains(h, "whatsapp") || strings.Contains(h, "movil") || strings.Contains(h, "numero"):
		return "phone"
	case strings.Contains(h, "mail") || strings.Contains(h, "correo"):
		return "email"
	case strings.Contains(h, "empresa") || strings.Contains(h, "company") || strings.Contains(h, "compania") || strings.Contains(h, "razon social"):
		return "company"
	case strings.Contains(h, "nombre") || h == "name" || strings.Contains(h, "cliente"):
		return "name"
	case strings.Contains(h, "pais") || h == "country":
		return "country"
	case strings.Contains(h, "responsable") || strings.Contains(h, "owner") || strings.Contains(h, "vendedor"):
		return "owner"
	case strings.Contains(h, "nota"):
		return "notes"
	}
	return ""
}

// Upload stores a file to import and returns its id; the mapping comes next.
func (s *Service) Upload(ctx context.Context, v accounts.Viewer, filename string, data []byte) (int64, error) {
	if len(data) == 0 {
		return 0, apperr.Validation{"file": "Elige un archivo CSV."}
	}
	if len(data) > MaxImportBytes {
		return 0, apperr.Validation{"file": "El archivo pesa más de 9 MB: divídelo en partes."}
	}
	recs, _, err := decodeCSV(data)
	if err != nil {
		return 0, err
	}
	imp := models.ContactImport{WorkspaceID: v.Workspace.ID, UserID: &v.User.ID, Filename: filename, Data: data,
		Mapping: models.JSON("{}"), Status: "mapping", Total: len(recs) - 1, CreatedAt: s.Clock.Now()}
	if err := s.DB.WithContext(ctx).Create(&imp).Error; err != nil {
		return 0, err
	}
	return imp.ID, nil
}

// Import returns an import of the workspace (without its file).
func (s *Service) Import(ctx context.Context, v accounts.Viewer, id int64) (models.ContactImport, error) {
	var imp models.ContactImport
	err := s.DB.WithContext(ctx).Omit("data").Where("id = ? AND workspace_id = ?", id, v.Workspace.ID).Limit(1).Find(&imp).Error
	if err == nil && imp.ID == 0 {
		err = apperr.NotFound{Msg: "No existe esa importación."}
	}
	return imp, err
}

// Imports lists the workspace's latest imports.
func (s *Service) Imports(ctx context.Context, v accounts.Viewer) ([]models.ContactImport, error) {
	var list []models.ContactImport
	err := s.DB.WithContext(ctx).Omit("data").Where("workspace_id = ?", v.Workspace.ID).Order("id DESC").Limit(10).Find(&list).Error
	return list, err
}

// PreviewImport reads the head of an uploaded file and guesses the mapping.
func (s *Service) PreviewImport(ctx context.Context, v accounts.Viewer, id int64) (Preview, error) {
	var data []byte
	if err := s.DB.WithContext(ctx).Raw(`SELECT data FROM contact_imports WHERE id = ? AND workspace_id = ?`, id, v.Workspace.ID).Row().Scan(&data); err != nil {
		return Preview{}, apperr.NotFound{Msg: "No existe esa importación."}
	}
	recs, _, err := decodeCSV(data)
	if err != nil {
		return Preview{}, err
	}
	p := Preview{Headers: recs[0], Total: len(recs) - 1, Guess: map[int]string{}}
	for _, r := range recs[1:min(len(recs), 6)] {
		row := make([]string, len(p.Headers))
		copy(row, r)
		p.Rows = append(p.Rows, row)
	}
	fields, err := s.Fields(ctx, v.Workspace.ID)
	if err != nil {
		return p, err
	}
	used := map[string]bool{}
	for i, h := range p.Headers {
		t := guessTarget(h)
		for _, f := range fields {
			if strings.EqualFold(strings.TrimSpace(h), f.Label) {
				t = "custom:" + f.Key
			}
		}
		if t != "" && !used[t] {
			p.Guess[i], used[t] = t, true
		}
	}
	return p, nil
}

// Mapping is column index → target, with the country to read national numbers in.
type Mapping struct {
	Columns        map[string]string `json:"columns"` // "0" → "phone"
	DefaultCountry string            `json:"default_country"`
}

// StartImport checks the mapping and queues the import; the caller runs it (Run).
func (s *Service) StartImport(ctx context.Context, v accounts.Viewer, id int64, m Mapping) error {
	imp, err := s.Import(ctx, v, id)
	if err != nil {
		return err
	}
	if imp.Status != "mapping" {
		return apperr.Conflict{Msg: "Esta importación ya empezó."}
	}
	fields, err := s.Fields(ctx, v.Workspace.ID)
	if err != nil {
		return err
	}
	valid := map[string]bool{}
	for _, t := range Targets {
		valid[t.Key] = true
	}
	for _, f := range fields {
		valid["custom:"+f.Key] = true
	}
	seen := map[string]bool{}
	for col, t := range m.Columns {
		if t == "" {
			delete(m.Columns, col)
			continue
		}
		if !valid[t] {
			return apperr.Invalid("Elige a qué campo va cada columna.")
		}
		if seen[t] {
			return apperr.Invalid("Dos columnas van al mismo campo: elige uno distinto para cada una.")
		}
		seen[t] = true
	}
	if !seen["phone"] {
		return apperr.Validation{"phone": "Indica qué columna tiene el teléfono: es la que evita duplicados."}
	}
	m.DefaultCountry = strings.ToUpper(strings.TrimSpace(m.DefaultCountry))
	if m.DefaultCountry != "" && !countryRe.MatchString(m.DefaultCountry) {
		return apperr.Validation{"default_country": "Elige un país de la lista."}
	}
	b, _ := json.Marshal(m)
	res := s.DB.WithContext(ctx).Exec(`UPDATE contact_imports SET mapping = ?, default_country = ?, status = 'queued' WHERE id = ? AND workspace_id = ? AND status = 'mapping'`,
		string(b), m.DefaultCountry, id, v.Workspace.ID)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return apperr.Conflict{Msg: "Esta importación ya empezó."}
	}
	return nil
}

// ImportErrors returns an import's rejected lines in order.
func (s *Service) ImportErrors(ctx context.Context, v accounts.Viewer, id int64, limit int) ([]ImportError, error) {
	var out []ImportError
	q := s.DB.WithContext(ctx).Table("contact_import_errors").Select("line, message").Where("import_id = ? AND workspace_id = ?", id, v.Workspace.ID).Order("line")
	if limit > 0 {
		q = q.Limit(limit)
	}
	err := q.Scan(&out).Error
	return out, err
}

// ImportError is one rejected line.
type ImportError struct {
	Line    int
	Message string
}

type stagedRow struct {
	line                                       int
	phone, waID, country, name, email, company string
	notes                                      string
	ownerID                                    *int64
	custom                                     string
}

// importLockKey is the advisory lock namespace of running imports.
const importLockKey = 0x636f6e74 // "cont"

// Run imports one queued (or interrupted) import to its end. It returns at once when
// another process is running it (advisory lock), so calling it again resumes safely.
func (im *Importer) Run(ctx context.Context, id int64) error {
	conn, err := im.Pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	var got bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, $2::int)`, importLockKey, id%2147483647).Scan(&got); err != nil {
		return err
	}
	if !got {
		return nil
	}
	defer conn.Exec(context.Background(), `SELECT pg_advisory_unlock($1, $2::int)`, importLockKey, id%2147483647) //nolint:errcheck
	err = im.run(ctx, conn.Conn(), id)
	if err != nil && ctx.Err() == nil {
		im.Logger.Error("contact import failed", "import", id, "err", err)
		_, _ = conn.Exec(context.Background(), `UPDATE contact_imports SET status = 'failed', error = $2, finished_at = now() WHERE id = $1`, id,
			"La importación se detuvo por un error interno; lo importado hasta ahora quedó guardado.")
	}
	return err
}

func (im *Importer) run(ctx context.Context, conn *pgx.Conn, id int64) error {
	var imp struct {
		ws        int64
		userID    *int64
		filename  string
		data      []byte
		mapping   []byte
		status    string
		processed int
	}
	if err := conn.QueryRow(ctx, `SELECT workspace_id, user_id, filename, data, mapping, status, processed FROM contact_imports WHERE id = $1`, id).
		Scan(&imp.ws, &imp.userID, &imp.filename, &imp.data, &imp.mapping, &imp.status, &imp.processed); err != nil {
		return err
	}
	if imp.status != "queued" && imp.status != "running" {
		return nil
	}
	var m Mapping
	if err := json.Unmarshal(imp.mapping, &m); err != nil {
		return err
	}
	recs, lines, err := decodeCSV(imp.data)
	if err != nil {
		return err
	}
	now := im.Svc.Clock.Now()
	if _, err := conn.Exec(ctx, `UPDATE contact_imports SET status = 'running', started_at = COALESCE(started_at, $2) WHERE id = $1`, id, now); err != nil {
		return err
	}
	fields, err := im.Svc.Fields(ctx, imp.ws)
	if err != nil {
		return err
	}
	fieldByKey := map[string]Field{}
	for _, f := range fields {
		fieldByKey[f.Key] = f
	}
	owners := map[string]int64{}
	rows, err := conn.Query(ctx, `SELECT lower(email), id FROM users WHERE workspace_id = $1 AND active`, imp.ws)
	if err != nil {
		return err
	}
	for rows.Next() {
		var e string
		var uid int64
		if err := rows.Scan(&e, &uid); err != nil {
			rows.Close()
			return err
		}
		owners[e] = uid
	}
	rows.Close()
	col := map[string]int{}
	for c, t := range m.Columns {
		i, err := strconv.Atoi(c)
		if err != nil {
			return err
		}
		col[t] = i
	}
	get := func(rec []string, target string) string {
		i, ok := col[target]
		if !ok || i >= len(rec) {
			return ""
		}
		return strings.TrimSpace(rec[i])
	}
	// Rows are checked in Go while the database applies the previous batch (two cores
	// busy instead of one). A number repeated in the file is reported on its later
	// lines, whichever batch they fall in.
	type prepared struct {
		staged []stagedRow
		bad    []ImportError
		end    int
	}
	firstLine := map[string]int{}
	data := recs[1:]
	for i := 0; i < imp.processed && i < len(data); i++ { // a resumed run: what earlier batches held
		if e, _, ok := phone.Normalize(get(data[i], "phone"), firstNonEmpty(strings.ToUpper(get(data[i], "country")), m.DefaultCountry)); ok {
			if _, dup := firstLine[e]; !dup {
				firstLine[e] = lines[i+1]
			}
		}
	}
	batches := make(chan prepared, 1)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		defer close(batches)
		for start := imp.processed; start < len(data); start += BatchSize {
			end := min(start+BatchSize, len(data))
			p := prepared{end: end}
			for i := start; i < end; i++ {
				rec, line := data[i], lines[i+1]
				r, msg := im.check(rec, line, get, m, fieldByKey, owners)
				if msg == "" {
					if first, dup := firstLine[r.phone]; dup {
						msg = fmt.Sprintf("El número %s ya aparece en la línea %d.", phone.Format(r.phone), first)
					} else {
						firstLine[r.phone] = line
					}
				}
				if msg != "" {
					p.bad = append(p.bad, ImportError{Line: line, Message: msg})
					continue
				}
				p.staged = append(p.staged, r)
			}
			select {
			case batches <- p:
			case <-stop:
				return
			}
		}
	}()
	for p := range batches {
		if err := im.batch(ctx, conn, id, imp.ws, imp.userID, imp.filename, p.staged, p.bad, p.end); err != nil {
			return err
		}
	}
	_, err = conn.Exec(ctx, `UPDATE contact_imports SET status = 'done', finished_at = $2 WHERE id = $1`, id, im.Svc.Clock.Now())
	return err
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// check validates one row and returns it ready to stage, or the reason it cannot be.
func (im *Importer) check(rec []string, line int, get func([]string, string) string, m Mapping, fields map[string]Field, owners map[string]int64) (stagedRow, string) {
	r := stagedRow{line: line}
	country := strings.ToUpper(get(rec, "country"))
	if country != "" && !countryRe.MatchString(country) {
		return r, "País «" + get(rec, "country") + "»: usa el código de dos letras, como PE o MX."
	}
	raw := get(rec, "phone")
	if raw == "" {
		return r, "Falta el teléfono."
	}
	e, c, ok := phone.Normalize(raw, firstNonEmpty(country, m.DefaultCountry))
	if !ok {
		return r, "El teléfono «" + raw + "» no es un número válido (incluye el código de país, como +51)."
	}
	r.phone, r.waID, r.country = e, strings.TrimPrefix(e, "+"), c
	r.name = get(rec, "name")
	if utf8.RuneCountInString(r.name) > 120 {
		return r, "El nombre tiene más de 120 caracteres."
	}
	r.email = strings.ToLower(get(rec, "email"))
	if r.email != "" && !validEmail(r.email) {
		return r, "El correo «" + r.email + "» no es válido."
	}
	r.company = get(rec, "company")
	if utf8.RuneCountInString(r.company) > 120 {
		return r, "La empresa tiene más de 120 caracteres."
	}
	r.notes = get(rec, "notes")
	if o := strings.ToLower(get(rec, "owner")); o != "" {
		uid, ok := owners[o]
		if !ok {
			return r, "El responsable «" + o + "» no es un usuario activo de este espacio."
		}
		r.ownerID = &uid
	}
	custom := map[string]string{}
	for key, f := range fields {
		v := get(rec, "custom:"+key)
		if v == "" {
			continue
		}
		norm, msg := CheckValue(f, v)
		if msg != "" {
			return r, msg
		}
		custom[key] = norm
	}
	b, _ := json.Marshal(custom)
	r.custom = string(b)
	return r, ""
}

// batch applies one batch in one transaction: COPY into a temporary table, companies
// created by name, existing contacts (same E.164 number) updated with the values the
// file has, new ones inserted, each one's timeline told, errors recorded, progress
// advanced.
func (im *Importer) batch(ctx context.Context, conn *pgx.Conn, id, ws int64, userID *int64, filename string, staged []stagedRow, bad []ImportError, processed int) error {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.Background()) //nolint:errcheck
	now := im.Svc.Clock.Now()
	var created, updated int
	if len(staged) > 0 {
		if _, err := tx.Exec(ctx, `CREATE TEMP TABLE contact_import_rows (line int, phone text, wa_id text, country text, name text, email text,
			company text, notes text, owner_id bigint, custom jsonb) ON COMMIT DROP`); err != nil {
			return err
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"contact_import_rows"},
			[]string{"line", "phone", "wa_id", "country", "name", "email", "company", "notes", "owner_id", "custom"},
			pgx.CopyFromSlice(len(staged), func(i int) ([]any, error) {
				r := staged[i]
				return []any{r.line, r.phone, r.waID, r.country, r.name, r.email, r.company, r.notes, r.ownerID, r.custom}, nil
			})); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO companies (workspace_id, name, created_at, updated_at)
			SELECT DISTINCT ON (lower(company)) $1::bigint, company, $2::timestamptz, $2::timestamptz FROM contact_import_rows WHERE company <> ''
			ORDER BY lower(company) ON CONFLICT (workspace_id, lower(name)) DO NOTHING`, ws, now); err != nil {
			return err
		}
		const withCompany = `contact_import_rows r LEFT JOIN companies co ON co.workspace_id = $1 AND r.company <> '' AND lower(co.name) = lower(r.company)`
		err := tx.QueryRow(ctx, `WITH upd AS (
				UPDATE contacts k SET name = CASE WHEN r.name <> '' THEN r.name ELSE k.name END,
					email = CASE WHEN r.email <> '' THEN r.email ELSE k.email END,
					company = COALESCE(co.name, k.company), company_id = COALESCE(co.id, k.company_id),
					notes = CASE WHEN r.notes = '' OR k.notes = r.notes THEN k.notes WHEN k.notes = '' THEN r.notes ELSE k.notes || E'\n\n' || r.notes END,
					owner_id = COALESCE(r.owner_id, k.owner_id), custom = k.custom || r.custom,
					country = CASE WHEN k.country = '' THEN r.country ELSE k.country END, updated_at = $2
				FROM `+withCompany+`
				WHERE k.workspace_id = $1 AND k.phone = r.phone RETURNING k.id),
			ins AS (
				INSERT INTO contacts (workspace_id, wa_id, phone, country, name, email, company, company_id, notes, owner_id, custom, created_at, updated_at)
				SELECT $1, r.wa_id, r.phone, r.country, r.name, r.email, COALESCE(co.name, ''), co.id, r.notes, r.owner_id, r.custom, $2, $2
				FROM `+withCompany+`
				WHERE NOT EXISTS (SELECT 1 FROM contacts k WHERE k.workspace_id = $1 AND k.phone = r.phone)
				ON CONFLICT (workspace_id, wa_id) WHERE wa_id <> '' DO NOTHING RETURNING id),
			aud AS (
				INSERT INTO audit_events (workspace_id, user_id, action, target_type, target_id, data, created_at)
				SELECT $1, $3::bigint, 'contact.import', 'contact', id, jsonb_build_object('file', $4::text, 'import_id', $5::bigint), $2 FROM (SELECT id FROM ins UNION ALL SELECT id FROM upd) t)
			SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM upd)`, ws, now, userID, filename, id).Scan(&created, &updated)
		if err != nil {
			return err
		}
		// A row neither inserted nor updated met a contact whose WhatsApp id matches but whose stored number differs: report it.
		if missed := len(staged) - created - updated; missed > 0 {
			rows, err := tx.Query(ctx, `SELECT r.line FROM contact_import_rows r WHERE NOT EXISTS (SELECT 1 FROM contacts k WHERE k.workspace_id = $1 AND k.phone = r.phone)`, ws)
			if err != nil {
				return err
			}
			for rows.Next() {
				var line int
				if err := rows.Scan(&line); err != nil {
					rows.Close()
					return err
				}
				bad = append(bad, ImportError{Line: line, Message: "Ya existe un contacto con ese WhatsApp y otro número guardado: revísalo a mano."})
			}
			rows.Close()
		}
	}
	if len(bad) > 0 {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"contact_import_errors"}, []string{"workspace_id", "import_id", "line", "message"},
			pgx.CopyFromSlice(len(bad), func(i int) ([]any, error) { return []any{ws, id, bad[i].Line, bad[i].Message}, nil })); err != nil {
			return err
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE contact_imports SET processed = $2, created = created + $3, updated = updated + $4, failed = failed + $5 WHERE id = $1`,
		id, processed, created, updated, len(bad)); err != nil {
		return err
	}
	return tx.Commit(ctx)
}
