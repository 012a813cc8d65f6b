package runner_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/responder"
	"github.com/firedrill-ir/firedrill/scenarios/runner"
	"github.com/firedrill-ir/firedrill/timeline"
)

// firstChange is when the responder started its first step that changes
// the cloud: until then it has only read, and reading must not move the
// attacker's or the detectors' draws.
func firstChange(t *testing.T, res *runner.Result) time.Time {
	t.Helper()
	for _, e := range res.Events {
		if e.Kind != timeline.StepStart {
			continue
		}
		if a, ok := responder.Action(e.Detail["action"]); ok && a.Mutates {
			return e.At
		}
	}
	t.Fatal("the responder changed nothing")
	return time.Time{}
}

// before renders the events of a kind that happened before t, one line
// each, with everything an observer of the cloud could compare.
func before(res *runner.Result, kind string, t time.Time) []string {
	var out []string
	for _, e := range res.Events {
		if e.Kind != kind || !e.At.Before(t) {
			continue
		}
		out = append(out, fmt.Sprintf("%s %s %s %s %s %s %v", e.At.Format(time.RFC3339Nano), e.Cloud, e.Name,
			e.Resource, e.Outcome, e.Message, e.Detail))
	}
	return out
}

// TestResponderReadsDoNotShiftTheAttack: every random draw comes from a
// stream named for its purpose and actor, so at the same seed the correct
// playbook, the naive one and no responder at all (which never polls or
// reads anything) see exactly the same attack and the same alerts until
// the first change a responder makes.
func TestResponderReadsDoNotShiftTheAttack(t *testing.T) {
	for _, tc := range []struct{ scenario, naive string }{
		{"aws-ec2-cryptomining", "ec2-cryptomining-naive.yaml"},
		{"azure-vm-cryptomining", "vm-cryptomining-naive.yaml"},
		{"gcp-vm-cryptomining", "vm-cryptomining-naive.yaml"},
		{"multicloud-cryptomining", "vm-cryptomining-naive.yaml"},
	} {
		t.Run(tc.scenario, func(t *testing.T) {
			data, err := os.ReadFile("../../responder/testdata/" + tc.naive)
			require.NoError(t, err)
			naive, err := responder.LoadPlaybook(tc.naive, data)
			require.NoError(t, err)
			good, _ := runScenario(t, tc.scenario, runner.Options{Seed: 11})
			bad, _ := runScenario(t, tc.scenario, runner.Options{Seed: 11, Playbook: naive})
			none, _ := runScenario(t, tc.scenario, runner.Options{Seed: 11, NoResponder: true})
			cut := firstChange(t, good)
			if c := firstChange(t, bad); c.Before(cut) {
				cut = c
			}
			for _, kind := range []string{timeline.AttackAction, timeline.Alert} {
				a, b, c := before(good, kind, cut), before(bad, kind, cut), before(none, kind, cut)
				require.NotEmpty(t, a, "%s events before the first change", kind)
				require.Equal(t, a, b, "naive playbook: %s events before the first change at %s", kind, cut)
				require.Equal(t, a, c, "no responder: %s events before the first change at %s", kind, cut)
			}
		})
	}
}
