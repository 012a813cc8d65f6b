// Package timeline is the one append-only event store of a drill. The
// runner, the attacker, the detectors and the responder append to it; scoring,
// reports and the TUI read it. Events carry clock time, never wall time, and a
// sequence number, so a timeline is totally ordered and reproducible.
package timeline

import (
	"sort"
	"sync"
	"time"
)

// Actors that append events.
const (
	ActorRunner    = "runner"
	ActorAttacker  = "attacker"
	ActorResponder = "responder"
	ActorCloud     = "cloud"    // the simulated cloud itself: scale-in, state changes
	ActorDetector  = "detector" // Name says which control: "guardduty", "cpu-alarm", …
	ActorHuman     = "human"    // tabletop answers
	// ActorBackground is legitimate principals going about their work.
	ActorBackground = "background"
)

// Event kinds. Scoring depends on these names; add, never rename.
const (
	ScenarioStart = "scenario.start"
	ScenarioEnd   = "scenario.end"

	AttackStep   = "attack.step"   // an attack technique began (Name = technique id)
	AttackAction = "attack.action" // one API call or effect by the attacker; Outcome succeeded|denied|failed
	// PathProbe is one try of an access path the attacker holds (Name =
	// path id, Detail kind and credential): Outcome succeeded when it is
	// open, denied when it is cut.
	PathProbe = "attack.path"
	// BackgroundAction is one round of a legitimate principal's work
	// (Name = technique id, Detail principal; Detail activity is the
	// activity's own principal when a member of a VM group acted for it):
	// denied after the response began, it is the response's collateral
	// damage.
	BackgroundAction = "background.action"

	FirstLog = "telemetry.first_log" // the first audit record of the attack became visible
	Alert    = "alert"               // a control raised an alert (Name = control, Detail type)
	Ack      = "responder.ack"       // the responder took the case

	StepStart  = "step.start"
	StepFinish = "step.finish"
	StepRetry  = "step.retry"
	StepError  = "step.error"
	StepSkip   = "step.skip"
	Decision   = "decision" // Detail: question, predicate, inputs, answer

	Evidence     = "evidence"      // an artifact entered the manifest (Detail: kind, id, sha256)
	Contained    = "contained"     // the responder declares containment done
	Verified     = "verified"      // containment checked by what still works for the attacker
	ResourceLost = "resource.lost" // a resource (volume, instance) disappeared, e.g. scale-in
	FlowEnded    = "flow.ended"
	Notify       = "notify" // communication plan message
)

// PathReport is one access path the attacker holds as the runner's final
// check reports it: a verified event's Detail "paths" is a JSON list of
// them. Status is open or cut.
type PathReport struct {
	ID          string `json:"id"`
	Kind        string `json:"kind"`
	Cloud       string `json:"cloud"`
	Credential  string `json:"credential"`
	Resource    string `json:"resource"`
	Description string `json:"description"`
	Status      string `json:"status"`
	ErrorCode   string `json:"error_code,omitempty"`
	// For planted things: the artifact, whether it still exists at the
	// end (null: the cloud cannot tell), and what it cost until removed
	// (launched compute).
	ArtifactKind string  `json:"artifact_kind,omitempty"`
	Artifact     string  `json:"artifact,omitempty"`
	Present      *bool   `json:"present,omitempty"`
	CostUSD      float64 `json:"cost_usd,omitempty"`
}

// Outcomes of actions.
const (
	Succeeded = "succeeded"
	Denied    = "denied"
	Failed    = "failed"
)

// Event is one thing that happened.
type Event struct {
	Seq      int               `json:"seq"`
	At       time.Time         `json:"at"`
	Actor    string            `json:"actor"`
	Kind     string            `json:"kind"`
	Name     string            `json:"name,omitempty"`
	Cloud    string            `json:"cloud,omitempty"`
	Resource string            `json:"resource,omitempty"`
	Outcome  string            `json:"outcome,omitempty"`
	Message  string            `json:"message,omitempty"`
	Detail   map[string]string `json:"detail,omitempty"`
}

// Nower is the clock the timeline stamps events with.
type Nower interface{ Now() time.Time }

// Timeline is safe for concurrent appends. In drill mode appends come from
// clock actors, one at a time, so the order is deterministic.
type Timeline struct {
	mu     sync.Mutex
	clock  Nower
	events []Event
	subs   []func(Event)
}

// New returns an empty timeline stamped by clock.
func New(clock Nower) *Timeline { return &Timeline{clock: clock} }

// Add stamps (if At is zero) and appends an event, returning it with its
// sequence number.
func (t *Timeline) Add(e Event) Event {
	t.mu.Lock()
	if e.At.IsZero() {
		e.At = t.clock.Now()
	}
	e.Seq = len(t.events) + 1
	t.events = append(t.events, e)
	subs := append([]func(Event){}, t.subs...)
	t.mu.Unlock()
	for _, s := range subs {
		s(e)
	}
	return e
}

// Subscribe calls fn for every event appended from now on (the TUI's live
// view). fn must not block.
func (t *Timeline) Subscribe(fn func(Event)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.subs = append(t.subs, fn)
}

// Events returns a copy of all events, in append order.
func (t *Timeline) Events() []Event {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Event(nil), t.events...)
}

// Sorted returns events ordered by time, then sequence: events stamped with
// an earlier time (e.g. a finding's creation time) after later ones are put
// back in place.
func Sorted(events []Event) []Event {
	out := append([]Event(nil), events...)
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].At.Equal(out[j].At) {
			return out[i].At.Before(out[j].At)
		}
		return out[i].Seq < out[j].Seq
	})
	return out
}

// First returns the earliest event matching pred, if any.
func First(events []Event, pred func(Event) bool) (Event, bool) {
	for _, e := range Sorted(events) {
		if pred(e) {
			return e, true
		}
	}
	return Event{}, false
}

// Filter returns the events matching pred, in time order.
func Filter(events []Event, pred func(Event) bool) []Event {
	var out []Event
	for _, e := range Sorted(events) {
		if pred(e) {
			out = append(out, e)
		}
	}
	return out
}

// OfKind matches events of any of the given kinds.
func OfKind(kinds ...string) func(Event) bool {
	return func(e Event) bool {
		for _, k := range kinds {
			if e.Kind == k {
				return true
			}
		}
		return false
	}
}
