package demo

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/atiende/atiende/models"
)

// crmHistory adds the demo's pipelines ("Ventas B2B", the default, and
// "Renovaciones") and leads at different stages to the history file: some moved
// through the pipeline, some won or lost, some left long enough to be rotting.
func crmHistory(emit func(map[string]any), now time.Time) {
	emit(map[string]any{"type": "pipeline", "name": "Ventas B2B", "currency": "USD", "stages": []map[string]any{
		{"name": "Calificado", "probability": 20, "rot_days": 7}, {"name": "Propuesta", "probability": 50, "rot_days": 10},
		{"name": "Negociación", "probability": 75, "rot_days": 14}, {"name": "Ganado", "kind": "won"}, {"name": "Perdido", "kind": "lost"}}})
	emit(map[string]any{"type": "pipeline", "name": "Renovaciones", "currency": "USD", "stages": []map[string]any{
		{"name": "Entrantes", "probability": 30, "rot_days": 5}, {"name": "Cotizada", "probability": 60, "rot_days": 10},
		{"name": "Renovada", "kind": "won"}, {"name": "No renovó", "kind": "lost"}}})
	leads := []struct {
		customer int
		title    string
		value    float64
		pipeline string
		agent    string
		daysAgo  int
		moves    []string // stages it went through after the first, one every couple of days
		reason   string
	}{
		{0, "20 licencias Pro anuales", 4800, "Ventas B2B", "ana", 18, []string{"Propuesta", "Negociación"}, ""},
		{1, "Flota de 35 unidades con GPS", 12500, "Ventas B2B", "carla", 16, []string{"Propuesta"}, ""},
		{2, "Agenda médica para 3 sedes", 7200.5, "Ventas B2B", "ana", 15, nil, ""},
		{3, "Plan Estudio 10 usuarios", 1800, "Ventas B2B", "ana", 14, []string{"Propuesta", "Negociación", "Ganado"}, ""},
		{4, "Integración con tienda online", 3500, "Ventas B2B", "carla", 12, []string{"Propuesta", "Perdido"}, "Eligió a otro proveedor por precio"},
		{5, "Licencias para 4 sucursales", 2600, "Ventas B2B", "ana", 9, []string{"Propuesta"}, ""},
		{6, "Proyecto textil Monterrey", 18900, "Ventas B2B", "carla", 8, []string{"Propuesta", "Negociación"}, ""},
		{7, "Exportación: módulo de aduanas", 9400, "Ventas B2B", "ana", 6, nil, ""},
		{8, "Renovación anual Córdoba Software", 5400, "Renovaciones", "carla", 10, []string{"Cotizada"}, ""},
		{9, "Renovación Minera Sur 2027", 22000, "Renovaciones", "ana", 7, nil, ""},
		{10, "Renovación Farmacias Ruiz", 3100, "Renovaciones", "carla", 12, []string{"Cotizada", "Renovada"}, ""},
		{11, "Plataforma para 1.200 alumnos", 6750, "Ventas B2B", "ana", 3, nil, ""},
		{12, "Rastreo de carga refrigerada", 8300, "Ventas B2B", "carla", 2, []string{"Propuesta"}, ""},
		{13, "Reservas por WhatsApp para el hotel", 4200, "Ventas B2B", "ana", 1, nil, ""},
	}
	for i, l := range leads {
		c := customers[l.customer]
		at := now.AddDate(0, 0, -l.daysAgo).Add(time.Duration(i) * time.Minute)
		first := map[string]string{"Ventas B2B": "Calificado", "Renovaciones": "Entrantes"}[l.pipeline]
		emit(map[string]any{"type": "lead", "at": at, "contact": c.waID, "title": l.title, "value": l.value, "currency": "USD",
			"pipeline": l.pipeline, "stage": first, "agent": l.agent + "@demo.atiende.app"})
		for j, st := range l.moves {
			m := map[string]any{"type": "stage", "at": at.Add(time.Duration(j+1) * 47 * time.Hour), "contact": c.waID, "stage": st,
				"pipeline": l.pipeline, "agent": l.agent + "@demo.atiende.app"}
			if st == "Perdido" || st == "No renovó" {
				m["reason"] = l.reason
			}
			emit(m)
		}
	}
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
