package runner_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/scenarios/runner"
	"github.com/firedrill-ir/firedrill/scoring"
	"github.com/firedrill-ir/firedrill/timeline"
)

// broken lists the activities a drill's response broke, as
// "activity principal".
func broken(c scoring.Collateral) []string {
	out := []string{}
	for _, a := range c.Activities {
		out = append(out, a.Activity+" "+a.Principal)
	}
	return out
}

// activity returns one broken activity.
func activity(t *testing.T, c scoring.Collateral, id string) scoring.CollateralActivity {
	t.Helper()
	for _, a := range c.Activities {
		if a.Activity == id {
			return a
		}
	}
	t.Fatalf("%s was not broken: %v", id, broken(c))
	return scoring.CollateralActivity{}
}

// stepStart is when the responder started a step.
func stepStart(t *testing.T, res *runner.Result, cloud, step string) time.Time {
	t.Helper()
	return first(t, res, step, func(e timeline.Event) bool {
		return e.Kind == timeline.StepStart && e.Cloud == cloud && e.Name == step
	}).At
}

// TestCollateralIsWhatTheCloudsBlastRadiusSays: the built-in playbooks
// break what each cloud's revocation method really breaks, and nothing
// else. On AWS, the role's older sessions are revoked: the group's other
// instances are denied until their SDK fetches fresh credentials from IMDS
// (within the hour), then work again. On GCP, the service account the
// group shares is disabled: its other VMs are denied to the end. On Azure,
// each VM has its own identity: nothing breaks. The web tier keeps serving
// on its healthy members and the users and CI principals keep working
// everywhere; collateral costs points, never the verdict.
func TestCollateralIsWhatTheCloudsBlastRadiusSays(t *testing.T) {
	t.Run("aws", func(t *testing.T) {
		res, card := runScenario(t, "aws-ec2-cryptomining", runner.Options{Seed: 7})
		require.True(t, card.Pass, "%v", card.ReasonCodes)
		c := card.Collateral
		require.Equal(t, []string{"aws.fleet-role-calls web-app-role"}, broken(c))
		a := activity(t, c, "aws.fleet-role-calls")
		revoked := stepStart(t, res, "aws", "revoke_sessions")
		require.True(t, a.FirstDeniedAt.After(revoked), "denied once the revocation is in force")
		require.NotNil(t, a.RestoredAt, "the instances fetch fresh credentials from IMDS and work again")
		require.Less(t, a.RestoredAt.Sub(revoked), time.Hour+15*time.Minute,
			"within the hour their SDK keeps a credential, and a round of the cadence")
		require.Equal(t, c.DeniedLegitimateActions, a.Denied)
		require.Equal(t, float64(a.Denied), card.Breakdown.CollateralPenalty)
	})
	t.Run("gcp", func(t *testing.T) {
		res, card := runScenario(t, "gcp-vm-cryptomining", runner.Options{Seed: 7})
		require.True(t, card.Pass, "%v", card.ReasonCodes)
		c := card.Collateral
		require.Equal(t, []string{"gcp.fleet-service-account-calls web-app"}, broken(c))
		a := activity(t, c, "gcp.fleet-service-account-calls")
		require.True(t, a.FirstDeniedAt.After(stepStart(t, res, "gcp", "disable_service_account")))
		require.Nil(t, a.RestoredAt, "the service account stays disabled: the group's other VMs never work again")
		require.Len(t, a.Principals, 2, "both healthy members")
	})
	t.Run("azure", func(t *testing.T) {
		_, card := runScenario(t, "azure-vm-cryptomining", runner.Options{Seed: 7})
		require.True(t, card.Pass, "%v", card.ReasonCodes)
		require.Empty(t, broken(card.Collateral), "every VM of the scale set has its own identity")
		require.Zero(t, card.Breakdown.CollateralPenalty)
	})
}

// TestDenyingEverythingForEveryoneCostsMore: denying the role every action
// for every session (instead of the sessions issued before now) contains
// the attack as surely, but the group's healthy instances never work
// again, so the drill scores lower than the correct playbook, and only
// because of collateral.
func TestDenyingEverythingForEveryoneCostsMore(t *testing.T) {
	_, good := runScenario(t, "aws-ec2-cryptomining", runner.Options{Seed: 7})
	_, all := runScenario(t, "aws-ec2-cryptomining", runner.Options{Seed: 7,
		Playbook: fileVariant("deny-all", "testdata/aws-deny-all.yaml").load(t)})
	require.Equal(t, scoring.VerdictPass, all.Verdict, "the stolen session is cut as surely: %v", all.ReasonCodes)
	require.True(t, all.Containment.Verified)

	g := activity(t, good.Collateral, "aws.fleet-role-calls")
	a := activity(t, all.Collateral, "aws.fleet-role-calls")
	require.NotNil(t, g.RestoredAt)
	require.Nil(t, a.RestoredAt, "no credential IMDS hands out works under a deny on every session")
	require.Greater(t, a.Denied, g.Denied)
	require.Less(t, all.Score, good.Score)

	// Everything but the collateral penalty scored the same.
	gb, ab := good.Breakdown, all.Breakdown
	require.Greater(t, ab.CollateralPenalty, gb.CollateralPenalty)
	gb.Penalties -= gb.CollateralPenalty
	ab.Penalties -= ab.CollateralPenalty
	gb.CollateralPenalty, ab.CollateralPenalty = 0, 0
	require.Equal(t, gb, ab, "the score differs by the collateral alone")
}
