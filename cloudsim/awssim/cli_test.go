package awssim_test

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/clock"
	"github.com/firedrill-ir/firedrill/cloudsim/awssim"
	"github.com/firedrill-ir/firedrill/cloudsim/awssim/awssimtest"
	"github.com/firedrill-ir/firedrill/cloudsim/demo"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/awsworld"
)

// cliEnv is the demo environment served on a loopback listener, driven by
// the real AWS CLI (v1, as Debian packages it; CI installs it, see
// .ci/run).
type cliEnv struct {
	t     *testing.T
	aws   string
	url   string
	clock *clock.Manual
	world *world.World
	env   *demo.AWSEnv
	// key and secret are the credentials the CLI signs with (the demo
	// administrator unless a test switches to another principal).
	key, secret, token string
	// config is the CLI's configuration file.
	config string
}

func newCLIEnv(t *testing.T) *cliEnv {
	t.Helper()
	path, err := exec.LookPath("aws")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("the AWS CLI is required in CI (apt-get install awscli): %v", err)
		}
		t.Skip("AWS CLI not installed; CI installs it and runs this test")
	}
	clk := clock.NewManual(awssimtest.Start)
	w := world.New(clk, 7)
	env, err := demo.SeedAWS(w, demo.Options{ScaleInAfter: -1})
	require.NoError(t, err)
	hs := httptest.NewServer(awssim.New(w))
	t.Cleanup(hs.Close)
	// Blob parameters are given raw, as the CLI v1 takes them; v2 (Debian's
	// awscli, which CI may install) reads them as base64 unless told so.
	cfg := filepath.Join(t.TempDir(), "config")
	require.NoError(t, os.WriteFile(cfg, []byte("[default]\ncli_binary_format = raw-in-base64-out\n"), 0o600))
	return &cliEnv{t: t, aws: path, url: hs.URL, clock: clk, world: w, env: env, key: env.AdminKeyID, secret: env.AdminSecret, config: cfg}
}

// run runs the CLI and returns its JSON output decoded (or {"text": …}
// for output that is not a JSON object); a failing command fails the test.
func (e *cliEnv) run(args ...string) map[string]any {
	e.t.Helper()
	out, stderr, err := e.exec(args...)
	require.NoError(e.t, err, "aws %s: %s", strings.Join(args, " "), stderr)
	m := map[string]any{}
	if t := bytes.TrimSpace(out); len(t) > 0 && t[0] == '{' {
		require.NoError(e.t, json.Unmarshal(t, &m), "aws %s printed %s", strings.Join(args, " "), out)
	} else {
		m["text"] = string(out)
	}
	return m
}

// fail runs a command that must fail and returns its stderr.
func (e *cliEnv) fail(args ...string) string {
	e.t.Helper()
	out, stderr, err := e.exec(args...)
	require.Error(e.t, err, "aws %s succeeded: %s", strings.Join(args, " "), out)
	return stderr
}

func (e *cliEnv) exec(args ...string) (stdout []byte, stderr string, err error) {
	cmd := exec.Command(e.aws, append([]string{"--endpoint-url", e.url, "--output", "json"}, args...)...)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+e.key, "AWS_SECRET_ACCESS_KEY="+e.secret,
		"AWS_DEFAULT_REGION="+e.env.Region,
		"AWS_CONFIG_FILE="+e.config, "AWS_SHARED_CREDENTIALS_FILE="+os.DevNull,
		"AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER=", "AWS_MAX_ATTEMPTS=1")
	if e.token != "" {
		cmd.Env = append(cmd.Env, "AWS_SESSION_TOKEN="+e.token)
	}
	var errBuf bytes.Buffer
	cmd.Stderr = &errBuf
	stdout, err = cmd.Output()
	return stdout, errBuf.String(), err
}

// advance moves the world's clock (scheduled changes apply on the next call).
func (e *cliEnv) advance(d time.Duration) { e.clock.Advance(d) }

// audited returns the operations of the audit log, in order.
func (e *cliEnv) audited() []string {
	e.world.Lock()
	defer e.world.Unlock()
	var ops []string
	for _, ev := range e.world.Audit {
		ops = append(ops, ev.Operation)
	}
	return ops
}

// list returns the list under key of a decoded output.
func list(t *testing.T, m map[string]any, key string) []any {
	t.Helper()
	l, ok := m[key].([]any)
	require.True(t, ok, "output has no list %q: %v", key, m)
	return l
}

// obj is m[key] as an object.
func obj(t *testing.T, m any, key string) map[string]any {
	t.Helper()
	o, ok := m.(map[string]any)[key].(map[string]any)
	require.True(t, ok, "no object %q in %v", key, m)
	return o
}

// addKey gives a user an access key (world locked) and returns it.
func (e *cliEnv) addKey(user string) [2]string {
	k, err := awsworld.Of(e.world).AddAccessKey(user)
	require.NoError(e.t, err)
	return [2]string{k.ID, k.Secret}
}
