package scoring

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/firedrill-ir/firedrill/timeline"
)

// Score control names that are not detectors.
const (
	ControlGuardrails = "guardrails"
	ControlResponder  = "responder"
)

// Score terms (see the package doc).
const (
	pointsContainment     = 35
	pointsEradication     = 10
	pointsEvidence        = 15
	pointsTimeliness      = 20
	pointsOutcome         = 20
	penaltyPerStepError   = 2
	maxStepErrorPenalty   = 10
	penaltyFalseContained = 10
	penaltyPerCollateral  = 1
	maxCollateralPenalty  = 20
)

// facts are the instants and events every part of the score is built from,
// extracted once from the time-ordered timeline.
type facts struct {
	events      []timeline.Event // time order
	attackStart *timeline.Event
	firstAction *timeline.Event
	firstLog    *timeline.Event
	firstAlert  *timeline.Event // first alert at or after attack start
	ack         *timeline.Event // first responder.ack
	contained   *timeline.Event // first contained
	lastVerify  *timeline.Event // last verified
	// index of each event in events, by Seq, for "before" comparisons of
	// events stamped at the same instant.
	pos map[int]int
}

func extract(events []timeline.Event) *facts {
	f := &facts{events: timeline.Sorted(events), pos: map[int]int{}}
	for i := range f.events {
		e := &f.events[i]
		f.pos[e.Seq] = i
		switch e.Kind {
		case timeline.AttackStep:
			if f.attackStart == nil {
				f.attackStart = e
			}
		case timeline.AttackAction:
			if f.firstAction == nil {
				f.firstAction = e
			}
			if f.attackStart == nil {
				f.attackStart = e
			}
		case timeline.FirstLog:
			if f.firstLog == nil {
				f.firstLog = e
			}
		case timeline.Ack:
			if f.ack == nil {
				f.ack = e
			}
		case timeline.Contained:
			if f.contained == nil {
				f.contained = e
			}
		case timeline.Verified:
			f.lastVerify = e
		}
	}
	for i := range f.events {
		e := &f.events[i]
		if e.Kind == timeline.Alert && !f.beforeAttack(e) {
			f.firstAlert = e
			break
		}
	}
	return f
}

// beforeAttack reports whether e happened before the attack started (a false
// positive or background alert). Without an attack every event counts.
func (f *facts) beforeAttack(e *timeline.Event) bool {
	return f.attackStart != nil && e.At.Before(f.attackStart.At)
}

// before reports whether a precedes b in timeline order.
func (f *facts) before(a, b *timeline.Event) bool { return f.pos[a.Seq] < f.pos[b.Seq] }

// seconds converts a duration to seconds rounded to the millisecond, so the
// JSON shows the shortest decimal (312.417, not 312.41700000000003).
func seconds(d time.Duration) float64 {
	return float64(d.Round(time.Millisecond).Milliseconds()) / 1000
}

// between is the seconds from a to b, or nil if either is missing.
func between(a, b *timeline.Event) *float64 {
	if a == nil || b == nil {
		return nil
	}
	s := seconds(b.At.Sub(a.At))
	return &s
}

func at(e *timeline.Event) *time.Time {
	if e == nil {
		return nil
	}
	t := e.At.UTC()
	return &t
}

