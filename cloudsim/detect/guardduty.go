// Package detect models the clouds' managed threat detectors. A model is a
// world.Observer: it watches world events (flows opening, API calls landing
// in the audit log) and records findings that become visible after a
// realistic detection latency. Models run synchronously under the world lock
// and draw all randomness from the world's seeded generator, so a drill with
// the same seed raises the same findings at the same modelled times.
package detect

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/awsworld"
)

// Finding types the GuardDuty model raises. They are GuardDuty's own names so
// that responders' trigger rules written for AWS match unchanged.
const (
	// TypeMiningDNS: an instance resolved/connected to a known mining pool
	// domain (GuardDuty: DNS-based threat intel).
	TypeMiningDNS = "CryptoCurrency:EC2/BitcoinTool.B!DNS"
	// TypeMiningIP: an instance connected to a mining pool by address/port
	// only (no domain); GuardDuty's network-connection variant.
	TypeMiningIP = "CryptoCurrency:EC2/BitcoinTool.B"
	// TypeCredentialExfiltration: instance-role credentials used from an
	// address that is not the instance's.
	TypeCredentialExfiltration = "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS"
	// TypeAnomalousLaunch: a burst of RunInstances by one principal. GuardDuty
	// reports anomalous API use as Impact:IAMUser/AnomalousBehavior (its ML
	// model has no fixed threshold; ours is GuardDutyConfig.LaunchBurst).
	TypeAnomalousLaunch = "Impact:IAMUser/AnomalousBehavior"
	// TypeTrailStopped: a CloudTrail trail was stopped (StopLogging), the
	// defense evasion GuardDuty reports as
	// Stealth:IAMUser/CloudTrailLoggingDisabled.
	TypeTrailStopped = "Stealth:IAMUser/CloudTrailLoggingDisabled"
)

// Latency is a detection delay distribution: triangular between Min and Max
// with its peak at Mode (see world.Latency, which the world's propagation
// knobs share).
type Latency = world.Latency

// GuardDutyConfig tunes the GuardDuty model; scenarios override fields.
type GuardDutyConfig struct {
	// FindingLatency is the delay from the activity to the finding being
	// visible in ListFindings. GuardDuty documents new findings reaching
	// EventBridge "within ~5 minutes" and testers observe 5–10 minutes
	// (attack-and-scoring notes §3.4): default triangular 3/5/12 minutes.
	FindingLatency Latency
	// MiningDomains are pool domains; a flow to one of them or a subdomain
	// raises TypeMiningDNS.
	MiningDomains []string
	// MiningPorts are stratum ports; an egress flow to one of them without a
	// known domain raises TypeMiningIP.
	MiningPorts []int
	// LaunchBurst and LaunchWindow: this many successful RunInstances calls
	// by one principal within the window raise TypeAnomalousLaunch.
	LaunchBurst  int
	LaunchWindow time.Duration
}

// DefaultGuardDutyConfig returns the defaults described on GuardDutyConfig.
func DefaultGuardDutyConfig() GuardDutyConfig {
	return GuardDutyConfig{
		FindingLatency: Latency{Min: 3 * time.Minute, Mode: 5 * time.Minute, Max: 12 * time.Minute},
		MiningDomains: []string{"pool.minexmr.com", "minexmr.com", "xmr.pool.example", "supportxmr.com",
			"moneroocean.stream", "nanopool.org", "xmrpool.eu", "hashvault.pro", "c3pool.com", "2miners.com",
			"f2pool.com", "nicehash.com"},
		MiningPorts:  []int{3333, 4444, 5555, 7777, 14433, 14444, 45560},
		LaunchBurst:  3,
		LaunchWindow: 10 * time.Minute,
	}
}

// GuardDuty is the AWS GuardDuty model. Register it with w.AddObserver.
// Findings are raised only for accounts and regions with an enabled
// Detector, as in AWS; activity before a detector exists is never reported.
type GuardDuty struct {
	Config GuardDutyConfig
	// launches remembers recent RunInstances times per principal ARN.
	launches map[string][]time.Time
}

