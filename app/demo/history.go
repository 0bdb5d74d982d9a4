package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"gorm.io/gorm"

	"github.com/atiende/atiende/app/catalog"
	"github.com/atiende/atiende/app/clock"
	"github.com/atiende/atiende/app/db"
	"github.com/atiende/atiende/app/importer"
	"github.com/atiende/atiende/app/inbox"
	"github.com/atiende/atiende/app/secrets"
	"github.com/atiende/atiende/models"
)

type customer struct {
	waID, name, company string
}

var customers = []customer{
	{"51987654321", "María José Quispe", "Constructora Andina SAC"},
	{"5215512345678", "Carlos Díaz", "Logística del Valle"},
	{"573001234567", "Valentina Gómez", "Clínica Santa Fe"},
	{"5491123456789", "Martín Fernández", "Estudio Fernández & Asoc."},
	{"56912345678", "Camila Rojas", "Viña Los Robles"},
	{"51912345678", "Jorge Huamán", "Ferretería El Progreso"},
	{"5218112345678", "Daniela Herrera", "Grupo Monterrey Textil"},
	{"573104567890", "Andrés Castillo", "AgroExport Caribe"},
	{"5493511234567", "Lucía Romero", "Córdoba Software"},
	{"51998877665", "Rosa Mamani", "Minera Sur"},
	{"5215587654321", "Alejandro Ruiz", "Farmacias Ruiz"},
	{"573157654321", "Sofía Morales", "Colegio San Ignacio"},
	{"56987654321", "Diego Soto", "Transportes Austral"},
	{"51955544433", "Patricia Vargas", "Hotel Miraflores Park"},
	{"5491198765432", "Federico Pérez", "Distribuidora Patagonia"},
	{"51944433322", "Luis Alberto Chávez", "Inmobiliaria Los Pinos"},
	{"5213312345678", "Gabriela Navarro", "Tequilera Jalisco"},
	{"573201112233", "Juan Pablo Restrepo", "Café de Altura"},
	{"51933322211", "Ana Lucía Torres", "Estudio Contable Torres"},
	{"56911122233", "Ignacio Muñoz", "Salmones del Pacífico"},
	{"51922211100", "Fernando Salas", "Panificadora Salas"},
	{"5215511122233", "Mariana López", "Academia de Idiomas Norte"},
	{"573009998877", "Felipe Ospina", "Ospina Ingeniería"},
	{"51966655544", "Carmen Rosa Flores", "Boutique Flores"},
}

type script struct {
	team   string
	agent  string
	lines  []string // customer, agent, customer, agent… (agent lines start with "A:")
	close  string
	note   string
	xferTo string
}

var scripts = []script{
	{team: "Ventas", agent: "ana@demo.atiende.app", lines: []string{
		"Hola, buenas tardes. Necesito una cotización para 20 licencias del plan Pro 🙏",
		"A:¡Hola! Con gusto. ¿Las 20 licencias serían anuales o mensuales?",
		"Anuales. ¿Tienen descuento por volumen?",
		"A:Sí: desde 20 licencias anuales aplicamos 15 %. Te envío la propuesta hoy mismo.",
		"Perfecto, quedo atento. Gracias",
	}, close: "Propuesta enviada", note: "Cliente con potencial de 50 licencias en 2027"},
	{team: "Soporte", agent: "luis@demo.atiende.app", lines: []string{
		"Buenos días, no puedo entrar a la plataforma, me dice usuario bloqueado",
		"A:Hola, buenos días. Ya revisé tu cuenta: se bloqueó por intentos fallidos. Te acabo de enviar un enlace para restablecer la contraseña.",
		"Listo, ya pude entrar. ¡Mil gracias!",
		"A:¡Excelente! Cualquier cosa nos escribes por aquí.",
	}, close: "Resuelto: desbloqueo de cuenta"},
	{team: "Cobranzas", agent: "carla@demo.atiende.app", lines: []string{
		"Hola, me llegó la factura F001-2381 pero el monto no coincide con lo acordado",
		"A:Hola, gracias por avisar. ¿Me confirmas el monto que acordaron con el ejecutivo?",
		"Eran USD 1.200 más IGV, y la factura dice 1.450",
		"A:Tienes razón: se aplicó la tarifa sin descuento. Emitimos una nota de crédito y te llega la factura corregida en 24 h.",
	}, close: "Nota de crédito emitida", note: "Escalado a contabilidad: NC por USD 250"},
	{team: "Ventas", agent: "carla@demo.atiende.app", lines: []string{
		"Hola! Vi su anuncio en Instagram, ¿hacen demos en vivo?",
		"A:¡Hola! Sí, son de 30 minutos por videollamada. ¿Qué día te acomoda esta semana?",
		"El jueves a las 10 am estaría bien",
		"A:Agendado para el jueves 10:00. Te llega la invitación al correo.",
	}, close: "Demo agendada"},
	{team: "Ventas", agent: "ana@demo.atiende.app", lines: []string{
		"Buenas, quería saber si la integración con SAP está incluida",
		"A:Hola, la integración con SAP Business One está en el plan Enterprise. ¿Cuántos usuarios serían?",
		"Unos 35. Pero primero necesitamos que soporte revise nuestro servidor",
	}, xferTo: "Soporte", note: "Revisar versión de SAP B1 del cliente antes de cotizar"},
	{team: "Soporte", agent: "luis@demo.atiende.app", lines: []string{
		"Hola, el reporte mensual sale en blanco desde ayer",
		"A:Hola, lo estamos revisando. ¿Me confirmas desde qué navegador lo abres?",
		"Chrome, en Windows",
		"A:Gracias. Fue un error de nuestro lado con los filtros de fecha; ya está corregido. ¿Puedes probar de nuevo?",
		"Ya salió bien 👍",
	}, close: "Resuelto: bug en filtros"},
	{team: "Cobranzas", agent: "carla@demo.atiende.app", lines: []string{
		"Buen día, ¿me pueden enviar el estado de cuenta de octubre?",
		"A:Buen día. Te lo envío en PDF en unos minutos.",
	}, close: "Estado de cuenta enviado"},
	{team: "Soporte", agent: "luis@demo.atiende.app", lines: []string{
		"Hola, ¿cómo agrego un usuario nuevo a mi cuenta?",
	}, close: "Sin respuesta del cliente"},
}

