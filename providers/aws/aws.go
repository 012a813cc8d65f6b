// Package aws implements the provider-neutral capabilities on
// aws-sdk-go-v2: EC2 and Auto Scaling for compute and network, IAM and STS
// for identity, CloudTrail for audit, GuardDuty for findings, CloudWatch
// for alarms, SSM for run-command and S3 for evidence storage.
//
// The same code serves real accounts and the firedrill simulator; the only
// differences are the endpoint, the credentials and the HTTP transport in the
// Target. Every wait (snapshot completion, command completion, CloudTrail
// pacing) goes through the injected providers.Sleeper, never an SDK waiter,
// so drills run it on virtual time.
package aws

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/guardduty"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/firedrill-ir/firedrill/internal/reqbody"
	"github.com/firedrill-ir/firedrill/providers"
)

// Defaults for waits; all overridable with options.
const (
	// DefaultPollInterval is how often snapshot and command status is polled.
	DefaultPollInterval = 15 * time.Second
	// DefaultLookupInterval paces CloudTrail LookupEvents: AWS allows two
	// calls per second per account and region.
	DefaultLookupInterval = 500 * time.Millisecond
)

// Provider is the AWS implementation of providers.Provider.
type Provider struct {
	target         providers.Target
	cfg            awssdk.Config
	sleeper        providers.Sleeper
	poll           time.Duration
	lookupInterval time.Duration
	log            *slog.Logger

	ec2 *ec2.Client
	asg *autoscaling.Client
	iam *iam.Client
	sts *sts.Client
	ct  *cloudtrail.Client
	cw  *cloudwatch.Client
	gd  *guardduty.Client
	ssm *ssm.Client
	s3  *s3.Client

	mu         sync.Mutex
	caller     *providers.CallerIdentity
	lastLookup time.Time
}

// What AWS can do, as the responder's domain interfaces.
var (
	_ providers.Provider             = (*Provider)(nil)
	_ providers.InstanceDescriber    = (*Provider)(nil)
	_ providers.DiskSnapshotter      = (*Provider)(nil)
	_ providers.TerminationProtector = (*Provider)(nil)
	_ providers.ScalingProtector     = (*Provider)(nil)
	_ providers.InstanceStopper      = (*Provider)(nil)
	_ providers.Tagger               = (*Provider)(nil)
	_ providers.NetworkIsolator      = (*Provider)(nil)
	_ providers.NaiveIsolator        = (*Provider)(nil)
	_ providers.CallerIdentifier     = (*Provider)(nil)
	_ providers.IdentityDetacher     = (*Provider)(nil)
	_ providers.NaiveIdentityRemover = (*Provider)(nil)
	_ providers.SessionRevoker       = (*Provider)(nil)
	_ providers.AccessKeyDisabler    = (*Provider)(nil)
	_ providers.AccessKeyDescriber   = (*Provider)(nil)
	_ providers.AccessKeyDeleter     = (*Provider)(nil)
	_ providers.InstanceTerminator   = (*Provider)(nil)
	_ providers.NetworkRuleDeleter   = (*Provider)(nil)
	_ providers.AuditReader          = (*Provider)(nil)
	_ providers.FindingsReader       = (*Provider)(nil)
	_ providers.AlarmReader          = (*Provider)(nil)
	_ providers.CommandRunner        = (*Provider)(nil)
	_ providers.MemoryCapturer       = (*Provider)(nil)
	_ providers.EvidenceStore        = (*Provider)(nil)
)

type options struct {
	sleeper        providers.Sleeper
	poll           time.Duration
	lookupInterval time.Duration
	log            *slog.Logger
	backoff        retry.BackoffDelayer
	maxAttempts    int
	noRetryQuota   bool
}

// Option configures New.
type Option func(*options)

// WithSleeper sets the clock all waits go through (default: wall clock).
func WithSleeper(s providers.Sleeper) Option { return func(o *options) { o.sleeper = s } }

// WithPollInterval sets how often long-running work is polled.
func WithPollInterval(d time.Duration) Option { return func(o *options) { o.poll = d } }

// WithLookupInterval sets the minimum gap between CloudTrail LookupEvents
// calls (default 500 ms, AWS's 2 TPS limit).
func WithLookupInterval(d time.Duration) Option { return func(o *options) { o.lookupInterval = d } }

