// Package simserve serves each cloud's demo environment (seeded here, or by
// a scenario through the demo preset packs) to outside clients for
// `firedrill sim serve`: it adds every cloud driver's Serve hook.
package simserve

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"path/filepath"

	"github.com/firedrill-ir/firedrill/cloudsim/awssim"
	"github.com/firedrill-ir/firedrill/cloudsim/azuresim"
	"github.com/firedrill-ir/firedrill/cloudsim/demo"
	"github.com/firedrill-ir/firedrill/cloudsim/detect"
	"github.com/firedrill-ir/firedrill/cloudsim/gcpsim"
	"github.com/firedrill-ir/firedrill/cloudsim/simcloud"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/providers"
)

func init() {
	simcloud.Extend(providers.CloudAWS, func(d *simcloud.Driver) { d.Serve = serveAWS })
	simcloud.Extend(providers.CloudAzure, func(d *simcloud.Driver) { d.Serve = serveAzure })
	simcloud.Extend(providers.CloudGCP, func(d *simcloud.Driver) { d.Serve = serveGCP })
}

// demoEnv is the demo environment a scenario seeded (cfg.Env), or without
// one the cloud's demo environment seeded now, with its managed detector.
func demoEnv[E any](cfg simcloud.ServeConfig, cloud string, of func(simcloud.Env) (E, bool),
	seed func() (E, world.Observer, error)) (E, error) {
	if cfg.Env != nil {
		env, ok := of(cfg.Env)
		if !ok {
			return env, fmt.Errorf("the %s environment %T is not a demo preset's", cloud, cfg.Env)
		}
		return env, nil
	}
	env, detector, err := seed()
	if err != nil {
		return env, fmt.Errorf("seeding the %s demo environment: %w", cloud, err)
	}
	cfg.World.AddObserver(detector)
	return env, nil
}

func serveAWS(cfg simcloud.ServeConfig) (*simcloud.Served, error) {
	env, err := demoEnv(cfg, "AWS", demo.AWSEnvOf, func() (*demo.AWSEnv, world.Observer, error) {
		env, err := demo.SeedAWS(cfg.World, demo.Options{})
		return env, detect.NewGuardDuty(detect.DefaultGuardDutyConfig()), err
	})
	if err != nil {
		return nil, err
	}
	url := "http://" + cfg.Listener.Addr().String()
	return &simcloud.Served{Listener: cfg.Listener, URL: url, Base: http.DefaultTransport,
		Handler: awssim.New(cfg.World, awssim.WithLogger(cfg.Logger.With("cloud", "aws")), awssim.WithFaults(cfg.Faults)),
		Exports: awsExports(url, env, cfg.Env != nil)}, nil
}

func serveAzure(cfg simcloud.ServeConfig) (*simcloud.Served, error) {
	env, err := demoEnv(cfg, "Azure", demo.AzureEnvOf, func() (*demo.AzureEnv, world.Observer, error) {
		env, err := demo.SeedAzure(cfg.World, demo.AzureOptions{})
		return env, detect.NewDefender(detect.DefaultDefenderConfig()), err
	})
	if err != nil {
		return nil, err
	}
	cert, err := azuresim.NewCertificate()
	if err != nil {
		return nil, err
	}
	caPath, err := cfg.WriteFile("azure-ca.pem", cert.CertPEM)
	if err != nil {
		return nil, err
	}
	ln := cert.Listen(cfg.Listener)
	url := "https://" + ln.Addr().String()
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.TLSClientConfig = &tls.Config{RootCAs: cert.Pool, MinVersion: tls.VersionTLS12}
	// az logs in as whoever the export lines name: the responder while a
	// scenario plays, the administrator otherwise.
	id, secret := env.AdminClientID, env.AdminSecret
	if cfg.Env != nil {
		id, secret = env.ResponderClientID, env.ResponderSecret
	}
	az, err := azuresim.CLIExports(filepath.Join(filepath.Dir(caPath), "azure-cli"), azuresim.CLIConfig{Endpoint: url,
		CAFile: caPath, Tenant: env.Tenant, Subscription: env.Subscription, SubscriptionName: "firedrill-demo",
		ClientID: id, ClientSecret: secret})
	if err != nil {
		return nil, err
	}
	return &simcloud.Served{Listener: ln, URL: url, Base: base,
		Handler: azuresim.New(cfg.World, azuresim.WithLogger(cfg.Logger.With("cloud", "azure")), azuresim.WithFaults(cfg.Faults)),
		Exports: append(azureExports(url, caPath, env, cfg.Env != nil), az...)}, nil
}

func serveGCP(cfg simcloud.ServeConfig) (*simcloud.Served, error) {
	env, err := demoEnv(cfg, "GCP", demo.GCPEnvOf, func() (*demo.GCPEnv, world.Observer, error) {
		env, err := demo.SeedGCP(cfg.World, demo.GCPOptions{})
		return env, detect.NewSCC(detect.SCCConfig{}), err
	})
	if err != nil {
		return nil, err
	}
	srv := gcpsim.New(cfg.World, gcpsim.WithLogger(cfg.Logger.With("cloud", "gcp")), gcpsim.WithFaults(cfg.Faults))
	url := "http://" + cfg.Listener.Addr().String()
	key, err := srv.KeyFileJSON(env.ResponderServiceAccount, url)
	if err != nil {
		return nil, err
	}
	keyPath, err := cfg.WriteFile("gcp-key.json", key)
	if err != nil {
		return nil, err
	}
	cliDir := filepath.Join(filepath.Dir(keyPath), "gcloud")
	if err := gcpsim.PrepareCLIConfig(cliDir, gcpsim.CLIConfig{Endpoint: url, KeyFile: keyPath,
		Account: env.ResponderServiceAccount, Project: env.Project, Region: env.Region, Zone: env.Zone}); err != nil {
		return nil, err
	}
	return &simcloud.Served{Listener: cfg.Listener, URL: url, Base: http.DefaultTransport, Handler: srv,
		Exports: append(gcpExports(url, keyPath, env, cfg.Env != nil), "export CLOUDSDK_CONFIG="+cliDir)}, nil
}

