package tui

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/replay"
	"github.com/firedrill-ir/firedrill/scenarios"
)

// sizes are the terminal sizes every golden view is checked at: the
// 80x24 minimum and a roomier one.
var sizes = []struct{ w, h int }{{80, 24}, {120, 40}}

func TestGoldenViews(t *testing.T) {
	data, err := os.ReadFile("testdata/scenario.yaml")
	require.NoError(t, err)
	sc, err := scenarios.Load("testdata/scenario.yaml", data)
	require.NoError(t, err)
	for _, sz := range sizes {
		name := func(view string) string { return fmt.Sprintf("%s_%dx%d", view, sz.w, sz.h) }
		t.Run(name("picker"), func(t *testing.T) {
			m := newTestModel(t, Options{Scenarios: []*scenarios.Scenario{sc}, Seed: 7}, sz.w, sz.h)
			golden(t, name("picker"), view(m))
		})
		t.Run(name("drill_mid"), func(t *testing.T) {
			m := newTestModel(t, Options{Replay: fixture(), Speed: speed(60)}, sz.w, sz.h)
			m.Init()
			frames(m, 110) // T+11m at 60x
			golden(t, name("drill_mid"), view(m))
		})
		t.Run(name("drill_end"), func(t *testing.T) {
			m := newTestModel(t, Options{Replay: fixture(), Speed: speed(60)}, sz.w, sz.h)
			m.Init()
			press(m, "G", "up", "up", "up", "up")
			golden(t, name("drill_end"), view(m))
		})
		t.Run(name("tabletop_prompt"), func(t *testing.T) {
			now := time.Date(2030, 1, 1, 10, 0, 0, 0, time.UTC)
			m, _ := tabletopModel(t, sz.w, sz.h, &now)
			golden(t, name("tabletop_prompt"), view(m))
		})
		t.Run(name("tabletop_results"), func(t *testing.T) {
			m := newTestModel(t, Options{}, sz.w, sz.h)
			f := fixture()
			f.Kind = replay.KindTabletop
			mttc := 300.0
			ds := []replay.TeamDecision{
				{Node: "production", Team: "yes", Automated: "yes", WallSeconds: 12.5},
				{Node: "downtime", Team: "no", Automated: "yes", Note: "peak traffic, keep it serving", WallSeconds: 40},
			}
			f.Tabletop = &replay.Tabletop{Decisions: ds, Score: replay.ScoreDecisions(ds), AutomatedMTTCSeconds: &mttc}
			m.result, m.screen, m.savedTo = f, screenResults, "tabletop.json"
			golden(t, name("tabletop_results"), view(m))
		})
	}
}
