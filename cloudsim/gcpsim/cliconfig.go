package gcpsim

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// CLIConfig is what PrepareCLIConfig needs to know about a running
// simulator and the principal gcloud should act as.
type CLIConfig struct {
	// Endpoint is the simulator's base URL, e.g. "http://127.0.0.1:4568".
	Endpoint string
	// KeyFile is a service-account key file (KeyFileJSON) gcloud signs its
	// token grants with; its account is the one gcloud acts as.
	KeyFile string
	// Account is the key file's client_email.
	Account string
	// Project, Region and Zone are the defaults of the configuration.
	Project, Region, Zone string
}

// CLIConfigName is the name of the gcloud configuration PrepareCLIConfig
// writes and activates.
const CLIConfigName = "firedrill"

// cliServices are the APIs gcloud is pointed at the simulator for: the
// name of their api_endpoint_overrides property, the path the override
// ends in (gcloud appends the rest of the API's path), and, when requests
// of the API start with its name ("compute/v1/…", "pubsub/v1/…"), that
// name, which the simulator's "not served" errors use.
var cliServices = []struct{ name, path, api string }{
	{"cloudresourcemanager", "/", ""},
	{"compute", "/compute/v1/", "compute"},
	{"iam", "/", ""},
	{"logging", "/", ""},
	{"securitycenter", "/", ""},
	// Not served: pointed here so that their commands answer at once with
	// the simulator's error naming the method instead of retrying a Google
	// host that cannot be reached.
	{"storage", "/storage/v1/", "storage"},
	{"pubsub", "/pubsub/", "pubsub"},
	{"container", "/container/", "container"},
	{"cloudfunctions", "/cloudfunctions/", "cloudfunctions"},
	{"sql", "/", "sql"},
	{"cloudkms", "/cloudkms/", "cloudkms"},
	{"dns", "/dns/v1/", "dns"},
	{"serviceusage", "/serviceusage/", "serviceusage"},
	{"cloudasset", "/cloudasset/", "cloudasset"},
	{"monitoring", "/monitoring/", "monitoring"},
}

// prefixedAPIs are the APIs whose paths on the simulator start with the
// API's name.
var prefixedAPIs = func() map[string]bool {
	m := map[string]bool{}
	for _, s := range cliServices {
		if s.api != "" {
			m[s.api] = true
		}
	}
	return m
}()

// PrepareCLIConfig writes a gcloud configuration directory (what
// CLOUDSDK_CONFIG names) that reaches only the simulator: an active
// configuration "firedrill" with the project, region, zone and account;
// the key file as the credential of every command
// (auth/credential_file_override) with its token grants sent to the
// simulator's /token (auth/token_host: gcloud ignores the key file's
// token_uri and asks oauth2.googleapis.com otherwise); API endpoint
// overrides for every API the simulator serves; and no usage reporting,
// prompts, surveys, update checks or metadata-server probes, none of which
// could reach Google offline anyway.
//
// The configuration also points the common APIs the simulator does not
// serve (Cloud Storage, Pub/Sub, GKE, …) at it, so their commands fail at
// once with a 404 naming the method; commands of any other API still go to
// Google and fail offline with a name-resolution error.
func PrepareCLIConfig(dir string, c CLIConfig) error {
	if c.Endpoint == "" || c.KeyFile == "" || c.Project == "" {
		return fmt.Errorf("gcloud configuration: endpoint, key file and project are required")
	}
	if err := os.MkdirAll(filepath.Join(dir, "configurations"), 0o700); err != nil {
		return fmt.Errorf("gcloud configuration: %w", err)
	}
	base := strings.TrimSuffix(c.Endpoint, "/")
	var b strings.Builder
	section := func(name string, kv ...string) {
		fmt.Fprintf(&b, "[%s]\n", name)
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] != "" {
				fmt.Fprintf(&b, "%s = %s\n", kv[i], kv[i+1])
			}
		}
		b.WriteString("\n")
	}
	section("core", "project", c.Project, "account", c.Account, "disable_usage_reporting", "True",
		"disable_prompts", "True", "check_gce_metadata", "False")
	section("auth", "credential_file_override", c.KeyFile, "token_host", base+"/token")
	section("compute", "region", c.Region, "zone", c.Zone)
	var overrides []string
	for _, s := range cliServices {
		overrides = append(overrides, s.name, base+s.path)
	}
	section("api_endpoint_overrides", overrides...)
	section("component_manager", "disable_update_check", "True")
	section("survey", "disable_prompts", "True")
	files := []struct{ name, text string }{
		{"active_config", CLIConfigName},
		{filepath.Join("configurations", "config_"+CLIConfigName), b.String()},
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.name), []byte(f.text), 0o600); err != nil {
			return fmt.Errorf("gcloud configuration: %w", err)
		}
	}
	return nil
}
