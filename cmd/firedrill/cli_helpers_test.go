package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// update rewrites the golden files under testdata/ from the current output:
// go test ./cmd/firedrill -run 'List|Show|Run' -update
var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// cli runs firedrill in-process with args and returns stdout, stderr and the
// exit code main would exit with.
func cli(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = execute(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), code
}

// golden compares got with testdata/name, or rewrites it under -update.
// Golden output must be ANSI-free: it is what a pipe or a CI log receives.
func golden(t *testing.T, name, got string) {
	t.Helper()
	require.NotContains(t, got, "\x1b[", "output for pipes must carry no ANSI escapes")
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "missing golden file; run the test with -update")
	require.Equal(t, string(want), got, "output differs from %s; rerun with -update if the change is intended", path)
}
