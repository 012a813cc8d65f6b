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
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/firedrill-ir/firedrill/clock"
	"github.com/firedrill-ir/firedrill/cloudsim/fault"
	"github.com/firedrill-ir/firedrill/cloudsim/feed"
	"github.com/firedrill-ir/firedrill/cloudsim/simcloud"
	_ "github.com/firedrill-ir/firedrill/cloudsim/simserve" // serves each cloud's demo environment
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/scenarios"
	"github.com/firedrill-ir/firedrill/scenarios/runner"
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
	// faultRules are --faults' rules, which a live scenario adds to its own.
	faultRules []fault.Rule
	// Scenario plays a scenario's attack live (an id or a YAML file).
	Scenario string
	// Speed is the live clock's speed (clock time per wall time).
	Speed float64
	// Webhooks receive every finding in its cloud's push envelope.
	Webhooks []string
	// AuditDir receives audit log files continuously.
	AuditDir string
	// Scorecard is where the scorecard JSON goes when the scenario ends.
	Scorecard string
	// InsecureBind allows a non-loopback --addr.
	InsecureBind bool
	Out          io.Writer
	ErrOut       io.Writer
	// ready, if set, receives the bound addresses once every listener is up.
	ready func(addrs map[string]string)
	// cloudSet says --cloud was given.
	cloudSet bool
}

// defaultSpeed is the live clock's default speed: an hour of attack in a
// minute.
const defaultSpeed = 60

// scorePath is the firedrill-only path every served cloud answers the
// running scenario's scorecard at.
const scorePath = "/_firedrill/scorecard"

// simClouds are the clouds 'sim serve' can run, in the order 'all' starts
// them (and assigns ports: --addr's port, then the next ones).
var simClouds = []string{"aws", "azure", "gcp"}

