package scoring

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/timeline"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// tl builds a timeline by appending events at offsets from t0, in the order
// given (Seq = position), like the runner's actors would.
type tl struct{ events []timeline.Event }

func (b *tl) add(off time.Duration, actor, kind, name, outcome string, detail map[string]string) *tl {
	b.events = append(b.events, timeline.Event{Seq: len(b.events) + 1, At: t0.Add(off), Actor: actor, Kind: kind,
		Name: name, Outcome: outcome, Detail: detail})
	return b
}

func (b *tl) res(resource string) *tl {
	b.events[len(b.events)-1].Resource = resource
	return b
}

func min(n float64) time.Duration { return time.Duration(n * float64(time.Minute)) }

// probe adds an attack.path event: one try of a way in, open or cut.
func (b *tl) probe(off time.Duration, id, kind string, open bool) *tl {
	outcome := timeline.Denied
	if open {
		outcome = timeline.Succeeded
	}
	return b.add(off, timeline.ActorAttacker, timeline.PathProbe, id, outcome, map[string]string{"kind": kind})
}

// check adds the runner's final check reporting the given paths, with the
// counts it derives from them.
func (b *tl) check(off time.Duration, paths ...pathReport) *tl {
	raw, _ := json.Marshal(paths)
	open := map[string]int{}
	for _, p := range paths {
		if p.Status == PathOpen {
			open[p.Kind]++
		}
	}
	outcome := timeline.Succeeded
	if open["network_flow"]+open["stolen_credential"] > 0 {
		outcome = timeline.Failed
	}
	return b.add(off, timeline.ActorRunner, timeline.Verified, "", outcome, map[string]string{
		"surviving_flows": strconv.Itoa(open["network_flow"]), "valid_stolen_credentials": strconv.Itoa(open["stolen_credential"]),
		"valid_persistence_keys": strconv.Itoa(open["planted_credential"]), "attacker_instances_running": strconv.Itoa(open["launched_compute"]),
		"paths": string(raw)})
}

// The ways in of goodDrill: the pool connection and the stolen session.
var (
	poolFlow = pathReport{ID: "aws/network_flow/pool", Kind: "network_flow", Cloud: "aws", Credential: "host", Resource: "i-1", Status: PathCut}
	session  = pathReport{ID: "aws/stolen_credential/stolen-session", Kind: "stolen_credential", Cloud: "aws",
		Credential: "stolen-session", Status: PathCut, ErrorCode: "UnauthorizedOperation"}
)

func opened(p pathReport) pathReport { p.Status, p.ErrorCode = PathOpen, ""; return p }

// goodDrill is the timeline of a drill the responder wins: alerts, ack,
// evidence before scale-in would have struck, containment, attacker denied.
func goodDrill() *tl {
	b := &tl{}
	b.add(0, timeline.ActorRunner, timeline.ScenarioStart, "", "", nil)
	b.add(min(1), timeline.ActorAttacker, timeline.AttackStep, "exploit-web", "", map[string]string{"attack_id": "T1190"})
	b.add(min(1)+2*time.Second, timeline.ActorAttacker, timeline.AttackAction, "start-miner", timeline.Succeeded, map[string]string{"operation": "StartMiner"})
	b.add(min(3), timeline.ActorAttacker, timeline.AttackAction, "run-instances", timeline.Succeeded, map[string]string{"operation": "RunInstances"})
	b.add(min(6)+500*time.Millisecond, timeline.ActorRunner, timeline.FirstLog, "cloudtrail", "", nil)
	b.add(min(9), timeline.ActorDetector, timeline.Alert, "guardduty", "", map[string]string{"type": "CryptoCurrency:EC2/BitcoinTool.B!DNS", "resource": "i-1"})
	b.add(min(11), timeline.ActorDetector, timeline.Alert, "cpu-alarm", "", map[string]string{"type": "CPUUtilization>95", "resource": "i-1"})
	b.add(min(10), timeline.ActorResponder, timeline.Ack, "ec2-cryptomining", "", nil)
	b.add(min(12), timeline.ActorResponder, timeline.Evidence, "", "", map[string]string{"kind": "disk_snapshot", "id": "snap-1", "sha256": "ab", "source": "vol-1", "location": "s3://ev/snap-1"})
	b.add(min(12), timeline.ActorResponder, timeline.Evidence, "", "", map[string]string{"kind": "memory", "id": "mem-1", "sha256": "cd", "source": "i-1"})
	b.add(min(15), timeline.ActorResponder, timeline.StepRetry, "isolate", "", nil)
	b.probe(min(5), poolFlow.ID, poolFlow.Kind, true).probe(min(5), session.ID, session.Kind, true)
	b.add(min(20), timeline.ActorResponder, timeline.Contained, "", "", nil).res("i-1")
	b.probe(min(20), poolFlow.ID, poolFlow.Kind, false).probe(min(20), session.ID, session.Kind, false)
	b.add(min(21), timeline.ActorAttacker, timeline.AttackAction, "pool", timeline.Failed, map[string]string{"operation": "pool-traffic", "credential": "host"})
	b.add(min(22), timeline.ActorAttacker, timeline.AttackAction, "run-instances", timeline.Denied, map[string]string{"operation": "RunInstances", "credential": "stolen-session", "error_code": "UnauthorizedOperation"})
	b.add(min(22), timeline.ActorAttacker, timeline.AttackAction, "whoami", timeline.Succeeded, map[string]string{"operation": "sts:GetCallerIdentity", "credential": "stolen-session", "requires_permission": "false"})
	b.add(min(300), timeline.ActorDetector, timeline.Alert, "cost-anomaly", "", map[string]string{"type": "CostAnomaly"})
	b.check(min(360), poolFlow, session)
	b.add(min(360), timeline.ActorRunner, timeline.ScenarioEnd, "", "", nil)
	return b
}

func input(b *tl, slo SLO) ScoreInput {
	return ScoreInput{Scenario: "aws-ec2-cryptomining", Seed: 7, Clouds: []string{"aws"}, Playbooks: []string{"ec2-cryptomining"},
		StartedAt: t0, EndedAt: t0.Add(6 * time.Hour), SLO: slo, Events: b.events}
}

func f64(v float64) *float64 { return &v }

