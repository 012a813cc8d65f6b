package tui

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/exp/teatest/v2"
	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/replay"
	"github.com/firedrill-ir/firedrill/scenarios"
	"github.com/firedrill-ir/firedrill/scenarios/runner"
	"github.com/firedrill-ir/firedrill/scoring"
)

// These flows run the real program through teatest. They assert on text
// the screen shows (ANSI stripped) and on the final model, never on
// byte-exact output, which changes with the renderer.

// program is a TUI under teatest with the screen its output draws.
type program struct {
	*teatest.TestModel
	w, h int
	out  []byte // everything the program wrote so far
}

func startProgram(t *testing.T, m *Model, w, h int) *program {
	t.Helper()
	return &program{TestModel: teatest.NewTestModel(t, m, teatest.WithInitialTermSize(w, h),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.Ascii))), w: w, h: h}
}

// shows waits until the screen shows every one of texts at once.
func shows(t *testing.T, p *program, d time.Duration, texts ...string) {
	t.Helper()
	var last string
	defer func() {
		if t.Failed() {
			t.Logf("screen when the wait ended:\n%s", last)
		}
	}()
	teatest.WaitFor(t, p.Output(), func(b []byte) bool {
		vt := newVTerm(p.w, p.h)
		vt.Write(append(p.out[:len(p.out):len(p.out)], b...))
		last = vt.String()
		for _, x := range texts {
			if !strings.Contains(last, x) {
				return false
			}
		}
		p.out = append(p.out, b...)
		return true
	}, teatest.WithDuration(d), teatest.WithCheckInterval(20*time.Millisecond))
}

func finalModel(t *testing.T, tm *program) *Model {
	t.Helper()
	fm, ok := tm.FinalModel(t, teatest.WithFinalTimeout(30*time.Second)).(*Model)
	require.True(t, ok)
	return fm
}

func TestE2EReplayPlaysToTheEndAndQuits(t *testing.T) {
	f := fixture()
	tm := startProgram(t, New(Options{Replay: f, Speed: speed(speedMax)}), 100, 30)
	shows(t, tm, 10*time.Second, "SCOREBOARD · final", "MTTC      600s (10m0s)")
	tm.Send(keyPress("q"))
	m := finalModel(t, tm)
	require.True(t, m.drill.pb.AtEnd())
	require.Same(t, f.Scorecard, m.drill.card)
	require.NoError(t, m.Err())
}

// TestE2EDrillScoreboardEqualsRun is the check: the drill view at
// max speed ends on the scorecard 'firedrill run --output json' prints.
func TestE2EDrillScoreboardEqualsRun(t *testing.T) {
	sc, ok := scenarios.ByID("aws-ec2-cryptomining")
	require.True(t, ok)
	res, err := runner.Run(context.Background(), sc, runner.Options{Seed: 7})
	require.NoError(t, err)
	want, err := scoring.Score(res.ScoreInput()).JSON()
	require.NoError(t, err)

	tm := startProgram(t, New(Options{Scenario: sc, Seed: 7, Speed: speed(speedMax)}), 100, 30)
	shows(t, tm, 60*time.Second, "SCOREBOARD · final")
	tm.Send(keyPress("q"))
	m := finalModel(t, tm)
	got, err := m.drill.card.JSON()
	require.NoError(t, err)
	require.Equal(t, string(want), string(got))
	require.Contains(t, view(m), "MTTD      "+secs(m.drill.card.Metrics.MTTDSeconds))
}

