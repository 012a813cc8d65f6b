package gcpsim_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2/google"

	"github.com/firedrill-ir/firedrill/cloudsim/gcpsim"
	"github.com/firedrill-ir/firedrill/cloudsim/gcpsim/gcpsimtest"
)

// TestGcloudWithPreparedConfig runs the real gcloud (when installed) with
// nothing but CLOUDSDK_CONFIG from PrepareCLIConfig and an empty HOME: the
// enumeration a responder starts with works, and every request, token
// grants included, goes to the simulator.
func TestGcloudWithPreparedConfig(t *testing.T) {
	bin, err := exec.LookPath("gcloud")
	if err != nil {
		t.Skip("gcloud is not installed")
	}
	if testing.Short() {
		t.Skip("gcloud takes seconds per command")
	}
	e := gcpsimtest.New(t)
	sa := e.ServiceAccount(t, "responder", "roles/compute.viewer", "roles/iam.securityReviewer", "roles/iam.serviceAccountKeyAdmin", "roles/securitycenter.findingsMuteSetter", "roles/compute.instanceAdmin.v1", "roles/compute.securityAdmin")
	mining(t, e, "web-1")
	key, err := e.Server.KeyFileJSON(sa, e.URL)
	require.NoError(t, err)
	dir := t.TempDir()
	keyPath := filepath.Join(dir, "key.json")
	require.NoError(t, os.WriteFile(keyPath, key, 0o600))
	cfg := filepath.Join(dir, "gcloud")
	require.NoError(t, gcpsim.PrepareCLIConfig(cfg, gcpsim.CLIConfig{Endpoint: e.URL, KeyFile: keyPath, Account: sa,
		Project: gcpsimtest.Project, Region: gcpsimtest.Region, Zone: gcpsimtest.Zone}))
	home := filepath.Join(dir, "home")
	require.NoError(t, os.Mkdir(home, 0o700))

	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, append(args, "--log-http")...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "CLOUDSDK_CONFIG=" + cfg}
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		require.NoError(t, cmd.Run(), "gcloud %s: %s", strings.Join(args, " "), errOut.String())
		uris := regexp.MustCompile(`(?m)^uri: (\S+)`).FindAllStringSubmatch(errOut.String(), -1)
		require.NotEmpty(t, uris)
		for _, u := range uris {
			require.True(t, strings.HasPrefix(u[1], e.URL+"/"), "gcloud %s called %s", strings.Join(args, " "), u[1])
		}
		return out.String()
	}
	require.Equal(t, "web-1\n", run("compute", "instances", "list", "--format=value(name)"))
	require.Equal(t, "default\n", run("compute", "networks", "list", "--format=value(name)"))
	require.Equal(t, "default-allow-internal\ndefault-allow-ssh\n", run("compute", "firewall-rules", "list", "--format=value(name)"))
	require.Equal(t, sa+"\n", run("iam", "service-accounts", "list", "--format=value(email)"))
	require.Contains(t, run("projects", "get-iam-policy", gcpsimtest.Project, "--format=value(bindings.role)"), "roles/iam.securityReviewer")

	// Containment as gcloud does it: read-modify-write with fingerprints
	// (which gcloud decodes and re-encodes), then operations/wait.
	run("compute", "instances", "add-labels", "web-1", "--labels", "case=ir-1")
	run("compute", "instances", "add-tags", "web-1", "--tags", "quarantine")
	run("compute", "firewall-rules", "create", "ir-deny-in", "--action", "deny", "--rules", "all", "--priority", "0",
		"--target-tags", "quarantine", "--network", "default")
	require.Equal(t, "case=ir-1\tquarantine\n", run("compute", "instances", "describe", "web-1", "--format=value(labels, tags.items)"))
	require.Equal(t, "ir-deny-in\n", run("compute", "firewall-rules", "list", "--filter=priority=0", "--format=value(name)"))

	// A key gcloud creates is one the token endpoint accepts.
	newKey := filepath.Join(dir, "new-key.json")
	run("iam", "service-accounts", "keys", "create", newKey, "--iam-account", sa)
	raw, err := os.ReadFile(newKey)
	require.NoError(t, err)
	creds, err := google.CredentialsFromJSON(context.Background(), raw, "https://www.googleapis.com/auth/cloud-platform")
	require.NoError(t, err)
	tok, err := creds.TokenSource.Token()
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(tok.AccessToken, "ya29."))

	// Security Command Center: list the mining finding, then mute it.
	e.Clock.Advance(16 * time.Minute)
	name := strings.TrimSpace(run("scc", "findings", "list", "projects/"+gcpsimtest.Project, "--location=global", "--format=value(finding.name)"))
	require.Contains(t, name, "/findings/")
	run("scc", "findings", "set-mute", name, "--mute=MUTED")
	require.Equal(t, "MUTED\n", run("scc", "findings", "list", "projects/"+gcpsimtest.Project, "--location=global", "--format=value(finding.mute)"))
}