func newSimServeCmd() *cobra.Command {
	opts := &simServeOptions{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve simulated clouds in real time, optionally with an attack playing",
		Long: `Serve simulated clouds in real time on loopback ports, for any client.

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
  all    the three at once, on --addr's port and the next two (port 0: free
         ones, as the export lines say).

With --scenario, the scenario's own environments are seeded (its clouds, not
--cloud's) exactly as a drill seeds them, and its attack, background activity,
detectors and scale-in play on a clock running --speed times real time (1 to
3600, default 60: an hour of incident in a minute). firedrill's responder does
not run: yours does, with the responder credentials printed (the default ones
in the export lines; the administrator's are printed too). Findings appear
through each cloud's own APIs and are pushed to every --webhook in the cloud's
real envelope: an EventBridge event for GuardDuty, an Event Grid event for
Defender for Cloud, a Pub/Sub push message for Security Command Center. When
the scenario ends (or on SIGINT/SIGTERM), the attacker probes every access path
it holds, the scorecard is written to --scorecard and summarised on stderr, and
the server exits (status 3 when the response fails the scenario). 'firedrill
sim score' asks a running server for the scorecard so far.

On start it prints, on stdout, shell lines that point standard clients at the
simulators, then logs each request on stderr. The same --seed always builds the
same environments: the same ids, keys and secrets. It stops cleanly on SIGINT
and SIGTERM and removes the temporary directory it made. Run a built binary in
the background, not 'go run' (killing 'go run' leaves its child running).`,
		Example: `  # serve AWS and point the AWS CLI at it
  firedrill sim serve --cloud aws > /tmp/sim.env & pid=$!
  sleep 1; . /tmp/sim.env
  aws ec2 describe-instances
  kill $pid

  # play the cryptomining attack at 600x, push findings to a receiver, score
  firedrill sim serve --scenario aws-ec2-cryptomining --speed 600 \
    --webhook http://127.0.0.1:9000/events --audit-dir ./audit \
    --scorecard card.json > /tmp/sim.env & pid=$!
  sleep 1; . /tmp/sim.env
  python3 examples/aws_responder.py          # your responder
  firedrill sim score --endpoint "$AWS_ENDPOINT_URL"
  wait $pid                                  # exits when the scenario ends`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Out, opts.ErrOut = cmd.OutOrStdout(), cmd.ErrOrStderr()
			opts.cloudSet = cmd.Flags().Changed("cloud")
			return runSimServe(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Cloud, "cloud", "aws", "cloud: aws, azure, gcp or all (not with --scenario)")
	f.StringVar(&opts.Addr, "addr", "127.0.0.1:4566", "host:port; more clouds use the next ports")
	f.Uint64Var(&opts.Seed, "seed", 1, "seed of ids, keys and jitter: same seed, same environments")
	f.StringVar(&opts.LogLevel, "log-level", "info", "request log level on stderr: debug, info, warn, error")
	f.StringVar(&opts.StateDir, "state-dir", "", "where the Azure CA and GCP key file go (default: a temp dir, removed)")
	f.StringVar(&opts.Faults, "faults", "", "act like a cloud under load, e.g. throttle=20%,errors=5%,latency=10x")
	f.StringVar(&opts.Scenario, "scenario", "", "play this scenario live: a built-in id or a YAML file")
	f.Float64Var(&opts.Speed, "speed", defaultSpeed, "clock speed with --scenario: 1 (real time) to 3600")
	f.StringArrayVar(&opts.Webhooks, "webhook", nil, "POST each finding here in its cloud's envelope (repeatable)")
	f.StringVar(&opts.AuditDir, "audit-dir", "", "export audit logs continuously as files under DIR/<cloud>/")
	f.StringVar(&opts.Scorecard, "scorecard", "", "write the scorecard JSON here when the scenario ends")
	f.BoolVar(&opts.InsecureBind, "insecure-bind", false, "allow a non-loopback --addr (serves demo credentials to anyone)")
	return cmd
}

// simServer is one cloud's listener and what to print for its clients.
type simServer struct {
	cloud   string
	handler http.Handler
	ln      net.Listener
	exports []string
	url     string
	base    http.RoundTripper
	srv     *http.Server
	// done receives the server's end (nil when shut down).
	done chan error
}

// serve serves until shut down.
func (sv *simServer) serve() {
	err := sv.srv.Serve(sv.ln)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	sv.done <- err
}

// simServe is one run of 'sim serve'.
type simServe struct {
	opts    *simServeOptions
	logger  *slog.Logger
	servers []*simServer
	// listeners are bound before anything is seeded, by cloud.
	listeners map[string]net.Listener
	// tempDir is the state directory this run made (removed on exit).
	tempDir string
	// live is the scenario playing (nil without one); handlers read it
	// while it starts.
	live    atomic.Pointer[runner.Session]
	session *runner.Session
}

func runSimServe(ctx context.Context, opts *simServeOptions) (err error) {
	sc, clouds, err := checkSimServe(opts)
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
	if !isLoopbackHost(host) && !opts.InsecureBind {
		return &usageError{msg: fmt.Sprintf("--addr %q is not a loopback address: anyone who can connect gets the demo credentials; "+
			"add --insecure-bind to serve it anyway", opts.Addr)}
	}
	if err := parseServeFaults(opts); err != nil {
		return err
	}
	s := &simServe{opts: opts, listeners: map[string]net.Listener{},
		logger: slog.New(slog.NewTextHandler(opts.ErrOut, &slog.HandlerOptions{Level: level}))}
	if !isLoopbackHost(host) {
		s.logger.Warn("serving on a non-loopback address: the demo credentials are served to anyone who can connect", "addr", opts.Addr)
	}
	defer s.cleanup()
	for i, cloud := range clouds {
		p := port
		if p != 0 {
			p += i
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(p)))
		if err != nil {
			return fmt.Errorf("listening for %s on %s: %w", cloud, net.JoinHostPort(host, strconv.Itoa(p)), err)
		}
		s.listeners[cloud] = ln
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var hooks *feed.Webhooks
	if len(opts.Webhooks) > 0 {
		hooks = &feed.Webhooks{URLs: opts.Webhooks, Logger: s.logger.With("feed", "webhook")}
		defer func() {
			flush, done := context.WithTimeout(context.Background(), 10*time.Second)
			defer done()
			hooks.Close(flush)
		}()
	}
	var w *world.World
	var clk clock.Clock
	if sc == nil {
		clk = clock.NewReal(opts.Seed)
		w = world.New(clk, opts.Seed)
		for _, cloud := range clouds {
			if err := s.serveCloud(cloud, simcloud.ServeConfig{World: w}); err != nil {
				return err
			}
		}
		go runControllers(ctx, clk, w, s.logger)
	} else {
		lo := runner.LiveOptions{Speed: opts.Speed, Serve: s.serveLive}
		if hooks != nil {
			lo.OnPush = hooks.Push
		}
		s.session, err = runner.StartLive(ctx, sc, runner.Options{Seed: opts.Seed, Faults: opts.faultRules}, lo)
		if err != nil {
			return fmt.Errorf("playing %s live: %w", sc.ID, err)
		}
		s.live.Store(s.session)
		w, clk = s.session.World(), s.session.Clock()
	}
	if opts.AuditDir != "" {
		x := &feed.AuditExporter{Dir: opts.AuditDir, World: w, Now: clk.Now, Logger: s.logger.With("feed", "audit")}
		exported := make(chan struct{})
		go func() {
			defer close(exported)
			x.Run(ctx, time.Second)
		}()
		defer func() { cancel(); <-exported }()
	}
	s.printExports(sc)
	errs := s.start(ctx, cancel)
	addrs := map[string]string{}
	for _, sv := range s.servers {
		addrs[sv.cloud] = sv.ln.Addr().String()
		s.logger.Info("simulated cloud ready", "cloud", sv.cloud, "addr", sv.ln.Addr().String(), "seed", opts.Seed)
	}
	if opts.ready != nil {
		opts.ready(addrs)
	}
	if s.session == nil {
		<-ctx.Done()
	} else {
		select {
		case <-ctx.Done():
			s.logger.Info("stopping: ending the scenario early and checking containment")
		case <-s.session.Done():
		}
		s.session.Stop()
		defer func() {
			if ferr := s.finish(sc); err == nil {
				err = ferr
			}
		}()
	}
	cancel()
	if err := errs(); err != nil {
		return err
	}
	s.logger.Info("simulated clouds stopped")
	return nil
}

// checkSimServe validates the flags that need no listener and loads the
// scenario; the clouds are the scenario's or --cloud's.
func checkSimServe(opts *simServeOptions) (*scenarios.Scenario, []string, error) {
	if opts.Scenario == "" {
		for _, f := range []struct {
			set  bool
			name string
		}{{opts.Scorecard != "", "--scorecard"}, {opts.Speed != 0 && opts.Speed != defaultSpeed, "--speed"}} {
			if f.set {
				return nil, nil, &usageError{msg: f.name + " needs --scenario: there is no attack to time or score without one"}
			}
		}
		clouds, err := simCloudList(opts.Cloud)
		return nil, clouds, err
	}
	if opts.cloudSet {
		return nil, nil, &usageError{msg: "--cloud and --scenario: the scenario says which clouds to serve; drop --cloud"}
	}
	if opts.Speed < 1 || opts.Speed > 3600 {
		return nil, nil, &usageError{msg: fmt.Sprintf("--speed %g: expected a number from 1 (real time) to 3600 (an hour a second)", opts.Speed)}
	}
	sc, err := resolveScenario(opts.Scenario)
	if err != nil {
		return nil, nil, err
	}
	var clouds []string
	for _, e := range sc.Environments {
		clouds = append(clouds, e.Cloud)
	}
	return sc, clouds, nil
}

func parseServeFaults(opts *simServeOptions) error {
	opts.faults = &fault.Set{}
	if opts.Faults == "" {
		return nil
	}
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
	opts.faultRules = rules
	return nil
}

// isLoopbackHost says whether host only accepts local connections.
func isLoopbackHost(host string) bool { return isLoopback("http://" + net.JoinHostPort(host, "0")) }

// serveLive serves one cloud a live scenario seeded.
func (s *simServe) serveLive(c runner.LiveCloud) (string, http.RoundTripper, error) {
	if err := s.serveCloud(c.Cloud, simcloud.ServeConfig{World: c.World, Env: c.Env, Faults: c.Faults}); err != nil {
		return "", nil, err
	}
	sv := s.servers[len(s.servers)-1]
	return sv.url, sv.base, nil
}

// serveCloud builds one cloud's front end on its listener through the
// cloud's driver (seeding its demo environment when cfg has none).
func (s *simServe) serveCloud(cloud string, cfg simcloud.ServeConfig) error {
	drv, ok := simcloud.Get(cloud)
	if !ok || drv.Serve == nil {
		return fmt.Errorf("no simulator serves %s", cloud)
	}
	cfg.Listener, cfg.Logger, cfg.WriteFile = s.listeners[cloud], s.logger, s.writeState
	if cfg.Faults == nil {
		cfg.Faults = s.opts.faults
	}
	served, err := drv.Serve(cfg)
	if err != nil {
		return fmt.Errorf("setting up simulated %s: %w", cloud, err)
	}
	h := served.Handler
	if cfg.Env != nil {
		h = s.withScore(h)
	}
	sv := &simServer{cloud: cloud, handler: h, ln: served.Listener, exports: served.Exports, url: served.URL, base: served.Base}
	s.servers = append(s.servers, sv)
	s.listeners[cloud] = served.Listener
	sv.srv = &http.Server{Handler: sv.handler, ReadHeaderTimeout: 10 * time.Second}
	sv.done = make(chan error, 1)
	go sv.serve()
	return nil
}

// withScore answers the scorecard so far at scorePath, everything else
// with the cloud's front end; every answer's Date header is the simulated
// clouds' time, as a cloud's is its own (a responder that computes a
// cut-off, such as a session revocation's, reads it there).
func (s *simServe) withScore(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		session := s.live.Load()
		if session != nil {
			w.Header().Set("Date", session.Clock().Now().UTC().Format(http.TimeFormat))
		}
		if r.URL.Path == clockPath && session != nil {
			writeLiveClock(w, session.Clock().Now(), session.Clock().Speed())
			return
		}
		if r.URL.Path != scorePath {
			h.ServeHTTP(w, r)
			return
		}
		if session == nil {
			http.Error(w, "the scenario is still starting", http.StatusServiceUnavailable)
			return
		}
		js, err := session.Scorecard().JSON()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(js)
	})
}

