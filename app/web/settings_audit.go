package web

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/atiende/atiende/app/audit"
	"github.com/atiende/atiende/views/pages/settings"
)

// Auditoría (Configuración → Auditoría, admins): the workspace's audit log with
// filters by person, action and dates, keyset paging, and a CSV export.

// auditFilter reads the screen's filters; bad values are reported, never a 500.
func auditFilter(c echo.Context, wsID int64, loc *time.Location) (audit.Filter, settings.AuditFilters, map[string]string) {
	f := audit.Filter{WorkspaceID: wsID, After: c.QueryParam("after")}
	view := settings.AuditFilters{User: c.QueryParam("user"), Action: c.QueryParam("action"), From: c.QueryParam("from"), To: c.QueryParam("to")}
	errs := map[string]string{}
	if view.User != "" {
		if id, err := strconv.ParseInt(view.User, 10, 64); err == nil && id > 0 {
			f.UserID = id
		} else {
			view.User = ""
		}
	}
	if view.Action != "" {
		if audit.Name(view.Action) != view.Action {
			f.Action = view.Action
		} else {
			view.Action = ""
		}
	}
	if view.From != "" {
		if d, err := time.ParseInLocation("2006-01-02", view.From, loc); err == nil {
			f.From = d
		} else {
			errs["from"] = "Escribe la fecha como AAAA-MM-DD"
		}
	}
	if view.To != "" {
		if d, err := time.ParseInLocation("2006-01-02", view.To, loc); err == nil {
			f.To = d.AddDate(0, 0, 1) // the whole day
		} else {
			errs["to"] = "Escribe la fecha como AAAA-MM-DD"
		}
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		errs["to"] = "La fecha final no puede ser anterior a la inicial"
	}
	return f, view, errs
}

func filterQuery(v settings.AuditFilters) url.Values {
	q := url.Values{}
	for k, val := range map[string]string{"user": v.User, "action": v.Action, "from": v.From, "to": v.To} {
		if val != "" {
			q.Set(k, val)
		}
	}
	return q
}

func (s *Server) auditList(c echo.Context) error {
	ctx := c.Request().Context()
	v := viewer(c)
	loc := workspaceLocation(v.Workspace.Timezone)
	f, view, errs := auditFilter(c, v.Workspace.ID, loc)
	p := settings.AuditPage{Filters: view, Errors: errs, Loc: loc, Now: s.Clock.Now(), Paged: f.After != ""}
	if len(errs) == 0 {
		f.Limit = 50
		rows, next, err := audit.List(ctx, s.DB.Gorm, f)
		if err != nil {
			return err
		}
		for _, r := range rows {
			p.Rows = append(p.Rows, auditRow(r))
		}
		if next != "" {
			q := filterQuery(view)
			q.Set("after", next)
			p.NextURL = "/settings/audit?" + q.Encode()
		}
	}
	q := filterQuery(view)
	p.CSVURL = "/settings/audit.csv"
	p.FirstURL = "/settings/audit"
	if len(q) > 0 {
		p.CSVURL += "?" + q.Encode()
		p.FirstURL += "?" + q.Encode()
	}
	users, err := s.Accounts.ListUsers(ctx, v.Workspace.ID)
	if err != nil {
		return err
	}
	for _, u := range users {
		p.People = append(p.People, settings.Option{Value: strconv.FormatInt(u.ID, 10), Label: u.Name})
	}
	for _, l := range audit.Labels {
		p.Actions = append(p.Actions, settings.Option{Value: l.Action, Label: l.Name})
	}
	status := http.StatusOK
	if len(errs) > 0 {
		status = http.StatusUnprocessableEntity
	}
	return s.render(c, status, s.globals(c, "Auditoría", "settings"), settings.Shell("audit", settings.Audit(p)))
}

