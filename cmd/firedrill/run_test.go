package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/cloudsim/fault"
	"github.com/firedrill-ir/firedrill/scenarios"
	"github.com/firedrill-ir/firedrill/scenarios/runner"
	"github.com/firedrill-ir/firedrill/scoring"
	"github.com/firedrill-ir/firedrill/timeline"
)

var fakeStart = time.Date(2026, 1, 15, 9, 0, 0, 0, time.UTC)

// fakeDrill returns a run function that plays no simulation: it answers
// with a hand-built timeline, contained and verified when good is true, and
// records the options it was called with.
func fakeDrill(t *testing.T, good bool, got *runner.Options) func(context.Context, *scenarios.Scenario, runner.Options) (*runner.Result, error) {
	t.Helper()
	return func(_ context.Context, sc *scenarios.Scenario, opts runner.Options) (*runner.Result, error) {
		if got != nil {
			*got = opts
		}
		var evs []timeline.Event
		add := func(off time.Duration, actor, kind, name, outcome, res string, d map[string]string) {
			evs = append(evs, timeline.Event{Seq: len(evs) + 1, At: fakeStart.Add(off), Actor: actor, Kind: kind, Name: name,
				Outcome: outcome, Resource: res, Detail: d})
		}
		add(0, timeline.ActorRunner, timeline.ScenarioStart, "", "", "", nil)
		add(2*time.Minute, timeline.ActorAttacker, timeline.AttackStep, "exploit", "", "", map[string]string{"attack_id": "T1190"})
		add(2*time.Minute, timeline.ActorAttacker, timeline.AttackAction, "exploit", timeline.Succeeded, "i-1", map[string]string{"credential": "host", "operation": "http:exploit"})
		add(7*time.Minute, timeline.ActorCloud, timeline.FirstLog, "cloudtrail", "", "", nil)
		add(8*time.Minute, timeline.ActorDetector, timeline.Alert, "guardduty", "", "i-1", map[string]string{"type": "CryptoCurrency:EC2/BitcoinTool.B!DNS", "resource": "i-1"})
		add(9*time.Minute, timeline.ActorResponder, timeline.Ack, "ec2-cryptomining", "", "i-1", nil)
		add(10*time.Minute, timeline.ActorResponder, timeline.Evidence, "snapshot_disks", "", "i-1", map[string]string{"kind": "disk_snapshot", "id": "snap-1", "source": "vol-1", "sha256": "abc"})
		pool := map[string]string{"kind": "network_flow", "credential": "host"}
		add(5*time.Minute, timeline.ActorAttacker, timeline.PathProbe, "aws/network_flow/pool", timeline.Succeeded, "i-1", pool)
		add(20*time.Minute, timeline.ActorResponder, timeline.Contained, "", timeline.Succeeded, "i-1", nil)
		flows, status := "0", timeline.Denied
		if !good {
			add(25*time.Minute, timeline.ActorCloud, timeline.ResourceLost, "volume", "", "vol-2", map[string]string{"kind": "volume", "instance": "i-1"})
			add(26*time.Minute, timeline.ActorAttacker, timeline.AttackAction, "keep", timeline.Succeeded, "i-1", map[string]string{"credential": "host", "operation": "pool:keepalive"})
			flows, status = "1", timeline.Succeeded
		}
		add(25*time.Minute, timeline.ActorAttacker, timeline.PathProbe, "aws/network_flow/pool", status, "i-1", pool)
		open := map[string]string{timeline.Succeeded: "open", timeline.Denied: "cut"}[status]
		add(sc.Duration, timeline.ActorRunner, timeline.Verified, "containment-check", "", "", map[string]string{"surviving_flows": flows,
			"valid_stolen_credentials": "0", "paths": `[{"id":"aws/network_flow/pool","kind":"network_flow","cloud":"aws",` +
				`"credential":"host","resource":"i-1","status":"` + open + `"}]`})
		return &runner.Result{Scenario: sc, Seed: opts.Seed, Playbooks: []string{sc.Expect.Playbook}, StartedAt: fakeStart,
			EndedAt: fakeStart.Add(sc.Duration), Events: evs}, nil
	}
}

// withRunFunc swaps the drill for the test's duration.
func withRunFunc(t *testing.T, f func(context.Context, *scenarios.Scenario, runner.Options) (*runner.Result, error)) {
	t.Helper()
	old := runFunc
	runFunc = f
	t.Cleanup(func() { runFunc = old })
}

