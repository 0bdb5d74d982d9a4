package settings

// Choice is one choice of a select, optionally in a group.
type Choice struct {
	Value, Label string
	Group        string // optgroup (e.g. the pipeline of a stage); "" for none
}

// RuleRow is one routing rule in the ordered list.
type RuleRow struct {
	ID        int64
	Position  int
	Name      string
	Kind      string // Spanish name of the condition kind
	Condition string // "México (+52)", "precio, cotización"…
	Team      string
	TeamColor string
	Label     string
	Priority  string
	Active    bool
}

// RuleForm is the create/edit form of a routing rule.
type RuleForm struct {
	ID         int64
	Name       string
	Kind       string
	Country    string
	Keywords   string
	MenuOption string
	StageID    int64
	ChannelID  int64
	TeamID     int64
	LabelID    int64
	Priority   string
	Errors     map[string]string
	CSRFToken  string
}

// RoutingChoices are the selects of the rule form.
type RoutingChoices struct {
	Kinds      []Choice
	Countries  []Choice
	Stages     []Choice
	Channels   []Choice
	Teams      []Choice
	Labels     []Choice
	Priorities []Choice
}

// MenuChannel is a channel in the welcome menus section.
type MenuChannel struct {
	ID      int64
	Name    string
	Phone   string
	HasMenu bool
	Active  bool
	Options int
}

// RoutingPage is the Enrutamiento screen.
type RoutingPage struct {
	Rules     []RuleRow
	Form      RuleForm
	Choices   RoutingChoices
	Channels  []MenuChannel
	CSRFToken string
}

// MenuOptionRow is one option line of the menu form.
type MenuOptionRow struct {
	Key, Title      string
	TeamID, LabelID int64
	Error           string
	TitleOverLimit  bool
}

// MenuForm is a channel's welcome menu form with its preview.
type MenuForm struct {
	ChannelID   int64
	ChannelName string
	Exists      bool
	Text        string
	Active      bool
	Options     []MenuOptionRow // always MaxOptions rows
	Teams       []Choice
	Labels      []Choice
	Errors      map[string]string
	CSRFToken   string
}

// MaxMenuOptions, MaxButtons and MaxTitle are WhatsApp's limits the form and preview follow.
const (
	MaxMenuOptions = 10
	MaxButtons     = 3
	MaxTitle       = 24
)

// Filled are the options with a title, as the preview shows them.
func (f MenuForm) Filled() []MenuOptionRow {
	var out []MenuOptionRow
	for _, o := range f.Options {
		if o.Title != "" {
			out = append(out, o)
		}
	}
	return out
}
