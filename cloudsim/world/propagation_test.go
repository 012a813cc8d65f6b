package world

import (
	"testing"
	"time"
)

// fixedClock is a clock the test moves by hand.
type fixedClock struct{ t time.Time }

func (c *fixedClock) Now() time.Time { return c.t }

// TestPropagationNewestChangeWins: two changes of one entity whose delays
// cross: the later change, arriving first, ends the lag (authorization
// reads the live state again), and the earlier one arriving afterwards
// does not bring the old state back.
func TestPropagationNewestChangeWins(t *testing.T) {
	f := &fixedClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	w := New(f, 7)
	w.Lock()
	lags := NewLags[string]("test")
	start := f.t
	lags.propagateLocked(w, "k", "v0", "v1", Latency{Min: 10 * time.Second, Max: 10 * time.Second})
	f.t = start.Add(time.Second)
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
		f.t = start.Add(step.at)
		w.Lock()
		got, lagging := lags.Seen("k")
		w.Unlock()
		if lagging != step.lag || got != step.want {
			t.Fatalf("at +%s: seen %q (lagging %v), want %q (%v)", step.at, got, lagging, step.want, step.lag)
		}
	}
}