// NewGuardDuty returns a model with cfg (zero fields keep their defaults).
func NewGuardDuty(cfg GuardDutyConfig) *GuardDuty {
	def := DefaultGuardDutyConfig()
	if cfg.FindingLatency == (Latency{}) {
		cfg.FindingLatency = def.FindingLatency
	}
	if cfg.MiningDomains == nil {
		cfg.MiningDomains = def.MiningDomains
	}
	if cfg.MiningPorts == nil {
		cfg.MiningPorts = def.MiningPorts
	}
	if cfg.LaunchBurst == 0 {
		cfg.LaunchBurst = def.LaunchBurst
	}
	if cfg.LaunchWindow == 0 {
		cfg.LaunchWindow = def.LaunchWindow
	}
	return &GuardDuty{Config: cfg, launches: map[string][]time.Time{}}
}

var _ world.Observer = (*GuardDuty)(nil)

// Observe implements world.Observer; it runs with the world lock held.
func (g *GuardDuty) Observe(w *world.World, ev world.Event) {
	switch ev.Kind {
	case "flow.start":
		if ev.Flow != nil {
			g.observeFlow(w, ev)
		}
	case "api.call":
		if ev.Audit != nil && ev.Audit.Cloud == "aws" {
			g.observeCall(w, ev)
		}
	}
}

// DetectorFor returns the enabled detector of an account and region, if any.
func DetectorFor(w *world.World, account, region string) *awsworld.Detector {
	for _, id := range awsworld.Of(w).Detectors.Keys() {
		d := awsworld.Of(w).Detectors.Lookup(id)
		if d.Account == account && d.Region == region && d.Enabled {
			return d
		}
	}
	return nil
}

func (g *GuardDuty) observeFlow(w *world.World, ev world.Event) {
	f := ev.Flow
	if f.Direction != "" && f.Direction != "egress" {
		return
	}
	inst := ev.Instance
	if inst == nil {
		inst = w.Instances.Lookup(f.Instance)
	}
	if inst == nil {
		return
	}
	typ := ""
	switch {
	case f.Domain != "" && g.miningDomain(f.Domain):
		typ = TypeMiningDNS
	case g.miningPort(f.RemotePort):
		typ = TypeMiningIP
	default:
		return
	}
	det := DetectorFor(w, inst.Account, inst.Region)
	if det == nil {
		return
	}
	title := fmt.Sprintf("Bitcoin-related domain name queried by EC2 instance %s.", inst.ID)
	desc := fmt.Sprintf("EC2 instance %s is querying a domain name that is associated with Bitcoin-related activity (%s).", inst.ID, f.Domain)
	if typ == TypeMiningIP {
		title = fmt.Sprintf("Bitcoin-related IP address communicated with EC2 instance %s.", inst.ID)
		desc = fmt.Sprintf("EC2 instance %s is communicating with IP address %s on port %d, which is associated with cryptocurrency mining.", inst.ID, f.RemoteIP, f.RemotePort)
	}
	g.raise(w, det, &world.Finding{
		Type: typ, Severity: 8, Title: title, Description: desc,
		ResourceType: "Instance", ResourceID: inst.ID,
		RemoteIP: f.RemoteIP, RemotePort: f.RemotePort, Domain: f.Domain,
	}, ev.Time)
}

func (g *GuardDuty) miningDomain(d string) bool {
	d = strings.TrimSuffix(strings.ToLower(d), ".")
	for _, m := range g.Config.MiningDomains {
		m = strings.ToLower(m)
		if d == m || strings.HasSuffix(d, "."+m) {
			return true
		}
	}
	return false
}

func (g *GuardDuty) miningPort(p int) bool {
	for _, m := range g.Config.MiningPorts {
		if p == m {
			return true
		}
	}
	return false
}