var openLines = []struct {
	team, text string
}{
	{"Ventas", "Hola, ¿tienen precios para ONG? Somos una fundación en Cusco"},
	{"Soporte", "Buenas tardes, la app se cierra sola al adjuntar fotos 😕"},
	{"Cobranzas", "Hola, ya hice la transferencia, les mando el comprobante"},
	{"Ventas", "Quisiera cotizar 5 licencias adicionales para el área de ventas"},
	{"Soporte", "No me llegan las notificaciones por correo desde el lunes"},
	{"Ventas", "¿Tienen partner en Guadalajara? Queremos implementación presencial"},
	{"Cobranzas", "¿Puedo pagar en dos cuotas la renovación anual?"},
	{"Soporte", "Hola, ¿se puede exportar el historial de chats a Excel?"},
}

// loadHistory writes three weeks of conversations as a history file (JSONL, the
// importer's format, generated deterministically from the day) and imports it, so the
// demo and an import can never disagree; then it labels the conversations.
func loadHistory(ctx context.Context, d *db.DB, ws models.Workspace, ch models.Channel, box *secrets.Box) error {
	var n int64
	if err := d.Gorm.WithContext(ctx).Model(&models.Message{}).Where("channel_id = ?", ch.ID).Count(&n).Error; err != nil || n > 0 {
		return err // already loaded: the demo is idempotent
	}
	file, labels := historyFile(ws, ch, time.Now())
	im := &importer.Importer{DB: d.Gorm, Inbox: inbox.New(d.Gorm, clock.Real{}), Box: box, BatchSize: 100_000}
	if _, err := im.Run(ctx, bytes.NewReader(file), importer.Options{Workspace: ws.Name}); err != nil {
		return err
	}
	return d.Gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		cat := catalog.New(tx, clock.Real{})
		labelIDs := map[string]int64{}
		for _, l := range []struct{ name, color string }{{"Ventas", catalog.ColorGreen}, {"Soporte", catalog.ColorBlue}, {"Cobranzas", catalog.ColorOrange}, {"VIP", catalog.ColorPurple}} {
			lb, err := cat.EnsureLabel(ctx, ws.ID, l.name, l.color)
			if err != nil {
				return err
			}
			labelIDs[l.name] = lb.ID
		}
		svc := inbox.New(tx, clock.Real{})
		system := inbox.As(inbox.ActorSystem, ws)
		for waID, names := range labels {
			var convID int64
			if err := tx.Raw(`SELECT c.id FROM conversations c JOIN contacts k ON k.id = c.contact_id
				WHERE k.workspace_id = ? AND k.wa_id = ? AND c.channel_id = ?`, ws.ID, waID, ch.ID).Row().Scan(&convID); err != nil {
				return err
			}
			var ids []int64
			for _, n := range names {
				ids = append(ids, labelIDs[n])
			}
			if err := svc.SetLabels(ctx, system, convID, ids); err != nil {
				return err
			}
		}
		if err := seedTasks(ctx, tx, ws, time.Now()); err != nil {
			return err
		}
		return setContactDetails(ctx, tx, ws)
	})
}