func TestMetricsFromTimeline(t *testing.T) {
	sc := Score(input(goodDrill(), SLO{}))
	m := sc.Metrics
	require.Equal(t, f64(480), m.MTTDSeconds, "attack step at 1m, guardduty at 9m")
	require.Equal(t, f64(60), m.MTTASeconds, "alert 9m, ack 10m")
	require.Equal(t, f64(660), m.MTTCSeconds, "alert 9m, contained 20m")
	require.Equal(t, f64(1140), m.AttackToContainmentSeconds)
	require.Equal(t, f64(298.5), m.TelemetryLatencySeconds, "first action 1m02s, first log 6m00.5s")
	require.Equal(t, f64(179.5), m.DetectionOverheadSeconds)
	require.Equal(t, t0.Add(min(1)), *m.AttackStartedAt)
	require.Equal(t, t0.Add(min(20)), *m.ContainedAt)

	require.Len(t, sc.Detections, 3)
	require.Equal(t, "guardduty", sc.Detections[0].Control)
	require.Equal(t, "CryptoCurrency:EC2/BitcoinTool.B!DNS", sc.Detections[0].Type)
	require.Equal(t, f64(480), sc.Detections[0].LatencySeconds)
	require.Equal(t, "cpu-alarm", sc.Detections[1].Control)
	require.Equal(t, "cost-anomaly", sc.Detections[2].Control)
	require.Equal(t, f64(299*60), sc.Detections[2].LatencySeconds)
}

func TestMissingEventsGiveNullMetricsNotZero(t *testing.T) {
	b := &tl{}
	b.add(min(1), timeline.ActorAttacker, timeline.AttackStep, "exploit", "", nil)
	sc := Score(input(b, SLO{}))
	require.Nil(t, sc.Metrics.MTTDSeconds)
	require.Nil(t, sc.Metrics.MTTASeconds)
	require.Nil(t, sc.Metrics.MTTCSeconds)
	out, err := sc.JSON()
	require.NoError(t, err)
	require.Contains(t, string(out), `"mttd_seconds": null`)
	require.Contains(t, string(out), `"detections": []`)
	require.Contains(t, string(out), `"evidence": []`)
	require.Equal(t, Missed, sc.Outcome)
	require.False(t, sc.Pass)
}

func TestAlertBeforeAttackIsNotADetection(t *testing.T) {
	b := &tl{}
	b.add(0, timeline.ActorDetector, timeline.Alert, "cpu-alarm", "", map[string]string{"type": "background"})
	b.add(min(5), timeline.ActorAttacker, timeline.AttackStep, "exploit", "", nil)
	b.add(min(8), timeline.ActorDetector, timeline.Alert, "guardduty", "", map[string]string{"type": "x"})
	sc := Score(input(b, SLO{}))
	require.Equal(t, f64(180), sc.Metrics.MTTDSeconds)
	require.Len(t, sc.Detections, 1)
	require.Equal(t, "guardduty", sc.Detections[0].Control)
}

func TestAckBeforeAlertIsImmediate(t *testing.T) {
	b := &tl{}
	b.add(0, timeline.ActorAttacker, timeline.AttackStep, "exploit", "", nil)
	b.add(min(4), timeline.ActorResponder, timeline.Ack, "", "", nil)
	b.add(min(5), timeline.ActorDetector, timeline.Alert, "guardduty", "", nil)
	require.Equal(t, f64(0), Score(input(b, SLO{})).Metrics.MTTASeconds)
}

func controlOutcome(t *testing.T, sc *Scorecard, control string) ControlOutcome {
	t.Helper()
	for _, c := range sc.Controls {
		if c.Control == control {
			return c
		}
	}
	t.Fatalf("no control %q in %+v", control, sc.Controls)
	return ControlOutcome{}
}

func TestLadderPerControl(t *testing.T) {
	in := input(goodDrill(), SLO{})
	in.Controls = []string{"guardduty", "cpu-alarm", "cost-anomaly", "vpc-flow-rule"}
	sc := Score(in)
	require.Equal(t, Responded, controlOutcome(t, sc, ControlResponder).Outcome)
	require.Equal(t, Detected, controlOutcome(t, sc, "guardduty").Outcome, "alerted at 9m, ack at 10m")
	require.Equal(t, Alerted, controlOutcome(t, sc, "cpu-alarm").Outcome, "alerted at 11m, after the ack")
	require.Equal(t, Alerted, controlOutcome(t, sc, "cost-anomaly").Outcome)
	require.Equal(t, Logged, controlOutcome(t, sc, "vpc-flow-rule").Outcome, "enabled, silent, but audit records exist")
	require.Equal(t, Missed, controlOutcome(t, sc, ControlGuardrails).Outcome, "the attacker succeeded before containment")
	require.Equal(t, Responded, sc.Outcome, "best across controls")
	require.Equal(t, 0.9, controlOutcome(t, sc, ControlResponder).Weight)
	names := []string{}
	for _, c := range sc.Controls {
		names = append(names, c.Control)
	}
	require.Equal(t, []string{"guardrails", "cost-anomaly", "cpu-alarm", "guardduty", "vpc-flow-rule", "responder"}, names)
}

func TestLadderLowerRungs(t *testing.T) {
	// Only audit records: every control Logged, overall logged.
	b := &tl{}
	b.add(0, timeline.ActorAttacker, timeline.AttackAction, "x", timeline.Succeeded, nil)
	b.add(min(5), timeline.ActorRunner, timeline.FirstLog, "", "", nil)
	in := input(b, SLO{})
	in.Controls = []string{"guardduty"}
	sc := Score(in)
	require.Equal(t, Logged, controlOutcome(t, sc, "guardduty").Outcome)
	require.Equal(t, Logged, controlOutcome(t, sc, ControlResponder).Outcome)
	require.Equal(t, Logged, sc.Outcome)

	// Nothing at all: Missed.
	b = &tl{}
	b.add(0, timeline.ActorAttacker, timeline.AttackAction, "x", timeline.Succeeded, nil)
	in = input(b, SLO{})
	in.Controls = []string{"guardduty"}
	sc = Score(in)
	require.Equal(t, Missed, controlOutcome(t, sc, "guardduty").Outcome)
	require.Equal(t, Missed, sc.Outcome)

	// An alert nobody acknowledged: Alerted for both.
	b.add(min(6), timeline.ActorDetector, timeline.Alert, "guardduty", "", nil)
	sc = Score(input(b, SLO{}))
	require.Equal(t, Alerted, controlOutcome(t, sc, "guardduty").Outcome)
	require.Equal(t, Alerted, controlOutcome(t, sc, ControlResponder).Outcome)

	// Acked but containment not verified: responder Detected.
	b.add(min(7), timeline.ActorResponder, timeline.Ack, "", "", nil)
	sc = Score(input(b, SLO{}))
	require.Equal(t, Detected, controlOutcome(t, sc, ControlResponder).Outcome)
	require.Equal(t, Detected, sc.Outcome)
}