// Score computes the scorecard of one drill from its timeline. It is a pure
// function: the same input gives the same scorecard. Each cloud of the
// drill is also scored on its own events (CloudsDetail); with several
// clouds the incident's containment, containment time and pass are
// combined from the clouds' (see combine).
func Score(in ScoreInput) *Scorecard {
	f := extract(in.Events)
	sc := &Scorecard{
		Scenario:     in.Scenario,
		Seed:         in.Seed,
		Clouds:       nonNil(in.Clouds),
		Playbooks:    nonNil(in.Playbooks),
		StartedAt:    in.StartedAt.UTC(),
		EndedAt:      in.EndedAt.UTC(),
		Faults:       nonNil(in.Faults),
		Timeline:     make([]timeline.Event, len(f.events)),
		CloudsDetail: []CloudResult{},
	}
	for i, e := range f.events {
		e.At = e.At.UTC()
		sc.Timeline[i] = e
	}
	for _, c := range in.Clouds {
		sc.CloudsDetail = append(sc.CloudsDetail, scoreCloud(in, c))
	}
	r := evaluate(f, in.SLO, in.Controls, !in.EradicationOutOfScope)
	if len(sc.CloudsDetail) > 1 {
		r = combine(f, in, sc.CloudsDetail)
	}
	sc.Metrics, sc.Detections, sc.Controls, sc.Containment = r.Metrics, r.Detections, r.Controls, r.Containment
	sc.Eradication, sc.Collateral = r.Eradication, r.Collateral
	sc.Evidence, sc.SLO, sc.Outcome, sc.Score, sc.Breakdown, sc.Pass = r.Evidence, r.SLO, r.Outcome, r.Score, r.Breakdown, r.Pass
	sc.Verdict, sc.ReasonCodes = r.Verdict, r.ReasonCodes
	return sc
}

// evaluate scores a set of events as one drill: metrics, detections,
// containment, controls, evidence, SLO, outcome and score.
func evaluate(f *facts, slo SLO, enabled []string, eradicationInScope bool) CloudResult {
	r := CloudResult{}
	fc := readFinalCheck(f)
	r.Detections = detections(f)
	r.Containment = containment(f, fc)
	r.Metrics = metrics(f, r.Containment)
	r.Eradication = eradication(fc, eradicationInScope)
	r.Collateral = collateral(f)
	r.Controls = controls(f, enabled, r.Containment.Verified)
	r.Evidence = evidence(f)
	r.SLO = sloResult(slo, r.Metrics)
	finish(&r, f)
	return r
}

// finish derives the outcome, score and pass of a scored result.
func finish(r *CloudResult, f *facts) {
	r.Outcome = Missed
	for _, c := range r.Controls {
		if rank(c.Outcome) < rank(r.Outcome) {
			r.Outcome = c.Outcome
		}
	}
	r.Breakdown = breakdown(r, f)
	b := r.Breakdown
	total := (b.Containment+b.Eradication+b.Evidence+b.Timeliness+b.Outcome)*b.Scale - b.Penalties
	r.Score = int(math.Round(math.Max(0, math.Min(100, total))))
	r.Verdict = verdict(r)
	r.Pass = r.Verdict == VerdictPass
	r.ReasonCodes = reasonCodes(r)
}

// verdict is the first of not contained, contained but not eradicated
// (with eradication in scope), SLO missed, that applies; else pass.
func verdict(r *CloudResult) string {
	switch {
	case !r.Containment.Verified:
		return VerdictNotContained
	case r.Eradication.InScope && !r.Eradication.Verified:
		return VerdictContainedNotEradicated
	case !r.SLO.Met:
		return VerdictSLOMissed
	}
	return VerdictPass
}

// reasonCodes are why a result does not pass: its containment codes, its
// eradication codes when eradication is in scope, then one per SLO target
// missed.
func reasonCodes(r *CloudResult) []string {
	out := append([]string{}, r.Containment.ReasonCodes...)
	if r.Eradication.InScope {
		out = append(out, r.Eradication.ReasonCodes...)
	}
	for _, t := range r.SLO.Targets {
		if !t.Met {
			out = append(out, CodeSLOMissed+":"+t.Name)
		}
	}
	return out
}

// controlClouds says which cloud each detector control watches when the
// input does not say (replays recorded before ScoreInput.ControlClouds);
// controls listed nowhere are kept in every cloud.
var controlClouds = map[string][]string{
	"guardduty": {"aws"}, "cost-anomaly": {"aws"}, "defender": {"azure"}, "scc": {"gcp"}, "cpu-alarm": {"aws", "azure"},
}