// auditCSV exports every row the filters select (not just one page), and is itself audited.
func (s *Server) auditCSV(c echo.Context) error {
	ctx := c.Request().Context()
	v := viewer(c)
	loc := workspaceLocation(v.Workspace.Timezone)
	f, view, errs := auditFilter(c, v.Workspace.ID, loc)
	if len(errs) > 0 {
		return echo.NewHTTPError(http.StatusUnprocessableEntity, "Revisa las fechas del filtro: escríbelas como AAAA-MM-DD.")
	}
	f.After, f.Limit = "", 1000
	if err := audit.Record(s.DB.Gorm.WithContext(ctx), audit.Entry{WorkspaceID: v.Workspace.ID, Action: audit.Export, TargetType: "audit_log",
		Data: map[string]any{"what": "audit_log", "filters": filterQuery(view)}}); err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	h.Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="auditoria-%s.csv"`, s.Clock.Now().In(loc).Format("2006-01-02")))
	h.Set("Cache-Control", "no-store")
	c.Response().WriteHeader(http.StatusOK)
	_, _ = c.Response().Write([]byte("\xef\xbb\xbf")) // BOM: Excel reads the accents right
	w := csv.NewWriter(c.Response())
	_ = w.Write([]string{"fecha", "persona", "correo", "accion", "accion_nombre", "objeto", "objeto_id", "objeto_nombre", "ip", "origen", "antes", "despues", "datos"})
	for {
		rows, next, err := audit.List(ctx, s.DB.Gorm, f)
		if err != nil {
			return err // headers are out: the connection just ends, and the log says why
		}
		for _, r := range rows {
			var d map[string]json.RawMessage
			_ = json.Unmarshal(r.Data, &d)
			before, after := string(d["before"]), string(d["after"])
			delete(d, "before")
			delete(d, "after")
			rest := ""
			if len(d) > 0 {
				b, _ := json.Marshal(d)
				rest = string(b)
			}
			target := ""
			if r.TargetID != nil {
				target = strconv.FormatInt(*r.TargetID, 10)
			}
			_ = w.Write([]string{r.CreatedAt.In(loc).Format(time.RFC3339), csvSafe(r.ActorName), csvSafe(r.ActorEmail), r.Action, audit.Name(r.Action),
				r.TargetType, target, csvSafe(r.TargetName), r.IP, r.Source, csvSafe(before), csvSafe(after), csvSafe(rest)})
		}
		w.Flush()
		if next == "" {
			return w.Error()
		}
		f.After = next
	}
}

// csvSafe keeps a spreadsheet from running a cell as a formula.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

var auditFieldNames = map[string]string{
	"name": "Nombre", "email": "Correo", "role": "Rol", "max_concurrent": "Capacidad", "teams": "Equipos",
	"active": "Activo", "two_factor": "Verificación en dos pasos", "require_two_factor": "Exigir verificación en dos pasos",
	"color": "Color", "routing_mode": "Reparto", "prefix": "Token", "shortcut": "Atajo", "title": "Título", "body": "Texto",
	"language": "Idioma", "category": "Categoría", "phone_number_id": "Phone number ID", "display_phone": "Número", "waba_id": "WABA ID",
}

var auditFactNames = map[string]string{
	"email": "Correo usado", "reason": "Motivo", "second_factor": "Segundo paso", "tokens_revoked": "Tokens revocados",
	"sessions_ended": "Sesiones cerradas", "other_sessions_ended": "Otras sesiones cerradas", "what": "Qué", "filters": "Filtros", "change": "Cambio", "secrets_replaced": "Secretos reemplazados",
	// A history import (app/importer), a replayed webhook, a template sync.
	"lines": "Líneas", "setup": "Líneas de configuración", "events": "Eventos aplicados", "skipped": "Ya importados", "error": "Error",
	"resolved": "Guardado", "synced": "Sincronizadas", "removed": "Quitadas",
}

var auditValueNames = map[string]string{
	"admin": "Administrador", "supervisor": "Supervisor", "agent": "Agente", "totp": "Código de la aplicación",
	"recovery": "Código de recuperación", "wrong_password": "Contraseña incorrecta", "audit_log": "Registro de auditoría",
	"channel.create": "Canal creado", "channel.update": "Canal modificado", "template.create": "Plantilla creada",
	"template.delete": "Plantilla eliminada", "canned.create": "Respuesta rápida creada", "canned.delete": "Respuesta rápida eliminada",
	"label.create": "Etiqueta creada", "label.delete": "Etiqueta eliminada",
	"pipeline.create": "Embudo creado", "pipeline.update": "Embudo modificado", "channel.auto_lead": "Oportunidades automáticas del canal",
	"templates.sync": "Plantillas sincronizadas con Meta",
	"access_token":   "token de acceso", "app_secret": "app secret", "verify_token": "token de verificación",
	"manual": "Solo manual", "round_robin": "Turno rotativo", "least_busy": "Menos ocupado",
}

// auditRow turns a stored event into what the screen shows: Spanish names, and the
// before/after of each field that changed.
func auditRow(r audit.Row) settings.AuditRow {
	out := settings.AuditRow{ID: r.ID, At: r.CreatedAt, Actor: r.ActorName, ActorEmail: r.ActorEmail, Action: r.Action,
		ActionName: audit.Name(r.Action), Target: r.TargetName, IP: r.IP, Source: r.Source}
	if r.TargetType == "user" && r.TargetID != nil && r.UserID != nil && *r.TargetID == *r.UserID {
		out.Target = "" // their own account: the Quién column says it
	}
	var d map[string]json.RawMessage
	_ = json.Unmarshal(r.Data, &d)
	var before, after map[string]json.RawMessage
	_ = json.Unmarshal(d["before"], &before)
	_ = json.Unmarshal(d["after"], &after)
	if out.Target == "" && r.TargetType != "user" {
		// A settings row: its name, as it is now (after) or was (before).
		for _, m := range []map[string]json.RawMessage{after, before} {
			var name string
			if json.Unmarshal(m["name"], &name) == nil && name != "" {
				out.Target = targetTypeName(r.TargetType) + " «" + name + "»"
				break
			}
		}
		if out.Target == "" && r.TargetID != nil && r.TargetType != "team" {
			out.Target = fmt.Sprintf("%s #%d", targetTypeName(r.TargetType), *r.TargetID)
		}
	}
	keys := map[string]bool{}
	for k := range before {
		keys[k] = true
	}
	for k := range after {
		keys[k] = true
	}
	for _, k := range sortedKeys(keys) {
		if k == "user_id" {
			continue
		}
		ch := settings.AuditChange{Field: nameOr(auditFieldNames, k)}
		if raw, ok := before[k]; ok {
			ch.Before = auditValue(raw)
		}
		if raw, ok := after[k]; ok {
			ch.After = auditValue(raw)
		}
		out.Changes = append(out.Changes, ch)
	}
	facts := map[string]bool{}
	for k := range d {
		if k != "before" && k != "after" {
			facts[k] = true
		}
	}
	for _, k := range sortedKeys(facts) {
		out.Facts = append(out.Facts, settings.AuditChange{Field: nameOr(auditFactNames, k), After: auditValue(d[k])})
	}
	return out
}

func targetTypeName(t string) string {
	return nameOr(map[string]string{"api_token": "Token", "team": "Equipo", "workspace": "Espacio de trabajo", "channel": "Canal",
		"audit_log": "Auditoría", "contact": "Contacto", "conversation": "Conversación",
		"template": "Plantilla", "canned_response": "Respuesta rápida", "label": "Etiqueta"}, t)
}

func nameOr(m map[string]string, k string) string {
	if n, ok := m[k]; ok {
		return n
	}
	return k
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func auditValue(raw json.RawMessage) string {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return string(raw)
	}
	switch x := v.(type) {
	case nil:
		return "—"
	case bool:
		if x {
			return "Sí"
		}
		return "No"
	case string:
		if x == "" {
			return "—"
		}
		return nameOr(auditValueNames, x)
	case []any:
		if len(x) == 0 {
			return "ninguno"
		}
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = nameOr(auditValueNames, fmt.Sprint(e))
		}
		return strings.Join(parts, ", ")
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	b, _ := json.Marshal(v)
	return string(b)
}
