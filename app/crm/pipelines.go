package crm

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"gorm.io/gorm"

	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/models"
)

// StageInput is one stage of a pipeline being saved, in order. ID 0 adds a stage.
type StageInput struct {
	ID          int64  `json:"-"`
	Name        string `json:"name"`
	Probability *int   `json:"probability"`
	Kind        string `json:"kind"`
	RotDays     *int   `json:"rot_days"`
}

// PipelineInput is a pipeline being created or edited.
type PipelineInput struct {
	Name     string
	Currency string
	Default  bool
	Stages   []StageInput
}

// DefaultStages are the stages of the pipeline a workspace starts with.
var DefaultStages = []StageInput{
	{Name: "Entrantes", Probability: intp(10), RotDays: intp(3)},
	{Name: "Calificado", Probability: intp(20), RotDays: intp(7)},
	{Name: "Propuesta", Probability: intp(50), RotDays: intp(10)},
	{Name: "Negociación", Probability: intp(75), RotDays: intp(14)},
	{Name: "Ganado", Kind: models.StageWon},
	{Name: "Perdido", Kind: models.StageLost},
}

func intp(n int) *int { return &n }

var currencyRe = regexp.MustCompile(`^[A-Z]{3}$`)

// NormalizeCurrency upper-cases a currency code; "" when it is not three letters.
func NormalizeCurrency(c string) string {
	c = strings.ToUpper(strings.TrimSpace(c))
	if !currencyRe.MatchString(c) {
		return ""
	}
	return c
}

// validate checks a pipeline: a name, a currency, stages with unique names,
// probabilities 0–100, a known kind, rotting days ≥ 1, and at least one open stage.
func (in *PipelineInput) validate() apperr.Validation {
	v := apperr.Validation{}
	in.Name = clean(in.Name)
	if in.Name == "" {
		v.Add("name", "Ponle un nombre al embudo, por ejemplo «Ventas B2B»")
	} else if len([]rune(in.Name)) > 60 {
		v.Add("name", "El nombre del embudo puede tener hasta 60 caracteres")
	}
	if in.Currency == "" {
		in.Currency = "USD"
	}
	if cur := NormalizeCurrency(in.Currency); cur == "" {
		v.Add("currency", "La moneda es un código de tres letras, como USD, PEN o MXN")
	} else {
		in.Currency = cur
	}
	seen := map[string]bool{}
	open := 0
	for i := range in.Stages {
		st := &in.Stages[i]
		st.Name = clean(st.Name)
		field := fmt.Sprintf("stages.%d", i)
		if st.Kind == "" {
			st.Kind = models.StageOpen
		}
		switch st.Kind {
		case models.StageOpen:
			open++
		case models.StageWon:
			if st.Probability == nil {
				st.Probability = intp(100)
			}
			st.RotDays = nil
		case models.StageLost:
			if st.Probability == nil {
				st.Probability = intp(0)
			}
			st.RotDays = nil
		default:
			v.Add(field, fmt.Sprintf("La etapa «%s» tiene un tipo desconocido: usa abierta, ganada o perdida", st.Name))
		}
		if st.Probability == nil {
			st.Probability = intp(0)
		}
		switch {
		case st.Name == "":
			v.Add(field, fmt.Sprintf("La etapa %d necesita un nombre", i+1))
		case seen[strings.ToLower(st.Name)]:
			v.Add(field, fmt.Sprintf("Hay dos etapas llamadas «%s»: cada etapa necesita un nombre distinto", st.Name))
		case *st.Probability < 0 || *st.Probability > 100:
			v.Add(field, fmt.Sprintf("La probabilidad de «%s» debe estar entre 0 y 100", st.Name))
		case st.RotDays != nil && *st.RotDays < 1:
			v.Add(field, fmt.Sprintf("Los días para que «%s» se considere estancada deben ser 1 o más (o déjalo vacío)", st.Name))
		}
		seen[strings.ToLower(st.Name)] = true
	}
	if open == 0 {
		v.Add("stages", "El embudo necesita al menos una etapa abierta")
	}
	return v
}

// EnsureDefault gives the workspace its default pipeline when it has none.
func (s *Service) EnsureDefault(ctx context.Context, wsID int64) error {
	var n int64
	if err := s.ctxDB(ctx).Model(&models.Pipeline{}).Where("workspace_id = ?", wsID).Count(&n).Error; err != nil || n > 0 {
		return err
	}
	_, err := s.SavePipeline(ctx, wsID, 0, PipelineInput{Name: "Ventas", Currency: "USD", Default: true, Stages: DefaultStages})
	var v apperr.Validation
	if errors.As(err, &v) { // created meanwhile by another request
		return nil
	}
	return err
}

