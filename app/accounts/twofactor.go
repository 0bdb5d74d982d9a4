package accounts

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"
	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/audit"
	"github.com/atiende/atiende/models"
)

// Two-factor sign-in: TOTP (RFC 6238, any authenticator app) with ten one-time
// recovery codes. The secret is sealed with the same key as channel secrets.

const (
	totpIssuer        = "Atiende"
	totpPeriod        = 30
	RecoveryCodeCount = 10
)

var (
	// ErrWrongCode: the code is not the current one, was already used, or is not a recovery code.
	ErrWrongCode = errors.New("código incorrecto")
	// ErrTwoFactorOff: the user has no two-factor sign-in to check.
	ErrTwoFactorOff = errors.New("la verificación en dos pasos no está activada")
)

// TwoFactorStatus is what the security screen shows.
type TwoFactorStatus struct {
	Enabled      bool
	EnabledAt    *time.Time
	RecoveryLeft int
}

// TwoFactor returns the user's two-factor status.
func (s *Service) TwoFactor(ctx context.Context, wsID, userID int64) (TwoFactorStatus, error) {
	var st TwoFactorStatus
	err := s.DB.WithContext(ctx).Raw(`SELECT t.confirmed_at AS enabled_at, t.confirmed_at IS NOT NULL AS enabled,
			(SELECT count(*) FROM user_recovery_codes r WHERE r.user_id = t.user_id AND r.used_at IS NULL) AS recovery_left
		FROM user_totp t WHERE t.workspace_id = ? AND t.user_id = ?`, wsID, userID).Scan(&st).Error
	return st, err
}

// Enrolment is a TOTP secret waiting for its first code.
type Enrolment struct {
	Secret string // base32, for typing by hand
	URL    string // otpauth://… (the QR code's content)
}

// Key returns the enrolment as an otp.Key (its Image is the QR code).
func (e Enrolment) Key() (*otp.Key, error) { return otp.NewKeyFromURL(e.URL) }

func (s *Service) box() error {
	if s.Box == nil {
		return errors.New("accounts: no secrets box configured for two-factor secrets")
	}
	return nil
}

// BeginTwoFactor returns the user's pending enrolment, creating it if needed (a
// reload shows the same QR code). A user who already has it enabled gets a Validation.
func (s *Service) BeginTwoFactor(ctx context.Context, u models.User) (Enrolment, error) {
	if err := s.box(); err != nil {
		return Enrolment{}, err
	}
	var e Enrolment
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var row struct {
			Secret      []byte
			ConfirmedAt *time.Time
		}
		if err := tx.Raw(`SELECT secret, confirmed_at FROM user_totp WHERE user_id = ? AND workspace_id = ? FOR UPDATE`, u.ID, u.WorkspaceID).Scan(&row).Error; err != nil {
			return err
		}
		if row.ConfirmedAt != nil {
			return apperr.Validation{"": "La verificación en dos pasos ya está activada."}
		}
		if len(row.Secret) > 0 {
			if secret, err := s.Box.Open(row.Secret); err == nil {
				e = enrolment(u.Email, secret)
				return nil
			}
		}
		key, err := totp.Generate(totp.GenerateOpts{Issuer: totpIssuer, AccountName: u.Email, Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			return err
		}
		e = enrolment(u.Email, key.Secret())
		return tx.Exec(`INSERT INTO user_totp (user_id, workspace_id, secret, created_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (user_id) DO UPDATE SET secret = EXCLUDED.secret, confirmed_at = NULL, last_step = 0, created_at = EXCLUDED.created_at`,
			u.ID, u.WorkspaceID, s.Box.Seal(key.Secret()), s.Clock.Now()).Error
	})
	return e, err
}

func enrolment(email, secret string) Enrolment {
	key, _ := totp.Generate(totp.GenerateOpts{Issuer: totpIssuer, AccountName: email, Period: totpPeriod,
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1, Secret: mustBase32(secret)})
	return Enrolment{Secret: secret, URL: key.URL()}
}

