package responder

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/firedrill-ir/firedrill/clock"
	"github.com/firedrill-ir/firedrill/providers"
	"github.com/firedrill-ir/firedrill/responder/action"
	"github.com/firedrill-ir/firedrill/timeline"
)

// Options configure a Responder.
type Options struct {
	Clock    clock.Clock
	Timeline *timeline.Timeline
	Provider providers.Provider
	Playbook *Playbook
	// CaseID names the first case; later cases (other resources) get a
	// numeric suffix. Default "case-<playbook id>".
	CaseID string
	// EvidenceBucket receives command output, memory images and audit
	// extracts; it should have object lock on.
	EvidenceBucket string
	// DryRun plans and touches nothing: no cloud call at all, not even a
	// read (reads land in audit logs too).
	DryRun bool
	// Decider answers the decision tree; nil evaluates each node's CEL
	// predicate. Tabletop mode passes a human decider.
	Decider Decider
	// PollInterval is how often Watch polls findings and alarms (default 1m).
	PollInterval time.Duration
	// Retention is how long evidence is kept (default 90 days); it becomes
	// the retain-until tag and the manifest's retention.
	Retention time.Duration
	// Journal remembers finished steps so a re-run does not repeat them
	// (default: in memory).
	Journal Journal
}

// DefaultPollInterval is how often Watch looks for new alerts.
const DefaultPollInterval = time.Minute

// DefaultRetention is how long evidence is kept by default.
const DefaultRetention = 90 * 24 * time.Hour

// DecisionRequest is one decision node put to a Decider.
type DecisionRequest struct {
	CaseID, Playbook, Resource string
	Node                       DecisionNode
	// Facts is a copy of the facts gathered so far.
	Facts map[string]any
	// Inputs is the JSON of the facts the predicate reads.
	Inputs string
	// Automated evaluates the node's predicate: what automation would
	// answer, for a human decider to show or to be scored against.
	Automated func() (bool, error)
}

// Decider answers decision nodes (yes = true).
type Decider interface {
	Decide(ctx context.Context, req DecisionRequest) (bool, error)
}

// Trigger is the alert a case starts from.
type Trigger struct {
	Kind string // TriggerFinding, TriggerAlarm, TriggerCostAnomaly or TriggerManual
	Type string // finding type, or alarm name
	// Resource is what the case is about: the alert's resource, or what a
	// resolver mapped it to (a stolen key's instance).
	Resource    providers.ResourceRef
	FindingID   string
	AccessKeyID string
	Severity    float64
	At          time.Time // when the alert became visible
}

// Trigger kinds.
const (
	TriggerFinding     = "finding"
	TriggerAlarm       = "alarm"
	TriggerCostAnomaly = "cost_anomaly"
	TriggerManual      = "manual"
)

// Step statuses.
const (
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
	StatusSkipped   = "skipped"
)

// Why a step was skipped. A deliberate skip — the decision tree chose
// another branch, the step is for another cloud, or the cloud cannot do it
// and the playbook's fallback covers it — does not leave containment
// incomplete; a skip because something the step needed failed does.
const (
	SkipDecision    = "decision"    // the decision outcome is not in when:
	SkipNoDecision  = "no-decision" // the decision tree gave no outcome
	SkipCloud       = "cloud"       // the step is for other clouds
	SkipUnsupported = "unsupported" // the cloud lacks the capability (providers.ErrUnsupported)
	SkipDependency  = "dependency"  // a step it needs failed
)

// deliberateSkip reports whether a skip cause is a choice of the playbook
// rather than a failure.
func deliberateSkip(cause string) bool {
	return cause == SkipDecision || cause == SkipCloud || cause == SkipUnsupported
}

// StepRecord is the result of one step in a case.
type StepRecord struct {
	ID, Action, Phase string
	Status            string
	Attempts          int
	StartedAt         time.Time
	FinishedAt        time.Time
	Error             string
	Reason            string // why it was skipped
	// SkipCause classifies a skip (one of the Skip* constants), which
	// decides whether it leaves containment incomplete.
	SkipCause string `json:",omitempty"`
	Output    map[string]any
	Evidence  []EvidenceRecord
	// FromJournal: the result was recorded by an earlier run and reused.
	FromJournal bool
}

// DecisionRecord is one answered decision node.
type DecisionRecord struct {
	Node, Question, Predicate, Inputs string
	Answer                            bool
	Next                              string
	Error                             string
	At                                time.Time
}

// Notification is one message of the communication plan.
type Notification struct {
	Template, On, Subject, Body string
	Roles, Contacts             []string
	At, Due                     time.Time
	Late                        bool
}

// RemediationStatus is a checklist item's state after the run.
type RemediationStatus struct {
	ID, Item, Owner string
	Status          string // passed, failed, manual
	Detail          string
}

