package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSimServeAzureCLIWorksAfterTheExports runs az as a user does after
// eval of sim serve's export lines, with nothing else in its environment.
// CI installs azure-cli (.ci/run) and sets CI, which makes it mandatory.
func TestSimServeAzureCLIWorksAfterTheExports(t *testing.T) {
	bin, err := exec.LookPath("az")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("az is required in CI (apt-get install azure-cli): %v", err)
		}
		t.Skip("az is not installed (apt-get install azure-cli)")
	}
	vars, logs := startSimCloud(t, "azure", 5)
	cmd := exec.Command(bin, "vm", "list", "--query", "[].name", "-o", "tsv")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "LANG=C.UTF-8"}
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "az vm list:\n%s", out)
	require.Equal(t, "web-vmss_0\nweb-vmss_1\nweb-vmss_2", strings.TrimSpace(string(out)))
	require.Contains(t, logs.String(), "action=Microsoft.Compute/virtualMachines/read", "az's calls reach the simulator")
}
