// Package attacker holds the techniques a scenario plays: the red team's
// attack techniques and the legitimate activity (background users) around
// them. Like stratus-red-team, a technique is plain data (an id, its MITRE
// ATT&CK id, a name, the parameters it accepts) plus a Run function, kept in
// one registry the scenario loader validates against. A technique is written
// once and registered once per cloud it supports (see Register); the cloud's
// parts come from the cloud's simulator driver (simcloud.Host: what code on
// a VM sees and does) and from the per-cloud files here (the SDK clients).
//
// Every technique declares the access paths it gains or plants (Path): a
// stolen or planted credential, a network flow, a backdoor network rule, a
// resource-policy grant, launched compute. Each path carries a probe that
// tries it the way the attacker would, through the wire with the attacker's
// own credentials or from the host's view of the network, so the
// keep-access loop and the drill's final check iterate the paths the
// attacker holds instead of knowing any cloud or resource.
//
// Every API step goes through the cloud's official SDK with the attacker's
// own (stolen or planted) credentials against the simulator over real HTTP,
// so what succeeds for the attacker after containment is decided by the same
// policy evaluation and connection tracking a responder faces, not by
// anything the responder reports. Only on-host effects (a process, CPU load,
// a network flow, the metadata service) touch the world model directly: that
// is the part of the cloud the attacker controls once it runs code on a VM.
package attacker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/aws/smithy-go"

	"github.com/firedrill-ir/firedrill/clock"
	"github.com/firedrill-ir/firedrill/cloudsim/simcloud"
	"github.com/firedrill-ir/firedrill/cloudsim/simhttp"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/timeline"
)

// ParamKind is the type a technique parameter must parse as.
type ParamKind string

// Parameter kinds.
const (
	KindString   ParamKind = "string"
	KindInt      ParamKind = "int"
	KindDuration ParamKind = "duration"
	// KindList is a list of strings (a YAML list, kept comma-separated).
	KindList ParamKind = "list"
)

// ParamSpec declares one parameter a technique accepts. The loader rejects
// unknown parameters, values that do not parse and missing required ones,
// so a typo in a scenario fails at load time with a line and column rather
// than mid-drill.
type ParamSpec struct {
	Name    string
	Kind    ParamKind
	Default string
	Doc     string
	// Required parameters have no default: the scenario must say.
	Required bool
	// Values, when set, are the only values (each item of a list) allowed.
	Values []string
}

// Technique is one technique of a scenario: an attack step, or, when
// Legitimate, the ordinary activity of a legitimate principal.
type Technique struct {
	// ID is firedrill's technique id, what scenario steps name.
	ID string
	// ATTACK is the MITRE ATT&CK technique id, e.g. "T1552.005" (none for
	// legitimate activity).
	ATTACK string
	// Name is a human-readable name.
	Name string
	// Cloud is the cloud the technique acts in. Its events carry it, and a
	// scenario may only use it if it seeds that cloud.
	Cloud string
	// Params lists the parameters Run reads (with defaults).
	Params []ParamSpec
	// Run performs an attack technique. It records its own attack.action
	// events.
	Run func(ctx context.Context, env *Env, p Params) error
	// KeepsAccess marks the cloud's keep-access technique: the attacker
	// coming back to try every path it holds. Its parameters also shape
	// the drill's final check in that cloud.
	KeepsAccess bool

	// Legitimate marks background activity: Act makes one round of a
	// legitimate activity (n counts the rounds) and returns its answers,
	// one per principal that acted (several when the members of a VM
	// group each call with their own identity); Probe tries whether the
	// activity still works, the "must keep working" check of a response's
	// collateral damage, and returns the first refusal or failure.
	Legitimate bool
	Act        func(ctx context.Context, a *Actor, p Params, n int) []Result
	Probe      func(ctx context.Context, a *Actor, p Params) error
	// NoSignIn marks legitimate activity that holds no credential of its
	// principal's own: anonymous clients of a web tier, or VMs whose
	// workloads take theirs from the metadata service. Its principal only
	// names it.
	NoSignIn bool
	// Continuous marks activity that goes on all the time (a site's users,
	// a fleet's applications): its rounds sample it at the cadence from
	// the drill's first instant, so that it is on record working before
	// anything could break it. Other activity starts at a random point of
	// its first interval.
	Continuous bool
}