// customSLOScenario writes a copy of the built-in scenario whose SLO the fake
// good drill meets, so the pass path (exit 0) can be exercised.
func customSLOScenario(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "scenarios", "catalog", "aws-ec2-cryptomining.yaml"))
	require.NoError(t, err)
	s := strings.Replace(string(data), "slo: {profile: custom, mttd: 15m, mtta: 10m, mttc: 30m}", "slo: {profile: custom, mttd: 10m, mtta: 5m, mttc: 30m}", 1)
	require.NotEqual(t, string(data), s, "the scenario's SLO line moved; update this test")
	path := filepath.Join(t.TempDir(), "custom.yaml")
	require.NoError(t, os.WriteFile(path, []byte(s), 0o644))
	return path
}

func TestRunPassesWithExitZero(t *testing.T) {
	var got runner.Options
	withRunFunc(t, fakeDrill(t, true, &got))
	out, errOut, code := cli(t, "run", customSLOScenario(t), "--seed", "42", "-o", "json")
	require.Equal(t, exitOK, code, errOut)
	require.Empty(t, errOut, "no progress on stderr when it is not a terminal")
	require.Equal(t, uint64(42), got.Seed)
	require.Nil(t, got.Playbook, "no --playbook: the runner picks the scenario's")

	var card scoring.Scorecard
	require.NoError(t, json.Unmarshal([]byte(out), &card))
	require.True(t, card.Pass)
	require.True(t, card.Containment.Verified)
	require.Equal(t, scoring.Responded, card.Outcome)
	require.Equal(t, "custom", card.SLO.Profile)
	require.Equal(t, []string{"aws"}, card.Clouds)
	require.Equal(t, uint64(42), card.Seed)
	require.Equal(t, 98, card.Score, "40 + 20 + 20 + 0.9×20")
}

func TestRunGolden(t *testing.T) {
	withRunFunc(t, fakeDrill(t, false, nil))
	out, errOut, code := cli(t, "run", "aws-ec2-cryptomining", "--seed", "7")
	require.Equal(t, exitDrillFails, code)
	require.Contains(t, errOut, "drill aws-ec2-cryptomining (seed 7) failed: not contained (path_open:network_flow, flow_used_after_containment, slo_missed:contain)")
	golden(t, "run_fake.golden", out)

	out, _, code = cli(t, "run", "aws-ec2-cryptomining", "--seed", "7", "--output", "json")
	require.Equal(t, exitDrillFails, code)
	golden(t, "run_fake.json.golden", out)
	var card scoring.Scorecard
	require.NoError(t, json.Unmarshal([]byte(out), &card))
	require.False(t, card.Containment.Verified)
	require.Equal(t, 1, card.Containment.SurvivingFlows)
	require.Equal(t, []string{"guardduty", "cpu-alarm", "cost-anomaly"}, enabledControls(card), "enabled detectors are scored even when silent")
	require.Len(t, card.Evidence, 2)
	require.Equal(t, "vol-2", card.Evidence[1].ID)
	require.False(t, card.Evidence[1].BeforeLoss)
}

func enabledControls(c scoring.Scorecard) []string {
	var out []string
	for _, k := range []string{"guardduty", "cpu-alarm", "cost-anomaly"} {
		for _, cc := range c.Controls {
			if cc.Control == k {
				out = append(out, k)
			}
		}
	}
	return out
}

func TestRunPassesPlaybookFile(t *testing.T) {
	var got runner.Options
	withRunFunc(t, fakeDrill(t, true, &got))
	pb := filepath.Join("..", "..", "responder", "testdata", "ec2-cryptomining-naive.yaml")
	_, errOut, code := cli(t, "run", "aws-ec2-cryptomining", "--playbook", pb)
	require.Equal(t, exitOK, code, "the fake drill passes whatever the playbook: %s", errOut)
	require.NotNil(t, got.Playbook)
	require.Equal(t, "ec2-cryptomining-naive", got.Playbook.ID)
}

func TestRunPassesFaults(t *testing.T) {
	var got runner.Options
	withRunFunc(t, fakeDrill(t, true, &got))
	_, errOut, code := cli(t, "run", "aws-ec2-cryptomining", "--faults", "throttle=20%,latency=10x@ec2")
	require.Equal(t, exitOK, code, errOut)
	require.Equal(t, []fault.Rule{{Kind: fault.Throttle, Rate: 0.2, Actor: "responder"},
		{Kind: fault.Latency, Factor: 10, Service: "ec2", Actor: "responder"}}, got.Faults)

	_, errOut, code = cli(t, "run", "aws-ec2-cryptomining", "--faults", "throttle=lots")
	require.Equal(t, exitUsage, code)
	require.Contains(t, errOut, `--faults: fault spec "throttle=lots": throttle=lots: expected a rate such as 20% or 0.2, got "lots"`)
}