// Case is one run of the playbook against one resource.
type Case struct {
	ID, Playbook, Severity string
	// Resource is the case resource's cloud id (what events name); Ref
	// types it.
	Resource           string
	Ref                providers.ResourceRef
	Trigger            Trigger
	StartedAt, EndedAt time.Time
	// Outcome is the decision tree's leaf ("" if it was not evaluated).
	Outcome     string
	Contained   bool
	ContainedAt time.Time
	Plan        []PlannedStep // dry-run only

	mu            sync.Mutex
	facts         map[string]any
	artifacts     map[string][]byte // location -> bytes of artifacts kept in the case record
	steps         map[string]*StepRecord
	order         []string
	evidence      []EvidenceRecord
	decisions     []DecisionRecord
	notifications []Notification
	remediation   []RemediationStatus
}

// Steps returns the step records in the order steps finished.
func (c *Case) Steps() []StepRecord {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]StepRecord, 0, len(c.order))
	for _, id := range c.order {
		out = append(out, *c.steps[id])
	}
	return out
}

// Step returns one step's record.
func (c *Case) Step(id string) (StepRecord, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.steps[id]
	if !ok {
		return StepRecord{}, false
	}
	return *r, true
}

// Evidence returns the evidence manifest in collection order.
func (c *Case) Evidence() []EvidenceRecord {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.evidence)
}

// Decisions returns the decisions taken, root first.
func (c *Case) Decisions() []DecisionRecord {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.decisions)
}

// Notifications returns the messages sent.
func (c *Case) Notifications() []Notification {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.notifications)
}

// Remediation returns the checklist with its state.
func (c *Case) Remediation() []RemediationStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.remediation)
}

// Artifact returns an artifact kept in the case record (on clouds whose
// provider has no evidence storage) by its manifest location.
func (c *Case) Artifact(location string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.artifacts[location]
	return slices.Clone(b), ok
}

// Facts returns a deep copy of the facts gathered.
func (c *Case) Facts() map[string]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	return deepCopy(c.facts)
}

// Failed lists the ids of steps that failed.
func (c *Case) Failed() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, id := range c.order {
		if c.steps[id].Status == StatusFailed {
			out = append(out, id)
		}
	}
	return out
}

// Responder runs one playbook against one provider.
type Responder struct {
	clk      clock.Clock
	tl       *timeline.Timeline
	p        providers.Provider
	pb       *Playbook
	opts     Options
	journal  Journal
	interval time.Duration

	mu      sync.Mutex
	cases   []*Case
	caseIDs map[string]string // resource -> case id
	handled map[string]bool   // resources Watch has started a case for
}

// New checks the options and builds a Responder.
func New(opts Options) (*Responder, error) {
	switch {
	case opts.Clock == nil:
		return nil, errors.New("responder: Options.Clock is required")
	case opts.Timeline == nil:
		return nil, errors.New("responder: Options.Timeline is required")
	case opts.Playbook == nil:
		return nil, errors.New("responder: Options.Playbook is required")
	case opts.Provider == nil && !opts.DryRun:
		return nil, errors.New("responder: Options.Provider is required unless DryRun")
	}
	if opts.Playbook.programs == nil && len(opts.Playbook.Decisions) > 0 {
		return nil, fmt.Errorf("responder: playbook %q was not built by LoadPlaybook (its predicates are not compiled)", opts.Playbook.ID)
	}
	r := &Responder{clk: opts.Clock, tl: opts.Timeline, p: opts.Provider, pb: opts.Playbook, opts: opts,
		journal: opts.Journal, interval: opts.PollInterval, caseIDs: map[string]string{}, handled: map[string]bool{}}
	if r.journal == nil {
		r.journal = NewMemoryJournal()
	}
	if r.interval <= 0 {
		r.interval = DefaultPollInterval
	}
	if r.opts.Retention <= 0 {
		r.opts.Retention = DefaultRetention
	}
	if r.opts.CaseID == "" {
		r.opts.CaseID = "case-" + opts.Playbook.ID
	}
	return r, nil
}

// Cases returns the cases started so far, in start order.
func (r *Responder) Cases() []*Case {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.cases)
}

// caseID gives each resource one stable case id, so responding twice to
// the same resource reuses the journal instead of acting twice.
func (r *Responder) caseID(resource string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if id, ok := r.caseIDs[resource]; ok {
		return id
	}
	id := r.opts.CaseID
	if n := len(r.caseIDs); n > 0 {
		id = fmt.Sprintf("%s-%d", r.opts.CaseID, n+1)
	}
	r.caseIDs[resource] = id
	return id
}

func (r *Responder) emit(c *Case, e timeline.Event) timeline.Event {
	e.Actor = timeline.ActorResponder
	if e.Cloud == "" && r.p != nil {
		e.Cloud = r.p.Cloud()
	}
	if e.Resource == "" && c != nil {
		e.Resource = c.Resource
	}
	if c != nil {
		if e.Detail == nil {
			e.Detail = map[string]string{}
		}
		e.Detail["case"] = c.ID
		e.Detail["playbook"] = c.Playbook
	}
	return r.tl.Add(e)
}

