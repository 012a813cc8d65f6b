package main

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSchemaPrintsAJSONSchemaPerFormat(t *testing.T) {
	out, _, code := cli(t, "schema", "playbook")
	require.Equal(t, 0, code)
	var s map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &s))
	require.Equal(t, "https://json-schema.org/draft/2020-12/schema", s["$schema"])
	props := s["properties"].(map[string]any)
	for _, k := range []string{"id", "triggers", "evidence", "containment", "resources"} {
		require.Contains(t, props, k)
	}
	out, _, code = cli(t, "schema", "scenario")
	require.Equal(t, 0, code)
	s = nil
	require.NoError(t, json.Unmarshal([]byte(out), &s))
	require.Contains(t, s["properties"], "detectors")
	_, errOut, code := cli(t, "schema", "playbok")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, `no schema for "playbok" (known: playbook, scenario)`)
}

// --playbook takes a built-in id or a file, on every command that plays a
// drill; an unknown id names the known ones.
func TestPlaybookFlagTakesAnIDOrAFile(t *testing.T) {
	_, errOut, code := cli(t, "run", "azure-vm-cryptomining", "--playbook", "vm-cryptomnig", "--dry-run")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, `no playbook has id "vm-cryptomnig" (known playbooks: ec2-cryptomining, vm-cryptomining)`)
	out, _, code := cli(t, "run", "aws-ec2-cryptomining", "--playbook", "vm-cryptomining", "--dry-run")
	require.Equal(t, 0, code)
	require.Contains(t, out, "vm-cryptomining")
	_, errOut, code = cli(t, "tabletop", "aws-ec2-cryptomining", "--playbook", "../../responder/testdata/nope.yaml")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "--playbook: open ../../responder/testdata/nope.yaml")
	_, errOut, code = cli(t, "tui", "--replay", "x.json", "--playbook", "vm-cryptomining")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "exclude each other")
}