func TestRunErrors(t *testing.T) {
	withRunFunc(t, func(context.Context, *scenarios.Scenario, runner.Options) (*runner.Result, error) {
		return nil, errors.New("simulator exploded")
	})
	_, errOut, code := cli(t, "run", "aws-ec2-cryptomining")
	require.Equal(t, exitFailure, code)
	require.Contains(t, errOut, "running aws-ec2-cryptomining (seed 1): simulator exploded")

	_, errOut, code = cli(t, "run", "aws-ec2")
	require.Equal(t, exitUsage, code)
	require.Contains(t, errOut, `no scenario has id "aws-ec2" (known scenarios: aws-ec2-cryptomining, aws-ec2-cryptomining-conntrack-never, aws-ec2-cryptomining-elb, azure-vm-cryptomining, gcp-vm-cryptomining, multicloud-cryptomining)`)

	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("id: x\ntitle: y\nclouds: [aws]\nevidence:\n  - id: a\n    action: no_such_action\n"), 0o644))
	_, errOut, code = cli(t, "run", "aws-ec2-cryptomining", "--playbook", bad)
	require.Equal(t, exitUsage, code)
	require.Contains(t, errOut, "invalid playbook:")
	require.Regexp(t, `bad\.yaml:\d+:\d+: `, errOut, "the loader's file:line:col error is shown")

	_, errOut, code = cli(t, "run", "aws-ec2-cryptomining", "--playbook", filepath.Join(dir, "missing.yaml"))
	require.Equal(t, exitUsage, code)
	require.Contains(t, errOut, "missing.yaml")

	badSc := filepath.Join(dir, "bad-scenario.yaml")
	require.NoError(t, os.WriteFile(badSc, []byte("id: x\ntitle: y\nclouds: [aws]\nduration: forever\n"), 0o644))
	_, errOut, code = cli(t, "run", badSc)
	require.Equal(t, exitUsage, code)
	require.Contains(t, errOut, "invalid scenario:")
	require.Regexp(t, `bad-scenario\.yaml:\d+:\d+: `, errOut)

	for _, args := range [][]string{
		{"run"},
		{"run", "a", "b"},
		{"run", "aws-ec2-cryptomining", "--seed", "seven"},
		{"run", "aws-ec2-cryptomining", "--output", "yaml"},
		{"run", "aws-ec2-cryptomining", "--bogus"},
		{"runn", "aws-ec2-cryptomining"},
	} {
		out, errOut, code := cli(t, args...)
		require.Equal(t, exitUsage, code, "%v: %s", args, errOut)
		require.Empty(t, out)
	}
}

func TestRunDryRunRunsNothing(t *testing.T) {
	withRunFunc(t, func(context.Context, *scenarios.Scenario, runner.Options) (*runner.Result, error) {
		t.Fatal("--dry-run must not run the drill")
		return nil, nil
	})
	out, errOut, code := cli(t, "run", "aws-ec2-cryptomining", "--dry-run")
	require.Equal(t, exitOK, code, errOut)
	golden(t, "run_dry.golden", out)
	require.Contains(t, out, "dry run: nothing is executed")
	require.Contains(t, out, "≥T+3m   miner")
	require.Contains(t, out, "revoke_sessions")

	out, _, code = cli(t, "run", "aws-ec2-cryptomining", "--dry-run", "-o", "json")
	require.Equal(t, exitOK, code)
	var plan dryRunPlan
	require.NoError(t, json.Unmarshal([]byte(out), &plan))
	require.Equal(t, "ec2-cryptomining", plan.Playbook)
	require.Len(t, plan.AttackPlan, 6)
	require.NotEmpty(t, plan.ResponsePlan)
	require.Equal(t, 1, plan.ResponsePlan[0].Order)
}

func TestRunHelpDocumentsScoreAndExitCodes(t *testing.T) {
	out, _, code := cli(t, "run", "--help")
	require.Equal(t, exitOK, code)
	for _, want := range []string{"35 × containment verified", "contained_not_eradicated", "Exit codes:", "3  the drill ran and its verdict is not pass", "1-10-60"} {
		require.Contains(t, out, want)
	}
}

