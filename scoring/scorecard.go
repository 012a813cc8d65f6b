package scoring

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/firedrill-ir/firedrill/timeline"
)

// SLO is the scenario's expectation on timing. It mirrors scenarios.SLO as a
// plain struct so that scoring does not import the scenario package (which
// imports the runner, which produces what scoring reads).
type SLO struct {
	Profile string        // "1-10-60" (default when empty), "5/5/5" or "custom"
	MTTD    time.Duration // custom only; 0 = no target
	MTTA    time.Duration // custom only; 0 = no target
	MTTC    time.Duration // custom only; 0 = no target
}

// SLO profile names.
const (
	Profile1060   = "1-10-60"
	Profile555    = "5/5/5"
	ProfileCustom = "custom"
)

// ScoreInput is everything scoring reads: the drill's identity, its SLO and
// its timeline.
type ScoreInput struct {
	Scenario  string
	Seed      uint64
	Clouds    []string
	Playbooks []string
	StartedAt time.Time
	EndedAt   time.Time
	SLO       SLO
	// Faults describe the faults injected into the clouds' answers (one
	// line per rule), reported with the verdict they were survived with.
	Faults []string
	// EradicationOutOfScope is set when the scenario leaves eradication to
	// another team or a later exercise: what the attacker planted is still
	// reported, but does not decide the verdict or the score.
	EradicationOutOfScope bool
	// Controls are the detector controls the scenario turned on (e.g.
	// "guardduty", "cpu-alarm"): a control that is on but never alerted is
	// scored Logged or Missed instead of being absent. Optional.
	Controls []string
	// ControlClouds says which clouds each control watches (from the
	// detector registry); a control it does not list falls back to the
	// built-in table below, for inputs recorded before it existed.
	ControlClouds map[string][]string
	Events        []timeline.Event
}

// Outcomes on the ladder, best first. The strings are the scorecard's.
const (
	Prevented = "prevented"
	Responded = "responded"
	Detected  = "detected"
	Alerted   = "alerted"
	Logged    = "logged"
	Missed    = "missed"
)

// ladder lists outcomes best first with their weights.
var ladder = []struct {
	outcome string
	weight  float64
}{
	{Prevented, 1.0}, {Responded, 0.9}, {Detected, 0.8}, {Alerted, 0.6}, {Logged, 0.3}, {Missed, 0},
}

// Weight returns the ladder weight of an outcome (0 for unknown outcomes).
func Weight(outcome string) float64 {
	for _, l := range ladder {
		if l.outcome == outcome {
			return l.weight
		}
	}
	return 0
}

// rank orders outcomes: lower is better; unknown outcomes rank last.
func rank(outcome string) int {
	for i, l := range ladder {
		if l.outcome == outcome {
			return i
		}
	}
	return len(ladder)
}

// Scorecard is the result of a drill. Field order is the JSON order; every
// list is non-nil so that it encodes as [] rather than null.
type Scorecard struct {
	Scenario  string    `json:"scenario"`
	Seed      uint64    `json:"seed"`
	Clouds    []string  `json:"clouds"`
	Playbooks []string  `json:"playbooks"`
	StartedAt time.Time `json:"started_at"`
	EndedAt   time.Time `json:"ended_at"`
	// Faults are the faults injected into the clouds' answers.
	Faults      []string         `json:"faults"`
	Metrics     Metrics          `json:"metrics"`
	Detections  []Detection      `json:"detections"`
	Controls    []ControlOutcome `json:"controls"`
	Containment Containment      `json:"containment"`
	Eradication Eradication      `json:"eradication"`
	Collateral  Collateral       `json:"collateral"`
	Evidence    []EvidenceItem   `json:"evidence"`
	SLO         SLOResult        `json:"slo"`
	Outcome     string           `json:"outcome"`
	Score       int              `json:"score"`
	Breakdown   ScoreBreakdown   `json:"score_breakdown"`
	// Verdict is pass, not_contained, contained_not_eradicated or
	// slo_missed (the first that applies, in that order).
	Verdict string `json:"verdict"`
	// Pass is true when the verdict is pass: the CLI's exit code.
	Pass bool `json:"pass"`
	// ReasonCodes say why the drill did not pass, as stable codes (see
	// reasons.go); empty when it passed.
	ReasonCodes []string `json:"reason_codes"`
	// CloudsDetail scores each cloud of the drill on its own events (those
	// whose cloud is that cloud), in the order of Clouds. The top-level
	// fields are the incident as a whole; with several clouds its
	// containment is the conjunction of the clouds' and it is contained
	// when the last cloud is.
	CloudsDetail []CloudResult    `json:"clouds_detail"`
	Timeline     []timeline.Event `json:"timeline"`
}

