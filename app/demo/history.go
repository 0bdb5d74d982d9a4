package demo

import (
	"bytes"
	"context"
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
		for _, l := range demoLabels {
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
				WHERE k.workspace_id = ? AND k.wa_id = ? AND c.channel_id = ?`, ws.ID, waID, ch.ID).Scan(&convID).Error; err != nil {
				return err
			}
			if convID == 0 {
				continue // the customer's first message would come after now
			}
			var ids []int64
			for _, n := range sortedSet(names) {
				ids = append(ids, labelIDs[n])
			}
			if err := svc.SetLabels(ctx, system, convID, ids); err != nil {
				return err
			}
		}
		if err := seedTasks(ctx, tx, ws, time.Now()); err != nil {
			return err
		}
		if err := seedCatalog(ctx, tx, ws); err != nil {
			return err
		}
		return setContactDetails(ctx, tx, ws)
	})
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