func (g *GuardDuty) observeCall(w *world.World, ev world.Event) {
	a := ev.Audit
	det := DetectorFor(w, a.Account, a.Region)
	if det == nil {
		det = g.globalDetector(w, a)
	}
	if det == nil {
		return
	}
	if s := awsworld.Of(w).Sessions.Lookup(a.AccessKeyID); s != nil {
		if id, ok := strings.CutPrefix(s.Source, "instance:"); ok && !instanceOwnsIP(w, id, a.SourceIP) {
			g.raise(w, det, &world.Finding{
				Type: TypeCredentialExfiltration, Severity: 8,
				Title: fmt.Sprintf("Credentials for instance role %s used from external IP address.", s.Role),
				Description: fmt.Sprintf("Credentials created exclusively for an EC2 instance using instance role %s have been used from external IP address %s.",
					s.Role, a.SourceIP),
				ResourceType: "AccessKey", ResourceID: a.AccessKeyID, AccessKeyID: a.AccessKeyID,
				PrincipalARN: a.PrincipalARN, RemoteIP: a.SourceIP, API: a.Operation, APIService: a.Service,
			}, ev.Time)
		}
	}
	if a.Operation == "RunInstances" && a.ErrorCode == "" && a.PrincipalARN != "" {
		g.observeLaunch(w, det, a, ev.Time)
	}
	if a.Operation == "StopLogging" && a.Service == "cloudtrail.amazonaws.com" && a.ErrorCode == "" {
		trail := ""
		for _, r := range a.Resources {
			trail = r.Name
		}
		g.raise(w, det, &world.Finding{
			Type: TypeTrailStopped, Severity: 2,
			Title:        fmt.Sprintf("AWS CloudTrail trail %s was disabled.", trail),
			Description:  fmt.Sprintf("The CloudTrail trail %s was disabled by %s calling StopLogging.", trail, a.PrincipalARN),
			ResourceType: "AccessKey", ResourceID: a.AccessKeyID, AccessKeyID: a.AccessKeyID,
			PrincipalARN: a.PrincipalARN, RemoteIP: a.SourceIP, API: a.Operation, APIService: a.Service,
		}, ev.Time)
	}
}

// globalDetector maps calls to global services (IAM, STS), which CloudTrail
// records in us-east-1, to the account's detector there.
func (g *GuardDuty) globalDetector(w *world.World, a *world.AuditEvent) *awsworld.Detector {
	if a.Service == "iam.amazonaws.com" || a.Service == "sts.amazonaws.com" {
		return DetectorFor(w, a.Account, "us-east-1")
	}
	return nil
}

func (g *GuardDuty) observeLaunch(w *world.World, det *awsworld.Detector, a *world.AuditEvent, at time.Time) {
	recent := g.launches[a.PrincipalARN][:0:0]
	for _, t := range g.launches[a.PrincipalARN] {
		if at.Sub(t) < g.Config.LaunchWindow {
			recent = append(recent, t)
		}
	}
	recent = append(recent, at)
	g.launches[a.PrincipalARN] = recent
	if len(recent) < g.Config.LaunchBurst {
		return
	}
	g.raise(w, det, &world.Finding{
		Type: TypeAnomalousLaunch, Severity: 5,
		Title: fmt.Sprintf("User %s is invoking APIs in an unusual way.", a.UserName),
		Description: fmt.Sprintf("APIs commonly used in Impact tactics were invoked by %s: %d RunInstances calls within %s.",
			a.PrincipalARN, len(recent), g.Config.LaunchWindow),
		ResourceType: "AccessKey", ResourceID: a.AccessKeyID, AccessKeyID: a.AccessKeyID,
		PrincipalARN: a.PrincipalARN, RemoteIP: a.SourceIP, API: a.Operation, APIService: a.Service,
	}, at)
}

// instanceOwnsIP reports whether ip is one of the instance's own addresses
// (private or public, on any interface or Elastic IP).
func instanceOwnsIP(w *world.World, id, ip string) bool {
	inst := w.Instances.Lookup(id)
	if inst == nil {
		return false
	}
	want, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	same := func(s string) bool {
		a, err := netip.ParseAddr(s)
		return err == nil && a == want
	}
	if same(inst.PrivateIP) || same(inst.PublicIP) {
		return true
	}
	for _, eid := range inst.ENIs {
		if e := w.ENIs.Lookup(eid); e != nil && (same(e.PrivateIP) || same(e.PublicIP)) {
			return true
		}
	}
	for _, aid := range awsworld.Of(w).Addresses.Keys() {
		if ad := awsworld.Of(w).Addresses.Lookup(aid); ad.Instance == id && same(ad.PublicIP) {
			return true
		}
	}
	return false
}

// raise records a finding on det, visible after the modelled latency.
func (g *GuardDuty) raise(w *world.World, det *awsworld.Detector, f *world.Finding, at time.Time) {
	rng := w.StreamLocked("detector/guardduty")
	visible := at.Add(g.Config.FindingLatency.Draw(rng))
	f.Detector, f.Account, f.Region = det.ID, det.Account, det.Region
	f.FirstSeen, f.LastSeen, f.CreatedAt = at, at, visible
	f.ID = fmt.Sprintf("%016x%016x", rng.Uint64(), rng.Uint64())
	w.AddFindingLocked(f)
}