func TestGuardrailsPrevented(t *testing.T) {
	b := &tl{}
	b.add(0, timeline.ActorAttacker, timeline.AttackStep, "persist", "", nil)
	b.add(min(1), timeline.ActorAttacker, timeline.AttackAction, "create-key", timeline.Denied, map[string]string{"operation": "CreateAccessKey"})
	b.add(min(2), timeline.ActorAttacker, timeline.AttackAction, "run", timeline.Denied, map[string]string{"operation": "RunInstances"})
	sc := Score(input(b, SLO{}))
	g := controlOutcome(t, sc, ControlGuardrails)
	require.Equal(t, Prevented, g.Outcome)
	require.Contains(t, g.Reason, "all 2")
	require.Equal(t, Prevented, sc.Outcome)
	require.Equal(t, 1.0, g.Weight)

	b.add(min(3), timeline.ActorAttacker, timeline.AttackAction, "run", timeline.Succeeded, map[string]string{"operation": "RunInstances"})
	require.Equal(t, Missed, controlOutcome(t, Score(input(b, SLO{})), ControlGuardrails).Outcome)
}

func TestEvidenceBeforeLoss(t *testing.T) {
	b := &tl{}
	b.add(0, timeline.ActorAttacker, timeline.AttackStep, "exploit", "", nil)
	b.add(min(1), timeline.ActorAttacker, timeline.AttackAction, "exploit", timeline.Succeeded, map[string]string{"credential": "host"}).res("i-1")
	// vol-1 snapshotted, then lost: before loss.
	b.add(min(10), timeline.ActorResponder, timeline.Evidence, "", "", map[string]string{"kind": "disk_snapshot", "id": "snap-1", "source": "vol-1", "sha256": "11"})
	// vol-2 lost at 25m; its snapshot claims 25m too but is appended after: not before loss.
	b.add(min(25), timeline.ActorCloud, timeline.ResourceLost, "", "", map[string]string{"kind": "volume"}).res("vol-2")
	b.add(min(25), timeline.ActorResponder, timeline.Evidence, "", "", map[string]string{"kind": "disk_snapshot", "id": "snap-2", "source": "vol-2"})
	b.add(min(25), timeline.ActorCloud, timeline.ResourceLost, "", "", map[string]string{"kind": "volume"}).res("vol-1")
	// vol-3 and the instance vanish with no evidence at all.
	b.add(min(25), timeline.ActorCloud, timeline.ResourceLost, "", "", map[string]string{"kind": "volume", "instance": "i-1"}).res("vol-3")
	b.add(min(25), timeline.ActorCloud, timeline.ResourceLost, "", "", map[string]string{"kind": "instance"}).res("i-1")
	// A healthy instance scaled in, with its volume: not the incident's.
	b.add(min(26), timeline.ActorCloud, timeline.ResourceLost, "", "", map[string]string{"kind": "instance"}).res("i-9")
	b.add(min(26), timeline.ActorCloud, timeline.ResourceLost, "", "", map[string]string{"kind": "volume", "instance": "i-9"}).res("vol-9")
	// An audit-log export has no losable source.
	b.add(min(30), timeline.ActorResponder, timeline.Evidence, "", "", map[string]string{"kind": "audit_log", "id": "trail-1"})
	sc := Score(input(b, SLO{}))

	require.Len(t, sc.Evidence, 5)
	e := sc.Evidence
	require.Equal(t, "snap-1", e[0].ID)
	require.True(t, e[0].BeforeLoss)
	require.Equal(t, t0.Add(min(25)), *e[0].LostAt)
	require.Equal(t, "snap-2", e[1].ID)
	require.False(t, e[1].BeforeLoss, "captured after its volume was lost")
	require.Equal(t, "trail-1", e[2].ID)
	require.True(t, e[2].BeforeLoss)
	require.Nil(t, e[2].LostAt)
	require.Equal(t, EvidenceItem{Kind: "volume", ID: "vol-3", LostAt: e[3].LostAt}, e[3])
	require.Equal(t, "i-1", e[4].ID)
	require.False(t, e[4].BeforeLoss)

	out, err := sc.JSON()
	require.NoError(t, err)
	require.Contains(t, string(out), `{
      "kind": "volume",
      "id": "vol-3",
      "before_loss": false,
      "lost_at": "2026-03-01T12:25:00Z"
    }`)
	require.Equal(t, 6.0, sc.Breakdown.Evidence, "2 of 5 items before loss → 15 × 0.4")
}

func TestContainmentVerified(t *testing.T) {
	sc := Score(input(goodDrill(), SLO{}))
	c := sc.Containment
	require.True(t, c.Verified, "reasons: %v", c.Reasons)
	require.True(t, c.Checked)
	require.Empty(t, c.Reasons)
	require.Equal(t, ActionCounts{Succeeded: 0, Denied: 1, Failed: 1}, c.AttackerActionsAfterContainment)
	require.Equal(t, 1, c.UnblockableActionsAfterContainment, "GetCallerIdentity needs no permission")
	require.Equal(t, []OperationCounts{
		{Credential: "host", Operation: "pool-traffic", Counted: true, ActionCounts: ActionCounts{Failed: 1}},
		{Credential: "stolen-session", Operation: "RunInstances", Counted: true, ActionCounts: ActionCounts{Denied: 1}},
		{Credential: "stolen-session", Operation: "sts:GetCallerIdentity", Counted: false, ActionCounts: ActionCounts{Succeeded: 1}},
	}, c.ByOperation)
	require.Empty(t, c.Notes)
	require.Equal(t, []string{"i-1"}, c.ContainedResources)
}

