package detect

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/azureworld"
)

// Defender for Cloud alert types the model raises.
const (
	// DefenderMiningBehavior is Defender for Servers' "Digital currency
	// mining related behavior detected" on a Linux VM (process and
	// network behaviour of a miner).
	DefenderMiningBehavior = "VM_DigitalCurrencyMining"
	// DefenderSuspectDomain is "Communication with suspicious domain
	// identified by threat intelligence": a DNS lookup of a known mining pool.
	DefenderSuspectDomain = "DNS_ThreatIntelSuspectDomain"
	// DefenderMITokenOutsideAzure models Defender for Resource Manager
	// flagging ARM calls made with a VM's managed-identity token from an
	// address outside Azure (a token stolen from IMDS). The type name is
	// firedrill's: Defender reports this family of detections under its
	// anomalous-operation alerts, without one stable public type id.
	DefenderMITokenOutsideAzure = "ARM_ManagedIdentityTokenUsedOutsideAzure"
)

// DefenderConfig tunes the Defender for Cloud model.
type DefenderConfig struct {
	// MiningLatency is the delay from a miner's first pool connection to the
	// behaviour alert being listed: Defender's behavioural analytics batch
	// process and network telemetry, typically 10-20 minutes, occasionally
	// longer. Default triangular 6/12/35 minutes.
	MiningLatency Latency
	// DomainLatency is the DNS threat-intelligence alert delay. Default
	// triangular 8/15/40 minutes.
	DomainLatency Latency
	// TokenLatency is the Defender for Resource Manager alert delay after
	// the first outside call. Default triangular 10/20/60 minutes.
	TokenLatency Latency
	// MiningDomains and MiningPorts identify pool traffic.
	MiningDomains []string
	MiningPorts   []int
}

// DefaultDefenderConfig returns the defaults described on DefenderConfig.
func DefaultDefenderConfig() DefenderConfig {
	gd := DefaultGuardDutyConfig()
	return DefenderConfig{
		MiningLatency: Latency{Min: 6 * time.Minute, Mode: 12 * time.Minute, Max: 35 * time.Minute},
		DomainLatency: Latency{Min: 8 * time.Minute, Mode: 15 * time.Minute, Max: 40 * time.Minute},
		TokenLatency:  Latency{Min: 10 * time.Minute, Mode: 20 * time.Minute, Max: 60 * time.Minute},
		MiningDomains: gd.MiningDomains, MiningPorts: gd.MiningPorts,
	}
}

// Defender is the Microsoft Defender for Cloud model. Register it with
// w.AddObserver. Alerts are raised only for subscriptions with Defender for
// Servers on (world.AzureState.DefenderPlans); they are world Findings with
// Detector world.AzureDefenderDetector(subscription).
type Defender struct {
	Config DefenderConfig
}

// NewDefender returns a model with cfg (zero fields keep their defaults).
func NewDefender(cfg DefenderConfig) *Defender {
	def := DefaultDefenderConfig()
	if cfg.MiningLatency == (Latency{}) {
		cfg.MiningLatency = def.MiningLatency
	}
	if cfg.DomainLatency == (Latency{}) {
		cfg.DomainLatency = def.DomainLatency
	}
	if cfg.TokenLatency == (Latency{}) {
		cfg.TokenLatency = def.TokenLatency
	}
	if cfg.MiningDomains == nil {
		cfg.MiningDomains = def.MiningDomains
	}
	if cfg.MiningPorts == nil {
		cfg.MiningPorts = def.MiningPorts
	}
	return &Defender{Config: cfg}
}

var _ world.Observer = (*Defender)(nil)

// Observe implements world.Observer; it runs with the world lock held.
func (d *Defender) Observe(w *world.World, ev world.Event) {
	if !azureworld.Has(w) {
		return
	}
	switch ev.Kind {
	case "flow.start":
		if ev.Flow != nil {
			d.observeFlow(w, ev)
		}
	case "api.call":
		if ev.Audit != nil && ev.Audit.Cloud == "azure" {
			d.observeCall(w, ev)
		}
	}
}

func (d *Defender) on(w *world.World, sub string) bool {
	return azureworld.Of(w).DefenderPlans.Lookup(sub)
}

