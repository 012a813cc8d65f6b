package tui

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"sync"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/firedrill-ir/firedrill/replay"
	"github.com/firedrill-ir/firedrill/responder"
	"github.com/firedrill-ir/firedrill/scenarios"
	"github.com/firedrill-ir/firedrill/scenarios/runner"
	"github.com/firedrill-ir/firedrill/scoring"
	"github.com/firedrill-ir/firedrill/timeline"
)

// bridge connects a drill running in the background to the TUI. It is the
// drill's responder.Decider: Decide hands the question to the TUI and
// blocks until the team answers. The deciding actor holds the virtual
// clock's baton meanwhile, so the drill's time stands still while the team
// thinks. It also buffers the drill's events (OnEvent) for the next frame,
// so a burst of events is one redraw.
type bridge struct {
	mu     sync.Mutex
	events []timeline.Event
	asks   chan *pendingDecision
	done   chan struct{} // closed when the drill has finished
}

func newBridge() *bridge {
	return &bridge{asks: make(chan *pendingDecision), done: make(chan struct{})}
}

// push is the drill's OnEvent: it must not block the actor appending.
func (b *bridge) push(e timeline.Event) {
	b.mu.Lock()
	b.events = append(b.events, e)
	b.mu.Unlock()
}

// drain takes the events buffered since the last call.
func (b *bridge) drain() []timeline.Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.events
	b.events = nil
	return out
}

// pendingDecision is a question waiting for the team.
type pendingDecision struct {
	req responder.DecisionRequest
	// automated is what the playbook's predicate answers ("yes", "no" or
	// "" with automatedErr).
	automated, automatedErr string
	reply                   chan bool
}

