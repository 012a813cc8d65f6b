package detect

import (
	"fmt"
	"strings"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/gcpworld"
)

// Security Command Center finding categories the SCC model raises. The
// cryptomining ones are Event Threat Detection's and VM Threat Detection's
// own category names, so trigger rules written for real SCC match
// unchanged.
const (
	// SCCMiningBadDomain: a VM connected to a known mining-pool domain (ETD,
	// from Cloud DNS logs).
	SCCMiningBadDomain = "Malware: Cryptomining Bad Domain"
	// SCCMiningBadIP: a VM connected to a known mining-pool address or
	// stratum port (ETD, from VPC Flow Logs).
	SCCMiningBadIP = "Malware: Cryptomining Bad IP"
	// SCCMiningCombined: VM Threat Detection's memory scan matched a miner
	// (hash and YARA hits on one VM in a day).
	SCCMiningCombined = "Execution: Cryptocurrency Mining Combined Detection"
	// SCCSATokenOutside: a VM's service-account access token was used from
	// an address outside Google Cloud. ETD has no single public category
	// for this; the name is the simulator's, modelled on ETD's naming.
	SCCSATokenOutside = "Initial Access: Service Account Token Used Outside Google Cloud"
)

// SCCConfig tunes the Security Command Center model.
type SCCConfig struct {
	// ETDLatency is Event Threat Detection's delay from activity to a
	// visible finding: it works on Cloud DNS, VPC Flow and audit logs,
	// whose export takes minutes (default triangular 2/5/15 min).
	ETDLatency Latency
	// VMTDLatency is VM Threat Detection's delay: memory scans run
	// periodically, so findings trail the miner's start by tens of
	// minutes (default triangular 10/30/90 min).
	VMTDLatency Latency
	// MiningDomains and MiningPorts identify pool connections (defaults:
	// the GuardDuty model's lists).
	MiningDomains []string
	MiningPorts   []int
	// MinerProcesses are command substrings VMTD's scan recognises.
	MinerProcesses []string
}

// DefaultSCCConfig returns the defaults described on SCCConfig.
func DefaultSCCConfig() SCCConfig {
	gd := DefaultGuardDutyConfig()
	return SCCConfig{
		ETDLatency:     Latency{Min: 2 * time.Minute, Mode: 5 * time.Minute, Max: 15 * time.Minute},
		VMTDLatency:    Latency{Min: 10 * time.Minute, Mode: 30 * time.Minute, Max: 90 * time.Minute},
		MiningDomains:  gd.MiningDomains,
		MiningPorts:    gd.MiningPorts,
		MinerProcesses: []string{"xmrig", "minerd", "cpuminer", "xmr-stak", "kdevtmpfsi", "kinsing", "t-rex", "nbminer"},
	}
}

// SCC models Security Command Center's threat detectors (Event Threat
// Detection and VM Threat Detection) for projects where SCC is on. Register
// it with w.AddObserver. Findings are world findings with Detector
// "scc/etd" or "scc/vmtd" and the SCC category as Type; the GCP simulator
// serves them through the SCC v2 ListFindings API.
type SCC struct {
	Config SCCConfig
}

// NewSCC returns a model with cfg (zero fields keep their defaults).
func NewSCC(cfg SCCConfig) *SCC {
	def := DefaultSCCConfig()
	if cfg.ETDLatency == (Latency{}) {
		cfg.ETDLatency = def.ETDLatency
	}
	if cfg.VMTDLatency == (Latency{}) {
		cfg.VMTDLatency = def.VMTDLatency
	}
	if cfg.MiningDomains == nil {
		cfg.MiningDomains = def.MiningDomains
	}
	if cfg.MiningPorts == nil {
		cfg.MiningPorts = def.MiningPorts
	}
	if cfg.MinerProcesses == nil {
		cfg.MinerProcesses = def.MinerProcesses
	}
	return &SCC{Config: cfg}
}

var _ world.Observer = (*SCC)(nil)

// Observe implements world.Observer; it runs with the world lock held.
func (s *SCC) Observe(w *world.World, ev world.Event) {
	switch ev.Kind {
	case "flow.start":
		if ev.Flow != nil {
			s.observeFlow(w, ev)
		}
	case "api.call":
		if ev.Audit != nil && ev.Audit.Cloud == "gcp" {
			s.observeCall(w, ev)
		}
	}
}

func (s *SCC) enabled(w *world.World, project string) bool {
	p := gcpworld.Of(w).Projects.Lookup(project)
	return p != nil && p.SCC
}

