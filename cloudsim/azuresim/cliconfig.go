package azuresim

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// azExtension is an az extension written into the configuration: Debian's
// az 2.45 reads operations.config of the authorization client, which the
// Python SDK Debian ships names _config, so `az role assignment list` fails
// with AttributeError against any cloud; the extension aliases it (see
// azcli/firedrill/azext_firedrill/__init__.py).
//
//go:embed all:azcli
var azExtension embed.FS

// CLIProfile is the API profile the az configuration uses: Azure Stack
// Hub's hybrid profile. Debian's az 2.45 cannot list VMs or networks with
// its default profile ("latest"): the Python SDK Debian ships with it lacks
// the API versions that profile names (ValueError: API version 2022-11-01
// does not have operation group 'virtual_machines'), whatever the cloud.
const CLIProfile = "2020-09-01-hybrid"

// CLIConfig is what PrepareCLIConfig needs to know about the simulator.
type CLIConfig struct {
	// Endpoint is the simulator's https://host:port.
	Endpoint string
	// CAFile is the PEM file of the simulator's certificate.
	CAFile string
	// Tenant, Subscription, ClientID and ClientSecret are the service
	// principal az is logged in as, and its default subscription.
	Tenant, Subscription, SubscriptionName, ClientID, ClientSecret string
}

// PrepareCLIConfig builds an AZURE_CONFIG_DIR in dir for the Azure CLI: the
// simulated cloud registered as "firedrill" with the endpoints its
// /metadata/endpoints answers (an ADFS-style authority, for which MSAL asks
// Microsoft's instance-discovery endpoint nothing, so az works offline),
// logged in as the service principal, the subscription set, telemetry off,
// with an extension that works around a bug of Debian's az (azExtension).
// It writes what `az cloud register`, `az cloud set`, `az login
// --service-principal` and `az account set` would (az 2.45's file formats),
// so it needs neither az nor a running simulator: a client then needs only
// AZURE_CONFIG_DIR=dir and REQUESTS_CA_BUNDLE=cfg.CAFile. Tokens are
// fetched on first use, from the simulator's token endpoint.
func PrepareCLIConfig(dir string, cfg CLIConfig) error {
	if cfg.Endpoint == "" || cfg.Tenant == "" || cfg.Subscription == "" || cfg.ClientID == "" || cfg.ClientSecret == "" {
		return fmt.Errorf("preparing the az configuration: endpoint, tenant, subscription and client credentials are required")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating the az configuration directory %s: %w", dir, err)
	}
	ep := strings.TrimSuffix(cfg.Endpoint, "/")
	config := "[core]\ncollect_telemetry = no\nfirst_run = no\nno_color = yes\n\n[cloud]\nname = " + CloudName + "\n"
	// The endpoints az cloud register reads from /metadata/endpoints
	// (api-version 2015-01-01, see serveMetadata), plus Microsoft Graph,
	// which that version does not name, for principal names.
	clouds := "[" + CloudName + "]\n" +
		"endpoint_resource_manager = " + ep + "/\n" +
		"endpoint_gallery = " + ep + "/\n" +
		"endpoint_active_directory = " + ep + "/adfs\n" +
		"endpoint_active_directory_resource_id = https://management.core.windows.net/\n" +
		"endpoint_active_directory_graph_resource_id = " + ep + "/\n" +
		"endpoint_microsoft_graph_resource_id = " + ep + "/\n" +
		"subscription = " + cfg.Subscription + "\n" +
		"profile = " + CLIProfile + "\n"
	name := cfg.SubscriptionName
	if name == "" {
		name = cfg.Subscription
	}
	profile, err := json.Marshal(map[string]any{"subscriptions": []any{map[string]any{
		"id": cfg.Subscription, "name": name, "state": "Enabled", "isDefault": true,
		"user":     map[string]any{"name": cfg.ClientID, "type": "servicePrincipal"},
		"tenantId": cfg.Tenant, "homeTenantId": cfg.Tenant, "environmentName": CloudName, "managedByTenants": []any{}}}})
	if err != nil {
		return fmt.Errorf("encoding the az profile: %w", err)
	}
	secrets, err := json.MarshalIndent([]any{map[string]any{"tenant": cfg.Tenant, "client_id": cfg.ClientID, "client_secret": cfg.ClientSecret}}, "", "    ")
	if err != nil {
		return fmt.Errorf("encoding the az service principal entry: %w", err)
	}
	if err := writeExtension(filepath.Join(dir, "cliextensions")); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		data []byte
	}{
		{"config", []byte(config)},
		{"clouds.config", []byte(clouds)},
		{"azureProfile.json", profile},
		{"service_principal_entries.json", secrets},
	} {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.data, 0o600); err != nil {
			return fmt.Errorf("writing the az configuration: %w", err)
		}
	}
	return nil
}

// writeExtension copies the embedded az extension into dir.
func writeExtension(dir string) error {
	err := fs.WalkDir(azExtension, "azcli", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := filepath.Join(dir, strings.TrimPrefix(p, "azcli"))
		if d.IsDir() {
			return os.MkdirAll(target, 0o700)
		}
		data, err := azExtension.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o600)
	})
	if err != nil {
		return fmt.Errorf("writing the az extension: %w", err)
	}
	return nil
}

// systemCABundles are where Linux distributions keep their trusted roots
// as one PEM file (crypto/x509 reads the same).
var systemCABundles = []string{
	"/etc/ssl/certs/ca-certificates.crt",                // Debian, Ubuntu
	"/etc/pki/tls/certs/ca-bundle.crt",                  // Fedora, RHEL
	"/etc/ssl/ca-bundle.pem",                            // openSUSE
	"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", // CentOS, RHEL 7
	"/etc/ssl/cert.pem",                                 // Alpine
}

// CLIExports prepares the az configuration in dir (PrepareCLIConfig) and
// returns the export lines that point az at it. REQUESTS_CA_BUNDLE names a
// bundle of the system's roots and the simulator's certificate, so that
// other Python clients in the same shell (boto3 honours it too) keep
// trusting public endpoints. Without az on the PATH it still prepares the
// configuration and says so in a comment line.
func CLIExports(dir string, cfg CLIConfig) ([]string, error) {
	if err := PrepareCLIConfig(dir, cfg); err != nil {
		return nil, err
	}
	sim, err := os.ReadFile(cfg.CAFile)
	if err != nil {
		return nil, fmt.Errorf("reading the simulator's certificate: %w", err)
	}
	var bundle []byte
	for _, f := range systemCABundles {
		if roots, err := os.ReadFile(f); err == nil {
			bundle = append(roots, '\n')
			break
		}
	}
	bundlePath := filepath.Join(dir, "ca-bundle.pem")
	if err := os.WriteFile(bundlePath, append(bundle, sim...), 0o600); err != nil {
		return nil, fmt.Errorf("writing the CA bundle for az: %w", err)
	}
	lines := []string{"# az (Azure CLI): logged in to the simulated cloud 'firedrill' as AZURE_CLIENT_ID; try az vm list"}
	if _, err := exec.LookPath("az"); err != nil {
		lines[0] = "# az (Azure CLI) is not installed; this configuration is ready for it (apt-get install azure-cli)"
	}
	return append(lines, "export AZURE_CONFIG_DIR="+dir, "export REQUESTS_CA_BUNDLE="+bundlePath), nil
}
