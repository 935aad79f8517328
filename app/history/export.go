package history

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Export writes one conversation as "md" (Markdown: a heading, then each
// turn with its speaker and time) or "json" (an object with the ID and the
// turns). It returns ErrNotFound for an unknown ID and an error naming the
// format for any other format.
func (s *Store) Export(id, format string, w io.Writer) error {
	if format != "md" && format != "json" {
		return fmt.Errorf("history: export format %q: want md or json", format)
	}
	turns, err := s.Conversation(id)
	if err != nil {
		return err
	}
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Conversation string `json:"conversation"`
			Turns        []Turn `json:"turns"`
		}{id, turns})
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Conversation %s\n\n", id)
	for _, t := range turns {
		who := "You"
		if t.Role == RoleAgent {
			who = "Parley"
		}
		fmt.Fprintf(&b, "**%s** (%s): %s\n\n", who, t.Start.Local().Format("2006-01-02 15:04:05"), t.Text)
	}
	_, err = io.WriteString(w, b.String())
	return err
}
