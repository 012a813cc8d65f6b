// Package azure implements the provider-neutral capabilities on the Azure
// SDK for Go: armcompute (VMs, disks, snapshots, scale-set VMs), armnetwork
// (NICs, NSGs), armauthorization (role assignments), armmonitor (Activity
// Log, metrics, metric alerts), armsecurity (Defender for Cloud alerts),
// and azcore's generic ARM pipeline for management locks, tags and the
// Blob service data plane (the SDK modules for those are not dependencies).
//
// The same code serves real subscriptions and the firedrill simulator; the
// differences are the endpoint (cloud configuration), the credentials (a
// client secret against the simulator's Entra ID, DefaultAzureCredential
// live) and the HTTP transport. Every wait goes through the injected
// providers.Sleeper: retries are done by a retry policy that sleeps on it
// (azcore's own retry policy sleeps on the wall clock and is switched off),
// and long-running operations are polled by hand instead of PollUntilDone.
package azure

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/monitor/armmonitor"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/security/armsecurity"

	"github.com/firedrill-ir/firedrill/cloudsim/simhttp"
	"github.com/firedrill-ir/firedrill/providers"
)

// Defaults, overridable with options.
const (
	// DefaultPollInterval is how often snapshots, Run Command and other
	// long-running work are polled.
	DefaultPollInterval = 10 * time.Second
	// DefaultMaxRetries is how many times a throttled or failed call is
	// retried.
	DefaultMaxRetries = 4
	// lroTimeout bounds ordinary long-running operations.
	lroTimeout = 30 * time.Minute
	// armAudience is the Resource Manager token audience.
	armAudience = "https://management.core.windows.net/"
	// storageScope is the Blob service token scope.
	storageScope = "https://storage.azure.com/.default"
	moduleName   = "firedrill/providers/azure"
	moduleVer    = "v0.1.0"
)

// Provider is the Azure implementation of providers.Provider for one
// subscription.
type Provider struct {
	target  providers.Target
	sub     string
	tenant  string
	sleeper providers.Sleeper
	poll    time.Duration
	log     *slog.Logger
	cred    azcore.TokenCredential
	aopts   *arm.ClientOptions
	blobURL func(account string) string

	vms      *armcompute.VirtualMachinesClient
	vmssVMs  *armcompute.VirtualMachineScaleSetVMsClient
	disks    *armcompute.DisksClient
	snaps    *armcompute.SnapshotsClient
	nics     *armnetwork.InterfacesClient
	nsgs     *armnetwork.SecurityGroupsClient
	rules    *armnetwork.SecurityRulesClient
	roles    *armauthorization.RoleAssignmentsClient
	activity *armmonitor.ActivityLogsClient
	metrics  *armmonitor.MetricsClient
	alerts   *armmonitor.MetricAlertsClient
	defender *armsecurity.AlertsClient
	arm      *arm.Client
	blob     runtime.Pipeline

	mu     sync.Mutex
	caller *providers.CallerIdentity
}

// What Azure can do, as the responder's domain interfaces. A managed
// identity's cached tokens cannot be revoked (Entra: "not possible to force
// a managed identity's token to be refreshed", cached about 24 h), so there
// is no SessionRevoker: the documented fallback, GrantRemover, deletes the
// identity's role assignments, which ARM checks on every call. Service
// principal secrets live in Microsoft Graph, not Resource Manager: no
// AccessKeyDisabler.
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
	_ providers.GrantRemover         = (*Provider)(nil)
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
	sleeper    providers.Sleeper
	poll       time.Duration
	log        *slog.Logger
	tenant     string
	maxRetries int
	blobURL    func(string) string
	cred       azcore.TokenCredential
}

// Option configures New.
type Option func(*options)

// WithSleeper sets the clock all waits go through (default: wall clock).
func WithSleeper(s providers.Sleeper) Option { return func(o *options) { o.sleeper = s } }

// WithPollInterval sets how often long-running work is polled.
func WithPollInterval(d time.Duration) Option { return func(o *options) { o.poll = d } }

// WithLogger logs every mutating step at Info level.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithTenant names the Entra ID tenant of static client-secret credentials
// (required with Target.Credentials).
func WithTenant(id string) Option { return func(o *options) { o.tenant = id } }

// WithMaxRetries sets how many times a throttled or failed call is retried.
func WithMaxRetries(n int) Option { return func(o *options) { o.maxRetries = n } }

