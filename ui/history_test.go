package ui

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/parley-app/parley/app"
	"github.com/parley-app/parley/app/history"
)

func richText(rt *widget.RichText) string {
	var b strings.Builder
	for _, s := range rt.Segments {
		b.WriteString(s.Textual())
		b.WriteString("\n")
	}
	return b.String()
}

// TestHistoryWindow: typing two words of an earlier sentence finds it with
// the words highlighted; opening it shows the conversation; it exports; the
// speaker filter and date filter narrow the results; delete removes it.
func TestHistoryWindow(t *testing.T) {
	a := test.NewApp()
	defer a.Quit()
	store, err := history.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	when := time.Date(2026, 11, 14, 10, 0, 0, 0, time.Local)
	id := history.NewConversation(when)
	for i, line := range []struct{ role, text string }{
		{history.RoleUser, "go forward ten meters"},
		{history.RoleAgent, "going forward ten meters now"},
		{history.RoleUser, "turn left at the door"},
	} {
		turn := history.Turn{Conversation: id, Role: line.role, Text: line.text, Start: when.Add(time.Duration(i) * time.Second)}
		if err := store.Append(&turn); err != nil {
			t.Fatal(err)
		}
	}
	fc := &fakeCaller{st: app.Status{Local: true}, hist: store}
	w := NewWindow(a, fc)
	test.Tap(w.HistoryButton)
	waitFor(t, func() bool { return w.History != nil })
	h := w.History

	test.Type(h.Search, "forward meters")
	waitFor(t, func() bool { return h.count() == 2 })
	row := h.Results.CreateItem()
	h.render(0, row)
	var bold []string
	for _, s := range row.(*widget.RichText).Segments {
		if ts, ok := s.(*widget.TextSegment); ok && ts.Style.TextStyle.Bold {
			bold = append(bold, ts.Text)
		}
	}
	if len(bold) < 2 {
		t.Fatalf("matches not highlighted: %v", richText(row.(*widget.RichText)))
	}

	h.Role.SetSelected("Parley")
	waitFor(t, func() bool { return h.count() == 1 })
	h.Role.SetSelected("Both")
	test.Type(h.From, "2026-11-15")
	waitFor(t, func() bool { return h.count() == 0 && strings.Contains(h.Status.Text, "Nothing") })
	h.From.SetText("yesterday")
	waitFor(t, func() bool { return strings.Contains(h.Status.Text, "YYYY-MM-DD") })
	h.From.SetText("")
	waitFor(t, func() bool { return h.count() == 2 })

	h.Results.Select(0)
	if h.Selected() != id || !strings.Contains(richText(h.Convo), "turn left at the door") || h.Delete.Disabled() {
		t.Fatalf("opening a result: selected %q, shown %q", h.Selected(), richText(h.Convo))
	}
	var md bytes.Buffer
	if err := h.ExportTo(id, ".md", &md); err != nil || !strings.Contains(md.String(), "go forward ten meters") {
		t.Fatalf("export: %v %q", err, md.String())
	}
	h.DeleteShown()
	waitFor(t, func() bool { return h.count() == 0 })
	if _, err := store.Conversation(id); err == nil {
		t.Fatal("the conversation is still in the history")
	}
}

func TestHistoryUnavailable(t *testing.T) {
	a := test.NewApp()
	defer a.Quit()
	fc := &fakeCaller{st: app.Status{Local: true}, histErr: history.ErrBadID}
	w := NewWindow(a, fc)
	test.Tap(w.HistoryButton)
	waitFor(t, func() bool { return strings.Contains(w.Message.Text, "history could not be opened") })
	if w.History != nil {
		t.Fatal("a window opened without a history")
	}
}
