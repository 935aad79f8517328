package ui

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/parley-app/parley/app/history"
)

// Archive is what the history window needs: search, read, export and delete
// conversations. *history.Store implements it.
type Archive interface {
	Search(q history.Query) ([]history.Hit, error)
	Conversation(id string) ([]history.Turn, error)
	Export(id, format string, w io.Writer) error
	Delete(id string) error
}

// searchDelay is how long typing must pause before a search runs.
const searchDelay = 150 * time.Millisecond

// HistoryWindow lets a person find and reopen earlier conversations.
type HistoryWindow struct {
	archive Archive
	Win     fyne.Window
	Search  *widget.Entry
	Role    *widget.Select
	From    *widget.Entry
	Results *widget.List
	Status  *widget.Label
	Convo   *widget.RichText
	Export  *widget.Button
	Delete  *widget.Button

	mu       sync.Mutex
	hits     []history.Hit
	selected string // conversation shown
	timer    *time.Timer
	gen      int // search generation; older results are dropped
}

var roleChoices = map[string]string{"Both": "", "You": history.RoleUser, "Parley": history.RoleAgent}

// NewHistoryWindow builds the history window in a over archive.
func NewHistoryWindow(a fyne.App, archive Archive) *HistoryWindow {
	h := &HistoryWindow{
		archive: archive,
		Win:     a.NewWindow("Parley — history"),
		Search:  widget.NewEntry(),
		From:    widget.NewEntry(),
		Status:  widget.NewLabel("Type two or more words you remember."),
		Convo:   widget.NewRichText(),
	}
	h.Search.SetPlaceHolder("Search what was said…")
	h.From.SetPlaceHolder("since YYYY-MM-DD")
	h.Role = widget.NewSelect([]string{"Both", "You", "Parley"}, func(string) { h.schedule() })
	h.Role.SetSelected("Both")
	h.Search.OnChanged = func(string) { h.schedule() }
	h.From.OnChanged = func(string) { h.schedule() }
	h.Results = widget.NewList(h.count, func() fyne.CanvasObject { return widget.NewRichText() }, h.render)
	h.Results.OnSelected = func(i widget.ListItemID) { h.open(i) }
	h.Convo.Wrapping = fyne.TextWrapWord
	h.Export = widget.NewButton("Export…", h.export)
	h.Delete = widget.NewButton("Delete", h.confirmDelete)
	h.Delete.Importance = widget.DangerImportance
	h.Export.Disable()
	h.Delete.Disable()
	filters := container.NewGridWithColumns(2, h.Role, h.From)
	left := container.NewBorder(container.NewVBox(h.Search, filters, h.Status), nil, nil, nil, h.Results)
	right := container.NewBorder(nil, container.NewHBox(h.Export, h.Delete), nil, nil, container.NewVScroll(h.Convo))
	split := container.NewHSplit(left, right)
	split.Offset = 0.45
	h.Win.SetContent(split)
	h.Win.Resize(fyne.NewSize(960, 600))
	return h
}

func (h *HistoryWindow) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.hits)
}

// render shows one hit: date, speaker and the fragment with matches in bold.
func (h *HistoryWindow) render(i widget.ListItemID, o fyne.CanvasObject) {
	h.mu.Lock()
	if i >= len(h.hits) {
		h.mu.Unlock()
		return
	}
	hit := h.hits[i]
	h.mu.Unlock()
	frag := hit.Text
	if len(hit.Fragments) > 0 {
		frag = hit.Fragments[0]
	}
	segs := []widget.RichTextSegment{&widget.TextSegment{
		Text:  hit.Start.Local().Format("Jan 2 15:04") + " · " + speaker(hit.Role) + ": ",
		Style: widget.RichTextStyle{Inline: true, ColorName: "disabled"},
	}}
	segs = append(segs, highlighted(frag)...)
	rt := o.(*widget.RichText)
	rt.Segments = segs
	rt.Refresh()
}

// highlighted turns bleve's HTML fragment (matches in <mark>) into inline
// segments, the matches bold.
func highlighted(frag string) []widget.RichTextSegment {
	var segs []widget.RichTextSegment
	for frag != "" {
		before, rest, found := strings.Cut(frag, "<mark>")
		if before != "" {
			segs = append(segs, &widget.TextSegment{Text: unescape(before), Style: widget.RichTextStyleInline})
		}
		if !found {
			break
		}
		mark, after, _ := strings.Cut(rest, "</mark>")
		segs = append(segs, &widget.TextSegment{Text: unescape(mark), Style: widget.RichTextStyleStrong})
		frag = after
	}
	return segs
}

var unescape = strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&#34;", `"`, "&#39;", "'", "&quot;", `"`).Replace

