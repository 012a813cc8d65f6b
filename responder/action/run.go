package action

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/firedrill-ir/firedrill/providers"
)

// Evidence kinds of the manifest (and of evidence events).
const (
	KindDiskSnapshot     = "disk_snapshot"
	KindMemory           = "memory"
	KindProcessList      = "process_list"
	KindConnections      = "connections"
	KindAuditLog         = "audit_log"
	KindInstanceMetadata = "instance_metadata"
	KindResourceRecord   = "resource_record"
	// KindPlanted records something the attacker planted, kept before
	// eradication removes it.
	KindPlanted = "planted_resource"
)

// Evidence is one entry of the evidence manifest.
type Evidence struct {
	Kind        string // one of the Kind* constants
	ID          string
	Location    string
	SHA256      string // "" for disk snapshots: their blocks are not readable through the API
	Size        int64
	Source      string // what it was taken from (volume, instance)
	State       string
	CollectedBy string
	CollectedAt time.Time
	Retention   time.Duration
	RetainUntil time.Time
	Step        string
}

// Host is the case an action runs in; the engine implements it.
type Host interface {
	Provider() providers.Provider
	CaseID() string
	Resource() providers.ResourceRef
	Now() time.Time
	// Sleep waits on the case's clock (virtual in a drill).
	Sleep(ctx context.Context, d time.Duration) error
	Fact(path []string) (any, bool)
	// SetFact sets a top-level fact for later steps and decisions.
	SetFact(key string, v any)
	// AddEvidence enters an artifact into the manifest and onto the
	// timeline, stamped with its retention; it returns the stored record.
	AddEvidence(step, phase string, e Evidence) Evidence
	// Evidence is the manifest so far.
	Evidence() []Evidence
	// EvidenceBucket is the configured evidence store location ("" when
	// none was given).
	EvidenceBucket() string
	Retention() time.Duration
	// KeepArtifact keeps an artifact in the case record under location.
	KeepArtifact(location string, body []byte)
	// Notify sends a communication-plan template to roles; it returns how
	// many contacts were told.
	Notify(template string, roles []string, on string) (int, error)
}

// Run is one attempt of a step as an action sees it.
type Run struct {
	host    Host
	StepID  string
	Action  string
	Phase   string
	Attempt int
	// Params are the step's parameters with templates rendered.
	Params   Params
	evidence []Evidence
	setFacts map[string]any
}

// NewRun builds the view of one attempt; the engine calls it.
func NewRun(h Host, stepID, actionName, phase string, attempt int, params map[string]any) *Run {
	return &Run{host: h, StepID: stepID, Action: actionName, Phase: phase, Attempt: attempt, Params: params}
}

// Provider is the cloud the action acts on.
func (x *Run) Provider() providers.Provider { return x.host.Provider() }

// Cloud is the provider's cloud ("" without one).
func (x *Run) Cloud() string {
	if p := x.host.Provider(); p != nil {
		return p.Cloud()
	}
	return ""
}

// CaseID is the case's id.
func (x *Run) CaseID() string { return x.host.CaseID() }

// Resource is what the case is about.
func (x *Run) Resource() providers.ResourceRef { return x.host.Resource() }

// ResourceID is the case resource's cloud id.
func (x *Run) ResourceID() string { return x.host.Resource().ID }

// Now is the clock's time.
func (x *Run) Now() time.Time { return x.host.Now() }

// Sleep waits d on the case's clock: actions never wait on the wall clock.
func (x *Run) Sleep(ctx context.Context, d time.Duration) error { return x.host.Sleep(ctx, d) }

// Fact reads a fact by path, e.g. Fact("instance", "identity", "role_name").
func (x *Run) Fact(path ...string) (any, bool) { return x.host.Fact(path) }

// FactString reads a string fact ("" when missing).
func (x *Run) FactString(path ...string) string {
	v, _ := x.Fact(path...)
	s, _ := v.(string)
	return s
}

// SetFact sets a top-level fact (facts.<key>) for later steps and
// decisions; it is journaled with the step so a re-run restores it.
func (x *Run) SetFact(key string, v any) {
	x.host.SetFact(key, v)
	if x.setFacts == nil {
		x.setFacts = map[string]any{}
	}
	x.setFacts[key] = v
}

// SetFacts are the facts this attempt set, for the journal.
func (x *Run) SetFacts() map[string]any { return x.setFacts }

// AddEvidence enters an artifact into the manifest. Its collection time
// is kept when set (a snapshot captures the disk when it starts, though it
// completes minutes later), which is what "captured before loss" is
// judged on.
func (x *Run) AddEvidence(e Evidence) {
	x.evidence = append(x.evidence, x.host.AddEvidence(x.StepID, x.Phase, e))
}

// Collected is the evidence this attempt added.
func (x *Run) Collected() []Evidence { return x.evidence }

// CaseEvidence is the case's manifest so far.
func (x *Run) CaseEvidence() []Evidence { return x.host.Evidence() }

// Notify sends a communication-plan template to roles.
func (x *Run) Notify(template string, roles []string) (int, error) {
	return x.host.Notify(template, roles, "step:"+x.StepID)
}

// EvidenceBucket is where artifacts are stored: the step's bucket
// parameter, else the case's. "" means artifacts stay in the case record
// (a cloud without an evidence store).
func (x *Run) EvidenceBucket() (string, error) {
	if b := x.Params.String("bucket", ""); b != "" {
		return b, nil
	}
	if b := x.host.EvidenceBucket(); b != "" {
		return b, nil
	}
	if !Has[providers.EvidenceStore](x) {
		return "", nil
	}
	return "", BadParams("no evidence bucket (set the responder's evidence bucket or params.bucket)")
}

