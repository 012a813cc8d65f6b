// Package attacker holds the red-team techniques a scenario plays. Like
// stratus-red-team, a technique is plain data (an id, its MITRE ATT&CK id, a
// name, the parameters it accepts) plus a Run function, collected in a
// registry the scenario loader validates against.
//
// Every API step a technique takes goes through aws-sdk-go-v2 with the
// attacker's own (stolen or planted) credentials against the simulator over
// real HTTP, so what succeeds for the attacker after containment is decided
// by the same policy evaluation and connection tracking a responder faces, not
// by anything the responder reports. Only on-host effects (a process, CPU
// load, a network flow, the metadata service) touch the world model directly:
// that is the part of the cloud the attacker controls once it runs code on an
// instance.
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
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go"

	"github.com/firedrill-ir/firedrill/clock"
	"github.com/firedrill-ir/firedrill/cloudsim/simhttp"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/timeline"
)

// SourceIPHeader places a caller on the internet: the simulator records it as
// the caller's source address (CloudTrail sourceIPAddress), which is what
// makes GuardDuty see instance credentials used "outside AWS".
const SourceIPHeader = simhttp.SourceIPHeader

// ParamKind is the type a technique parameter must parse as.
type ParamKind string

// Parameter kinds.
const (
	KindString   ParamKind = "string"
	KindInt      ParamKind = "int"
	KindDuration ParamKind = "duration"
)

// ParamSpec declares one parameter a technique accepts. The loader rejects
// unknown parameters and values that do not parse, so a typo in a scenario
// fails at load time with a line and column rather than mid-drill.
type ParamSpec struct {
	Name    string
	Kind    ParamKind
	Default string
	Doc     string
}

// Technique is one attack technique.
type Technique struct {
	// ID is firedrill's technique id, what scenario steps name.
	ID string
	// ATTACK is the MITRE ATT&CK technique id, e.g. "T1552.005".
	ATTACK string
	// Name is a human-readable name.
	Name string
	// Cloud is the cloud the technique attacks: aws (when empty), azure
	// or gcp. Its events carry it, and a scenario may only use it if it
	// seeds that cloud.
	Cloud string
	// Params lists the parameters Run reads (with defaults).
	Params []ParamSpec
	// Run performs the technique. It records its own attack.action events.
	Run func(ctx context.Context, env *Env, p Params) error
}

// CloudName is the technique's cloud, "aws" when unset.
func (t *Technique) CloudName() string {
	if t.Cloud == "" {
		return "aws"
	}
	return t.Cloud
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
// every name must be declared and every value must parse as its kind. It
// returns the offending parameter's name with the error.
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
		if err := checkKind(spec.Kind, raw[name]); err != nil {
			return name, fmt.Errorf("parameter %q of %s: %w", name, t.ID, err)
		}
	}
	return "", nil
}