// Respond runs the playbook once for trig: evidence and containment as one
// dependency graph (the decision tree is asked when the first
// outcome-dependent step is ready, so it sees the most facts), then the
// investigation queries, then the remediation checks, with the
// communication plan's messages at acknowledgement, containment and close.
// It returns the case, and an error naming the failed steps if any failed
// (the case is still complete: failures are part of the record).
func (r *Responder) Respond(ctx context.Context, trig Trigger) (*Case, error) {
	if trig.Resource.ID == "" {
		return nil, errors.New("responder: trigger names no resource")
	}
	if trig.Resource.Cloud == "" {
		trig.Resource.Cloud = r.cloud()
	}
	if trig.Resource.Kind == "" {
		trig.Resource.Kind = r.pb.ResourceKinds()[0]
	}
	ref := trig.Resource
	c := &Case{ID: r.caseID(ref.ID), Playbook: r.pb.ID, Resource: ref.ID, Ref: ref, Severity: r.pb.Severity,
		Trigger: trig, StartedAt: r.clk.Now(), steps: map[string]*StepRecord{}}
	c.facts = map[string]any{
		"case":     map[string]any{"id": c.ID, "playbook": c.Playbook, "severity": c.Severity},
		"resource": action.ResourceFacts(ref, nil),
		"trigger": map[string]any{"kind": trig.Kind, "type": trig.Type, "resource": ref.ID,
			"resource_kind": string(ref.Kind), "finding_id": trig.FindingID, "access_key_id": trig.AccessKeyID,
			"severity": trig.Severity},
		"steps": map[string]any{},
	}
	// The cloud and what its provider can do are facts, so decision
	// predicates and templates can branch on them (facts.cloud == "gcp",
	// facts.capabilities.session_revoker).
	if r.p != nil {
		c.facts["cloud"] = r.p.Cloud()
		c.facts["capabilities"] = CapabilityFacts(r.p)
	}
	r.mu.Lock()
	r.cases = append(r.cases, c)
	r.mu.Unlock()
	r.emit(c, timeline.Event{Kind: timeline.Ack, Name: trig.Type, Message: fmt.Sprintf("case %s opened: %s %s on %s", c.ID, trig.Kind, trig.Type, ref.ID),
		Detail: map[string]string{"trigger": trig.Kind, "type": trig.Type, "dry_run": fmt.Sprint(r.opts.DryRun)}})

	if r.opts.DryRun {
		c.Plan = Plan(r.pb)
		for _, ps := range c.Plan {
			if ps.Phase == PhaseDecision {
				continue
			}
			r.emit(c, timeline.Event{Kind: timeline.StepSkip, Name: ps.ID, Outcome: StatusSkipped,
				Message: "dry-run: planned, not executed",
				Detail:  map[string]string{"action": ps.Action, "phase": ps.Phase, "reason": "dry-run", "order": itoa(ps.Order)}})
		}
		c.EndedAt = r.clk.Now()
		return c, nil
	}

	r.communicate(c, OnAck)
	for _, st := range r.pb.stages() {
		if err := r.runGraph(ctx, c, st.steps, st.decide); err != nil {
			return c, fmt.Errorf("case %s: %s: %w", c.ID, st.name, err)
		}
	}
	r.recordRemediation(c)
	r.communicate(c, OnClosed)
	c.EndedAt = r.clk.Now()
	if failed := c.Failed(); len(failed) > 0 {
		return c, fmt.Errorf("case %s: %d step(s) failed: %s", c.ID, len(failed), strings.Join(failed, ", "))
	}
	return c, nil
}

// stepDone is what a step actor reports to the coordinator.
type stepDone struct {
	id  string
	rec *StepRecord
}