// historyFile is the demo's history as an import file, and the labels of each
// customer's conversation (labels are not part of the import format).
func historyFile(ws models.Workspace, ch models.Channel, now time.Time) ([]byte, map[string][]string) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	emit := func(m map[string]any) {
		if t, ok := m["at"].(time.Time); ok {
			m["at"] = t.UTC().Format(time.RFC3339)
		}
		_ = enc.Encode(m)
	}
	labels := map[string][]string{}
	rng := rand.New(rand.NewPCG(2026, 11))
	loc := ws.Location()
	today := now.In(loc)
	seq := 0
	receive := func(c customer, text string, at time.Time, team string) {
		seq++
		emit(map[string]any{"type": "inbound", "at": at, "channel": ch.PhoneNumberID, "from": c.waID, "name": c.name,
			"text": text, "id": fmt.Sprintf("wamid.DEMO%05d", seq), "team": team})
	}
	take := func(c customer, agent string, at time.Time) {
		emit(map[string]any{"type": "assign", "at": at, "contact": c.waID, "agent": agent})
		emit(map[string]any{"type": "status", "at": at, "contact": c.waID, "agent": agent, "status": models.StatusActive})
	}
	reply := func(c customer, agent, text string, at time.Time) {
		emit(map[string]any{"type": "reply", "at": at, "contact": c.waID, "agent": agent, "text": text})
	}
	ci := 0
	for day := 21; day >= 1; day-- {
		date := today.AddDate(0, 0, -day)
		if date.Weekday() == time.Sunday {
			continue
		}
		for k := 0; k < 2+rng.IntN(3); k++ {
			c := customers[ci%len(customers)]
			ci++
			sc := scripts[rng.IntN(len(scripts))]
			at := time.Date(date.Year(), date.Month(), date.Day(), 9+rng.IntN(8), rng.IntN(60), 0, 0, loc)
			agent := sc.agent
			for i, line := range sc.lines {
				if i > 0 {
					at = at.Add(time.Duration(2+rng.IntN(55)) * time.Minute)
				}
				if text, ok := agentLine(line); ok {
					if i == 1 {
						take(c, agent, at)
					}
					reply(c, agent, text, at)
					continue
				}
				receive(c, line, at, sc.team)
			}
			names := []string{sc.team}
			if sc.note != "" {
				names = append(names, "VIP")
			}
			labels[c.waID] = names
			if sc.note != "" {
				emit(map[string]any{"type": "note", "at": at.Add(time.Minute), "contact": c.waID, "agent": agent, "text": sc.note})
			}
			if sc.xferTo != "" {
				emit(map[string]any{"type": "transfer", "at": at.Add(3 * time.Minute), "contact": c.waID, "team": sc.xferTo,
					"note": "Cliente necesita revisión técnica antes de cotizar"})
				luis := "luis@demo.atiende.app"
				take(c, luis, at.Add(40*time.Minute))
				reply(c, luis, "Hola, soy Luis de Soporte. Revisé tu servidor: la versión es compatible. Te devuelvo con Ventas para la propuesta.", at.Add(40*time.Minute))
				sc.close = "Revisión técnica completa"
				agent = luis
			}
			if sc.close != "" {
				closeAt := at.Add(time.Duration(20+rng.IntN(600)) * time.Minute)
				if end := time.Date(date.Year(), date.Month(), date.Day(), 23, 50, 0, 0, loc); closeAt.After(end) {
					closeAt = end // every day's history ends that day
				}
				emit(map[string]any{"type": "status", "at": closeAt, "contact": c.waID,
					"agent": agent, "status": models.StatusClosed, "reason": sc.close})
			}
		}
	}
	// Today: a few conversations in every open column.
	agentFor := map[string]string{"Ventas": "ana@demo.atiende.app", "Soporte": "luis@demo.atiende.app", "Cobranzas": "carla@demo.atiende.app"}
	for i, o := range openLines {
		c := customers[(ci+i)%len(customers)]
		at := now.Add(-time.Duration(5+(len(openLines)-i)*17) * time.Minute)
		receive(c, o.text, at, o.team)
		labels[c.waID] = []string{o.team}
		agent := agentFor[o.team]
		switch i % 4 {
		case 1: // En atención: taken, not answered yet
			take(c, agent, at.Add(2*time.Minute))
		case 2: // Pendientes: answered, waiting on the customer
			take(c, agent, at.Add(3*time.Minute))
			reply(c, agent, "¡Hola! Gracias por escribirnos. Lo reviso y te confirmo en unos minutos.", at.Add(3*time.Minute))
		case 3: // En atención: answered, and the customer wrote again
			take(c, agent, at.Add(2*time.Minute))
			reply(c, agent, "Hola, claro que sí. ¿Me compartes tu RUC o razón social?", at.Add(2*time.Minute))
			receive(c, "Sí, es 20601234567", at.Add(4*time.Minute), o.team)
		}
	}
	crmHistory(emit, now)
	return buf.Bytes(), labels
}

