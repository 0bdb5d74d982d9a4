package conversation

import (
	"strings"
	"time"

	"github.com/atiende/atiende/app/inbox"
	"github.com/atiende/atiende/app/whatsapp"
)

// ScheduledProps are what the list of scheduled replies needs.
type ScheduledProps struct {
	ConvID    int64
	Items     []inbox.ScheduledView
	Now       time.Time
	Loc       *time.Location
	CSRFToken string
}

func (s ScheduledProps) path(suffix string) string { return "/conversations/" + i64(s.ConvID) + suffix }

var weekdaysES = []string{"dom", "lun", "mar", "mié", "jue", "vie", "sáb"}

// schedWhen says when a scheduled reply goes, as agents say it: "hoy 15:30",
// "mañana 09:00", "lun 14/03 09:00".
func schedWhen(t, now time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	t, now = t.In(loc), now.In(loc)
	day := func(x time.Time) time.Time { return time.Date(x.Year(), x.Month(), x.Day(), 0, 0, 0, 0, loc) }
	switch d := int(day(t).Sub(day(now)).Hours() / 24); {
	case d == 0:
		return "hoy " + t.Format("15:04")
	case d == 1:
		return "mañana " + t.Format("15:04")
	case d > 1 && d < 7:
		return weekdaysES[t.Weekday()] + " " + t.Format("02/01 15:04")
	}
	return t.Format("02/01/2006 15:04")
}

func localInput(t time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format("2006-01-02T15:04")
}

// schedPreset is a quick choice in "Programar envío".
type schedPreset struct {
	Label string
	Value string
}

func (p Props) schedPresets() []schedPreset {
	loc := p.Loc
	if loc == nil {
		loc = time.UTC
	}
	now := p.Now.In(loc)
	inHour := now.Add(time.Hour).Truncate(15 * time.Minute).Add(15 * time.Minute)
	tomorrow := time.Date(now.Year(), now.Month(), now.Day()+1, 9, 0, 0, 0, loc)
	monday := time.Date(now.Year(), now.Month(), now.Day()+((8-int(now.Weekday()))%7), 9, 0, 0, 0, loc)
	if !monday.After(tomorrow) {
		monday = monday.AddDate(0, 0, 7)
	}
	return []schedPreset{
		{"En 1 hora", localInput(inHour, loc)},
		{"Mañana 9:00", localInput(tomorrow, loc)},
		{"Lunes 9:00", localInput(monday, loc)},
	}
}

func (p Props) schedMin() string { return localInput(p.Now.Add(time.Minute), p.Loc) }
func (p Props) schedMax() string { return localInput(p.Now.Add(inbox.MaxScheduleAhead), p.Loc) }
func (p Props) tzName() string {
	if p.Loc == nil {
		return "UTC"
	}
	return strings.ReplaceAll(p.Loc.String(), "_", " ")
}

// tplSpec reads a template's components for the picker.
func tplSpec(t inbox.TemplateOption) whatsapp.TemplateSpec {
	return whatsapp.ParseTemplate(t.Components, t.Body)
}

func headerLabel(kind string) string {
	switch kind {
	case "image":
		return "Imagen del encabezado"
	case "video":
		return "Video del encabezado"
	}
	return "Documento del encabezado"
}

func headerPick(kind string) string {
	switch kind {
	case "image":
		return "Elegir imagen"
	case "video":
		return "Elegir video"
	}
	return "Elegir documento"
}

func headerAccept(kind string) string {
	switch kind {
	case "image":
		return "image/jpeg,image/png"
	case "video":
		return "video/mp4,video/3gpp"
	}
	return "application/pdf,text/plain,.doc,.docx,.xls,.xlsx,.ppt,.pptx"
}

func headerHint(kind string) string {
	switch kind {
	case "image":
		return "Foto JPG o PNG de hasta 5 MB."
	case "video":
		return "Video MP4 o 3GP de hasta 16 MB."
	}
	return "PDF o documento de Office de hasta 100 MB; el cliente verá su nombre."
}

// tplPreview fills the body's variables with what the picker prefills.
func tplPreview(spec whatsapp.TemplateSpec, first string) string {
	vals := map[string]string{}
	for i, k := range spec.BodyParams {
		if i == 0 && first != "" {
			vals[k] = first
		}
	}
	return whatsapp.FillVars(spec.Body, vals)
}

func buttonExample(b whatsapp.TemplateButton) string {
	i := strings.Index(b.URL, "{{")
	if i < 0 {
		return b.URL
	}
	return b.URL[:i] + "…"
}

type inboxTemplate = inbox.TemplateOption