// Param returns the spec of a named parameter.
func (t *Technique) Param(name string) (ParamSpec, bool) {
	for _, p := range t.Params {
		if p.Name == name {
			return p, true
		}
	}
	return ParamSpec{}, false
}

// CheckParams validates raw scenario parameters against the technique:
// every name must be declared, every value must parse as its kind and
// every required parameter must be given. It returns the offending
// parameter's name with the error.
func (t *Technique) CheckParams(raw map[string]string) (string, error) {
	for _, name := range world.SortedKeys(raw) {
		spec, ok := t.Param(name)
		if !ok {
			var known []string
			for _, p := range t.Params {
				known = append(known, p.Name)
			}
			return name, fmt.Errorf("technique %s has no parameter %q (known: %s)", t.ID, name, strings.Join(known, ", "))
		}
		if err := spec.check(raw[name]); err != nil {
			return name, fmt.Errorf("parameter %q of %s: %w", name, t.ID, err)
		}
	}
	for _, spec := range t.Params {
		if _, ok := raw[spec.Name]; spec.Required && !ok {
			return spec.Name, fmt.Errorf("technique %s needs parameter %q (%s)", t.ID, spec.Name, spec.Doc)
		}
	}
	return "", nil
}

func (s ParamSpec) check(v string) error {
	switch s.Kind {
	case KindInt:
		if _, err := strconv.Atoi(v); err != nil {
			return fmt.Errorf("%q is not an integer", v)
		}
	case KindDuration:
		if d, err := time.ParseDuration(v); err != nil || d < 0 {
			return fmt.Errorf("%q is not a non-negative duration such as 90s or 5m", v)
		}
	}
	if len(s.Values) == 0 {
		return nil
	}
	items := []string{v}
	if s.Kind == KindList {
		items = Params{"": v}.List("")
	}
	for _, it := range items {
		if !slices.Contains(s.Values, it) {
			return fmt.Errorf("unknown value %q (known: %s)", it, strings.Join(s.Values, ", "))
		}
	}
	return nil
}

// Params are a step's parameters with the technique's defaults applied.
type Params map[string]string

// Resolve returns raw with every missing parameter set to its default.
func (t *Technique) Resolve(raw map[string]string) Params {
	p := Params{}
	for _, s := range t.Params {
		p[s.Name] = s.Default
	}
	for k, v := range raw {
		p[k] = v
	}
	return p
}

// String returns a parameter.
func (p Params) String(name string) string { return p[name] }

// Int returns an integer parameter (validated at load time; 0 if absent).
func (p Params) Int(name string) int {
	n, _ := strconv.Atoi(p[name])
	return n
}

// Duration returns a duration parameter (validated at load time).
func (p Params) Duration(name string) time.Duration {
	d, _ := time.ParseDuration(p[name])
	return d
}

// List returns a list parameter's items.
func (p Params) List(name string) []string {
	if p[name] == "" {
		return nil
	}
	return strings.Split(p[name], ",")
}

// Registry is a set of techniques by id.
type Registry struct {
	byID map[string]*Technique
}

