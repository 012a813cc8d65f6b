// Package gcp implements the provider-neutral capabilities on Google's
// official Go clients: Compute Engine (cloud.google.com/go/compute/apiv1)
// for compute and network, IAM (google.golang.org/api/iam/v1) for identity,
// Cloud Logging (cloud.google.com/go/logging/apiv2) for audit and Security
// Command Center v2 (cloud.google.com/go/securitycenter/apiv2) for
// findings.
//
// The same code serves real projects and the firedrill simulator; the only
// differences are the endpoint, the credentials and the HTTP transport in
// the Target. Live targets use Application Default Credentials.
//
// Two rules keep it correct in drill mode, where time is virtual:
//   - every wait (operations, snapshots, a VM stopping, log-read pacing)
//     goes through the injected providers.Sleeper, never op.Wait or a gax
//     backoff, which sleep on the wall clock;
//   - the clients' own retries are switched off and the provider retries
//     throttling (429 and 403 rateLimitExceeded, which the Go clients never
//     retry) and transient 5xx itself, again through the Sleeper.
//
// What GCP cannot do, and the fallbacks (see Capabilities):
//   - no run-command: Exec() is nil. Fallback: SSH through IAP/OS Login,
//     or an OS Config patch job, outside this provider; capture volatile
//     evidence before isolating.
//   - no session revoke per token: RevokeRoleSessions disables the service
//     account, which rejects every token of it at once, on every VM and
//     workload that runs as it (its blast radius is logged and available
//     from ServiceAccountUsers).
//   - no scale-in protection: ProtectFromScaling abandons the VM from its
//     managed instance group (any mode); deletion protection cannot be set
//     on a MIG member until it is abandoned.
//   - the VPC firewall is stateful: Isolate churns the external access
//     config to break established connections.
package gcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	compute "cloud.google.com/go/compute/apiv1"
	logging "cloud.google.com/go/logging/apiv2"
	securitycenter "cloud.google.com/go/securitycenter/apiv2"
	"github.com/googleapis/gax-go/v2"
	"github.com/googleapis/gax-go/v2/callctx"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
	iamv1 "google.golang.org/api/iam/v1"
	"google.golang.org/api/option"

	// The Logging client unpacks protoPayload Any values; without the
	// AuditLog type registered it fails on every audit entry.
	_ "google.golang.org/genproto/googleapis/cloud/audit"

	"github.com/firedrill-ir/firedrill/providers"
)

// Defaults for waits; all overridable with options.
const (
	// DefaultPollInterval is how often operations, snapshots and VM state
	// are polled.
	DefaultPollInterval = 2 * time.Second
	// DefaultLogInterval paces entries:list: Cloud Logging allows 60 reads
	// a minute per project.
	DefaultLogInterval = time.Second
	// DefaultMaxAttempts bounds the provider's own retries of throttled
	// and transient failures.
	DefaultMaxAttempts = 6
	// DefaultQuarantineTag is the network tag Isolate applies.
	DefaultQuarantineTag = "firedrill-quarantine"
)

// cloudPlatformScope is the OAuth scope used for ADC and key files.
const cloudPlatformScope = "https://www.googleapis.com/auth/cloud-platform"

// Provider is the GCP implementation of providers.Provider.
type Provider struct {
	target        providers.Target
	project       string
	sleeper       providers.Sleeper
	poll          time.Duration
	logInterval   time.Duration
	maxAttempts   int
	quarantineTag string
	log           *slog.Logger
	principal     string
	copts         []option.ClientOption

	instances  *compute.InstancesClient
	disks      *compute.DisksClient
	snapshots  *compute.SnapshotsClient
	firewalls  *compute.FirewallsClient
	migs       *compute.InstanceGroupManagersClient
	regionMigs *compute.RegionInstanceGroupManagersClient
	logs       *logging.Client
	scc        *securitycenter.Client
	iam        *iamv1.Service

	mu      sync.Mutex
	lastLog time.Time

	// bindCalls is set when the provider owns the transport (drill mode):
	// see ctxTransport.
	bindCalls bool
	callSeq   atomic.Uint64
	calls     sync.Map // call id -> context.Context
}

// callHeader carries a call id from p.call to ctxTransport.
const callHeader = "x-firedrill-call"

// ctxTransport repairs a bug of the generated REST clients: their
// paginated List methods (ListFindings, ListLogEntries, AggregatedList,
// ListManagedInstances, …) build the HTTP request without the caller's
// context, so a drill transport that waits on the virtual clock cannot find
// the calling actor (and cancellation does not reach those requests). The
// clients do copy headers from the context, so p.call tags each call with
// an id header and this transport restores the caller's context.
type ctxTransport struct {
	p    *Provider
	base http.RoundTripper
}