// awsExports point standard AWS clients at the simulator: as the demo
// administrator, or as the responder while a scenario plays.
func awsExports(endpoint string, env *demo.AWSEnv, scenario bool) []string {
	key, secret, who := env.AdminKeyID, env.AdminSecret, "the demo administrator"
	if scenario {
		key, secret, who = env.ResponderKeyID, env.ResponderSecret, "the responder (its calls are scored)"
	}
	return []string{
		"# AWS as " + who + " (AWS CLI v2 before 2.13 needs --endpoint-url \"$AWS_ENDPOINT_URL\")",
		"export AWS_ENDPOINT_URL=" + endpoint,
		"export AWS_ACCESS_KEY_ID=" + key,
		"export AWS_SECRET_ACCESS_KEY=" + secret,
		"export AWS_REGION=" + env.Region,
		"export AWS_DEFAULT_REGION=" + env.Region,
		"export AWS_EC2_METADATA_DISABLED=true",
		"export FIREDRILL_AWS_ADMIN_ACCESS_KEY_ID=" + env.AdminKeyID,
		"export FIREDRILL_AWS_ADMIN_SECRET_ACCESS_KEY=" + env.AdminSecret,
		"export FIREDRILL_AWS_RESPONDER_ACCESS_KEY_ID=" + env.ResponderKeyID,
		"export FIREDRILL_AWS_RESPONDER_SECRET_ACCESS_KEY=" + env.ResponderSecret,
		"export FIREDRILL_AWS_EVIDENCE_BUCKET=" + env.EvidenceBucket,
	}
}

// azureExports are what azidentity's environment credential and the ARM
// clients need; the endpoint and CA are firedrill's own variables because
// Azure SDKs take them as options, not from the environment.
func azureExports(endpoint, caPath string, env *demo.AzureEnv, scenario bool) []string {
	id, secret, who := env.AdminClientID, env.AdminSecret, "the demo administrator"
	if scenario {
		id, secret, who = env.ResponderClientID, env.ResponderSecret, "the responder (its calls are scored)"
	}
	return []string{
		"# Azure as " + who + ": Resource Manager and Entra ID at FIREDRILL_AZURE_ENDPOINT,",
		"# over TLS with the CA in FIREDRILL_AZURE_CA (clients that read SSL_CERT_FILE or",
		"# REQUESTS_CA_BUNDLE can be pointed at it)",
		"export FIREDRILL_AZURE_ENDPOINT=" + endpoint,
		"export FIREDRILL_AZURE_CA=" + caPath,
		"export AZURE_AUTHORITY_HOST=" + endpoint + "/",
		"export AZURE_TENANT_ID=" + env.Tenant,
		"export AZURE_SUBSCRIPTION_ID=" + env.Subscription,
		"export AZURE_CLIENT_ID=" + id,
		"export AZURE_CLIENT_SECRET=" + secret,
		"export FIREDRILL_AZURE_ADMIN_CLIENT_ID=" + env.AdminClientID,
		"export FIREDRILL_AZURE_ADMIN_CLIENT_SECRET=" + env.AdminSecret,
		"export FIREDRILL_AZURE_RESPONDER_CLIENT_ID=" + env.ResponderClientID,
		"export FIREDRILL_AZURE_RESPONDER_CLIENT_SECRET=" + env.ResponderSecret,
		"export FIREDRILL_AZURE_EVIDENCE_BUCKET=" + env.StorageAccount + "/" + env.EvidenceContainer,
	}
}

// gcpExports make Application Default Credentials use the simulator's token
// endpoint (through the responder service account's key file) and give
// static bearer tokens for curl.
func gcpExports(endpoint, keyPath string, env *demo.GCPEnv, scenario bool) []string {
	lines := []string{
		"# GCP: compute, logging, securitycenter and iam APIs at FIREDRILL_GCP_ENDPOINT",
		"# (pass it as the client endpoint); the key file is the responder service account's",
		"export FIREDRILL_GCP_ENDPOINT=" + endpoint,
		"export GOOGLE_APPLICATION_CREDENTIALS=" + keyPath,
		"export GOOGLE_CLOUD_PROJECT=" + env.Project,
		"export CLOUDSDK_CORE_PROJECT=" + env.Project,
		"export CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE=" + endpoint + "/compute/v1/",
		"export FIREDRILL_GCP_ZONE=" + env.Zone,
		"export FIREDRILL_GCP_TOKEN=" + env.AdminToken,
		"export FIREDRILL_GCP_RESPONDER=" + env.Responder,
		"export FIREDRILL_GCP_RESPONDER_TOKEN=" + env.ResponderToken,
		"export FIREDRILL_GCP_EVIDENCE_BUCKET=" + env.EvidenceBucket,
	}
	if scenario {
		lines[len(lines)-3] = "export FIREDRILL_GCP_TOKEN=" + env.ResponderToken // the responder's: scored
		lines = append(lines, "export FIREDRILL_GCP_ADMIN_TOKEN="+env.AdminToken)
	}
	return lines
}