// scoreCloud scores one cloud on the events stamped with it.
func scoreCloud(in ScoreInput, cloud string) CloudResult {
	var evs []timeline.Event
	for _, e := range in.Events {
		if e.Cloud == cloud {
			evs = append(evs, e)
		}
	}
	var enabled []string
	for _, c := range in.Controls {
		clouds, known := in.ControlClouds[c]
		if !known {
			clouds, known = controlClouds[c]
		}
		if !known || slices.Contains(clouds, cloud) {
			enabled = append(enabled, c)
		}
	}
	r := evaluate(extract(evs), in.SLO, enabled, !in.EradicationOutOfScope)
	r.Cloud = cloud
	return r
}

// combine scores a multi-cloud incident as a whole. Detection and
// acknowledgement are the first in any cloud; the incident is contained
// when every cloud is (the last cloud's effective containment), containment
// is verified only if it is in every cloud, eradication likewise, and the
// paths, counts, reasons and notes are the clouds' together (reasons and
// notes prefixed with their cloud). Evidence is all clouds' evidence.
func combine(f *facts, in ScoreInput, clouds []CloudResult) CloudResult {
	r := CloudResult{}
	c := Containment{Verified: true, Checked: true, ContainedResources: []string{}, Paths: []PathResult{},
		ByOperation: []OperationCounts{}, Reasons: []string{}, ReasonCodes: []string{}, Notes: []string{}}
	type opKey struct{ cred, op string }
	byOp := map[opKey]*OperationCounts{}
	var effective, declared *time.Time
	allEffective, allDeclared := true, true
	for _, cr := range clouds {
		cc := cr.Containment
		c.Verified = c.Verified && cc.Verified
		c.Checked = c.Checked && cc.Checked
		effective, allEffective = latest(effective, cc.ContainedAt, allEffective)
		declared, allDeclared = latest(declared, cc.DeclaredAt, allDeclared)
		c.ContainedResources = append(c.ContainedResources, cc.ContainedResources...)
		c.Paths = append(c.Paths, cc.Paths...)
		addCounts(&c.AttackerActionsAfterContainment, cc.AttackerActionsAfterContainment)
		addCounts(&c.PersistenceActionsAfterContainment, cc.PersistenceActionsAfterContainment)
		c.UnblockableActionsAfterContainment += cc.UnblockableActionsAfterContainment
		for _, oc := range cc.ByOperation {
			k := opKey{oc.Credential, oc.Operation}
			if byOp[k] == nil {
				cp := oc
				cp.ActionCounts = ActionCounts{}
				byOp[k] = &cp
			}
			addCounts(&byOp[k].ActionCounts, oc.ActionCounts)
		}
		c.SurvivingFlows += cc.SurvivingFlows
		c.ValidStolenCredentials += cc.ValidStolenCredentials
		c.ValidPersistenceKeys += cc.ValidPersistenceKeys
		c.AttackerInstancesRunning += cc.AttackerInstancesRunning
		for _, why := range cc.Reasons {
			c.Reasons = append(c.Reasons, cr.Cloud+": "+why)
		}
		for _, code := range cc.ReasonCodes {
			c.addCode(cr.Cloud + ":" + code)
		}
		for _, n := range cc.Notes {
			c.Notes = append(c.Notes, cr.Cloud+": "+n)
		}
	}
	for _, oc := range byOp {
		c.ByOperation = append(c.ByOperation, *oc)
	}
	sortOperations(c.ByOperation)
	if len(c.Reasons) > 0 {
		c.Verified = false
	}
	if allEffective {
		c.ContainedAt = effective
	}
	if allDeclared {
		c.DeclaredAt = declared
	}
	r.Containment = c
	r.Metrics = metrics(f, c)
	r.Detections = detections(f)
	r.Eradication = combineEradication(clouds, !in.EradicationOutOfScope)
	r.Collateral = combineCollateral(clouds)
	r.Controls = controls(f, in.Controls, c.Verified)
	r.Evidence = evidence(f)
	r.SLO = sloResult(in.SLO, r.Metrics)
	finish(&r, f)
	return r
}

