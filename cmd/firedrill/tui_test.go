package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/replay"
	"github.com/firedrill-ir/firedrill/tui"
)

func TestRunSaveThenReportPrintsTheSameScorecard(t *testing.T) {
	withRunFunc(t, fakeDrill(t, false, nil))
	path := filepath.Join(t.TempDir(), "drill.json")
	want, _, code := cli(t, "run", "aws-ec2-cryptomining", "--seed", "7", "--output", "json", "--save", path)
	require.Equal(t, exitDrillFails, code, "a failed drill is still saved")
	f, err := replay.Read(path)
	require.NoError(t, err)
	require.Equal(t, "aws-ec2-cryptomining", f.Scenario)
	require.Equal(t, uint64(7), f.Seed)
	require.NotEmpty(t, f.Events)

	got, errOut, code := cli(t, "report", path, "--output", "json")
	require.Equal(t, exitOK, code, errOut)
	require.Equal(t, want, got, "report --output json prints what run --output json printed")

	table, _, code := cli(t, "report", path)
	require.Equal(t, exitOK, code)
	require.Contains(t, table, "run of aws-ec2-cryptomining (seed 7) from "+path)
	require.Contains(t, table, "MTTD (attack → first alert)")
}

func TestRunSaveRefusesDryRun(t *testing.T) {
	_, errOut, code := cli(t, "run", "aws-ec2-cryptomining", "--dry-run", "--save", filepath.Join(t.TempDir(), "x.json"))
	require.Equal(t, exitUsage, code)
	require.Contains(t, errOut, "--save records a drill")
}

func TestReportAndTUIRejectBadReplayFilesNamingThem(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "future.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"version": 9}`), 0o644))
	for _, args := range [][]string{{"report", bad}, {"tui", "--replay", bad}} {
		_, errOut, code := cli(t, args...)
		require.Equal(t, exitUsage, code, args)
		require.Contains(t, errOut, "replay file "+bad+": version 9 is not supported", args)
	}
	_, errOut, code := cli(t, "report", filepath.Join(dir, "missing.json"))
	require.Equal(t, exitUsage, code)
	require.Contains(t, errOut, "missing.json")
}

func TestTUIFlagErrorsAreUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"tui", "--speed", "fast"}, `--speed: speed "fast"`},
		{[]string{"tui", "--speed", "5000"}, "from 1 to 3600"},
		{[]string{"tui", "--scenario", "no-such-scenario"}, "no-such-scenario"},
		{[]string{"tui", "--scenario", "aws-ec2-cryptomining", "--replay", "x.json"}, "exclude each other"},
		{[]string{"tabletop", "no-such-scenario"}, "no-such-scenario"},
		{[]string{"tabletop"}, "SCENARIO"},
	} {
		_, errOut, code := cli(t, tc.args...)
		require.Equal(t, exitUsage, code, strings.Join(tc.args, " "))
		require.Contains(t, errOut, tc.want, strings.Join(tc.args, " "))
	}
}

func TestTUIOptionsFromFlags(t *testing.T) {
	to, err := tuiOptionsFrom(&tuiOptions{Scenario: "aws-ec2-cryptomining", Seed: 7, Speed: "max"})
	require.NoError(t, err)
	require.Equal(t, "aws-ec2-cryptomining", to.Scenario.ID)
	require.Equal(t, uint64(7), to.Seed)
	max, _ := tui.ParseSpeed("max")
	require.Equal(t, max, *to.Speed)
	to, err = tuiOptionsFrom(&tuiOptions{Seed: 1, Speed: "60x"})
	require.NoError(t, err)
	require.Nil(t, to.Scenario, "no scenario: the picker opens")
	require.Equal(t, 60.0, *to.Speed)
}

func TestTabletopHelpDocumentsTheDecisionScore(t *testing.T) {
	out, _, code := cli(t, "tabletop", "--help")
	require.Equal(t, exitOK, code)
	require.Contains(t, out, "decision score = 100 × Σ credit / Σ weight")
	require.Contains(t, out, "no human-owned step marker")
}