// Pipelines lists the workspace's pipelines with their stages in order, creating the
// default one first if there is none.
func (s *Service) Pipelines(ctx context.Context, wsID int64) ([]models.Pipeline, error) {
	var ps []models.Pipeline
	for attempt := 0; attempt < 2; attempt++ {
		err := s.ctxDB(ctx).Where("workspace_id = ?", wsID).Order("is_default DESC, position, lower(name)").
			Preload("Stages", func(db *gorm.DB) *gorm.DB { return db.Order("position, id") }).Find(&ps).Error
		if err != nil || len(ps) > 0 {
			return ps, err
		}
		if err := s.EnsureDefault(ctx, wsID); err != nil {
			return nil, err
		}
	}
	return ps, nil
}

// Pipeline returns one pipeline of the workspace with its stages.
func (s *Service) Pipeline(ctx context.Context, wsID, id int64) (models.Pipeline, error) {
	var p models.Pipeline
	err := s.ctxDB(ctx).Where("workspace_id = ? AND id = ?", wsID, id).
		Preload("Stages", func(db *gorm.DB) *gorm.DB { return db.Order("position, id") }).Take(&p).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return p, apperr.NotFound{Msg: "No existe ese embudo."}
	}
	return p, err
}

// PipelineByName finds a pipeline by name (any case); "" is the default pipeline.
// An unknown name is a validation error that names it.
func (s *Service) PipelineByName(ctx context.Context, wsID int64, name string) (models.Pipeline, error) {
	if err := s.EnsureDefault(ctx, wsID); err != nil {
		return models.Pipeline{}, err
	}
	q := s.ctxDB(ctx).Where("workspace_id = ?", wsID)
	if name = clean(name); name == "" {
		q = q.Order("is_default DESC, position, id")
	} else {
		q = q.Where("lower(name) = lower(?)", name)
	}
	var p models.Pipeline
	err := q.Preload("Stages", func(db *gorm.DB) *gorm.DB { return db.Order("position, id") }).Take(&p).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return p, apperr.Validation{"pipeline": fmt.Sprintf("No existe el embudo «%s»", name)}
	}
	return p, err
}

// StageNamed finds a stage of p by name (any case); unknown names are a validation
// error that names the stage and the pipeline.
func StageNamed(p models.Pipeline, name string) (models.Stage, error) {
	name = clean(name)
	for _, st := range p.Stages {
		if strings.EqualFold(st.Name, name) {
			return st, nil
		}
	}
	return models.Stage{}, apperr.Validation{"stage": fmt.Sprintf("No existe la etapa «%s» en el embudo «%s»", name, p.Name)}
}

// FirstOpen is the first open stage of p (where new leads start).
func FirstOpen(p models.Pipeline) (models.Stage, bool) {
	for _, st := range p.Stages {
		if st.Kind == models.StageOpen {
			return st, true
		}
	}
	return models.Stage{}, false
}

