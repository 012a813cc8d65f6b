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
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/firedrill-ir/firedrill/clock"
	"github.com/firedrill-ir/firedrill/cloudsim/awssim"
	"github.com/firedrill-ir/firedrill/cloudsim/demo"
	"github.com/firedrill-ir/firedrill/cloudsim/detect"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
)

// simServeOptions are the flags of 'firedrill sim serve'.
type simServeOptions struct {
	Cloud    string
	Addr     string
	Seed     uint64
	LogLevel string
	Out      io.Writer
	ErrOut   io.Writer
	// ready, if set, receives the bound address once the listener is up.
	ready func(addr string)
}

func newSimServeCmd() *cobra.Command {
	opts := &simServeOptions{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve a simulated cloud on a loopback port, in real time",
		Long: `Serve a simulated cloud with a seeded demo environment in real time.

For AWS, one listener answers every service (EC2, Auto Scaling, IAM, STS, S3,
CloudTrail, GuardDuty, SSM, CloudWatch) on its real wire protocol. The demo
environment has a VPC, an autoscaling group of instances with an instance role,
IAM users, buckets, and GuardDuty and CloudTrail on.

On start it prints shell 'export' lines for a demo administrator on stdout, then
logs each request on stderr. The same --seed always builds the same environment:
the same instance ids, access keys and secrets.`,
		Example: `  # serve AWS and point the AWS CLI at it
  firedrill sim serve --cloud aws > /tmp/sim.env &
  sleep 1; . /tmp/sim.env
  aws --endpoint-url "$AWS_ENDPOINT_URL" ec2 describe-instances
  aws --endpoint-url "$AWS_ENDPOINT_URL" s3 ls

  # another port and demo environment
  firedrill sim serve --cloud aws --addr 127.0.0.1:5000 --seed 42`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Out, opts.ErrOut = cmd.OutOrStdout(), cmd.ErrOrStderr()
			return runSimServe(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Cloud, "cloud", "aws", "cloud to simulate: aws")
	f.StringVar(&opts.Addr, "addr", "127.0.0.1:4566", "address to listen on (host:port; port 0 picks a free one)")
	f.Uint64Var(&opts.Seed, "seed", 1, "seed of the demo environment: ids, keys and jitter derive from it")
	f.StringVar(&opts.LogLevel, "log-level", "info", "request log level on stderr: debug, info, warn, error")
	return cmd
}

func runSimServe(ctx context.Context, opts *simServeOptions) error {
	if opts.Cloud != "aws" {
		return &usageError{msg: fmt.Sprintf("--cloud %q: only \"aws\" is simulated so far (azure and gcp are planned)", opts.Cloud)}
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(opts.LogLevel)); err != nil {
		return &usageError{msg: fmt.Sprintf("--log-level %q: expected debug, info, warn or error", opts.LogLevel)}
	}
	logger := slog.New(slog.NewTextHandler(opts.ErrOut, &slog.HandlerOptions{Level: level}))

	clk := clock.NewReal(opts.Seed)
	w := world.New(clk, opts.Seed)
	env, err := demo.SeedAWS(w, demo.Options{})
	if err != nil {
		return fmt.Errorf("seeding the demo environment: %w", err)
	}
	w.AddObserver(detect.NewGuardDuty(detect.DefaultGuardDutyConfig()))
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", opts.Addr, err)
	}
	endpoint := "http://" + ln.Addr().String()
	printExports(opts.Out, endpoint, env)
	logger.Info("simulated AWS ready", "endpoint", endpoint, "account", env.Account, "region", env.Region, "seed", opts.Seed)

	srv := &http.Server{Handler: awssim.New(w, awssim.WithLogger(logger)), ReadHeaderTimeout: 10 * time.Second}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go runControllers(ctx, clk, w, logger)
	go func() {
		<-ctx.Done()
		shutdown, done := context.WithTimeout(context.Background(), 5*time.Second)
		defer done()
		_ = srv.Shutdown(shutdown)
	}()
	if opts.ready != nil {
		opts.ready(ln.Addr().String())
	}
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving: %w", err)
	}
	logger.Info("simulated AWS stopped")
	return nil
}

// printExports writes the shell lines that point standard AWS clients at the
// simulator as the demo administrator.
func printExports(w io.Writer, endpoint string, env *demo.AWSEnv) {
	lines := []string{
		"# firedrill simulated AWS: source these lines, then use any AWS client",
		"# (AWS CLI v2 before 2.13 needs --endpoint-url \"$AWS_ENDPOINT_URL\").",
		"export AWS_ENDPOINT_URL=" + endpoint,
		"export AWS_ACCESS_KEY_ID=" + env.AdminKeyID,
		"export AWS_SECRET_ACCESS_KEY=" + env.AdminSecret,
		"export AWS_REGION=" + env.Region,
		"export AWS_DEFAULT_REGION=" + env.Region,
		"export AWS_EC2_METADATA_DISABLED=true",
	}
	fmt.Fprintln(w, strings.Join(lines, "\n"))
	if f, ok := w.(*os.File); ok {
		_ = f.Sync()
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
