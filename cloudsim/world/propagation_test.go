package world

import (
	"testing"
	"time"

	"github.com/firedrill-ir/firedrill/clock"
)

// TestPropagationNewestChangeWins: two changes of one entity whose delays
// cross: the later change, arriving first, ends the lag (authorization
// reads the live state again), and the earlier one arriving afterwards
// does not bring the old state back.
func TestPropagationNewestChangeWins(t *testing.T) {
	f := clock.NewManual(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	w := New(f, 7)
	w.Lock()
	lags := NewLags[string]("test")
	start := f.Now()
	lags.propagateLocked(w, "k", "v0", "v1", Latency{Min: 10 * time.Second, Max: 10 * time.Second})
	f.Advance(time.Second)
	lags.propagateLocked(w, "k", "v1", "v2", Latency{Min: 2 * time.Second, Max: 2 * time.Second})
	if got, _ := lags.Seen("k"); got != "v0" {
		t.Fatalf("seen %q, want v0", got)
	}
	w.Unlock()
	for _, step := range []struct {
		at   time.Duration
		want string
		lag  bool
	}{{2 * time.Second, "v0", true}, {3 * time.Second, "", false}, {11 * time.Second, "", false}} {
		f.Advance(start.Add(step.at).Sub(f.Now()))
		w.Lock()
		got, lagging := lags.Seen("k")
		w.Unlock()
		if lagging != step.lag || got != step.want {
			t.Fatalf("at +%s: seen %q (lagging %v), want %q (%v)", step.at, got, lagging, step.want, step.lag)
		}
	}
}
