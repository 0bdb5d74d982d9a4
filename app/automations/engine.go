package automations

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/crm"
	"github.com/atiende/atiende/app/inbox"
	"github.com/atiende/atiende/app/whatsapp"
	"github.com/atiende/atiende/models"
)

var forUpdate = clause.Locking{Strength: "UPDATE"}

func templateVars(t models.Template) []string {
	return whatsapp.ParseTemplate(t.Components, t.Body).BodyParams
}

// EvAutomation is the conversation event (and activity line) of an automation's run.
const EvAutomation = "automation"

// silent reports an actor whose changes never trigger automations: an automation
// itself (no loops) and the history importer (history is not news).
func silent(a inbox.Actor) bool {
	return a.Kind == inbox.ActorAutomation || a.Kind == inbox.ActorImporter
}

// target is what a run acts on: a conversation, a lead, or both.
type target struct {
	convID    int64
	contactID int64
	leadID    int64
	at        time.Time
}

// ConversationClosed runs the "conversation closed" automations (Inbox.OnClosed).
func (s *Service) ConversationClosed(tx *gorm.DB, a inbox.Actor, c *models.Conversation) error {
	if silent(a) {
		return nil
	}
	return s.fire(tx, c.WorkspaceID, models.TriggerConversationClosed, func(Rule) bool { return true },
		target{convID: c.ID, contactID: c.ContactID})
}

// LabelsAdded runs the "label added" automations of the labels just added (Inbox.OnLabelsAdded).
func (s *Service) LabelsAdded(tx *gorm.DB, a inbox.Actor, c *models.Conversation, labelIDs []int64) error {
	if silent(a) {
		return nil
	}
	return s.fire(tx, c.WorkspaceID, models.TriggerLabelAdded, func(r Rule) bool { return slices.Contains(labelIDs, r.Trigger.LabelID) },
		target{convID: c.ID, contactID: c.ContactID})
}

// LeadStage runs the "lead enters a stage" automations of the stage l entered (CRM.OnLeadStage).
func (s *Service) LeadStage(tx *gorm.DB, a inbox.Actor, l models.Lead, from int64) error {
	if silent(a) {
		return nil
	}
	t := target{leadID: l.ID, contactID: l.ContactID}
	if l.ConversationID != nil {
		t.convID = *l.ConversationID
	}
	return s.fire(tx, l.WorkspaceID, models.TriggerLeadStage, func(r Rule) bool { return r.Trigger.StageID == l.StageID }, t)
}

// fire runs the workspace's active rules of trigger kind that match, in position
// order, each once. A rule whose action cannot be done (no lead to move, a template
// variable without a value) is recorded as such and the others still run: the
// triggering change is never refused because of an automation.
func (s *Service) fire(tx *gorm.DB, wsID int64, kind string, match func(Rule) bool, t target) error {
	var rows []models.Automation
	if err := tx.Where("workspace_id = ? AND trigger_kind = ? AND active", wsID, kind).Order("position, id").Find(&rows).Error; err != nil {
		return err
	}
	var rules []Rule
	for _, a := range rows {
		if r := read(a); match(r) {
			rules = append(rules, r)
		}
	}
	if len(rules) == 0 {
		return nil
	}
	var ws models.Workspace
	if err := tx.Where("id = ?", wsID).Take(&ws).Error; err != nil {
		return err
	}
	t.at = s.Clock.Now()
	if err := s.complete(tx, &t); err != nil {
		return err
	}
	actor := inbox.As(inbox.ActorAutomation, ws)
	for _, r := range rules {
		var outcome string
		err := tx.Transaction(func(sp *gorm.DB) error {
			var err error
			outcome, err = s.act(sp, actor, r, t)
			return err
		})
		ok := err == nil
		if !ok {
			outcome = failure(err)
		}
		run := models.AutomationRun{WorkspaceID: wsID, AutomationID: r.ID, Outcome: outcome, OK: ok, At: t.at}
		if t.convID != 0 {
			run.ConversationID = &t.convID
		}
		if t.leadID != 0 {
			run.LeadID = &t.leadID
		}
		if err := tx.Create(&run).Error; err != nil {
			return err
		}
		if t.convID != 0 {
			if err := activity(tx, t, fmt.Sprintf("Automatización «%s»: %s", r.Name, outcome)); err != nil {
				return err
			}
		}
	}
	return nil
}

// complete finds what the trigger did not name: a lead's conversation (its own, else
// the contact's latest) or a conversation's lead (its own or the contact's, open first).
func (s *Service) complete(tx *gorm.DB, t *target) error {
	if t.convID == 0 && t.contactID != 0 {
		if err := tx.Raw(`SELECT id FROM conversations WHERE contact_id = ? ORDER BY last_message_at DESC NULLS LAST, id DESC LIMIT 1`,
			t.contactID).Scan(&t.convID).Error; err != nil {
			return err
		}
	}
	if t.leadID == 0 && t.convID != 0 {
		if err := tx.Raw(`SELECT id FROM leads WHERE conversation_id = ? OR contact_id = ?
			ORDER BY (closed_at IS NULL) DESC, (conversation_id IS NOT DISTINCT FROM ?) DESC, updated_at DESC, id DESC LIMIT 1`,
			t.convID, t.contactID, t.convID).Scan(&t.leadID).Error; err != nil {
			return err
		}
	}
	return nil
}

