package tui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/firedrill-ir/firedrill/scoring"
	"github.com/firedrill-ir/firedrill/timeline"
)

// drillView is the state of the drill view: the playback position, the
// selected event and the scoreboard computed for the position.
type drillView struct {
	pb Playback
	// base is the scoring input without events; the scoreboard scores the
	// events up to the playback position with it.
	base scoring.ScoreInput
	// final is the drill's scorecard once the drill has finished; at the
	// end of playback the scoreboard shows it, so the numbers are those of
	// 'firedrill run --output json'.
	final *scoring.Scorecard
	card  *scoring.Scorecard
	// cardN and cardFinal say what card was computed for.
	cardN     int
	cardFinal bool

	title, tag string
	// cursor is the selected event (index into pb.Events); follow keeps
	// it on the newest visible event, and scrolling turns follow off.
	cursor int
	follow bool
	top    int
}

func newDrillView(events []timeline.Event, base scoring.ScoreInput, speed float64) *drillView {
	base.Events = nil
	d := &drillView{pb: newPlayback(events, base.StartedAt, base.EndedAt, speed), base: base, follow: true, cardN: -1}
	d.sync()
	return d
}

// sync keeps the selection and the scoreboard in step with the position.
func (d *drillView) sync() {
	n := d.pb.Visible()
	if d.follow || d.cursor >= n {
		d.cursor = max(n-1, 0)
	}
	d.rescore()
}

// rescore recomputes the scoreboard when the visible events changed. The
// scoreboard is derived state: scoring.Score over the events shown, never
// counters kept by the view.
func (d *drillView) rescore() {
	n := d.pb.Visible()
	final := d.final != nil && n == len(d.pb.Events) && d.pb.AtEnd()
	if d.card != nil && n == d.cardN && final == d.cardFinal {
		return
	}
	d.cardN, d.cardFinal = n, final
	if final {
		d.card = d.final
		return
	}
	in := d.base
	in.Events = d.pb.Events[:n]
	in.EndedAt = d.pb.Now()
	d.card = scoring.Score(in)
}

// move changes the selection by delta events; the user scrolled, so
// follow mode pauses until f.
func (d *drillView) move(delta int) {
	n := d.pb.Visible()
	if n == 0 {
		return
	}
	d.follow = false
	d.cursor = min(max(d.cursor+delta, 0), n-1)
}

func (m *Model) onDrillKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	d, k := m.drill, m.keys
	live := m.tt != nil && m.tt.running
	switch {
	case key.Matches(msg, k.Quit):
		return m.quit()
	case key.Matches(msg, k.Back) && !live:
		if m.result != nil && m.tt == nil {
			m.gen++
			m.screen = screenResults
			return m, nil
		}
		m.toPicker()
		return m, nil
	case key.Matches(msg, k.Up):
		d.move(-1)
	case key.Matches(msg, k.Down):
		d.move(1)
	case key.Matches(msg, k.PageUp):
		d.move(-10)
	case key.Matches(msg, k.PageDown):
		d.move(10)
	case key.Matches(msg, k.Follow):
		d.follow = true
	case live:
		// Playback controls do not apply to a drill still running.
		return m, nil
	case key.Matches(msg, k.Pause):
		if d.pb.AtEnd() {
			d.pb.JumpStart()
		}
		d.pb.Paused = !d.pb.Paused
	case key.Matches(msg, k.Faster):
		d.pb.Faster()
	case key.Matches(msg, k.Slower):
		d.pb.Slower()
	case key.Matches(msg, k.Step):
		d.pb.StepNext()
	case key.Matches(msg, k.First):
		d.pb.JumpStart()
	case key.Matches(msg, k.Last):
		d.pb.JumpEnd()
	}
	d.sync()
	return m, nil
}

// renderDrill lays the drill view out: lanes, scoreboard and the detail
// pane (or, in a tabletop, the pending question). From 100 columns the
// scoreboard gets its own column; below, it shares the bottom row with the
// detail pane.
func (m *Model) renderDrill(w, h int) string {
	d := m.drill
	header := stHeader.Render(fit(m.drillHeader(), w))
	h--
	pending := m.tt != nil && m.tt.pending != nil
	if w >= 100 {
		right := 36
		left := w - right - 1
		bottomH := min(8, max(h/3, 4))
		if pending {
			bottomH = min(12, max(h/2, 6))
		}
		lanesH := max(h-bottomH, 2)
		bottom := m.renderDetail(left, bottomH)
		if pending {
			bottom = m.renderPrompt(left, bottomH)
		}
		leftCol := m.renderLanes(left, lanesH) + "\n" + bottom
		return header + "\n" + hjoin(" ", leftCol, renderScoreboard(d, right, lanesH+bottomH))
	}
	bottomH := min(11, max(h/2, 4))
	if pending {
		bottomH = min(12, max(h/2, 6))
	}
	lanesH := max(h-bottomH, 2)
	var bottom string
	if pending {
		bottom = m.renderPrompt(w, bottomH)
	} else {
		half := w / 2
		bottom = hjoin(" ", renderScoreboard(d, half, bottomH), m.renderDetail(w-half-1, bottomH))
	}
	return header + "\n" + m.renderLanes(w, lanesH) + "\n" + bottom
}

