package scoring

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/timeline"
)

// twoClouds is an incident in aws and azure. AWS is contained at T+20m and
// holds; Azure is contained later, at T+30m, but the attacker's stolen
// token keeps working after it and the final check finds it valid.
func twoClouds() []timeline.Event {
	b := &tl{}
	cloud := func(c string) { b.events[len(b.events)-1].Cloud = c }
	b.add(min(1), timeline.ActorAttacker, timeline.AttackStep, "exploit", "", nil)
	cloud("aws")
	b.add(min(3), timeline.ActorAttacker, timeline.AttackStep, "exploit", "", nil)
	cloud("azure")
	b.add(min(9), timeline.ActorDetector, timeline.Alert, "guardduty", "", map[string]string{"type": "x", "resource": "i-1"})
	cloud("aws")
	b.add(min(14), timeline.ActorDetector, timeline.Alert, "defender", "", map[string]string{"type": "y", "resource": "vm-1"})
	cloud("azure")
	b.add(min(10), timeline.ActorResponder, timeline.Ack, "a", "", nil)
	cloud("aws")
	b.add(min(15), timeline.ActorResponder, timeline.Ack, "b", "", nil)
	cloud("azure")
	b.add(min(20), timeline.ActorResponder, timeline.Contained, "", "", nil).res("i-1")
	cloud("aws")
	b.add(min(30), timeline.ActorResponder, timeline.Contained, "", "", nil).res("vm-1")
	cloud("azure")
	// After AWS's containment but before Azure's: counts against neither.
	b.add(min(25), timeline.ActorAttacker, timeline.AttackAction, "keep", timeline.Succeeded, map[string]string{"operation": "nsg:read", "credential": "stolen-token"})
	cloud("azure")
	b.add(min(35), timeline.ActorAttacker, timeline.AttackAction, "keep", timeline.Succeeded, map[string]string{"operation": "nsg:read", "credential": "stolen-token"})
	cloud("azure")
	b.add(min(36), timeline.ActorAttacker, timeline.AttackAction, "keep", timeline.Denied, map[string]string{"operation": "ec2:DescribeInstances", "credential": "stolen-session"})
	cloud("aws")
	b.probe(min(20), session.ID, session.Kind, false)
	cloud("aws")
	b.probe(min(35), azToken.ID, azToken.Kind, true)
	cloud("azure")
	b.check(min(180), session)
	cloud("aws")
	b.check(min(180), opened(azToken))
	cloud("azure")
	return b.events
}

var azToken = pathReport{ID: "azure/stolen_credential/stolen-token", Kind: "stolen_credential", Cloud: "azure",
	Credential: "stolen-token", Status: PathCut}

func TestMultiCloudScorecardScoresEachCloudAndTheWhole(t *testing.T) {
	in := ScoreInput{Scenario: "multi", Seed: 1, Clouds: []string{"aws", "azure"}, Events: twoClouds(),
		SLO:      SLO{Profile: ProfileCustom, MTTD: 20 * time.Minute, MTTA: 10 * time.Minute, MTTC: 45 * time.Minute},
		Controls: []string{"guardduty", "defender"}}
	sc := Score(in)
	require.Len(t, sc.CloudsDetail, 2)
	aws, az := sc.CloudsDetail[0], sc.CloudsDetail[1]
	require.Equal(t, "aws", aws.Cloud)
	require.True(t, aws.Containment.Verified, "%v", aws.Containment.Reasons)
	require.Equal(t, 1, aws.Containment.AttackerActionsAfterContainment.Denied)
	require.Equal(t, 0, aws.Containment.AttackerActionsAfterContainment.Succeeded, "Azure's actions do not count against AWS")
	require.Equal(t, []string{"guardduty"}, controlNames(aws.Controls))
	require.Equal(t, 480.0, *aws.Metrics.MTTDSeconds, "from AWS's own attack start to its own alert")

	require.Equal(t, "azure", az.Cloud)
	require.False(t, az.Containment.Verified)
	require.Equal(t, 1, az.Containment.AttackerActionsAfterContainment.Succeeded, "only the action after Azure's containment")
	require.Equal(t, 1, az.Containment.ValidStolenCredentials)
	require.Equal(t, 660.0, *az.Metrics.MTTDSeconds)
	require.Equal(t, []string{"defender"}, controlNames(az.Controls))

	require.Equal(t, []string{"path_open:stolen_credential", "stolen_credential_used_after_containment"}, az.Containment.ReasonCodes)
	require.Nil(t, az.Containment.ContainedAt, "a way in is still open")
	require.Equal(t, t0.Add(min(30)), *az.Containment.DeclaredAt)

	// The whole: declared when the last cloud declared, never effectively
	// contained while a cloud is not, verified only if every cloud is,
	// reasons named by cloud.
	require.False(t, sc.Containment.Verified)
	require.False(t, sc.Pass)
	require.Equal(t, VerdictNotContained, sc.Verdict)
	require.Nil(t, sc.Containment.ContainedAt)
	require.Equal(t, t0.Add(min(30)), *sc.Containment.DeclaredAt)
	require.Equal(t, 21*60.0, *sc.Metrics.DeclaredMTTCSeconds, "first alert (T+9m) to the last cloud declared (T+30m)")
	require.Nil(t, sc.Metrics.MTTCSeconds)
	require.Equal(t, 480.0, *sc.Metrics.MTTDSeconds, "first attack to first alert, any cloud")
	require.Contains(t, sc.Containment.Reasons,
		"azure: 1 stolen credential path(s) still open at the final check: azure/stolen_credential/stolen-token")
	require.Contains(t, sc.ReasonCodes, "azure:path_open:stolen_credential")
	require.Equal(t, 1, sc.Containment.ValidStolenCredentials)
	require.Len(t, sc.Containment.Paths, 2)
	require.Less(t, az.Score, aws.Score)

	// Azure fixed: the token is cut by T+40m; the whole verifies and is
	// contained when Azure's cut took effect.
	var fixed []timeline.Event
	for _, e := range in.Events {
		if e.Cloud == "azure" && e.Kind == timeline.Verified {
			continue
		}
		fixed = append(fixed, e)
	}
	b := &tl{events: fixed}
	b.probe(min(40), azToken.ID, azToken.Kind, false)
	b.events[len(b.events)-1].Cloud = "azure"
	b.check(min(180), azToken)
	b.events[len(b.events)-1].Cloud = "azure"
	in.Events = b.events
	sc = Score(in)
	require.True(t, sc.Containment.Verified, "%v", sc.Containment.Reasons)
	require.True(t, sc.Pass)
	require.Equal(t, VerdictPass, sc.Verdict)
	require.Equal(t, t0.Add(min(40)), *sc.Containment.ContainedAt)
	require.Equal(t, 31*60.0, *sc.Metrics.MTTCSeconds, "first alert (T+9m) to Azure's cut (T+40m)")
	require.Equal(t, 10*60.0, *sc.Metrics.ContainmentGapSeconds)
}