// The acceptance check: the real drill, twice, gives byte-identical
// JSON, also with GOMAXPROCS=1; containment is verified and every volume of
// the compromised instance has a snapshot taken before loss.
func TestRunRealDrillIsDeterministic(t *testing.T) {
	if testing.Short() {
		t.Skip("plays the full drill")
	}
	run := func() string {
		var out, errOut bytes.Buffer
		code := execute(context.Background(), []string{"run", "aws-ec2-cryptomining", "--seed", "7", "--output", "json"}, &out, &errOut)
		require.Equal(t, exitOK, code, "the built-in playbook meets the scenario's SLO and verifies containment: %s", errOut.String())
		return out.String()
	}
	a := run()
	b := run()
	require.Equal(t, a, b, "same scenario and seed must give byte-identical scorecards")
	prev := runtime.GOMAXPROCS(1)
	c := run()
	runtime.GOMAXPROCS(prev)
	require.Equal(t, a, c, "GOMAXPROCS=1 must not change the scorecard")

	var card scoring.Scorecard
	require.NoError(t, json.Unmarshal([]byte(a), &card))
	require.True(t, card.Containment.Verified, "reasons: %v", card.Containment.Reasons)
	snaps := 0
	for _, e := range card.Evidence {
		require.True(t, e.BeforeLoss, "evidence %s %s lost", e.Kind, e.ID)
		if e.Kind == "disk_snapshot" {
			snaps++
		}
	}
	require.GreaterOrEqual(t, snaps, 1)
	require.NotNil(t, card.Metrics.MTTDSeconds)
	require.Greater(t, *card.Metrics.MTTDSeconds, 60.0, "detection cannot beat the GuardDuty latency floor (3m min)")
	require.Less(t, *card.Metrics.MTTDSeconds, 20*60.0)
	require.Equal(t, scoring.Responded, card.Outcome)
}

// The naive playbook (one security-group swap, no session revocation, no
// scale-in protection) must score containment not verified and evidence lost.
func TestRunNaivePlaybookIsNotVerified(t *testing.T) {
	if testing.Short() {
		t.Skip("plays the full drill")
	}
	pb := filepath.Join("..", "..", "responder", "testdata", "ec2-cryptomining-naive.yaml")
	out, errOut, code := cli(t, "run", "aws-ec2-cryptomining", "--seed", "7", "--output", "json", "--playbook", pb)
	require.Equal(t, exitDrillFails, code, errOut)
	var card scoring.Scorecard
	require.NoError(t, json.Unmarshal([]byte(out), &card))
	require.False(t, card.Containment.Verified)
	require.Positive(t, card.Containment.ValidStolenCredentials, "no session revocation")
	lost := 0
	for _, e := range card.Evidence {
		if !e.BeforeLoss {
			lost++
		}
	}
	require.Positive(t, lost, "the unprotected instance is scaled in with its memory")
}

func TestRunProgressGoesToStderrOnly(t *testing.T) {
	withRunFunc(t, fakeDrill(t, true, nil))
	var out, errOut bytes.Buffer
	err := runRun(context.Background(), &runOptions{Scenario: "aws-ec2-cryptomining", Seed: 3, Output: outJSON, Out: &out, ErrOut: &errOut, Progress: true})
	require.Equal(t, exitOK, exitCode(err), "the good drill meets the scenario's SLO: %v", err)
	require.Equal(t, "simulating 5h of incident aws-ec2-cryptomining (seed 3)…\n", errOut.String())
	require.NotContains(t, out.String(), "simulating")
	require.True(t, json.Valid(out.Bytes()), "stdout stays pure JSON")

	require.False(t, isTerminal(&out), "a buffer is not a terminal")
	f, err := os.CreateTemp(t.TempDir(), "out")
	require.NoError(t, err)
	defer f.Close()
	require.False(t, isTerminal(f), "a regular file is not a terminal")
}

func TestExitCodes(t *testing.T) {
	require.Equal(t, exitOK, exitCode(nil))
	require.Equal(t, exitUsage, exitCode(&usageError{msg: "x"}))
	require.Equal(t, exitDrillFails, exitCode(&exitError{code: exitDrillFails, msg: "x"}))
	require.Equal(t, exitDrillFails, exitCode(fmt.Errorf("wrapped: %w", &exitError{code: exitDrillFails})))
	require.Equal(t, exitUsage, exitCode(errors.New(`unknown command "x" for "firedrill"`)))
	require.Equal(t, exitFailure, exitCode(errors.New("disk full")))
}
