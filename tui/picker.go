package tui

import (
	"fmt"
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/firedrill-ir/firedrill/responder"
	"github.com/firedrill-ir/firedrill/scenarios"
)

// picker is the scenario list with its cloud and tactic filters.
type picker struct {
	all     []*scenarios.Scenario
	tactics [][]string // tactics of all[i]
	// clouds and tacticList are the filter values; index 0 is "all".
	clouds     []string
	tacticList []string
	cloud      int
	tactic     int
	cursor     int
	detailTop  int
}

func newPicker(all []*scenarios.Scenario) picker {
	p := picker{all: all, clouds: []string{"all"}, tacticList: []string{"all"}}
	seenTactic := map[string]bool{}
	for _, sc := range all {
		ts := tacticsOf(sc.ATTACKIDs())
		p.tactics = append(p.tactics, ts)
		for _, c := range sc.Clouds {
			if !slices.Contains(p.clouds, c) {
				p.clouds = append(p.clouds, c)
			}
		}
		for _, t := range ts {
			seenTactic[t] = true
		}
	}
	slices.Sort(p.clouds[1:])
	for _, t := range tacticOrder {
		if seenTactic[t] {
			p.tacticList = append(p.tacticList, t)
		}
	}
	return p
}

// visible returns the indexes into all that pass the filters.
func (p *picker) visible() []int {
	var out []int
	for i, sc := range p.all {
		if p.cloud > 0 && !slices.Contains(sc.Clouds, p.clouds[p.cloud]) {
			continue
		}
		if p.tactic > 0 && !hasTactic(p.tactics[i], p.tacticList[p.tactic]) {
			continue
		}
		out = append(out, i)
	}
	return out
}

// selected is the scenario under the cursor, nil when the filters match none.
func (p *picker) selected() *scenarios.Scenario {
	v := p.visible()
	if len(v) == 0 {
		return nil
	}
	return p.all[v[min(p.cursor, len(v)-1)]]
}

func (m *Model) onPickerKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	p, k := &m.pick, m.keys
	n := len(p.visible())
	switch {
	case key.Matches(msg, k.Quit):
		return m.quit()
	case key.Matches(msg, k.Up):
		p.cursor, p.detailTop = max(p.cursor-1, 0), 0
	case key.Matches(msg, k.Down):
		p.cursor, p.detailTop = max(min(p.cursor+1, n-1), 0), 0
	case key.Matches(msg, k.PageDown):
		p.detailTop += 5
	case key.Matches(msg, k.PageUp):
		p.detailTop = max(p.detailTop-5, 0)
	case key.Matches(msg, k.Cloud):
		p.cloud = (p.cloud + 1) % len(p.clouds)
		p.cursor, p.detailTop = 0, 0
	case key.Matches(msg, k.Tactic):
		p.tactic = (p.tactic + 1) % len(p.tacticList)
		p.cursor, p.detailTop = 0, 0
	case key.Matches(msg, k.Start):
		if sc := p.selected(); sc != nil {
			m.fromPicker = true
			return m, m.startDrill(sc)
		}
	case key.Matches(msg, k.Tabletop):
		if sc := p.selected(); sc != nil {
			m.fromPicker = true
			return m, m.startTabletop(sc)
		}
	}
	return m, nil
}

// renderPicker draws the list on the left and the selected scenario with
// its playbook on the right.
func (m *Model) renderPicker(w, h int) string {
	p := &m.pick
	header := stHeader.Render(fit(fmt.Sprintf(" firedrill · scenarios · cloud: %s · tactic: %s · seed %d",
		p.clouds[p.cloud], p.tacticList[p.tactic], m.opts.Seed), w))
	h--
	// Wide enough for the longest id where the terminal allows it.
	longest := 0
	for _, sc := range p.all {
		longest = max(longest, len(sc.ID))
	}
	listW := min(max(w/3, 24), max(34, longest+2))
	detailW := w - listW - 1
	vis := p.visible()
	var list []string
	list = append(list, stTitle.Render(fit(fmt.Sprintf(" %d of %d", len(vis), len(p.all)), listW)))
	if len(vis) == 0 {
		list = append(list, " no scenario matches", " (c / a change filters)")
	}
	top := max(p.cursor-(h-2), 0)
	for i := top; i < len(vis); i++ {
		sc := p.all[vis[i]]
		line := fit(" "+sc.ID, listW)
		if i == p.cursor {
			line = stSelected.Render(line)
		}
		list = append(list, line)
	}
	var detail []string
	if sc := p.selected(); sc != nil {
		for _, l := range scenarioDetail(sc) {
			detail = append(detail, wrap(l, detailW-1)...)
		}
	}
	if p.detailTop >= len(detail) {
		p.detailTop = max(len(detail)-1, 0)
	}
	detail = detail[p.detailTop:]
	for i := range detail {
		detail[i] = " " + detail[i]
	}
	return header + "\n" + hjoin(stDim.Render("│"), block(list, listW, h), block(detail, detailW, h))
}