func (s *SCC) observeFlow(w *world.World, ev world.Event) {
	f := ev.Flow
	if f.Direction != "" && f.Direction != "egress" {
		return
	}
	inst := gcpworld.Of(w).Instances.Lookup(f.Instance)
	if inst == nil || !s.enabled(w, inst.Project) {
		return
	}
	gd := GuardDuty{Config: GuardDutyConfig{MiningDomains: s.Config.MiningDomains, MiningPorts: s.Config.MiningPorts}}
	var cat, desc string
	switch {
	case f.Domain != "" && gd.miningDomain(f.Domain):
		cat = SCCMiningBadDomain
		desc = fmt.Sprintf("VM %s connected to %s (%s), a domain known to serve cryptocurrency mining pools.", inst.Name, f.Domain, f.RemoteIP)
	case gd.miningPort(f.RemotePort):
		cat = SCCMiningBadIP
		desc = fmt.Sprintf("VM %s connected to %s:%d, an address known to serve cryptocurrency mining pools.", inst.Name, f.RemoteIP, f.RemotePort)
	default:
		return
	}
	s.raise(w, "etd", s.Config.ETDLatency, &world.Finding{Type: cat, Severity: 8, Title: cat, Description: desc,
		ResourceType: "Instance", ResourceID: inst.Key, Region: inst.Zone,
		RemoteIP: f.RemoteIP, RemotePort: f.RemotePort, Domain: f.Domain}, inst.Project, ev.Time)
	if wi := w.Instances.Lookup(inst.Key); wi != nil {
		for _, p := range wi.Processes {
			if s.minerProcess(p.Command) {
				s.raise(w, "vmtd", s.Config.VMTDLatency, &world.Finding{Type: SCCMiningCombined, Severity: 9, Title: SCCMiningCombined,
					Description:  fmt.Sprintf("VM Threat Detection found cryptocurrency-mining software in the memory of VM %s (process %q, pid %d).", inst.Name, p.Command, p.PID),
					ResourceType: "Instance", ResourceID: inst.Key, Region: inst.Zone}, inst.Project, ev.Time)
				break
			}
		}
	}
}

func (s *SCC) minerProcess(cmd string) bool {
	cmd = strings.ToLower(cmd)
	for _, m := range s.Config.MinerProcesses {
		if strings.Contains(cmd, m) {
			return true
		}
	}
	return false
}

// observeCall flags a VM's service-account token used from an address that
// is not the VM's: credentials lifted from the metadata server.
func (s *SCC) observeCall(w *world.World, ev world.Event) {
	a := ev.Audit
	key, ok := strings.CutPrefix(a.Params["credentialSource"], "instance:")
	if !ok || !s.enabled(w, a.Account) {
		return
	}
	g := gcpworld.Of(w)
	inst := g.Instances.Lookup(key)
	if inst == nil {
		inst = g.DeletedInstances.Lookup(key)
	}
	if inst == nil || gcpInstanceOwnsIP(inst, a.SourceIP) {
		return
	}
	s.raise(w, "etd", s.Config.ETDLatency, &world.Finding{Type: SCCSATokenOutside, Severity: 8, Title: SCCSATokenOutside,
		Description: fmt.Sprintf("An access token of service account %s, issued to VM %s, was used from %s, outside Google Cloud, to call %s.",
			a.PrincipalARN, inst.Name, a.SourceIP, a.Operation),
		ResourceType: "ServiceAccount", ResourceID: fmt.Sprintf("projects/%s/serviceAccounts/%s", a.Account, a.PrincipalARN),
		Region: inst.Zone, PrincipalARN: a.PrincipalARN, RemoteIP: a.SourceIP, API: a.Operation, APIService: a.Service}, a.Account, ev.Time)
}

func gcpInstanceOwnsIP(inst *gcpworld.Instance, ip string) bool {
	for _, n := range inst.NICs {
		if n.NetworkIP == ip {
			return true
		}
		for _, ac := range n.AccessConfigs {
			if ac.NatIP == ip {
				return true
			}
		}
	}
	return false
}

// raise records a finding of an SCC service, visible after its latency.
func (s *SCC) raise(w *world.World, service string, lat Latency, f *world.Finding, project string, at time.Time) {
	f.Detector, f.Account = "scc/"+service, project
	f.FirstSeen, f.LastSeen, f.CreatedAt = at, at, at.Add(lat.Draw(w.StreamLocked("detector/scc/"+service)))
	rng := w.StreamLocked("detector/scc/" + service)
	f.ID = fmt.Sprintf("%016x%016x", rng.Uint64(), rng.Uint64())
	w.AddFindingLocked(f)
}