// failure says in Spanish why a run did nothing.
func failure(err error) string {
	var verr apperr.Validation
	var nf apperr.NotFound
	var conflict apperr.Conflict
	switch {
	case errors.As(err, &verr):
		msgs := make([]string, 0, len(verr))
		for _, m := range verr {
			msgs = append(msgs, m)
		}
		slices.Sort(msgs)
		return "no se pudo: " + lowerFirst(strings.Join(msgs, "; "))
	case errors.As(err, &nf):
		return "no se pudo: " + lowerFirst(nf.Msg)
	case errors.As(err, &conflict):
		return "no se pudo: " + lowerFirst(conflict.Msg)
	case errors.Is(err, errSkip):
		return err.Error()
	}
	return "no se pudo completar (error interno)"
}

var errSkip = errors.New("skip")

type skipped string

func (s skipped) Error() string { return string(s) }
func (s skipped) Is(target error) bool {
	return target == errSkip
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	r := []rune(s)
	return strings.ToLower(string(r[0])) + string(r[1:])
}

func activity(tx *gorm.DB, t target, text string) error {
	return tx.Exec(`WITH ev AS (
			INSERT INTO conversation_events (workspace_id, conversation_id, cycle_id, kind, at, actor_kind, note)
			SELECT workspace_id, id, cycle_id, ?, ?, ?, ? FROM conversations WHERE id = ? RETURNING id, conversation_id, cycle_id)
		INSERT INTO messages (workspace_id, conversation_id, cycle_id, channel_id, direction, kind, body, private, sender_type, event_id, created_at)
		SELECT c.workspace_id, c.id, ev.cycle_id, c.channel_id, 'out', 'activity', ?, true, 'system', ev.id, ?
		FROM ev JOIN conversations c ON c.id = ev.conversation_id`,
		EvAutomation, t.at, inbox.ActorAutomation, text, t.convID, text, t.at).Error
}

// act runs r's action on t and says what it did.
func (s *Service) act(tx *gorm.DB, actor inbox.Actor, r Rule, t target) (string, error) {
	ctx := tx.Statement.Context
	if ctx == nil {
		ctx = context.Background()
	}
	ib := s.Inbox.WithTx(tx, s.Clock)
	cr := s.CRM.WithTx(tx, s.Clock)
	a := r.Action
	needConv := func() error {
		if t.convID == 0 {
			return skipped("no hizo nada: no hay conversación")
		}
		return nil
	}
	needLead := func() error {
		if t.leadID == 0 {
			return skipped("no hizo nada: el contacto no tiene oportunidad")
		}
		return nil
	}
	switch r.ActionKind {
	case models.ActionAssign:
		if err := needConv(); err != nil {
			return "", err
		}
		team, agent := name(tx, "teams", a.TeamID), name(tx, "users", a.UserID)
		var err error
		switch {
		case a.TeamID != 0:
			in := inbox.TransferInput{TeamID: &a.TeamID}
			if a.UserID != 0 {
				in.AgentID = &a.UserID
			}
			err = ib.Transfer(ctx, actor, t.convID, in)
		default:
			err = ib.Assign(ctx, actor, t.convID, a.UserID)
		}
		if err != nil {
			return "", err
		}
		switch {
		case a.TeamID != 0 && a.UserID != 0:
			return "asignada a " + agent + " (" + team + ")", nil
		case a.TeamID != 0:
			return "asignada a " + team, nil
		}
		return "asignada a " + agent, nil
	case models.ActionAddLabel:
		if err := needConv(); err != nil {
			return "", err
		}
		var have []int64
		if err := tx.Model(&models.ConversationLabel{}).Where("conversation_id = ?", t.convID).Pluck("label_id", &have).Error; err != nil {
			return "", err
		}
		label := name(tx, "labels", a.LabelID)
		if slices.Contains(have, a.LabelID) {
			return "ya tenía la etiqueta «" + label + "»", nil
		}
		if err := ib.SetLabels(ctx, actor, t.convID, append(have, a.LabelID)); err != nil {
			return "", err
		}
		return "etiqueta «" + label + "» añadida", nil
	case models.ActionCreateTask:
		owner := a.UserID
		if owner == 0 && t.leadID != 0 {
			tx.Raw(`SELECT COALESCE(owner_id, 0) FROM leads WHERE id = ?`, t.leadID).Scan(&owner)
		}
		if owner == 0 && t.convID != 0 {
			tx.Raw(`SELECT COALESCE(assignee_id, 0) FROM conversations WHERE id = ?`, t.convID).Scan(&owner)
		}
		if owner == 0 {
			return "", skipped("no creó la tarea: nadie es responsable (la oportunidad no tiene dueño ni la conversación agente)")
		}
		in := crm.TaskInput{Kind: a.TaskKind, Title: a.TaskTitle, DueAt: t.at.Add(time.Duration(a.DueMinutes) * time.Minute), AssigneeID: &owner}
		switch {
		case t.leadID != 0:
			in.LeadID = &t.leadID
		case t.contactID != 0:
			in.ContactID = &t.contactID
		default:
			return "", skipped("no hizo nada: no hay contacto")
		}
		if _, err := cr.CreateTask(ctx, actor, in); err != nil {
			return "", err
		}
		return fmt.Sprintf("tarea «%s» para %s, %s", a.TaskTitle, name(tx, "users", owner), DueText(a.DueMinutes)), nil
	case models.ActionSendTemplate:
		if err := needConv(); err != nil {
			return "", err
		}
		vals, err := s.values(tx, t)
		if err != nil {
			return "", err
		}
		body := map[string]string{}
		for k, v := range a.Params {
			body[k] = Fill(v, vals)
		}
		var tname string
		tx.Raw(`SELECT name FROM templates WHERE id = ?`, a.TemplateID).Scan(&tname)
		if _, err := ib.SendTemplateAuto(ctx, actor, t.convID, a.TemplateID, body); err != nil {
			return "", err
		}
		return "plantilla «" + tname + "» enviada", nil
	case models.ActionMoveLead:
		if err := needLead(); err != nil {
			return "", err
		}
		stage := name(tx, "stages", a.StageID)
		l, err := cr.MoveLead(ctx, actor, t.leadID, a.StageID, "Automatización «"+r.Name+"»")
		if err != nil {
			return "", err
		}
		_ = l
		return "oportunidad movida a " + stage, nil
	}
	return "", skipped("no hizo nada: acción desconocida")
}

