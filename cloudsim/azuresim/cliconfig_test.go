package azuresim_test

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/cloudsim/azuresim"
	"github.com/firedrill-ir/firedrill/cloudsim/azuresim/azuresimtest"
	"github.com/firedrill-ir/firedrill/cloudsim/demo"
)

// TestPreparedCLIConfigMatchesTheMetadataEndpoint: the prepared cloud has
// the endpoints the simulator's metadata answers (what az cloud register
// would store), the login is the service principal's, and the exports name
// a CA bundle holding the simulator's certificate; no az is needed.
func TestPreparedCLIConfigMatchesTheMetadataEndpoint(t *testing.T) {
	e := azuresimtest.New(t, demo.AzureOptions{})
	dir := t.TempDir()
	ca := filepath.Join(dir, "azure-ca.pem")
	require.NoError(t, os.WriteFile(ca, e.CAPEM, 0o600))
	cfgDir := filepath.Join(dir, "azure-cli")
	lines, err := azuresim.CLIExports(cfgDir, azuresim.CLIConfig{Endpoint: e.URL, CAFile: ca, Tenant: e.Demo.Tenant,
		Subscription: e.Demo.Subscription, ClientID: e.Demo.AdminClientID, ClientSecret: e.Demo.AdminSecret})
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(lines[0], "# az"), "a comment line first: %q", lines[0])
	require.Equal(t, []string{"export AZURE_CONFIG_DIR=" + cfgDir, "export REQUESTS_CA_BUNDLE=" + filepath.Join(cfgDir, "ca-bundle.pem")}, lines[1:])
	bundle, err := os.ReadFile(filepath.Join(cfgDir, "ca-bundle.pem"))
	require.NoError(t, err)
	require.True(t, strings.HasSuffix(string(bundle), string(e.CAPEM)), "the bundle ends with the simulator's certificate")

	resp, err := e.HTTPClient.Get(e.URL + "/metadata/endpoints?api-version=2015-01-01")
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var meta struct {
		GraphEndpoint  string
		Authentication struct {
			LoginEndpoint string
			Audiences     []string
		}
	}
	require.NoError(t, json.Unmarshal(b, &meta))
	clouds, err := os.ReadFile(filepath.Join(cfgDir, "clouds.config"))
	require.NoError(t, err)
	for _, want := range []string{
		"endpoint_resource_manager = " + e.URL + "/",
		"endpoint_active_directory = " + meta.Authentication.LoginEndpoint,
		"endpoint_active_directory_resource_id = " + meta.Authentication.Audiences[0],
		"endpoint_active_directory_graph_resource_id = " + meta.GraphEndpoint,
		"profile = " + azuresim.CLIProfile,
	} {
		require.Contains(t, string(clouds), want+"\n")
	}
	secrets, err := os.ReadFile(filepath.Join(cfgDir, "service_principal_entries.json"))
	require.NoError(t, err)
	require.Contains(t, string(secrets), e.Demo.AdminSecret)
	_, err = os.Stat(filepath.Join(cfgDir, "cliextensions", "firedrill", "azext_firedrill", "__init__.py"))
	require.NoError(t, err, "the extension's module is written (embed keeps files named with _)")
}
