package runner_test

import (
	"context"
	"encoding/json"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/cloudsim/detect"
	"github.com/firedrill-ir/firedrill/responder"
	"github.com/firedrill-ir/firedrill/scenarios"
	"github.com/firedrill-ir/firedrill/scenarios/runner"
	"github.com/firedrill-ir/firedrill/timeline"
)

func cryptomining(t testing.TB) *scenarios.Scenario {
	t.Helper()
	sc, ok := scenarios.ByID("aws-ec2-cryptomining")
	require.True(t, ok)
	return sc
}

func run(t testing.TB, opts runner.Options) *runner.Result {
	t.Helper()
	res, err := runner.Run(context.Background(), cryptomining(t), opts)
	require.NoError(t, err)
	return res
}

func ofKind(res *runner.Result, kind string) []timeline.Event {
	return timeline.Filter(res.Events, timeline.OfKind(kind))
}

func first(t *testing.T, res *runner.Result, what string, pred func(timeline.Event) bool) timeline.Event {
	t.Helper()
	e, ok := timeline.First(res.Events, pred)
	require.True(t, ok, "no %s event", what)
	return e
}

func alert(control, typ string) func(timeline.Event) bool {
	return func(e timeline.Event) bool {
		return e.Kind == timeline.Alert && e.Name == control && (typ == "" || e.Detail["type"] == typ)
	}
}

func action(operation, outcome string) func(timeline.Event) bool {
	return func(e timeline.Event) bool {
		return e.Kind == timeline.AttackAction && e.Detail["operation"] == operation && (outcome == "" || e.Outcome == outcome)
	}
}

