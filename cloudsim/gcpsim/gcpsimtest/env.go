// Package gcpsimtest starts the simulated Google Cloud on a loopback
// listener for tests and hands out client options for its principals.
package gcpsimtest

import (
	"github.com/firedrill-ir/firedrill/clock"
	"net/http/httptest"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"google.golang.org/api/option"

	"github.com/firedrill-ir/firedrill/cloudsim/gcpsim"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/gcpworld"
)

// Fixed names of every test environment.
const (
	Project = "firedrill-test"
	Region  = "us-central1"
	Zone    = "us-central1-a"
	Admin   = "admin@firedrill.test"
	Network = "projects/" + Project + "/global/networks/default"
	Subnet  = "projects/" + Project + "/regions/" + Region + "/subnetworks/default"
)

// ManualClock is a clock tests move by hand (see clock.Manual).
type ManualClock = clock.Manual

// Start is the instant every test world begins at.
var Start = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

// Env is a running simulator with a project, a VPC and an owner.
type Env struct {
	Clock      *ManualClock
	World      *world.World
	Server     *gcpsim.Server
	URL        string
	AdminToken string
}

// New starts a simulator (seed 1) with project Project, network "default"
// with one subnet (10.128.0.0/20), the usual default firewall rules, and an
// owner Admin.
func New(t testing.TB, opts ...gcpsim.Option) *Env {
	t.Helper()
	clk := clock.NewManual(Start)
	w := world.New(clk, 1)
	w.Lock()
	p := gcpworld.Of(w).AddProject(Project, Region)
	p.SCC = true
	gcpworld.Of(w).AddUser(Admin)
	_ = gcpworld.Of(w).Grant(Project, "roles/owner", "user:"+Admin)
	gcpworld.Of(w).AddNetwork(Project, "default")
	_, err := gcpworld.Of(w).AddSubnet(Project, Region, "default", Network, "10.128.0.0/20")
	if err == nil {
		_, err = gcpworld.Of(w).AddFirewall(&gcpworld.Firewall{Name: "default-allow-internal", Project: Project, Network: Network,
			Direction: "INGRESS", Priority: 65534, SourceRanges: []string{"10.128.0.0/9"}, Allowed: []gcpworld.FirewallRule{{Protocol: "all"}}})
	}
	if err == nil {
		_, err = gcpworld.Of(w).AddFirewall(&gcpworld.Firewall{Name: "default-allow-ssh", Project: Project, Network: Network,
			Direction: "INGRESS", Priority: 65534, SourceRanges: []string{"0.0.0.0/0"}, Allowed: []gcpworld.FirewallRule{{Protocol: "tcp", Ports: []string{"22"}}}})
	}
	w.Unlock()
	if err != nil {
		t.Fatalf("seeding GCP test world: %v", err)
	}
	srv := gcpsim.New(w, opts...)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	e := &Env{Clock: clk, World: w, Server: srv, URL: hs.URL}
	e.AdminToken = e.Token(t, Admin)
	return e
}

// Token issues a long-lived access token for a principal.
func (e *Env) Token(t testing.TB, principal string) string {
	t.Helper()
	tok, err := e.Server.IssueToken(principal, 240*time.Hour)
	if err != nil {
		t.Fatalf("issuing token for %s: %v", principal, err)
	}
	return tok
}

// Options returns client options that reach the simulator as the holder of
// token: the endpoint and a static token source, nothing else.
func (e *Env) Options(token string) []option.ClientOption {
	ts := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token, TokenType: "Bearer", Expiry: time.Now().Add(240 * time.Hour)})
	return []option.ClientOption{option.WithEndpoint(e.URL), option.WithTokenSource(ts)}
}

// User registers a user with the given roles and returns a token for it.
func (e *Env) User(t testing.TB, email string, roles ...string) string {
	t.Helper()
	e.World.Lock()
	gcpworld.Of(e.World).AddUser(email)
	for _, r := range roles {
		if err := gcpworld.Of(e.World).Grant(Project, r, "user:"+email); err != nil {
			e.World.Unlock()
			t.Fatalf("granting %s: %v", r, err)
		}
	}
	e.World.Unlock()
	return e.Token(t, email)
}

// ServiceAccount creates a service account with the given project roles.
func (e *Env) ServiceAccount(t testing.TB, id string, roles ...string) string {
	t.Helper()
	e.World.Lock()
	defer e.World.Unlock()
	sa, err := gcpworld.Of(e.World).AddServiceAccount(Project, id, id)
	if err != nil {
		t.Fatalf("creating service account %s: %v", id, err)
	}
	for _, r := range roles {
		if err := gcpworld.Of(e.World).Grant(Project, r, "serviceAccount:"+sa.Email); err != nil {
			t.Fatalf("granting %s: %v", r, err)
		}
	}
	return sa.Email
}

// Instance creates a running VM in Zone on the default subnet with an
// external IP.
func (e *Env) Instance(t testing.TB, spec gcpworld.InstanceSpec) *gcpworld.Instance {
	t.Helper()
	e.World.Lock()
	defer e.World.Unlock()
	if spec.Project == "" {
		spec.Project = Project
	}
	if spec.Zone == "" {
		spec.Zone = Zone
	}
	if spec.Subnet == "" {
		spec.Subnet = Subnet
	}
	inst, err := gcpworld.Of(e.World).AddInstance(spec)
	if err != nil {
		t.Fatalf("creating instance %s: %v", spec.Name, err)
	}
	return inst
}

// Propagate moves the clock past the longest service-account propagation
// delay (world.Knobs.GCPDisablePropagation), so that every disable or
// enable made so far is enforced.
func (e *Env) Propagate() {
	e.World.Lock()
	d := e.World.KnobsLocked().GCPDisablePropagation.Max
	e.World.Unlock()
	e.Clock.Advance(d + time.Second)
}
