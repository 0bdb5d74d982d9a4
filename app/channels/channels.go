// Package channels manages WhatsApp numbers and their secrets (encrypted at rest).
package channels

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"regexp"
	"strings"

	"gorm.io/gorm"

	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/audit"
	"github.com/atiende/atiende/app/clock"
	"github.com/atiende/atiende/app/secrets"
	"github.com/atiende/atiende/models"
)

// Service manages channels.
type Service struct {
	DB    *gorm.DB
	Box   *secrets.Box
	Clock clock.Clock
}

// New returns a Service.
func New(db *gorm.DB, box *secrets.Box, c clock.Clock) *Service {
	return &Service{DB: db, Box: box, Clock: c}
}

// Input is what adding or editing a channel takes. Empty secrets on edit keep the current ones.
type Input struct {
	Name          string
	PhoneNumberID string
	DisplayPhone  string
	WabaID        string
	AccessToken   string
	AppSecret     string
	VerifyToken   string
}

// Credentials are a channel's secrets in clear, for the code that talks to Meta.
type Credentials struct {
	ChannelID     int64
	WorkspaceID   int64
	PhoneNumberID string
	AccessToken   string
	AppSecret     string
	VerifyToken   string
}

var digits = regexp.MustCompile(`^[0-9]{5,30}$`)

func (in *Input) validate(creating bool) apperr.Validation {
	in.Name = strings.TrimSpace(in.Name)
	in.PhoneNumberID = strings.TrimSpace(in.PhoneNumberID)
	in.DisplayPhone = strings.TrimSpace(in.DisplayPhone)
	in.WabaID = strings.TrimSpace(in.WabaID)
	in.AccessToken = strings.TrimSpace(in.AccessToken)
	in.AppSecret = strings.TrimSpace(in.AppSecret)
	in.VerifyToken = strings.TrimSpace(in.VerifyToken)
	v := apperr.Validation{}
	if in.Name == "" {
		v.Add("name", "Ponle un nombre al canal, por ejemplo «Ventas Lima»")
	}
	if !digits.MatchString(in.PhoneNumberID) {
		v.Add("phone_number_id", "El Phone number ID son los dígitos que Meta muestra en WhatsApp → Configuración de la API")
	}
	if in.WabaID != "" && !digits.MatchString(in.WabaID) {
		v.Add("waba_id", "El WhatsApp Business Account ID solo tiene dígitos")
	}
	if creating {
		if in.AccessToken == "" {
			v.Add("access_token", "Pega el token de acceso del usuario del sistema")
		}
		if in.AppSecret == "" {
			v.Add("app_secret", "Pega la clave secreta de la app (sirve para verificar los webhooks)")
		}
		if in.VerifyToken == "" {
			v.Add("verify_token", "Escribe un token de verificación; lo pegarás también en Meta")
		}
	}
	return v
}

// Create adds a channel with a fresh, unguessable webhook key.
func (s *Service) Create(ctx context.Context, wsID int64, in Input) (models.Channel, error) {
	if v := in.validate(true); len(v) > 0 {
		return models.Channel{}, v
	}
	key := make([]byte, 24)
	if _, err := rand.Read(key); err != nil {
		return models.Channel{}, err
	}
	ch := models.Channel{WorkspaceID: wsID, Name: in.Name, PhoneNumberID: in.PhoneNumberID, DisplayPhone: in.DisplayPhone,
		WabaID: in.WabaID, AccessTokenEnc: s.Box.Seal(in.AccessToken), AppSecretEnc: s.Box.Seal(in.AppSecret),
		VerifyTokenEnc: s.Box.Seal(in.VerifyToken), WebhookKey: base64.RawURLEncoding.EncodeToString(key), Active: true}
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&ch).Error; err != nil {
			return err
		}
		return audit.Record(tx, audit.Entry{WorkspaceID: wsID, Action: audit.SettingsChange, TargetType: "channel", TargetID: ch.ID,
			After: channelFacts(ch), Data: map[string]any{"change": "channel.create"}})
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return ch, apperr.Validation{"phone_number_id": "Ese número ya está conectado (o ya existe un canal con ese nombre)"}
	}
	return ch, err
}