func TestSingleCloudScorecardHasOneDetailEqualToTheWhole(t *testing.T) {
	b := goodDrill()
	for i := range b.events {
		b.events[i].Cloud = "aws"
	}
	sc := Score(input(b, SLO{}))
	require.Len(t, sc.CloudsDetail, 1)
	d := sc.CloudsDetail[0]
	require.Equal(t, sc.Containment, d.Containment)
	require.Equal(t, sc.Metrics, d.Metrics)
	require.Equal(t, sc.Score, d.Score)
}

func controlNames(cs []ControlOutcome) []string {
	var out []string
	for _, c := range cs {
		if c.Control != ControlGuardrails && c.Control != ControlResponder {
			out = append(out, c.Control)
		}
	}
	return out
}

// TestMultiCloudCollateralAddsTheClouds: each cloud's collateral counts
// from its own responder's first step; the incident's is theirs together,
// its activities sorted by cloud, the penalty on the sum.
func TestMultiCloudCollateralAddsTheClouds(t *testing.T) {
	b := &tl{events: twoClouds()}
	cloud := func(c string) { b.events[len(b.events)-1].Cloud = c }
	web := func(off float64, c, outcome string) {
		b.add(min(off), timeline.ActorBackground, timeline.BackgroundAction, c+".web-clients", outcome,
			map[string]string{"principal": "storefront-users"})
		cloud(c)
	}
	web(5, "aws", timeline.Succeeded)
	web(5, "azure", timeline.Succeeded)
	b.add(min(12), timeline.ActorResponder, timeline.StepStart, "isolate", "", nil)
	cloud("aws")
	b.add(min(40), timeline.ActorResponder, timeline.StepStart, "isolate", "", nil)
	cloud("azure")
	web(30, "aws", timeline.Denied)
	web(30, "azure", timeline.Denied) // before Azure's responder did anything
	web(50, "aws", timeline.Succeeded)
	web(50, "azure", timeline.Denied)
	web(60, "azure", timeline.Denied)
	sc := Score(ScoreInput{Scenario: "multi", Seed: 1, Clouds: []string{"aws", "azure"}, Events: b.events})
	require.Equal(t, 1, sc.CloudsDetail[0].Collateral.DeniedLegitimateActions)
	require.Equal(t, 2, sc.CloudsDetail[1].Collateral.DeniedLegitimateActions)
	c := sc.Collateral
	require.Equal(t, 3, c.DeniedLegitimateActions)
	require.Equal(t, []string{"storefront-users"}, c.Principals)
	require.Len(t, c.Activities, 2)
	require.Equal(t, "aws", c.Activities[0].Cloud)
	require.Equal(t, t0.Add(min(50)), *c.Activities[0].RestoredAt)
	require.Equal(t, "azure", c.Activities[1].Cloud)
	require.Equal(t, t0.Add(min(50)), c.Activities[1].FirstDeniedAt)
	require.Nil(t, c.Activities[1].RestoredAt)
	require.Equal(t, []string{"aws: storefront-users was denied 1 time(s) after the response began, having worked before",
		"azure: storefront-users was denied 2 time(s) after the response began, having worked before"}, c.Notes)
	require.Equal(t, 3.0, sc.Breakdown.CollateralPenalty)
}
