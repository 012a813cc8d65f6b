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
// evidence and containment graph in waves, the decision tree, then the
// investigation queries and the remediation checks.
func Plan(pb *Playbook) []PlannedStep {
	var out []PlannedStep
	var graph, queries, checks []*Step
	for i := range pb.Evidence {
		graph = append(graph, &pb.Evidence[i])
	}
	for i := range pb.Containment {
		graph = append(graph, &pb.Containment[i])
	}
	for i := range pb.Investigation {
		for j := range pb.Investigation[i].Queries {
			queries = append(queries, &pb.Investigation[i].Queries[j])
		}
	}
	for i := range pb.Remediation {
		if c := pb.Remediation[i].Check; c != nil {
			checks = append(checks, c)
		}
	}
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
	add(graph)
	for _, d := range pb.Decisions {
		out = append(out, PlannedStep{Phase: PhaseDecision, ID: d.ID, Action: "decide", Question: d.Question,
			Predicate: d.Predicate, Yes: d.Yes, No: d.No})
	}
	add(queries)
	add(checks)
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

// WritePlan prints a plan for terminals (firedrill run --dry-run).
func WritePlan(w io.Writer, pb *Playbook) error {
	if _, err := fmt.Fprintf(w, "playbook %s: %s (severity %s, clouds %s)\n", pb.ID, pb.Title, pb.Severity, strings.Join(pb.Clouds, ",")); err != nil {
		return fmt.Errorf("writing plan: %w", err)
	}
	for _, p := range Plan(pb) {
		var line string
		if p.Phase == PhaseDecision {
			line = fmt.Sprintf("   decide %-22s %s  [%s]  yes -> %s, no -> %s", p.ID, p.Question, p.Predicate, p.Yes, p.No)
		} else {
			mut := "read"
			if p.Mutates {
				mut = "CHANGE"
			}
			line = fmt.Sprintf("%3d %-13s %-24s %-22s %-6s timeout %s", p.Order, p.Phase, p.ID, p.Action, mut, p.Timeout)
			if p.Retries > 0 {
				line += fmt.Sprintf(" retries %d", p.Retries)
			}
			if len(p.Needs) > 0 {
				line += " needs " + strings.Join(p.Needs, ",")
			}
			if len(p.After) > 0 {
				line += " after " + strings.Join(p.After, ",")
			}
			if len(p.When) > 0 {
				line += " when " + strings.Join(p.When, "|")
			}
			// (PlannedStep's fields are mirrored by the CLI's JSON view,
			// so the step's clouds are read from the playbook here.)
			for _, s := range pb.Steps() {
				if s.ID == p.ID && len(s.Clouds) > 0 {
					line += " on " + strings.Join(s.Clouds, ",")
				}
			}
		}
		if _, err := fmt.Fprintln(w, line); err != nil {
			return fmt.Errorf("writing plan: %w", err)
		}
	}
	return nil
}

// mutates reports whether an action changes the cloud.
func mutates(name string) bool {
	a, _ := action.Lookup(name)
	return a.Mutates
}