// WithBlobEndpoint overrides how a storage account's Blob service URL is
// formed (default https://<account>.blob.core.windows.net, or path-style
// <endpoint>/<account> when the target has an endpoint override).
func WithBlobEndpoint(f func(account string) string) Option {
	return func(o *options) { o.blobURL = f }
}

// WithCredential replaces the credential (e.g. a managed identity when the
// responder runs inside Azure).
func WithCredential(c azcore.TokenCredential) Option { return func(o *options) { o.cred = c } }

// New builds a provider for target. Target.Account is the subscription id
// (required); Target.Region the default location. With static credentials
// (AccessKeyID = client id, SecretAccessKey = client secret, plus
// WithTenant) a client-secret credential is built against the target's
// endpoint; otherwise DefaultAzureCredential. New makes no network call.
func New(ctx context.Context, target providers.Target, opts ...Option) (*Provider, error) {
	if err := target.Validate(); err != nil {
		return nil, err
	}
	if target.Cloud != providers.CloudAzure {
		return nil, &providers.TargetError{Field: "Cloud", Problem: fmt.Sprintf("%q given to the Azure provider", target.Cloud)}
	}
	if target.Account == "" {
		return nil, &providers.TargetError{Field: "Account", Problem: "is empty; the Azure provider needs a subscription id"}
	}
	o := options{sleeper: providers.RealSleeper{}, poll: DefaultPollInterval, maxRetries: DefaultMaxRetries}
	for _, opt := range opts {
		opt(&o)
	}
	if o.poll <= 0 {
		return nil, fmt.Errorf("azure provider: poll interval must be positive, got %v", o.poll)
	}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	co := policy.ClientOptions{
		// azcore's retry policy sleeps on the wall clock; retries are done
		// by retryPolicy on the Sleeper instead.
		Retry:           policy.RetryOptions{MaxRetries: -1},
		PerCallPolicies: []policy.Policy{&retryPolicy{sleeper: o.sleeper, max: o.maxRetries}},
	}
	if target.Endpoint != "" {
		base := strings.TrimSuffix(target.Endpoint, "/")
		co.Cloud = cloud.Configuration{ActiveDirectoryAuthorityHost: base + "/",
			Services: map[cloud.ServiceName]cloud.ServiceConfiguration{cloud.ResourceManager: {Endpoint: base, Audience: armAudience}}}
	}
	if target.HTTPClient != nil {
		co.Transport = target.HTTPClient
	}
	cred := o.cred
	if cred == nil {
		var err error
		if c := target.Credentials; c != nil {
			if o.tenant == "" {
				return nil, &providers.TargetError{Field: "Credentials", Problem: "static Azure credentials need a tenant (azure.WithTenant)"}
			}
			cred, err = azidentity.NewClientSecretCredential(o.tenant, c.AccessKeyID, c.SecretAccessKey,
				&azidentity.ClientSecretCredentialOptions{ClientOptions: policy.ClientOptions{Cloud: co.Cloud, Transport: co.Transport},
					DisableInstanceDiscovery: target.Endpoint != ""})
		} else {
			cred, err = azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{
				ClientOptions: policy.ClientOptions{Cloud: co.Cloud, Transport: co.Transport}, TenantID: o.tenant})
		}
		if err != nil {
			return nil, fmt.Errorf("azure provider: building the credential: %w", err)
		}
	}
	cred = &clockCredential{inner: cred, sleeper: o.sleeper}
	aopts := &arm.ClientOptions{ClientOptions: co, DisableRPRegistration: target.Endpoint != ""}
	p := &Provider{target: target, sub: target.Account, tenant: o.tenant, sleeper: o.sleeper, poll: o.poll, log: o.log, cred: cred,
		aopts: aopts}
	p.blobURL = o.blobURL
	if p.blobURL == nil {
		if target.Endpoint != "" {
			base := strings.TrimSuffix(target.Endpoint, "/")
			p.blobURL = func(a string) string { return base + "/" + a }
		} else {
			p.blobURL = func(a string) string { return "https://" + a + ".blob.core.windows.net" }
		}
	}
	var err error
	build := func(f func() error) {
		if err == nil {
			err = f()
		}
	}
	build(func() (e error) { p.vms, e = armcompute.NewVirtualMachinesClient(p.sub, cred, aopts); return })
	build(func() (e error) {
		p.vmssVMs, e = armcompute.NewVirtualMachineScaleSetVMsClient(p.sub, cred, aopts)
		return
	})
	build(func() (e error) { p.disks, e = armcompute.NewDisksClient(p.sub, cred, aopts); return })
	build(func() (e error) { p.snaps, e = armcompute.NewSnapshotsClient(p.sub, cred, aopts); return })
	build(func() (e error) { p.nics, e = armnetwork.NewInterfacesClient(p.sub, cred, aopts); return })
	build(func() (e error) { p.nsgs, e = armnetwork.NewSecurityGroupsClient(p.sub, cred, aopts); return })
	build(func() (e error) { p.rules, e = armnetwork.NewSecurityRulesClient(p.sub, cred, aopts); return })
	build(func() (e error) { p.roles, e = armauthorization.NewRoleAssignmentsClient(p.sub, cred, aopts); return })
	build(func() (e error) { p.activity, e = armmonitor.NewActivityLogsClient(p.sub, cred, aopts); return })
	build(func() (e error) { p.metrics, e = armmonitor.NewMetricsClient(p.sub, cred, aopts); return })
	build(func() (e error) { p.alerts, e = armmonitor.NewMetricAlertsClient(p.sub, cred, aopts); return })
	build(func() (e error) { p.defender, e = armsecurity.NewAlertsClient(p.sub, cred, aopts); return })
	build(func() (e error) { p.arm, e = arm.NewClient(moduleName, moduleVer, cred, aopts); return })
	if err != nil {
		return nil, fmt.Errorf("azure provider: building SDK clients: %w", err)
	}
	p.blob = runtime.NewPipeline(moduleName, moduleVer,
		runtime.PipelineOptions{PerRetry: []policy.Policy{runtime.NewBearerTokenPolicy(cred, []string{storageScope}, nil)}}, &co)
	return p, nil
}