// CloudResult is one cloud's part of a drill, scored like a drill of its
// own: its metrics run from its own attack start, alert, acknowledgement
// and containment, its containment is judged by the attacker's actions in
// that cloud after that cloud was contained and by that cloud's final
// check, and its score uses the same formula and SLO.
type CloudResult struct {
	Cloud       string           `json:"cloud"`
	Metrics     Metrics          `json:"metrics"`
	Detections  []Detection      `json:"detections"`
	Controls    []ControlOutcome `json:"controls"`
	Containment Containment      `json:"containment"`
	Eradication Eradication      `json:"eradication"`
	Collateral  Collateral       `json:"collateral"`
	Evidence    []EvidenceItem   `json:"evidence"`
	SLO         SLOResult        `json:"slo"`
	Outcome     string           `json:"outcome"`
	Score       int              `json:"score"`
	Breakdown   ScoreBreakdown   `json:"score_breakdown"`
	Verdict     string           `json:"verdict"`
	Pass        bool             `json:"pass"`
	ReasonCodes []string         `json:"reason_codes"`
}

// Verdicts, worst first.
const (
	VerdictNotContained           = "not_contained"
	VerdictContainedNotEradicated = "contained_not_eradicated"
	VerdictSLOMissed              = "slo_missed"
	VerdictPass                   = "pass"
)

// Metrics are the timing metrics in seconds; nil (JSON null) means the
// events needed were never recorded.
type Metrics struct {
	MTTDSeconds *float64 `json:"mttd_seconds"`
	MTTASeconds *float64 `json:"mtta_seconds"`
	// MTTCSeconds runs from the first alert to effective containment: the
	// moment the attacker's own probes last found every way in cut.
	MTTCSeconds *float64 `json:"mttc_seconds"`
	// DeclaredMTTCSeconds runs to the responder's first contained event:
	// its belief, reported beside the fact.
	DeclaredMTTCSeconds *float64 `json:"declared_mttc_seconds"`
	// ContainmentGapSeconds is effective minus declared containment:
	// positive when the responder declared before the ways in were cut.
	ContainmentGapSeconds      *float64 `json:"containment_gap_seconds"`
	AttackToContainmentSeconds *float64 `json:"attack_to_containment_seconds"`
	TelemetryLatencySeconds    *float64 `json:"telemetry_latency_seconds"`
	DetectionOverheadSeconds   *float64 `json:"detection_overhead_seconds"`
	// The instants the metrics are measured between.
	AttackStartedAt *time.Time `json:"attack_started_at"`
	FirstLogAt      *time.Time `json:"first_log_at"`
	FirstAlertAt    *time.Time `json:"first_alert_at"`
	AcknowledgedAt  *time.Time `json:"acknowledged_at"`
	// ContainedAt is effective containment; DeclaredAt the responder's.
	ContainedAt *time.Time `json:"contained_at"`
	DeclaredAt  *time.Time `json:"declared_at"`
}

// Detection is the first alert of one control.
type Detection struct {
	Control  string    `json:"control"`
	Type     string    `json:"type"`
	Resource string    `json:"resource,omitempty"`
	At       time.Time `json:"at"`
	// LatencySeconds is measured from attack start; null without one.
	LatencySeconds *float64 `json:"latency_seconds"`
}

// ControlOutcome is one control's place on the ladder and why.
type ControlOutcome struct {
	Control string  `json:"control"`
	Outcome string  `json:"outcome"`
	Weight  float64 `json:"weight"`
	Reason  string  `json:"reason"`
}

// ActionCounts counts attacker actions by outcome.
type ActionCounts struct {
	Succeeded int `json:"succeeded"`
	Denied    int `json:"denied"`
	Failed    int `json:"failed"`
}