// runGraph runs steps as clock actors as soon as their dependencies are
// done, one coordinator receiving completions. With decide set, the
// decision tree is evaluated when the first step with a when: is ready (or
// at the end if none is), and containment is declared when every
// containment step has finished.
func (r *Responder) runGraph(ctx context.Context, c *Case, steps []*Step, decide bool) error {
	if len(steps) == 0 {
		if decide {
			r.decideOnce(ctx, c)
		}
		return nil
	}
	done := clock.NewChan[stepDone](r.clk, "responder "+c.ID)
	status := map[string]string{} // "" pending, "running", or a final status
	decided := false
	containedChecked := false
	running := 0
	finish := func(id string, rec *StepRecord) {
		status[id] = rec.Status
		c.mu.Lock()
		c.steps[id] = rec
		c.order = append(c.order, id)
		c.mu.Unlock()
	}
	for {
		// Launch (or skip) everything that is ready, to a fixed point.
		for progress := true; progress; {
			progress = false
			for _, s := range steps {
				if status[s.ID] != "" {
					continue
				}
				// A step for other clouds is skipped at once, whatever it
				// waits for: that is the reason worth recording.
				if cloud := r.cloud(); len(s.Clouds) > 0 && !slices.Contains(s.Clouds, cloud) {
					progress = true
					finish(s.ID, r.skip(c, s, fmt.Sprintf("cloud-specific step for %s; this case is on %s",
						strings.Join(s.Clouds, ", "), cloud), SkipCloud))
					continue
				}
				ready, blocked := true, ""
				for _, d := range s.Needs {
					switch status[d] {
					case StatusSucceeded:
					case StatusFailed, StatusSkipped:
						if blocked == "" {
							blocked = d
						}
					default:
						ready = false
					}
				}
				for _, d := range s.After {
					if st := status[d]; st == "" || st == "running" {
						ready = false
					}
				}
				if !ready {
					continue
				}
				progress = true
				if blocked != "" {
					// A step that needs a deliberately skipped one is
					// skipped for the same reason (a GCP-only notify after
					// a GCP-only revoke); after a failure it is a failure.
					cause := SkipDependency
					c.mu.Lock()
					if b := c.steps[blocked]; b != nil && b.Status == StatusSkipped && deliberateSkip(b.SkipCause) {
						cause = b.SkipCause
					}
					c.mu.Unlock()
					finish(s.ID, r.skip(c, s, fmt.Sprintf("needs %s, which %s", blocked, status[blocked]), cause))
					continue
				}
				if len(s.When) > 0 {
					if !decided {
						r.decideOnce(ctx, c)
						decided = true
					}
					if !slices.Contains(s.When, c.Outcome) {
						reason := fmt.Sprintf("decision outcome is %q; step runs when %s", c.Outcome, strings.Join(s.When, " or "))
						cause := SkipDecision
						if c.Outcome == "" {
							reason = "the decision tree gave no outcome; step runs when " + strings.Join(s.When, " or ")
							cause = SkipNoDecision
						}
						finish(s.ID, r.skip(c, s, reason, cause))
						continue
					}
				}
				plan, reason := r.planStep(s)
				if reason != "" {
					finish(s.ID, r.skip(c, s, reason, SkipUnsupported))
					continue
				}
				if rec, ok := r.journal.Load(journalKey(c, s)); ok && rec.Status == StatusSucceeded {
					r.restore(c, s, &rec)
					finish(s.ID, &rec)
					continue
				}
				status[s.ID] = "running"
				running++
				step := s
				r.clk.Go(ctx, "responder "+c.ID+" "+s.ID, func(actx context.Context) {
					done.Send(stepDone{id: step.ID, rec: r.runStep(actx, c, step, plan)})
				})
			}
		}
		if decide && !containedChecked {
			containedChecked = r.checkContained(c, steps, status)
		}
		if running == 0 {
			break
		}
		d, err := done.Recv(ctx)
		if err != nil {
			return fmt.Errorf("waiting for %d running step(s): %w", running, err)
		}
		running--
		finish(d.id, d.rec)
		if d.rec.Status == StatusSucceeded {
			if err := r.journal.Store(journalKey(c, stepByID(steps, d.id)), *d.rec); err != nil {
				return fmt.Errorf("journaling step %s: %w", d.id, err)
			}
		}
	}
	if decide && !decided && len(r.pb.Decisions) > 0 {
		r.decideOnce(ctx, c)
	}
	return nil
}

func stepByID(steps []*Step, id string) *Step {
	for _, s := range steps {
		if s.ID == id {
			return s
		}
	}
	return nil
}

// journalKey is the idempotency key: case, step and resource.
func journalKey(c *Case, s *Step) string { return c.ID + "/" + s.ID + "/" + c.Resource }

// restore reuses a journaled result: its facts and evidence come back into
// the case, and a skip event says why nothing was done.
func (r *Responder) restore(c *Case, s *Step, rec *StepRecord) {
	rec.FromJournal = true
	c.mu.Lock()
	c.facts["steps"].(map[string]any)[s.ID] = deepCopy(rec.Output)
	if f, ok := rec.Output["_facts"].(map[string]any); ok {
		maps.Copy(c.facts, deepCopy(f))
	}
	have := map[string]bool{}
	for _, e := range c.evidence {
		have[e.Kind+"/"+e.ID] = true
	}
	for _, e := range rec.Evidence {
		if !have[e.Kind+"/"+e.ID] {
			c.evidence = append(c.evidence, e)
		}
	}
	c.mu.Unlock()
	r.emit(c, timeline.Event{Kind: timeline.StepSkip, Name: s.ID, Outcome: StatusSkipped,
		Message: "already done in this case (journal)",
		Detail:  map[string]string{"action": s.Action, "phase": s.Phase, "reason": "journal"}})
}

