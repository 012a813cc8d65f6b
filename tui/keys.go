package tui

import (
	"charm.land/bubbles/v2/key"
)

// keyMap holds every binding; each screen shows the ones it handles in its
// help line (pickerHelp, drillHelp, …), so the help always tells the truth.
type keyMap struct {
	Up, Down, PageUp, PageDown key.Binding
	Quit, Back, Help           key.Binding
	// picker
	Start, Tabletop, Cloud, Tactic key.Binding
	// drill
	Pause, Faster, Slower, Step, First, Last, Follow key.Binding
	// tabletop prompt
	Yes, No, Confirm, Note, SaveNote, CancelNote key.Binding
	// results
	Timeline key.Binding
}

func newKeyMap() keyMap {
	return keyMap{
		Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:   key.NewBinding(key.WithKeys("pgup"), key.WithHelp("pgup", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown"), key.WithHelp("pgdn", "page down")),
		Quit:     key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
		Back:     key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		Help:     key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "more keys")),

		Start:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "run drill")),
		Tabletop: key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "tabletop")),
		Cloud:    key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "cloud filter")),
		Tactic:   key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "tactic filter")),

		Pause:  key.NewBinding(key.WithKeys("space"), key.WithHelp("space", "pause")),
		Faster: key.NewBinding(key.WithKeys("+", "="), key.WithHelp("+/-", "speed")),
		Slower: key.NewBinding(key.WithKeys("-", "_"), key.WithHelp("-", "slower")),
		Step:   key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "next event")),
		First:  key.NewBinding(key.WithKeys("g", "home"), key.WithHelp("g/G", "start/end")),
		Last:   key.NewBinding(key.WithKeys("G", "end"), key.WithHelp("G", "end")),
		Follow: key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "follow")),

		Yes:        key.NewBinding(key.WithKeys("1", "y"), key.WithHelp("1/y", "yes")),
		No:         key.NewBinding(key.WithKeys("2"), key.WithHelp("2", "no")),
		Confirm:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "answer")),
		Note:       key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "note")),
		SaveNote:   key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "keep note")),
		CancelNote: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),

		Timeline: key.NewBinding(key.WithKeys("v"), key.WithHelp("v", "view timeline")),
	}
}

// helpKeys is a help.KeyMap over a fixed list: the short line shows the
// essentials, the full view every binding of the screen.
type helpKeys struct{ short, full []key.Binding }

func (h helpKeys) ShortHelp() []key.Binding { return h.short }
func (h helpKeys) FullHelp() [][]key.Binding {
	var cols [][]key.Binding
	for i := 0; i < len(h.full); i += 4 {
		cols = append(cols, h.full[i:min(i+4, len(h.full))])
	}
	return cols
}