// OperationCounts are the attacker's actions after containment for one
// credential and operation: what still worked for the attacker.
type OperationCounts struct {
	Credential string `json:"credential"`
	Operation  string `json:"operation"`
	// Counted is false for calls no policy can deny (they prove nothing).
	Counted bool `json:"counted"`
	ActionCounts
}

// Containment is whether every way in the attacker held was cut, by its own
// probes, and when.
type Containment struct {
	Verified bool `json:"verified"`
	// ContainedAt is effective containment (see Metrics.ContainedAt);
	// DeclaredAt is the responder's first contained event.
	ContainedAt        *time.Time `json:"contained_at"`
	DeclaredAt         *time.Time `json:"declared_at"`
	ContainedResources []string   `json:"contained_resources"`
	// Paths are the attacker's ways in, each with its probes' history.
	Paths []PathResult `json:"paths"`
	// AttackerActionsAfterContainment counts the attacker's actions after
	// the declaration, except calls that need no permission: successes
	// there mean the declaration came before the cut (containment_gap).
	AttackerActionsAfterContainment ActionCounts `json:"attacker_actions_after_containment"`
	// PersistenceActionsAfterContainment are those with a credential the
	// attacker created for itself (part of the above).
	PersistenceActionsAfterContainment ActionCounts `json:"persistence_actions_after_containment"`
	// UnblockableActionsAfterContainment counts calls that need no
	// permission (sts:GetCallerIdentity succeeds even for a fully denied
	// session) and so prove nothing.
	UnblockableActionsAfterContainment int               `json:"unblockable_actions_after_containment"`
	ByOperation                        []OperationCounts `json:"by_operation"`
	// Checked is false when no usable verified event was recorded: the
	// ways in were then never checked at the end.
	Checked bool `json:"checked"`
	// The final check's counts of what was still open.
	SurvivingFlows           int `json:"surviving_flows"`
	ValidStolenCredentials   int `json:"valid_stolen_credentials"`
	ValidPersistenceKeys     int `json:"valid_persistence_keys"`
	AttackerInstancesRunning int `json:"attacker_instances_running"`
	// Reasons lists why containment is not verified (empty when it is).
	Reasons []string `json:"reasons"`
	// ReasonCodes are the reasons as stable codes (see reasons.go).
	ReasonCodes []string `json:"reason_codes"`
	// Notes are findings that do not fail containment but need follow-up.
	Notes []string `json:"notes"`
}

// PathResult is one way in the attacker held (a stolen or planted
// credential, a network flow, a backdoor rule, a policy grant, launched
// compute) and what its probes found.
type PathResult struct {
	ID          string `json:"id"`
	Kind        string `json:"kind"`
	Cloud       string `json:"cloud"`
	Credential  string `json:"credential,omitempty"`
	Resource    string `json:"resource,omitempty"`
	Description string `json:"description,omitempty"`
	// Status is the final check's: open or cut.
	Status string `json:"status"`
	Probes int    `json:"probes"`
	// LastSuccessAt is the last probe that found it open; CutAt the first
	// probe of the run of cut answers that lasted to the end (the cut
	// happened between the two). CutAt is null while it is open.
	LastSuccessAt *time.Time `json:"last_success_at"`
	CutAt         *time.Time `json:"cut_at"`
	ErrorCode     string     `json:"error_code,omitempty"`
}

// Path statuses.
const (
	PathOpen = "open"
	PathCut  = "cut"
)

// Eradication is whether what the attacker planted (keys, rules, grants,
// launched compute) is gone at the end.
type Eradication struct {
	// InScope is false when the scenario leaves eradication out: the
	// items are reported but decide nothing.
	InScope bool `json:"in_scope"`
	// Checked is false when the final check reported no artifacts' state.
	Checked  bool              `json:"checked"`
	Verified bool              `json:"verified"`
	Items    []EradicationItem `json:"items"`
	// CostUSD is what the attacker's launched compute cost until removed
	// (on-demand prices, per the cloud's simulator).
	CostUSD     float64  `json:"cost_usd"`
	Reasons     []string `json:"reasons"`
	ReasonCodes []string `json:"reason_codes"`
}

