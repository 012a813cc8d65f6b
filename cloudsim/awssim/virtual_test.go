package awssim_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/clock"
	"github.com/firedrill-ir/firedrill/cloudsim/awssim"
	"github.com/firedrill-ir/firedrill/cloudsim/fault"
	"github.com/firedrill-ir/firedrill/cloudsim/simhttp"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/awsworld"
)

// drillConfig is how drill mode wires an SDK client: the simulator over real
// loopback HTTP, latency and retry backoff charged on the virtual clock, and
// an SDK retryer that never sleeps on the wall clock.
func drillConfig(url string, clk clock.Clock, key *awsworld.AccessKey) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider(key.ID, key.Secret, ""),
		HTTPClient: &http.Client{Transport: &simhttp.Transport{Clock: clk,
			Backoff: simhttp.ExponentialBackoff(time.Second, 20*time.Second)}},
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
			})
		},
	}
}

// runDrill plays three parallel call chains on a virtual clock and returns
// the event log and the virtual time they took.
func runDrill(t *testing.T, faults *fault.Set) (string, time.Duration) {
	t.Helper()
	start := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	clk := clock.NewVirtual(start, 42)
	w := world.New(clk, 42)
	w.Lock()
	w.AddAccountLocked("aws", "111122223333", "drill", "us-east-1")
	awsworld.Of(w).AddUser("111122223333", "responder", "arn:aws:iam::aws:policy/AdministratorAccess")
	key, err := awsworld.Of(w).AddAccessKey("responder")
	w.Unlock()
	require.NoError(t, err)
	srv := httptest.NewServer(awssim.New(w, awssim.WithFaults(faults)))
	defer srv.Close()
	client := sts.NewFromConfig(drillConfig(srv.URL, clk, key))

	var mu sync.Mutex
	var log []string
	ctx := context.Background()
	for chain := 0; chain < 3; chain++ {
		name := fmt.Sprintf("chain-%d", chain)
		clk.Go(ctx, name, func(ctx context.Context) {
			for i := 0; i < 5; i++ {
				_, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
				mu.Lock()
				log = append(log, fmt.Sprintf("%s %s call %d err=%v", clk.Now().Format("15:04:05.000"), name, i, err != nil))
				mu.Unlock()
			}
		})
	}
	require.NoError(t, clk.Run(ctx))
	return strings.Join(log, "\n"), clk.Now().Sub(start)
}

func TestDrillModeOverlapsLatencyAndIsDeterministic(t *testing.T) {
	log1, took := runDrill(t, nil)
	// Five sequential calls of ~60 ms each per chain; three chains overlap, so
	// the drill takes about one chain's time, not three.
	require.Greater(t, took, 200*time.Millisecond)
	require.Less(t, took, 500*time.Millisecond, "parallel chains must overlap in virtual time")

	prev := runtime.GOMAXPROCS(1)
	log2, _ := runDrill(t, nil)
	runtime.GOMAXPROCS(2)
	log3, _ := runDrill(t, nil)
	runtime.GOMAXPROCS(prev)
	require.Equal(t, log1, log2)
	require.Equal(t, log1, log3)
	require.Equal(t, 15, strings.Count(log1, "err=false"))
}

func TestDrillModeChargesRetryBackoffOnTheVirtualClock(t *testing.T) {
	faults := &fault.Set{}
	require.NoError(t, faults.Add(fault.Rule{Service: "sts", Operation: "GetCallerIdentity", Kind: fault.Throttle, Times: 2}))
	log, took := runDrill(t, faults)
	require.Equal(t, 15, strings.Count(log, "err=false"), "throttles are retried:\n%s", log)
	// The first attempts of two chains are throttled at t=0; each waits the
	// first backoff step (1 s) in virtual time, in parallel, then carries on.
	require.Greater(t, took, 1200*time.Millisecond)
	require.Less(t, took, 1600*time.Millisecond)
}