// WithLogger logs every mutating step at Info level.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithRetryBackoff replaces the SDK's retry backoff. The drill runner passes
// a zero backoff and charges waiting on its virtual clock itself, because
// the SDK would otherwise sleep in wall-clock time.
func WithRetryBackoff(f func(attempt int, err error) (time.Duration, error)) Option {
	return func(o *options) { o.backoff = retry.BackoffDelayerFunc(f) }
}

// WithMaxAttempts sets the SDK's attempts per call (default 3).
func WithMaxAttempts(n int) Option { return func(o *options) { o.maxAttempts = n } }

// WithoutRetryQuota disables the SDK's client-side retry token bucket, so a
// long chaos drill with many throttles does not fail with "retry quota
// exceeded" once the bucket drains.
func WithoutRetryQuota() Option { return func(o *options) { o.noRetryQuota = true } }

// New builds a provider for target. With static credentials the SDK
// configuration is built directly (no shared files, no instance metadata);
// otherwise the default credential chain is loaded, with the target's
// profile if any. New makes no network call.
func New(ctx context.Context, target providers.Target, opts ...Option) (*Provider, error) {
	if err := target.Validate(); err != nil {
		return nil, err
	}
	if target.Cloud != providers.CloudAWS {
		return nil, &providers.TargetError{Field: "Cloud", Problem: fmt.Sprintf("%q given to the AWS provider", target.Cloud)}
	}
	o := options{sleeper: providers.RealSleeper{}, poll: DefaultPollInterval, lookupInterval: DefaultLookupInterval}
	for _, opt := range opts {
		opt(&o)
	}
	if o.poll <= 0 {
		return nil, fmt.Errorf("aws provider: poll interval must be positive, got %v", o.poll)
	}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	retryer := func() awssdk.Retryer {
		return retry.NewStandard(func(so *retry.StandardOptions) {
			if o.maxAttempts > 0 {
				so.MaxAttempts = o.maxAttempts
			}
			if o.backoff != nil {
				so.Backoff = o.backoff
			}
			if o.noRetryQuota {
				so.RateLimiter = ratelimit.None
			}
		})
	}

	var cfg awssdk.Config
	if c := target.Credentials; c != nil {
		cfg = awssdk.Config{
			Region:                     target.Region,
			Credentials:                credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken),
			RequestChecksumCalculation: awssdk.RequestChecksumCalculationWhenSupported,
			ResponseChecksumValidation: awssdk.ResponseChecksumValidationWhenSupported,
			Retryer:                    retryer,
		}
	} else {
		loadOpts := []func(*config.LoadOptions) error{config.WithRegion(target.Region), config.WithRetryer(retryer)}
		if target.Profile != "" {
			loadOpts = append(loadOpts, config.WithSharedConfigProfile(target.Profile))
		}
		var err error
		cfg, err = config.LoadDefaultConfig(ctx, loadOpts...)
		if err != nil {
			return nil, fmt.Errorf("aws provider: loading default config (profile %q): %w", target.Profile, err)
		}
	}
	if target.Endpoint != "" {
		cfg.BaseEndpoint = awssdk.String(target.Endpoint)
	}
	if target.HTTPClient != nil {
		cfg.HTTPClient = target.HTTPClient
	} else {
		cfg.HTTPClient = bufferedClient(cfg.HTTPClient)
	}

	p := &Provider{
		target: target, cfg: cfg, sleeper: o.sleeper, poll: o.poll, lookupInterval: o.lookupInterval, log: o.log,
		ec2: ec2.NewFromConfig(cfg),
		asg: autoscaling.NewFromConfig(cfg),
		iam: iam.NewFromConfig(cfg),
		sts: sts.NewFromConfig(cfg),
		ct:  cloudtrail.NewFromConfig(cfg),
		cw:  cloudwatch.NewFromConfig(cfg),
		gd:  guardduty.NewFromConfig(cfg),
		ssm: ssm.NewFromConfig(cfg),
		// Path-style addressing: virtual-host style breaks on custom
		// endpoints (bucket.localhost does not resolve) and on bucket names
		// with dots; real S3 serves both.
		s3: s3.NewFromConfig(cfg, func(so *s3.Options) { so.UsePathStyle = true }),
	}
	return p, nil
}

