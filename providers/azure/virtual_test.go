package azure_test

import (
	"context"
	"encoding/pem"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/clock"
	"github.com/firedrill-ir/firedrill/cloudsim/azuresim"
	"github.com/firedrill-ir/firedrill/cloudsim/demo"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/providers"
	"github.com/firedrill-ir/firedrill/providers/azure"
)

// runAzureDrill runs a containment sequence in drill mode: the simulator
// over loopback TLS, the provider's latency and waits on a virtual clock.
func runAzureDrill(t *testing.T) (string, time.Duration) {
	t.Helper()
	start := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	clk := clock.NewVirtual(start, 7)
	w := world.New(clk, 7)
	env, err := demo.SeedAzure(w, demo.AzureOptions{ScaleInAfter: -1})
	require.NoError(t, err)
	hs := httptest.NewTLSServer(azuresim.New(w))
	defer hs.Close()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: hs.Certificate().Raw})
	hc, err := azure.SimHTTPClient(ca, clk)
	require.NoError(t, err)
	p, err := azure.New(context.Background(), providers.Target{Cloud: providers.CloudAzure, Account: env.Subscription,
		Endpoint: hs.URL, HTTPClient: hc,
		Credentials: &providers.StaticCredentials{AccessKeyID: env.ResponderClientID, SecretAccessKey: env.ResponderSecret}},
		azure.WithTenant(env.Tenant), azure.WithSleeper(clk))
	require.NoError(t, err)
	var log []string
	rec := func(format string, args ...any) {
		log = append(log, clk.Now().Format("15:04:05.000")+" "+fmt.Sprintf(format, args...))
	}
	ctx := context.Background()
	clk.Go(ctx, "responder", func(ctx context.Context) {
		vm := env.VMs[0]
		inst, err := p.DescribeInstance(ctx, vm)
		rec("describe %v %s", err, inst.State)
		ev, err := p.SnapshotDisks(ctx, vm, map[string]string{"case": "drill"})
		rec("snapshot %v %d", err, len(ev))
		ids := []string{}
		for _, e := range ev {
			ids = append(ids, e.ID)
		}
		done, err := p.WaitForSnapshots(ctx, ids, time.Hour)
		rec("snapshots %v %d %s", err, len(done), strings.Join(ids, ","))
		mem, err := p.CaptureMemory(ctx, vm, env.StorageAccount+"/"+env.EvidenceContainer, providers.MemoryOptions{})
		rec("memory %v %s", err, mem.SHA256)
		_, err = p.IsolateInstance(ctx, vm, providers.IsolateOptions{})
		rec("isolate %v", err)
		_, err = p.DetachInstanceIdentity(ctx, vm, providers.DetachRemove, "")
		rec("identity %v", err)
		evs, err := p.QueryAudit(ctx, providers.AuditQuery{Resource: vm, Start: start})
		rec("audit %v %d", err, len(evs))
	})
	require.NoError(t, clk.Run(ctx))
	return strings.Join(log, "\n"), clk.Now().Sub(start)
}

func TestDrillModeIsDeterministicOnTheVirtualClock(t *testing.T) {
	a, took := runAzureDrill(t)
	b, _ := runAzureDrill(t)
	require.Equal(t, a, b)
	require.NotContains(t, a, "error")
	require.Greater(t, took, 5*time.Minute, "snapshot copy and memory capture take modelled time:\n%s", a)
	require.Less(t, took, 2*time.Hour)
	t.Logf("drill took %v virtual:\n%s", took, a)
}
