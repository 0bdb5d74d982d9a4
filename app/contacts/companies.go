package contacts

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/models"
)

// findOrCreateCompany returns the workspace's company with that name (any case),
// creating it when there is none.
func findOrCreateCompany(tx *gorm.DB, ws int64, name string, now time.Time) (models.Company, error) {
	var co models.Company
	err := tx.Raw(`INSERT INTO companies (workspace_id, name, created_at, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (workspace_id, lower(name)) DO UPDATE SET name = companies.name RETURNING *`, ws, name, now, now).Scan(&co).Error
	return co, err
}

// CompanyRow is a company in the list, with how many contacts it has.
type CompanyRow struct {
	models.Company
	OwnerName string
	Contacts  int
}

// Companies lists the workspace's companies by name, optionally those matching q.
func (s *Service) Companies(ctx context.Context, v accounts.Viewer, q string, limit int) ([]CompanyRow, error) {
	if limit <= 0 {
		limit = 500
	}
	args := []any{v.Workspace.ID}
	cond := ""
	if q = strings.TrimSpace(q); q != "" {
		pat := "%" + likeEscape.Replace(q) + "%"
		cond = " AND (search_fold(co.name) LIKE search_fold(?) OR co.tax_id ILIKE ? OR co.domain ILIKE ?)"
		args = append(args, pat, pat, pat)
	}
	var rows []CompanyRow
	err := s.DB.WithContext(ctx).Raw(`SELECT co.*, COALESCE(u.name, '') AS owner_name,
		(SELECT count(*) FROM contacts k WHERE k.company_id = co.id) AS contacts
		FROM companies co LEFT JOIN users u ON u.id = co.owner_id
		WHERE co.workspace_id = ?`+cond+` ORDER BY lower(co.name) LIMIT ?`, append(args, limit)...).Scan(&rows).Error
	return rows, err
}

// Company returns one company of the workspace.
func (s *Service) Company(ctx context.Context, v accounts.Viewer, id int64) (models.Company, error) {
	var co models.Company
	if err := s.DB.WithContext(ctx).Where("id = ? AND workspace_id = ?", id, v.Workspace.ID).Limit(1).Find(&co).Error; err != nil {
		return co, err
	}
	if co.ID == 0 {
		return co, ErrNoCompany
	}
	return co, nil
}

// CompanyInput is a company's editable fields.
type CompanyInput struct {
	Name    string
	TaxID   string
	Country string
	Domain  string
	OwnerID *int64
}

var domainRe = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}$`)

func (s *Service) checkCompany(ctx context.Context, ws int64, in *CompanyInput) error {
	errs := apperr.Validation{}
	in.Name = strings.TrimSpace(in.Name)
	in.TaxID = strings.TrimSpace(in.TaxID)
	in.Country = strings.ToUpper(strings.TrimSpace(in.Country))
	in.Domain = strings.ToLower(strings.TrimSpace(in.Domain))
	in.Domain = strings.TrimPrefix(strings.TrimPrefix(in.Domain, "https://"), "http://")
	in.Domain = strings.TrimPrefix(strings.TrimSuffix(in.Domain, "/"), "www.")
	switch {
	case in.Name == "":
		errs.Add("name", "Escribe el nombre de la empresa.")
	case utf8.RuneCountInString(in.Name) > 120:
		errs.Add("name", "El nombre puede tener hasta 120 caracteres.")
	}
	if utf8.RuneCountInString(in.TaxID) > 40 {
		errs.Add("tax_id", "El identificador fiscal puede tener hasta 40 caracteres.")
	}
	if in.Country != "" && !countryRe.MatchString(in.Country) {
		errs.Add("country", "Elige un país de la lista.")
	}
	if in.Domain != "" && !domainRe.MatchString(in.Domain) {
		errs.Add("domain", "Escribe un dominio como acme.com.pe.")
	}
	if in.OwnerID != nil {
		var n int64
		if err := s.DB.WithContext(ctx).Raw(`SELECT count(*) FROM users WHERE id = ? AND workspace_id = ?`, *in.OwnerID, ws).Scan(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			errs.Add("owner_id", "Elige un responsable de la lista.")
		}
	}
	return errs.Err()
}

var countryRe = regexp.MustCompile(`^[A-Z]{2}$`)

func isUniqueViolation(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "SQLSTATE 23505") || errors.Is(err, gorm.ErrDuplicatedKey))
}

// CreateCompany adds a company.
func (s *Service) CreateCompany(ctx context.Context, v accounts.Viewer, in CompanyInput) (models.Company, error) {
	if err := s.checkCompany(ctx, v.Workspace.ID, &in); err != nil {
		return models.Company{}, err
	}
	now := s.Clock.Now()
	co := models.Company{WorkspaceID: v.Workspace.ID, Name: in.Name, TaxID: in.TaxID, Country: in.Country, Domain: in.Domain, OwnerID: in.OwnerID, CreatedAt: now, UpdatedAt: now}
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&co).Error; err != nil {
			if isUniqueViolation(err) {
				return apperr.Validation{"name": "Ya existe una empresa con ese nombre."}
			}
			return err
		}
		return audit(tx, v.Workspace.ID, &v.User.ID, "company.create", "company", co.ID, map[string]any{"name": co.Name}, now)
	})
	return co, err
}

// UpdateCompany edits a company; a new name is copied to its contacts' company.
func (s *Service) UpdateCompany(ctx context.Context, v accounts.Viewer, id int64, in CompanyInput) (models.Company, error) {
	co, err := s.Company(ctx, v, id)
	if err != nil {
		return co, err
	}
	if err := s.checkCompany(ctx, v.Workspace.ID, &in); err != nil {
		return co, err
	}
	now := s.Clock.Now()
	err = s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Model(&models.Company{}).Where("id = ? AND workspace_id = ?", id, v.Workspace.ID).Updates(map[string]any{
			"name": in.Name, "tax_id": in.TaxID, "country": in.Country, "domain": in.Domain, "owner_id": in.OwnerID, "updated_at": now}).Error; err != nil {
			if isUniqueViolation(err) {
				return apperr.Validation{"name": "Ya existe una empresa con ese nombre."}
			}
			return err
		}
		if in.Name != co.Name {
			if err := tx.Exec(`UPDATE contacts SET company = ?, updated_at = ? WHERE company_id = ? AND workspace_id = ?`, in.Name, now, id, v.Workspace.ID).Error; err != nil {
				return err
			}
		}
		return audit(tx, v.Workspace.ID, &v.User.ID, "company.update", "company", id, map[string]any{"name": in.Name}, now)
	})
	if err != nil {
		return co, err
	}
	return s.Company(ctx, v, id)
}