func (t *ctxTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	id := req.Header.Get(callHeader)
	if vs := req.Header[callHeader]; id == "" && len(vs) > 0 {
		id = vs[0]
	}
	if id == "" {
		return t.base.RoundTrip(req)
	}
	req = req.Clone(req.Context())
	req.Header.Del(callHeader)
	delete(req.Header, callHeader)
	if v, ok := t.p.calls.Load(id); ok && req.Context() == context.Background() {
		req = req.WithContext(v.(context.Context))
	}
	return t.base.RoundTrip(req)
}

// bind tags ctx with a call id ctxTransport resolves back to ctx.
func (p *Provider) bind(ctx context.Context) (context.Context, func()) {
	if !p.bindCalls {
		return ctx, func() {}
	}
	id := strconv.FormatUint(p.callSeq.Add(1), 10)
	p.calls.Store(id, ctx)
	return callctx.SetHeaders(ctx, callHeader, id), func() { p.calls.Delete(id) }
}

// What GCP can do, as the responder's domain interfaces. Service accounts
// are revoked by disabling them (every token at once, every user of the
// account). There is no first-party run-command, hence no CommandRunner or
// MemoryCapturer (suspend keeps memory, but not readably); no
// EvidenceStore yet (evidence objects on Cloud Storage need
// cloud.google.com/go/storage, which the module does not depend on;
// snapshots, the main evidence on GCP, stay in the project); no AlarmReader
// (Cloud Monitoring alert policies are not modelled: playbooks trigger on
// Security Command Center findings). MIG members are protected by
// abandoning them; isolation needs an access-config churn.
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
	_ providers.InstanceTerminator   = (*Provider)(nil)
	_ providers.NetworkRuleDeleter   = (*Provider)(nil)
	_ providers.AuditReader          = (*Provider)(nil)
	_ providers.FindingsReader       = (*Provider)(nil)
)

type options struct {
	sleeper       providers.Sleeper
	poll          time.Duration
	logInterval   time.Duration
	maxAttempts   int
	quarantineTag string
	log           *slog.Logger
	tokenSource   oauth2.TokenSource
	credsJSON     []byte
	principal     string
}

// Option configures New.
type Option func(*options)

// WithSleeper sets the clock all waits go through (default: wall clock).
func WithSleeper(s providers.Sleeper) Option { return func(o *options) { o.sleeper = s } }

// WithPollInterval sets how often long-running work is polled.
func WithPollInterval(d time.Duration) Option { return func(o *options) { o.poll = d } }

// WithLogInterval sets the minimum gap between entries:list calls.
func WithLogInterval(d time.Duration) Option { return func(o *options) { o.logInterval = d } }

// WithMaxAttempts sets the attempts per call for throttled or transient
// failures (default 6).
func WithMaxAttempts(n int) Option { return func(o *options) { o.maxAttempts = n } }

// WithQuarantineTag sets the network tag Isolate uses.
func WithQuarantineTag(tag string) Option { return func(o *options) { o.quarantineTag = tag } }

// WithLogger logs every mutating step at Info level.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithTokenSource authenticates with ts (e.g. a static simulator token).
func WithTokenSource(ts oauth2.TokenSource) Option { return func(o *options) { o.tokenSource = ts } }

// WithCredentialsJSON authenticates with a service-account key file; its
// token_uri is honoured, so a simulator key file works unchanged.
func WithCredentialsJSON(b []byte) Option { return func(o *options) { o.credsJSON = b } }

// WithPrincipal names the identity the provider acts as, for evidence
// records, when the credentials do not say (a static token).
func WithPrincipal(email string) Option { return func(o *options) { o.principal = email } }