// NewRegistry builds a registry, refusing duplicate ids.
func NewRegistry(ts ...*Technique) (*Registry, error) {
	r := &Registry{byID: map[string]*Technique{}}
	for _, t := range ts {
		if err := r.add(t); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func (r *Registry) add(t *Technique) error {
	if _, dup := r.byID[t.ID]; dup {
		return fmt.Errorf("attacker: technique %q registered twice", t.ID)
	}
	if t.Cloud == "" {
		return fmt.Errorf("attacker: technique %q names no cloud", t.ID)
	}
	if t.Legitimate && t.Probe == nil {
		act := t.Act
		t.Probe = func(ctx context.Context, a *Actor, p Params) error {
			for _, r := range act(ctx, a, p, 0) {
				if r.Err != nil {
					return r.Err
				}
			}
			return nil
		}
	}
	r.byID[t.ID] = t
	return nil
}

// Get returns a technique by id.
func (r *Registry) Get(id string) (*Technique, bool) {
	t, ok := r.byID[id]
	return t, ok
}

// IDs lists the registered technique ids, sorted; with legitimate set, the
// legitimate activities only, otherwise the attack techniques only.
func (r *Registry) IDs(legitimate bool) []string {
	var out []string
	for _, id := range world.SortedKeys(r.byID) {
		if r.byID[id].Legitimate == legitimate {
			out = append(out, id)
		}
	}
	return out
}

// KeepAccess returns the keep-access technique of a cloud.
func (r *Registry) KeepAccess(cloud string) (*Technique, bool) {
	for _, id := range world.SortedKeys(r.byID) {
		if t := r.byID[id]; t.KeepsAccess && t.Cloud == cloud {
			return t, true
		}
	}
	return nil, false
}

var builtin = &Registry{byID: map[string]*Technique{}}

// Register adds techniques to the built-in registry, one registration per
// cloud a technique supports; a duplicate id is a programming error and
// panics. Per-cloud files register at init; tests may register their own.
func Register(ts ...*Technique) {
	for _, t := range ts {
		if err := builtin.add(t); err != nil {
			panic(err)
		}
	}
}

// Builtin returns the built-in technique registry.
func Builtin() *Registry { return builtin }

// Target is one cloud as the attacker (or a legitimate user) reaches it:
// where its seeded environment lives and the simulator's endpoint, with the
// HTTP transport to it (for TLS, one that trusts the simulator).
type Target struct {
	simcloud.Site
	Endpoint string
	Base     http.RoundTripper
}

// Caller marks the requests of one actor: its internet address (the
// simulator records it as the caller's source address, which is what makes
// a detector see instance credentials used "outside" the cloud), its user
// agent and its actor class for the simulator's random streams.
type Caller struct {
	SourceIP, UserAgent, Actor string
}

// transport is the HTTP transport of a caller's SDK clients: it marks each
// request as the caller's and charges the simulator's modelled latency (and,
// with a backoff, retry waits) on the drill clock.
func (c Caller) transport(clk simhttp.Sleeper, t *Target, backoff func(int) time.Duration) http.RoundTripper {
	return &simhttp.Mark{SourceIP: c.SourceIP, UserAgent: c.UserAgent, Actor: c.Actor,
		Next: &simhttp.Transport{Base: t.Base, Clock: clk, Backoff: backoff}}
}

// Env is everything a technique runs with.
type Env struct {
	// Clock is the drill clock; techniques wait only through it.
	Clock clock.Clock
	// Timeline receives attack.step and attack.action events.
	Timeline *timeline.Timeline
	// World is used for on-host effects only (processes, CPU, flows, IMDS).
	World *world.World
	// SourceIP is the attacker's internet address.
	SourceIP string
	// CorrelationID marks everything this run does: user agents, names, tags.
	CorrelationID string
	// End is when the drill ends; long-running techniques stop before it.
	End time.Time
	// Targets are the seeded clouds, by name.
	Targets map[string]*Target
	// State accumulates what the attacker has gained.
	State State
}

// Target returns a seeded cloud.
func (e *Env) Target(cloud string) (*Target, error) {
	if t := e.Targets[cloud]; t != nil {
		return t, nil
	}
	return nil, fmt.Errorf("the scenario has no %s environment", cloud)
}

// Caller is how the attacker's requests are marked.
func (e *Env) Caller() Caller {
	return Caller{SourceIP: e.SourceIP, UserAgent: "firedrill-attacker/" + e.CorrelationID, Actor: "attacker"}
}

// host is the on-host view of a cloud's VMs.
func host(cloud string) (simcloud.Host, error) {
	d, ok := simcloud.Get(cloud)
	if !ok {
		return nil, fmt.Errorf("no simulator driver for cloud %q", cloud)
	}
	return d.Host, nil
}

// ShortID is the correlation id cut to 8 characters, for length-limited
// names.
func (e *Env) ShortID() string {
	id := strings.TrimPrefix(e.CorrelationID, "fd-")
	if len(id) > 8 {
		id = id[:8]
	}
	return id
}

// Action describes one attacker action for the timeline.
type Action struct {
	Technique string // technique id
	Operation string // e.g. "ec2:RunInstances", "pool:connect"
	Resource  string
	Cloud     string // required: the technique's cloud
	// Credential names the credentials used: "stolen-session",
	// "persistence-key" or "host" for on-host effects.
	Credential string
	Detail     map[string]string
	Message    string
}

// Record appends an attack.action event with the outcome err implies and
// returns err unchanged, so callers can write `return env.Record(a, err)`.
func (e *Env) Record(a Action, err error) error {
	outcome, code := Classify(err)
	d := map[string]string{"operation": a.Operation, "correlation_id": e.CorrelationID}
	if code != "" {
		d["error_code"] = code
	}
	if a.Credential != "" {
		d["credential"] = a.Credential
	}
	for k, v := range a.Detail {
		d[k] = v
	}
	msg := a.Message
	if err != nil && msg == "" {
		msg = ErrorMessage(err)
	}
	e.Timeline.Add(timeline.Event{Actor: timeline.ActorAttacker, Kind: timeline.AttackAction, Name: a.Technique,
		Cloud: a.Cloud, Resource: a.Resource, Outcome: outcome, Message: msg, Detail: d})
	if replayable(a, outcome) {
		e.noteUse(a)
	}
	if e.State.probed != nil {
		e.State.probed[use{Cloud: a.Cloud, Credential: a.Credential, Operation: a.Operation}] = true
	}
	return err
}

// ErrorMessage is an error as the timeline shows it. azcore's
// ResponseError prints the request URL (with the simulator's random
// loopback port) and a multi-line dump of the response; the timeline gets
// ARM's code and message instead, which are stable across runs.
func ErrorMessage(err error) string {
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return err.Error()
	}
	msg := ""
	if re.RawResponse != nil && re.RawResponse.Body != nil {
		var body struct {
			Error struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if b, rerr := io.ReadAll(re.RawResponse.Body); rerr == nil && json.Unmarshal(b, &body) == nil {
			msg = body.Error.Message
		}
	}
	if msg == "" {
		return fmt.Sprintf("%s (HTTP %d)", re.ErrorCode, re.StatusCode)
	}
	return fmt.Sprintf("%s (HTTP %d): %s", re.ErrorCode, re.StatusCode, msg)
}

// deniedCodes are the error codes by which AWS refuses a caller, as opposed
// to failing a request: they mean containment worked (or a credential is
// dead), which is what verification counts.
var deniedCodes = []string{"AccessDenied", "AccessDeniedException", "UnauthorizedOperation",
	"InvalidClientTokenId", "ExpiredToken", "ExpiredTokenException", "AuthFailure", "InvalidAccessKeyId",
	"SignatureDoesNotMatch", "UnrecognizedClientException", "Blocked",
	// Azure Resource Manager's refusals.
	"AuthorizationFailed", "InvalidAuthenticationToken", "ExpiredAuthenticationToken", "AuthenticationFailed",
	"LinkedAuthorizationFailed",
	// Google's canonical codes for 401 and 403.
	"UNAUTHENTICATED", "PERMISSION_DENIED"}

// Classify maps an error to an attack.action outcome and the error code:
// nil and EC2's DryRunOperation ("would have succeeded") are succeeded, the
// refusal codes and a Refusal are denied, anything else failed.
func Classify(err error) (outcome, code string) {
	if err == nil {
		return timeline.Succeeded, ""
	}
	if rf := (*Refusal)(nil); errors.As(err, &rf) {
		return timeline.Denied, rf.Code
	}
	var ae smithy.APIError
	var re *azcore.ResponseError
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	} else if errors.As(err, &re) {
		code = re.ErrorCode
	} else if c, ok := googleCode(err); ok {
		code = c
	} else if ce, ok := world.ComputeErrorOf(err); ok {
		code = string(ce.Kind)
	}
	switch {
	case code == "DryRunOperation":
		return timeline.Succeeded, code
	case slices.Contains(deniedCodes, code):
		return timeline.Denied, code
	}
	return timeline.Failed, code
}

// StartStep appends the attack.step event that opens a technique.
func (e *Env) StartStep(stepID string, t *Technique) {
	e.Timeline.Add(timeline.Event{Actor: timeline.ActorAttacker, Kind: timeline.AttackStep, Name: t.ID, Cloud: t.Cloud,
		Message: t.Name, Detail: map[string]string{"attack_id": t.ATTACK, "step": stepID, "correlation_id": e.CorrelationID}})
}