// EradicationItem is one thing the attacker planted.
type EradicationItem struct {
	Path     string `json:"path"`
	Kind     string `json:"kind"` // access_key, network_rule, vm, …
	Cloud    string `json:"cloud"`
	Resource string `json:"resource"`
	// Status is removed, present, or unknown (the cloud's check cannot
	// tell yet: not implemented for that kind).
	Status  string  `json:"status"`
	CostUSD float64 `json:"cost_usd,omitempty"`
}

// Eradication item statuses.
const (
	ItemRemoved = "removed"
	ItemPresent = "present"
	ItemUnknown = "unknown"
)

// Collateral is the harm the response did to legitimate work: background
// principals denied after the response began, having worked before.
type Collateral struct {
	DeniedLegitimateActions int `json:"denied_legitimate_actions"`
	// Principals are those denied, sorted.
	Principals []string `json:"principals"`
	// Activities are the background activities the response broke, by
	// cloud, activity and principal.
	Activities []CollateralActivity `json:"activities"`
	Notes      []string             `json:"notes"`
}

// CollateralActivity is one background activity the response broke: what
// it denied of it and when.
type CollateralActivity struct {
	// Activity is the legitimate technique (aws.fleet-role-calls, …).
	Activity string `json:"activity"`
	// Principal is who the activity runs as: the scenario's principal,
	// which names a VM group's members when each calls as its own.
	Principal string `json:"principal"`
	Cloud     string `json:"cloud"`
	// Denied counts its denied actions; Principals are those denied
	// (members of the group, or Principal itself), sorted.
	Denied        int       `json:"denied"`
	Principals    []string  `json:"principals"`
	FirstDeniedAt time.Time `json:"first_denied_at"`
	LastDeniedAt  time.Time `json:"last_denied_at"`
	// RestoredAt is when it worked again for every principal it broke
	// that kept acting (the latest of their first successes after their
	// last denial; if none kept acting, its next success); null while one
	// was still denied at the end.
	RestoredAt *time.Time `json:"restored_at"`
}

// EvidenceItem is one artifact from the manifest, or a lost resource of which
// no artifact was captured (then only Kind, ID, BeforeLoss=false and LostAt).
type EvidenceItem struct {
	Kind       string     `json:"kind"`
	ID         string     `json:"id"`
	SHA256     string     `json:"sha256,omitempty"`
	Location   string     `json:"location,omitempty"`
	Source     string     `json:"source,omitempty"`
	CapturedAt *time.Time `json:"captured_at,omitempty"`
	BeforeLoss bool       `json:"before_loss"`
	// LostAt is when the source (or, for a lost-resource item, the
	// resource itself) disappeared.
	LostAt *time.Time `json:"lost_at,omitempty"`
}

// SLOResult is the drill against its SLO profile.
type SLOResult struct {
	Profile string      `json:"profile"`
	Met     bool        `json:"met"`
	Targets []SLOTarget `json:"targets"`
	Notes   []string    `json:"notes"`
}

// SLOTarget is one phase's target and the measured value.
type SLOTarget struct {
	Name          string   `json:"name"` // detect, investigate, contain
	Metric        string   `json:"metric"`
	TargetSeconds float64  `json:"target_seconds"`
	ActualSeconds *float64 `json:"actual_seconds"`
	Met           bool     `json:"met"`
}

// ScoreBreakdown shows each term of the score formula (see the package doc).
type ScoreBreakdown struct {
	Containment float64 `json:"containment"`
	Eradication float64 `json:"eradication"`
	Evidence    float64 `json:"evidence"`
	Timeliness  float64 `json:"timeliness"`
	Outcome     float64 `json:"outcome"`
	Penalties   float64 `json:"penalties"`
	StepErrors  int     `json:"step_errors"`
	// CollateralPenalty is the part of Penalties for denied legitimate
	// work.
	CollateralPenalty float64 `json:"collateral_penalty"`
	// Scale is applied to the sum of the terms: 100/90 when eradication is
	// out of scope (its 10 points are not on offer), else 1.
	Scale float64 `json:"scale"`
}

// JSON encodes the scorecard indented by two spaces, with a trailing
// newline. Output is stable: structs in field order, detail maps sorted by
// encoding/json, and no HTML escaping so that messages read as written.
func (s *Scorecard) JSON() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return nil, fmt.Errorf("encoding scorecard of %s: %w", s.Scenario, err)
	}
	return buf.Bytes(), nil
}
