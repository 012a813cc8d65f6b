package gcp_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/clock"
	"github.com/firedrill-ir/firedrill/cloudsim/demo"
	"github.com/firedrill-ir/firedrill/cloudsim/detect"
	"github.com/firedrill-ir/firedrill/cloudsim/gcpsim"
	"github.com/firedrill-ir/firedrill/cloudsim/simhttp"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/gcpworld"
	"github.com/firedrill-ir/firedrill/providers"
	"github.com/firedrill-ir/firedrill/providers/gcp"
)

// runGCPDrill plays a GCP containment on the virtual clock against the demo
// environment, wired as drill mode wires it: the simulator over loopback
// HTTP, modelled latency charged by simhttp.Transport inside the
// provider's own oauth2 transport, every wait on the virtual clock.
func runGCPDrill(t *testing.T) string {
	t.Helper()
	start := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	clk := clock.NewVirtual(start, 7)
	w := world.New(clk, 7)
	w.AddObserver(detect.NewSCC(detect.SCCConfig{}))
	env, err := demo.SeedGCP(w, demo.GCPOptions{})
	require.NoError(t, err)
	srv := httptest.NewServer(gcpsim.New(w))
	defer srv.Close()
	ctx := context.Background()
	p, err := gcp.New(ctx, providers.Target{Cloud: providers.CloudGCP, Account: env.Project, Endpoint: srv.URL,
		Credentials: &providers.StaticCredentials{AccessKeyID: env.Responder, SecretAccessKey: env.ResponderToken},
		HTTPClient:  &http.Client{Transport: &simhttp.Transport{Clock: clk}}}, gcp.WithSleeper(clk))
	require.NoError(t, err)
	defer p.Close()
	miner := env.Instances[2]
	w.Lock()
	flow, err := gcpworld.Of(w).OpenFlow(miner, world.FlowSpec{RemoteIP: "198.51.100.23", RemotePort: 3333, Domain: "pool.minexmr.com"})
	w.Unlock()
	require.NoError(t, err)

	var log []string
	step := func(name string, err error) {
		log = append(log, fmt.Sprintf("%s %s err=%v", clk.Now().Sub(start), name, err))
	}
	clk.Go(ctx, "responder", func(ctx context.Context) {
		var fs []providers.Finding
		for len(fs) == 0 {
			fs, err = p.ListFindings(ctx, start)
			if err != nil {
				step("findings", err)
				return
			}
			if len(fs) == 0 {
				_ = clk.Sleep(ctx, 30*time.Second)
			}
		}
		step("finding "+fs[0].Type, nil)
		_, err := p.DescribeInstance(ctx, fs[0].ResourceID)
		step("describe", err)
		_, err = p.ProtectFromScaling(ctx, miner, providers.ScalingOptions{})
		step("abandon", err)
		_, err = p.ProtectFromTermination(ctx, miner)
		step("protect", err)
		evs, err := p.SnapshotDisks(ctx, miner, map[string]string{"case": "drill"})
		step("snapshot", err)
		_, err = p.IsolateInstance(ctx, miner, providers.IsolateOptions{})
		step("isolate", err)
		_, err = p.DetachInstanceIdentity(ctx, miner, providers.DetachRemove, "")
		step("detach", err)
		rev, err := p.RevokeSessions(ctx, env.ServiceAccount)
		n := 0
		if rev != nil {
			n = len(rev.BlastRadius)
		}
		step(fmt.Sprintf("revoke (%d VMs in blast radius)", n), err)
		_, err = p.WaitForSnapshots(ctx, []string{evs[0].ID, evs[1].ID}, time.Hour)
		step("snapshots ready", err)
	})
	require.NoError(t, clk.Run(ctx))
	w.Lock()
	log = append(log, fmt.Sprintf("flow active=%v", flow.Active()))
	w.Unlock()
	return strings.Join(log, "\n")
}

func TestDrillModeIsDeterministic(t *testing.T) {
	a := runGCPDrill(t)
	prev := runtime.GOMAXPROCS(1)
	b := runGCPDrill(t)
	runtime.GOMAXPROCS(prev)
	require.Equal(t, a, b)
	require.NotContains(t, a, "err=<nil>\nerr")
	require.Contains(t, a, "flow active=false")
	require.NotRegexp(t, `err=[^<]`, a, "every step succeeds:\n%s", a)
	t.Logf("\n%s", a)
}
