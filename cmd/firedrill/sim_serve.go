package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/firedrill-ir/firedrill/clock"
	"github.com/firedrill-ir/firedrill/cloudsim/awssim"
	"github.com/firedrill-ir/firedrill/cloudsim/azuresim"
	"github.com/firedrill-ir/firedrill/cloudsim/demo"
	"github.com/firedrill-ir/firedrill/cloudsim/detect"
	"github.com/firedrill-ir/firedrill/cloudsim/fault"
	"github.com/firedrill-ir/firedrill/cloudsim/gcpsim"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
)

// simServeOptions are the flags of 'firedrill sim serve'.
type simServeOptions struct {
	Cloud    string
	Addr     string
	Seed     uint64
	LogLevel string
	StateDir string
	// Faults is a fault spec applied to every client's calls.
	Faults string
	faults *fault.Set
	Out    io.Writer
	ErrOut io.Writer
	// ready, if set, receives the bound addresses once every listener is up.
	ready func(addrs map[string]string)
}

// simClouds are the clouds 'sim serve' can run, in the order 'all' starts
// them (and assigns ports: --addr's port, then the next ones).
var simClouds = []string{"aws", "azure", "gcp"}

func newSimServeCmd() *cobra.Command {
	opts := &simServeOptions{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve simulated clouds on loopback ports, in real time",
		Long: `Serve a simulated cloud with a seeded demo environment in real time.

  aws    one plain-HTTP listener answers every service (EC2, Auto Scaling, IAM,
         STS, S3, CloudTrail, GuardDuty, SSM, CloudWatch) on its real wire
         protocol: a VPC, an autoscaling group of instances with an instance
         role, IAM users, buckets, GuardDuty and CloudTrail on.
  azure  Azure Resource Manager over TLS with an Entra ID token endpoint: a
         resource group, a VM scale set with managed identities and role
         assignments, NSGs, an evidence container, Defender for Cloud on. The
         CA certificate clients must trust is written to --state-dir.
  gcp    Compute Engine, Cloud Logging, Security Command Center and IAM over
         plain HTTP with a token endpoint: a managed instance group sharing a
         service account with a batch VM, firewalls, an evidence bucket. A
         service-account key file for Application Default Credentials is
         written to --state-dir.
  all    the three at once, on --addr's port and the next two.

On start it prints, on stdout, shell lines that point standard clients at the
simulators as a demo administrator, then logs each request on stderr. The same
--seed always builds the same environments: the same ids, keys and secrets.`,
		Example: `  # serve AWS and point the AWS CLI at it
  firedrill sim serve --cloud aws > /tmp/sim.env &
  sleep 1; . /tmp/sim.env
  aws --endpoint-url "$AWS_ENDPOINT_URL" ec2 describe-instances

  # all three clouds; Azure on :4567 (TLS), GCP on :4568
  firedrill sim serve --cloud all > /tmp/sim.env &
  sleep 1; . /tmp/sim.env
  curl -s -H "Authorization: Bearer $FIREDRILL_GCP_TOKEN" \
    "$FIREDRILL_GCP_ENDPOINT/compute/v1/projects/$GOOGLE_CLOUD_PROJECT/aggregated/instances"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Out, opts.ErrOut = cmd.OutOrStdout(), cmd.ErrOrStderr()
			return runSimServe(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Cloud, "cloud", "aws", "cloud to simulate: aws, azure, gcp or all")
	f.StringVar(&opts.Addr, "addr", "127.0.0.1:4566", "address to listen on (host:port; port 0 picks free ones); 'all' uses this port and the next two")
	f.Uint64Var(&opts.Seed, "seed", 1, "seed of the demo environments: ids, keys and jitter derive from it")
	f.StringVar(&opts.LogLevel, "log-level", "info", "request log level on stderr: debug, info, warn, error")
	f.StringVar(&opts.StateDir, "state-dir", "", "where to write the Azure CA certificate and the GCP key file (default: a new temporary directory)")
	f.StringVar(&opts.Faults, "faults", "", "answer like a cloud under load, e.g. throttle=20%,errors=5%,latency=10x (every client's calls unless actor=… is given)")
	return cmd
}

// simServer is one cloud's listener and what to print for its clients.
type simServer struct {
	cloud   string
	handler http.Handler
	ln      net.Listener
	exports []string
}

func runSimServe(ctx context.Context, opts *simServeOptions) error {
	clouds, err := simCloudList(opts.Cloud)
	if err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(opts.LogLevel)); err != nil {
		return &usageError{msg: fmt.Sprintf("--log-level %q: expected debug, info, warn or error", opts.LogLevel)}
	}
	host, port, err := splitAddr(opts.Addr)
	if err != nil {
		return err
	}
	opts.faults = &fault.Set{}
	if opts.Faults != "" {
		spec := opts.Faults
		if !strings.Contains(spec, "actor=") {
			spec = "actor=all," + spec // a served cloud's clients are not a drill's actors
		}
		rules, err := fault.ParseSpec(spec)
		if err != nil {
			return &usageError{msg: "--faults: " + err.Error()}
		}
		for _, r := range rules {
			if err := opts.faults.Add(r); err != nil {
				return &usageError{msg: "--faults: " + err.Error()}
			}
		}
	}
	logger := slog.New(slog.NewTextHandler(opts.ErrOut, &slog.HandlerOptions{Level: level}))
	clk := clock.NewReal(opts.Seed)
	w := world.New(clk, opts.Seed)

	var servers []*simServer
	defer func() {
		for _, s := range servers {
			_ = s.ln.Close()
		}
	}()
	for i, cloud := range clouds {
		p := port
		if p != 0 {
			p += i
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(p)))
		if err != nil {
			return fmt.Errorf("listening for %s on %s: %w", cloud, net.JoinHostPort(host, strconv.Itoa(p)), err)
		}
		s := &simServer{cloud: cloud, ln: ln}
		servers = append(servers, s)
		if err := setupSimCloud(s, w, opts, logger); err != nil {
			return fmt.Errorf("setting up simulated %s: %w", cloud, err)
		}
	}

	fmt.Fprintln(opts.Out, "# firedrill simulated clouds: source these lines, then use any client.")
	for _, s := range servers {
		fmt.Fprintln(opts.Out, strings.Join(s.exports, "\n"))
	}
	if f, ok := opts.Out.(*os.File); ok {
		_ = f.Sync()
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go runControllers(ctx, clk, w, logger)
	var wg sync.WaitGroup
	errs := make(chan error, len(servers))
	addrs := map[string]string{}
	for _, s := range servers {
		addrs[s.cloud] = s.ln.Addr().String()
		srv := &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}
		wg.Add(2)
		go func() {
			defer wg.Done()
			if err := srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errs <- fmt.Errorf("serving %s: %w", s.cloud, err)
				cancel()
			}
		}()
		go func() {
			defer wg.Done()
			<-ctx.Done()
			shutdown, done := context.WithTimeout(context.Background(), 5*time.Second)
			defer done()
			_ = srv.Shutdown(shutdown)
		}()
		logger.Info("simulated cloud ready", "cloud", s.cloud, "addr", s.ln.Addr().String(), "seed", opts.Seed)
	}
	if opts.ready != nil {
		opts.ready(addrs)
	}
	wg.Wait()
	servers = nil // closed by the servers' shutdown
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	logger.Info("simulated clouds stopped")
	return nil
}

func simCloudList(cloud string) ([]string, error) {
	if cloud == "all" {
		return simClouds, nil
	}
	for _, c := range simClouds {
		if c == cloud {
			return []string{c}, nil
		}
	}
	return nil, &usageError{msg: fmt.Sprintf("--cloud %q: expected aws, azure, gcp or all", cloud)}
}

func splitAddr(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, &usageError{msg: fmt.Sprintf("--addr %q: expected host:port: %v", addr, err)}
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65533 {
		return "", 0, &usageError{msg: fmt.Sprintf("--addr %q: port must be a number from 0 to 65533", addr)}
	}
	return host, port, nil
}

// setupSimCloud seeds one cloud's demo environment in w, registers its
// managed detector and builds its handler and client exports.
func setupSimCloud(s *simServer, w *world.World, opts *simServeOptions, logger *slog.Logger) error {
	switch s.cloud {
	case "aws":
		env, err := demo.SeedAWS(w, demo.Options{})
		if err != nil {
			return err
		}
		w.AddObserver(detect.NewGuardDuty(detect.DefaultGuardDutyConfig()))
		s.handler = awssim.New(w, awssim.WithLogger(logger.With("cloud", "aws")), awssim.WithFaults(opts.faults))
		s.exports = awsExports("http://"+s.ln.Addr().String(), env)
	case "azure":
		env, err := demo.SeedAzure(w, demo.AzureOptions{})
		if err != nil {
			return err
		}
		w.AddObserver(detect.NewDefender(detect.DefaultDefenderConfig()))
		cert, err := azuresim.NewCertificate()
		if err != nil {
			return err
		}
		caPath, err := writeState(opts, "azure-ca.pem", cert.CertPEM)
		if err != nil {
			return err
		}
		s.handler = azuresim.New(w, azuresim.WithLogger(logger.With("cloud", "azure")), azuresim.WithFaults(opts.faults))
		s.ln = cert.Listen(s.ln)
		s.exports = azureExports("https://"+s.ln.Addr().String(), caPath, env)
		az, err := azuresim.CLIExports(filepath.Join(opts.StateDir, "azure-cli"), azuresim.CLIConfig{Endpoint: "https://" + s.ln.Addr().String(),
			CAFile: caPath, Tenant: env.Tenant, Subscription: env.Subscription, SubscriptionName: "firedrill-demo", ClientID: env.AdminClientID, ClientSecret: env.AdminSecret})
		if err != nil {
			return err
		}
		s.exports = append(s.exports, az...)
	case "gcp":
		env, err := demo.SeedGCP(w, demo.GCPOptions{})
		if err != nil {
			return err
		}
		w.AddObserver(detect.NewSCC(detect.SCCConfig{}))
		srv := gcpsim.New(w, gcpsim.WithLogger(logger.With("cloud", "gcp")), gcpsim.WithFaults(opts.faults))
		endpoint := "http://" + s.ln.Addr().String()
		key, err := srv.KeyFileJSON(env.ResponderServiceAccount, endpoint)
		if err != nil {
			return err
		}
		keyPath, err := writeState(opts, "gcp-key.json", key)
		if err != nil {
			return err
		}
		cliDir := filepath.Join(opts.StateDir, "gcloud")
		if err := gcpsim.PrepareCLIConfig(cliDir, gcpsim.CLIConfig{Endpoint: endpoint, KeyFile: keyPath,
			Account: env.ResponderServiceAccount, Project: env.Project, Region: env.Region, Zone: env.Zone}); err != nil {
			return err
		}
		s.handler = srv
		s.exports = append(gcpExports(endpoint, keyPath, env), "export CLOUDSDK_CONFIG="+cliDir)
	}
	return nil
}

// writeState writes a client file (CA, key) with owner-only permissions.
func writeState(opts *simServeOptions, name string, data []byte) (string, error) {
	if opts.StateDir == "" {
		dir, err := os.MkdirTemp("", "firedrill-sim-")
		if err != nil {
			return "", fmt.Errorf("creating a state directory: %w", err)
		}
		opts.StateDir = dir
	}
	if err := os.MkdirAll(opts.StateDir, 0o700); err != nil {
		return "", fmt.Errorf("creating --state-dir %s: %w", opts.StateDir, err)
	}
	path := filepath.Join(opts.StateDir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	return path, nil
}

// awsExports point standard AWS clients at the simulator as the demo admin.
func awsExports(endpoint string, env *demo.AWSEnv) []string {
	return []string{
		"# AWS (AWS CLI v2 before 2.13 needs --endpoint-url \"$AWS_ENDPOINT_URL\")",
		"export AWS_ENDPOINT_URL=" + endpoint,
		"export AWS_ACCESS_KEY_ID=" + env.AdminKeyID,
		"export AWS_SECRET_ACCESS_KEY=" + env.AdminSecret,
		"export AWS_REGION=" + env.Region,
		"export AWS_DEFAULT_REGION=" + env.Region,
		"export AWS_EC2_METADATA_DISABLED=true",
	}
}

// azureExports are what azidentity's environment credential and the ARM
// clients need; the endpoint and CA are firedrill's own variables because
// Azure SDKs take them as options, not from the environment.
func azureExports(endpoint, caPath string, env *demo.AzureEnv) []string {
	return []string{
		"# Azure: Resource Manager and Entra ID at FIREDRILL_AZURE_ENDPOINT, over TLS with the CA in FIREDRILL_AZURE_CA",
		"# (clients that read SSL_CERT_FILE or REQUESTS_CA_BUNDLE can be pointed at it)",
		"export FIREDRILL_AZURE_ENDPOINT=" + endpoint,
		"export FIREDRILL_AZURE_CA=" + caPath,
		"export AZURE_AUTHORITY_HOST=" + endpoint + "/",
		"export AZURE_TENANT_ID=" + env.Tenant,
		"export AZURE_SUBSCRIPTION_ID=" + env.Subscription,
		"export AZURE_CLIENT_ID=" + env.AdminClientID,
		"export AZURE_CLIENT_SECRET=" + env.AdminSecret,
		"export FIREDRILL_AZURE_RESPONDER_CLIENT_ID=" + env.ResponderClientID,
		"export FIREDRILL_AZURE_RESPONDER_CLIENT_SECRET=" + env.ResponderSecret,
	}
}

// gcpExports make Application Default Credentials use the simulator's token
// endpoint (through the key file) and give a static bearer token for curl.
func gcpExports(endpoint, keyPath string, env *demo.GCPEnv) []string {
	return []string{
		"# GCP: compute, logging, securitycenter and iam APIs at FIREDRILL_GCP_ENDPOINT (pass it as the client endpoint)",
		"export FIREDRILL_GCP_ENDPOINT=" + endpoint,
		"export GOOGLE_APPLICATION_CREDENTIALS=" + keyPath,
		"export GOOGLE_CLOUD_PROJECT=" + env.Project,
		"export CLOUDSDK_CORE_PROJECT=" + env.Project,
		"export CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE=" + endpoint + "/compute/v1/",
		"export FIREDRILL_GCP_ZONE=" + env.Zone,
		"export FIREDRILL_GCP_TOKEN=" + env.AdminToken,
	}
}

// runControllers applies the world's scheduled changes (scale-in, state
// transitions, command completion) as they fall due, so that they happen on
// time even when no client is calling.
func runControllers(ctx context.Context, clk clock.Clock, w *world.World, logger *slog.Logger) {
	for {
		next, ok := w.NextDue()
		// Requests apply due changes themselves (world.Lock); this loop only
		// makes them happen on time when nobody is calling, so a one-second
		// cap is plenty.
		wait := time.Second
		if ok {
			wait = min(max(next.Sub(clk.Now()), 10*time.Millisecond), time.Second)
		}
		if err := clk.Sleep(ctx, wait); err != nil {
			return
		}
		w.Advance(clk.Now())
		logger.Debug("world advanced", "now", clk.Now().UTC().Format(time.RFC3339))
	}
}
