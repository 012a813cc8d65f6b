package attacker

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/simcloud"
	"github.com/firedrill-ir/firedrill/timeline"
)

// Credential is a credential the attacker (or a legitimate user) holds.
type Credential = simcloud.Credential

// PathKind is a kind of access path.
type PathKind string

// Access path kinds.
const (
	// StolenCredential: a credential taken from a VM's metadata service
	// (or elsewhere) that is not the attacker's own.
	StolenCredential PathKind = "stolen_credential"
	// NetworkFlow: a connection the attacker keeps up (a web shell, a
	// miner's pool connection).
	NetworkFlow PathKind = "network_flow"
	// BackdoorRule: a network rule the attacker added to let itself in.
	BackdoorRule PathKind = "backdoor_rule"
	// PlantedCredential: an identity or key the attacker created for
	// itself.
	PlantedCredential PathKind = "planted_credential"
	// PolicyGrant: a resource-policy grant the attacker added.
	PolicyGrant PathKind = "policy_grant"
	// LaunchedCompute: compute the attacker launched (and runs its work on).
	LaunchedCompute PathKind = "launched_compute"
)

// Path statuses.
const (
	PathOpen = "open"
	PathCut  = "cut"
)

// Round is one pass of the attacker over its paths: a keep-access round,
// or the drill's final check (Final). Technique names the keep-access
// technique whose events the probes record; Params are its parameters.
type Round struct {
	Technique string
	Final     bool
	Params    Params
}

// Outcome is what a probe found: the path still works (Open), or it is cut
// with the error code that said so (a denial, "FlowEnded", …).
type Outcome struct {
	Open bool
	Code string
}

// Probe tries an access path through the wire with the attacker's own
// credentials, or from the host's view of the network. Probes record their
// own attack.action events where the attacker's calls are part of what
// scoring counts today, and no events where they are not (backdoor rules,
// launched compute): those only update the path.
type Probe func(ctx context.Context, env *Env, r Round) Outcome

// Path is one access path the attacker gained or planted.
type Path struct {
	ID   string
	Kind PathKind
	// Cloud is where the path is.
	Cloud string
	// Credential labels the credential the path uses ("stolen-session",
	// "persistence-key", "host", "none").
	Credential string
	// Resource is what the path concerns: the VM of a flow, the principal
	// of a credential, the rule, the instance.
	Resource    string
	Description string
	Probe       Probe `json:"-"`
	// Artifact is what the attacker planted, by kind ("access_key",
	// "network_rule", "vm") and id, when the path is something planted:
	// eradication removes it, and the final check asks the cloud whether
	// it still exists (a probe cannot tell a disabled key from a deleted
	// one).
	ArtifactKind, Artifact string

	// Status is the latest probe's answer ("" before any), ErrorCode its
	// code, Probes how many times it was tried and LastProbed when.
	Status     string
	ErrorCode  string
	Probes     int
	LastProbed time.Time
}

// Report is a path as the drill's final check reports it: the contract
// scoring reads, kept in package timeline.
type Report = timeline.PathReport

// Holding is what the attacker holds in one cloud.
type Holding struct {
	// Foothold is the VM the attacker runs code on ("" for none).
	Foothold string
	// Facts are what it learned there about its own place in the network
	// (see simcloud.Host.FactsLocked).
	Facts map[string]string
	// Credentials are the credentials it holds, in the order gained.
	Credentials []*Credential
}

// Credential returns the held credential with a label, nil if none.
func (h *Holding) Credential(label string) *Credential {
	for _, c := range h.Credentials {
		if c.Label == label {
			return c
		}
	}
	return nil
}

// Hold adds a credential, replacing one with the same label (a renewed
// token).
func (h *Holding) Hold(c *Credential) {
	for i, have := range h.Credentials {
		if have.Label == c.Label {
			h.Credentials[i] = c
			return
		}
	}
	h.Credentials = append(h.Credentials, c)
}

// State is what the attacker has gained so far, a generic store of holdings
// and access paths: techniques later in a scenario build on what earlier
// ones obtained, and the keep-access loop and the final check try its
// paths.
type State struct {
	holdings map[string]*Holding
	paths    []*Path
	// used are the operations each credential succeeded with, in the
	// order first seen: what verification replays.
	used []use
	// probed holds the operations the current probe has just made (by
	// cloud, credential and operation), which its replays skip.
	probed map[use]bool
}

// In returns the attacker's holding in a cloud.
func (s *State) In(cloud string) *Holding {
	if s.holdings == nil {
		s.holdings = map[string]*Holding{}
	}
	h := s.holdings[cloud]
	if h == nil {
		h = &Holding{}
		s.holdings[cloud] = h
	}
	return h
}

// Footholds lists the VMs the attacker runs code on in a cloud (none
// before its exploit worked).
func (s *State) Footholds(cloud string) []string {
	if h := s.holdings[cloud]; h != nil && h.Foothold != "" {
		return []string{h.Foothold}
	}
	return nil
}

