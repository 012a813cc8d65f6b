// Package tui is firedrill's terminal UI on bubbletea v2: a scenario
// picker, a drill view that plays a drill's timeline back in lanes with a
// scoreboard, replays of saved drills, and tabletop exercises in which a
// team answers the playbook's decisions while the drill waits for them.
//
// The TUI is a view over the same timeline and scorecard the CLI produces
// and holds no drill logic: drills run through scenarios/runner, the
// scoreboard is scoring.Score over the events up to the playback position,
// and the conversion from a drill to a scoring input is
// runner.Result.ScoreInput, the one 'firedrill run' uses. Update never
// does IO: drills run in tea.Cmds, and playback is a pure function of the
// recorded events and a position advanced by frame ticks.
package tui

import (
	"context"
	"errors"
	"fmt"
	"github.com/firedrill-ir/firedrill/responder"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"

	"github.com/firedrill-ir/firedrill/replay"
	"github.com/firedrill-ir/firedrill/scenarios"
	"github.com/firedrill-ir/firedrill/scenarios/runner"
)

// RunFunc plays a drill; runner.Run is the default. Tests substitute a fake.
type RunFunc func(ctx context.Context, sc *scenarios.Scenario, opts runner.Options) (*runner.Result, error)

// Options configure the TUI. With none set it opens the scenario picker.
type Options struct {
	// Scenarios are the picker's list (default scenarios.Builtin()).
	Scenarios []*scenarios.Scenario
	// Scenario opens the drill view directly and starts the drill, or
	// with Tabletop, starts a tabletop exercise.
	Scenario *scenarios.Scenario
	Tabletop bool
	// Replay plays a saved drill back.
	Replay *replay.File
	// Seed of drills started from here (default 1, as 'firedrill run').
	Seed uint64
	// Playbook responds instead of each scenario's expected playbook.
	Playbook *responder.Playbook
	// Speed of playback in virtual seconds per wall second, speedMax
	// (0 from ParseSpeed("max")) for max; default DefaultSpeed.
	Speed *float64
	// SavePath is where a finished tabletop is saved ("" = not saved).
	SavePath string
	// Run plays drills (default runner.Run).
	Run RunFunc
	// Now is the wall clock that times the team's decisions (default
	// time.Now); tests fix it.
	Now func() time.Time
	// Context bounds the drills started from the TUI.
	Context context.Context
}

// DefaultSpeed plays a 5-hour drill in one minute.
const DefaultSpeed = 300.0

type screen int

const (
	screenPicker screen = iota
	screenLoading
	screenDrill
	screenResults
	screenError
)

// Messages.
type (
	// frameMsg advances playback and redraws; gen drops ticks of a view
	// that was left.
	frameMsg struct{ gen int }
	// drillLoadedMsg carries a finished drill for playback.
	drillLoadedMsg struct {
		file *replay.File
		err  error
	}
	// savedMsg reports a save of tabletop results.
	savedMsg struct {
		path string
		err  error
	}
)

// Model is the root model; every screen is rendered from it.
type Model struct {
	opts   Options
	keys   keyMap
	help   help.Model
	spin   spinner.Model
	width  int
	height int

	screen     screen
	fromPicker bool
	pick       picker
	loading    string
	drill      *drillView
	tt         *tabletop
	result     *replay.File // a finished tabletop
	savedTo    string
	saveErr    error
	err        error
	gen        int

	ctx    context.Context
	cancel context.CancelFunc
}