// Decide implements responder.Decider.
func (b *bridge) Decide(ctx context.Context, req responder.DecisionRequest) (bool, error) {
	p := &pendingDecision{req: req, reply: make(chan bool, 1)}
	if req.Automated != nil {
		if ans, err := req.Automated(); err != nil {
			p.automatedErr = err.Error()
		} else {
			p.automated = yesNo(ans)
		}
	}
	select {
	case b.asks <- p:
	case <-ctx.Done():
		return false, fmt.Errorf("asking the team %q: %w", req.Node.Question, ctx.Err())
	}
	select {
	case ans := <-p.reply:
		return ans, nil
	case <-ctx.Done():
		return false, fmt.Errorf("waiting for the team's answer to %q: %w", req.Node.Question, ctx.Err())
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

type (
	// decisionRequestMsg brings a question to the TUI.
	decisionRequestMsg struct{ p *pendingDecision }
	// tabletopDoneMsg is the finished tabletop drill, with the MTTC the
	// same drill reaches when automation decides.
	tabletopDoneMsg struct {
		res         *runner.Result
		err         error
		baseline    *float64
		baselineErr error
	}
)

// waitDecision waits for the next question of the drill, or its end.
func waitDecision(b *bridge) tea.Cmd {
	return func() tea.Msg {
		select {
		case p := <-b.asks:
			return decisionRequestMsg{p: p}
		case <-b.done:
			return nil
		}
	}
}

// tabletop is the state of a tabletop exercise.
type tabletop struct {
	sc      *scenarios.Scenario
	pb      *responder.Playbook
	bridge  *bridge
	running bool

	pending *pendingDecision
	askedAt time.Time
	choice  int // 0 yes, 1 no
	note    noteInput
	editing bool

	decisions []replay.TeamDecision
}

// startTabletop starts the drill live in the background with the team as
// its decider, and shows it as it runs.
func (m *Model) startTabletop(sc *scenarios.Scenario) tea.Cmd {
	pb := m.opts.Playbook
	if pb == nil {
		var ok bool
		if pb, ok = responder.PlaybookByID(sc.Expect.Playbook); !ok {
			m.fail(fmt.Errorf("tabletop of %s: its playbook %q is not built in", sc.ID, sc.Expect.Playbook))
			return nil
		}
	}
	br := newBridge()
	m.tt = &tabletop{sc: sc, pb: pb, bridge: br, running: true}
	m.result = nil
	// The scoring input of the live view comes from the same conversion as
	// any drill's, over a result that grows with the events.
	base := (&runner.Result{Scenario: sc, Seed: m.opts.Seed, Playbooks: []string{pb.ID},
		StartedAt: runner.Start, EndedAt: runner.Start.Add(sc.Duration)}).ScoreInput()
	m.drill = newDrillView(nil, base, *m.opts.Speed)
	m.drill.pb.Live = true
	m.drill.title, m.drill.tag = sc.ID, "tabletop"
	m.screen = screenDrill
	m.gen++
	ctx, run, seed := m.ctx, m.opts.Run, m.opts.Seed
	drill := func() tea.Msg {
		res, err := run(ctx, sc, runner.Options{Seed: seed, Decider: br, OnEvent: br.push, Playbook: m.opts.Playbook})
		close(br.done)
		if err != nil {
			return tabletopDoneMsg{err: fmt.Errorf("tabletop of %s (seed %d): %w", sc.ID, seed, err)}
		}
		msg := tabletopDoneMsg{res: res}
		auto, err := run(ctx, sc, runner.Options{Seed: seed, Playbook: m.opts.Playbook})
		if err != nil {
			msg.baselineErr = fmt.Errorf("automated run of %s (seed %d): %w", sc.ID, seed, err)
		} else {
			msg.baseline = scoring.Score(auto.ScoreInput()).Metrics.MTTCSeconds
		}
		return msg
	}
	return tea.Batch(drill, waitDecision(br), m.tick())
}

func (m *Model) onDecisionRequest(msg decisionRequestMsg) (tea.Model, tea.Cmd) {
	if m.tt == nil {
		return m, nil
	}
	t := m.tt
	t.pending, t.askedAt, t.choice = msg.p, m.opts.Now(), 0
	t.note.Reset()
	// Show everything the drill did up to the question.
	m.drill.pb.Append(t.bridge.drain())
	m.drill.sync()
	return m, nil
}

// onPromptKey handles the keys of a pending question; ok is false for keys
// the drill view should handle (scrolling, quit).
func (m *Model) onPromptKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd, bool) {
	t, k := m.tt, m.keys
	switch {
	case key.Matches(msg, k.Yes):
		t.choice = 0
	case key.Matches(msg, k.No):
		t.choice = 1
	case key.Matches(msg, k.Up), key.Matches(msg, k.Down):
		t.choice = 1 - t.choice
	case key.Matches(msg, k.Note):
		t.editing = true
		return m, nil, true
	case key.Matches(msg, k.Confirm):
		return m, m.answer(t.choice == 0), true
	default:
		return m, nil, false
	}
	return m, nil, true
}

func (m *Model) onNoteKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	t, k := m.tt, m.keys
	switch {
	case key.Matches(msg, k.SaveNote):
		t.editing = false
	case key.Matches(msg, k.CancelNote):
		t.editing = false
		t.note.Reset()
	default:
		t.note.Key(msg)
	}
	return m, nil
}

// noteInput is a one-line text field for the team's note. (bubbles'
// textinput pulls in a clipboard module this build does not carry; a note
// needs typing, backspace and paste, nothing more.)
type noteInput struct{ text []rune }

// noteLimit bounds a note; a note is a reason, not an essay.
const noteLimit = 200

func (n *noteInput) Key(msg tea.KeyPressMsg) {
	switch msg.String() {
	case "backspace":
		if len(n.text) > 0 {
			n.text = n.text[:len(n.text)-1]
		}
	case "ctrl+u":
		n.text = nil
	default:
		n.Insert(msg.Text)
	}
}

// Insert appends printable text (typed or pasted), dropping control
// characters so a paste cannot inject escapes into the view or the file.
func (n *noteInput) Insert(s string) {
	for _, r := range s {
		if len(n.text) >= noteLimit {
			return
		}
		if r == '\n' || r == '\t' {
			r = ' '
		}
		if r >= ' ' && r != 0x7f && !(r >= 0x80 && r < 0xa0) {
			n.text = append(n.text, r)
		}
	}
}

func (n *noteInput) Value() string { return string(n.text) }
func (n *noteInput) Reset()        { n.text = nil }
func (n *noteInput) View() string  { return string(n.text) + "█" }