// scenarioDetail describes a scenario and the playbook that answers it:
// the attack, the detectors and SLO, then the playbook's evidence steps,
// decision tree and containment.
func scenarioDetail(sc *scenarios.Scenario) []string {
	out := []string{stTitle.Render(sc.Title),
		fmt.Sprintf("%s · %s · %s of incident", sc.ID, strings.Join(sc.Clouds, ","), humanDur(sc.Duration))}
	if sc.Description != "" {
		out = append(out, strings.Join(strings.Fields(sc.Description), " "))
	}
	out = append(out, "", stTitle.Render("ATT&CK"))
	for _, t := range sc.Techniques {
		out = append(out, fmt.Sprintf("  %s %s — %s", t.ID, t.Name, strings.Join(tacticsOf([]string{t.ID}), ", ")))
	}
	out = append(out, "", stTitle.Render("ATTACK STEPS"))
	for _, s := range sc.Steps {
		when := ""
		switch {
		case s.At != nil:
			when = "at T+" + clockDur(*s.At)
		case s.After != "":
			when = "after " + s.After
		case s.When != "":
			when = "on " + s.When
		}
		if s.Delay > 0 {
			when += " +" + humanDur(s.Delay)
		}
		out = append(out, fmt.Sprintf("  %s  %s  %s", s.ID, s.Technique, when))
	}
	var det []string
	for _, spec := range sc.Detectors.On() {
		det = append(det, spec.Control)
	}
	slo := sc.Expect.SLO.Profile
	if slo == "" {
		slo = "1-10-60"
	}
	out = append(out, "", "detectors: "+strings.Join(det, ", "), "SLO: "+slo)
	pb, ok := responder.PlaybookByID(sc.Expect.Playbook)
	if !ok {
		return append(out, "", fmt.Sprintf("playbook %q is not built in", sc.Expect.Playbook))
	}
	return append(out, playbookDetail(pb)...)
}

// playbookDetail lists a playbook's steps and its decision tree.
func playbookDetail(pb *responder.Playbook) []string {
	out := []string{"", stTitle.Render("PLAYBOOK " + pb.ID), pb.Title}
	var ev []string
	for _, s := range pb.Evidence {
		ev = append(ev, s.ID)
	}
	out = append(out, "evidence: "+strings.Join(ev, ", "))
	if len(pb.Decisions) > 0 {
		out = append(out, "decision tree:")
		for _, n := range pb.Decisions {
			out = append(out, fmt.Sprintf("  %s: %s", n.ID, n.Question),
				"    predicate: "+n.Predicate,
				fmt.Sprintf("    yes → %s · no → %s", n.Yes, n.No))
		}
		for _, o := range pb.Outcomes {
			out = append(out, fmt.Sprintf("  outcome %s: %s", o.ID, o.Description))
		}
	}
	var co []string
	for _, s := range pb.Containment {
		c := s.ID
		if len(s.When) > 0 {
			c += " [when " + strings.Join(s.When, "|") + "]"
		}
		co = append(co, c)
	}
	out = append(out, "containment: "+strings.Join(co, ", "))
	var rem []string
	for _, r := range pb.Remediation {
		rem = append(rem, r.ID+" ("+r.Owner+")")
	}
	if len(rem) > 0 {
		out = append(out, "remediation: "+strings.Join(rem, ", "))
	}
	return out
}