// latest keeps the later of t and c; all turns false once c is missing
// (a cloud never contained leaves the incident uncontained).
func latest(t, c *time.Time, all bool) (*time.Time, bool) {
	if c == nil {
		return t, false
	}
	if t == nil || c.After(*t) {
		return c, all
	}
	return t, all
}

func addCounts(dst *ActionCounts, src ActionCounts) {
	dst.Succeeded += src.Succeeded
	dst.Denied += src.Denied
	dst.Failed += src.Failed
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return append([]string(nil), s...)
}

// metrics are the timing metrics; containment is measured to its
// effective instant, the declaration reported beside it.
func metrics(f *facts, c Containment) Metrics {
	m := Metrics{
		MTTDSeconds:              between(f.attackStart, f.firstAlert),
		TelemetryLatencySeconds:  between(f.firstAction, f.firstLog),
		DetectionOverheadSeconds: between(f.firstLog, f.firstAlert),
		AttackStartedAt:          at(f.attackStart),
		FirstLogAt:               at(f.firstLog),
		FirstAlertAt:             at(f.firstAlert),
		AcknowledgedAt:           at(f.ack),
		ContainedAt:              c.ContainedAt,
		DeclaredAt:               c.DeclaredAt,
	}
	since := func(from *timeline.Event, to *time.Time) *float64 {
		if from == nil || to == nil {
			return nil
		}
		v := math.Max(0, seconds(to.Sub(from.At)))
		return &v
	}
	m.MTTCSeconds = since(f.firstAlert, c.ContainedAt)
	m.DeclaredMTTCSeconds = since(f.firstAlert, c.DeclaredAt)
	m.AttackToContainmentSeconds = since(f.attackStart, c.ContainedAt)
	if c.ContainedAt != nil && c.DeclaredAt != nil {
		v := seconds(c.ContainedAt.Sub(*c.DeclaredAt))
		m.ContainmentGapSeconds = &v
	}
	if a := between(f.firstAlert, f.ack); a != nil {
		// An ack stamped before the alert it answers (the responder polled
		// the finding before the runner recorded it visible) is immediate.
		v := math.Max(0, *a)
		m.MTTASeconds = &v
	}
	return m
}

// detections lists the first alert of each control at or after attack start,
// in time order.
func detections(f *facts) []Detection {
	out := []Detection{}
	seen := map[string]bool{}
	for i := range f.events {
		e := &f.events[i]
		if e.Kind != timeline.Alert || seen[e.Name] || f.beforeAttack(e) {
			continue
		}
		seen[e.Name] = true
		out = append(out, Detection{
			Control:        e.Name,
			Type:           e.Detail["type"],
			Resource:       e.Detail["resource"],
			At:             e.At.UTC(),
			LatencySeconds: between(f.attackStart, e),
		})
	}
	return out
}

// Attacker credential labels (attack.action Detail "credential").
const (
	credPersistence = "persistence-key"
	credHost        = "host"
	credNone        = "none"
)

// unblockable reports whether an attacker action needs no permission, so
// its success says nothing about containment.
func unblockable(e *timeline.Event) bool { return e.Detail["requires_permission"] == "false" }