// SavePipeline creates (id 0) or updates a pipeline and its stages. Stages keep their
// ids; a stage left out is removed unless leads are in it. The first pipeline of a
// workspace is its default.
func (s *Service) SavePipeline(ctx context.Context, wsID, id int64, in PipelineInput) (models.Pipeline, error) {
	if v := in.validate(); len(v) > 0 {
		return models.Pipeline{}, v
	}
	var out models.Pipeline
	err := s.ctxDB(ctx).Transaction(func(tx *gorm.DB) error {
		// One writer per workspace's pipelines at a time (the default flag, names).
		if err := tx.Exec(`SELECT pg_advisory_xact_lock(hashtext('pipelines'), ?::int)`, wsID).Error; err != nil {
			return err
		}
		var dup int64
		if err := tx.Model(&models.Pipeline{}).Where("workspace_id = ? AND lower(name) = lower(?) AND id <> ?", wsID, in.Name, id).Count(&dup).Error; err != nil {
			return err
		}
		if dup > 0 {
			return apperr.Validation{"name": fmt.Sprintf("Ya hay un embudo llamado «%s»", in.Name)}
		}
		var count int64
		if err := tx.Model(&models.Pipeline{}).Where("workspace_id = ?", wsID).Count(&count).Error; err != nil {
			return err
		}
		p := models.Pipeline{WorkspaceID: wsID}
		if id != 0 {
			if err := tx.Where("workspace_id = ? AND id = ?", wsID, id).Take(&p).Error; err != nil {
				if errors.Is(err, gorm.ErrRecordNotFound) {
					return apperr.NotFound{Msg: "No existe ese embudo."}
				}
				return err
			}
		} else {
			p.Position = int(count)
			p.CreatedAt = s.Clock.Now()
		}
		makeDefault := in.Default || count == 0
		if makeDefault && !p.IsDefault {
			if err := tx.Model(&models.Pipeline{}).Where("workspace_id = ? AND is_default", wsID).Update("is_default", false).Error; err != nil {
				return err
			}
			p.IsDefault = true
		}
		p.Name, p.Currency = in.Name, in.Currency
		if err := tx.Save(&p).Error; err != nil {
			return err
		}
		var existing []models.Stage
		if err := tx.Where("pipeline_id = ?", p.ID).Find(&existing).Error; err != nil {
			return err
		}
		keep := map[int64]bool{}
		for _, st := range in.Stages {
			if st.ID != 0 {
				keep[st.ID] = true
			}
		}
		for _, old := range existing {
			if keep[old.ID] {
				continue
			}
			var n int64
			if err := tx.Model(&models.Lead{}).Where("stage_id = ?", old.ID).Count(&n).Error; err != nil {
				return err
			}
			if n > 0 {
				return apperr.Validation{"stages": fmt.Sprintf("La etapa «%s» tiene %d oportunidades: muévelas a otra etapa antes de quitarla", old.Name, n)}
			}
			if err := tx.Delete(&models.Stage{}, old.ID).Error; err != nil {
				return err
			}
		}
		// Names are unique per pipeline: park the kept stages' names before renaming.
		if err := tx.Exec(`UPDATE stages SET name = '~' || id || '~' || name WHERE pipeline_id = ?`, p.ID).Error; err != nil {
			return err
		}
		for i, st := range in.Stages {
			row := models.Stage{ID: st.ID, WorkspaceID: wsID, PipelineID: p.ID, Name: st.Name, Position: i,
				Probability: *st.Probability, Kind: st.Kind, RotDays: st.RotDays, CreatedAt: s.Clock.Now()}
			if st.ID != 0 {
				res := tx.Model(&models.Stage{}).Where("id = ? AND pipeline_id = ?", st.ID, p.ID).
					Updates(map[string]any{"name": row.Name, "position": i, "probability": row.Probability, "kind": row.Kind, "rot_days": row.RotDays})
				if res.Error != nil {
					return res.Error
				}
				if res.RowsAffected == 0 {
					return apperr.Validation{"stages": "Una de las etapas ya no existe: vuelve a cargar la página"}
				}
				continue
			}
			if err := tx.Create(&row).Error; err != nil {
				return err
			}
		}
		out = p
		return nil
	})
	if err != nil {
		return out, err
	}
	return s.Pipeline(ctx, wsID, out.ID)
}

// EnsurePipeline creates or updates a pipeline by name (the importer's pipeline line).
// Stages are matched to the existing ones by name so leads keep theirs; nil stages and
// an empty currency keep the current ones.
func (s *Service) EnsurePipeline(ctx context.Context, wsID int64, name, currency string, stages []StageInput) (models.Pipeline, error) {
	var existing models.Pipeline
	err := s.ctxDB(ctx).Where("workspace_id = ? AND lower(name) = lower(?)", wsID, clean(name)).
		Preload("Stages", func(db *gorm.DB) *gorm.DB { return db.Order("position, id") }).Take(&existing).Error
	if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
		return existing, err
	}
	in := PipelineInput{Name: name, Currency: currency, Stages: stages}
	if existing.ID != 0 {
		if in.Currency == "" {
			in.Currency = existing.Currency
		}
		if stages == nil {
			for _, st := range existing.Stages {
				p := st.Probability
				in.Stages = append(in.Stages, StageInput{ID: st.ID, Name: st.Name, Probability: &p, Kind: st.Kind, RotDays: st.RotDays})
			}
		} else {
			byName := map[string]int64{}
			for _, st := range existing.Stages {
				byName[strings.ToLower(st.Name)] = st.ID
			}
			for i := range in.Stages {
				in.Stages[i].ID = byName[strings.ToLower(clean(in.Stages[i].Name))]
			}
		}
		in.Default = existing.IsDefault
	}
	return s.SavePipeline(ctx, wsID, existing.ID, in)
}

// LeadCounts are the number of leads per pipeline of the workspace.
func (s *Service) LeadCounts(ctx context.Context, wsID int64) (map[int64]int, error) {
	var rows []struct {
		PipelineID int64
		N          int
	}
	err := s.ctxDB(ctx).Raw(`SELECT pipeline_id, count(*) AS n FROM leads WHERE workspace_id = ? GROUP BY pipeline_id`, wsID).Scan(&rows).Error
	out := map[int64]int{}
	for _, r := range rows {
		out[r.PipelineID] = r.N
	}
	return out, err
}

// SetAutoLead turns a channel's automatic leads on (in pipelineID) or off (nil).
func (s *Service) SetAutoLead(ctx context.Context, wsID, channelID int64, pipelineID *int64) error {
	return s.ctxDB(ctx).Model(&models.Channel{}).Where("workspace_id = ? AND id = ?", wsID, channelID).
		Update("auto_lead_pipeline_id", pipelineID).Error
}
