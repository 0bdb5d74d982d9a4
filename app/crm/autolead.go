package crm

import (
	"gorm.io/gorm"

	"github.com/atiende/atiende/app/inbox"
	"github.com/atiende/atiende/models"
)

// AutoLead is the inbox's first-cycle hook: when the channel has automatic leads on,
// the brand-new conversation gets a lead in the chosen pipeline's first open stage,
// linked to it and to the cycle just opened. It is one statement inside the webhook's
// transaction; it inserts nothing when the channel has it off.
func (s *Service) AutoLead(tx *gorm.DB, in inbox.Inbound, c *models.Conversation) error {
	title := "Oportunidad de " + models.Contact{ProfileName: in.ProfileName, WaID: in.WaID}.DisplayName()
	now := in.At
	return tx.Exec(`WITH st AS (
			SELECT s.id, s.pipeline_id, p.currency FROM channels ch
			JOIN pipelines p ON p.id = ch.auto_lead_pipeline_id JOIN stages s ON s.pipeline_id = p.id
			WHERE ch.id = ? AND s.kind = 'open' ORDER BY s.position, s.id LIMIT 1),
		l AS (INSERT INTO leads (workspace_id, pipeline_id, stage_id, title, value, currency, contact_id, conversation_id, cycle_id,
				stage_changed_at, created_at, updated_at)
			SELECT ?, st.pipeline_id, st.id, ?, 0, st.currency, ?, ?, ?, ?, ?, ? FROM st RETURNING id, stage_id)
		INSERT INTO lead_events (workspace_id, lead_id, kind, at, actor_kind, to_stage_id)
		SELECT ?, l.id, 'created', ?, 'system', l.stage_id FROM l`,
		c.ChannelID, c.WorkspaceID, title, c.ContactID, c.ID, c.CycleID, now, now, now, c.WorkspaceID, now).Error
}
