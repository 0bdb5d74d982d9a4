package catalog

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/models"
)

// Template categories, as Meta names them.
const (
	CategoryMarketing      = "marketing"
	CategoryUtility        = "utility"
	CategoryAuthentication = "authentication"
)

// Categories lists the template categories in the order forms offer them.
var Categories = []string{CategoryUtility, CategoryMarketing, CategoryAuthentication}

// CategoryLabel is the Spanish name of a template category.
func CategoryLabel(c string) string {
	switch c {
	case CategoryMarketing:
		return "Marketing"
	case CategoryUtility:
		return "Utilidad"
	case CategoryAuthentication:
		return "Autenticación"
	}
	return c
}

// Language is a template language Meta supports, with its Spanish name.
type Language struct {
	Code, Label string
}

// Languages are the template languages forms offer (Meta's codes; LatAm first).
var Languages = []Language{
	{"es", "Español"},
	{"es_MX", "Español (México)"},
	{"es_AR", "Español (Argentina)"},
	{"es_ES", "Español (España)"},
	{"pt_BR", "Portugués (Brasil)"},
	{"pt_PT", "Portugués (Portugal)"},
	{"en", "Inglés"},
	{"en_US", "Inglés (EE. UU.)"},
	{"en_GB", "Inglés (Reino Unido)"},
	{"fr", "Francés"},
	{"it", "Italiano"},
	{"de", "Alemán"},
}

// LanguageLabel is the Spanish name of a language code (the code itself when unknown).
func LanguageLabel(code string) string {
	for _, l := range Languages {
		if l.Code == code {
			return l.Label
		}
	}
	return code
}

// Limits Meta puts on templates.
const (
	MaxTemplateName = 512
	MaxTemplateBody = 1024
)

var (
	templateNameRe = regexp.MustCompile(`^[a-z0-9_]+$`)
	// languageRe accepts Meta's code shape (es, es_MX, fil, prs_AF) so that codes Meta adds
	// later can still be registered by the importer or the API.
	languageRe    = regexp.MustCompile(`^[a-z]{2,3}(_[A-Z]{2})?$`)
	placeholderRe = regexp.MustCompile(`\{\{([^{}]*)\}\}`)
)

// TemplateInput is what registering a template takes.
type TemplateInput struct {
	Name     string
	Language string
	Category string
	Body     string
}

func (in *TemplateInput) normalize() {
	in.Name = strings.TrimSpace(in.Name)
	in.Language = strings.TrimSpace(in.Language)
	in.Category = strings.TrimSpace(in.Category)
	in.Body = strings.TrimSpace(strings.ReplaceAll(in.Body, "\r\n", "\n"))
}

func (in TemplateInput) validate() apperr.Validation {
	v := apperr.Validation{}
	switch {
	case in.Name == "":
		v.Add("name", "Escribe el nombre con el que la plantilla está aprobada en Meta, por ejemplo «recordatorio_pago»")
	case len(in.Name) > MaxTemplateName:
		v.Add("name", fmt.Sprintf("El nombre puede tener hasta %d caracteres", MaxTemplateName))
	case !templateNameRe.MatchString(in.Name):
		v.Add("name", "Usa solo minúsculas sin tildes, números y guiones bajos, como en Meta: «recordatorio_pago»")
	}
	if !languageRe.MatchString(in.Language) {
		v.Add("language", "Elige el idioma de la plantilla")
	}
	switch in.Category {
	case CategoryMarketing, CategoryUtility, CategoryAuthentication:
	default:
		v.Add("category", "Elige una categoría: Marketing, Utilidad o Autenticación")
	}
	switch {
	case in.Body == "":
		v.Add("body", "Pega el texto del cuerpo de la plantilla tal como está aprobado en Meta")
	case utf8.RuneCountInString(in.Body) > MaxTemplateBody:
		v.Add("body", fmt.Sprintf("El cuerpo puede tener hasta %d caracteres", MaxTemplateBody))
	default:
		if _, err := Params(in.Body); err != nil {
			v.Add("body", err.Error())
		}
	}
	return v
}

