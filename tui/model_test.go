package tui

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/replay"
	"github.com/firedrill-ir/firedrill/responder"
	"github.com/firedrill-ir/firedrill/scenarios"
	"github.com/firedrill-ir/firedrill/scoring"
	"github.com/firedrill-ir/firedrill/timeline"
)

func speed(v float64) *float64 { return &v }

func TestParseSpeed(t *testing.T) {
	for in, want := range map[string]float64{"max": speedMax, "MAX": speedMax, "1": 1, "60x": 60, "3600": 3600, " 300 ": 300} {
		got, err := ParseSpeed(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{"0", "0.5", "3601", "fast", "", "-1", "x"} {
		_, err := ParseSpeed(in)
		require.Error(t, err, in)
	}
}

func TestPlaybackIsAPureFunctionOfPosition(t *testing.T) {
	f := fixture()
	p := newPlayback(f.Events, f.Input.StartedAt, f.Input.EndedAt, 60)
	require.Equal(t, 1, p.Visible(), "at T+0 only the scenario start has happened")
	p.Advance(frameInterval) // 100ms × 60 = 6s of drill
	require.Equal(t, 6*time.Second, p.Pos)
	p.StepNext()
	require.True(t, p.Paused, "stepping pauses")
	require.Equal(t, 2*time.Minute, p.Pos, "the next event is the attack at T+2m")
	require.Equal(t, 3, p.Visible(), "both events at T+2m show")
	p.Advance(time.Hour)
	require.Equal(t, 2*time.Minute, p.Pos, "paused playback does not move")
	p.JumpEnd()
	require.True(t, p.AtEnd())
	require.Equal(t, len(f.Events), p.Visible())
	p.JumpStart()
	require.Zero(t, p.Pos)
	require.True(t, p.Paused, "g stops at the start so the room can step through")

	p.Paused, p.Speed = false, speedMax
	p.Advance(frameInterval)
	require.True(t, p.AtEnd(), "max speed reaches the end in one frame")

	p.Speed = 1
	var seen []string
	for range len(speeds) + 1 {
		p.Faster()
		seen = append(seen, speedLabel(p.Speed))
	}
	require.Equal(t, []string{"10x", "60x", "300x", "900x", "3600x", "max", "max", "max"}, seen)
	p.Slower()
	require.Equal(t, 3600.0, p.Speed)
	for range len(speeds) {
		p.Slower()
	}
	require.Equal(t, 1.0, p.Speed, "slower stops at 1x")
}

func TestScoreboardFillsInAndEndsOnTheDrillsScorecard(t *testing.T) {
	f := fixture()
	m := newTestModel(t, Options{Replay: f, Speed: speed(60)}, 120, 40)
	m.Init()
	require.Equal(t, screenDrill, m.screen)
	d := m.drill
	require.Nil(t, d.card.Metrics.MTTDSeconds, "no alert yet, no MTTD")
	require.Contains(t, view(m), "SCOREBOARD · so far")

	// 10 minutes at 60x is 100 frames.
	frames(m, 100)
	require.Equal(t, 10*time.Minute, d.pb.Pos)
	require.NotNil(t, d.card.Metrics.MTTDSeconds, "the alert at T+10m is visible")
	require.Equal(t, 480.0, *d.card.Metrics.MTTDSeconds)
	require.Nil(t, d.card.Metrics.MTTCSeconds, "not contained yet")
	require.False(t, d.cardFinal)

	press(m, "G")
	require.True(t, d.pb.AtEnd())
	require.Same(t, f.Scorecard, d.card, "at the end the scoreboard is the drill's own scorecard")
	require.True(t, d.cardFinal)
	v := view(m)
	require.Contains(t, v, "SCOREBOARD · final")
	require.Contains(t, v, "MTTD      480s (8m0s)")
	require.Contains(t, v, "MTTC      600s (10m0s)")

	press(m, "g")
	require.Zero(t, d.pb.Pos)
	require.Nil(t, d.card.Metrics.MTTDSeconds, "rewinding recomputes the scoreboard")
}

func TestPrefixScoreMatchesScoringOfThePrefix(t *testing.T) {
	f := fixture()
	m := newTestModel(t, Options{Replay: f, Speed: speed(60)}, 80, 24)
	m.Init()
	press(m, "g", "n", "n", "n", "n", "n")
	d := m.drill
	n := d.pb.Visible()
	in := f.ScoreInput()
	in.Events, in.EndedAt = timeline.Sorted(f.Events)[:n], d.pb.Now()
	want, err := scoring.Score(in).JSON()
	require.NoError(t, err)
	got, err := d.card.JSON()
	require.NoError(t, err)
	require.Equal(t, string(want), string(got))
}

func TestPlaybackKeys(t *testing.T) {
	m := newTestModel(t, Options{Replay: fixture(), Speed: speed(60)}, 80, 24)
	m.Init()
	d := m.drill
	press(m, "space")
	require.True(t, d.pb.Paused)
	frames(m, 10)
	require.Zero(t, d.pb.Pos, "paused: frames do not advance")
	press(m, "space", "+", "+")
	require.False(t, d.pb.Paused)
	require.Equal(t, 900.0, d.pb.Speed)
	press(m, "-")
	require.Equal(t, 300.0, d.pb.Speed)
	press(m, "n")
	require.True(t, d.pb.Paused)
	require.Equal(t, 2*time.Minute, d.pb.Pos)
	require.Contains(t, view(m), "❚❚ paused")
}

func TestFollowModePausesWhenScrolling(t *testing.T) {
	m := newTestModel(t, Options{Replay: fixture(), Speed: speed(60)}, 80, 24)
	m.Init()
	d := m.drill
	press(m, "G")
	last := len(d.pb.Events) - 1
	require.True(t, d.follow)
	require.Equal(t, last, d.cursor, "following: the newest event is selected")
	press(m, "up", "up")
	require.False(t, d.follow)
	require.Equal(t, last-2, d.cursor)
	require.Contains(t, view(m), "follow off (f)")
	press(m, "f")
	require.True(t, d.follow)
	require.Equal(t, last, d.cursor)
}

func TestDetailPaneShowsCallerDecisionAndHash(t *testing.T) {
	m := newTestModel(t, Options{Replay: fixture(), Speed: speed(60)}, 120, 40)
	m.Init()
	press(m, "g")
	find := func(kind, name string) {
		t.Helper()
		press(m, "G", "f")
		for i := range m.drill.pb.Events {
			if e := m.drill.pb.Events[i]; e.Kind == kind && (name == "" || e.Name == name) {
				m.drill.move(i - m.drill.cursor)
				return
			}
		}
		t.Fatalf("no %s event", kind)
	}
	find(timeline.AttackAction, "aws.ec2.steal-imds-credentials")
	v := view(m)
	require.Contains(t, v, "call: sts:GetCallerIdentity")
	require.Contains(t, v, "caller: stolen-session (ASIAEXAMPLE)")
	require.Contains(t, v, "result: succeeded")
	find(timeline.Decision, "")
	v = view(m)
	require.Contains(t, v, "question: Is this a production instance?")
	require.Contains(t, v, `inputs: {"instance.tags.env":"prod"}`)
	require.Contains(t, v, "answer: yes → isolate_and_stop (by cel)")
	find(timeline.Evidence, "")
	require.Contains(t, view(m), "sha256: 338f0647b96abccae24e8bbabe98f181863cc048aa54742faec4e8f6b359d2fb")
}

func TestPickerListsEveryBuiltinScenarioAndFilters(t *testing.T) {
	m := newTestModel(t, Options{}, 120, 40)
	all := scenarios.Builtin()
	v := view(m)
	for _, sc := range all {
		require.Contains(t, v, " "+sc.ID, "the picker lists every scenario of firedrill list")
	}
	p := &m.pick
	require.Len(t, p.visible(), len(all))
	for i := 1; i < len(p.clouds); i++ {
		press(m, "c")
		cloud := p.clouds[p.cloud]
		for _, idx := range p.visible() {
			require.Contains(t, p.all[idx].Clouds, cloud)
		}
		require.Contains(t, view(m), "cloud: "+cloud)
	}
	press(m, "c")
	require.Equal(t, 0, p.cloud, "the cloud filter cycles back to all")
	require.Contains(t, p.tacticList, "Impact")
	for p.tacticList[p.tactic] != "Impact" {
		press(m, "a")
	}
	require.Len(t, p.visible(), len(all), "every catalog scenario hijacks resources (T1496, Impact)")
	press(m, "down")
	if len(all) > 1 {
		require.Equal(t, 1, p.cursor)
	}
}

func TestPickerShowsPlaybookDecisionTree(t *testing.T) {
	sc, ok := scenarios.ByID("aws-ec2-cryptomining")
	require.True(t, ok)
	m := newTestModel(t, Options{Scenarios: []*scenarios.Scenario{sc}}, 200, 120)
	v := view(m)
	pb, ok := responder.PlaybookByID(sc.Expect.Playbook)
	require.True(t, ok)
	require.Contains(t, v, "PLAYBOOK "+pb.ID)
	for _, n := range pb.Decisions {
		require.Contains(t, v, n.ID+": "+n.Question)
	}
	require.Contains(t, v, "T1496 Resource Hijacking — Impact")
}

func TestTacticsOf(t *testing.T) {
	require.Equal(t, []string{"Initial Access", "Persistence", "Privilege Escalation", "Defense Evasion"},
		tacticsOf([]string{"T1078.004"}))
	require.Equal(t, []string{"Initial Access", "Credential Access", "Impact"}, tacticsOf([]string{"T1496", "T1552.005", "T1190"}))
	require.Equal(t, []string{"Defense Evasion"}, tacticsOf([]string{"T1578.999"}), "unknown sub-technique falls back to its parent")
	require.Empty(t, tacticsOf([]string{"T9999"}))
	for _, sc := range scenarios.Builtin() {
		for _, id := range sc.ATTACKIDs() {
			require.NotEmpty(t, tacticsOf([]string{id}), "%s of %s has no tactic in the picker's map", id, sc.ID)
		}
	}
}

func TestDrillFailureShowsErrorAndIsReturned(t *testing.T) {
	sc, _ := scenarios.ByID("aws-ec2-cryptomining")
	m := newTestModel(t, Options{}, 80, 24)
	m.Update(drillLoadedMsg{err: context.DeadlineExceeded})
	require.Equal(t, screenError, m.screen)
	require.ErrorIs(t, m.Err(), context.DeadlineExceeded)
	require.Contains(t, view(m), "context deadline exceeded")
	press(m, "esc")
	require.Equal(t, screenPicker, m.screen)
	_ = sc
}

func TestStaleFramesAreDropped(t *testing.T) {
	m := newTestModel(t, Options{Replay: fixture(), Speed: speed(60)}, 80, 24)
	m.Init()
	old := m.gen
	press(m, "esc")
	require.Equal(t, screenPicker, m.screen)
	_, cmd := m.Update(frameMsg{gen: old})
	require.Nil(t, cmd, "a frame of a view that was left does not re-arm the tick")
}

// tabletopModel is a model with a question pending, as after the drill's
// decider asked it.
func tabletopModel(t *testing.T, w, h int, now *time.Time) (*Model, *pendingDecision) {
	t.Helper()
	sc, ok := scenarios.ByID("aws-ec2-cryptomining")
	require.True(t, ok)
	pb, ok := responder.PlaybookByID(sc.Expect.Playbook)
	require.True(t, ok)
	m := newTestModel(t, Options{Seed: 7, Now: func() time.Time { return *now }}, w, h)
	m.startTabletop(sc) // the commands (the drill) are not run
	f := fixture()
	m.tt.bridge.events = f.Events[:10]
	p := &pendingDecision{req: responder.DecisionRequest{Node: pb.Decisions[0], Inputs: `{"instance.tags.env":"prod"}`},
		automated: "yes", reply: make(chan bool, 1)}
	m.Update(decisionRequestMsg{p: p})
	return m, p
}

func TestTabletopAnswerRecordsChoiceNoteAndWallTime(t *testing.T) {
	now := time.Date(2030, 1, 1, 10, 0, 0, 0, time.UTC)
	m, p := tabletopModel(t, 80, 24, &now)
	require.Len(t, m.drill.pb.Events, 10, "the events up to the question are shown")
	v := view(m)
	require.Contains(t, v, "Is this a production instance?")
	require.Contains(t, v, "automation would answer: yes")
	require.Contains(t, v, `facts: {"instance.tags.env":"prod"}`)
	require.Contains(t, v, "1 yes → downtime: Can we afford downtime of this instance?")
	require.Contains(t, v, "2 no  → isolate_and_stop")

	press(m, "2", "n")
	require.True(t, m.tt.editing)
	m.Update(keyPress("d"))
	m.Update(keyPress("e"))
	m.Update(keyPress("v"))
	m.Update(keyPress("x"))
	press(m, "backspace", "enter")
	require.False(t, m.tt.editing)
	require.Equal(t, "dev", m.tt.note.Value())
	now = now.Add(42*time.Second + 500*time.Millisecond)
	press(m, "enter")
	select {
	case ans := <-p.reply:
		require.False(t, ans, "the team answered no")
	default:
		t.Fatal("the drill got no answer")
	}
	require.Nil(t, m.tt.pending)
	require.Len(t, m.tt.decisions, 1)
	d := m.tt.decisions[0]
	require.Equal(t, "no", d.Team)
	require.Equal(t, "yes", d.Automated)
	require.Equal(t, "dev", d.Note)
	require.Equal(t, 42.5, d.WallSeconds)
	require.Equal(t, "downtime", d.Yes)
}

func TestTabletopNoteIgnoresControlCharacters(t *testing.T) {
	var n noteInput
	n.Insert("a\x1b[31mb\nc\x07")
	require.Equal(t, "a[31mb c", n.Value())
	n.Insert(strings.Repeat("x", 500))
	require.Len(t, []rune(n.Value()), noteLimit)
}

func TestAnnotateDecisionsKeepsTimesAndCopiesDetails(t *testing.T) {
	orig := map[string]string{"decided_by": "decider", "answer": "no"}
	evs := []timeline.Event{{Seq: 1, At: t0, Kind: timeline.Decision, Name: "production", Detail: orig},
		{Seq: 2, At: t0, Kind: timeline.Decision, Name: "downtime", Detail: map[string]string{"decided_by": "cel"}}}
	out := annotateDecisions(evs, []replay.TeamDecision{{Node: "production", WallSeconds: 3.25, Note: "why", Automated: "yes"}})
	require.Equal(t, "3.25", out[0].Detail["team_seconds"])
	require.Equal(t, "why", out[0].Detail["team_note"])
	require.Equal(t, "yes", out[0].Detail["automation_answer"])
	require.Equal(t, t0, out[0].At, "the team's time never moves the drill's clock")
	require.NotContains(t, orig, "team_seconds", "the recorded timeline is not mutated")
	require.NotContains(t, out[1].Detail, "team_seconds", "automation's decisions are not annotated")
}

func TestLiveTabletopFollowsTheNewestEvent(t *testing.T) {
	now := time.Now()
	m, _ := tabletopModel(t, 80, 24, &now)
	require.Equal(t, m.drill.pb.Events[9].At.Sub(m.drill.pb.Start), m.drill.pb.Pos,
		"live: the position is the newest event, not the end of the scenario")
	require.Contains(t, view(m), "waiting for the team")
}

// TestScoreboardNamesWhatIsLeft: a drill contained but not eradicated says
// so on the final scoreboard, with what the attacker left behind.
func TestScoreboardNamesWhatIsLeft(t *testing.T) {
	f := fixture()
	for i, e := range f.Events {
		if e.Kind == timeline.Verified {
			f.Events[i].Detail["paths"] = `[{"id":"aws/stolen_credential/stolen-session","kind":"stolen_credential",` +
				`"cloud":"aws","status":"cut"},{"id":"aws/planted_credential/AKIA1","kind":"planted_credential",` +
				`"cloud":"aws","status":"cut","artifact_kind":"access_key","artifact":"AKIA1","present":true}]`
		}
	}
	f.Scorecard = scoring.Score(f.ScoreInput())
	require.Equal(t, scoring.VerdictContainedNotEradicated, f.Scorecard.Verdict)
	m := newTestModel(t, Options{Replay: f}, 120, 40)
	m.Init()
	press(m, "G")
	v := view(m)
	require.Contains(t, v, "verdict   FAIL: not eradicated")
	require.Contains(t, v, "eradic.   1 of 1 left")
	require.Contains(t, v, "left: access_key x1")
}