// drillHeader is the status line: what is playing, where and how fast.
func (m *Model) drillHeader() string {
	d := m.drill
	state := "▶ " + speedLabel(d.pb.Speed)
	switch {
	case m.tt != nil && m.tt.running && m.tt.pending != nil:
		state = "waiting for the team"
	case m.tt != nil && m.tt.running:
		state = "live"
	case d.pb.AtEnd():
		state = "■ end"
	case d.pb.Paused:
		state = "❚❚ paused"
	}
	follow := "follow"
	if !d.follow {
		follow = "follow off (f)"
	}
	tag := ""
	if d.tag != "" {
		tag = " [" + d.tag + "]"
	}
	return fmt.Sprintf(" %s%s · %s / %s · %s · %s · seed %d", d.title, tag,
		offset(d.pb.Now(), d.pb.Start), clockDur(d.pb.Duration()), state, follow, d.base.Seed)
}

// renderLanes draws the visible events, one per row, each in its lane.
func (m *Model) renderLanes(w, h int) string {
	d := m.drill
	const timeW = 10
	laneW := max((w-timeW-laneCount)/laneCount, 1)
	lastW := max(w-timeW-laneCount-laneW*(laneCount-1), 1)
	widthOf := func(l int) int {
		if l == laneCount-1 {
			return lastW
		}
		return laneW
	}
	title := fit(" TIME", timeW)
	for l := range laneCount {
		title += "│" + fit(" "+laneTitles[l], widthOf(l))
	}
	lines := []string{stTitle.Render(fit(title, w))}
	rows := h - 1
	n := d.pb.Visible()
	// Keep the selection on screen; when following, the newest event sits
	// at the bottom.
	if d.follow {
		d.top = max(n-rows, 0)
	}
	if d.cursor < d.top {
		d.top = d.cursor
	}
	if d.cursor >= d.top+rows {
		d.top = d.cursor - rows + 1
	}
	d.top = max(min(d.top, n-rows), 0)
	if n == 0 {
		lines = append(lines, stDim.Render(" (nothing yet)"))
	}
	for i := d.top; i < min(d.top+rows, n); i++ {
		e := d.pb.Events[i]
		lane := laneOf(e)
		lbl := label(e)
		if i == d.cursor {
			row := fit(" "+offset(e.At, d.pb.Start), timeW)
			for l := range laneCount {
				cell := ""
				if l == lane {
					cell = " " + lbl
				}
				row += "│" + fit(cell, widthOf(l))
			}
			lines = append(lines, stSelected.Render(fit(row, w)))
			continue
		}
		row := stDim.Render(fit(" "+offset(e.At, d.pb.Start), timeW))
		for l := range laneCount {
			cell := fit("", widthOf(l))
			if l == lane {
				st := stLane[l]
				if e.Outcome == timeline.Denied || e.Outcome == timeline.Failed || e.Kind == timeline.StepError {
					st = stBad
				}
				if e.Kind == timeline.Alert || e.Kind == timeline.Contained {
					st = st.Bold(true)
				}
				cell = st.Render(fit(" "+lbl, widthOf(l)))
			}
			row += stDim.Render("│") + cell
		}
		lines = append(lines, row)
	}
	return block(lines, w, h)
}

// renderDetail describes the selected event.
func (m *Model) renderDetail(w, h int) string {
	d := m.drill
	lines := []string{stTitle.Render(fit(" EVENT", w))}
	if n := d.pb.Visible(); n > 0 && d.cursor < n {
		for _, l := range detailLines(d.pb.Events[d.cursor], d.pb.Start) {
			for _, wl := range wrap(l, w-1) {
				lines = append(lines, " "+wl)
			}
		}
	}
	return block(lines, w, h)
}

// verdictWords are the scoreboard's short verdicts.
var verdictWords = map[string]string{scoring.VerdictNotContained: "not contained",
	scoring.VerdictContainedNotEradicated: "not eradicated", scoring.VerdictSLOMissed: "SLO missed"}

// openPaths names the kinds of way in still open ("stolen_credential x1").
func openPaths(c scoring.Containment) string {
	return countKinds(len(c.Paths), func(i int) (string, bool) { return c.Paths[i].Kind, c.Paths[i].Status != scoring.PathCut })
}

// leftItems names the kinds of planted thing still there ("vm x3").
func leftItems(e scoring.Eradication) string {
	return countKinds(len(e.Items), func(i int) (string, bool) { return e.Items[i].Kind, e.Items[i].Status != scoring.ItemRemoved })
}