// SimHTTPClient returns an HTTP client for the simulator: it trusts the
// simulator's certificate (PEM) and, with a clock, charges each call's
// modelled latency on it (drill mode).
func SimHTTPClient(caPEM []byte, clock simhttp.Sleeper) (*http.Client, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("azure provider: the simulator CA is not a PEM certificate")
	}
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	var rt http.RoundTripper = base
	if clock != nil {
		rt = &simhttp.Transport{Base: base, Clock: clock}
	}
	return &http.Client{Transport: rt}, nil
}

// ARM returns what the provider's own SDK clients are built from — the
// subscription, the credential (refreshed on the provider's clock) and the
// ARM client options (endpoint, transport, retry policy on the Sleeper) —
// so code that needs a call the neutral interfaces deliberately do not
// offer (the responder's naive demonstration actions) reaches the same
// cloud the same way, never the simulator directly.
func (p *Provider) ARM() (subscription string, cred azcore.TokenCredential, opts *arm.ClientOptions) {
	o := *p.aopts
	return p.sub, p.cred, &o
}

// Cloud is "azure".
func (p *Provider) Cloud() string { return providers.CloudAzure }

// Target is the target the provider was built for.
func (p *Provider) Target() providers.Target { return p.target }

// tokenClaims are the access-token claims the provider reads.
type tokenClaims struct {
	OID   string `json:"oid"`
	AppID string `json:"appid"`
	TID   string `json:"tid"`
	Exp   int64  `json:"exp"`
	UPN   string `json:"upn"`
}

func parseClaims(tok string) (*tokenClaims, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, errors.New("the access token is not a JWT")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, fmt.Errorf("decoding the access token payload: %w", err)
	}
	var c tokenClaims
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("parsing the access token payload: %w", err)
	}
	return &c, nil
}

// callerIdentity reads who the provider acts as from its ARM token (one
// token request, no ARM call) and caches it.
func (p *Provider) callerIdentity(ctx context.Context) (*providers.CallerIdentity, error) {
	p.mu.Lock()
	c := p.caller
	p.mu.Unlock()
	if c != nil {
		cp := *c
		return &cp, nil
	}
	tok, err := p.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{armAudience + ".default"}})
	if err != nil {
		return nil, wrapErr("entra:GetToken", "", err)
	}
	cl, err := parseClaims(tok.Token)
	if err != nil {
		return nil, opErr("entra:GetToken", "", providers.ErrFailed, "", err.Error())
	}
	c = &providers.CallerIdentity{Account: p.sub, ARN: cl.OID, UserID: cl.AppID}
	p.mu.Lock()
	p.caller = c
	p.mu.Unlock()
	cp := *c
	return &cp, nil
}

