package reports

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"
	"time"
)

// CSVHeader is the first row of the per-cycle CSV.
var CSVHeader = []string{"conversation_id", "cycle_id", "contact", "team", "assignee_at_close", "opened_at", "first_response_at", "closed_at",
	"first_response_seconds", "first_response_business_seconds", "next_responses", "next_response_avg_seconds",
	"next_response_business_avg_seconds", "resolution_seconds", "resolution_business_seconds", "transferred", "fcr",
	"breaches", "converted", "window_lost"}

// WriteCSV writes one row per cycle of the report (metrics.md: "--format csv").
func WriteCSV(w io.Writer, r Report) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	ts := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	num := func(f *float64) string {
		if f == nil {
			return ""
		}
		return strconv.FormatFloat(*f, 'f', -1, 64)
	}
	for _, c := range r.Cycles {
		opened := c.OpenedAt
		row := []string{strconv.FormatInt(c.ConversationID, 10), strconv.FormatInt(c.ID, 10), safe(c.Contact), safe(c.Team), safe(c.Assignee),
			ts(&opened), ts(c.FirstReplyAt), ts(c.ClosedAt), num(c.FirstResponse), num(c.FirstResponseBusiness),
			strconv.Itoa(len(c.NextResponses)), num(avg(c.NextResponses)), num(avg(c.NextResponsesBusiness)),
			num(c.Resolution), num(c.ResolutionBusiness), strconv.FormatBool(c.Transferred), strconv.FormatBool(c.FCR),
			strings.Join(c.Breaches, ";"), strconv.FormatBool(c.Converted), strconv.FormatBool(c.WindowLost)}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// safe keeps a spreadsheet from running a cell as a formula (a phone number such as
// +51 987 654 321 stays as it is).
func safe(s string) string {
	if s == "" || !strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return s
	}
	if strings.Trim(s[1:], "0123456789 ") == "" && (s[0] == '+' || s[0] == '-') {
		return s
	}
	return "'" + s
}