func mustBase32(s string) []byte {
	b, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(s))
	if err != nil {
		panic(err)
	}
	return b
}

// ConfirmTwoFactor turns the pending enrolment on with the first code from the app,
// and returns ten recovery codes in clear (the only time; their hashes are kept).
func (s *Service) ConfirmTwoFactor(ctx context.Context, u models.User, code, ip string) ([]string, error) {
	if err := s.box(); err != nil {
		return nil, err
	}
	attempt, err := s.reserveAttempt(ctx, strings.ToLower(u.Email), ip, "totp")
	if err != nil {
		return nil, err
	}
	var codes []string
	err = s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		step, err := s.checkTOTP(tx, u, code, false)
		if err != nil {
			return err
		}
		now := s.Clock.Now()
		if err := tx.Exec(`UPDATE user_totp SET confirmed_at = ?, last_step = ? WHERE user_id = ?`, now, step, u.ID).Error; err != nil {
			return err
		}
		if err := tx.Exec(`UPDATE users SET two_factor_enabled = true, updated_at = ? WHERE id = ?`, now, u.ID).Error; err != nil {
			return err
		}
		if codes, err = replaceRecoveryCodes(tx, u, now); err != nil {
			return err
		}
		return audit.Record(tx, audit.Entry{WorkspaceID: u.WorkspaceID, Action: audit.TwoFactorOn, TargetType: "user", TargetID: u.ID,
			Before: map[string]any{"two_factor": false}, After: map[string]any{"two_factor": true}})
	})
	if errors.Is(err, ErrWrongCode) {
		return nil, err // the reserved attempt stays a failure
	}
	if err != nil {
		return nil, err
	}
	return codes, s.settleAttempt(ctx, attempt)
}

// checkTOTP matches code against the user's secret at the previous, current and
// next 30 s step. With enabled, only a confirmed secret counts and a step at or
// before the last one accepted is refused (a code works once).
func (s *Service) checkTOTP(tx *gorm.DB, u models.User, code string, enabled bool) (int64, error) {
	var row struct {
		Secret      []byte
		ConfirmedAt *time.Time
		LastStep    int64
	}
	if err := tx.Raw(`SELECT secret, confirmed_at, last_step FROM user_totp WHERE user_id = ? AND workspace_id = ? FOR UPDATE`, u.ID, u.WorkspaceID).Scan(&row).Error; err != nil {
		return 0, err
	}
	if len(row.Secret) == 0 || (enabled && row.ConfirmedAt == nil) {
		return 0, ErrTwoFactorOff
	}
	secret, err := s.Box.Open(row.Secret)
	if err != nil {
		return 0, err
	}
	code = strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, code)
	if len(code) != 6 {
		return 0, ErrWrongCode
	}
	now := s.Clock.Now().Unix() / totpPeriod
	for _, step := range []int64{now - 1, now, now + 1} {
		want, err := hotp.GenerateCodeCustom(secret, uint64(step), hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			return 0, err
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			if step <= row.LastStep {
				return 0, ErrWrongCode // replayed
			}
			return step, nil
		}
	}
	return 0, ErrWrongCode
}

func replaceRecoveryCodes(tx *gorm.DB, u models.User, now time.Time) ([]string, error) {
	if err := tx.Exec(`DELETE FROM user_recovery_codes WHERE user_id = ? AND workspace_id = ?`, u.ID, u.WorkspaceID).Error; err != nil {
		return nil, err
	}
	codes := make([]string, RecoveryCodeCount)
	for i := range codes {
		b := make([]byte, 7)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		raw := strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))[:10]
		codes[i] = raw[:5] + "-" + raw[5:]
		if err := tx.Exec(`INSERT INTO user_recovery_codes (workspace_id, user_id, code_hash, created_at) VALUES (?, ?, ?, ?)`,
			u.WorkspaceID, u.ID, recoveryHash(raw), now).Error; err != nil {
			return nil, err
		}
	}
	return codes, nil
}