// EvidenceTags protect and label artifacts: the case, and a retain-until
// date that lifecycle rules and people honour.
func (x *Run) EvidenceTags() map[string]string {
	return map[string]string{
		"firedrill:evidence": "true",
		"firedrill:case":     x.CaseID(),
		"retain-until":       x.Now().Add(x.host.Retention()).UTC().Format("2006-01-02"),
	}
}

// StoreArtifact writes an artifact under firedrill/cases/<case>/<resource>/.
// On a cloud whose provider has no evidence store (GCP today) the artifact
// is kept in the case record instead, with its SHA-256, so metadata and
// audit extracts — evidence in their own right — are not lost for want of
// a bucket; the location says where it is (case://<case>/<resource>/<name>).
func (x *Run) StoreArtifact(ctx context.Context, name string, body []byte) (*providers.Evidence, error) {
	bucket, err := x.EvidenceBucket()
	if err != nil {
		return nil, err
	}
	st, ok := x.Provider().(providers.EvidenceStore)
	if !ok {
		return x.keepInCase(ctx, name, body), nil
	}
	key := fmt.Sprintf("firedrill/cases/%s/%s/%s", x.CaseID(), strings.TrimPrefix(x.ResourceID(), "/"), name)
	ev, err := st.PutEvidenceObject(ctx, bucket, key, body, x.EvidenceTags())
	if err != nil {
		return nil, fmt.Errorf("storing %s: %w", name, err)
	}
	return ev, nil
}

func (x *Run) keepInCase(ctx context.Context, name string, body []byte) *providers.Evidence {
	loc := fmt.Sprintf("case://%s/%s/%s", x.CaseID(), strings.TrimPrefix(x.ResourceID(), "/"), name)
	sum := sha256.Sum256(body)
	x.host.KeepArtifact(loc, body)
	return &providers.Evidence{Kind: providers.EvidenceMetadata, ID: loc, Location: loc, SHA256: hex.EncodeToString(sum[:]),
		Size: int64(len(body)), CollectedBy: x.Collector(ctx), CollectedAt: x.Now(), State: "completed"}
}

// RecordPlanted stores what eradication is about to remove as evidence
// (JSON): once it is gone, the record is all the investigation keeps.
func (x *Run) RecordPlanted(ctx context.Context, name string, record any) error {
	body, err := json.MarshalIndent(record, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the record of %s: %w", name, err)
	}
	ev, err := x.StoreArtifact(ctx, name+".json", body)
	if err != nil {
		return err
	}
	x.AddEvidence(Evidence{Kind: KindPlanted, ID: ev.ID, Location: ev.Location, SHA256: ev.SHA256, Size: ev.Size,
		Source: name, State: "completed", CollectedBy: ev.CollectedBy, CollectedAt: ev.CollectedAt})
	return nil
}

// Collector is who the responder acts as, for evidence records.
func (x *Run) Collector(ctx context.Context) string {
	if ci, ok := x.Provider().(providers.CallerIdentifier); ok {
		if id, err := ci.CallerIdentity(ctx); err == nil {
			return id.ARN
		}
	}
	return "unknown"
}

// Params are a step's parameters, read with typed accessors that report a
// wrong type as ErrBadParams.
type Params map[string]any

// String reads a string parameter.
func (p Params) String(name, def string) string {
	v, ok := p[name]
	if !ok || v == nil {
		return def
	}
	return fmt.Sprint(v)
}

// Bool reads a boolean parameter.
func (p Params) Bool(name string, def bool) (bool, error) {
	v, ok := p[name]
	if !ok || v == nil {
		return def, nil
	}
	switch b := v.(type) {
	case bool:
		return b, nil
	case string:
		pb, err := strconv.ParseBool(b)
		if err != nil {
			return false, BadParams("%s: %q is not a boolean", name, b)
		}
		return pb, nil
	}
	return false, BadParams("%s: %v is not a boolean", name, v)
}

// Int reads an integer parameter.
func (p Params) Int(name string, def int) (int, error) {
	v, ok := p[name]
	if !ok || v == nil {
		return def, nil
	}
	switch n := v.(type) {
	case int:
		return n, nil
	case int64:
		return int(n), nil
	case uint64:
		return int(n), nil
	case float64:
		return int(n), nil
	case string:
		if i, err := strconv.Atoi(n); err == nil {
			return i, nil
		}
	}
	return 0, BadParams("%s: %v is not an integer", name, v)
}

// Duration reads a duration parameter ("30m").
func (p Params) Duration(name string, def time.Duration) (time.Duration, error) {
	v, ok := p[name]
	if !ok || v == nil {
		return def, nil
	}
	d, err := time.ParseDuration(fmt.Sprint(v))
	if err != nil || d < 0 {
		return 0, BadParams("%s: %v is not a duration such as 30m", name, v)
	}
	return d, nil
}

// Strings reads a list parameter (a single string counts as one item).
func (p Params) Strings(name string) ([]string, error) {
	v, ok := p[name]
	if !ok || v == nil {
		return nil, nil
	}
	switch l := v.(type) {
	case string:
		return []string{l}, nil
	case []string:
		return l, nil
	case []any:
		out := make([]string, 0, len(l))
		for _, e := range l {
			out = append(out, fmt.Sprint(e))
		}
		return out, nil
	}
	return nil, BadParams("%s: %v is not a list of strings", name, v)
}

// StringMap reads a map parameter.
func (p Params) StringMap(name string) (map[string]string, error) {
	v, ok := p[name]
	if !ok || v == nil {
		return nil, nil
	}
	out := map[string]string{}
	switch m := v.(type) {
	case map[string]any:
		for k, e := range m {
			out[k] = fmt.Sprint(e)
		}
	case map[string]string:
		maps.Copy(out, m)
	default:
		return nil, BadParams("%s: %v is not a map", name, v)
	}
	return out, nil
}
