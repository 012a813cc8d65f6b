package awssim

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/clock"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/awsworld"
)

// The exported CloudTrail files carry what a trail delivers: after an
// attacker's StopLogging, nothing but the StopLogging call itself.
func TestCloudTrailExportStopsWithTheTrail(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clk := clock.NewManual(t0)
	w := world.New(clk, 1)
	w.Lock()
	defer w.Unlock()
	st := awsworld.Of(w)
	tr := st.AddTrail("111122223333", "us-east-1", "main", "logs", true)
	ev := func(at time.Time, op string) *world.AuditEvent {
		return &world.AuditEvent{Cloud: "aws", Account: "111122223333", Region: "us-east-1", Time: at,
			Service: "cloudtrail", Operation: op, ID: op}
	}
	clk.Advance(time.Minute)
	st.SetTrailLogging(tr, false)
	stop, after := ev(t0.Add(time.Minute), "StopLogging"), ev(t0.Add(2*time.Minute), "RunInstances")

	data, err := cloudTrailFile(w, []*world.AuditEvent{stop, after})
	require.NoError(t, err)
	var file struct{ Records []map[string]any }
	require.NoError(t, json.Unmarshal(data, &file))
	require.Len(t, file.Records, 1)
	require.Equal(t, "StopLogging", file.Records[0]["eventName"])

	data, err = cloudTrailFile(w, []*world.AuditEvent{after})
	require.NoError(t, err)
	require.Nil(t, data, "nothing delivered: no file")
}