// Params counts the {{1}}, {{2}}… placeholders of a template body. They must be
// numbered consecutively from 1 (repeating one is fine); anything else is an error
// that says, in Spanish, what to fix.
func Params(body string) (int, error) {
	seen := map[int]bool{}
	for _, m := range placeholderRe.FindAllStringSubmatch(body, -1) {
		n, err := strconv.Atoi(m[1])
		if err != nil || n < 1 || m[1] != strconv.Itoa(n) {
			return 0, fmt.Errorf("«%s» no es una variable válida: numéralas así: {{1}}, {{2}}…", m[0])
		}
		seen[n] = true
	}
	rest := placeholderRe.ReplaceAllString(body, "")
	if strings.Contains(rest, "{{") || strings.Contains(rest, "}}") {
		return 0, errors.New("Revisa las llaves: cada variable se escribe con dos llaves a cada lado, como {{1}}")
	}
	nums := make([]int, 0, len(seen))
	for n := range seen {
		nums = append(nums, n)
	}
	sort.Ints(nums)
	for i, n := range nums {
		if n != i+1 {
			return 0, fmt.Errorf("Las variables deben ir seguidas desde {{1}}: falta {{%d}}", i+1)
		}
	}
	return len(nums), nil
}

// Piece is a run of a template body: plain text, or the placeholder number Param.
type Piece struct {
	Text  string
	Param int // > 0 for a {{n}} placeholder
}

// Pieces splits a template body into text and placeholders, so screens can highlight them.
func Pieces(body string) []Piece {
	var out []Piece
	last := 0
	for _, loc := range placeholderRe.FindAllStringSubmatchIndex(body, -1) {
		n, err := strconv.Atoi(body[loc[2]:loc[3]])
		if err != nil || n < 1 {
			continue
		}
		if loc[0] > last {
			out = append(out, Piece{Text: body[last:loc[0]]})
		}
		out = append(out, Piece{Text: body[loc[0]:loc[1]], Param: n})
		last = loc[1]
	}
	if last < len(body) {
		out = append(out, Piece{Text: body[last:]})
	}
	return out
}

// CreateTemplate registers a template already approved in Meta, so agents can send it
// when the 24-hour window is closed.
func (s *Service) CreateTemplate(ctx context.Context, wsID int64, in TemplateInput) (models.Template, error) {
	in.normalize()
	if v := in.validate(); len(v) > 0 {
		return models.Template{}, v
	}
	t := models.Template{WorkspaceID: wsID, Name: in.Name, Language: in.Language, Category: in.Category,
		Body: in.Body, CreatedAt: s.Clock.Now()}
	err := s.createAudited(ctx, wsID, &t, "template", "template.create", func() int64 { return t.ID }, func() map[string]any { return templateFacts(t) })
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return t, apperr.Validation{"name": fmt.Sprintf("Ya registraste «%s» en %s. Para otro idioma, elige otro idioma.", in.Name, LanguageLabel(in.Language))}
	}
	return t, err
}

// Templates returns the workspace's templates by name and language.
func (s *Service) Templates(ctx context.Context, wsID int64) ([]models.Template, error) {
	var out []models.Template
	err := s.DB.WithContext(ctx).Where("workspace_id = ?", wsID).Order("name, language").Find(&out).Error
	return out, err
}

// Template returns one template of the workspace.
func (s *Service) Template(ctx context.Context, wsID, id int64) (models.Template, error) {
	var t models.Template
	err := s.getScoped(ctx, &t, wsID, id)
	return t, err
}

// DeleteTemplate removes a template from the workspace and returns what it was;
// messages already sent keep their text.
func (s *Service) DeleteTemplate(ctx context.Context, wsID, id int64) (models.Template, error) {
	var deleted models.Template
	err := s.deleteScoped(ctx, &deleted, wsID, id, "template", "template.delete", func() map[string]any { return templateFacts(deleted) })
	return deleted, err
}

func templateFacts(t models.Template) map[string]any {
	return map[string]any{"name": t.Name, "language": t.Language, "category": t.Category, "body": t.Body}
}