func (r *Responder) skip(c *Case, s *Step, reason, cause string) *StepRecord {
	now := r.clk.Now()
	r.emit(c, timeline.Event{Kind: timeline.StepSkip, Name: s.ID, Outcome: StatusSkipped, Message: reason,
		Detail: map[string]string{"action": s.Action, "phase": s.Phase, "reason": reason}})
	return &StepRecord{ID: s.ID, Action: s.Action, Phase: s.Phase, Status: StatusSkipped, Reason: reason,
		SkipCause: cause, StartedAt: now, FinishedAt: now}
}

// cloud is the cloud the responder acts on ("" without a provider).
func (r *Responder) cloud() string {
	if r.p == nil {
		return ""
	}
	return r.p.Cloud()
}

// checkContained declares containment once every containment step has
// finished and none failed (deliberate skips — another decision branch,
// another cloud, a capability the cloud lacks — are fine; steps skipped
// because a dependency failed are not).
func (r *Responder) checkContained(c *Case, steps []*Step, status map[string]string) bool {
	var ids []string
	for _, s := range steps {
		if s.Phase != PhaseContainment {
			continue
		}
		st := status[s.ID]
		if st == "" || st == "running" {
			return false
		}
		ids = append(ids, s.ID)
	}
	if len(ids) == 0 {
		return true
	}
	c.mu.Lock()
	ok := true
	var bad []string
	for _, id := range ids {
		rec := c.steps[id]
		if rec.Status == StatusFailed || (rec.Status == StatusSkipped && !deliberateSkip(rec.SkipCause)) {
			ok = false
			bad = append(bad, id)
		}
	}
	c.mu.Unlock()
	if !ok {
		r.emit(c, timeline.Event{Kind: timeline.StepError, Name: "containment", Outcome: StatusFailed,
			Message: "containment incomplete: " + strings.Join(bad, ", "),
			Detail:  map[string]string{"phase": PhaseContainment, "failed_steps": strings.Join(bad, ",")}})
		return true
	}
	c.Contained = true
	c.ContainedAt = r.clk.Now()
	r.emit(c, timeline.Event{Kind: timeline.Contained, Outcome: StatusSucceeded,
		Message: fmt.Sprintf("containment steps done: %s", strings.Join(ids, ", ")),
		Detail:  map[string]string{"phase": PhaseContainment, "outcome": c.Outcome, "steps": strings.Join(ids, ",")}})
	r.communicate(c, OnContained)
	return true
}

// decideOnce walks the decision tree from the root, asking the Decider (or
// evaluating predicates) node by node, and records every answer.
func (r *Responder) decideOnce(ctx context.Context, c *Case) {
	if len(r.pb.Decisions) == 0 {
		return
	}
	nodes := map[string]DecisionNode{}
	for _, d := range r.pb.Decisions {
		nodes[d.ID] = d
	}
	cur := r.pb.Decisions[0].ID
	for {
		node, isNode := nodes[cur]
		if !isNode {
			c.Outcome = cur
			return
		}
		facts := c.Facts()
		prg := r.pb.programs[node.ID]
		inputs := decisionInputs(facts, r.pb.inputs[node.ID])
		automated := func() (bool, error) { return evalPredicate(prg, facts) }
		var answer bool
		var err error
		by := "cel"
		if r.opts.Decider != nil {
			by = "decider"
			answer, err = r.opts.Decider.Decide(ctx, DecisionRequest{CaseID: c.ID, Playbook: c.Playbook, Resource: c.Resource,
				Node: node, Facts: facts, Inputs: inputs, Automated: automated})
		} else {
			answer, err = automated()
		}
		rec := DecisionRecord{Node: node.ID, Question: node.Question, Predicate: node.Predicate, Inputs: inputs,
			Answer: answer, At: r.clk.Now()}
		detail := map[string]string{"question": node.Question, "predicate": node.Predicate, "inputs": inputs, "decided_by": by}
		if err != nil {
			rec.Error = err.Error()
			c.mu.Lock()
			c.decisions = append(c.decisions, rec)
			c.mu.Unlock()
			detail["answer"] = "error"
			detail["error"] = err.Error()
			r.emit(c, timeline.Event{Kind: timeline.Decision, Name: node.ID, Outcome: StatusFailed,
				Message: fmt.Sprintf("%s could not be answered: %v", node.Question, err), Detail: detail})
			return
		}
		next := node.No
		detail["answer"] = "no"
		if answer {
			next = node.Yes
			detail["answer"] = "yes"
		}
		rec.Next = next
		detail["next"] = next
		c.mu.Lock()
		c.decisions = append(c.decisions, rec)
		c.mu.Unlock()
		r.emit(c, timeline.Event{Kind: timeline.Decision, Name: node.ID, Outcome: StatusSucceeded,
			Message: fmt.Sprintf("%s %s -> %s", node.Question, detail["answer"], next), Detail: detail})
		cur = next
	}
}

