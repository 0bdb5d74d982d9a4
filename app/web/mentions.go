package web

import (
	"context"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/live"
)

// Mentions in internal notes: "@Luis" (or "@Luis Pérez", or "@luis" from the email)
// tells Luis, on every screen he has open, with a link to the conversation. Nothing is
// stored beyond the note itself; the notice travels as a live event only to him, and
// only if he may see the conversation.

type mentionable struct {
	ID    int64
	Name  string
	Email string
}

// fold lowercases and drops accents, for matching what people type.
func fold(s string) string {
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	out, _, err := transform.String(t, strings.ToLower(s))
	if err != nil {
		return strings.ToLower(s)
	}
	return out
}

// mentioned returns the people of users named after an "@" in body: at each "@" the
// longest name that follows wins (full name, first name, or the email's local part);
// people sharing that name are all told.
func mentioned(body string, users []mentionable) []int64 {
	fb := fold(body)
	seen := map[int64]bool{}
	var out []int64
	for i := 0; i < len(fb); i++ {
		if fb[i] != '@' || (i > 0 && !mentionBoundary(rune(fb[i-1]))) {
			continue
		}
		rest := fb[i+1:]
		best, ids := 0, []int64(nil)
		for _, u := range users {
			local, _, _ := strings.Cut(u.Email, "@")
			for _, cand := range []string{fold(u.Name), fold(strings.Fields(u.Name + " x")[0]), fold(local)} {
				if cand == "" || !strings.HasPrefix(rest, cand) {
					continue
				}
				if len(rest) > len(cand) {
					r, _ := utf8.DecodeRuneInString(rest[len(cand):])
					if !mentionBoundary(r) {
						continue
					}
				}
				switch {
				case len(cand) > best:
					best, ids = len(cand), []int64{u.ID}
				case len(cand) == best && (len(ids) == 0 || ids[len(ids)-1] != u.ID):
					ids = append(ids, u.ID)
				}
			}
		}
		for _, id := range ids {
			if !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	return out
}

func mentionBoundary(r rune) bool {
	return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_'
}

// notifyMentions tells the people a note by v on conversation id mentions.
func (s *Server) notifyMentions(ctx context.Context, v accounts.Viewer, id int64, body string) error {
	if !strings.Contains(body, "@") {
		return nil
	}
	db := s.DB.Gorm.WithContext(ctx)
	var users []mentionable
	if err := db.Raw(`SELECT id, name, email FROM users WHERE workspace_id = ? AND active AND id <> ?`, v.Workspace.ID, v.User.ID).
		Scan(&users).Error; err != nil {
		return err
	}
	ids := mentioned(body, users)
	if len(ids) == 0 {
		return nil
	}
	var conv struct {
		TeamID     *int64
		AssigneeID *int64
	}
	if err := db.Raw(`SELECT team_id, assignee_id FROM conversations WHERE id = ? AND workspace_id = ?`, id, v.Workspace.ID).
		Scan(&conv).Error; err != nil {
		return err
	}
	snippet := strings.Join(strings.Fields(body), " ")
	if utf8.RuneCountInString(snippet) > 140 {
		snippet = string([]rune(snippet)[:139]) + "…"
	}
	for _, uid := range ids {
		e := live.Event{Kind: "mention", WorkspaceID: v.Workspace.ID, ConversationID: id, TeamID: conv.TeamID,
			AssigneeID: conv.AssigneeID, UserID: uid, ActorID: &v.User.ID, Name: v.User.Name, Text: snippet}
		if err := live.Publish(db, e); err != nil {
			return err
		}
	}
	return nil
}