// printExports prints the client lines (and in live mode what plays).
func (s *simServe) printExports(sc *scenarios.Scenario) {
	out := s.opts.Out
	fmt.Fprintln(out, "# firedrill simulated clouds: source these lines, then use any client.")
	if sc != nil {
		wall := time.Duration(float64(sc.Duration) / s.opts.Speed).Round(time.Second)
		fmt.Fprintf(out, "# Scenario %s plays %s of incident at %gx: about %s of wall time.\n", sc.ID, sc.Duration, s.opts.Speed, wall)
		fmt.Fprintln(out, "# Calls with the responder credentials below are scored; 'firedrill sim score' shows the score so far.")
		fmt.Fprintln(out, "export FIREDRILL_SCORE_ENDPOINT="+s.servers[0].url)
	}
	for _, sv := range s.servers {
		fmt.Fprintln(out, strings.Join(sv.exports, "\n"))
	}
	if f, ok := out.(*os.File); ok {
		_ = f.Sync()
	}
}

// start waits for the servers to end once ctx is done; the function it
// returns waits for them and reports the first serving error.
func (s *simServe) start(ctx context.Context, cancel context.CancelFunc) func() error {
	var wg sync.WaitGroup
	errs := make(chan error, len(s.servers))
	for _, sv := range s.servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case err := <-sv.done:
				if err != nil {
					errs <- fmt.Errorf("serving %s: %w", sv.cloud, err)
					cancel()
				}
				return
			case <-ctx.Done():
			}
			shutdown, done := context.WithTimeout(context.Background(), 5*time.Second)
			defer done()
			_ = sv.srv.Shutdown(shutdown)
			<-sv.done
		}()
	}
	return func() error {
		wg.Wait()
		close(errs)
		return <-errs
	}
}