func TestE2EPickerStartsADrill(t *testing.T) {
	f := fixture()
	var mu sync.Mutex
	var ran []string
	fake := func(_ context.Context, sc *scenarios.Scenario, o runner.Options) (*runner.Result, error) {
		mu.Lock()
		ran = append(ran, sc.ID)
		mu.Unlock()
		return &runner.Result{Scenario: sc, Seed: o.Seed, Playbooks: []string{f.Playbook}, StartedAt: f.Input.StartedAt,
			EndedAt: f.Input.EndedAt, Events: f.Events}, nil
	}
	sc, _ := scenarios.ByID("aws-ec2-cryptomining")
	tm := startProgram(t, New(Options{Scenarios: []*scenarios.Scenario{sc}, Run: fake, Seed: 3, Speed: speed(speedMax)}), 80, 24)
	shows(t, tm, 5*time.Second, "aws-ec2-cryptomining", "enter run drill")
	tm.Send(keyPress("enter"))
	shows(t, tm, 10*time.Second, "SCOREBOARD · final")
	tm.Send(keyPress("esc"))
	tm.Send(keyPress("q"))
	m := finalModel(t, tm)
	require.Equal(t, screenPicker, m.screen, "esc goes back to the picker")
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, []string{"aws-ec2-cryptomining"}, ran)
}

// TestE2ETabletopCompletedByKeystrokes plays a tabletop of the real drill
// to the end with the keyboard alone.
func TestE2ETabletopCompletedByKeystrokes(t *testing.T) {
	sc, ok := scenarios.ByID("aws-ec2-cryptomining")
	require.True(t, ok)
	save := filepath.Join(t.TempDir(), "tabletop.json")
	// The wall clock is read when a question arrives and when it is
	// answered; a question's arrival is what the keystrokes wait for.
	asked := make(chan struct{}, 16)
	var calls int
	var mu sync.Mutex
	base := time.Date(2030, 1, 1, 10, 0, 0, 0, time.UTC)
	now := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls%2 == 1 {
			asked <- struct{}{}
		}
		return base.Add(time.Duration(calls) * 10 * time.Second)
	}
	tm := startProgram(t, New(Options{Scenario: sc, Tabletop: true, Seed: 7, SavePath: save, Now: now}), 80, 24)
	waitAsked := func() {
		t.Helper()
		select {
		case <-asked:
		case <-time.After(60 * time.Second):
			t.Fatal("the drill asked no question")
		}
	}
	waitAsked()
	shows(t, tm, 10*time.Second, "Is this a production instance?", "automation would answer: yes")
	tm.Send(keyPress("1"))
	tm.Send(keyPress("n"))
	tm.Type("prod tag")
	tm.Send(keyPress("enter")) // keep the note
	tm.Send(keyPress("enter")) // answer yes
	waitAsked()
	tm.Send(keyPress("2"))
	tm.Send(keyPress("enter")) // answer no: isolate only
	shows(t, tm, 60*time.Second, "TABLETOP RESULT", "decision score")
	shows(t, tm, 10*time.Second, "saved to")
	tm.Send(keyPress("q"))
	m := finalModel(t, tm)
	require.NoError(t, m.Err())
	f := m.Result()
	require.NotNil(t, f)
	require.Equal(t, replay.KindTabletop, f.Kind)
	ds := f.Tabletop.Decisions
	require.Len(t, ds, 2)
	require.Equal(t, []string{"production", "downtime"}, []string{ds[0].Node, ds[1].Node})
	require.Equal(t, "yes", ds[0].Team)
	require.Equal(t, "prod tag", ds[0].Note)
	require.Equal(t, 10.0, ds[0].WallSeconds)
	require.Equal(t, "no", ds[1].Team)
	require.Equal(t, "yes", ds[1].Automated, "the playbook's predicate says downtime is affordable")
	require.NotNil(t, f.Tabletop.Score.Percent)
	require.Equal(t, 50, *f.Tabletop.Score.Percent, "one agreement, one unexplained deviation")
	require.NotNil(t, f.Tabletop.AutomatedMTTCSeconds)
	require.NoError(t, m.SaveErr())
	saved, err := replay.Read(save)
	require.NoError(t, err)
	require.Equal(t, f.Tabletop.Score, saved.Tabletop.Score)
	// The team kept the instance running: the stop step never ran.
	for _, e := range f.Events {
		require.False(t, e.Kind == "step.finish" && e.Name == "stop", "isolate_only does not stop the instance")
	}
}