func TestContainmentNotVerified(t *testing.T) {
	cases := map[string]struct {
		mutate func(b *tl)
		reason string
	}{
		"flow survives": {func(b *tl) {
			b.check(min(400), opened(poolFlow), session)
		}, "1 network flow path(s) still open at the final check: aws/network_flow/pool"},
		"stolen credentials valid": {func(b *tl) {
			b.check(min(400), poolFlow, opened(session))
		}, "1 stolen credential path(s) still open at the final check: aws/stolen_credential/stolen-session"},
		"a check of counts only (recorded before paths)": {func(b *tl) {
			b.add(min(400), timeline.ActorRunner, timeline.Verified, "", timeline.Failed, map[string]string{"surviving_flows": "0", "valid_stolen_credentials": "2"})
		}, "1 stolen credential path(s) still open at the final check: stolen_credential"},
		"unreadable paths": {func(b *tl) {
			b.add(min(400), timeline.ActorRunner, timeline.Verified, "", "", map[string]string{"surviving_flows": "0",
				"valid_stolen_credentials": "0", "paths": "{"})
		}, "the containment check's paths are not a JSON list of paths: unexpected end of JSON input"},
		"malformed check": {func(b *tl) {
			b.add(min(400), timeline.ActorRunner, timeline.Verified, "", "", map[string]string{"surviving_flows": "many", "valid_stolen_credentials": "0"})
		}, `the containment check reported surviving_flows="many", not a count`},
		"no check": {func(b *tl) {
			var kept []timeline.Event
			for _, e := range b.events {
				if e.Kind != timeline.Verified {
					kept = append(kept, e)
				}
			}
			b.events = kept
		}, "no containment check (verified event) was recorded"},
		"never contained": {func(b *tl) {
			var kept []timeline.Event
			for _, e := range b.events {
				if e.Kind != timeline.Contained {
					kept = append(kept, e)
				}
			}
			b.events = kept
		}, "the responder never declared containment"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			b := goodDrill()
			tc.mutate(b)
			sc := Score(input(b, SLO{}))
			require.False(t, sc.Containment.Verified)
			require.Contains(t, sc.Containment.Reasons, tc.reason)
			require.NotEqual(t, Responded, controlOutcome(t, sc, ControlResponder).Outcome)
			require.False(t, sc.Pass)
			require.Equal(t, VerdictNotContained, sc.Verdict)
			require.NotEmpty(t, sc.ReasonCodes)
		})
	}
}

// TestContainmentTakesEffectWhenTheProbesSaySo: a responder that declares
// before its changes bite is contained when the attacker's probes find
// every way cut, not when it says so; the attacker's success after the
// declaration moves the effective instant too.
func TestContainmentTakesEffectWhenTheProbesSaySo(t *testing.T) {
	slo := SLO{Profile: ProfileCustom, MTTD: 10 * time.Minute, MTTC: time.Hour}
	b := goodDrill()
	var kept []timeline.Event
	for _, e := range b.events {
		if e.Kind != timeline.PathProbe || e.Outcome == timeline.Succeeded {
			kept = append(kept, e)
		}
	}
	b.events = kept
	b.probe(min(25), session.ID, session.Kind, true) // still open after the declaration
	b.probe(min(30), session.ID, session.Kind, false)
	b.probe(min(30), poolFlow.ID, poolFlow.Kind, false)
	sc := Score(input(b, slo))
	require.True(t, sc.Containment.Verified, "%v", sc.Containment.Reasons)
	require.Equal(t, t0.Add(min(30)), *sc.Containment.ContainedAt)
	require.Equal(t, t0.Add(min(20)), *sc.Containment.DeclaredAt)
	require.Equal(t, f64(21*60), sc.Metrics.MTTCSeconds, "alert T+9m to the cut found at T+30m")
	require.Equal(t, f64(11*60), sc.Metrics.DeclaredMTTCSeconds)
	require.Equal(t, f64(10*60), sc.Metrics.ContainmentGapSeconds)
	p := sc.Containment.Paths[1]
	require.Equal(t, session.ID, p.ID)
	require.Equal(t, t0.Add(min(25)), *p.LastSuccessAt)
	require.Equal(t, t0.Add(min(30)), *p.CutAt)
	require.Equal(t, 3, p.Probes, "cut at T+20m, open at T+25m, cut at T+30m")

	// An attacker action succeeding at T+42m, after every probe said cut:
	// it had access then.
	b.add(min(42), timeline.ActorAttacker, timeline.AttackAction, "pool", timeline.Succeeded, map[string]string{"operation": "pool-traffic", "credential": "host"})
	sc = Score(input(b, slo))
	require.True(t, sc.Containment.Verified)
	require.Equal(t, t0.Add(min(42)), *sc.Containment.ContainedAt)
	require.Equal(t, 1, sc.Containment.AttackerActionsAfterContainment.Succeeded)
	require.Contains(t, sc.Containment.Notes, "1 attacker action(s) succeeded after containment was declared")
	require.Empty(t, sc.ReasonCodes, "the note is not a failure: the final check found every way cut")

	// A later SLO makes the effective time decide the contain target.
	sc = Score(input(b, SLO{Profile: ProfileCustom, MTTC: 30 * time.Minute}))
	require.Equal(t, VerdictSLOMissed, sc.Verdict, "declared at 11m, effective at 33m")
	require.Equal(t, []string{"slo_missed:contain"}, sc.ReasonCodes)
}

func TestActionBeforeContainmentAtSameInstantIsNotAfter(t *testing.T) {
	b := &tl{}
	b.add(0, timeline.ActorAttacker, timeline.AttackStep, "x", "", nil)
	b.add(min(5), timeline.ActorAttacker, timeline.AttackAction, "pool", timeline.Succeeded, nil)
	b.add(min(5), timeline.ActorResponder, timeline.Contained, "", "", nil)
	b.add(min(5), timeline.ActorAttacker, timeline.AttackAction, "pool", timeline.Denied, nil)
	sc := Score(input(b, SLO{}))
	require.Equal(t, ActionCounts{Denied: 1}, sc.Containment.AttackerActionsAfterContainment)
}

