package responder

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/firedrill-ir/firedrill/providers"
	"github.com/firedrill-ir/firedrill/responder/action"
	_ "github.com/firedrill-ir/firedrill/responder/actions/all" // every domain's actions
	"github.com/firedrill-ir/firedrill/responder/actions/vm"
	"github.com/firedrill-ir/firedrill/timeline"
)

// EvidenceRecord is one entry of the evidence manifest.
type EvidenceRecord = action.Evidence

// Evidence kinds of the manifest (and of evidence events).
const (
	KindDiskSnapshot     = action.KindDiskSnapshot
	KindMemory           = action.KindMemory
	KindProcessList      = action.KindProcessList
	KindConnections      = action.KindConnections
	KindAuditLog         = action.KindAuditLog
	KindInstanceMetadata = action.KindInstanceMetadata
)

// ActionSpec describes a registered action.
type ActionSpec = action.Spec

// Action returns a registered action's description.
func Action(name string) (ActionSpec, bool) { return action.Lookup(name) }

// ActionNames lists the registered actions, sorted.
func ActionNames() []string { return action.Names() }

// CapabilityFacts exposes what a provider can do to CEL and templates as
// facts.capabilities.<capability>: every capability a registered action
// needs, named after its provider interface (session_revoker, …).
func CapabilityFacts(p providers.Provider) map[string]any {
	out := map[string]any{}
	for k, v := range action.Capabilities(p) {
		out[k] = v
	}
	return out
}

// InstanceFacts is how a described instance appears to predicates and
// templates (facts.instance.*).
func InstanceFacts(inst *providers.Instance) map[string]any { return vm.InstanceFacts(inst) }

// caseHost is the case as an action sees it (action.Host).
type caseHost struct {
	r *Responder
	c *Case
}

func (h caseHost) Provider() providers.Provider    { return h.r.p }
func (h caseHost) CaseID() string                  { return h.c.ID }
func (h caseHost) Resource() providers.ResourceRef { return h.c.Ref }
func (h caseHost) Now() time.Time                  { return h.r.clk.Now() }
func (h caseHost) Sleep(ctx context.Context, d time.Duration) error {
	return h.r.clk.Sleep(ctx, d)
}
func (h caseHost) EvidenceBucket() string   { return h.r.opts.EvidenceBucket }
func (h caseHost) Retention() time.Duration { return h.r.opts.Retention }

func (h caseHost) Fact(path []string) (any, bool) {
	h.c.mu.Lock()
	defer h.c.mu.Unlock()
	return lookupFact(h.c.facts, path)
}

func (h caseHost) SetFact(key string, v any) {
	h.c.mu.Lock()
	h.c.facts[key] = deepCopy(v)
	h.c.mu.Unlock()
}

func (h caseHost) Evidence() []action.Evidence { return h.c.Evidence() }

func (h caseHost) KeepArtifact(location string, body []byte) {
	h.c.mu.Lock()
	defer h.c.mu.Unlock()
	if h.c.artifacts == nil {
		h.c.artifacts = map[string][]byte{}
	}
	h.c.artifacts[location] = slices.Clone(body)
}

func (h caseHost) Notify(template string, roles []string, on string) (int, error) {
	for _, r := range roles {
		if _, ok := h.r.pb.Communication.Role(r); !ok {
			return 0, fmt.Errorf("unknown role %q", r)
		}
	}
	n, err := h.r.notify(h.c, template, roles, on, 0)
	return len(n.Contacts), err
}

// AddEvidence enters an artifact into the manifest and onto the timeline.
// The event is stamped with the collection time (a snapshot captures the
// disk when it starts, even though it completes minutes later), which is
// what "captured before loss" is judged on.
func (h caseHost) AddEvidence(step, phase string, e action.Evidence) action.Evidence {
	if e.CollectedAt.IsZero() {
		e.CollectedAt = h.Now()
	}
	e.Retention = h.r.opts.Retention
	e.RetainUntil = e.CollectedAt.Add(e.Retention).UTC()
	e.Step = step
	h.c.mu.Lock()
	h.c.evidence = append(h.c.evidence, e)
	h.c.mu.Unlock()
	h.r.emit(h.c, timeline.Event{Kind: timeline.Evidence, At: e.CollectedAt, Name: step,
		Message: fmt.Sprintf("%s %s from %s at %s", e.Kind, e.ID, e.Source, e.Location),
		Detail: map[string]string{"kind": e.Kind, "id": e.ID, "sha256": e.SHA256, "location": e.Location,
			"source": e.Source, "state": e.State, "collected_by": e.CollectedBy, "size": strconv.FormatInt(e.Size, 10),
			"retain_until": e.RetainUntil.Format(time.RFC3339), "phase": phase}})
	return e
}

// renderParams renders string parameters containing {{…}} against the
// case (text/template, missing keys are errors), after merging the step's
// per-cloud parameters over its own.
func (r *Responder) renderParams(c *Case, s *Step, params map[string]any) (map[string]any, error) {
	if over := s.CloudParams[r.cloud()]; len(over) > 0 {
		params = maps.Clone(params)
		if params == nil {
			params = map[string]any{}
		}
		maps.Copy(params, over)
	}
	if len(params) == 0 {
		return map[string]any{}, nil
	}
	var data *MessageData
	out := make(map[string]any, len(params))
	for _, k := range slices.Sorted(maps.Keys(params)) {
		v := params[k]
		str, ok := v.(string)
		if !ok || !strings.Contains(str, "{{") {
			out[k] = v
			continue
		}
		if data == nil {
			d := r.messageData(c)
			data = &d
		}
		rs, err := render(s.ID+".params."+k, str, *data)
		if err != nil {
			return nil, action.BadParams("%v", err)
		}
		out[k] = rs
	}
	return out, nil
}
