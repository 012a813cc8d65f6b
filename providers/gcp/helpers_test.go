package gcp_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/cloudsim/detect"
	"github.com/firedrill-ir/firedrill/cloudsim/gcpsim"
	"github.com/firedrill-ir/firedrill/cloudsim/gcpsim/gcpsimtest"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/gcpworld"
	"github.com/firedrill-ir/firedrill/providers"
	"github.com/firedrill-ir/firedrill/providers/gcp"
)

const (
	project = gcpsimtest.Project
	zone    = gcpsimtest.Zone
	poolIP  = "198.51.100.23"
)

type fixture struct {
	env       *gcpsimtest.Env
	p         *gcp.Provider
	sa        string
	miner     *gcpworld.Instance // MIG member running the miner
	batch     *gcpworld.Instance // shares the service account
	migKey    string
	responder string
}

// newFixture starts a simulator with a three-VM MIG running as one service
// account (shared with a batch VM), SCC on, and a provider for a
// least-privilege responder that waits on the manual clock.
func newFixture(t *testing.T, opts ...gcpsim.Option) *fixture {
	t.Helper()
	e := gcpsimtest.New(t, opts...)
	e.World.AddObserver(detect.NewSCC(detect.SCCConfig{}))
	f := &fixture{env: e, responder: "responder@firedrill.test"}
	f.sa = e.ServiceAccount(t, "web-app", "roles/compute.viewer")
	e.World.Lock()
	m, err := gcpworld.Of(e.World).AddMIG(project, zone, "", "web", 3, gcpworld.InstanceSpec{Subnet: gcpsimtest.Subnet,
		ExternalIP: true, Tags: []string{"web"}, ServiceAccount: f.sa, DataDisksGb: []int{20}, DataDiskAutoDelete: true,
		Processes: []world.Process{{PID: 4242, User: "root", Command: "/tmp/.x/xmrig", CPU: 390}}})
	require.NoError(t, err)
	f.migKey = m.Key
	f.miner = gcpworld.Of(e.World).Instances.Lookup(m.Members[2])
	e.World.Unlock()
	f.batch = e.Instance(t, gcpworld.InstanceSpec{Name: "batch-1", ServiceAccount: f.sa})
	tok := e.User(t, f.responder, "roles/compute.instanceAdmin.v1", "roles/compute.securityAdmin", "roles/logging.viewer",
		"roles/securitycenter.findingsViewer", "roles/iam.serviceAccountAdmin", "roles/iam.serviceAccountKeyAdmin",
		"roles/iam.serviceAccountUser")
	f.p = f.provider(t, tok)
	return f
}

func (f *fixture) provider(t *testing.T, token string, opts ...gcp.Option) *gcp.Provider {
	t.Helper()
	p, err := gcp.New(context.Background(), providers.Target{Cloud: providers.CloudGCP, Account: project, Region: gcpsimtest.Region,
		Endpoint: f.env.URL, Credentials: &providers.StaticCredentials{AccessKeyID: f.responder, SecretAccessKey: token}},
		append([]gcp.Option{gcp.WithSleeper(f.env.Clock)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func (f *fixture) openPoolFlow(t *testing.T) (*world.Flow, error) {
	t.Helper()
	f.env.World.Lock()
	defer f.env.World.Unlock()
	return gcpworld.Of(f.env.World).OpenFlow(f.miner.Key, world.FlowSpec{RemoteIP: poolIP, RemotePort: 3333, Domain: "pool.minexmr.com", Actor: "attacker"})
}

func (f *fixture) active(fl *world.Flow) bool {
	f.env.World.Lock()
	defer f.env.World.Unlock()
	return fl.Active()
}
