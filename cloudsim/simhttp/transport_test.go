package simhttp

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type recordingSleeper struct{ slept []time.Duration }

func (r *recordingSleeper) Sleep(_ context.Context, d time.Duration) error {
	r.slept = append(r.slept, d)
	return nil
}

func TestTransportChargesLatencyAndBackoffOnTheClock(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set(LatencyHeader, "250ms")
	}))
	defer srv.Close()
	sl := &recordingSleeper{}
	client := &http.Client{Transport: &Transport{Clock: sl, Backoff: ExponentialBackoff(100*time.Millisecond, time.Second)}}

	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	resp, err := client.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, []time.Duration{250 * time.Millisecond}, sl.slept, "first attempt: latency only")

	sl.slept = nil
	req, _ = http.NewRequest(http.MethodGet, srv.URL, nil)
	req.Header.Set("Amz-Sdk-Request", "attempt=3; max=4")
	resp, err = client.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, []time.Duration{200 * time.Millisecond, 250 * time.Millisecond}, sl.slept, "third attempt: second backoff step, then latency")
}

func TestExponentialBackoffCaps(t *testing.T) {
	b := ExponentialBackoff(time.Second, 20*time.Second)
	require.Equal(t, time.Second, b(1))
	require.Equal(t, 16*time.Second, b(5))
	require.Equal(t, 20*time.Second, b(6))
	require.Equal(t, 20*time.Second, b(80))
}
