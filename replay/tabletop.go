package replay

import (
	"math"
)

// Tabletop is the result of a tabletop exercise: every decision node the
// team was asked, their answer beside the playbook's automated one, the
// decision score and the team's decision time. The drill's own metrics
// (MTTC with the team's choices) are in the File's scorecard.
type Tabletop struct {
	Decisions []TeamDecision `json:"decisions"`
	Score     DecisionScore  `json:"score"`
	// AutomatedMTTCSeconds is MTTC of the same scenario and seed with the
	// playbook's predicates deciding: what the team's choices are
	// compared with. Null when that drill never contained.
	AutomatedMTTCSeconds *float64 `json:"automated_mttc_seconds"`
}

// TeamDecision is one decision node as the team answered it.
type TeamDecision struct {
	Node      string `json:"node"`
	Question  string `json:"question"`
	Predicate string `json:"predicate"`
	// Inputs is the JSON of the facts the predicate reads, as shown.
	Inputs string `json:"inputs"`
	// Yes and No are where each answer leads (a node or an outcome).
	Yes string `json:"yes"`
	No  string `json:"no"`
	// Team is the team's answer, "yes" or "no".
	Team string `json:"team"`
	// Automated is the predicate's answer on the same facts, "yes" or
	// "no"; "" when it could not be evaluated (AutomatedError says why).
	Automated      string `json:"automated"`
	AutomatedError string `json:"automated_error,omitempty"`
	Note           string `json:"note,omitempty"`
	// WallSeconds is how long the team took, in wall-clock time: a human
	// measurement, kept out of the drill's virtual timeline (the drill's
	// clock was paused while they thought).
	WallSeconds float64 `json:"wall_seconds"`
	Agree       bool    `json:"agree"`
	Weight      float64 `json:"weight"`
	Credit      float64 `json:"credit"`
}

// DecisionScore sums the team's decisions.
type DecisionScore struct {
	Points float64 `json:"points"`
	Max    float64 `json:"max"`
	// Percent is round(100 × Points / Max); null when no decision was
	// asked (the playbook has no decision tree, or nothing triggered it).
	Percent      *int    `json:"percent"`
	TotalSeconds float64 `json:"total_seconds"`
	MeanSeconds  float64 `json:"mean_seconds"`
}

// Weights of the decision score. DecisionFormula says the same in words
// for help texts and reports.
const (
	// WeightDecision is every node's weight: each question the team
	// answered counts the same.
	WeightDecision = 1.0
	// CreditAgree is the credit for the automation's answer.
	CreditAgree = 1.0
	// CreditNotedDeviation is the credit for a different answer with a
	// note: a deliberate, documented deviation (the team knew something
	// the predicate's facts did not) is worth half; an unexplained one
	// is worth nothing.
	CreditNotedDeviation = 0.5
	// When the predicate could not be evaluated there is no reference
	// answer: a noted answer gets full credit, an unnoted one half.
	CreditNoReferenceNoted   = 1.0
	CreditNoReferenceUnnoted = 0.5
)

// DecisionFormula documents the decision score.
const DecisionFormula = `decision score = 100 × Σ credit / Σ weight, rounded; each decision node asked
weighs 1. Credit: 1 for the playbook's (automation's) answer on the same facts;
0.5 for a different answer with a note (a documented deviation); 0 for a
different answer without one. When the predicate could not be evaluated there
is no reference answer: 1 with a note, 0.5 without. Decision time is wall-clock
time from the question appearing to the answer; the drill's virtual clock is
paused meanwhile.`

// ScoreDecisions fills in each decision's agreement, weight and credit and
// returns the totals. It is pure: the same decisions give the same score.
func ScoreDecisions(ds []TeamDecision) DecisionScore {
	var s DecisionScore
	for i := range ds {
		d := &ds[i]
		d.Weight = WeightDecision
		noted := d.Note != ""
		switch {
		case d.Automated == "":
			d.Agree = false
			d.Credit = CreditNoReferenceUnnoted
			if noted {
				d.Credit = CreditNoReferenceNoted
			}
		case d.Team == d.Automated:
			d.Agree, d.Credit = true, CreditAgree
		case noted:
			d.Agree, d.Credit = false, CreditNotedDeviation
		default:
			d.Agree, d.Credit = false, 0
		}
		s.Points += d.Credit * d.Weight
		s.Max += d.Weight
		s.TotalSeconds += d.WallSeconds
	}
	if len(ds) > 0 {
		p := int(math.Round(100 * s.Points / s.Max))
		s.Percent = &p
		s.MeanSeconds = s.TotalSeconds / float64(len(ds))
	}
	s.TotalSeconds, s.MeanSeconds = ms(s.TotalSeconds), ms(s.MeanSeconds)
	return s
}

// ms rounds seconds to milliseconds, so files and reports do not carry
// nanosecond noise from the wall clock.
func ms(v float64) float64 { return math.Round(v*1000) / 1000 }