// Update edits a channel; empty secrets keep the stored ones.
func (s *Service) Update(ctx context.Context, wsID, id int64, in Input) (models.Channel, error) {
	if v := in.validate(false); len(v) > 0 {
		return models.Channel{}, v
	}
	ch, err := s.Get(ctx, wsID, id)
	if err != nil {
		return ch, err
	}
	before := channelFacts(ch)
	ch.Name, ch.PhoneNumberID, ch.DisplayPhone, ch.WabaID = in.Name, in.PhoneNumberID, in.DisplayPhone, in.WabaID
	after := channelFacts(ch)
	// Secrets are never written to the audit log: only that they changed.
	var replaced []string
	for _, sec := range []struct{ name, value string }{{"access_token", in.AccessToken}, {"app_secret", in.AppSecret}, {"verify_token", in.VerifyToken}} {
		if sec.value != "" {
			replaced = append(replaced, sec.name)
		}
	}
	if in.AccessToken != "" {
		ch.AccessTokenEnc = s.Box.Seal(in.AccessToken)
	}
	if in.AppSecret != "" {
		ch.AppSecretEnc = s.Box.Seal(in.AppSecret)
	}
	if in.VerifyToken != "" {
		ch.VerifyTokenEnc = s.Box.Seal(in.VerifyToken)
	}
	ch.UpdatedAt = s.Clock.Now()
	err = s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Save(&ch).Error; err != nil {
			return err
		}
		data := map[string]any{"change": "channel.update"}
		if len(replaced) > 0 {
			data["secrets_replaced"] = replaced
		}
		return audit.Record(tx, audit.Entry{WorkspaceID: wsID, Action: audit.SettingsChange, TargetType: "channel", TargetID: ch.ID,
			Before: before, After: after, Data: data})
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return ch, apperr.Validation{"phone_number_id": "Ese número ya está conectado (o ya existe un canal con ese nombre)"}
	}
	return ch, err
}

// channelFacts is what the audit log keeps of a channel (never its secrets).
func channelFacts(ch models.Channel) map[string]any {
	return map[string]any{"name": ch.Name, "phone_number_id": ch.PhoneNumberID, "display_phone": ch.DisplayPhone, "waba_id": ch.WabaID}
}

// Get returns one channel of the workspace.
func (s *Service) Get(ctx context.Context, wsID, id int64) (models.Channel, error) {
	var ch models.Channel
	err := s.DB.WithContext(ctx).Where("workspace_id = ? AND id = ?", wsID, id).First(&ch).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return ch, apperr.ErrNotFound
	}
	return ch, err
}

// List returns the workspace's channels by name.
func (s *Service) List(ctx context.Context, wsID int64) ([]models.Channel, error) {
	var out []models.Channel
	err := s.DB.WithContext(ctx).Where("workspace_id = ?", wsID).Order("lower(name)").Find(&out).Error
	return out, err
}

// ByWebhookKey finds the channel a webhook path belongs to.
func (s *Service) ByWebhookKey(ctx context.Context, key string) (models.Channel, error) {
	var ch models.Channel
	err := s.DB.WithContext(ctx).Where("webhook_key = ? AND active", key).First(&ch).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return ch, apperr.ErrNotFound
	}
	return ch, err
}

// ByPhoneNumberID finds a channel by Meta's phone number id (any workspace).
func (s *Service) ByPhoneNumberID(ctx context.Context, id string) (models.Channel, error) {
	var ch models.Channel
	err := s.DB.WithContext(ctx).Where("phone_number_id = ?", id).First(&ch).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return ch, apperr.ErrNotFound
	}
	return ch, err
}

// Credentials decrypts a channel's secrets.
func (s *Service) Credentials(ch models.Channel) (Credentials, error) {
	c := Credentials{ChannelID: ch.ID, WorkspaceID: ch.WorkspaceID, PhoneNumberID: ch.PhoneNumberID}
	// A secret never set (a channel imported as history only) stays empty: such a
	// channel accepts no webhook and sends nothing until it is configured.
	open := func(sealed []byte) (string, error) {
		if len(sealed) == 0 {
			return "", nil
		}
		return s.Box.Open(sealed)
	}
	var err error
	if c.AccessToken, err = open(ch.AccessTokenEnc); err != nil {
		return c, err
	}
	if c.AppSecret, err = open(ch.AppSecretEnc); err != nil {
		return c, err
	}
	if c.VerifyToken, err = open(ch.VerifyTokenEnc); err != nil {
		return c, err
	}
	return c, nil
}

// CredentialsByID loads and decrypts channel id's secrets (any workspace: for the outbox).
func (s *Service) CredentialsByID(ctx context.Context, id int64) (Credentials, error) {
	var ch models.Channel
	if err := s.DB.WithContext(ctx).First(&ch, id).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return Credentials{}, apperr.ErrNotFound
		}
		return Credentials{}, err
	}
	return s.Credentials(ch)
}