// countKinds counts the selected of n things by kind, in first-seen order:
// "vm x3, access_key x1".
func countKinds(n int, pick func(i int) (kind string, ok bool)) string {
	var order []string
	count := map[string]int{}
	for i := 0; i < n; i++ {
		if k, ok := pick(i); ok {
			if count[k] == 0 {
				order = append(order, k)
			}
			count[k]++
		}
	}
	parts := make([]string, len(order))
	for i, k := range order {
		parts[i] = fmt.Sprintf("%s x%d", k, count[k])
	}
	return strings.Join(parts, ", ")
}

// eradicationState is the scoreboard's line on what the attacker planted.
func eradicationState(e scoring.Eradication, final bool) string {
	left := 0
	for _, it := range e.Items {
		if it.Status != scoring.ItemRemoved {
			left++
		}
	}
	cost := ""
	if e.CostUSD > 0 {
		cost = fmt.Sprintf(" · $%.2f", e.CostUSD)
	}
	switch {
	case !e.Checked && final:
		return stBad.Render("not checked")
	case !e.Checked:
		return "check at end"
	case !e.InScope:
		return fmt.Sprintf("out of scope · %d left%s", left, cost)
	case e.Verified:
		return stGood.Render("verified") + cost
	}
	return stBad.Render(fmt.Sprintf("%d of %d left", left, len(e.Items))) + cost
}

// renderScoreboard shows the scorecard of the events up to the position:
// it fills in as playback advances and, at the end, is the drill's own.
func renderScoreboard(d *drillView, w, h int) string {
	c := d.card
	state := "so far"
	if d.cardFinal {
		state = "final"
	}
	lines := []string{stTitle.Render(fit(" SCOREBOARD · "+state, w))}
	if c == nil {
		return block(lines, w, h)
	}
	row := func(k, v string) { lines = append(lines, " "+fit(k, 9)+" "+v) }
	row("score", fmt.Sprintf("%d/100 %s", c.Score, c.Outcome))
	if d.cardFinal {
		verdict := stGood.Render("PASS")
		if !c.Pass {
			verdict = stBad.Render("FAIL: " + verdictWords[c.Verdict])
		}
		row("verdict", verdict)
	}
	row("MTTD", secs(c.Metrics.MTTDSeconds))
	row("MTTA", secs(c.Metrics.MTTASeconds))
	row("MTTC", secs(c.Metrics.MTTCSeconds))
	// Attack to containment is the one line that gives way on a small
	// terminal: the SLO metrics and the controls matter more.
	open, left := "", ""
	if d.cardFinal {
		open = openPaths(c.Containment)
		if c.Eradication.InScope {
			left = leftItems(c.Eradication)
		}
	}
	extra := 0
	if d.cardFinal {
		extra++ // the verdict
	}
	for _, s := range []string{open, left} {
		if s != "" {
			extra++
		}
	}
	roomy := h-1 >= 8+extra+len(c.Controls)
	if roomy {
		row("atk→cont", secs(c.Metrics.AttackToContainmentSeconds))
	}
	switch {
	case c.Containment.Verified:
		row("contain", stGood.Render("verified"))
	case !c.Containment.Checked && c.Containment.DeclaredAt != nil:
		row("contain", stWarn.Render("declared, check at end"))
	case !c.Containment.Checked:
		row("contain", "not yet")
	default:
		why := "not verified"
		if len(c.Containment.Reasons) > 0 {
			why += ": " + c.Containment.Reasons[0]
		}
		row("contain", stBad.Render(why))
	}
	if open != "" {
		row("", stBad.Render(fit("open: "+open, w-11)))
	}
	row("eradic.", eradicationState(c.Eradication, d.cardFinal))
	if left != "" {
		row("", stBad.Render(fit("left: "+left, w-11)))
	}
	saved, lost := 0, 0
	for _, e := range c.Evidence {
		if e.BeforeLoss {
			saved++
		} else {
			lost++
		}
	}
	ev := fmt.Sprintf("%d saved · %d lost", saved, lost)
	if lost > 0 {
		ev = fmt.Sprintf("%d saved · %s", saved, stBad.Render(fmt.Sprintf("%d lost", lost)))
	}
	row("evidence", ev)
	first := map[string]string{}
	for _, det := range c.Detections {
		first[det.Control] = offset(det.At, d.pb.Start)
	}
	if roomy {
		for _, ctl := range c.Controls {
			at := first[ctl.Control]
			if at == "" {
				at = "-"
			}
			lines = append(lines, " "+fit(ctl.Control, 12)+" "+fit(at, 10)+" "+ctl.Outcome)
		}
		return block(lines, w, h)
	}
	// Short of rows: the controls share lines.
	cur := ""
	for _, ctl := range c.Controls {
		item := ctl.Control + " " + ctl.Outcome
		if cur != "" && len([]rune(cur))+3+len([]rune(item)) > w-1 {
			lines = append(lines, " "+cur)
			cur = ""
		}
		if cur != "" {
			cur += " · "
		}
		cur += item
	}
	if cur != "" {
		lines = append(lines, " "+cur)
	}
	return block(lines, w, h)
}
