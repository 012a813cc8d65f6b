package runner

import "github.com/firedrill-ir/firedrill/scoring"

// ScoreInput is the part of a drill's result that scoring reads. The
// scenario's enabled detectors, in every cloud it seeds, are passed as
// controls so that one that stayed silent is scored (logged or missed)
// instead of disappearing, with the clouds each watches, as the detector
// registry knows them.
func (r *Result) ScoreInput() scoring.ScoreInput {
	in := scoring.ScoreInput{Seed: r.Seed, Playbooks: r.Playbooks, StartedAt: r.StartedAt, EndedAt: r.EndedAt,
		Events: r.Events, Clouds: r.Clouds}
	for _, f := range r.Faults {
		in.Faults = append(in.Faults, f.String())
	}
	sc := r.Scenario
	if sc == nil {
		return in
	}
	in.Scenario = sc.ID
	if in.Clouds == nil {
		in.Clouds = sc.Clouds
	}
	s := sc.Expect.SLO
	in.SLO = scoring.SLO{Profile: s.Profile, MTTD: s.MTTD, MTTA: s.MTTA, MTTC: s.MTTC}
	in.EradicationOutOfScope = sc.Expect.EradicationOutOfScope
	for _, spec := range sc.Detectors.On() {
		in.Controls = append(in.Controls, spec.Control)
		if in.ControlClouds == nil {
			in.ControlClouds = map[string][]string{}
		}
		in.ControlClouds[spec.Control] = spec.Clouds
	}
	return in
}