// New builds the TUI.
func New(opts Options) *Model {
	if opts.Scenarios == nil {
		opts.Scenarios = scenarios.Builtin()
	}
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	if opts.Speed == nil {
		s := DefaultSpeed
		opts.Speed = &s
	}
	if opts.Run == nil {
		opts.Run = runner.Run
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Context == nil {
		opts.Context = context.Background()
	}
	m := &Model{opts: opts, keys: newKeyMap(), help: help.New(), width: 80, height: 24,
		spin: spinner.New(spinner.WithSpinner(spinner.Dot)), pick: newPicker(opts.Scenarios)}
	m.ctx, m.cancel = context.WithCancel(opts.Context)
	m.help.SetWidth(m.width)
	return m
}

// Init starts what the options ask for.
func (m *Model) Init() tea.Cmd {
	switch {
	case m.opts.Replay != nil:
		return m.openFile(m.opts.Replay)
	case m.opts.Scenario != nil && m.opts.Tabletop:
		return m.startTabletop(m.opts.Scenario)
	case m.opts.Scenario != nil:
		return m.startDrill(m.opts.Scenario)
	}
	return nil
}

// Err is the error that ended the session, if any (a drill that failed).
func (m *Model) Err() error { return m.err }

// Result is the finished tabletop exercise, nil if it did not finish.
func (m *Model) Result() *replay.File { return m.result }

// SaveErr is the error of saving the tabletop results, if any.
func (m *Model) SaveErr() error { return m.saveErr }

// Update handles a message.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = max(msg.Width, 20), max(msg.Height, 8)
		m.help.SetWidth(m.width)
		return m, nil
	case spinner.TickMsg:
		if m.screen != screenLoading {
			return m, nil
		}
		var cmd tea.Cmd
		m.spin, cmd = m.spin.Update(msg)
		return m, cmd
	case frameMsg:
		if msg.gen != m.gen || m.drill == nil || m.screen != screenDrill {
			return m, nil
		}
		m.frame()
		return m, m.tick()
	case drillLoadedMsg:
		if msg.err != nil {
			return m.fail(msg.err)
		}
		return m, m.openFile(msg.file)
	case decisionRequestMsg:
		return m.onDecisionRequest(msg)
	case tabletopDoneMsg:
		return m.onTabletopDone(msg)
	case savedMsg:
		m.savedTo, m.saveErr = msg.path, msg.err
		return m, nil
	case tea.KeyPressMsg:
		return m.onKey(msg)
	}
	if paste, ok := msg.(tea.PasteMsg); ok && m.tt != nil && m.tt.editing {
		m.tt.note.Insert(paste.Content)
	}
	return m, nil
}

// fail shows an error screen and remembers the error for the CLI.
func (m *Model) fail(err error) (tea.Model, tea.Cmd) {
	m.err, m.screen = err, screenError
	m.gen++
	return m, nil
}

func (m *Model) quit() (tea.Model, tea.Cmd) {
	m.cancel()
	return m, tea.Quit
}

// onKey dispatches a key press to the current screen. ctrl+c always quits.
func (m *Model) onKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	if msg.String() == "ctrl+c" {
		return m.quit()
	}
	if m.tt != nil && m.tt.editing {
		return m.onNoteKey(msg)
	}
	if key.Matches(msg, m.keys.Help) {
		m.help.ShowAll = !m.help.ShowAll
		return m, nil
	}
	switch m.screen {
	case screenPicker:
		return m.onPickerKey(msg)
	case screenDrill:
		if m.tt != nil && m.tt.pending != nil {
			if mm, cmd, ok := m.onPromptKey(msg); ok {
				return mm, cmd
			}
		}
		return m.onDrillKey(msg)
	case screenResults:
		switch {
		case key.Matches(msg, m.keys.Quit):
			return m.quit()
		case key.Matches(msg, m.keys.Timeline) && m.result != nil:
			m.tt = nil
			return m, m.openFile(m.result)
		case key.Matches(msg, m.keys.Back) && m.fromPicker:
			m.toPicker()
		}
	case screenLoading, screenError:
		switch {
		case key.Matches(msg, m.keys.Quit):
			return m.quit()
		case key.Matches(msg, m.keys.Back) && m.screen == screenError:
			m.toPicker()
		}
	}
	return m, nil
}

// toPicker leaves a drill for the picker; its frame ticks stop.
func (m *Model) toPicker() {
	m.gen++
	m.screen, m.drill, m.tt, m.err = screenPicker, nil, nil, nil
}

// startDrill runs sc to completion in a command, with a spinner meanwhile:
// a whole drill takes about a second, after which it is played back.
func (m *Model) startDrill(sc *scenarios.Scenario) tea.Cmd {
	m.screen = screenLoading
	m.loading = fmt.Sprintf("simulating %s of %s (seed %d)…", humanDur(sc.Duration), sc.ID, m.opts.Seed)
	ctx, run, seed := m.ctx, m.opts.Run, m.opts.Seed
	return tea.Batch(m.spin.Tick, func() tea.Msg {
		res, err := run(ctx, sc, runner.Options{Seed: seed, Playbook: m.opts.Playbook})
		if err != nil {
			return drillLoadedMsg{err: fmt.Errorf("running %s (seed %d): %w", sc.ID, seed, err)}
		}
		return drillLoadedMsg{file: replay.FromResult(res)}
	})
}

// openFile plays a recorded drill from the start.
func (m *Model) openFile(f *replay.File) tea.Cmd {
	d := newDrillView(f.Events, f.ScoreInput(), *m.opts.Speed)
	d.final = f.Scorecard
	d.title = f.Scenario
	if f.Kind == replay.KindTabletop {
		d.tag = "tabletop replay"
	} else if m.opts.Replay == f {
		d.tag = "replay"
	}
	m.drill = d
	m.drill.rescore()
	m.screen = screenDrill
	return m.tick()
}

