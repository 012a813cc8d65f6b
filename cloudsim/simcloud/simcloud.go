// Package simcloud is the registry of simulated clouds a drill can seed and
// serve. Each cloud registers one Driver from its own front-end package
// (cloudsim/awssim, cloudsim/azuresim, cloudsim/gcpsim): how to serve it,
// what its audit log is called, which of its audit records mean "the
// platform removed a VM on scale-in", the resource kinds a scenario may seed
// there, what code on one of its VMs sees and does (Host), and the
// credentials of its legitimate principals. Preset packs (cloudsim/demo)
// register named base environments that expand into typed resources.
//
// The drill runner and the attacker reach every cloud through this registry,
// so that nothing outside cloudsim and providers switches on a cloud's name.
package simcloud

import (
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/fault"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/providers"
)

// Driver is one simulated cloud as a drill uses it.
type Driver struct {
	// Cloud is the cloud's name as scenarios and events spell it.
	Cloud string
	// Handler builds the cloud's wire front end over w, injecting faults
	// (nil: none).
	Handler func(w *world.World, faults *fault.Set) http.Handler
	// TLS says the front end must be served over TLS (azcore's
	// bearer-token policy refuses plain HTTP).
	TLS bool
	// AuditLog names the cloud's audit log in timeline events.
	AuditLog AuditLog
	// OwnsAudit reports whether an audit record is this cloud's.
	OwnsAudit func(a *world.AuditEvent) bool
	// Termination reports whether a successful audit record removed a VM
	// (deletes reports it) and whether the platform did it on scale-in
	// rather than a person or a tool.
	Termination func(a *world.AuditEvent) (deletes, scaleIn bool)
	// Host is what code running on one of the cloud's VMs sees and does.
	Host Host
	// Kinds are the resource kinds a scenario may seed in this cloud.
	Kinds []Kind
	// PrincipalCredentialLocked hands out credentials of a legitimate
	// principal of the seeded environment (an IAM user's active key, an
	// application's token, a user's token), for background activity. ok is
	// false when the principal holds no usable credential (it makes no
	// calls). Draws are attributed to the caller the world is locked as.
	PrincipalCredentialLocked func(w *world.World, site Site, principal string) (cred *Credential, ok bool, err error)
	// Operations lists every operation the cloud's front end serves, for
	// the generated table in docs/sim-operations.md; nil while a cloud has
	// not listed them yet.
	Operations func() []Operation
	// Live is what `sim serve --scenario` uses to push findings and export
	// audit logs (nil: neither); cloud packages add it through Extend.
	Live *Live
	// Serve serves the cloud to outside clients (`sim serve`); the demo
	// presets add it through Extend.
	Serve func(cfg ServeConfig) (*Served, error)
}

// Operation is one operation a simulated service serves, named as the
// cloud's API reference and audit log name it: Service "ec2", Name
// "DescribeInstances"; Service "Microsoft.Compute", Name
// "virtualMachines/read"; Service "compute", Name "instances.list".
type Operation struct{ Service, Name string }

// AuditLog names a cloud's audit log: Name as timeline events carry it,
// Title as messages print it.
type AuditLog struct{ Name, Title string }

// Kind is a resource kind a scenario may seed in a cloud. Fields lists the
// resource fields it accepts besides cloud, kind and name (YAML names, see
// Resource); Check validates a resource of the kind and returns the
// offending field with the error; Apply seeds it into the environment the
// cloud's preset pack built, with the world locked.
type Kind struct {
	Name   string
	Doc    string
	Fields []string
	Check  func(r *Resource) (field string, err error)
	Apply  func(w *world.World, env Env, r *Resource, start time.Time) error
}

// Site is where a seeded environment lives, as its users know it: the
// account (AWS account, Azure subscription, GCP project), the home region
// (region, location) and the rest by name (Azure's tenant and resource
// group, GCP's zone, the workload's VM group, …).
type Site struct {
	Cloud, Account, Region string
	Props                  map[string]string
}