func agentLine(line string) (string, bool) {
	if len(line) > 2 && line[:2] == "A:" {
		return line[2:], true
	}
	return "", false
}

func setContactDetails(ctx context.Context, tx *gorm.DB, ws models.Workspace) error {
	for _, c := range customers {
		if err := tx.WithContext(ctx).Exec(`UPDATE contacts SET name = ?, company = ? WHERE workspace_id = ? AND wa_id = ? AND name = ''`,
			c.name, c.company, ws.ID, c.waID).Error; err != nil {
			return err
		}
	}
	// Every customer's company is an account (companies) with its tax id, as the
	// country writes it, and a domain; contacts get an e-mail at that domain.
	if err := tx.WithContext(ctx).Exec(`
		INSERT INTO companies (workspace_id, name, tax_id, country, domain, created_at, updated_at)
		SELECT DISTINCT ON (lower(k.company)) k.workspace_id, k.company,
			CASE k.country WHEN 'PE' THEN '20' || lpad((abs(hashtext(k.company)) % 1000000000)::text, 9, '0')
				WHEN 'MX' THEN upper(left(regexp_replace(k.company, '[^A-Za-z]', '', 'g'), 3)) || '180512' || 'AB' || (abs(hashtext(k.company)) % 10)::text
				WHEN 'AR' THEN '30-' || lpad((abs(hashtext(k.company)) % 100000000)::text, 8, '0') || '-' || (abs(hashtext(k.company)) % 10)::text
				WHEN 'CO' THEN '900' || lpad((abs(hashtext(k.company)) % 1000000)::text, 6, '0') || '-' || (abs(hashtext(k.company)) % 10)::text
				WHEN 'CL' THEN '76.' || lpad((abs(hashtext(k.company)) % 1000)::text, 3, '0') || '.' || lpad((abs(hashtext(k.company)) % 997)::text, 3, '0') || '-K'
				ELSE '' END,
			k.country, lower(regexp_replace(translate(k.company, 'áéíóúñÁÉÍÓÚÑ', 'aeiounAEIOUN'), '[^A-Za-z]', '', 'g')) ||
				CASE k.country WHEN 'PE' THEN '.com.pe' WHEN 'MX' THEN '.com.mx' WHEN 'AR' THEN '.com.ar' WHEN 'CO' THEN '.com.co' WHEN 'CL' THEN '.cl' ELSE '.com' END,
			now(), now()
		FROM contacts k WHERE k.workspace_id = ? AND k.company <> ''
		ORDER BY lower(k.company)
		ON CONFLICT (workspace_id, lower(name)) DO NOTHING`, ws.ID).Error; err != nil {
		return err
	}
	// Each customer's owner is the agent who looks after their conversation.
	if err := tx.WithContext(ctx).Exec(`UPDATE contacts k SET owner_id = c.assignee_id FROM conversations c
		WHERE c.contact_id = k.id AND k.workspace_id = ? AND c.assignee_id IS NOT NULL AND k.owner_id IS NULL`, ws.ID).Error; err != nil {
		return err
	}
	if err := tx.WithContext(ctx).Exec(`UPDATE contacts k SET company_id = co.id, company = co.name,
			email = CASE WHEN k.email = '' THEN lower(translate(split_part(k.name, ' ', 1), 'áéíóúñÁÉÍÓÚÑ', 'aeiounAEIOUN')) || '@' || co.domain ELSE k.email END
		FROM companies co WHERE k.workspace_id = ? AND co.workspace_id = k.workspace_id AND lower(co.name) = lower(k.company) AND k.company_id IS NULL`,
		ws.ID).Error; err != nil {
		return err
	}
	// The account's owner is its contact's.
	return tx.WithContext(ctx).Exec(`UPDATE companies co SET owner_id = k.owner_id FROM contacts k
		WHERE k.company_id = co.id AND co.workspace_id = ? AND co.owner_id IS NULL AND k.owner_id IS NOT NULL`, ws.ID).Error
}