// tick schedules the next frame of the current view.
func (m *Model) tick() tea.Cmd {
	gen := m.gen
	return tea.Tick(frameInterval, func(time.Time) tea.Msg { return frameMsg{gen: gen} })
}

// frame advances playback by one frame; in a tabletop it first takes the
// events the drill appended since the last frame, so a burst of events
// costs one redraw.
func (m *Model) frame() {
	if m.tt != nil && m.tt.running {
		m.drill.pb.Append(m.tt.bridge.drain())
	}
	m.drill.pb.Advance(frameInterval)
	m.drill.sync()
}

// View renders the current screen.
func (m *Model) View() tea.View {
	v := tea.NewView(m.render())
	v.AltScreen = true
	v.WindowTitle = "firedrill"
	return v
}

func (m *Model) render() string {
	w, h := m.width, m.height
	helpView := m.help.View(m.helpKeys())
	helpH := strings.Count(helpView, "\n") + 1
	bodyH := max(h-helpH, 1)
	var body string
	switch m.screen {
	case screenPicker:
		body = m.renderPicker(w, bodyH)
	case screenLoading:
		body = block([]string{stHeader.Render(fit(" firedrill", w)), "", " " + m.spin.View() + " " + m.loading}, w, bodyH)
	case screenDrill:
		body = m.renderDrill(w, bodyH)
	case screenResults:
		body = m.renderResults(w, bodyH)
	case screenError:
		lines := []string{stHeader.Render(fit(" firedrill: error", w)), ""}
		for _, l := range strings.Split(errText(m.err), "\n") {
			lines = append(lines, wrap(" "+l, w)...)
		}
		body = block(lines, w, bodyH)
	}
	return body + "\n" + helpView
}

func errText(err error) string {
	if err == nil {
		return "unknown error"
	}
	var re *replay.Error
	if errors.As(err, &re) {
		return re.Error()
	}
	return err.Error()
}

// helpKeys are the bindings of the current screen, for the help line.
func (m *Model) helpKeys() helpKeys {
	k := m.keys
	switch m.screen {
	case screenPicker:
		return helpKeys{short: []key.Binding{k.Start, k.Tabletop, k.Cloud, k.Tactic, k.Up, k.Down, k.Quit, k.Help},
			full: []key.Binding{k.Start, k.Tabletop, k.Cloud, k.Tactic, k.Up, k.Down, k.PageUp, k.PageDown, k.Quit, k.Help}}
	case screenDrill:
		if m.tt != nil && m.tt.editing {
			return helpKeys{short: []key.Binding{k.SaveNote, k.CancelNote}, full: []key.Binding{k.SaveNote, k.CancelNote}}
		}
		if m.tt != nil && m.tt.pending != nil {
			return helpKeys{short: []key.Binding{k.Yes, k.No, k.Confirm, k.Note, k.Quit, k.Help},
				full: []key.Binding{k.Yes, k.No, k.Up, k.Down, k.Confirm, k.Note, k.Quit, k.Help}}
		}
		if m.tt != nil {
			return helpKeys{short: []key.Binding{k.Up, k.Down, k.Follow, k.Quit, k.Help},
				full: []key.Binding{k.Up, k.Down, k.PageUp, k.PageDown, k.Follow, k.Quit, k.Help}}
		}
		back := k.Back
		back.SetHelp("esc", "scenarios")
		return helpKeys{short: []key.Binding{k.Pause, k.Faster, k.Step, k.First, k.Up, k.Down, k.Follow, k.Quit, k.Help},
			full: []key.Binding{k.Pause, k.Faster, k.Slower, k.Step, k.First, k.Last, k.Up, k.Down, k.PageUp, k.PageDown,
				k.Follow, back, k.Quit, k.Help}}
	case screenResults:
		b := []key.Binding{k.Timeline, k.Quit}
		if m.fromPicker {
			b = append(b, k.Back)
		}
		return helpKeys{short: b, full: b}
	case screenError:
		return helpKeys{short: []key.Binding{k.Back, k.Quit}, full: []key.Binding{k.Back, k.Quit}}
	}
	return helpKeys{short: []key.Binding{k.Quit}, full: []key.Binding{k.Quit}}
}

// hjoin puts equal-height blocks side by side with sep between them.
func hjoin(sep string, blocks ...string) string {
	split := make([][]string, len(blocks))
	n := 0
	for i, b := range blocks {
		split[i] = strings.Split(b, "\n")
		n = max(n, len(split[i]))
	}
	out := make([]string, n)
	for r := range out {
		parts := make([]string, len(blocks))
		for i := range blocks {
			if r < len(split[i]) {
				parts[i] = split[i][r]
			}
		}
		out[r] = strings.Join(parts, sep)
	}
	return strings.Join(out, "\n")
}
