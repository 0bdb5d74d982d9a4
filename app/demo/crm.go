package demo

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/atiende/atiende/models"
)

// crmHistory adds the demo's pipelines ("Ventas B2B", the default, and
// "Renovaciones") to the history file; the leads come with the conversations that
// open them (weeks.go), and move through the pipeline over the following days.
func crmHistory(emit func(map[string]any), now time.Time) {
	emit(map[string]any{"type": "pipeline", "name": "Ventas B2B", "currency": "USD", "stages": []map[string]any{
		{"name": "Calificado", "probability": 20, "rot_days": 7}, {"name": "Propuesta", "probability": 50, "rot_days": 10},
		{"name": "Negociación", "probability": 75, "rot_days": 14}, {"name": "Ganado", "kind": "won"}, {"name": "Perdido", "kind": "lost"}}})
	emit(map[string]any{"type": "pipeline", "name": "Renovaciones", "currency": "USD", "stages": []map[string]any{
		{"name": "Entrantes", "probability": 30, "rot_days": 5}, {"name": "Cotizada", "probability": 60, "rot_days": 10},
		{"name": "Renovada", "kind": "won"}, {"name": "No renovó", "kind": "lost"}}})
}

// seedTasks gives the demo's people next steps: overdue, today and upcoming.
func seedTasks(ctx context.Context, tx *gorm.DB, ws models.Workspace, now time.Time) error {
	var leads []models.Lead
	if err := tx.WithContext(ctx).Where("workspace_id = ? AND closed_at IS NULL", ws.ID).Order("id").Find(&leads).Error; err != nil || len(leads) == 0 {
		return err
	}
	// Expected closes a few weeks out, so the board's cards and filters have them.
	for i, l := range leads {
		d := now.AddDate(0, 0, 5+7*(i%5))
		if err := tx.WithContext(ctx).Model(&models.Lead{}).Where("id = ?", l.ID).Update("expected_close", d.Format(time.DateOnly)).Error; err != nil {
			return err
		}
	}
	kinds := []string{models.TaskCall, models.TaskDemo, models.TaskFollowUp, models.TaskVisit, models.TaskCall, models.TaskFollowUp}
	titles := []string{"Confirmar el número de licencias", "Demo del módulo de reportes", "Enviar la propuesta actualizada",
		"Visita a la oficina del cliente", "Llamar para cerrar condiciones", "Preguntar si revisaron la cotización"}
	offsets := []time.Duration{-26 * time.Hour, -3 * time.Hour, 2 * time.Hour, 5 * time.Hour, 30 * time.Hour, 74 * time.Hour}
	for i, l := range leads {
		if l.OwnerID == nil {
			continue
		}
		k := i % len(kinds)
		due := now.Add(offsets[k]).Truncate(15 * time.Minute)
		notified := (*time.Time)(nil)
		if due.Before(now) {
			notified = &now // history: no notice for what was already due when the demo loaded
		}
		if err := tx.WithContext(ctx).Create(&models.Task{WorkspaceID: ws.ID, Kind: kinds[k], Title: titles[k], DueAt: due,
			AssigneeID: *l.OwnerID, LeadID: &l.ID, ContactID: &l.ContactID, CreatedBy: l.OwnerID, NotifiedAt: notified, CreatedAt: now}).Error; err != nil {
			return err
		}
	}
	return nil
}