func recoveryHash(normalized string) []byte {
	sum := sha256.Sum256([]byte("atiende-recovery:" + normalized))
	return sum[:]
}

// normalizeRecovery keeps letters and digits, lower-cased ("ABCDE-12345" = "abcde12345").
func normalizeRecovery(code string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			return r
		case r >= 'A' && r <= 'Z':
			return r + ('a' - 'A')
		}
		return -1
	}, code)
}

// VerifySecondFactor checks a sign-in's second step: a current TOTP code or an
// unused recovery code (which is then spent). Wrong codes count against the same
// throttle as wrong passwords (ErrThrottled), and are audited. It returns the
// method that worked: "totp" or "recovery".
func (s *Service) VerifySecondFactor(ctx context.Context, u models.User, code, ip string) (string, error) {
	if err := s.box(); err != nil {
		return "", err
	}
	attempt, err := s.reserveAttempt(ctx, strings.ToLower(u.Email), ip, "totp")
	if err != nil {
		return "", err
	}
	method := "totp"
	err = s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if rec := normalizeRecovery(code); len(rec) == 10 {
			method = "recovery"
			res := tx.Exec(`UPDATE user_recovery_codes SET used_at = ? WHERE user_id = ? AND workspace_id = ? AND code_hash = ? AND used_at IS NULL`,
				s.Clock.Now(), u.ID, u.WorkspaceID, recoveryHash(rec))
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected != 1 {
				return ErrWrongCode
			}
			return nil
		}
		step, err := s.checkTOTP(tx, u, code, true)
		if err != nil {
			return err
		}
		return tx.Exec(`UPDATE user_totp SET last_step = ? WHERE user_id = ?`, step, u.ID).Error
	})
	if errors.Is(err, ErrWrongCode) {
		if aerr := audit.Record(s.DB.WithContext(ctx), audit.Entry{WorkspaceID: u.WorkspaceID, Action: audit.LoginTwoFactorBad,
			TargetType: "user", TargetID: u.ID, IP: ip, Data: map[string]any{"email": u.Email}}); aerr != nil {
			return "", aerr
		}
		return "", err
	}
	if err != nil {
		return "", err
	}
	return method, s.settleAttempt(ctx, attempt)
}

// checkPassword compares password with the user's current hash.
func (s *Service) checkPassword(tx *gorm.DB, u models.User, password string) error {
	var hash string
	if err := tx.Raw(`SELECT password_hash FROM users WHERE id = ?`, u.ID).Scan(&hash).Error; err != nil {
		return err
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil {
		return apperr.Validation{"password": "La contraseña no es correcta"}
	}
	return nil
}

// DisableTwoFactor turns two-factor sign-in off after checking the password.
func (s *Service) DisableTwoFactor(ctx context.Context, u models.User, password string) error {
	return s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("id = ? AND workspace_id = ?", u.ID, u.WorkspaceID).First(&models.User{}).Error; err != nil {
			return err
		}
		if err := s.checkPassword(tx, u, password); err != nil {
			return err
		}
		res := tx.Exec(`DELETE FROM user_totp WHERE user_id = ? AND workspace_id = ? AND confirmed_at IS NOT NULL`, u.ID, u.WorkspaceID)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return apperr.Validation{"": "La verificación en dos pasos no estaba activada."}
		}
		if err := tx.Exec(`DELETE FROM user_recovery_codes WHERE user_id = ? AND workspace_id = ?`, u.ID, u.WorkspaceID).Error; err != nil {
			return err
		}
		if err := tx.Exec(`UPDATE users SET two_factor_enabled = false, updated_at = ? WHERE id = ?`, s.Clock.Now(), u.ID).Error; err != nil {
			return err
		}
		return audit.Record(tx, audit.Entry{WorkspaceID: u.WorkspaceID, Action: audit.TwoFactorOff, TargetType: "user", TargetID: u.ID,
			Before: map[string]any{"two_factor": true}, After: map[string]any{"two_factor": false}})
	})
}

