package runner_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/scenarios/runner"
	"github.com/firedrill-ir/firedrill/scoring"
	"github.com/firedrill-ir/firedrill/timeline"
)

// The catalog's trap variants set knobs and resources the runner must
// hand to the world, and the world must then behave as the trap says.

// TestScenarioKnobsReachTheWorld: a scenario's knobs block is the world's
// knobs for the whole drill; without one the world keeps its defaults.
func TestScenarioKnobsReachTheWorld(t *testing.T) {
	for id, want := range map[string]func(k *world.Knobs){
		"aws-ec2-cryptomining":                 func(*world.Knobs) {},
		"aws-ec2-cryptomining-conntrack-never": func(k *world.Knobs) { k.ConnTrack = world.ConnTrackNever },
		"azure-vm-cryptomining":                func(k *world.Knobs) { k.AzureRBACPropagation = world.AzureRBACDocumented },
	} {
		t.Run(id, func(t *testing.T) {
			t.Parallel()
			k := world.DefaultKnobs()
			want(&k)
			res, _ := runScenario(t, id, runner.Options{Seed: 3, NoResponder: true})
			res.World.Lock()
			defer res.World.Unlock()
			require.Equal(t, k, res.World.KnobsLocked())
		})
	}
}

// TestConnTrackNeverOnlyTheStopCutsTheFlow: with the default knob the
// two-step isolation untracks and cuts the miner's flows; with conn_track
// never they survive it, and the built-in playbook's stop is what ends
// them, at the same instant as the isolation finishes (so effective
// containment does not move).
func TestConnTrackNeverOnlyTheStopCutsTheFlow(t *testing.T) {
	reasons := func(id string) []string {
		res, card := runScenario(t, id, runner.Options{Seed: 7})
		require.Equal(t, scoring.VerdictPass, card.Verdict)
		var out []string
		for _, e := range ofKind(res, timeline.FlowEnded) {
			out = append(out, e.Detail["reason"])
		}
		return out
	}
	def := reasons("aws-ec2-cryptomining")
	require.Len(t, def, 2, "the pool connection and the web shell")
	for _, r := range def {
		require.Contains(t, r, "untracked flow cut: security groups")
	}
	never := reasons("aws-ec2-cryptomining-conntrack-never")
	require.Equal(t, []string{"instance stopping", "instance stopping"}, never)
}

// TestELBHealthCheckReplacesAProtectedInstance: in a group on ELB health
// checks, an instance only protected from scale-in is terminated by Auto
// Scaling once its isolation makes it fail the load balancer's check; the
// built-in playbook moves it to Standby instead, where it survives. With
// EC2 health checks the playbook keeps to scale-in protection.
func TestELBHealthCheckReplacesAProtectedInstance(t *testing.T) {
	type outcome struct {
		protection  string
		lost        []timeline.Event // the compromised instance and its volumes
		lostSources int              // evidence items whose source was lost
		goneChecks  int              // remediation checks that found the instance gone
		card        *scoring.Scorecard
	}
	drill := func(id string, v variant) outcome {
		res, card := runScenario(t, id, runner.Options{Seed: 7, Playbook: v.load(t)})
		foothold := first(t, res, "exploit", action("http:exploit", timeline.Succeeded)).Resource
		o := outcome{card: card}
		// The step's output, as its finish event says it.
		o.protection = first(t, res, "protect_scaling", func(e timeline.Event) bool {
			return e.Kind == timeline.StepFinish && e.Name == "protect_scaling"
		}).Message
		o.lost = timeline.Filter(res.Events, func(e timeline.Event) bool {
			return e.Kind == timeline.ResourceLost && (e.Resource == foothold || e.Detail["instance"] == foothold)
		})
		for _, it := range card.Evidence {
			if it.Source == foothold && it.LostAt != nil {
				o.lostSources++
				require.True(t, it.BeforeLoss, "%s %s was captured before the loss", it.Kind, it.ID)
			}
		}
		for _, e := range ofKind(res, timeline.StepError) {
			if strings.Contains(e.Message, "resource gone") {
				o.goneChecks++
			}
		}
		return o
	}

	protectOnly := drill("aws-ec2-cryptomining-elb", protectOnlyVariant("ec2-cryptomining"))
	require.Contains(t, protectOnly.protection, "lifecycle_state=InService")
	require.Len(t, protectOnly.lost, 1, "the instance is terminated; its volumes were kept by protect_termination")
	require.Equal(t, "instance", protectOnly.lost[0].Name)
	require.Positive(t, protectOnly.lostSources, "the scorecard shows the evidence's source lost")
	require.Positive(t, protectOnly.goneChecks, "the remediation checks find the instance gone")
	require.True(t, protectOnly.card.Containment.Verified, "the loss is evidence, not containment")

	correct := drill("aws-ec2-cryptomining-elb", builtinVariant("ec2-cryptomining"))
	require.Contains(t, correct.protection, "lifecycle_state=Standby")
	require.Contains(t, correct.protection, "mode=standby")
	require.Empty(t, correct.lost)
	require.Zero(t, correct.lostSources)
	require.Zero(t, correct.goneChecks)
	require.Greater(t, correct.card.Score, protectOnly.card.Score, "the failed checks cost points")

	ec2 := drill("aws-ec2-cryptomining", builtinVariant("ec2-cryptomining"))
	require.Contains(t, ec2.protection, "lifecycle_state=InService", "EC2 health checks: scale-in protection is enough")
	require.NotContains(t, ec2.protection, "mode=")
	require.Empty(t, ec2.lost)
}

// TestAzureDeclarationWaitsForRBACPropagation: Azure documents that a
// role assignment deletion can take up to 10 minutes to take effect. A
// responder that declares containment when the deletion returns declares
// before the stolen token stops working (a positive containment gap); the
// built-in playbook waits the documented 10 minutes first, so its
// declaration never comes before the attacker's probes find the token cut.
func TestAzureDeclarationWaitsForRBACPropagation(t *testing.T) {
	gap := func(v variant, seed uint64) float64 {
		_, card := runScenario(t, "azure-vm-cryptomining", runner.Options{Seed: seed, Playbook: v.load(t)})
		require.Equal(t, scoring.VerdictPass, card.Verdict)
		require.NotNil(t, card.Metrics.ContainmentGapSeconds)
		return *card.Metrics.ContainmentGapSeconds
	}
	for _, seed := range []uint64{7, 12} {
		require.Positive(t, gap(declareAtOnceVariant(), seed), "seed %d: declared before the token stopped working", seed)
		require.LessOrEqual(t, gap(builtinVariant("vm-cryptomining"), seed), 0.0, "seed %d: declared after", seed)
	}
}
