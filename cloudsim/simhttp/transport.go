// Package simhttp is the client side of the simulator's time model. The
// simulated clouds apply each call at the current clock time and report the
// call's modelled latency in a response header; Transport then waits that
// latency on the caller's clock. In drill mode the clock is virtual, so
// parallel call chains overlap their latencies exactly as they would in a
// cloud while the whole drill runs in milliseconds of wall time.
package simhttp

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/firedrill-ir/firedrill/internal/reqbody"
)

// LatencyHeader carries an operation's modelled latency (a Go duration).
const LatencyHeader = "X-Firedrill-Latency"

// Sleeper waits on a clock; clock.Clock satisfies it.
type Sleeper interface {
	Sleep(ctx context.Context, d time.Duration) error
}

// Transport charges modelled latency and retry backoff on a clock.
type Transport struct {
	// Base performs the HTTP exchange; nil means http.DefaultTransport.
	Base http.RoundTripper
	// Clock is where latency and backoff are waited.
	Clock Sleeper
	// Backoff is the delay before retry attempt n (n >= 1 is the first
	// retry). SDK retryers in drill mode are configured with a zero delay so
	// they never sleep on the wall clock; the wait happens here instead, read
	// from the SDK's own attempt header. Nil means no backoff.
	Backoff func(retry int) time.Duration
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if n := attempt(req.Header); n > 1 && t.Backoff != nil {
		if err := t.Clock.Sleep(ctx, t.Backoff(n-1)); err != nil {
			return nil, fmt.Errorf("retry backoff before attempt %d: %w", n, err)
		}
	}
	// From memory, so that the response cannot overtake the request
	// (see reqbody) and a drill's call is never retried for it.
	resp, err := reqbody.Buffered(t.Base, 0).RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if err := buffer(resp); err != nil {
		return nil, fmt.Errorf("reading the simulator's response to %s %s: %w", req.Method, req.URL.Path, err)
	}
	if d, perr := time.ParseDuration(resp.Header.Get(LatencyHeader)); perr == nil && d > 0 {
		if err := t.Clock.Sleep(ctx, d); err != nil {
			return nil, fmt.Errorf("waiting modelled latency %s: %w", d, err)
		}
	}
	return resp, nil
}

// buffer reads the body in full and hands the caller an in-memory copy, so
// the connection returns to the pool before the latency wait. A connection
// held across a virtual-clock wait, while other actors run, is occasionally
// found closed when the body is finally read under load; the SDK would then
// retry and the drill would stop being reproducible.
func buffer(resp *http.Response) error {
	body, err := io.ReadAll(resp.Body)
	cerr := resp.Body.Close()
	if err != nil {
		return err
	}
	if cerr != nil {
		return cerr
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	return nil
}

// attempt reads aws-sdk-go-v2's "amz-sdk-request: attempt=2; max=4" header;
// requests without it count as first attempts.
func attempt(h http.Header) int {
	for _, part := range strings.Split(h.Get("Amz-Sdk-Request"), ";") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(part), "attempt="); ok {
			if n, err := strconv.Atoi(v); err == nil {
				return n
			}
		}
	}
	return 1
}

// ExponentialBackoff mirrors the SDK's standard retryer without jitter:
// base * 2^(n-1), capped. Jitter is left out so drills stay deterministic.
func ExponentialBackoff(base, max time.Duration) func(int) time.Duration {
	return func(n int) time.Duration {
		d := base << (n - 1)
		if d > max || d <= 0 {
			return max
		}
		return d
	}
}