// Config returns the SDK configuration the provider uses, for callers that
// need a service the neutral interfaces do not cover.
func (p *Provider) Config() awssdk.Config { return p.cfg }

// Cloud is "aws".
func (p *Provider) Cloud() string { return providers.CloudAWS }

// Target is the target the provider was built for.
func (p *Provider) Target() providers.Target { return p.target }

// Verify checks that the credentials work and, when the target names an
// account, that they belong to it: acting on the wrong account is the worst
// mistake a live responder can make.
func (p *Provider) Verify(ctx context.Context) error {
	c, err := p.callerIdentity(ctx)
	if err != nil {
		return err
	}
	if p.target.Account != "" && c.Account != p.target.Account {
		return &providers.TargetError{Field: "Account",
			Problem: fmt.Sprintf("credentials belong to account %s (%s), not %s", c.Account, c.ARN, p.target.Account)}
	}
	return nil
}

// callerIdentity asks STS once and caches the answer; evidence records name
// their collector with it.
func (p *Provider) callerIdentity(ctx context.Context) (*providers.CallerIdentity, error) {
	p.mu.Lock()
	c := p.caller
	p.mu.Unlock()
	if c != nil {
		cp := *c
		return &cp, nil
	}
	out, err := p.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return nil, wrapErr("sts:GetCallerIdentity", "", err)
	}
	c = &providers.CallerIdentity{Account: awssdk.ToString(out.Account), ARN: awssdk.ToString(out.Arn), UserID: awssdk.ToString(out.UserId)}
	p.mu.Lock()
	p.caller = c
	p.mu.Unlock()
	cp := *c
	return &cp, nil
}

// collector names the principal for evidence records; a failure to learn it
// must not lose the evidence, so it falls back to "unknown".
func (p *Provider) collector(ctx context.Context) string {
	c, err := p.callerIdentity(ctx)
	if err != nil {
		p.log.Warn("could not identify the collecting principal", "error", err)
		return "unknown"
	}
	return c.ARN
}

// deadline turns a timeout into a Sleeper-time deadline; contexts never get
// virtual deadlines (net/http would read them as wall-clock time).
func (p *Provider) deadline(timeout time.Duration) time.Time {
	return p.sleeper.Now().Add(timeout)
}

// sleepPoll waits one poll interval, or less if the deadline is nearer.
func (p *Provider) sleepPoll(ctx context.Context, deadline time.Time) error {
	d := p.poll
	if left := deadline.Sub(p.sleeper.Now()); left < d {
		d = left
	}
	if d <= 0 {
		return nil
	}
	if err := p.sleeper.Sleep(ctx, d); err != nil {
		return fmt.Errorf("waiting %v: %w", d, err)
	}
	return nil
}

func init() {
	providers.Register(providers.CloudAWS, func(ctx context.Context, t providers.Target, o providers.Options) (providers.Provider, error) {
		opts := []Option{WithSleeper(o.Sleeper), WithLogger(o.Log)}
		if o.Drill {
			opts = append(opts, WithoutRetryQuota(), WithRetryBackoff(func(int, error) (time.Duration, error) { return 0, nil }))
		}
		return New(ctx, t, opts...)
	})
}

// bufferedClient sends request bodies from memory (see reqbody): the SDK
// closes a request body as soon as the response headers arrive, and a
// response that overtakes its request then loses its connection mid-read
// (aws/aws-sdk-go-v2#1825). It keeps the transport the configuration
// carries (a custom CA bundle, a proxy) or the SDK's default one.
func bufferedClient(hc awssdk.HTTPClient) awssdk.HTTPClient {
	switch c := hc.(type) {
	case nil:
		return &http.Client{Transport: reqbody.Buffered(awshttp.NewBuildableClient().GetTransport(), 0)}
	case *awshttp.BuildableClient:
		return &http.Client{Transport: reqbody.Buffered(c.GetTransport(), 0), Timeout: c.GetTimeout()}
	case *http.Client:
		cp := *c
		cp.Transport = reqbody.Buffered(c.Transport, 0)
		return &cp
	default:
		return hc
	}
}