// collector names the principal for evidence records; a failure to learn it
// must not lose the evidence.
func (p *Provider) collector(ctx context.Context) string {
	c, err := p.callerIdentity(ctx)
	if err != nil {
		p.log.Warn("could not identify the collecting principal", "error", err)
		return "unknown"
	}
	return c.ARN
}

// clockCredential refreshes tokens by the provider's clock. MSAL caches
// tokens by wall-clock time; on a virtual clock a drill can outlive a token
// while MSAL still thinks it fresh. When the token's exp claim (or its
// ExpiresOn) is within five minutes of the Sleeper's now, a fresh token is
// requested with a claims challenge, which bypasses MSAL's cache, as a real
// client does after a CAE challenge.
type clockCredential struct {
	inner   azcore.TokenCredential
	sleeper providers.Sleeper
	mu      sync.Mutex
	cache   map[string]azcore.AccessToken
}

func (c *clockCredential) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	key := strings.Join(opts.Scopes, " ")
	c.mu.Lock()
	tok, ok := c.cache[key]
	c.mu.Unlock()
	now := c.sleeper.Now()
	if ok && now.Add(5*time.Minute).Before(expiry(tok)) && opts.Claims == "" {
		return wallExpired(tok), nil
	}
	if ok && opts.Claims == "" {
		opts.Claims = fmt.Sprintf(`{"access_token":{"nbf":{"essential":true,"value":"%d"}}}`, now.Unix())
	}
	tok, err := c.inner.GetToken(ctx, opts)
	if err != nil {
		return tok, err
	}
	c.mu.Lock()
	if c.cache == nil {
		c.cache = map[string]azcore.AccessToken{}
	}
	c.cache[key] = tok
	c.mu.Unlock()
	return wallExpired(tok), nil
}

// wallExpired hands the token to azcore's bearer-token policy marked as
// expiring now (wall clock), so the policy asks this credential again on
// every request and the provider's clock, not the policy's wall-clock
// cache, decides when a token is stale. Cache hits here are cheap.
func wallExpired(tok azcore.AccessToken) azcore.AccessToken {
	tok.ExpiresOn, tok.RefreshOn = time.Now(), time.Time{}
	return tok
}

func expiry(tok azcore.AccessToken) time.Time {
	if cl, err := parseClaims(tok.Token); err == nil && cl.Exp > 0 {
		return time.Unix(cl.Exp, 0)
	}
	return tok.ExpiresOn
}

// retryPolicy retries throttled and failed calls, waiting on the Sleeper:
// the server's retry-after-ms / x-ms-retry-after-ms / Retry-After when
// given, else exponential backoff from 800 ms (azcore's defaults, without
// jitter, so drills stay deterministic). A server delay above a minute
// means give up, as azcore does.
type retryPolicy struct {
	sleeper providers.Sleeper
	max     int
}

func (r *retryPolicy) Do(req *policy.Request) (*http.Response, error) {
	for try := 0; ; try++ {
		if try > 0 {
			if err := req.RewindBody(); err != nil {
				return nil, fmt.Errorf("rewinding the request body for retry %d: %w", try, err)
			}
		}
		resp, err := req.Next()
		if try >= r.max || !retryable(req.Raw().Context(), resp, err) {
			return resp, err
		}
		d := retryAfter(resp)
		if d == 0 {
			d = min(800*time.Millisecond<<try, 60*time.Second)
		}
		if d > 60*time.Second {
			return resp, err
		}
		if resp != nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
		}
		if serr := r.sleeper.Sleep(req.Raw().Context(), d); serr != nil {
			return nil, fmt.Errorf("waiting %v before retry %d: %w", d, try+1, serr)
		}
	}
}

