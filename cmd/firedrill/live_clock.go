package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/firedrill-ir/firedrill/clock"
	"github.com/firedrill-ir/firedrill/providers"
)

// clockPath is the firedrill-only path where a live `sim serve --scenario`
// tells the time of its clouds and how fast it runs.
const clockPath = "/_firedrill/clock"

// liveClockInfo is what clockPath answers.
type liveClockInfo struct {
	Now   time.Time `json:"now"`
	Speed float64   `json:"speed"`
}

func writeLiveClock(w http.ResponseWriter, now time.Time, speed float64) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(liveClockInfo{Now: now.UTC(), Speed: speed})
}

// liveClock is the clock a responder acting on a simulator endpoint runs
// on: the scenario's own when the endpoint plays one live (so the
// responder's waits and audit-log windows are in the incident's time, as
// they would be in a cloud), else nil.
func liveClock(ctx context.Context, t providers.Target, seed uint64) (clock.Clock, error) {
	hc := t.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(t.Endpoint, "/")+clockPath, nil)
	if err != nil {
		return nil, fmt.Errorf("asking %s for its clock: %w", t.Endpoint, err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("asking %s for its clock: %w", t.Endpoint, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, nil // a served demo environment, or an older server: the wall clock
	}
	var info liveClockInfo
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil || info.Speed <= 0 || info.Now.IsZero() {
		return nil, fmt.Errorf("%s%s: expected {\"now\", \"speed\"}: %v", t.Endpoint, clockPath, err)
	}
	return clock.NewScaled(info.Now, info.Speed, seed), nil
}