// containment judges the attacker's ways in: verified when the responder
// declared containment, the final check was recorded and readable, and it
// found every path cut. The attacker's actions after the declaration are
// counted for the record; with containment not verified, the ways their
// successes went through are named too.
func containment(f *facts, fc *finalCheck) Containment {
	c := Containment{DeclaredAt: at(f.contained), ContainedResources: []string{}, ByOperation: []OperationCounts{},
		Reasons: []string{}, ReasonCodes: []string{}, Notes: []string{}}
	if f.contained == nil {
		c.fail(CodeNotDeclared, "the responder never declared containment")
	}
	for i := range f.events {
		if e := &f.events[i]; e.Kind == timeline.Contained && e.Resource != "" && !slices.Contains(c.ContainedResources, e.Resource) {
			c.ContainedResources = append(c.ContainedResources, e.Resource)
		}
	}
	c.countAfter(f)
	switch {
	case fc == nil:
		c.fail(CodeNotChecked, "no containment check (verified event) was recorded")
	case len(fc.bad) > 0:
		for _, b := range fc.bad {
			c.fail(CodeBadCheck, b)
		}
	default:
		c.Checked = true
		c.SurvivingFlows, c.ValidStolenCredentials = fc.flows, fc.stolen
		c.ValidPersistenceKeys, c.AttackerInstancesRunning = fc.planted, fc.launched
	}
	c.Paths = pathResults(f, fc)
	if c.Checked {
		kinds, ids := openKinds(c.Paths)
		for _, k := range kinds {
			c.fail(CodePathOpen+":"+k, describeOpen(k, ids[k]))
		}
		c.ContainedAt = effectiveAt(f, c.Paths)
		c.explainGap()
	}
	c.Verified = len(c.Reasons) == 0
	if n := c.AttackerActionsAfterContainment.Succeeded; n > 0 {
		c.Notes = append(c.Notes, fmt.Sprintf("%d attacker action(s) succeeded after containment was declared", n))
		if !c.Verified {
			for _, oc := range c.ByOperation {
				if oc.Counted && oc.Succeeded > 0 {
					c.addCode(credentialCode(oc.Credential))
				}
			}
		}
	}
	return c
}

// explainGap notes why containment took effect after the declaration:
// the way in cut last (or the attacker's late success).
func (c *Containment) explainGap() {
	if c.ContainedAt == nil || c.DeclaredAt == nil || !c.ContainedAt.After(*c.DeclaredAt) {
		return
	}
	gap := c.ContainedAt.Sub(*c.DeclaredAt)
	var last *PathResult
	for i := range c.Paths {
		if p := &c.Paths[i]; p.CutAt != nil && (last == nil || p.CutAt.After(*last.CutAt)) {
			last = p
		}
	}
	if last != nil && last.CutAt.Equal(*c.ContainedAt) {
		c.Notes = append(c.Notes, fmt.Sprintf("containment took effect %s after it was declared: %s (%s) was the last way in "+
			"the attacker's probes found cut", fmtDur(gap), last.ID, strings.ReplaceAll(last.Kind, "_", " ")))
		return
	}
	c.Notes = append(c.Notes, fmt.Sprintf("containment took effect %s after it was declared: the attacker's last "+
		"successful action came then", fmtDur(gap)))
}

// countAfter counts the attacker's actions after the declaration, by
// credential and operation.
func (c *Containment) countAfter(f *facts) {
	if f.contained == nil {
		return
	}
	type opKey struct{ cred, op string }
	byOp := map[opKey]*OperationCounts{}
	for i := range f.events {
		e := &f.events[i]
		if e.Kind != timeline.AttackAction || !f.before(f.contained, e) {
			continue
		}
		k := opKey{cred: e.Detail["credential"], op: e.Detail["operation"]}
		if k.op == "" {
			k.op = e.Name
		}
		oc := byOp[k]
		if oc == nil {
			oc = &OperationCounts{Credential: k.cred, Operation: k.op, Counted: !unblockable(e)}
			byOp[k] = oc
		}
		counts := []*ActionCounts{&oc.ActionCounts}
		switch {
		case unblockable(e):
			if e.Outcome == timeline.Succeeded {
				c.UnblockableActionsAfterContainment++
			}
		case k.cred == credPersistence:
			counts = append(counts, &c.AttackerActionsAfterContainment, &c.PersistenceActionsAfterContainment)
		default:
			counts = append(counts, &c.AttackerActionsAfterContainment)
		}
		for _, ac := range counts {
			switch e.Outcome {
			case timeline.Succeeded:
				ac.Succeeded++
			case timeline.Denied:
				ac.Denied++
			default:
				ac.Failed++
			}
		}
	}
	for _, oc := range byOp {
		c.ByOperation = append(c.ByOperation, *oc)
	}
	sortOperations(c.ByOperation)
}

