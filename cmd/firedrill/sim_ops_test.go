package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/cloudsim/simcloud"
	"github.com/firedrill-ir/firedrill/scoring"
)

// docs/sim-operations.md is generated from every registered driver's
// Operations; -update rewrites it.
func TestSimOperationsDoc(t *testing.T) {
	clouds, err := simcloud.AllOperations("")
	require.NoError(t, err)
	require.Len(t, clouds, 3, "aws, azure and gcp are registered")
	var b bytes.Buffer
	require.NoError(t, simcloud.WriteOperationsMarkdown(&b, clouds))
	path := filepath.Join("..", "..", "docs", "sim-operations.md")
	if *update {
		require.NoError(t, os.WriteFile(path, b.Bytes(), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./cmd/firedrill -run TestSimOperationsDoc -update")
	require.Equal(t, string(want), b.String(), "docs/sim-operations.md is stale: run go test ./cmd/firedrill -run TestSimOperationsDoc -update")
	for _, c := range clouds {
		if !c.Listed {
			require.Contains(t, b.String(), "## "+c.Cloud+"\n\nNot listed yet")
		}
	}
}

func TestSimOpsCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	require.Equal(t, 0, execute(context.Background(), []string{"sim", "ops", "-o", "json"}, &out, &errOut), errOut.String())
	var clouds []simcloud.CloudOperations
	require.NoError(t, json.Unmarshal(out.Bytes(), &clouds))
	require.Len(t, clouds, 3)

	out.Reset()
	require.Equal(t, 0, execute(context.Background(), []string{"sim", "ops", "--cloud", "gcp"}, &out, &errOut), errOut.String())
	require.Contains(t, out.String(), "gcp")
	require.NotContains(t, out.String(), "aws ")

	errOut.Reset()
	require.Equal(t, 2, execute(context.Background(), []string{"sim", "ops", "--cloud", "oracle"}, &out, &errOut))
	require.Contains(t, errOut.String(), `no simulated cloud "oracle"`)
}

// 'sim score' asks a running live scenario for its scorecard so far.
func TestSimScoreAsksTheRunningServer(t *testing.T) {
	r := startLive(t, "gcp-vm-cryptomining", 60)
	var out, errOut bytes.Buffer
	code := execute(context.Background(), []string{"sim", "score", "--endpoint", r.vars["FIREDRILL_SCORE_ENDPOINT"], "-o", "json"}, &out, &errOut)
	require.Equal(t, 0, code, errOut.String())
	card := &scoring.Scorecard{}
	require.NoError(t, json.Unmarshal(out.Bytes(), card))
	require.Equal(t, "gcp-vm-cryptomining", card.Scenario)
	require.Equal(t, []string{"external"}, card.Playbooks)
	require.True(t, card.EndedAt.After(card.StartedAt.Add(-time.Second)))

	out.Reset()
	require.Equal(t, 0, execute(context.Background(), []string{"sim", "score", "--endpoint", r.vars["FIREDRILL_SCORE_ENDPOINT"]}, &out, &errOut))
	require.Contains(t, out.String(), "CONTAINMENT")

	require.Equal(t, 2, execute(context.Background(), []string{"sim", "score", "--endpoint", "localhost:1"}, &out, &errOut))
	require.True(t, strings.Contains(errOut.String(), "expected the http(s) URL"), errOut.String())
}