// answer records the team's answer with its note and wall time, hands it
// to the waiting drill and waits for the next question.
func (m *Model) answer(yes bool) tea.Cmd {
	t := m.tt
	p := t.pending
	n := p.req.Node
	took := m.opts.Now().Sub(t.askedAt)
	t.decisions = append(t.decisions, replay.TeamDecision{Node: n.ID, Question: n.Question, Predicate: n.Predicate,
		Inputs: p.req.Inputs, Yes: n.Yes, No: n.No, Team: yesNo(yes), Automated: p.automated,
		AutomatedError: p.automatedErr, Note: strings.TrimSpace(t.note.Value()),
		WallSeconds: float64(took.Round(time.Millisecond)) / float64(time.Second)})
	t.pending = nil
	t.note.Reset()
	p.reply <- yes
	return waitDecision(t.bridge)
}

// onTabletopDone records the exercise: the drill's timeline (decision
// events annotated with the team's note and time), its scorecard, the
// team's decisions scored against the playbook's, and saves it if asked.
func (m *Model) onTabletopDone(msg tabletopDoneMsg) (tea.Model, tea.Cmd) {
	t := m.tt
	if t == nil {
		return m, nil
	}
	t.running = false
	if msg.err != nil {
		return m.fail(msg.err)
	}
	res := *msg.res
	res.Events = annotateDecisions(res.Events, t.decisions)
	f := replay.FromResult(&res)
	f.Kind = replay.KindTabletop
	ds := append([]replay.TeamDecision(nil), t.decisions...)
	f.Tabletop = &replay.Tabletop{Decisions: ds, Score: replay.ScoreDecisions(ds), AutomatedMTTCSeconds: msg.baseline}
	m.result = f
	m.gen++
	m.screen = screenResults
	if msg.baselineErr != nil {
		m.saveErr = msg.baselineErr
	}
	if path := m.opts.SavePath; path != "" {
		return m, func() tea.Msg { return savedMsg{path: path, err: replay.Write(path, f)} }
	}
	return m, nil
}

// annotateDecisions copies events, adding the team's note and decision
// time to the decision events the team answered. The wall time is a human
// measurement: it goes in the event's detail, never into its timestamp.
func annotateDecisions(events []timeline.Event, ds []replay.TeamDecision) []timeline.Event {
	out := make([]timeline.Event, len(events))
	copy(out, events)
	next := 0
	for i, e := range out {
		if e.Kind != timeline.Decision || e.Detail["decided_by"] != "decider" || next >= len(ds) || ds[next].Node != e.Name {
			continue
		}
		d := maps.Clone(e.Detail)
		d["team_seconds"] = strconv.FormatFloat(ds[next].WallSeconds, 'f', -1, 64)
		d["automation_answer"] = ds[next].Automated
		if ds[next].Note != "" {
			d["team_note"] = ds[next].Note
		}
		out[i].Detail = d
		next++
	}
	return out
}

// renderPrompt shows the pending question: the options and where each
// leads, the facts the predicate reads, and automation's answer.
func (m *Model) renderPrompt(w, h int) string {
	t := m.tt
	p := t.pending
	n := p.req.Node
	lines := []string{stHeader.Render(fit(fmt.Sprintf(" DECISION %d · %s · the drill's clock is paused", len(t.decisions)+1, n.ID), w))}
	add := func(s string) {
		for _, l := range wrap(s, w-1) {
			lines = append(lines, " "+l)
		}
	}
	add(stTitle.Render(n.Question))
	add("facts: " + p.req.Inputs)
	add("predicate: " + n.Predicate)
	auto := p.automated
	if auto == "" {
		auto = "cannot answer (" + p.automatedErr + ")"
	}
	add("automation would answer: " + auto)
	for i, opt := range []struct{ name, next string }{{"1 yes", n.Yes}, {"2 no ", n.No}} {
		line := fmt.Sprintf("%s → %s", opt.name, m.describeTarget(opt.next))
		if i == t.choice {
			lines = append(lines, stSelected.Render(fit(" ▸ "+line, w)))
		} else {
			lines = append(lines, fit("   "+line, w))
		}
	}
	switch {
	case t.editing:
		lines = append(lines, " note: "+t.note.View())
	case t.note.Value() != "":
		add("note: " + t.note.Value() + "  (n to edit)")
	default:
		lines = append(lines, stDim.Render(" n: add a note · enter: answer"))
	}
	return block(lines, w, h)
}

