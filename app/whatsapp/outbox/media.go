package outbox

import (
	"context"
	"fmt"
	"io"

	"gorm.io/gorm"

	"github.com/atiende/atiende/app/channels"
	"github.com/atiende/atiende/app/whatsapp"
	"github.com/atiende/atiende/models"
)

// uploadChunk is how much of a file is read from the database at a time.
const uploadChunk = 4 << 20

// withMedia returns the row's payload with the media id of its file, uploading the
// file first when it has not been uploaded yet.
func (s *Sender) withMedia(ctx context.Context, row models.Outbox, creds channels.Credentials) ([]byte, error) {
	var md models.Media
	err := s.DB.WithContext(ctx).Select("id", "channel_id", "mime_type", "filename", "size", "upload_id").
		Where("id = ? AND workspace_id = ?", *row.MediaRowID, row.WorkspaceID).Take(&md).Error
	if err != nil {
		return nil, fmt.Errorf("outbox: the file of the message: %w", err)
	}
	if md.UploadID == "" {
		r := &dbReader{ctx: ctx, db: s.DB, id: md.ID, size: md.Size}
		id, err := s.Graph.UploadMedia(ctx, creds.PhoneNumberID, creds.AccessToken, md.MimeType, md.Filename, r)
		if err != nil {
			return nil, err
		}
		md.UploadID = id
		if err := s.DB.WithContext(ctx).Model(&models.Media{}).Where("id = ?", md.ID).Update("upload_id", id).Error; err != nil {
			s.Logger.Warn("outbox: uploaded a file but could not keep its media id; a retry uploads it again", "err", err)
		}
	}
	return whatsapp.WithMediaID(row.Payload, md.UploadID)
}

// dbReader streams a media row's bytes from the database a chunk at a time.
type dbReader struct {
	ctx  context.Context
	db   *gorm.DB
	id   int64
	size int64
	off  int64
	buf  []byte
}

func (r *dbReader) Read(p []byte) (int, error) {
	if len(r.buf) == 0 {
		if r.off >= r.size {
			return 0, io.EOF
		}
		var chunk []byte
		err := r.db.WithContext(r.ctx).Raw(`SELECT substring(data FROM ? FOR ?) FROM media WHERE id = ?`,
			r.off+1, uploadChunk, r.id).Row().Scan(&chunk)
		if err != nil {
			return 0, err
		}
		if len(chunk) == 0 {
			return 0, io.ErrUnexpectedEOF
		}
		r.buf, r.off = chunk, r.off+int64(len(chunk))
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}