func TestSLOProfiles(t *testing.T) {
	// goodDrill: MTTD 8m, MTTA 1m, MTTC 11m.
	sc := Score(input(goodDrill(), SLO{Profile: Profile1060}))
	require.Equal(t, Profile1060, sc.SLO.Profile)
	require.Len(t, sc.SLO.Targets, 3)
	require.Equal(t, SLOTarget{Name: "detect", Metric: "mttd", TargetSeconds: 60, ActualSeconds: f64(480), Met: false}, sc.SLO.Targets[0])
	require.True(t, sc.SLO.Targets[1].Met, "ack in 1m ≤ 10m")
	require.True(t, sc.SLO.Targets[2].Met, "contain in 11m ≤ 60m")
	require.False(t, sc.SLO.Met)
	require.Equal(t, sc.SLO, Score(input(goodDrill(), SLO{})).SLO, "empty profile defaults to 1-10-60")

	sc = Score(input(goodDrill(), SLO{Profile: Profile555}))
	require.Equal(t, 5.0, sc.SLO.Targets[0].TargetSeconds)
	require.Equal(t, 300.0, sc.SLO.Targets[2].TargetSeconds)
	require.False(t, sc.SLO.Targets[2].Met, "contain in 11m > 5m")
	require.True(t, sc.SLO.Targets[1].Met)
	require.Len(t, sc.SLO.Notes, 1)
	require.Contains(t, sc.SLO.Notes[0], "below the cloud telemetry floor")

	sc = Score(input(goodDrill(), SLO{Profile: ProfileCustom, MTTD: 10 * time.Minute, MTTC: 15 * time.Minute}))
	require.Len(t, sc.SLO.Targets, 2, "no MTTA target")
	require.True(t, sc.SLO.Met)
	require.True(t, sc.Pass)
	require.Empty(t, sc.SLO.Notes)

	sc = Score(input(goodDrill(), SLO{Profile: ProfileCustom, MTTD: 7 * time.Minute}))
	require.False(t, sc.SLO.Met, "8m > 7m")
	require.False(t, sc.Pass)

	sc = Score(input(goodDrill(), SLO{Profile: "fast"}))
	require.False(t, sc.SLO.Met)
	require.Empty(t, sc.SLO.Targets)
	require.Contains(t, sc.SLO.Notes[0], `unknown SLO profile "fast"`)

	sc = Score(input(goodDrill(), SLO{Profile: ProfileCustom}))
	require.False(t, sc.SLO.Met)
	require.Contains(t, sc.SLO.Notes[0], "no target")
}

func TestSLONeverMeasuredIsNotMet(t *testing.T) {
	b := &tl{}
	b.add(0, timeline.ActorAttacker, timeline.AttackStep, "x", "", nil)
	sc := Score(input(b, SLO{Profile: ProfileCustom, MTTD: time.Hour}))
	require.False(t, sc.SLO.Targets[0].Met)
	require.Nil(t, sc.SLO.Targets[0].ActualSeconds)
	require.Contains(t, sc.SLO.Notes[0], "never measured")
}

func TestScoreFormula(t *testing.T) {
	// Good drill under a custom SLO it meets: 35 + 10 (nothing planted) +
	// 15 (2/2 evidence) + 20 + 18 = 98.
	sc := Score(input(goodDrill(), SLO{Profile: ProfileCustom, MTTD: 10 * time.Minute, MTTC: 15 * time.Minute}))
	require.Equal(t, ScoreBreakdown{Containment: 35, Eradication: 10, Evidence: 15, Timeliness: 20, Outcome: 18, Scale: 1}, sc.Breakdown)
	require.Equal(t, 98, sc.Score)
	require.Equal(t, VerdictPass, sc.Verdict)

	// 1-10-60: 2 of 3 targets → 13.33; 35 + 10 + 15 + 13.33 + 18 = 91.33 → 91.
	sc = Score(input(goodDrill(), SLO{}))
	require.Equal(t, 13.33, sc.Breakdown.Timeliness)
	require.Equal(t, 91, sc.Score)
	require.Equal(t, VerdictSLOMissed, sc.Verdict)

	// Eradication out of scope: its 10 points are not on offer, the rest
	// scales to 100: (35 + 15 + 13.33 + 18) × 100/90 = 90.37 → 90.
	in := input(goodDrill(), SLO{})
	in.EradicationOutOfScope = true
	sc = Score(in)
	require.Equal(t, 0.0, sc.Breakdown.Eradication)
	require.InDelta(t, 1.111, sc.Breakdown.Scale, 0.001)
	require.Equal(t, 90, sc.Score)

	// Step errors cost 2 each, capped at 10.
	b := goodDrill()
	for i := 0; i < 3; i++ {
		b.add(min(16), timeline.ActorResponder, timeline.StepError, "snapshot", "", nil)
	}
	sc = Score(input(b, SLO{}))
	require.Equal(t, 3, sc.Breakdown.StepErrors)
	require.Equal(t, 6.0, sc.Breakdown.Penalties)
	require.Equal(t, 85, sc.Score)
	for i := 0; i < 5; i++ {
		b.add(min(16), timeline.ActorResponder, timeline.StepError, "snapshot", "", nil)
	}
	require.Equal(t, 10.0, Score(input(b, SLO{})).Breakdown.Penalties)

	// Declared but not verified: no 35, outcome 0.8×20, −10.
	b = goodDrill()
	b.check(min(400), opened(poolFlow), session)
	sc = Score(input(b, SLO{}))
	require.Equal(t, ScoreBreakdown{Containment: 0, Eradication: 10, Evidence: 15, Timeliness: 6.67, Outcome: 16, Penalties: 10, Scale: 1},
		sc.Breakdown, "MTTC is null while a way in is open: 1 of 3 targets")
	require.Equal(t, 38, sc.Score)

	// Floor at 0.
	b = &tl{}
	b.add(0, timeline.ActorResponder, timeline.Contained, "", "", nil)
	for i := 0; i < 6; i++ {
		b.add(0, timeline.ActorResponder, timeline.StepError, "s", "", nil)
	}
	sc = Score(input(b, SLO{}))
	require.Equal(t, 0, sc.Score)
	require.Equal(t, 20.0, sc.Breakdown.Penalties)
}