// RegenerateRecoveryCodes replaces the user's recovery codes after checking the password.
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, u models.User, password string) ([]string, error) {
	var codes []string
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.checkPassword(tx, u, password); err != nil {
			return err
		}
		var on bool
		if err := tx.Raw(`SELECT two_factor_enabled FROM users WHERE id = ? FOR UPDATE`, u.ID).Scan(&on).Error; err != nil {
			return err
		}
		if !on {
			return apperr.Validation{"": "Activa primero la verificación en dos pasos."}
		}
		var err error
		if codes, err = replaceRecoveryCodes(tx, u, s.Clock.Now()); err != nil {
			return err
		}
		return audit.Record(tx, audit.Entry{WorkspaceID: u.WorkspaceID, Action: audit.RecoveryCodes, TargetType: "user", TargetID: u.ID})
	})
	return codes, err
}

// SetRequireTwoFactor turns the workspace's requirement on or off (admins). An admin
// must have two-factor sign-in themselves before requiring it of everyone.
func (s *Service) SetRequireTwoFactor(ctx context.Context, v Viewer, on bool) error {
	if !v.IsAdmin() {
		return apperr.ErrForbidden
	}
	return s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var before bool
		if err := tx.Raw(`SELECT require_two_factor FROM workspaces WHERE id = ? FOR UPDATE`, v.Workspace.ID).Scan(&before).Error; err != nil {
			return err
		}
		if on {
			var mine bool
			if err := tx.Raw(`SELECT two_factor_enabled FROM users WHERE id = ?`, v.User.ID).Scan(&mine).Error; err != nil {
				return err
			}
			if !mine {
				return apperr.Validation{"require": "Activa primero tu propia verificación en dos pasos; después podrás exigirla a todo el equipo."}
			}
		}
		if before == on {
			return nil
		}
		if err := tx.Exec(`UPDATE workspaces SET require_two_factor = ? WHERE id = ?`, on, v.Workspace.ID).Error; err != nil {
			return err
		}
		return audit.Record(tx, audit.Entry{WorkspaceID: v.Workspace.ID, Action: audit.TwoFactorPolicy, TargetType: "workspace", TargetID: v.Workspace.ID,
			Before: map[string]any{"require_two_factor": before}, After: map[string]any{"require_two_factor": on}})
	})
}

// ResetTwoFactor lets an admin turn off another user's two-factor sign-in (a lost
// phone and lost recovery codes). The user signs in with the password alone and,
// when the workspace requires it, is sent to enrol again.
func (s *Service) ResetTwoFactor(ctx context.Context, admin Viewer, userID int64) error {
	if !admin.IsAdmin() {
		return apperr.ErrForbidden
	}
	wsID := admin.Workspace.ID
	return s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var u models.User
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("id = ? AND workspace_id = ?", userID, wsID).First(&u).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return apperr.ErrNotFound
			}
			return err
		}
		if !u.TwoFactorEnabled {
			return apperr.Validation{"": u.Name + " no tiene activada la verificación en dos pasos."}
		}
		if err := tx.Exec(`DELETE FROM user_totp WHERE user_id = ? AND workspace_id = ?`, u.ID, wsID).Error; err != nil {
			return err
		}
		if err := tx.Exec(`DELETE FROM user_recovery_codes WHERE user_id = ? AND workspace_id = ?`, u.ID, wsID).Error; err != nil {
			return err
		}
		if err := tx.Exec(`UPDATE users SET two_factor_enabled = false, updated_at = ? WHERE id = ?`, s.Clock.Now(), u.ID).Error; err != nil {
			return err
		}
		return audit.Record(tx, audit.Entry{WorkspaceID: wsID, Action: audit.TwoFactorOff, TargetType: "user", TargetID: u.ID,
			Before: map[string]any{"two_factor": true}, After: map[string]any{"two_factor": false}, Data: map[string]any{"reason": "admin_reset"}})
	})
}