// New builds a provider for target. Target.Account is the project id.
// Credentials, in order: WithTokenSource; WithCredentialsJSON;
// Target.Credentials (AccessKeyID = principal email, SecretAccessKey = an
// OAuth2 access token); otherwise Application Default Credentials. With
// Target.HTTPClient (drill mode) the provider wraps its transport in an
// oauth2 transport itself, because option.WithHTTPClient disables the
// clients' credential injection. New makes no network call except, for
// ADC, reading the credential file.
func New(ctx context.Context, target providers.Target, opts ...Option) (*Provider, error) {
	if err := target.Validate(); err != nil {
		return nil, err
	}
	if target.Cloud != providers.CloudGCP {
		return nil, &providers.TargetError{Field: "Cloud", Problem: fmt.Sprintf("%q given to the GCP provider", target.Cloud)}
	}
	if target.Account == "" {
		return nil, &providers.TargetError{Field: "Account", Problem: "is empty; the GCP provider needs the project id"}
	}
	o := options{sleeper: providers.RealSleeper{}, poll: DefaultPollInterval, logInterval: DefaultLogInterval,
		maxAttempts: DefaultMaxAttempts, quarantineTag: DefaultQuarantineTag}
	for _, opt := range opts {
		opt(&o)
	}
	if o.poll <= 0 {
		return nil, fmt.Errorf("gcp provider: poll interval must be positive, got %v", o.poll)
	}
	if o.maxAttempts < 1 {
		o.maxAttempts = 1
	}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	ts := o.tokenSource
	principal := o.principal
	switch {
	case ts != nil:
	case o.credsJSON != nil:
		// Only the credential types an operator hands a responder are
		// accepted: the file's own "type" is checked against them rather
		// than trusted (the reason the untyped loader is deprecated).
		var head struct {
			Type google.CredentialsType `json:"type"`
		}
		if err := json.Unmarshal(o.credsJSON, &head); err != nil {
			return nil, fmt.Errorf("gcp provider: reading credentials JSON: %w", err)
		}
		if head.Type != google.ServiceAccount && head.Type != google.AuthorizedUser {
			return nil, fmt.Errorf("gcp provider: credentials JSON of type %q: expected %q or %q", head.Type, google.ServiceAccount, google.AuthorizedUser)
		}
		creds, err := google.CredentialsFromJSONWithType(ctx, o.credsJSON, head.Type, cloudPlatformScope)
		if err != nil {
			return nil, fmt.Errorf("gcp provider: reading credentials JSON: %w", err)
		}
		ts = creds.TokenSource
		if principal == "" {
			principal = clientEmail(o.credsJSON)
		}
	case target.Credentials != nil:
		ts = oauth2.StaticTokenSource(&oauth2.Token{AccessToken: target.Credentials.SecretAccessKey, TokenType: "Bearer"})
		if principal == "" {
			principal = target.Credentials.AccessKeyID
		}
	case target.HTTPClient != nil:
		creds, err := google.FindDefaultCredentials(ctx, cloudPlatformScope)
		if err != nil {
			return nil, fmt.Errorf("gcp provider: Application Default Credentials: %w", err)
		}
		ts = creds.TokenSource
		if principal == "" {
			principal = clientEmail(creds.JSON)
		}
	default:
		if creds, err := google.FindDefaultCredentials(ctx, cloudPlatformScope); err == nil && principal == "" {
			principal = clientEmail(creds.JSON)
		}
	}
	var copts []option.ClientOption
	var transport *ctxTransport
	if target.Endpoint != "" {
		copts = append(copts, option.WithEndpoint(target.Endpoint))
	}
	switch {
	case target.HTTPClient != nil:
		base := target.HTTPClient.Transport
		if base == nil {
			base = http.DefaultTransport
		}
		ct := &ctxTransport{base: base}
		hc := &http.Client{Transport: &oauth2.Transport{Source: oauth2.ReuseTokenSource(nil, ts), Base: ct},
			Timeout: target.HTTPClient.Timeout}
		copts = append(copts, option.WithHTTPClient(hc))
		transport = ct
	case ts != nil:
		copts = append(copts, option.WithTokenSource(ts))
	}
	p := &Provider{target: target, project: target.Account, sleeper: o.sleeper, poll: o.poll, logInterval: o.logInterval,
		maxAttempts: o.maxAttempts, quarantineTag: o.quarantineTag, log: o.log, principal: principal, copts: copts}
	if transport != nil {
		transport.p = p
		p.bindCalls = true
	}
	var err error
	if p.instances, err = compute.NewInstancesRESTClient(ctx, copts...); err != nil {
		return nil, fmt.Errorf("gcp provider: instances client: %w", err)
	}
	if p.disks, err = compute.NewDisksRESTClient(ctx, copts...); err != nil {
		return nil, fmt.Errorf("gcp provider: disks client: %w", err)
	}
	if p.snapshots, err = compute.NewSnapshotsRESTClient(ctx, copts...); err != nil {
		return nil, fmt.Errorf("gcp provider: snapshots client: %w", err)
	}
	if p.firewalls, err = compute.NewFirewallsRESTClient(ctx, copts...); err != nil {
		return nil, fmt.Errorf("gcp provider: firewalls client: %w", err)
	}
	if p.migs, err = compute.NewInstanceGroupManagersRESTClient(ctx, copts...); err != nil {
		return nil, fmt.Errorf("gcp provider: instance group managers client: %w", err)
	}
	if p.regionMigs, err = compute.NewRegionInstanceGroupManagersRESTClient(ctx, copts...); err != nil {
		return nil, fmt.Errorf("gcp provider: regional instance group managers client: %w", err)
	}
	if p.logs, err = logging.NewRESTClient(ctx, copts...); err != nil {
		return nil, fmt.Errorf("gcp provider: logging client: %w", err)
	}
	if p.scc, err = securitycenter.NewRESTClient(ctx, copts...); err != nil {
		return nil, fmt.Errorf("gcp provider: security command center client: %w", err)
	}
	if p.iam, err = iamv1.NewService(ctx, copts...); err != nil {
		return nil, fmt.Errorf("gcp provider: IAM client: %w", err)
	}
	return p, nil
}

