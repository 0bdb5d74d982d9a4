package demo

import (
	"context"
	"encoding/json"

	"gorm.io/gorm"

	"github.com/atiende/atiende/app/db"
	"github.com/atiende/atiende/models"
)

// loadRouting gives the demo a routing setup to show (issue 9): office hours for
// every team, a strategy per team, a welcome menu on the demo number and a few rules. It
// updates in place, so loading the demo twice changes nothing.
func loadRouting(ctx context.Context, d *db.DB, ws models.Workspace, ch models.Channel, teamIDs map[string]int64) error {
	return d.Gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var cal int64
		if err := tx.Raw(`SELECT id FROM calendars WHERE workspace_id = ? AND lower(name) = lower('Oficina Lima')`, ws.ID).Scan(&cal).Error; err != nil {
			return err
		}
		if cal == 0 {
			hours := `{"mon":[["09:00","13:00"],["14:00","18:00"]],"tue":[["09:00","13:00"],["14:00","18:00"]],"wed":[["09:00","13:00"],["14:00","18:00"]],` +
				`"thu":[["09:00","13:00"],["14:00","18:00"]],"fri":[["09:00","13:00"],["14:00","18:00"]],"sat":[["09:00","12:00"]]}`
			if err := tx.Raw(`INSERT INTO calendars (workspace_id, name, timezone, hours, holidays) VALUES (?, 'Oficina Lima', 'America/Lima', ?, '["2026-07-28","2026-07-29","2026-12-25"]') RETURNING id`,
				ws.ID, hours).Scan(&cal).Error; err != nil {
				return err
			}
		}
		for name, mode := range map[string]string{"Comercial": models.RoutingRoundRobin, "Soporte técnico": models.RoutingLeastBusy, "Cobranzas": models.RoutingManual} {
			upd := map[string]any{"routing_mode": mode}
			upd["calendar_id"] = cal
			if err := tx.Model(&models.Team{}).Where("id = ?", teamIDs[name]).Updates(upd).Error; err != nil {
				return err
			}
		}
		label := func(name string) *int64 {
			var id int64
			tx.Raw(`SELECT id FROM labels WHERE workspace_id = ? AND lower(name) = lower(?)`, ws.ID, name).Scan(&id)
			if id == 0 {
				return nil
			}
			return &id
		}
		team := func(name string) *int64 { id := teamIDs[name]; return &id }
		opts, _ := json.Marshal([]models.MenuOption{
			{Key: "1", Title: "Comprar o cotizar", TeamID: team("Comercial"), LabelID: label("Cotización")},
			{Key: "2", Title: "Soporte técnico", TeamID: team("Soporte técnico"), LabelID: label("Reclamo")},
			{Key: "3", Title: "Pagos y facturas", TeamID: team("Cobranzas")},
		})
		if err := tx.Exec(`INSERT INTO channel_menus (workspace_id, channel_id, text, options) VALUES (?, ?, ?, ?)
			ON CONFLICT (channel_id) DO UPDATE SET text = EXCLUDED.text, options = EXCLUDED.options`,
			ws.ID, ch.ID, "¡Hola! 👋 Gracias por escribir a Atiende Demo. ¿En qué te podemos ayudar?", string(opts)).Error; err != nil {
			return err
		}
		rules := []struct {
			name, kind, cond, team, priority string
		}{
			{"Reclamos a Soporte técnico", models.RuleKeywords, `{"keywords":["reclamo","no funciona","falla","urgente"]}`, "Soporte técnico", "high"},
			{"México a Comercial", models.RuleCountry, `{"country":"MX"}`, "Comercial", ""},
			{"Cuentas con responsable", models.RuleCompanyOwner, `{"company_owner":true}`, "Comercial", ""},
			{"Opción 3 a Cobranzas", models.RuleMenuOption, `{"menu_option":"3"}`, "Cobranzas", "normal"},
			{"Por defecto a Comercial", models.RuleDefault, `{"default":true}`, "Comercial", ""},
		}
		for i, r := range rules {
			if err := tx.Exec(`INSERT INTO routing_rules (workspace_id, name, position, kind, cond, team_id, priority) VALUES (?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (workspace_id, lower(name)) DO UPDATE SET position = EXCLUDED.position, kind = EXCLUDED.kind, cond = EXCLUDED.cond,
					team_id = EXCLUDED.team_id, priority = EXCLUDED.priority`,
				ws.ID, r.name, i+1, r.kind, r.cond, teamIDs[r.team], r.priority).Error; err != nil {
				return err
			}
		}
		return nil
	})
}