func checkKind(k ParamKind, v string) error {
	switch k {
	case KindInt:
		if _, err := strconv.Atoi(v); err != nil {
			return fmt.Errorf("%q is not an integer", v)
		}
	case KindDuration:
		if d, err := time.ParseDuration(v); err != nil || d < 0 {
			return fmt.Errorf("%q is not a non-negative duration such as 90s or 5m", v)
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

// Registry is a set of techniques by id.
type Registry struct {
	byID map[string]*Technique
}

// NewRegistry builds a registry, refusing duplicate ids.
func NewRegistry(ts ...*Technique) (*Registry, error) {
	r := &Registry{byID: map[string]*Technique{}}
	for _, t := range ts {
		if _, dup := r.byID[t.ID]; dup {
			return nil, fmt.Errorf("attacker: technique %q registered twice", t.ID)
		}
		r.byID[t.ID] = t
	}
	return r, nil
}

// Get returns a technique by id.
func (r *Registry) Get(id string) (*Technique, bool) {
	t, ok := r.byID[id]
	return t, ok
}

// IDs lists the registered technique ids, sorted.
func (r *Registry) IDs() []string { return world.SortedKeys(r.byID) }

// Credentials are AWS credentials the attacker holds.
type Credentials struct {
	AccessKeyID, SecretAccessKey, SessionToken string
	// Label says where they came from, for events: "stolen-session" or
	// "persistence-key".
	Label string
	// Principal is the ARN they act as, when known.
	Principal string
	// Expires is zero for long-term keys.
	Expires time.Time
}

// State is what the attacker has gained so far; techniques later in a
// scenario build on what earlier ones obtained.
type State struct {
	// Foothold is the instance the attacker runs code on.
	Foothold string
	// Pool is the mining pool the miner talks to; PoolFlow its connection.
	Pool     PoolTarget
	PoolFlow string
	// Stolen are the instance-role credentials taken from IMDS.
	Stolen *Credentials
	// Persistence is the access key the attacker planted.
	Persistence *Credentials
	// PersistenceUser owns the planted key.
	PersistenceUser string
	// Launched are instance ids the attacker launched, by region.
	Launched map[string][]string
	// Azure and GCP are what the attacker holds in those clouds.
	Azure, GCP CloudFoothold
}

// CloudFoothold is what the attacker holds in Azure or GCP: a VM it runs
// code on, the miner's pool connection, the identity token it stole from
// the VM's metadata service, and the firewall backdoor it planted.
type CloudFoothold struct {
	// VM is the compromised VM: an ARM id on Azure, a resource path
	// (projects/P/zones/Z/instances/N) on GCP.
	VM       string
	Pool     PoolTarget
	PoolFlow string
	// Token is the stolen managed-identity (Azure) or service-account
	// (GCP) access token; Principal is who it acts as.
	Token        string
	TokenExpires time.Time
	Principal    string
	// Backdoor is the NSG rule or firewall rule the attacker added.
	Backdoor string
}

// AzureTarget is the victim's Azure side as the attacker reaches it.
type AzureTarget struct {
	// Endpoint is the ARM base URL (TLS); Base trusts its certificate.
	Endpoint                                      string
	Base                                          http.RoundTripper
	Tenant, Subscription, ResourceGroup, Location string
	// ScaleSet and NSG are the web scale set's and web NSG's ARM ids.
	ScaleSet, NSG string
}

// GCPTarget is the victim's GCP side as the attacker reaches it.
type GCPTarget struct {
	// Endpoint is the simulator's base URL; Base its HTTP transport.
	Endpoint      string
	Base          http.RoundTripper
	Project, Zone string
	// MIG is the web managed instance group's resource path.
	MIG string
}

// PoolTarget is a mining pool endpoint.
type PoolTarget struct {
	Domain string
	IP     string
	Port   int
}

// Env is everything a technique runs with.
type Env struct {
	// Clock is the drill clock; techniques wait only through it.
	Clock clock.Clock
	// Timeline receives attack.step and attack.action events.
	Timeline *timeline.Timeline
	// World is used for on-host effects only (processes, CPU, flows, IMDS).
	World *world.World
	// Endpoint is the simulator's base URL.
	Endpoint string
	// Account and Region are the victim's.
	Account, Region string
	// SourceIP is the attacker's internet address.
	SourceIP string
	// CorrelationID marks everything this run does: user agents, names, tags.
	CorrelationID string
	// Base is the HTTP transport under the drill transport (nil: default).
	Base http.RoundTripper
	// End is when the drill ends; long-running techniques stop before it.
	End time.Time
	// Azure and GCP are set when the scenario seeds those clouds.
	Azure *AzureTarget
	GCP   *GCPTarget
	// State accumulates what the attacker has gained.
	State State
}

// AWSConfig returns an SDK configuration acting with creds in region. The
// transport chain marks every request as the attacker's (source address and
// a user-agent suffix with the correlation id), charges the simulator's
// modelled latency and retry backoff on the drill clock, and the SDK's own
// retryer never sleeps on the wall clock.
func (e *Env) AWSConfig(creds *Credentials, region string) aws.Config {
	if region == "" {
		region = e.Region
	}
	return aws.Config{
		Region:       region,
		BaseEndpoint: aws.String(e.Endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken),
		HTTPClient: &http.Client{Transport: &simhttp.Mark{
			SourceIP: e.SourceIP, UserAgent: "firedrill-attacker/" + e.CorrelationID, Actor: "attacker",
			Next: &simhttp.Transport{Base: e.Base, Clock: e.Clock, Backoff: simhttp.ExponentialBackoff(time.Second, 20*time.Second)},
		}},
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
			})
		},
	}
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
	Cloud     string
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
		msg = errorMessage(err)
	}
	cloud := a.Cloud
	if cloud == "" {
		cloud = "aws"
	}
	e.Timeline.Add(timeline.Event{Actor: timeline.ActorAttacker, Kind: timeline.AttackAction, Name: a.Technique,
		Cloud: cloud, Resource: a.Resource, Outcome: outcome, Message: msg, Detail: d})
	return err
}

// errorMessage is an error as the timeline shows it. azcore's
// ResponseError prints the request URL (with the simulator's random
// loopback port) and a multi-line dump of the response; the timeline gets
// ARM's code and message instead, which are stable across runs.
func errorMessage(err error) string {
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
// refusal codes are denied, anything else failed.
func Classify(err error) (outcome, code string) {
	if err == nil {
		return timeline.Succeeded, ""
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
	e.Timeline.Add(timeline.Event{Actor: timeline.ActorAttacker, Kind: timeline.AttackStep, Name: t.ID, Cloud: t.CloudName(),
		Message: t.Name, Detail: map[string]string{"attack_id": t.ATTACK, "step": stepID, "correlation_id": e.CorrelationID}})
}

// hostCaller attributes the random draws of the attacker's on-host effects
// (flows, metadata-service credentials) to the attacker's own streams.
const hostCaller = "host/attacker"