func (d *Defender) observeFlow(w *world.World, ev world.Event) {
	f := ev.Flow
	if f.Direction != "egress" {
		return
	}
	vm := azureworld.Of(w).VM(f.Instance)
	if vm == nil || !d.on(w, vm.Subscription) {
		return
	}
	g := &GuardDuty{Config: GuardDutyConfig{MiningDomains: d.Config.MiningDomains, MiningPorts: d.Config.MiningPorts}}
	pool := (f.Domain != "" && g.miningDomain(f.Domain)) || g.miningPort(f.RemotePort)
	if !pool {
		return
	}
	d.raise(w, vm.Subscription, vm.Location, &world.Finding{
		Type: DefenderMiningBehavior, Severity: 8,
		Title: "Digital currency mining related behavior detected",
		Description: fmt.Sprintf("Analysis of host data on %s detected the execution of a process or command normally associated with digital currency mining, and a connection to %s:%d.",
			vm.Name, f.RemoteIP, f.RemotePort),
		ResourceType: "VirtualMachine", ResourceID: vm.ID, RemoteIP: f.RemoteIP, RemotePort: f.RemotePort, Domain: f.Domain,
	}, ev.Time, d.Config.MiningLatency)
	if f.Domain != "" && g.miningDomain(f.Domain) {
		d.raise(w, vm.Subscription, vm.Location, &world.Finding{
			Type: DefenderSuspectDomain, Severity: 5,
			Title: "Communication with suspicious domain identified by threat intelligence",
			Description: fmt.Sprintf("Communication with suspicious domain %s was detected by analyzing DNS transactions from %s. The domain is associated with cryptocurrency mining.",
				f.Domain, vm.Name),
			ResourceType: "VirtualMachine", ResourceID: vm.ID, RemoteIP: f.RemoteIP, Domain: f.Domain,
		}, ev.Time, d.Config.DomainLatency)
	}
}

// observeCall flags ARM calls made with a managed identity's token (its
// source is IMDS on a VM) from an address that is neither the VM's nor
// inside Azure.
func (d *Defender) observeCall(w *world.World, ev world.Event) {
	a := ev.Audit
	tok := azureworld.Of(w).Tokens.Lookup(a.AccessKeyID)
	if tok == nil || !strings.HasPrefix(tok.Source, "imds:") || !d.on(w, a.Account) {
		return
	}
	vmID := strings.TrimPrefix(tok.Source, "imds:")
	if azureVMOwnsIP(w, vmID, a.SourceIP) || inAzure(a.SourceIP) {
		return
	}
	vm := azureworld.Of(w).VM(vmID)
	loc, name := a.Region, vmID
	if vm != nil {
		loc, name = vm.Location, vm.Name
	}
	d.raise(w, a.Account, loc, &world.Finding{
		Type: DefenderMITokenOutsideAzure, Severity: 8,
		Title: "Managed identity token used from outside Azure",
		Description: fmt.Sprintf("The managed identity of %s called %s from %s, an address outside Azure. Its token was likely stolen from the VM's instance metadata service; tokens stay valid for up to 24 hours after the identity is removed.",
			name, a.Operation, a.SourceIP),
		ResourceType: "VirtualMachine", ResourceID: vmID, AccessKeyID: tok.ID, PrincipalARN: tok.ObjectID,
		RemoteIP: a.SourceIP, API: a.Operation, APIService: a.Service,
	}, ev.Time, d.Config.TokenLatency)
}

func inAzure(ip string) bool {
	a, err := netip.ParseAddr(ip)
	if err != nil || a.IsLoopback() || a.IsPrivate() {
		return err == nil // loopback/private: the simulator's own plumbing, not the internet
	}
	for _, p := range []string{"13.64.0.0/11", "20.0.0.0/8", "40.64.0.0/10", "51.104.0.0/15", "52.224.0.0/11", "104.40.0.0/13"} {
		if netip.MustParsePrefix(p).Contains(a) {
			return true
		}
	}
	return false
}

func azureVMOwnsIP(w *world.World, vmID, ip string) bool {
	inst := w.Instances.Lookup(vmID)
	if inst == nil {
		return false
	}
	if ip == inst.PrivateIP || (ip != "" && ip == inst.PublicIP) {
		return true
	}
	for _, n := range inst.ENIs {
		if e := w.ENIs.Lookup(n); e != nil && (e.PrivateIP == ip || (ip != "" && e.PublicIP == ip)) {
			return true
		}
	}
	return false
}

// raise records an alert visible after a latency drawn from lat.
func (d *Defender) raise(w *world.World, sub, location string, f *world.Finding, at time.Time, lat Latency) {
	f.Detector, f.Account, f.Region = azureworld.DefenderDetector(sub), sub, location
	f.FirstSeen, f.LastSeen, f.CreatedAt = at, at, at.Add(lat.Draw(w.StreamLocked("detector/defender")))
	f.ID = fmt.Sprintf("2517%015d_%s", w.StreamLocked("detector/defender").Uint64()%1e15,
		world.GUIDFrom(w.StreamLocked("detector/defender")))
	w.AddFindingLocked(f)
}
