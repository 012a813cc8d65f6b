package responder

import (
	"fmt"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"
)

// MarshalYAML writes the duration as in the playbook ("90s", "10m").
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// MarshalYAML writes a note-only fallback as its note.
func (f Fallback) MarshalYAML() (any, error) {
	if f.Action == "" && len(f.Params) == 0 {
		return f.Note, nil
	}
	type plain Fallback
	return plain(f), nil
}

// MarshalPlaybook renders a playbook as YAML that LoadPlaybook accepts
// unchanged: the fields an author writes, none of the loader's own
// (phases, compiled predicates), empty ones left out.
func MarshalPlaybook(pb *Playbook) ([]byte, error) {
	b, err := yaml.MarshalWithOptions(pb, yaml.OmitEmpty(), yaml.IndentSequence(true))
	if err != nil {
		return nil, fmt.Errorf("encoding playbook %s as YAML: %w", pb.ID, err)
	}
	return b, nil
}

// WithoutContainment is a copy of pb with its containment section removed
// (and every reference to those steps dropped from the others): what a
// drill scores when the responder collects evidence, investigates and
// talks, but contains nothing. Every scenario must fail it; the
// conformance matrix checks that it does.
func WithoutContainment(pb *Playbook) (*Playbook, error) {
	return without(pb, "containment", func(cp *Playbook) []Step {
		gone := cp.Containment
		cp.Containment, cp.Outcomes, cp.Decisions = nil, nil, nil
		// The remediation checks verify containment: nothing to check.
		var rem []RemediationItem
		for _, it := range cp.Remediation {
			if it.Check == nil {
				rem = append(rem, it)
			}
		}
		cp.Remediation = rem
		return gone
	})
}

// WithoutEradication is a copy of pb with its eradication section removed:
// the attacker is cut off but what it planted stays. Every scenario where
// the attacker plants something must end contained_not_eradicated.
func WithoutEradication(pb *Playbook) (*Playbook, error) {
	return without(pb, "eradication", func(cp *Playbook) []Step {
		gone := cp.Eradication
		cp.Eradication = nil
		return gone
	})
}

// WithoutSteps is a copy of pb with the evidence, containment and
// eradication steps of the given ids removed (and every reference to them
// dropped from the others): a naive variant that leaves out one thing the
// playbook does, such as stopping the instance. An id the playbook does
// not have is an error, so a renamed step cannot leave the variant equal
// to the playbook.
func WithoutSteps(pb *Playbook, ids ...string) (*Playbook, error) {
	for _, id := range ids {
		has := func(s Step) bool { return s.ID == id }
		if !slices.ContainsFunc(pb.Evidence, has) && !slices.ContainsFunc(pb.Containment, has) &&
			!slices.ContainsFunc(pb.Eradication, has) {
			return nil, fmt.Errorf("playbook %s has no evidence, containment or eradication step %q to remove", pb.ID, id)
		}
	}
	return without(pb, strings.Join(ids, "-"), func(cp *Playbook) []Step {
		var gone []Step
		keep := func(steps []Step) []Step {
			var out []Step
			for _, s := range steps {
				if slices.Contains(ids, s.ID) {
					gone = append(gone, s)
				} else {
					out = append(out, s)
				}
			}
			return out
		}
		cp.Evidence, cp.Containment, cp.Eradication = keep(cp.Evidence), keep(cp.Containment), keep(cp.Eradication)
		return gone
	})
}

// WithoutParam is a copy of pb whose containment step step is without the
// parameter param, named pb's id plus "-no-<param>": a naive variant that
// does what the playbook does without knowing why the parameter was there.
// A step or parameter the playbook does not have is an error.
func WithoutParam(pb *Playbook, step, param string) (*Playbook, error) {
	b, err := MarshalPlaybook(pb)
	if err != nil {
		return nil, err
	}
	cp, err := LoadPlaybook(pb.File, b)
	if err != nil {
		return nil, fmt.Errorf("copying playbook %s: %w", pb.ID, err)
	}
	for i, st := range cp.Containment {
		if st.ID != step {
			continue
		}
		if _, ok := st.Params[param]; !ok {
			return nil, fmt.Errorf("containment step %s of playbook %s has no parameter %s", step, pb.ID, param)
		}
		delete(cp.Containment[i].Params, param)
		cp.ID, cp.Title = cp.ID+"-no-"+param, cp.Title+" ("+param+" removed)"
		return cp, nil
	}
	return nil, fmt.Errorf("playbook %s has no containment step %s", pb.ID, step)
}

// without copies pb, lets drop remove a section or some steps (returning
// the steps), and drops every reference to those steps from the others;
// section names what was removed, in the copy's id.
func without(pb *Playbook, section string, drop func(cp *Playbook) []Step) (*Playbook, error) {
	b, err := MarshalPlaybook(pb)
	if err != nil {
		return nil, err
	}
	cp, err := LoadPlaybook(pb.File, b)
	if err != nil {
		return nil, fmt.Errorf("copying playbook %s: %w", pb.ID, err)
	}
	removed := map[string]bool{}
	for _, s := range drop(cp) {
		removed[s.ID] = true
	}
	cp.ID, cp.Title = cp.ID+"-no-"+section, cp.Title+" ("+section+" removed)"
	keep := func(ids []string) []string {
		var out []string
		for _, id := range ids {
			if !removed[id] {
				out = append(out, id)
			}
		}
		return out
	}
	for _, s := range cp.Steps() {
		s.Needs, s.After = keep(s.Needs), keep(s.After)
		if section == "containment" {
			s.When = nil
		}
	}
	b, err = MarshalPlaybook(cp)
	if err != nil {
		return nil, err
	}
	out, err := LoadPlaybook(pb.File, b)
	if err != nil {
		return nil, fmt.Errorf("playbook %s without %s: %w", pb.ID, section, err)
	}
	return out, nil
}
