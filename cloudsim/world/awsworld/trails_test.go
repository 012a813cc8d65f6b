package awsworld_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/clock"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/awsworld"
)

// TestTrailLoggingPeriods: a trail delivers what was called while it
// logged, the StopLogging instant included, and nothing between a stop and
// the next start.
func TestTrailLoggingPeriods(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	clk := clock.NewManual(t0)
	w := world.New(clk, 1)
	w.Lock()
	defer w.Unlock()
	st := awsworld.Of(w)
	tr := st.AddTrail("111122223333", "us-east-1", "main", "logs", false)
	ev := func(at time.Time, region string) *world.AuditEvent {
		return &world.AuditEvent{Cloud: "aws", Account: "111122223333", Region: region, Time: at}
	}
	require.True(t, st.Trailed(ev(t0, "us-east-1")))
	require.False(t, st.Trailed(ev(t0, "eu-west-1")), "a single-region trail")
	clk.Advance(time.Minute)
	st.SetTrailLogging(tr, false)
	require.True(t, st.Trailed(ev(t0.Add(time.Minute), "us-east-1")), "the StopLogging call itself")
	require.False(t, st.Trailed(ev(t0.Add(2*time.Minute), "us-east-1")))
	clk.Advance(5 * time.Minute)
	st.SetTrailLogging(tr, true)
	require.False(t, st.Trailed(ev(t0.Add(3*time.Minute), "us-east-1")))
	require.True(t, st.Trailed(ev(t0.Add(6*time.Minute), "us-east-1")))
	require.False(t, st.Trailed(&world.AuditEvent{Cloud: "aws", Account: "999999999999", Region: "us-east-1", Time: t0}))
}
