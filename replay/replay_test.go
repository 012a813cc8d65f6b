package replay

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/scenarios"
	"github.com/firedrill-ir/firedrill/scenarios/runner"
	"github.com/firedrill-ir/firedrill/scoring"
	"github.com/firedrill-ir/firedrill/timeline"
)

func drill(t *testing.T) *File {
	t.Helper()
	sc, ok := scenarios.ByID("aws-ec2-cryptomining")
	require.True(t, ok)
	res, err := runner.Run(context.Background(), sc, runner.Options{Seed: 7})
	require.NoError(t, err)
	return FromResult(res)
}

func TestRoundTripRescoresToTheSameScorecard(t *testing.T) {
	f := drill(t)
	path := filepath.Join(t.TempDir(), "drill.json")
	require.NoError(t, Write(path, f))
	st, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o644), st.Mode().Perm())
	got, err := Read(path)
	require.NoError(t, err)
	require.Equal(t, Version, got.Version)
	require.Equal(t, KindRun, got.Kind)
	require.Equal(t, "aws-ec2-cryptomining", got.Scenario)
	require.Equal(t, uint64(7), got.Seed)
	require.Equal(t, "ec2-cryptomining", got.Playbook)
	want, err := f.Scorecard.JSON()
	require.NoError(t, err)
	stored, err := got.Scorecard.JSON()
	require.NoError(t, err)
	require.Equal(t, string(want), string(stored), "the stored scorecard reads back byte for byte")
	again, err := scoring.Score(got.ScoreInput()).JSON()
	require.NoError(t, err)
	require.Equal(t, string(want), string(again), "the file holds everything scoring needs")
}

func TestDecodeRejectsBadFilesNamingThem(t *testing.T) {
	f := drill(t)
	var good, badSLO bytes.Buffer
	require.NoError(t, Encode(&good, f))
	f.Input.SLO.MTTD = "soon"
	require.NoError(t, Encode(&badSLO, f))
	f.Input.SLO.MTTD, f.Events = "", []timeline.Event{}
	var noEvents bytes.Buffer
	require.NoError(t, Encode(&noEvents, f))
	for name, tc := range map[string]struct{ data, want string }{
		"not json":      {"{", "not a firedrill replay"},
		"no version":    {`{"kind":"run"}`, `no "version" field`},
		"newer version": {`{"version":2}`, "version 2 is not supported: this firedrill reads version 1"},
		"unknown field": {strings.Replace(good.String(), `"kind"`, `"knd"`, 1), `unknown field "knd"`},
		"bad kind":      {strings.Replace(good.String(), `"kind": "run"`, `"kind": "movie"`, 1), `kind "movie"`},
		"bad slo":       {badSLO.String(), "score_input.slo.mttd"},
		"no events":     {noEvents.String(), "no events: nothing to play back"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Decode("drills/x.json", []byte(tc.data))
			require.Error(t, err)
			require.True(t, IsError(err))
			require.Contains(t, err.Error(), "replay file drills/x.json: ")
			require.Contains(t, err.Error(), tc.want)
		})
	}
	_, err := Read(filepath.Join(t.TempDir(), "missing.json"))
	require.ErrorContains(t, err, "missing.json")
}

func TestScoreDecisions(t *testing.T) {
	ds := []TeamDecision{
		{Node: "a", Team: "yes", Automated: "yes", WallSeconds: 10},
		{Node: "b", Team: "no", Automated: "yes", Note: "owner said so", WallSeconds: 20.0004},
		{Node: "c", Team: "no", Automated: "yes", WallSeconds: 30},
		{Node: "d", Team: "yes", AutomatedError: "no such key", WallSeconds: 0},
	}
	s := ScoreDecisions(ds)
	require.Equal(t, []float64{1, 0.5, 0, 0.5}, []float64{ds[0].Credit, ds[1].Credit, ds[2].Credit, ds[3].Credit})
	require.Equal(t, []bool{true, false, false, false}, []bool{ds[0].Agree, ds[1].Agree, ds[2].Agree, ds[3].Agree})
	require.Equal(t, 2.0, s.Points)
	require.Equal(t, 4.0, s.Max)
	require.NotNil(t, s.Percent)
	require.Equal(t, 50, *s.Percent)
	require.Equal(t, 60.0, s.TotalSeconds)
	require.Equal(t, 15.0, s.MeanSeconds)

	ds[3].Note = "checked by hand"
	require.Equal(t, 63, *ScoreDecisions(ds).Percent, "a noted answer without a reference gets full credit")
	require.Nil(t, ScoreDecisions(nil).Percent, "no decision asked: no score rather than 0 or 100")
}
