package azuresim_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/cloudsim/azuresim"
	"github.com/firedrill-ir/firedrill/cloudsim/azuresim/azuresimtest"
	"github.com/firedrill-ir/firedrill/cloudsim/demo"
	"github.com/firedrill-ir/firedrill/cloudsim/world/azureworld"
)

// azCLI runs az (Debian's azure-cli) against the simulator with only the
// two variables sim serve exports, in a clean environment.
type azCLI struct {
	t          *testing.T
	bin, home  string
	config, ca string
}

func newAzCLI(t *testing.T, e *azuresimtest.Env) *azCLI {
	t.Helper()
	bin, err := exec.LookPath("az")
	if err != nil {
		// CI installs azure-cli (.ci/run) and sets CI, which makes the test mandatory.
		if os.Getenv("CI") != "" {
			t.Fatalf("az is required in CI (apt-get install azure-cli): %v", err)
		}
		t.Skip("az is not installed (apt-get install azure-cli)")
	}
	dir := t.TempDir()
	ca := filepath.Join(dir, "azure-ca.pem")
	require.NoError(t, os.WriteFile(ca, e.CAPEM, 0o600))
	return &azCLI{t: t, bin: bin, home: dir, config: filepath.Join(dir, "azure-cli"), ca: ca}
}

// run runs az with args; it returns stdout and whether az succeeded, and
// stderr for failures.
func (a *azCLI) run(args ...string) (string, string, bool) {
	a.t.Helper()
	cmd := exec.Command(a.bin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + a.home, "LANG=C.UTF-8",
		"AZURE_CONFIG_DIR=" + a.config, "REQUESTS_CA_BUNDLE=" + a.ca}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return strings.TrimSpace(stdout.String()), stderr.String(), err == nil
}

func (a *azCLI) ok(args ...string) string {
	a.t.Helper()
	out, errOut, ok := a.run(args...)
	require.True(a.t, ok, "az %s failed:\n%s", strings.Join(args, " "), errOut)
	return out
}

// TestAzureCLIWithThePreparedConfiguration: after PrepareCLIConfig (what
// sim serve does), az lists VMs, NSGs, virtual networks, resource groups and
// role assignments, creates a role assignment and NSG rules (a duplicate
// priority fails with SecurityRuleConflict), and starts a VM.
func TestAzureCLIWithThePreparedConfiguration(t *testing.T) {
	e := azuresimtest.New(t, demo.AzureOptions{})
	az := newAzCLI(t, e)
	require.NoError(t, azuresim.PrepareCLIConfig(az.config, azuresim.CLIConfig{Endpoint: e.URL, CAFile: az.ca, Tenant: e.Demo.Tenant,
		Subscription: e.Demo.Subscription, SubscriptionName: "firedrill-demo", ClientID: e.Demo.AdminClientID, ClientSecret: e.Demo.AdminSecret}))

	require.Equal(t, "web-vmss_0\nweb-vmss_1\nweb-vmss_2", az.ok("vm", "list", "--query", "[].name", "-o", "tsv"))
	require.Equal(t, "web-nsg", az.ok("network", "nsg", "list", "--query", "[].name", "-o", "tsv"))
	require.Equal(t, "firedrill-vnet", az.ok("network", "vnet", "list", "--query", "[].name", "-o", "tsv"))
	// az's table formats read fields ARM always sends (enableVmProtection;
	// no properties in the generic resources list).
	require.Contains(t, az.ok("network", "vnet", "list", "-o", "table"), "firedrill-vnet")
	require.Contains(t, az.ok("resource", "list", "-g", rg, "-o", "table"), "Microsoft.Compute/virtualMachineScaleSets")
	require.Equal(t, rg, az.ok("group", "list", "--query", "[].name", "-o", "tsv"))
	roles := az.ok("role", "assignment", "list", "--all", "--query", "[].properties.roleDefinitionName", "-o", "tsv")
	count := map[string]int{}
	for _, r := range strings.Split(roles, "\n") {
		count[r]++
	}
	require.Equal(t, map[string]int{"Owner": 1, "firedrill Incident Responder": 1, "Contributor": 4, "Storage Blob Data Contributor": 3}, count,
		"every assignment of the subscription, its role named")

	scope := "/subscriptions/" + e.Demo.Subscription + "/resourceGroups/" + rg
	az.ok("role", "assignment", "create", "--assignee-object-id", e.Demo.ResponderObjectID,
		"--role", "Reader", "--scope", scope)
	e.World.Lock()
	found := false
	for _, ra := range azureworld.Of(e.World).RoleAssignmentsOf(e.Demo.ResponderObjectID) {
		found = found || (ra.Scope == scope && ra.RoleDefinition == azureworld.RoleReader)
	}
	e.World.Unlock()
	require.True(t, found, "az role assignment create made the assignment")

	rule := []string{"network", "nsg", "rule", "create", "-g", rg, "--nsg-name", "web-nsg", "-n", "DenyAttacker", "--access", "Deny",
		"--protocol", "Tcp", "--direction", "Inbound", "--source-address-prefixes", "203.0.113.0/24", "--destination-port-ranges", "22"}
	_, errOut, ok := az.run(append(rule, "--priority", "100")...)
	require.False(t, ok)
	require.Contains(t, errOut, "SecurityRuleConflict")
	require.Equal(t, "105", az.ok(append(rule, "--priority", "105", "--query", "priority", "-o", "tsv")...))

	az.ok("vm", "start", "-g", rg, "-n", "web-vmss_2")
	require.Equal(t, "VM running", az.ok("vm", "get-instance-view", "-g", rg, "-n", "web-vmss_2", "--query", "instanceView.statuses[1].displayStatus", "-o", "tsv"))

	_, errOut, ok = az.run("resource", "list", "--resource-type", "Microsoft.Web/sites")
	if !ok {
		require.NotContains(t, errOut, "Traceback", "an unserved type is an error az reports, not a crash")
	}
}

// TestAzureCLIRegistersAndLogsInOffline drives az itself as a user would:
// it registers the simulated cloud from /metadata/endpoints (which answers
// without authentication) and logs in as a service principal through the
// ADFS-style authority, for which MSAL asks no instance-discovery endpoint,
// so nothing reaches outside the machine.
func TestAzureCLIRegistersAndLogsInOffline(t *testing.T) {
	e := azuresimtest.New(t, demo.AzureOptions{})
	az := newAzCLI(t, e)
	require.NoError(t, os.MkdirAll(az.config, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(az.config, "config"), []byte("[core]\ncollect_telemetry = no\nfirst_run = no\n"), 0o600))
	az.ok("cloud", "register", "-n", "sim", "--endpoint-resource-manager", e.URL+"/", "--profile", azuresim.CLIProfile)
	require.Equal(t, e.URL+"/adfs", az.ok("cloud", "show", "-n", "sim", "--query", "endpoints.activeDirectory", "-o", "tsv"))
	az.ok("cloud", "set", "-n", "sim")
	got := az.ok("login", "--service-principal", "-u", e.Demo.AdminClientID, "-p", e.Demo.AdminSecret, "--tenant", e.Demo.Tenant,
		"--query", "[].id", "-o", "tsv")
	require.Equal(t, e.Demo.Subscription, got)
	require.Equal(t, "web-vmss_0\nweb-vmss_1\nweb-vmss_2", az.ok("vm", "list", "--query", "[].name", "-o", "tsv"))
}