// TestPlantedThingsAreWaysInAndArtifacts: a planted key that still works
// is a way in (not contained); disabled but still there, it is contained
// and not eradicated; deleted, both. Launched compute likewise.
func TestPlantedThingsAreWaysInAndArtifacts(t *testing.T) {
	yes, no := true, false
	key := pathReport{ID: "aws/planted_credential/AKIA1", Kind: "planted_credential", Cloud: "aws", Credential: "persistence-key",
		Status: PathOpen, ArtifactKind: "access_key", Artifact: "AKIA1", Present: &yes}
	gpu := pathReport{ID: "aws/launched_compute/i-9", Kind: "launched_compute", Cloud: "aws", Status: PathCut,
		ArtifactKind: "vm", Artifact: "i-9", Present: &no, CostUSD: 12.24}
	withCheck := func(ps ...pathReport) *Scorecard {
		b := goodDrill()
		b.check(min(400), append([]pathReport{poolFlow, session}, ps...)...)
		return Score(input(b, SLO{Profile: ProfileCustom, MTTC: time.Hour}))
	}

	sc := withCheck(key, gpu)
	require.Equal(t, VerdictNotContained, sc.Verdict)
	require.Equal(t, []string{"path_open:planted_credential", "artifact_present:access_key", "slo_missed:contain"}, sc.ReasonCodes,
		"never contained: no MTTC")
	require.Equal(t, 1, sc.Containment.ValidPersistenceKeys)

	key.Status = PathCut
	sc = withCheck(key, gpu)
	require.True(t, sc.Containment.Verified, "%v", sc.Containment.Reasons)
	require.Equal(t, VerdictContainedNotEradicated, sc.Verdict)
	require.Equal(t, []string{"artifact_present:access_key"}, sc.ReasonCodes)
	require.Equal(t, []EradicationItem{
		{Path: key.ID, Kind: "access_key", Cloud: "aws", Resource: "AKIA1", Status: ItemPresent},
		{Path: gpu.ID, Kind: "vm", Cloud: "aws", Resource: "i-9", Status: ItemRemoved, CostUSD: 12.24},
	}, sc.Eradication.Items)
	require.Equal(t, 12.24, sc.Eradication.CostUSD)
	require.Equal(t, 5.0, sc.Breakdown.Eradication, "1 of 2 removed")

	key.Present = &no
	sc = withCheck(key, gpu)
	require.Equal(t, VerdictPass, sc.Verdict, "%v", sc.ReasonCodes)
	require.True(t, sc.Eradication.Verified)

	// A kind the cloud cannot check yet is said so, not passed.
	key.Present = nil
	sc = withCheck(key, gpu)
	require.Equal(t, []string{"artifact_unknown:access_key"}, sc.ReasonCodes)
	require.Equal(t, ItemUnknown, sc.Eradication.Items[0].Status)

	// Out of scope, the same leftovers decide nothing.
	b := goodDrill()
	key.Present = &yes
	b.check(min(400), poolFlow, session, key)
	in := input(b, SLO{Profile: ProfileCustom, MTTC: time.Hour})
	in.EradicationOutOfScope = true
	sc = Score(in)
	require.Equal(t, VerdictPass, sc.Verdict)
	require.False(t, sc.Eradication.InScope)
	require.Equal(t, []string{"artifact_present:access_key"}, sc.Eradication.ReasonCodes, "still reported")
}

// TestCollateral: a legitimate principal that worked before the response
// and is denied after it began costs a point a round.
func TestCollateral(t *testing.T) {
	b := goodDrill()
	bg := func(off time.Duration, who, outcome string) {
		b.add(off, timeline.ActorBackground, timeline.BackgroundAction, "aws.routine-calls", outcome, map[string]string{"principal": who})
	}
	bg(min(2), "alice", timeline.Succeeded)
	bg(min(4), "bob", timeline.Denied) // never worked: not the response's doing
	b.add(min(13), timeline.ActorResponder, timeline.StepStart, "isolate", "", nil)
	bg(min(30), "alice", timeline.Denied)
	bg(min(40), "alice", timeline.Denied)
	bg(min(40), "bob", timeline.Denied)
	sc := Score(input(b, SLO{Profile: ProfileCustom, MTTC: time.Hour}))
	require.Equal(t, 2, sc.Collateral.DeniedLegitimateActions)
	require.Equal(t, []string{"alice"}, sc.Collateral.Principals)
	require.Equal(t, []CollateralActivity{{Activity: "aws.routine-calls", Principal: "alice", Denied: 2,
		Principals: []string{"alice"}, FirstDeniedAt: t0.Add(min(30)), LastDeniedAt: t0.Add(min(40))}}, sc.Collateral.Activities,
		"alice never worked again: not restored")
	require.Equal(t, 2.0, sc.Breakdown.CollateralPenalty)
	require.Equal(t, 2.0, sc.Breakdown.Penalties)
	require.Equal(t, 96, sc.Score)
	require.Equal(t, VerdictPass, sc.Verdict, "collateral costs points, not the verdict")
}

