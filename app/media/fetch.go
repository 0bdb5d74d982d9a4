// Package media fetches files customers send over WhatsApp and keeps them: Meta's
// download URL lasts 5 minutes and the media id 7 days, so the bytes are copied into
// the media table soon after the webhook, or on first view at the latest.
package media

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"gorm.io/gorm"

	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/channels"
	"github.com/atiende/atiende/app/clock"
	"github.com/atiende/atiende/app/whatsapp"
	"github.com/atiende/atiende/models"
)

// Fetcher copies media from the Graph API into the database.
type Fetcher struct {
	DB       *gorm.DB
	Graph    *whatsapp.Client
	Channels *channels.Service
	Logger   *slog.Logger
	// Clock stamps fetched files (nil: the wall clock).
	Clock clock.Clock
}

func (f *Fetcher) now() time.Time {
	if f.Clock == nil {
		return time.Now()
	}
	return f.Clock.Now()
}

// maxAge is how long Meta keeps a media id.
const maxAge = 7 * 24 * time.Hour

// FetchPending fetches up to limit media files not fetched yet (the cron job). Each
// row is claimed with SKIP LOCKED so two processes never download the same file.
func (f *Fetcher) FetchPending(ctx context.Context, now time.Time, limit int) error {
	var ids []int64
	if err := f.DB.WithContext(ctx).Raw(`SELECT id FROM media WHERE data IS NULL AND error = '' AND created_at > ?
		ORDER BY id LIMIT ?`, now.Add(-maxAge), limit).Scan(&ids).Error; err != nil {
		return err
	}
	var errs []error
	for _, id := range ids {
		if _, err := f.Ensure(ctx, id); err != nil && !errors.Is(err, errBusy) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

var errBusy = errors.New("media is being fetched by another process")

// Ensure returns the media row with its bytes, downloading them first if needed.
func (f *Fetcher) Ensure(ctx context.Context, id int64) (models.Media, error) {
	var m models.Media
	err := f.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Raw(`SELECT * FROM media WHERE id = ? FOR UPDATE SKIP LOCKED`, id).Scan(&m)
		if res.Error != nil {
			return res.Error
		}
		if m.ID == 0 {
			var exists int64
			tx.Model(&models.Media{}).Where("id = ?", id).Count(&exists)
			if exists == 0 {
				return apperr.ErrNotFound
			}
			return errBusy
		}
		if m.Data != nil || m.Error != "" {
			return nil
		}
		data, mime, ferr := f.download(ctx, m)
		now := f.now()
		if ferr != nil {
			f.Logger.Warn("media fetch failed", "media", m.MediaID, "err", ferr)
			m.Error = "No se pudo descargar el archivo de WhatsApp. Pídele al cliente que lo reenvíe."
			if transient(ferr) {
				return nil // leave it for the next run
			}
			return tx.Model(&m).Updates(map[string]any{"error": m.Error, "fetched_at": now}).Error
		}
		if mime != "" && m.MimeType == "" {
			m.MimeType = mime
		}
		m.Data, m.Size, m.FetchedAt = data, int64(len(data)), &now
		return tx.Model(&m).Updates(map[string]any{"data": data, "size": m.Size, "fetched_at": now, "mime_type": m.MimeType}).Error
	})
	return m, err
}

func (f *Fetcher) download(ctx context.Context, m models.Media) ([]byte, string, error) {
	creds, err := f.Channels.CredentialsByID(ctx, m.ChannelID)
	if err != nil {
		return nil, "", err
	}
	info, err := f.Graph.MediaInfo(ctx, creds.AccessToken, m.MediaID)
	if err != nil {
		return nil, "", err
	}
	data, mime, err := f.Graph.DownloadMedia(ctx, creds.AccessToken, info.URL)
	if err != nil {
		return nil, "", err
	}
	if mime == "" {
		mime = info.MimeType
	}
	if info.FileSize > 0 && int64(len(data)) != info.FileSize {
		return nil, "", fmt.Errorf("media %s: got %d bytes, Meta announced %d", m.MediaID, len(data), info.FileSize)
	}
	return data, mime, nil
}

// transient reports errors worth another try: nothing reached Meta, or Meta asked us
// to retry. Anything else (bad credentials, a file too large, a bad answer) would fail
// the same way again and block the queue.
func transient(err error) bool {
	if errors.Is(err, whatsapp.ErrNotSent) || errors.Is(err, whatsapp.ErrAmbiguous) {
		return true
	}
	var ge *whatsapp.GraphError
	return errors.As(err, &ge) && (ge.Class() == whatsapp.Retry || ge.Class() == whatsapp.RetryLong)
}
