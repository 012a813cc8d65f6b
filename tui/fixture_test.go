package tui

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/replay"
	"github.com/firedrill-ir/firedrill/scoring"
	"github.com/firedrill-ir/firedrill/timeline"
)

// updating reports -update: go test ./tui -run Golden -update rewrites the
// golden views. The flag itself is registered by teatest's golden package,
// which this package's tests import.
func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

var t0 = time.Date(2026, 1, 15, 9, 0, 0, 0, time.UTC)

// fixture is a small hand-built drill: stable across changes to the
// simulator, so goldens change only when the view does.
func fixture() *replay.File {
	var evs []timeline.Event
	add := func(off time.Duration, actor, kind, name, outcome string, detail map[string]string) {
		evs = append(evs, timeline.Event{Seq: len(evs) + 1, At: t0.Add(off), Actor: actor, Kind: kind, Name: name,
			Outcome: outcome, Cloud: "aws", Resource: "i-0abc", Detail: detail})
	}
	m := time.Minute
	add(0, timeline.ActorRunner, timeline.ScenarioStart, "fixture-drill", "", nil)
	add(2*m, timeline.ActorAttacker, timeline.AttackStep, "aws.ec2.exploit-web-app", "", map[string]string{"attack_id": "T1190"})
	add(2*m, timeline.ActorAttacker, timeline.AttackAction, "aws.ec2.exploit-web-app", timeline.Succeeded,
		map[string]string{"operation": "http:exploit", "credential": "none"})
	add(6*m, timeline.ActorAttacker, timeline.AttackAction, "aws.ec2.steal-imds-credentials", timeline.Succeeded,
		map[string]string{"operation": "sts:GetCallerIdentity", "credential": "stolen-session", "access_key_id": "ASIAEXAMPLE"})
	add(9*m, timeline.ActorCloud, timeline.FirstLog, "cloudtrail", "", nil)
	add(10*m, timeline.ActorDetector, timeline.Alert, "guardduty", "", map[string]string{"type": "CryptoCurrency:EC2/BitcoinTool.B!DNS", "severity": "8"})
	add(11*m, timeline.ActorResponder, timeline.Ack, "CryptoCurrency:EC2/BitcoinTool.B!DNS", "", map[string]string{"case": "IR-1"})
	add(11*m, timeline.ActorResponder, timeline.StepStart, "snapshot_disks", "", map[string]string{"action": "snapshot_disks", "phase": "evidence"})
	add(12*m, timeline.ActorResponder, timeline.Evidence, "snapshot_disks", "", map[string]string{"kind": "memory", "id": "mem.lime",
		"sha256": "338f0647b96abccae24e8bbabe98f181863cc048aa54742faec4e8f6b359d2fb", "source": "i-0abc"})
	add(13*m, timeline.ActorResponder, timeline.StepFinish, "snapshot_disks", timeline.Succeeded, map[string]string{"phase": "evidence"})
	add(14*m, timeline.ActorResponder, timeline.Decision, "production", timeline.Succeeded, map[string]string{
		"question": "Is this a production instance?", "predicate": `facts.instance.tags["env"] == "prod"`,
		"inputs": `{"instance.tags.env":"prod"}`, "answer": "yes", "next": "isolate_and_stop", "decided_by": "cel"})
	add(15*m, timeline.ActorResponder, timeline.Contained, "", timeline.Succeeded, map[string]string{"phase": "containment"})
	add(20*m, timeline.ActorAttacker, timeline.AttackAction, "aws.keep-access", timeline.Denied,
		map[string]string{"operation": "ec2:DescribeInstances", "credential": "stolen-session", "error_code": "UnauthorizedOperation"})
	add(20*m, timeline.ActorAttacker, timeline.PathProbe, "aws/stolen_credential/stolen-session", timeline.Denied,
		map[string]string{"kind": "stolen_credential", "credential": "stolen-session", "error_code": "UnauthorizedOperation"})
	add(25*m, timeline.ActorCloud, timeline.ResourceLost, "instance", "", map[string]string{"cause": "scale-in"})
	add(60*m, timeline.ActorRunner, timeline.Verified, "containment-check", timeline.Succeeded, map[string]string{
		"surviving_flows": "0", "valid_stolen_credentials": "0", "valid_persistence_keys": "0", "attacker_instances_running": "0",
		"paths": `[{"id":"aws/stolen_credential/stolen-session","kind":"stolen_credential","cloud":"aws",` +
			`"credential":"stolen-session","status":"cut","error_code":"UnauthorizedOperation"}]`})
	add(60*m, timeline.ActorRunner, timeline.ScenarioEnd, "fixture-drill", "", nil)
	in := replay.Input{Clouds: []string{"aws"}, Playbooks: []string{"ec2-cryptomining"}, StartedAt: t0, EndedAt: t0.Add(60 * m),
		SLO: replay.SLO{Profile: "1-10-60"}, Controls: []string{"guardduty"}}
	f := &replay.File{Version: replay.Version, Kind: replay.KindRun, Scenario: "fixture-drill", Seed: 7,
		Playbook: "ec2-cryptomining", Input: in, Events: evs}
	f.Scorecard = scoring.Score(f.ScoreInput())
	return f
}

// newTestModel is a model of the given size, as after the first
// WindowSizeMsg.
func newTestModel(t *testing.T, opts Options, w, h int) *Model {
	t.Helper()
	m := New(opts)
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	return m
}

// key is a key press as bubbletea delivers it.
func keyPress(s string) tea.KeyPressMsg {
	switch s {
	case "space":
		return tea.KeyPressMsg{Code: tea.KeySpace, Text: " "}
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "backspace":
		return tea.KeyPressMsg{Code: tea.KeyBackspace}
	}
	r := []rune(s)[0]
	return tea.KeyPressMsg{Code: r, Text: s}
}

func press(m *Model, keys ...string) {
	for _, k := range keys {
		m.Update(keyPress(k))
	}
}

// frames advances playback by n frames, as the frame ticks would.
func frames(m *Model, n int) {
	for range n {
		m.Update(frameMsg{gen: m.gen})
	}
}

// view is the screen as text, without ANSI.
func view(m *Model) string { return ansi.Strip(m.View().Content) }

// golden compares a stripped view with testdata/name.golden.
func golden(t *testing.T, name, got string) {
	t.Helper()
	require.NotContains(t, got, "\x1b[", "golden views are compared without ANSI")
	path := filepath.Join("testdata", name+".golden")
	if updating() {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "missing golden file; run the test with -update")
	require.Equal(t, string(want), got, "view differs from %s; rerun with -update if the change is intended", path)
}