// Gain adds an access path; a path of the same id (a technique run again)
// keeps the one already held, which is returned.
func (s *State) Gain(p *Path) *Path {
	if p.ID == "" {
		p.ID = fmt.Sprintf("%s/%s/%s", p.Cloud, p.Kind, p.Resource[strings.LastIndex(p.Resource, "/")+1:])
	}
	for _, have := range s.paths {
		if have.ID == p.ID {
			return have
		}
	}
	s.paths = append(s.paths, p)
	return p
}

// Paths lists the paths held in a cloud ("" for all), in the order gained.
func (s *State) Paths(cloud string) []*Path {
	var out []*Path
	for _, p := range s.paths {
		if cloud == "" || p.Cloud == cloud {
			out = append(out, p)
		}
	}
	return out
}

// AllCut reports whether the attacker holds paths in a cloud and the
// latest probe found every one cut.
func (s *State) AllCut(cloud string) bool {
	paths := s.Paths(cloud)
	for _, p := range paths {
		if p.Status != PathCut {
			return false
		}
	}
	return len(paths) > 0
}

// ProbePaths tries every path held in a cloud, in the order gained, and
// records each answer on the path.
func (e *Env) ProbePaths(ctx context.Context, cloud string, r Round) {
	for _, p := range e.State.Paths(cloud) {
		if p.Probe == nil {
			continue
		}
		e.State.probed = map[use]bool{}
		o := p.Probe(ctx, e, r)
		// A credential is open while any operation it succeeded with is
		// still authorized, whatever its own probe says.
		if c := e.State.In(cloud).Credential(p.Credential); c != nil && isCredentialPath(p.Kind) {
			if e.replay(ctx, cloud, p.Credential, c, r) && !o.Open {
				o = Outcome{Open: true}
			}
		}
		e.State.probed = nil
		p.Probes++
		p.LastProbed = e.Clock.Now()
		if !o.Open && Transient(o.Code) {
			// Throttled or a server error: the cloud said nothing about
			// the path, which keeps its last known state.
			e.recordProbe(p, r, o.Code)
			continue
		}
		p.Status, p.ErrorCode = PathCut, o.Code
		if o.Open {
			p.Status, p.ErrorCode = PathOpen, ""
		}
		e.recordProbe(p, r, "")
	}
}

// transientCodes are the clouds' throttling and server-error codes: an
// answer that says nothing about authorization.
var transientCodes = []string{
	"RequestLimitExceeded", "Throttling", "ThrottlingException", "TooManyRequestsException", "SlowDown", // AWS
	"InternalError", "InternalFailure", "InternalServerError", "InternalServerErrorException", "ServiceUnavailable",
	"TooManyRequests",                               // Azure
	"RESOURCE_EXHAUSTED", "UNAVAILABLE", "INTERNAL", // Google
}

// Transient reports whether an error code is throttling or a server
// error (Google's as "HTTP_5xx" too): a probe answered so is inconclusive.
func Transient(code string) bool {
	return slices.Contains(transientCodes, code) || strings.HasPrefix(code, "HTTP_5")
}

// Reports lists the paths held in a cloud as the final check reports them.
func (s *State) Reports(cloud string) []Report {
	out := []Report{}
	for _, p := range s.Paths(cloud) {
		out = append(out, Report{ID: p.ID, Kind: string(p.Kind), Cloud: p.Cloud, Credential: p.Credential,
			Resource: p.Resource, Description: p.Description, Status: p.Status, ErrorCode: p.ErrorCode,
			ArtifactKind: p.ArtifactKind, Artifact: p.Artifact})
	}
	return out
}

// Count counts the paths of a kind in a cloud whose latest probe found
// them open.
func (s *State) Count(cloud string, kind PathKind) int {
	n := 0
	for _, p := range s.Paths(cloud) {
		if p.Kind == kind && p.Status == PathOpen {
			n++
		}
	}
	return n
}

// outcome turns a recorded call's error into a probe outcome.
func outcome(err error) Outcome {
	if err == nil {
		return Outcome{Open: true}
	}
	_, code := Classify(err)
	if code == "" {
		code = "Failed"
	}
	return Outcome{Code: code}
}

// isCredentialPath reports whether a path is a credential the attacker
// calls the cloud with.
func isCredentialPath(k PathKind) bool { return k == StolenCredential || k == PlantedCredential }

// recordProbe puts a probe's answer on the timeline (an attack.path
// event): scoring reads each path's last success and its cut from them.
// An inconclusive probe (the transient code the cloud answered) is
// recorded as failed and changes nothing.
func (e *Env) recordProbe(p *Path, r Round, inconclusive string) {
	outcome := timeline.Denied
	if p.Status == PathOpen {
		outcome = timeline.Succeeded
	}
	if inconclusive != "" {
		outcome = timeline.Failed
	}
	d := map[string]string{"kind": string(p.Kind), "credential": p.Credential, "correlation_id": e.CorrelationID}
	if p.ErrorCode != "" {
		d["error_code"] = p.ErrorCode
	}
	if inconclusive != "" {
		d["error_code"], d["inconclusive"] = inconclusive, "true"
	}
	if r.Final {
		d["check"] = "final"
	}
	e.Timeline.Add(timeline.Event{Actor: timeline.ActorAttacker, Kind: timeline.PathProbe, Name: p.ID, Cloud: p.Cloud,
		Resource: p.Resource, Outcome: outcome, Message: p.Description, Detail: d})
}