// TestDrillWithoutResponder is the baseline: the attack runs unopposed,
// the detectors raise their alerts at plausible times, scale-in destroys
// the compromised instance's volumes, and the final check finds the stolen
// session still working.
func TestDrillWithoutResponder(t *testing.T) {
	res := run(t, runner.Options{Seed: 7, NoResponder: true})
	at := func(m int) time.Time { return runner.Start.Add(time.Duration(m) * time.Minute) }

	require.Equal(t, timeline.ScenarioStart, res.Events[0].Kind)
	require.Equal(t, timeline.ScenarioEnd, res.Events[len(res.Events)-1].Kind)
	require.Equal(t, runner.Start, res.StartedAt)
	require.False(t, res.EndedAt.Before(runner.Start.Add(5*time.Hour)))
	require.Less(t, res.EndedAt.Sub(runner.Start.Add(5*time.Hour)), 10*time.Second, "the final check takes seconds")
	require.Empty(t, res.Playbooks)

	var steps []string
	for _, e := range ofKind(res, timeline.AttackStep) {
		steps = append(steps, e.Detail["attack_id"])
	}
	require.Equal(t, []string{"T1190", "T1496", "T1552.005", "T1578.002", "T1098.001", "T1078.004"}, steps)
	exploit := first(t, res, "exploit", action("http:exploit", timeline.Succeeded))
	require.Equal(t, at(2), exploit.At)
	foothold := exploit.Resource
	miner := first(t, res, "miner", action("pool:connect", timeline.Succeeded))
	require.Equal(t, at(3), miner.At)
	steal := first(t, res, "imds", action("imds:GetRoleCredentials", timeline.Succeeded))
	require.Equal(t, at(6), steal.At)
	launches := timeline.Filter(res.Events, action("ec2:RunInstances", timeline.Succeeded))
	require.Len(t, launches, 3+len(timeline.Filter(launches, func(e timeline.Event) bool {
		return e.Detail["dry_run"] == "true" || e.Detail["replay"] == "true"
	})), "three workers; the rest are dry-run checks and their replays")
	first(t, res, "persistence", action("iam:CreateAccessKey", timeline.Succeeded))

	// GuardDuty: the pool's DNS finding 3-12 minutes after the miner, the
	// exfiltration finding 3-12 minutes after the first outside use.
	dns := first(t, res, "DNS finding", alert("guardduty", detect.TypeMiningDNS))
	require.Equal(t, foothold, dns.Resource)
	require.True(t, within(dns.At, miner.At.Add(3*time.Minute), miner.At.Add(12*time.Minute)), "DNS finding at %s", dns.At)
	exfil := first(t, res, "exfiltration finding", alert("guardduty", detect.TypeCredentialExfiltration))
	require.True(t, within(exfil.At, steal.At.Add(3*time.Minute), steal.At.Add(12*time.Minute)), "exfil finding at %s", exfil.At)
	// CPU > 95% for two whole 5-minute periods: 09:05-09:15, alarm by ~09:17.
	cpu := first(t, res, "CPU alarm", alert("cpu-alarm", ""))
	require.Equal(t, foothold, cpu.Resource)
	require.True(t, within(cpu.At, at(15), at(17)), "CPU alarm at %s", cpu.At)
	// The cost anomaly comes hours later, if at all within the drill.
	for _, e := range timeline.Filter(res.Events, alert("cost-anomaly", "")) {
		require.True(t, within(e.At, at(10).Add(3*time.Hour), at(10).Add(6*time.Hour)), "cost anomaly at %s", e.At)
	}
	// Alerts are stamped when they became visible, which may be before the
	// telemetry tick that noticed them: the timeline is re-sorted by time.
	for _, e := range ofKind(res, timeline.Alert) {
		require.Equal(t, timeline.ActorDetector, e.Actor)
		require.NotEmpty(t, e.Detail["type"])
	}

	// CloudTrail delivers the first attacker record about 5 minutes after
	// the first attacker API call (the sts whoami right after the theft).
	log := first(t, res, "first log", timeline.OfKind(timeline.FirstLog))
	require.True(t, within(log.At, steal.At.Add(3*time.Minute), steal.At.Add(8*time.Minute)), "first log at %s", log.At)

	// Scale-in at 25 minutes picks the compromised (oldest) instance and
	// its volumes go with it.
	lost := timeline.Filter(res.Events, func(e timeline.Event) bool {
		return e.Kind == timeline.ResourceLost && (e.Resource == foothold || e.Detail["instance"] == foothold)
	})
	require.Len(t, lost, 3, "the instance and its two volumes")
	for _, e := range lost {
		require.True(t, within(e.At, at(25), at(26)), "lost at %s", e.At)
	}
	require.Equal(t, "scale-in", lost[0].Detail["cause"])
	require.Len(t, ofKind(res, timeline.ResourceLost), 3, "nothing else is lost")
	ended := first(t, res, "flow end", timeline.OfKind(timeline.FlowEnded))
	require.Equal(t, "instance terminated", ended.Detail["reason"])

	// After the scale-in the miner is gone: reconnects fail, yet the stolen
	// session and the planted key keep working to the end.
	require.NotEmpty(t, timeline.Filter(res.Events, action("pool:reconnect", timeline.Failed)))
	require.Empty(t, timeline.Filter(res.Events, action("ec2:DescribeInstances", timeline.Denied)))
	v := first(t, res, "verification", timeline.OfKind(timeline.Verified))
	require.Equal(t, timeline.Failed, v.Outcome)
	require.Equal(t, "0", v.Detail["surviving_flows"])
	require.Equal(t, "1", v.Detail["valid_stolen_credentials"])
	require.Equal(t, "1", v.Detail["valid_persistence_keys"])
	require.Equal(t, "3", v.Detail["attacker_instances_running"])
}

func within(t, lo, hi time.Time) bool { return !t.Before(lo) && !t.After(hi) }

func eventsJSON(t testing.TB, res *runner.Result) string {
	t.Helper()
	b, err := json.Marshal(res.Events)
	require.NoError(t, err)
	return string(b)
}