// Prop returns a named property of the site ("" when unset).
func (s Site) Prop(name string) string { return s.Props[name] }

// Env is one cloud's seeded environment.
type Env interface {
	// Site is where it lives.
	Site() Site
	// Responder is who the responder acts as there (the target without
	// endpoint and HTTP client, which the drill supplies) and the bucket
	// it keeps evidence in.
	Responder() (providers.Target, string)
}

// Credential is a credential some principal holds in a cloud: an access
// key (KeyID and Secret, with SessionToken for a session) or a bearer
// Token. Label says where it came from for events ("stolen-session",
// "persistence-key", "stolen-token", …); Expires is zero for long-term keys.
type Credential struct {
	Cloud, Label, Principal            string
	KeyID, Secret, SessionToken, Token string
	Expires                            time.Time
}

// Host is the view from inside one of a cloud's VMs: what an attacker with
// code execution there (or the cloud's own agents) can see and do without
// calling the cloud's API. Every method needs the world locked.
type Host interface {
	// GroupMembersLocked lists the running members of a VM group (an
	// autoscaling group, scale set or managed instance group) named as the
	// scenario names it, oldest first.
	GroupMembersLocked(w *world.World, site Site, group string) ([]string, error)
	// OpenFlowLocked opens a connection on the VM through the cloud's own
	// network model (security groups, NSGs, VPC firewall rules).
	OpenFlowLocked(w *world.World, vm string, spec world.FlowSpec) (*world.Flow, error)
	// FactsLocked is what code on the VM learns about its own place in the
	// network: e.g. "network" (a GCP network), "network_security_group"
	// (an Azure NSG id), "exposed_by" (the rule that admits a connection
	// from fromIP to port).
	FactsLocked(w *world.World, vm, fromIP string, port int) map[string]string
	// CredentialLocked is what the VM's metadata service hands anything
	// running on it: the credential of the VM's identity, with details for
	// the record (role, principal id, expiry).
	CredentialLocked(w *world.World, vm string) (*Credential, map[string]string, error)
	// AdmitsLocked says whether a network rule (an NSG security rule or a
	// firewall rule, by resource id) still lets a new connection from
	// fromIP to port reach any running VM it applies to: open with the VM,
	// or not with the reason's error code.
	AdmitsLocked(w *world.World, rule, fromIP string, port int) (open bool, vm, code string)
	// AcceptsLocked says whether the VM would accept a new TCP connection
	// from fromIP, an address on the internet, to port on its public
	// address now: the VM running, with a public address, and its
	// network's rules (security groups and the subnet's network ACL, the
	// NIC's NSG, the VPC firewall) letting the connection in, decided as
	// OpenFlowLocked would but without opening it; or not, with the
	// refusal's code. It is what a client of a web tier finds.
	AcceptsLocked(w *world.World, vm, fromIP string, port int) (ok bool, code string)
	// ArtifactLocked says whether something planted still exists (an
	// access key, disabled or not; a network rule; an instance not yet
	// terminated), by kind ("access_key", "network_rule", "vm") and id,
	// and for compute what it has cost so far: eradication's ground truth,
	// which the attacker's own probes cannot tell (a disabled key and a
	// deleted one are both refused).
	ArtifactLocked(w *world.World, kind, id string) (present bool, costUSD float64)
}

// ClientPort is the ephemeral source port a client's connection is
// checked from (inside Linux's and Windows' ephemeral ranges), so that
// asking whether a connection would be admitted draws nothing.
const ClientPort = 50000

// ClientFlow is a new inbound TCP connection from fromIP to port, as
// AcceptsLocked checks it.
func ClientFlow(fromIP string, port int) world.FlowSpec {
	return world.FlowSpec{Direction: "ingress", Protocol: "tcp", LocalPort: port, RemoteIP: fromIP, RemotePort: ClientPort}
}