// stepPlan is what a step runs on this cloud: its own action, or the
// playbook's fallback for a capability the cloud lacks.
type stepPlan struct {
	spec   action.Spec
	params map[string]any
	// fallbackFor is the action the fallback replaces ("" when none).
	fallbackFor string
}

// planStep checks the step's action against what the provider can do
// before the step starts, so a step the cloud cannot do costs no start
// event and no cloud call: it runs the playbook's fallback action for the
// cloud, or returns the skip reason (the missing capability and the
// fallback's note).
func (r *Responder) planStep(s *Step) (stepPlan, string) { return planStep(s, r.p) }

func planStep(s *Step, p providers.Provider) (stepPlan, string) {
	spec, _ := action.Lookup(s.Action)
	plan := stepPlan{spec: spec, params: s.Params}
	if p == nil {
		return plan, ""
	}
	gap := action.Missing(spec, p)
	if gap == nil {
		return plan, ""
	}
	fb := s.Fallback[p.Cloud()]
	if fb.Action == "" {
		return plan, unsupportedReason(s, p.Cloud(), gap)
	}
	alt, _ := action.Lookup(fb.Action)
	if gap2 := action.Missing(alt, p); gap2 != nil {
		return plan, fmt.Sprintf("%v; its fallback %s cannot run either: %v", gap, fb.Action, gap2)
	}
	return stepPlan{spec: alt, params: fb.Params, fallbackFor: s.Action}, ""
}

// StepOn says what a step would do on p's cloud: the action it would run
// (its own, or the playbook's fallback), or why it would be skipped for a
// capability the cloud lacks. Dry runs and live plans show it.
func StepOn(s *Step, p providers.Provider) (actionName, skip string) {
	plan, reason := planStep(s, p)
	return plan.spec.Name, reason
}

func (r *Responder) unsupportedReason(s *Step, err error) string {
	return unsupportedReason(s, r.cloud(), err)
}

// unsupportedReason renders a skip reason for a step the cloud cannot do:
// the error, and the playbook's documented fallback for this cloud.
func unsupportedReason(s *Step, cloud string, err error) string {
	reason := err.Error()
	if note := s.Fallback[cloud].Note; note != "" {
		reason += "; documented fallback: " + note
	}
	return reason
}

// runStep runs one step with its timeout, retries and backoff, all on the
// clock, and records every attempt on the timeline.
func (r *Responder) runStep(ctx context.Context, c *Case, s *Step, plan stepPlan) *StepRecord {
	spec := plan.spec
	rec := &StepRecord{ID: s.ID, Action: spec.Name, Phase: s.Phase, StartedAt: r.clk.Now()}
	base := map[string]string{"action": spec.Name, "phase": s.Phase}
	if plan.fallbackFor != "" {
		base["fallback_for"] = plan.fallbackFor
	}
	r.emit(c, timeline.Event{Kind: timeline.StepStart, Name: s.ID, Detail: maps.Clone(base)})
	timeout := s.Timeout.D()
	if timeout <= 0 {
		timeout = DefaultStepTimeout
	}
	backoff := s.Backoff.D()
	if backoff <= 0 {
		backoff = DefaultBackoff
	}
	for attempt := 1; ; attempt++ {
		rec.Attempts = attempt
		x, out, err := r.attempt(ctx, c, s, plan, attempt, timeout)
		if err == nil {
			if f := x.SetFacts(); len(f) > 0 {
				out["_facts"] = deepCopy(f)
			}
			rec.Status = StatusSucceeded
			rec.FinishedAt = r.clk.Now()
			rec.Output = out
			rec.Evidence = x.Collected()
			c.mu.Lock()
			c.facts["steps"].(map[string]any)[s.ID] = deepCopy(out)
			c.mu.Unlock()
			d := maps.Clone(base)
			d["attempts"] = itoa(attempt)
			d["duration"] = rec.FinishedAt.Sub(rec.StartedAt).String()
			r.emit(c, timeline.Event{Kind: timeline.StepFinish, Name: s.ID, Outcome: StatusSucceeded, Detail: d,
				Message: summarize(out)})
			return rec
		}
		if x != nil {
			rec.Evidence = append(rec.Evidence, x.Collected()...)
		}
		if errors.Is(err, providers.ErrUnsupported) && ctx.Err() == nil {
			// The cloud cannot do this (GCP has no run-command, Azure no
			// token revocation): a skip that names the documented
			// fallback, not an error that fails containment.
			rec.Status, rec.SkipCause = StatusSkipped, SkipUnsupported
			rec.FinishedAt = r.clk.Now()
			rec.Reason = r.unsupportedReason(s, err)
			d := maps.Clone(base)
			d["attempts"] = itoa(attempt)
			d["reason"] = rec.Reason
			d["error_code"] = providers.Code(err)
			r.emit(c, timeline.Event{Kind: timeline.StepSkip, Name: s.ID, Outcome: StatusSkipped, Message: rec.Reason, Detail: d})
			return rec
		}
		retryable := attempt <= s.Retries && !permanent(err) && ctx.Err() == nil
		if !retryable {
			rec.Status = StatusFailed
			rec.FinishedAt = r.clk.Now()
			rec.Error = err.Error()
			d := maps.Clone(base)
			d["attempts"] = itoa(attempt)
			d["error"] = err.Error()
			d["error_code"] = providers.Code(err)
			d["retryable"] = fmt.Sprint(!permanent(err))
			r.emit(c, timeline.Event{Kind: timeline.StepError, Name: s.ID, Outcome: StatusFailed, Message: err.Error(), Detail: d})
			return rec
		}
		wait := backoff << (attempt - 1)
		d := maps.Clone(base)
		d["attempt"] = itoa(attempt)
		d["error"] = err.Error()
		d["backoff"] = wait.String()
		r.emit(c, timeline.Event{Kind: timeline.StepRetry, Name: s.ID, Outcome: StatusFailed,
			Message: fmt.Sprintf("attempt %d failed, retrying in %v: %v", attempt, wait, err), Detail: d})
		if err := r.clk.Sleep(ctx, wait); err != nil {
			rec.Status = StatusFailed
			rec.FinishedAt = r.clk.Now()
			rec.Error = fmt.Sprintf("backing off before attempt %d: %v", attempt+1, err)
			r.emit(c, timeline.Event{Kind: timeline.StepError, Name: s.ID, Outcome: StatusFailed, Message: rec.Error,
				Detail: map[string]string{"action": s.Action, "phase": s.Phase, "error": rec.Error}})
			return rec
		}
	}
}