// DueText says when a task created now is due: "vence en 2 h", "vence ahora".
func DueText(minutes int) string {
	switch {
	case minutes <= 0:
		return "vence ahora"
	case minutes%(60*24) == 0:
		d := minutes / (60 * 24)
		if d == 1 {
			return "vence en 1 día"
		}
		return fmt.Sprintf("vence en %d días", d)
	case minutes%60 == 0:
		return fmt.Sprintf("vence en %d h", minutes/60)
	}
	return fmt.Sprintf("vence en %d min", minutes)
}

func name(tx *gorm.DB, table string, id int64) string {
	if id == 0 {
		return ""
	}
	var n string
	tx.Table(table).Where("id = ?", id).Limit(1).Pluck("name", &n)
	return n
}

// values are the placeholders' values for t: the contact's and the lead's fields.
func (s *Service) values(tx *gorm.DB, t target) (map[string]string, error) {
	var row struct {
		Name, ProfileName, Phone, WaID, Username, Company, Agent string
	}
	if t.convID != 0 {
		if err := tx.Raw(`SELECT k.name, k.profile_name, k.phone, k.wa_id, k.username, k.company, COALESCE(u.name, '') AS agent
			FROM conversations c JOIN contacts k ON k.id = c.contact_id LEFT JOIN users u ON u.id = c.assignee_id WHERE c.id = ?`, t.convID).
			Scan(&row).Error; err != nil {
			return nil, err
		}
	}
	k := models.Contact{Name: row.Name, ProfileName: row.ProfileName, Phone: row.Phone, WaID: row.WaID, Username: row.Username}
	vals := map[string]string{"nombre": k.DisplayName(), "empresa": row.Company, "telefono": row.Phone, "agente": row.Agent}
	if t.leadID != 0 {
		var l struct {
			Title    string
			Value    float64
			Currency string
			Stage    string
		}
		if err := tx.Raw(`SELECT l.title, l.value, l.currency, s.name AS stage FROM leads l JOIN stages s ON s.id = l.stage_id WHERE l.id = ?`, t.leadID).
			Scan(&l).Error; err != nil {
			return nil, err
		}
		vals["lead.titulo"], vals["lead.valor"], vals["lead.etapa"] = l.Title, Money(l.Value, l.Currency), l.Stage
	}
	return vals, nil
}

// Fill replaces the placeholders ({{nombre}}, {{lead.valor}}…) of s with vals; an
// unknown or empty one becomes empty.
func Fill(s string, vals map[string]string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "{{")
		if i < 0 {
			b.WriteString(s)
			break
		}
		j := strings.Index(s[i:], "}}")
		if j < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		key := strings.ToLower(strings.TrimSpace(s[i+2 : i+j]))
		b.WriteString(vals[key])
		s = s[i+j+2:]
	}
	return strings.TrimSpace(b.String())
}

// Money writes an amount the es-419 way: "1.234,50 USD".
func Money(v float64, currency string) string {
	neg := v < 0
	if neg {
		v = -v
	}
	cents := int64(v*100 + 0.5)
	whole := strconv.FormatInt(cents/100, 10)
	var g []string
	for len(whole) > 3 {
		g = append([]string{whole[len(whole)-3:]}, g...)
		whole = whole[:len(whole)-3]
	}
	g = append([]string{whole}, g...)
	out := strings.Join(g, ".") + fmt.Sprintf(",%02d", cents%100)
	if neg {
		out = "-" + out
	}
	return strings.TrimSpace(out + " " + currency)
}