// RefusalCode is the code of a refused connection: the kind of the
// network model's error ("Blocked", "IncorrectState", …), "Refused" for
// any other error.
func RefusalCode(err error) string {
	if ce, ok := world.ComputeErrorOf(err); ok {
		return string(ce.Kind)
	}
	return "Refused"
}

// registry is a set of named registrations; registering a name twice is
// a programming error.
type registry[T any] struct {
	what string
	mu   sync.RWMutex
	m    map[string]T
}

func (r *registry[T]) add(name string, v T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.m[name]; dup {
		panic(fmt.Sprintf("simcloud: %s %q registered twice", r.what, name))
	}
	r.m[name] = v
}

func (r *registry[T]) get(name string) (T, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	v, ok := r.m[name]
	return v, ok
}

func (r *registry[T]) names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return world.SortedKeys(r.m)
}

var (
	drivers = &registry[*Driver]{what: "cloud", m: map[string]*Driver{}}
	packs   = &registry[*Pack]{what: "preset pack", m: map[string]*Pack{}}
)

// Register adds a cloud's driver.
func Register(d *Driver) {
	drivers.add(d.Cloud, d)
	applyPending(d)
}

// Get returns a cloud's driver.
func Get(cloud string) (*Driver, bool) { return drivers.get(cloud) }

// Clouds lists the registered clouds, sorted.
func Clouds() []string { return drivers.names() }

// Kind returns a resource kind of a cloud.
func (d *Driver) Kind(name string) (*Kind, bool) {
	for i := range d.Kinds {
		if d.Kinds[i].Name == name {
			return &d.Kinds[i], true
		}
	}
	return nil, false
}

// KindNames lists the cloud's resource kinds.
func (d *Driver) KindNames() []string {
	out := make([]string, len(d.Kinds))
	for i, k := range d.Kinds {
		out[i] = k.Name
	}
	return out
}

// AuditCloud is the cloud an audit record belongs to ("" if no registered
// cloud claims it).
func AuditCloud(a *world.AuditEvent) string {
	for _, c := range Clouds() {
		if d, _ := Get(c); d.OwnsAudit(a) {
			return c
		}
	}
	return ""
}

// CloudOfLocked is the cloud a world resource (a VM, a disk, or the VM of
// a flow) belongs to, from the account that holds it; "" when unknown.
func CloudOfLocked(w *world.World, id string) string {
	acct := ""
	if inst := w.Instances.Lookup(id); inst != nil {
		acct = inst.Account
	} else if v := w.Volumes.Lookup(id); v != nil {
		acct = v.Account
	}
	if a := w.Accounts.Lookup(acct); a != nil {
		return a.Cloud
	}
	return ""
}

// Pack is a named preset: a base environment in one cloud (accounts,
// principals, network, the workload) and the resources it expands into,
// which a scenario may change through the preset's overrides or its own
// resources list.
type Pack struct {
	Name, Cloud, Doc string
	// Resources are what the preset seeds by default, in seeding order.
	Resources []Resource
	// Group and Identity name the resources the preset's overrides change:
	// instances and scale_in change the VM group, role_policies and
	// service_account_roles the workload's identity.
	Group, Identity string
	// Seed builds the base environment in w, sized by the scenario's
	// resources of the preset (the VM group's size); the drill then
	// applies every resource through its kind.
	Seed func(w *world.World, res []Resource) (Env, error)
}

// RegisterPack adds a preset pack.
func RegisterPack(p *Pack) { packs.add(p.Name, p) }

// GetPack returns a preset pack.
func GetPack(name string) (*Pack, bool) { return packs.get(name) }

// Packs lists the registered preset packs' names, sorted.
func Packs() []string { return packs.names() }

// Find returns the resource of a kind and name in res.
func Find(res []Resource, kind, name string) *Resource {
	for i := range res {
		if res[i].Kind == kind && res[i].Name == name {
			return &res[i]
		}
	}
	return nil
}