func sortOperations(ops []OperationCounts) {
	sort.Slice(ops, func(i, j int) bool {
		a, b := ops[i], ops[j]
		if a.Credential != b.Credential {
			return a.Credential < b.Credential
		}
		return a.Operation < b.Operation
	})
}

// detailInt reads a non-negative integer detail; a malformed value, or a
// missing required one, is reported in bad (the check cannot vouch for it).
func detailInt(e *timeline.Event, key string, required bool, bad []string) (int, []string) {
	v, ok := e.Detail[key]
	if !ok {
		if !required {
			return 0, bad
		}
		return 0, append(bad, fmt.Sprintf("the containment check did not report %s", key))
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, append(bad, fmt.Sprintf("the containment check reported %s=%q, not a count", key, v))
	}
	return n, bad
}

func controls(f *facts, enabled []string, verified bool) []ControlOutcome {
	out := []ControlOutcome{guardrails(f)}

	firstAlert := map[string]*timeline.Event{}
	names := map[string]bool{}
	for _, n := range enabled {
		names[n] = true
	}
	for i := range f.events {
		e := &f.events[i]
		if e.Kind == timeline.Alert && !f.beforeAttack(e) {
			names[e.Name] = true
			if firstAlert[e.Name] == nil {
				firstAlert[e.Name] = e
			}
		}
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, n := range sorted {
		a := firstAlert[n]
		var o, why string
		switch {
		case a != nil && f.ack != nil && !f.ack.At.Before(a.At):
			o, why = Detected, "alerted and the responder acknowledged the case after the alert"
		case a != nil:
			o, why = Alerted, "alerted, but no responder acknowledged the case after the alert"
		case f.firstLog != nil:
			o, why = Logged, "did not alert; audit records of the attack were delivered"
		default:
			o, why = Missed, "did not alert and no audit record of the attack was delivered"
		}
		out = append(out, ControlOutcome{Control: n, Outcome: o, Weight: Weight(o), Reason: why})
	}

	var o, why string
	switch {
	case verified:
		o, why = Responded, "containment was declared and verified against the attacker"
	case f.ack != nil:
		o, why = Detected, "acknowledged the case, but containment was not verified"
	case f.firstAlert != nil:
		o, why = Alerted, "alerts were raised, but the responder never acknowledged a case"
	case f.firstLog != nil:
		o, why = Logged, "only audit records of the attack exist"
	default:
		o, why = Missed, "no alert, no acknowledgement, no audit record"
	}
	return append(out, ControlOutcome{Control: ControlResponder, Outcome: o, Weight: Weight(o), Reason: why})
}

// guardrails rates the environment's preventive controls: Prevented when the
// attacker was denied and never succeeded before containment.
func guardrails(f *facts) ControlOutcome {
	var ok, denied int
	for i := range f.events {
		e := &f.events[i]
		if e.Kind != timeline.AttackAction || unblockable(e) || (f.contained != nil && f.before(f.contained, e)) {
			continue
		}
		switch e.Outcome {
		case timeline.Succeeded:
			ok++
		case timeline.Denied:
			denied++
		}
	}
	c := ControlOutcome{Control: ControlGuardrails, Outcome: Missed}
	switch {
	case denied > 0 && ok == 0:
		c.Outcome, c.Reason = Prevented, fmt.Sprintf("all %d attacker action(s) before containment were denied", denied)
	case denied > 0:
		c.Reason = fmt.Sprintf("%d attacker action(s) denied, but %d succeeded before containment", denied, ok)
	case ok > 0:
		c.Reason = fmt.Sprintf("no attacker action was denied; %d succeeded before containment", ok)
	default:
		c.Reason = "no attacker action was recorded"
	}
	c.Weight = Weight(c.Outcome)
	return c
}

func evidence(f *facts) []EvidenceItem {
	lost := map[string]*timeline.Event{} // first loss of each resource
	var lostOrder []*timeline.Event
	for i := range f.events {
		e := &f.events[i]
		if e.Kind == timeline.ResourceLost && e.Resource != "" && lost[e.Resource] == nil {
			lost[e.Resource] = e
			lostOrder = append(lostOrder, e)
		}
	}
	out := []EvidenceItem{}
	covered := map[string]bool{} // source + "\x00" + evidence kind
	for i := range f.events {
		e := &f.events[i]
		if e.Kind != timeline.Evidence {
			continue
		}
		it := EvidenceItem{
			Kind:       e.Detail["kind"],
			ID:         e.Detail["id"],
			SHA256:     e.Detail["sha256"],
			Location:   e.Detail["location"],
			Source:     e.Detail["source"],
			CapturedAt: at(e),
			BeforeLoss: true,
		}
		if it.ID == "" {
			it.ID = e.Resource
		}
		if it.Source != "" {
			covered[it.Source+"\x00"+it.Kind] = true
			if l := lost[it.Source]; l != nil {
				it.LostAt = at(l)
				it.BeforeLoss = f.before(e, l)
			}
		}
		out = append(out, it)
	}
	interest := incidentResources(f)
	for _, l := range lostOrder {
		if preserved(covered, l) || !(interest[l.Resource] || interest[l.Detail["instance"]]) {
			continue
		}
		out = append(out, EvidenceItem{Kind: l.Detail["kind"], ID: l.Resource, BeforeLoss: false, LostAt: at(l)})
	}
	return out
}

// preservedBy names the evidence kinds that preserve a resource kind: a
// volume lives on in a snapshot, an instance's volatile state in a memory
// image. A process list or metadata record of an instance is evidence in its
// own right but does not make its loss harmless.
var preservedBy = map[string][]string{
	"volume":   {"disk_snapshot"},
	"instance": {"memory"},
}

// preserved reports whether evidence preserving the lost resource was
// captured (before or after: before_loss on that item tells which).
func preserved(covered map[string]bool, lost *timeline.Event) bool {
	kinds, ok := preservedBy[lost.Detail["kind"]]
	if !ok {
		for k := range covered {
			if strings.HasPrefix(k, lost.Resource+"\x00") {
				return true
			}
		}
		return false
	}
	for _, k := range kinds {
		if covered[lost.Resource+"\x00"+k] {
			return true
		}
	}
	return false
}

// incidentResources are the resources the incident is about: what alerts
// point at, what the attacker compromised on the host (on-host actions), what
// the responder contained or collected evidence from. Only their loss is
// evidence loss; scale-in terminating a healthy instance once the
// compromised one is protected is the environment working as intended.
func incidentResources(f *facts) map[string]bool {
	in := map[string]bool{}
	add := func(ids ...string) {
		for _, id := range ids {
			if id != "" {
				in[id] = true
			}
		}
	}
	for i := range f.events {
		e := &f.events[i]
		switch e.Kind {
		case timeline.Alert:
			add(e.Resource, e.Detail["resource"])
		case timeline.Contained:
			add(e.Resource)
		case timeline.Evidence:
			add(e.Detail["source"])
		case timeline.AttackAction:
			if c := e.Detail["credential"]; c == credHost || c == credNone {
				add(e.Resource)
			}
		}
	}
	return in
}

// profileTargets returns the targets of an SLO profile, in phase order.
func profileTargets(s SLO) ([]SLOTarget, string, error) {
	mk := func(d, a, c time.Duration) []SLOTarget {
		var ts []SLOTarget
		for _, t := range []struct {
			name, metric string
			d            time.Duration
		}{{"detect", "mttd", d}, {"investigate", "mtta", a}, {"contain", "mttc", c}} {
			if t.d > 0 {
				ts = append(ts, SLOTarget{Name: t.name, Metric: t.metric, TargetSeconds: seconds(t.d)})
			}
		}
		return ts
	}
	switch s.Profile {
	case "", Profile1060:
		return mk(time.Minute, 10*time.Minute, 60*time.Minute), Profile1060, nil
	case Profile555:
		return mk(5*time.Second, 5*time.Minute, 5*time.Minute), Profile555, nil
	case ProfileCustom:
		ts := mk(s.MTTD, s.MTTA, s.MTTC)
		if len(ts) == 0 {
			return nil, ProfileCustom, fmt.Errorf("custom SLO profile has no target (MTTD, MTTA and MTTC are all 0)")
		}
		return ts, ProfileCustom, nil
	default:
		return nil, s.Profile, fmt.Errorf("unknown SLO profile %q (known: %s, %s, %s)", s.Profile, Profile1060, Profile555, ProfileCustom)
	}
}

// telemetryFloor is the documented delivery latency of cloud audit logs and
// managed findings (CloudTrail and GuardDuty: about 5 minutes); a detect
// target below it cannot be met by a detector that reads them.
const telemetryFloor = 5 * time.Minute

func sloResult(s SLO, m Metrics) SLOResult {
	targets, profile, err := profileTargets(s)
	r := SLOResult{Profile: profile, Targets: []SLOTarget{}, Notes: []string{}}
	if err != nil {
		r.Notes = append(r.Notes, err.Error())
		return r
	}
	actual := map[string]*float64{"mttd": m.MTTDSeconds, "mtta": m.MTTASeconds, "mttc": m.MTTCSeconds}
	r.Met = true
	for _, t := range targets {
		t.ActualSeconds = actual[t.Metric]
		t.Met = t.ActualSeconds != nil && *t.ActualSeconds <= t.TargetSeconds
		r.Met = r.Met && t.Met
		if t.Name == "detect" && t.TargetSeconds < seconds(telemetryFloor) {
			r.Notes = append(r.Notes, fmt.Sprintf(
				"the detect target (%s) is below the cloud telemetry floor (audit log delivery and managed findings take about %s): it cannot be met by a detector that reads them",
				fmtSecs(&t.TargetSeconds), fmtDur(telemetryFloor)))
		}
		if t.ActualSeconds == nil {
			r.Notes = append(r.Notes, fmt.Sprintf("%s: %s was never measured (the events did not happen)", t.Name, t.Metric))
		}
		r.Targets = append(r.Targets, t)
	}
	return r
}

func breakdown(sc *CloudResult, f *facts) ScoreBreakdown {
	b := ScoreBreakdown{Scale: 1}
	if sc.Containment.Verified {
		b.Containment = pointsContainment
	}
	switch e := sc.Eradication; {
	case !e.InScope:
		b.Scale = 100.0 / (100 - pointsEradication)
	case e.Checked && len(e.Items) == 0:
		b.Eradication = pointsEradication
	case e.Checked:
		removed := 0
		for _, it := range e.Items {
			if it.Status == ItemRemoved {
				removed++
			}
		}
		b.Eradication = round2(pointsEradication * float64(removed) / float64(len(e.Items)))
	}
	if n := len(sc.Evidence); n > 0 {
		ok := 0
		for _, e := range sc.Evidence {
			if e.BeforeLoss {
				ok++
			}
		}
		b.Evidence = round2(pointsEvidence * float64(ok) / float64(n))
	}
	if n := len(sc.SLO.Targets); n > 0 {
		met := 0
		for _, t := range sc.SLO.Targets {
			if t.Met {
				met++
			}
		}
		b.Timeliness = round2(pointsTimeliness * float64(met) / float64(n))
	}
	b.Outcome = round2(pointsOutcome * Weight(sc.Outcome))
	for _, e := range f.events {
		if e.Kind == timeline.StepError {
			b.StepErrors++
		}
	}
	b.Penalties = math.Min(maxStepErrorPenalty, float64(penaltyPerStepError*b.StepErrors))
	if f.contained != nil && !sc.Containment.Verified {
		b.Penalties += penaltyFalseContained
	}
	b.CollateralPenalty = math.Min(maxCollateralPenalty, float64(penaltyPerCollateral*sc.Collateral.DeniedLegitimateActions))
	b.Penalties += b.CollateralPenalty
	return b
}
func round2(v float64) float64 { return math.Round(v*100) / 100 }