func speaker(role string) string {
	if role == history.RoleAgent {
		return "Parley"
	}
	return "You"
}

// schedule runs a search once typing pauses (search as you type).
func (h *HistoryWindow) schedule() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.timer != nil {
		h.timer.Stop()
	}
	h.gen++
	gen := h.gen
	q := history.Query{Words: h.Search.Text, Role: roleChoices[h.Role.Selected], Size: 50}
	from := strings.TrimSpace(h.From.Text)
	h.timer = time.AfterFunc(searchDelay, func() { h.run(gen, q, from) })
}

// run searches off the UI goroutine and shows the result if it is still the
// newest search.
func (h *HistoryWindow) run(gen int, q history.Query, from string) {
	var hits []history.Hit
	var msg string
	if from != "" {
		t, err := time.ParseInLocation("2006-01-02", from, time.Local)
		if err != nil || t.Year() < 1970 || t.Year() > 2200 {
			msg = "Write the date as YYYY-MM-DD, e.g. 2026-11-14."
		}
		q.From = t
	}
	if msg == "" && strings.TrimSpace(q.Words) != "" {
		var err error
		hits, err = h.archive.Search(q)
		switch {
		case errors.Is(err, history.ErrEmptyQuery):
			msg = ""
		case err != nil:
			msg = "Search failed: " + err.Error()
		case len(hits) == 0:
			msg = "Nothing found."
		default:
			msg = fmt.Sprintf("%d found", len(hits))
		}
	}
	if msg == "" {
		msg = "Type two or more words you remember."
	}
	fyne.Do(func() {
		h.mu.Lock()
		if gen != h.gen {
			h.mu.Unlock()
			return
		}
		h.hits = hits
		h.mu.Unlock()
		h.Status.SetText(msg)
		h.Results.UnselectAll()
		h.Results.Refresh()
	})
}

// open shows the whole conversation of hit i.
func (h *HistoryWindow) open(i widget.ListItemID) {
	h.mu.Lock()
	if i >= len(h.hits) {
		h.mu.Unlock()
		return
	}
	id := h.hits[i].Conversation
	h.selected = id
	h.mu.Unlock()
	turns, err := h.archive.Conversation(id)
	if err != nil {
		h.Convo.ParseMarkdown("Could not open this conversation: " + err.Error())
		return
	}
	var segs []widget.RichTextSegment
	for _, t := range turns {
		segs = append(segs,
			&widget.TextSegment{Text: speaker(t.Role) + " · " + t.Start.Local().Format("2006-01-02 15:04:05"),
				Style: widget.RichTextStyle{TextStyle: fyne.TextStyle{Bold: true}, ColorName: "disabled"}},
			&widget.TextSegment{Text: t.Text, Style: widget.RichTextStyleParagraph})
	}
	h.Convo.Segments = segs
	h.Convo.Refresh()
	h.Export.Enable()
	h.Delete.Enable()
}

// Selected returns the conversation being shown ("" for none).
func (h *HistoryWindow) Selected() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.selected
}

// export asks for a file and writes the shown conversation as Markdown, or
// as JSON when the name ends in .json.
func (h *HistoryWindow) export() {
	id := h.Selected()
	if id == "" {
		return
	}
	d := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err != nil || w == nil {
			return
		}
		defer w.Close()
		if err := h.ExportTo(id, w.URI().Extension(), w); err != nil {
			dialog.ShowError(err, h.Win)
		}
	}, h.Win)
	d.SetFileName(id + ".md")
	d.Show()
}

// ExportTo writes conversation id as JSON when ext is ".json", else as
// Markdown.
func (h *HistoryWindow) ExportTo(id, ext string, w io.Writer) error {
	format := "md"
	if strings.EqualFold(ext, ".json") {
		format = "json"
	}
	return h.archive.Export(id, format, w)
}

func (h *HistoryWindow) confirmDelete() {
	id := h.Selected()
	if id == "" {
		return
	}
	dialog.ShowConfirm("Delete this conversation?", "It will be gone from your history and from search. This cannot be undone.",
		func(ok bool) {
			if ok {
				h.DeleteShown()
			}
		}, h.Win)
}

// DeleteShown deletes the conversation being shown and refreshes the results.
func (h *HistoryWindow) DeleteShown() {
	id := h.Selected()
	if id == "" {
		return
	}
	if err := h.archive.Delete(id); err != nil {
		dialog.ShowError(err, h.Win)
		return
	}
	h.mu.Lock()
	h.selected = ""
	h.mu.Unlock()
	h.Convo.Segments = nil
	h.Convo.Refresh()
	h.Export.Disable()
	h.Delete.Disable()
	h.schedule()
}