// attempt runs one attempt under a clock timeout. The context carries no
// real deadline (net/http would read it as wall time); the clock cancels it.
func (r *Responder) attempt(ctx context.Context, c *Case, s *Step, plan stepPlan, attempt int, timeout time.Duration) (*action.Run, map[string]any, error) {
	actx, cancel := r.clk.WithTimeout(ctx, timeout)
	defer cancel()
	params, err := r.renderParams(c, s, plan.params)
	if err != nil {
		return nil, nil, err
	}
	x := action.NewRun(caseHost{r: r, c: c}, s.ID, plan.spec.Name, s.Phase, attempt, params)
	out, err := plan.spec.Run(actx, x)
	if err != nil {
		if errors.Is(actx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
			return x, nil, fmt.Errorf("%s timed out after %v: %w", s.ID, timeout, err)
		}
		return x, nil, fmt.Errorf("%s (%s): %w", s.ID, plan.spec.Name, err)
	}
	if out == nil {
		out = map[string]any{}
	}
	return x, out, nil
}

// permanent errors are not worth retrying: the request or the permissions
// are wrong, and will be wrong again.
func permanent(err error) bool {
	return errors.Is(err, providers.ErrInvalid) || errors.Is(err, providers.ErrAccessDenied) ||
		errors.Is(err, providers.ErrUnsupported) || errors.Is(err, action.ErrBadParams)
}

// summarize renders a step output as one stable line for the timeline.
func summarize(out map[string]any) string {
	keys := slices.Sorted(maps.Keys(out))
	var parts []string
	for _, k := range keys {
		if strings.HasPrefix(k, "_") {
			continue
		}
		v := fmt.Sprint(out[k])
		if len(v) > 80 {
			v = v[:77] + "..."
		}
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, " ")
}

// recordRemediation fills the checklist from the check steps' results.
func (r *Responder) recordRemediation(c *Case) {
	var out []RemediationStatus
	for _, it := range r.pb.Remediation {
		st := RemediationStatus{ID: it.ID, Item: it.Item, Owner: it.Owner, Status: "manual"}
		if it.Check != nil {
			if rec, ok := c.Step(it.Check.ID); ok {
				switch rec.Status {
				case StatusSucceeded:
					st.Status, st.Detail = "passed", summarize(rec.Output)
				case StatusFailed:
					st.Status, st.Detail = "failed", rec.Error
				default:
					st.Status, st.Detail = "skipped", rec.Reason
				}
			}
		}
		out = append(out, st)
	}
	c.mu.Lock()
	c.remediation = out
	c.mu.Unlock()
}