// TestCollateralActivities: the members of a VM group acting for one
// activity are counted each, and the activity is restored when every
// member it broke that kept acting works again; a member that left the
// group is not waited for. An activity still denied at its last round is
// not restored.
func TestCollateralActivities(t *testing.T) {
	b := goodDrill()
	fleet := func(off time.Duration, member, outcome string) {
		b.add(off, timeline.ActorBackground, timeline.BackgroundAction, "aws.fleet-role-calls", outcome,
			map[string]string{"principal": "web-app-role/" + member, "activity": "web-app-role"})
	}
	web := func(off time.Duration, outcome string) {
		b.add(off, timeline.ActorBackground, timeline.BackgroundAction, "aws.web-clients", outcome,
			map[string]string{"principal": "storefront-users"})
	}
	for _, m := range []string{"i-1", "i-2", "i-3"} {
		fleet(min(5), m, timeline.Succeeded)
	}
	web(min(5), timeline.Succeeded)
	b.add(min(13), timeline.ActorResponder, timeline.StepStart, "revoke", "", nil)
	for _, m := range []string{"i-1", "i-2", "i-3"} {
		fleet(min(20), m, timeline.Denied)
	}
	web(min(20), timeline.Denied)
	// i-3 left the group; i-1 refreshed first, i-2 later.
	fleet(min(30), "i-1", timeline.Succeeded)
	fleet(min(30), "i-2", timeline.Denied)
	web(min(30), timeline.Succeeded)
	fleet(min(40), "i-1", timeline.Succeeded)
	fleet(min(40), "i-2", timeline.Succeeded)
	web(min(40), timeline.Denied)
	sc := Score(input(b, SLO{}))
	c := sc.Collateral
	require.Equal(t, 6, c.DeniedLegitimateActions)
	require.Equal(t, []string{"storefront-users", "web-app-role/i-1", "web-app-role/i-2", "web-app-role/i-3"}, c.Principals)
	restored := t0.Add(min(40))
	require.Equal(t, []CollateralActivity{
		{Activity: "aws.fleet-role-calls", Principal: "web-app-role", Denied: 4,
			Principals:    []string{"web-app-role/i-1", "web-app-role/i-2", "web-app-role/i-3"},
			FirstDeniedAt: t0.Add(min(20)), LastDeniedAt: t0.Add(min(30)), RestoredAt: &restored},
		{Activity: "aws.web-clients", Principal: "storefront-users", Denied: 2, Principals: []string{"storefront-users"},
			FirstDeniedAt: t0.Add(min(20)), LastDeniedAt: t0.Add(min(40))},
	}, c.Activities)
	require.Equal(t, 6.0, sc.Breakdown.CollateralPenalty)

	// An activity whose only broken principal left works again when the
	// others next work.
	b2 := goodDrill()
	member := func(off time.Duration, m, outcome string) {
		b2.add(off, timeline.ActorBackground, timeline.BackgroundAction, "gcp.fleet-service-account-calls", outcome,
			map[string]string{"principal": "web-app/" + m, "activity": "web-app"})
	}
	member(min(5), "vm-1", timeline.Succeeded)
	member(min(5), "vm-2", timeline.Succeeded)
	b2.add(min(13), timeline.ActorResponder, timeline.StepStart, "disable", "", nil)
	member(min(20), "vm-1", timeline.Denied)
	member(min(20), "vm-2", timeline.Succeeded)
	member(min(30), "vm-2", timeline.Succeeded)
	require.Nil(t, func() *time.Time {
		b3 := &tl{events: append([]timeline.Event(nil), b2.events[:len(b2.events)-2]...)}
		return Score(input(b3, SLO{})).Collateral.Activities[0].RestoredAt
	}(), "while vm-1's denial is the activity's last round, it is not restored")
	gone := Score(input(b2, SLO{})).Collateral.Activities
	require.Len(t, gone, 1)
	require.Equal(t, t0.Add(min(20)), *gone[0].RestoredAt, "vm-1 left its group; the activity's next success was vm-2's, in the same round")

	// The penalty keeps growing with the damage, up to its cap.
	for i := 0; i < 30; i++ {
		web(min(41+float64(i)), timeline.Denied)
	}
	sc = Score(input(b, SLO{}))
	require.Equal(t, 36, sc.Collateral.DeniedLegitimateActions)
	require.Equal(t, 20.0, sc.Breakdown.CollateralPenalty)
}

func TestJSONContractAndDeterminism(t *testing.T) {
	b := goodDrill()
	a, err := Score(input(b, SLO{})).JSON()
	require.NoError(t, err)
	// Shuffled append order with the same Seq/At gives the same card.
	rev := append([]timeline.Event(nil), b.events...)
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	in := input(b, SLO{})
	in.Events = rev
	c, err := Score(in).JSON()
	require.NoError(t, err)
	require.Equal(t, string(a), string(c))
	require.True(t, bytes.HasSuffix(a, []byte("}\n")))

	var m map[string]any
	require.NoError(t, json.Unmarshal(a, &m))
	for _, k := range []string{"scenario", "seed", "clouds", "playbooks", "started_at", "ended_at", "metrics",
		"detections", "containment", "evidence", "outcome", "score", "timeline"} {
		require.Contains(t, m, k)
	}
	metrics := m["metrics"].(map[string]any)
	for _, k := range []string{"mttd_seconds", "mtta_seconds", "mttc_seconds", "attack_to_containment_seconds"} {
		require.Contains(t, metrics, k)
	}
	det := m["detections"].([]any)[0].(map[string]any)
	for _, k := range []string{"control", "type", "at", "latency_seconds"} {
		require.Contains(t, det, k)
	}
	cont := m["containment"].(map[string]any)
	for _, k := range []string{"verified", "attacker_actions_after_containment", "surviving_flows", "valid_stolen_credentials"} {
		require.Contains(t, cont, k)
	}
	require.Contains(t, cont["attacker_actions_after_containment"], "succeeded")
	require.Contains(t, cont["attacker_actions_after_containment"], "denied")
	ev := m["evidence"].([]any)[0].(map[string]any)
	for _, k := range []string{"kind", "id", "sha256", "captured_at", "before_loss"} {
		require.Contains(t, ev, k)
	}
	require.Equal(t, "responded", m["outcome"])
	require.Equal(t, "2026-03-01T12:00:00Z", m["started_at"])
	require.Len(t, m["timeline"], len(b.events))

	// Key order follows the contract.
	s := string(a)
	last := -1
	for _, k := range []string{`"scenario"`, `"seed"`, `"clouds"`, `"playbooks"`, `"started_at"`, `"ended_at"`, `"metrics"`,
		`"detections"`, `"containment"`, `"evidence"`, `"outcome"`, `"score"`, `"timeline"`} {
		i := strings.Index(s, "\n  "+k+":")
		require.Greater(t, i, last, "top-level key %s out of order", k)
		last = i
	}
	require.NotContains(t, s, `\u003e`, "no HTML escaping of > in types")
}

func TestTimestampsAreUTC(t *testing.T) {
	b := goodDrill()
	loc := time.FixedZone("X", 3600)
	for i := range b.events {
		b.events[i].At = b.events[i].At.In(loc)
	}
	in := input(b, SLO{})
	in.StartedAt = in.StartedAt.In(loc)
	out, err := Score(in).JSON()
	require.NoError(t, err)
	require.NotContains(t, string(out), "+01:00")
}

var update = flag.Bool("update", false, "rewrite the golden tables in testdata")