func retryable(ctx context.Context, resp *http.Response, err error) bool {
	if err != nil {
		return ctx.Err() == nil
	}
	switch resp.StatusCode {
	case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
		http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

func retryAfter(resp *http.Response) time.Duration {
	if resp == nil {
		return 0
	}
	for _, h := range []string{"retry-after-ms", "x-ms-retry-after-ms"} {
		if v := resp.Header.Get(h); v != "" {
			if ms, err := strconv.Atoi(v); err == nil && ms > 0 {
				return time.Duration(ms) * time.Millisecond
			}
		}
	}
	if v := resp.Header.Get("Retry-After"); v != "" {
		if s, err := strconv.Atoi(v); err == nil && s > 0 {
			return time.Duration(s) * time.Second
		}
		if t, err := http.ParseTime(v); err == nil {
			return time.Until(t)
		}
	}
	return 0
}

// waitLRO drives a poller to completion on the Sleeper (never
// PollUntilDone, whose waits are wall-clock time and at least a second).
func waitLRO[T any](ctx context.Context, p *Provider, poller *runtime.Poller[T], op, res string, timeout time.Duration) (T, error) {
	var zero T
	deadline := p.sleeper.Now().Add(timeout)
	for !poller.Done() {
		if _, err := poller.Poll(ctx); err != nil {
			return zero, wrapErr(op, res, err)
		}
		if poller.Done() {
			break
		}
		if !p.sleeper.Now().Before(deadline) {
			return zero, opErr(op, res, providers.ErrTimeout, "", fmt.Sprintf("not finished within %v", timeout))
		}
		d := min(p.poll, deadline.Sub(p.sleeper.Now()))
		if err := p.sleeper.Sleep(ctx, d); err != nil {
			return zero, fmt.Errorf("%s %s: waiting %v: %w", op, res, d, err)
		}
	}
	out, err := poller.Result(ctx)
	if err != nil {
		return zero, wrapErr(op, res, err)
	}
	return out, nil
}

// armDo sends a generic ARM request (locks, tags: their SDK modules are not
// dependencies) and decodes the JSON answer into out when non-nil.
func (p *Provider) armDo(ctx context.Context, op, method, path, apiVersion string, body, out any, ok ...int) error {
	req, err := runtime.NewRequest(ctx, method, runtime.JoinPaths(p.arm.Endpoint(), path))
	if err != nil {
		return opErr(op, path, providers.ErrInvalid, "", err.Error())
	}
	q := req.Raw().URL.Query()
	q.Set("api-version", apiVersion)
	req.Raw().URL.RawQuery = q.Encode()
	req.Raw().Header.Set("Accept", "application/json")
	if body != nil {
		if err := runtime.MarshalAsJSON(req, body); err != nil {
			return opErr(op, path, providers.ErrInvalid, "", err.Error())
		}
	}
	resp, err := p.arm.Pipeline().Do(req)
	if err != nil {
		return wrapErr(op, path, err)
	}
	if !runtime.HasStatusCode(resp, ok...) {
		return wrapErr(op, path, runtime.NewResponseError(resp))
	}
	if out != nil {
		if err := runtime.UnmarshalAsJSON(resp, out); err != nil {
			return opErr(op, path, providers.ErrFailed, "", "decoding the answer: "+err.Error())
		}
	}
	return nil
}

// vmRef is a parsed VM reference.
type vmRef struct{ id, rg, name string }

// parseVM accepts a VM resource id or "resourceGroup/name".
func (p *Provider) parseVM(op, id string) (vmRef, error) {
	if !strings.HasPrefix(id, "/") {
		rg, name, ok := strings.Cut(id, "/")
		if !ok || rg == "" || name == "" {
			return vmRef{}, opErr(op, id, providers.ErrInvalid, "", "expected a VM resource id or resourceGroup/name")
		}
		return vmRef{id: fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/virtualMachines/%s", p.sub, rg, name), rg: rg, name: name}, nil
	}
	r, err := arm.ParseResourceID(id)
	if err != nil || !strings.EqualFold(r.ResourceType.String(), "Microsoft.Compute/virtualMachines") {
		return vmRef{}, opErr(op, id, providers.ErrInvalid, "", "not a virtual machine resource id")
	}
	return vmRef{id: id, rg: r.ResourceGroupName, name: r.Name}, nil
}

func str(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func init() {
	providers.Register(providers.CloudAzure, func(ctx context.Context, t providers.Target, o providers.Options) (providers.Provider, error) {
		opts := []Option{WithSleeper(o.Sleeper), WithLogger(o.Log)}
		if t.Tenant != "" {
			opts = append(opts, WithTenant(t.Tenant))
		}
		return New(ctx, t, opts...)
	})
}