// Watch polls findings and alarms every PollInterval and opens one case per
// affected resource for alerts matching the playbook's triggers, each case
// running as its own clock actor so several resources are handled in
// parallel. The runner starts it as a daemon actor; it returns nil when ctx
// is cancelled. Poll errors are recorded on the timeline and retried at the
// next poll: a throttled detector API must not end the watch.
func (r *Responder) Watch(ctx context.Context) error {
	if r.p == nil {
		return errors.New("responder: Watch needs a provider")
	}
	var since time.Time
	for {
		pollStart := r.clk.Now()
		trigs, err := r.poll(ctx, since)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			// A retry, not an error: the next poll asks again for
			// everything since the last good one, so nothing is lost.
			r.emit(nil, timeline.Event{Kind: timeline.StepRetry, Name: "watch", Outcome: StatusFailed,
				Message: "poll failed, retrying at the next poll: " + err.Error(),
				Detail:  map[string]string{"phase": "trigger", "error": err.Error()}})
		} else {
			since = pollStart
		}
		for _, t := range trigs {
			key := t.Resource.String()
			r.mu.Lock()
			seen := r.handled[key]
			r.handled[key] = true
			r.mu.Unlock()
			if seen {
				continue
			}
			trig := t
			r.clk.Go(ctx, "responder case "+trig.Resource.ID, func(actx context.Context) {
				// Step failures are recorded on the case and the timeline;
				// nothing more to do with the error here.
				_, _ = r.Respond(actx, trig)
			})
		}
		if err := r.clk.Sleep(ctx, r.interval); err != nil {
			return nil
		}
	}
}

// Matching returns the triggers among findings and alarms that start this
// playbook — those of its trigger types about a resource of a kind it acts
// on — findings first (in the order given), then alarms by name.
func (r *Responder) Matching(cloud string, findings []providers.Finding, alarms []providers.Alarm) []Trigger {
	var out []Trigger
	kinds := r.pb.ResourceKinds()
	types := r.pb.Triggers.Findings[cloud]
	for _, f := range findings {
		if !slices.Contains(types, f.Type) || f.Resource.IsZero() || !slices.Contains(kinds, f.Resource.Kind) {
			continue
		}
		out = append(out, Trigger{Kind: TriggerFinding, Type: f.Type, Resource: f.Resource,
			FindingID: f.ID, AccessKeyID: f.AccessKeyID, Severity: f.Severity, At: f.CreatedAt})
	}
	for _, a := range alarms {
		if a.State != providers.AlarmStateAlarm || a.Resource.IsZero() || !slices.Contains(kinds, a.Resource.Kind) {
			continue
		}
		for _, t := range r.pb.Triggers.Alarms {
			if a.Metric == t.Metric && a.Threshold >= t.Threshold && (a.For == 0 || a.For >= t.For.D()) {
				out = append(out, Trigger{Kind: TriggerAlarm, Type: a.Name, Resource: a.Resource, At: a.StateChangedAt})
				break
			}
		}
	}
	return out
}

// resolveFindings maps findings of the playbook's trigger types about a
// kind of resource the playbook does not act on to one it does, through
// the resolvers the providers register (providers.Resolve): a stolen key
// to the instance whose role session it is. Findings it cannot resolve are
// left as they are, and Matching skips them.
func (r *Responder) resolveFindings(ctx context.Context, findings []providers.Finding) {
	kinds := r.pb.ResourceKinds()
	types := r.pb.Triggers.Findings[r.p.Cloud()]
	for i := range findings {
		f := &findings[i]
		if f.Resource.IsZero() || slices.Contains(kinds, f.Resource.Kind) || !slices.Contains(types, f.Type) {
			continue
		}
		for _, k := range kinds {
			got, err := providers.Resolve(ctx, r.p, *f, k)
			if err != nil {
				r.emit(nil, timeline.Event{Kind: timeline.StepError, Name: "watch", Outcome: StatusFailed,
					Message: err.Error(), Detail: map[string]string{"phase": "trigger", "error": err.Error()}})
				break
			}
			if len(got) > 0 {
				f.Resource = got[0]
				break
			}
		}
	}
}

func (r *Responder) poll(ctx context.Context, since time.Time) ([]Trigger, error) {
	var findings []providers.Finding
	var alarms []providers.Alarm
	if len(r.pb.Triggers.Findings[r.p.Cloud()]) > 0 {
		if f, ok := r.p.(providers.FindingsReader); ok {
			var err error
			if findings, err = f.ListFindings(ctx, since); err != nil {
				return nil, fmt.Errorf("polling findings: %w", err)
			}
			r.resolveFindings(ctx, findings)
		}
	}
	if len(r.pb.Triggers.Alarms) > 0 {
		if m, ok := r.p.(providers.AlarmReader); ok {
			var err error
			if alarms, err = m.Alarms(ctx); err != nil {
				return nil, fmt.Errorf("polling alarms: %w", err)
			}
		}
	}
	sort.SliceStable(findings, func(i, j int) bool {
		if !findings[i].UpdatedAt.Equal(findings[j].UpdatedAt) {
			return findings[i].UpdatedAt.Before(findings[j].UpdatedAt)
		}
		return findings[i].ID < findings[j].ID
	})
	return r.Matching(r.p.Cloud(), findings, alarms), nil
}