// describeTarget says where an answer leads: the next question, or an
// outcome with what it does and the steps that only run under it.
func (m *Model) describeTarget(id string) string {
	pb := m.tt.pb
	for _, d := range pb.Decisions {
		if d.ID == id {
			return id + ": " + d.Question
		}
	}
	desc := id
	for _, o := range pb.Outcomes {
		if o.ID == id && o.Description != "" {
			desc += ": " + o.Description
		}
	}
	var only []string
	for _, s := range pb.Containment {
		for _, w := range s.When {
			if w == id {
				only = append(only, s.ID)
			}
		}
	}
	if len(only) > 0 {
		desc += " [runs " + strings.Join(only, ", ") + "]"
	}
	return desc
}

// renderResults is the end of a tabletop: the team's decisions beside the
// playbook's, the decision score and time, and the drill's MTTC with the
// team's choices beside automation's.
func (m *Model) renderResults(w, h int) string {
	f := m.result
	lines := []string{stHeader.Render(fit(fmt.Sprintf(" TABLETOP RESULT · %s · seed %d", f.Scenario, f.Seed), w))}
	lines = append(lines, tabletopLines(f)...)
	switch {
	case m.saveErr != nil:
		lines = append(lines, "", stBad.Render(errText(m.saveErr)))
	case m.savedTo != "":
		lines = append(lines, "", "saved to "+m.savedTo+" (firedrill report "+m.savedTo+")")
	}
	var out []string
	for _, l := range lines {
		out = append(out, wrap(l, w)...)
	}
	return block(out, w, h)
}

// tabletopLines is the result summary, shared by the results screen and
// the CLI's report.
func tabletopLines(f *replay.File) []string {
	t := f.Tabletop
	if t == nil {
		return nil
	}
	lines := []string{"", fmt.Sprintf(" %-3s %-14s %-5s %-9s %-9s %s", "#", "NODE", "TEAM", "PLAYBOOK", "TIME", "CREDIT")}
	for i, d := range t.Decisions {
		auto := d.Automated
		if auto == "" {
			auto = "error"
		}
		lines = append(lines, fmt.Sprintf(" %-3d %-14s %-5s %-9s %-9s %g", i+1, d.Node, d.Team, auto,
			strconv.FormatFloat(d.WallSeconds, 'f', 1, 64)+"s", d.Credit))
		if d.Note != "" {
			lines = append(lines, "     note: "+d.Note)
		}
	}
	if len(t.Decisions) == 0 {
		lines = append(lines, " (no decision was asked)")
	}
	s := t.Score
	score := "n/a"
	if s.Percent != nil {
		score = fmt.Sprintf("%d/100 (%g of %g points)", *s.Percent, s.Points, s.Max)
	}
	c := f.Scorecard
	verdict := "FAIL"
	if c.Pass {
		verdict = "PASS"
	}
	lines = append(lines, "",
		" decision score     "+score,
		fmt.Sprintf(" decision time      %ss total · %ss mean", strconv.FormatFloat(s.TotalSeconds, 'f', -1, 64),
			strconv.FormatFloat(s.MeanSeconds, 'f', -1, 64)),
		" MTTC, your choices "+secs(c.Metrics.MTTCSeconds),
		" MTTC, automation   "+secs(t.AutomatedMTTCSeconds),
		fmt.Sprintf(" drill score        %d/100 %s · containment verified: %s · outcome %s", c.Score, verdict,
			yesNo(c.Containment.Verified), c.Outcome))
	return lines
}

// TabletopSummary is the text of a tabletop's result for the CLI: the
// same lines as the results screen, with the scoring formula.
func TabletopSummary(f *replay.File) string {
	if f == nil || f.Tabletop == nil {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "tabletop %s (seed %d, playbook %s)\n", f.Scenario, f.Seed, f.Playbook)
	for _, l := range tabletopLines(f) {
		b.WriteString(strings.TrimRight(l, " ") + "\n")
	}
	b.WriteString("\n" + replay.DecisionFormula + "\n")
	return b.String()
}
