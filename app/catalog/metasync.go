package catalog

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/atiende/atiende/app/channels"
	"github.com/atiende/atiende/app/whatsapp"
	"github.com/atiende/atiende/models"
)

// Template statuses as Atiende keeps them (Meta's, in lower case).
const (
	StatusApproved = "approved"
	StatusPending  = "pending"
	StatusRejected = "rejected"
)

// StatusLabel is the Spanish name of a template status.
func StatusLabel(s string) string {
	switch s {
	case StatusApproved:
		return "Aprobada"
	case StatusPending, "in_appeal", "pending_deletion":
		return "En revisión"
	case StatusRejected:
		return "Rechazada"
	case "paused":
		return "Pausada"
	case "disabled":
		return "Desactivada"
	}
	return s
}

// TemplateSyncer copies the message templates of each channel's WhatsApp Business
// Account from the Graph API.
type TemplateSyncer struct {
	Catalog  *Service
	Channels *channels.Service
	Graph    *whatsapp.Client
}

// SyncResult says what a synchronisation did.
type SyncResult struct {
	Accounts int
	Synced   int
	Removed  int
	Failed   []string // accounts that could not be read, with the reason
}

// Summary is a sentence for admins.
func (r SyncResult) Summary() string {
	if r.Accounts == 0 {
		return "Ningún canal tiene una cuenta de WhatsApp Business (WABA ID) configurada: agrégala en Configuración → Canales."
	}
	msg := fmt.Sprintf("%d %s de Meta al día", r.Synced, plural(r.Synced, "plantilla", "plantillas"))
	if r.Removed > 0 {
		msg += fmt.Sprintf("; %d ya no %s en Meta y se quitaron", r.Removed, plural(r.Removed, "existía", "existían"))
	}
	msg += "."
	if len(r.Failed) > 0 {
		msg += " No se pudo leer: " + strings.Join(r.Failed, "; ") + "."
	}
	return msg
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// SyncWorkspace synchronises the templates of every WhatsApp Business Account the
// workspace's active channels belong to. An account that cannot be read keeps its
// templates as they were.
func (t *TemplateSyncer) SyncWorkspace(ctx context.Context, wsID int64) (SyncResult, error) {
	var chs []models.Channel
	if err := t.Catalog.DB.WithContext(ctx).Where("workspace_id = ? AND active AND waba_id <> ''", wsID).Order("id").Find(&chs).Error; err != nil {
		return SyncResult{}, err
	}
	var res SyncResult
	done := map[string]bool{}
	for _, ch := range chs {
		if done[ch.WabaID] {
			continue
		}
		done[ch.WabaID] = true
		res.Accounts++
		creds, err := t.Channels.Credentials(ch)
		if err != nil {
			res.Failed = append(res.Failed, fmt.Sprintf("%s (las credenciales del canal no se pueden leer)", ch.Name))
			continue
		}
		list, err := t.Graph.ListTemplates(ctx, ch.WabaID, creds.AccessToken)
		if err != nil {
			res.Failed = append(res.Failed, fmt.Sprintf("%s (%s)", ch.Name, syncReason(err)))
			continue
		}
		n, removed, err := t.store(ctx, wsID, ch.WabaID, list)
		if err != nil {
			return res, err
		}
		res.Synced += n
		res.Removed += removed
	}
	return res, nil
}

// SyncAll synchronises every workspace whose templates were last synchronised more
// than olderThan ago, or never (the job runs often and syncs each workspace daily, so
// a new server has its templates within minutes).
func (t *TemplateSyncer) SyncAll(ctx context.Context, olderThan time.Duration) error {
	var ids []int64
	err := t.Catalog.DB.WithContext(ctx).Raw(`SELECT DISTINCT ch.workspace_id FROM channels ch
		WHERE ch.active AND ch.waba_id <> '' AND NOT EXISTS (
			SELECT 1 FROM templates t WHERE t.workspace_id = ch.workspace_id AND t.waba_id = ch.waba_id AND t.synced_at > ?)`,
		t.Catalog.Clock.Now().Add(-olderThan)).Scan(&ids).Error
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range ids {
		res, err := t.SyncWorkspace(ctx, id)
		if err != nil {
			errs = append(errs, err)
		} else if len(res.Failed) > 0 {
			errs = append(errs, fmt.Errorf("workspace %d: %s", id, strings.Join(res.Failed, "; ")))
		}
	}
	return errors.Join(errs...)
}

func syncReason(err error) string {
	var ge *whatsapp.GraphError
	if errors.As(err, &ge) {
		return whatsapp.ErrorReasonES(ge.Code, "Meta respondió con un error")
	}
	return "sin conexión con Meta"
}

// store upserts an account's templates and removes the ones Meta no longer lists.
func (t *TemplateSyncer) store(ctx context.Context, wsID int64, wabaID string, list []whatsapp.MetaTemplate) (n, removed int, err error) {
	now := t.Catalog.Clock.Now()
	err = t.Catalog.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		keep := []int64{0}
		for _, mt := range list {
			if mt.Name == "" || mt.Language == "" {
				continue
			}
			spec := whatsapp.ParseTemplate(mt.Components, "")
			cat := strings.ToLower(mt.Category)
			switch cat {
			case CategoryMarketing, CategoryUtility, CategoryAuthentication:
			default:
				cat = CategoryUtility
			}
			row := models.Template{WorkspaceID: wsID, WabaID: wabaID, MetaID: mt.ID, Name: mt.Name, Language: mt.Language,
				Category: cat, Status: strings.ToLower(mt.Status), Body: spec.Body, Components: models.JSON(mt.Components),
				SyncedAt: &now, CreatedAt: now}
			if len(row.Components) == 0 {
				row.Components = models.JSON("[]")
			}
			err := tx.Clauses(clause.OnConflict{
				Columns:   []clause.Column{{Name: "workspace_id"}, {Name: "waba_id"}, {Name: "name"}, {Name: "language"}},
				DoUpdates: clause.AssignmentColumns([]string{"meta_id", "category", "status", "body", "components", "synced_at"}),
			}).Omit("ID").Create(&row).Error
			if err != nil {
				return err
			}
			if row.ID == 0 {
				tx.Model(&models.Template{}).Where("workspace_id = ? AND waba_id = ? AND name = ? AND language = ?", wsID, wabaID, row.Name, row.Language).Pluck("id", &row.ID)
			}
			keep = append(keep, row.ID)
			n++
		}
		res := tx.Where("workspace_id = ? AND waba_id = ? AND id NOT IN ?", wsID, wabaID, keep).Delete(&models.Template{})
		removed = int(res.RowsAffected)
		return res.Error
	})
	return n, removed, err
}