// finish writes the scorecard of the scenario that ran and summarises it.
func (s *simServe) finish(sc *scenarios.Scenario) error {
	if err := s.session.Err(); err != nil {
		return fmt.Errorf("playing %s live: %w", sc.ID, err)
	}
	card := s.session.Scorecard()
	if s.opts.Scorecard != "" {
		js, err := card.JSON()
		if err != nil {
			return err
		}
		if err := os.WriteFile(s.opts.Scorecard, js, 0o644); err != nil {
			return fmt.Errorf("--scorecard: %w", err)
		}
		s.logger.Info("scorecard written", "file", s.opts.Scorecard)
	}
	if err := card.Table(s.opts.ErrOut); err != nil {
		return err
	}
	if !card.Pass {
		return &exitError{code: exitDrillFails, msg: fmt.Sprintf("scenario %s (seed %d) failed: %s (%s)", sc.ID, s.opts.Seed,
			strings.ReplaceAll(card.Verdict, "_", " "), strings.Join(card.ReasonCodes, ", "))}
	}
	return nil
}

// cleanup closes listeners never served and removes the temporary state
// directory this run made.
func (s *simServe) cleanup() {
	for cloud, ln := range s.listeners {
		if !slices.ContainsFunc(s.servers, func(sv *simServer) bool { return sv.cloud == cloud }) {
			_ = ln.Close()
		}
	}
	if s.tempDir != "" {
		if err := os.RemoveAll(s.tempDir); err != nil {
			s.logger.Warn("removing the state directory", "dir", s.tempDir, "err", err)
		}
	}
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

// writeState writes a client file (CA, key) with owner-only permissions,
// in --state-dir or a temporary directory removed on exit.
func (s *simServe) writeState(name string, data []byte) (string, error) {
	if s.opts.StateDir == "" && s.tempDir == "" {
		dir, err := os.MkdirTemp("", "firedrill-sim-")
		if err != nil {
			return "", fmt.Errorf("creating a state directory: %w", err)
		}
		s.tempDir = dir
	}
	dir := s.opts.StateDir
	if dir == "" {
		dir = s.tempDir
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("creating --state-dir %s: %w", dir, err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	return path, nil
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