// TestDrillIsDeterministic: the same scenario and seed give the same
// events, whatever GOMAXPROCS; another seed gives different ones.
func TestDrillIsDeterministic(t *testing.T) {
	for _, noResponder := range []bool{true, false} {
		t.Run("no_responder="+strconv.FormatBool(noResponder), func(t *testing.T) {
			opts := runner.Options{Seed: 7, NoResponder: noResponder}
			a := eventsJSON(t, run(t, opts))
			prev := runtime.GOMAXPROCS(1)
			b := eventsJSON(t, run(t, opts))
			runtime.GOMAXPROCS(2)
			c := eventsJSON(t, run(t, opts))
			runtime.GOMAXPROCS(prev)
			require.Equal(t, a, b, "GOMAXPROCS=1 differs")
			require.Equal(t, a, c, "GOMAXPROCS=2 differs")
			opts.Seed = 8
			require.NotEqual(t, a, eventsJSON(t, run(t, opts)), "the seed must matter")
		})
	}
}

// TestFullPlaybookContainsTheAttack: the built-in playbook isolates in two
// steps, revokes the role's older sessions and protects the instance from
// scale-in, so nothing keeps working for the attacker's stolen session or
// connections, and the evidence is captured before anything is lost.
func TestFullPlaybookContainsTheAttack(t *testing.T) {
	res := run(t, runner.Options{Seed: 7})
	require.Equal(t, []string{"ec2-cryptomining"}, res.Playbooks)
	require.NotEmpty(t, res.Cases)
	foothold := first(t, res, "exploit", action("http:exploit", timeline.Succeeded)).Resource

	ack := first(t, res, "ack", timeline.OfKind(timeline.Ack))
	firstAlert := first(t, res, "alert", timeline.OfKind(timeline.Alert))
	require.False(t, ack.At.Before(firstAlert.At))
	contained := first(t, res, "contained", timeline.OfKind(timeline.Contained))
	require.Equal(t, foothold, contained.Resource)

	v := first(t, res, "verification", timeline.OfKind(timeline.Verified))
	require.Equal(t, timeline.Succeeded, v.Outcome, "verification: %s", v.Message)
	require.Equal(t, "0", v.Detail["surviving_flows"])
	require.Equal(t, "0", v.Detail["valid_stolen_credentials"])
	// After containment the stolen session is refused.
	denied := timeline.Filter(res.Events, func(e timeline.Event) bool {
		return e.Kind == timeline.AttackAction && e.Outcome == timeline.Denied && e.Detail["credential"] == "stolen-session" &&
			e.At.After(contained.At)
	})
	require.NotEmpty(t, denied)

	// The compromised instance survives the scale-in (another one goes),
	// and every one of its volumes was snapshotted.
	for _, e := range ofKind(res, timeline.ResourceLost) {
		require.NotEqual(t, foothold, e.Resource)
		require.NotEqual(t, foothold, e.Detail["instance"])
	}
	snaps := timeline.Filter(res.Events, func(e timeline.Event) bool {
		return e.Kind == timeline.Evidence && e.Detail["kind"] == "disk_snapshot"
	})
	require.GreaterOrEqual(t, len(snaps), 2, "root and data volume")
}

// TestNaivePlaybookIsCaught: one security-group swap, a profile
// disassociation without session revocation and no scale-in protection.
// The tracked pool flow survives the swap until scale-in kills the box (and
// the evidence with it), and the stolen session keeps working to the end.
func TestNaivePlaybookIsCaught(t *testing.T) {
	data, err := os.ReadFile("../../responder/testdata/ec2-cryptomining-naive.yaml")
	require.NoError(t, err)
	pb, err := responder.LoadPlaybook("ec2-cryptomining-naive.yaml", data)
	require.NoError(t, err)
	res := run(t, runner.Options{Seed: 7, Playbook: pb})
	require.Equal(t, []string{pb.ID}, res.Playbooks)
	foothold := first(t, res, "exploit", action("http:exploit", timeline.Succeeded)).Resource

	v := first(t, res, "verification", timeline.OfKind(timeline.Verified))
	require.Equal(t, timeline.Failed, v.Outcome)
	require.Equal(t, "1", v.Detail["valid_stolen_credentials"], "no session revocation")
	// The pool connection outlived the group swap: keep-alives succeeded
	// after the responder's last step and before the scale-in.
	lastStep := timeline.Filter(res.Events, timeline.OfKind(timeline.StepFinish))
	require.NotEmpty(t, lastStep)
	survived := timeline.Filter(res.Events, func(e timeline.Event) bool {
		return e.Kind == timeline.AttackAction && e.Detail["operation"] == "pool:keepalive" && e.Outcome == timeline.Succeeded &&
			e.At.After(lastStep[0].At)
	})
	require.NotEmpty(t, survived, "the tracked pool flow survives a direct group swap")
	// Without scale-in protection the compromised instance is lost.
	lost := timeline.Filter(res.Events, func(e timeline.Event) bool {
		return e.Kind == timeline.ResourceLost && e.Detail["instance"] == foothold
	})
	require.Len(t, lost, 2, "both volumes of the compromised instance")
}

