package responder

import (
	"fmt"
	"io"
	"strings"

	"github.com/firedrill-ir/firedrill/responder/action"
)

// PhaseDecision marks decision-tree entries of a plan.
const PhaseDecision = "decision"

// PlannedStep is one line of a dry-run plan: a step, or a decision node.
type PlannedStep struct {
	// Order is the step's wave: 1 for steps with no dependencies, n+1 for
	// steps whose deepest dependency is in wave n. Steps of one wave run in
	// parallel. Investigation and remediation waves follow containment.
	Order   int
	Phase   string
	ID      string
	Action  string
	Mutates bool
	Needs   []string
	After   []string
	When    []string
	Timeout string
	Retries int
	// Decision nodes only.
	Question, Predicate, Yes, No string
}

// Plan lays the playbook out as it would run, touching nothing: the
// evidence and containment graph in waves, the decision tree, then
// eradication, the investigation queries and the remediation checks.
func Plan(pb *Playbook) []PlannedStep {
	var out []PlannedStep
	offset := 0
	add := func(steps []*Step) {
		waves := waves(steps)
		maxWave := 0
		for w := 1; ; w++ {
			found := false
			for _, s := range steps {
				if waves[s.ID] != w {
					continue
				}
				found = true
				timeout := s.Timeout.D()
				if timeout <= 0 {
					timeout = DefaultStepTimeout
				}
				out = append(out, PlannedStep{Order: offset + w, Phase: s.Phase, ID: s.ID, Action: s.Action,
					Mutates: mutates(s.Action), Needs: s.Needs, After: s.After, When: s.When,
					Timeout: timeout.String(), Retries: s.Retries})
				maxWave = w
			}
			if !found {
				break
			}
		}
		offset += maxWave
	}
	for _, st := range pb.stages() {
		add(st.steps)
		if st.decide {
			for _, d := range pb.Decisions {
				out = append(out, PlannedStep{Phase: PhaseDecision, ID: d.ID, Action: "decide", Question: d.Question,
					Predicate: d.Predicate, Yes: d.Yes, No: d.No})
			}
		}
	}
	return out
}

// waves computes each step's wave (longest dependency chain + 1).
func waves(steps []*Step) map[string]int {
	byID := map[string]*Step{}
	for _, s := range steps {
		byID[s.ID] = s
	}
	w := map[string]int{}
	var depth func(id string, guard int) int
	depth = func(id string, guard int) int {
		if v, ok := w[id]; ok {
			return v
		}
		s, ok := byID[id]
		if !ok || guard > len(steps) {
			return 0
		}
		d := 1
		for _, n := range append(append([]string(nil), s.Needs...), s.After...) {
			if v := depth(n, guard+1) + 1; v > d {
				d = v
			}
		}
		w[id] = d
		return d
	}
	for _, s := range steps {
		depth(s.ID, 0)
	}
	return w
}

// WritePlan prints a plan for terminals (firedrill run --dry-run), in 100
// columns: one line per step (wave, phase, step, action, whether it
// changes the cloud), its timing and dependencies on the lines below.
func WritePlan(w io.Writer, pb *Playbook) error {
	if _, err := fmt.Fprintf(w, "playbook %s: %s (severity %s, clouds %s)\n", pb.ID, pb.Title, pb.Severity, strings.Join(pb.Clouds, ",")); err != nil {
		return fmt.Errorf("writing plan: %w", err)
	}
	clouds := map[string][]string{}
	for _, s := range pb.Steps() {
		clouds[s.ID] = s.Clouds
	}
	for _, p := range Plan(pb) {
		var lines []string
		if p.Phase == PhaseDecision {
			lines = append(lines, fmt.Sprintf("   decide %s: %s", p.ID, p.Question))
			lines = append(lines, wrap("      yes -> "+p.Yes+", no -> "+p.No+"  ["+p.Predicate+"]", 100, "        ")...)
		} else {
			mut := "read"
			if p.Mutates {
				mut = "CHANGE"
			}
			lines = append(lines, fmt.Sprintf("%3d %-13s %-26s %-26s %s", p.Order, p.Phase, p.ID, p.Action, mut))
			detail := []string{"timeout " + p.Timeout}
			if p.Retries > 0 {
				detail = append(detail, fmt.Sprintf("retries %d", p.Retries))
			}
			for _, d := range []struct {
				name string
				ids  []string
			}{{"needs", p.Needs}, {"after", p.After}, {"when", p.When}, {"on", clouds[p.ID]}} {
				if len(d.ids) > 0 {
					detail = append(detail, d.name+" "+strings.Join(d.ids, ","))
				}
			}
			lines = append(lines, wrap("      "+strings.Join(detail, "; "), 100, "        ")...)
		}
		for _, l := range lines {
			if _, err := fmt.Fprintln(w, l); err != nil {
				return fmt.Errorf("writing plan: %w", err)
			}
		}
	}
	return nil
}

// wrap breaks s at spaces so no line passes width, indenting the
// continuation lines.
func wrap(s string, width int, indent string) []string {
	var out []string
	for len(s) > width {
		cut := strings.LastIndex(s[:width], " ")
		if cut <= len(indent) {
			cut = width
		}
		out = append(out, s[:cut])
		s = indent + strings.TrimLeft(s[cut:], " ")
	}
	return append(out, s)
}

// mutates reports whether an action changes the cloud.
func mutates(name string) bool {
	a, _ := action.Lookup(name)
	return a.Mutates
}