// clientEmail reads client_email from a credentials JSON, "" if absent.
func clientEmail(b []byte) string {
	var v struct {
		ClientEmail string `json:"client_email"`
	}
	if json.Unmarshal(b, &v) != nil {
		return ""
	}
	return v.ClientEmail
}

// Close releases the clients' connections.
func (p *Provider) Close() error {
	return errors.Join(p.instances.Close(), p.disks.Close(), p.snapshots.Close(), p.firewalls.Close(),
		p.migs.Close(), p.regionMigs.Close(), p.logs.Close(), p.scc.Close())
}

// ClientOptions returns the options the provider's own Google clients are
// built with (endpoint, credentials, transport), so code that needs a call
// the neutral interfaces deliberately do not offer (the responder's naive
// demonstration actions) reaches the same cloud the same way. Paginated
// List calls made with them lose the caller's context in drill mode (see
// ctxTransport); single-resource calls and operations are unaffected.
func (p *Provider) ClientOptions() []option.ClientOption {
	return append([]option.ClientOption(nil), p.copts...)
}

// Cloud is "gcp".
func (p *Provider) Cloud() string { return providers.CloudGCP }

// Target is the target the provider was built for.
func (p *Provider) Target() providers.Target { return p.target }

// noRetry switches a client call's own retries off: they sleep on the wall
// clock, and the provider retries through the Sleeper instead.
var noRetry = gax.WithRetry(func() gax.Retryer { return nil })

// call runs fn, retrying throttled and transient failures with exponential
// backoff (1 s, 2 s, 4 s, … capped at 30 s) on the Sleeper.
func (p *Provider) call(ctx context.Context, op, resource string, fn func(ctx context.Context) error) error {
	backoff := time.Second
	bctx, done := p.bind(ctx)
	defer done()
	for attempt := 1; ; attempt++ {
		err := fn(bctx)
		if err == nil {
			return nil
		}
		if attempt >= p.maxAttempts || !retryable(err) || ctx.Err() != nil {
			return wrapErr(op, resource, err)
		}
		p.log.Info("retrying GCP call", "op", op, "resource", resource, "attempt", attempt, "backoff", backoff, "error", err)
		if serr := p.sleeper.Sleep(ctx, backoff); serr != nil {
			return wrapErr(op, resource, errors.Join(err, serr))
		}
		backoff *= 2
		if backoff > 30*time.Second {
			backoff = 30 * time.Second
		}
	}
}

// collector names the principal for evidence records.
func (p *Provider) collector() string {
	if p.principal == "" {
		return "unknown"
	}
	return p.principal
}

// deadline turns a timeout into a Sleeper-time deadline; contexts never get
// virtual deadlines (net/http would read them as wall-clock time).
func (p *Provider) deadline(timeout time.Duration) time.Time { return p.sleeper.Now().Add(timeout) }

// sleepPoll waits one poll interval, or less if the deadline is nearer.
func (p *Provider) sleepPoll(ctx context.Context, deadline time.Time) error {
	d := p.poll
	if !deadline.IsZero() {
		if left := deadline.Sub(p.sleeper.Now()); left < d {
			d = left
		}
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
	providers.Register(providers.CloudGCP, func(ctx context.Context, t providers.Target, o providers.Options) (providers.Provider, error) {
		return New(ctx, t, WithSleeper(o.Sleeper), WithLogger(o.Log))
	})
}