// TestConditionStepsAndBackgroundActivity: a `when` step waits for its
// condition, and background users leave their own records in CloudTrail
// next to the attacker's correlated ones.
func TestConditionStepsAndBackgroundActivity(t *testing.T) {
	doc := `id: when-test
title: Steal after the first alert
clouds: [aws]
techniques:
  - {id: T1190, name: Exploit Public-Facing Application}
  - {id: T1496, name: Resource Hijacking}
  - {id: T1552.005, name: Cloud Instance Metadata API}
environment: {preset: aws-web-asg}
steps:
  - {id: exploit, at: 1m, technique: aws.ec2.exploit-web-app}
  - {id: miner, after: exploit, technique: aws.ec2.start-cryptominer}
  - {id: steal, when: first_alert, delay: 30s, technique: aws.ec2.steal-imds-credentials}
background:
  - {technique: aws.routine-api-calls, principal: alice, every: 10m, source_ip: 198.51.100.23, params: {calls: ["ec2:DescribeInstances", "s3:GetObject"]}}
detectors:
  guardduty: {enabled: true}
duration: 1h
expect: {playbook: ec2-cryptomining}
`
	sc, err := scenarios.Load("when.yaml", []byte(doc))
	require.NoError(t, err)
	res, err := runner.Run(context.Background(), sc, runner.Options{Seed: 3, NoResponder: true})
	require.NoError(t, err)
	firstAlert := first(t, res, "alert", timeline.OfKind(timeline.Alert))
	steal := first(t, res, "steal step", func(e timeline.Event) bool {
		return e.Kind == timeline.AttackStep && e.Detail["step"] == "steal"
	})
	require.True(t, steal.At.After(firstAlert.At.Add(30*time.Second)) || steal.At.Equal(firstAlert.At.Add(30*time.Second)),
		"steal at %s, first alert at %s", steal.At, firstAlert.At)
	require.Less(t, steal.At.Sub(firstAlert.At), 30*time.Second+30*time.Second, "polled every 30 s")

	var alice, attacker int
	for _, a := range res.World.Audit {
		switch {
		case a.UserName == "alice":
			alice++
			require.Equal(t, "198.51.100.23", a.SourceIP)
			require.NotContains(t, a.UserAgent, res.CorrelationID)
		case strings.Contains(a.UserAgent, "firedrill-attacker/"+res.CorrelationID):
			attacker++
			require.Equal(t, runner.AttackerIP, a.SourceIP)
		}
	}
	require.GreaterOrEqual(t, alice, 10, "two calls every ~10 minutes for an hour")
	require.Equal(t, 2, attacker, "the whoami after the theft and the final check (which replays nothing else)")
}

func TestRunRejectsBadInput(t *testing.T) {
	_, err := runner.Run(context.Background(), nil, runner.Options{})
	require.ErrorContains(t, err, "no scenario")
	sc := *cryptomining(t)
	sc.Expect.Playbook = "no-such-playbook"
	_, err = runner.Run(context.Background(), &sc, runner.Options{})
	require.ErrorContains(t, err, `expects playbook "no-such-playbook", which is not built in`)
}