// TestTable compares the terminal table with golden files (go test
// ./scoring -run Table -update rewrites them): a drill that passes except
// for its detect target, and one whose pool flow survived.
func TestTable(t *testing.T) {
	open := goodDrill()
	open.check(min(400), opened(poolFlow), session)
	// The widest names the catalog's background activities have.
	broke := goodDrill()
	for _, off := range []float64{5, 30, 50} {
		outcome := timeline.Succeeded
		if off == 30 {
			outcome = timeline.Denied
		}
		for _, m := range []string{"web-mig-d2e5", "web-mig-p9bb"} {
			broke.add(min(off), timeline.ActorBackground, timeline.BackgroundAction, "gcp.fleet-service-account-calls", outcome,
				map[string]string{"principal": "web-app/" + m, "activity": "web-app"})
		}
		broke.add(min(off), timeline.ActorBackground, timeline.BackgroundAction, "gcp.routine-api-calls", outcome,
			map[string]string{"principal": "ci-deploy@firedrill-demo.iam.gserviceaccount.com"})
	}
	broke.add(min(13), timeline.ActorResponder, timeline.StepStart, "disable", "", nil)
	broke.add(min(200), timeline.ActorBackground, timeline.BackgroundAction, "gcp.web-clients", timeline.Succeeded,
		map[string]string{"principal": "storefront-users"})
	broke.add(min(205), timeline.ActorBackground, timeline.BackgroundAction, "gcp.web-clients", timeline.Denied,
		map[string]string{"principal": "storefront-users"})
	for name, b := range map[string]*tl{"good": goodDrill(), "flow-open": open, "collateral": broke} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			require.NoError(t, Score(input(b, SLO{})).Table(&buf))
			out := buf.String()
			require.NotContains(t, out, "\x1b[", "no ANSI escapes")
			for i, line := range strings.Split(out, "\n") {
				require.LessOrEqual(t, utf8.RuneCountInString(line), 100, "line %d is wider than 100 columns: %q", i+1, line)
			}
			golden := filepath.Join("testdata", "table-"+name+".txt")
			if *update {
				require.NoError(t, os.MkdirAll("testdata", 0o755))
				require.NoError(t, os.WriteFile(golden, buf.Bytes(), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "run with -update to create it")
			require.Equal(t, string(want), out)
		})
	}
}

func TestWeight(t *testing.T) {
	want := map[string]float64{Prevented: 1, Responded: 0.9, Detected: 0.8, Alerted: 0.6, Logged: 0.3, Missed: 0, "bogus": 0}
	for o, w := range want {
		require.Equal(t, w, Weight(o), o)
	}
	require.Less(t, rank(Prevented), rank(Responded))
	require.Less(t, rank(Logged), rank(Missed))
}

func TestUnblockableCallsAreNotCounted(t *testing.T) {
	b := goodDrill()
	b.add(min(40), timeline.ActorAttacker, timeline.AttackAction, "keep", timeline.Succeeded, map[string]string{"operation": "sts:GetCallerIdentity", "credential": "persistence-key", "requires_permission": "false"})
	c := Score(input(b, SLO{})).Containment
	require.True(t, c.Verified, "reasons: %v", c.Reasons)
	require.Equal(t, 2, c.UnblockableActionsAfterContainment)
	require.Equal(t, t0.Add(min(20)), *c.ContainedAt, "a call no policy can deny does not move containment")

	b.add(min(41), timeline.ActorAttacker, timeline.AttackAction, "keep", timeline.Succeeded, map[string]string{"operation": "s3:ListBuckets", "credential": "persistence-key"})
	c = Score(input(b, SLO{})).Containment
	require.Equal(t, ActionCounts{Succeeded: 1}, c.PersistenceActionsAfterContainment)
	require.Equal(t, t0.Add(min(41)), *c.ContainedAt, "a call that needs a permission does")
}

func TestUnblockableActionsDoNotCountForGuardrails(t *testing.T) {
	b := &tl{}
	b.add(0, timeline.ActorAttacker, timeline.AttackAction, "whoami", timeline.Succeeded, map[string]string{"requires_permission": "false"})
	b.add(min(1), timeline.ActorAttacker, timeline.AttackAction, "run", timeline.Denied, nil)
	require.Equal(t, Prevented, controlOutcome(t, Score(input(b, SLO{})), ControlGuardrails).Outcome)
}

func TestLostInstanceIsPreservedOnlyByMemory(t *testing.T) {
	b := &tl{}
	b.add(0, timeline.ActorDetector, timeline.Alert, "guardduty", "", map[string]string{"resource": "i-1"})
	b.add(min(1), timeline.ActorResponder, timeline.Evidence, "", "", map[string]string{"kind": "process_list", "id": "ps.txt", "source": "i-1"})
	b.add(min(2), timeline.ActorCloud, timeline.ResourceLost, "", "", map[string]string{"kind": "instance"}).res("i-1")
	b.add(min(2), timeline.ActorCloud, timeline.ResourceLost, "", "", map[string]string{"kind": "queue"}).res("q-1")
	b.add(min(2), timeline.ActorCloud, timeline.ResourceLost, "", "", map[string]string{"kind": "queue"}).res("q-2")
	b.add(min(3), timeline.ActorDetector, timeline.Alert, "guardduty", "", map[string]string{"resource": "q-1"})
	b.add(min(3), timeline.ActorDetector, timeline.Alert, "guardduty", "", map[string]string{"resource": "q-2"})
	b.add(min(1), timeline.ActorResponder, timeline.Evidence, "", "", map[string]string{"kind": "export", "id": "q1.json", "source": "q-1"})
	ev := Score(input(b, SLO{})).Evidence
	var ids []string
	for _, e := range ev {
		ids = append(ids, e.ID)
	}
	require.Equal(t, []string{"ps.txt", "q1.json", "i-1", "q-2"}, ids, "a process list does not preserve the instance; any evidence preserves other kinds")
	require.True(t, ev[0].BeforeLoss)

	b.add(min(1), timeline.ActorResponder, timeline.Evidence, "", "", map[string]string{"kind": "memory", "id": "mem.lime", "source": "i-1"})
	ev = Score(input(b, SLO{})).Evidence
	require.Len(t, ev, 4)
	require.Equal(t, "mem.lime", ev[2].ID)
	require.True(t, ev[2].BeforeLoss)
	require.Equal(t, "q-2", ev[3].ID)
}

// TestAnInconclusiveProbeChangesNothing: a throttled probe (failed) after
// a cut neither reopens the path nor moves its cut.
func TestAnInconclusiveProbeChangesNothing(t *testing.T) {
	b := goodDrill()
	b.add(min(25), timeline.ActorAttacker, timeline.PathProbe, session.ID, timeline.Failed,
		map[string]string{"kind": session.Kind, "error_code": "Throttling", "inconclusive": "true"})
	sc := Score(input(b, SLO{}))
	p := sc.Containment.Paths[1]
	require.Equal(t, session.ID, p.ID)
	require.Equal(t, 3, p.Probes)
	require.Equal(t, t0.Add(min(20)), *p.CutAt)
	require.Equal(t, t0.Add(min(20)), *sc.Containment.ContainedAt)
}
