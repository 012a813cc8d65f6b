// Package azuresimtest starts the simulated Azure on a loopback TLS
// listener for tests, seeded with the Azure demo environment, and hands out
// azcore client options and credentials for its principals.
package azuresimtest

import (
	"context"
	"encoding/pem"
	"github.com/firedrill-ir/firedrill/clock"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/firedrill-ir/firedrill/cloudsim/azuresim"
	"github.com/firedrill-ir/firedrill/cloudsim/demo"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/azureworld"
)

// ManualClock is a clock tests move by hand (see clock.Manual).
type ManualClock = clock.Manual

// Start is the instant every test world begins at.
var Start = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

// Env is a running simulator with the demo environment.
type Env struct {
	Clock  *ManualClock
	World  *world.World
	Server *azuresim.Server
	URL    string
	Demo   *demo.AzureEnv
	// HTTPClient trusts the simulator's certificate.
	HTTPClient *http.Client
	// CAPEM is the simulator's certificate, for clients run as processes.
	CAPEM []byte
}

// New starts a simulator with seed 1 and the Azure demo environment
// (without a scheduled scale-in unless opts asks for one).
func New(t testing.TB, opts demo.AzureOptions, srvOpts ...azuresim.Option) *Env {
	t.Helper()
	clk := clock.NewManual(Start)
	w := world.New(clk, 1)
	if opts.ScaleInAfter == 0 {
		opts.ScaleInAfter = -1
	}
	env, err := demo.SeedAzure(w, opts)
	if err != nil {
		t.Fatalf("seeding the Azure demo: %v", err)
	}
	srv := azuresim.New(w, srvOpts...)
	hs := httptest.NewTLSServer(srv)
	t.Cleanup(hs.Close)
	return &Env{Clock: clk, World: w, Server: srv, URL: hs.URL, Demo: env, HTTPClient: hs.Client(),
		CAPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: hs.Certificate().Raw})}
}

// Cloud is the cloud configuration that points azcore at the simulator.
func (e *Env) Cloud() cloud.Configuration {
	return cloud.Configuration{ActiveDirectoryAuthorityHost: e.URL + "/",
		Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
			cloud.ResourceManager: {Endpoint: e.URL, Audience: "https://management.core.windows.net/"}}}
}

// ClientOptions are ARM client options against the simulator with a fast
// retry policy.
func (e *Env) ClientOptions() *arm.ClientOptions {
	return &arm.ClientOptions{ClientOptions: policy.ClientOptions{Cloud: e.Cloud(), Transport: e.HTTPClient,
		Retry: policy.RetryOptions{MaxRetries: 3, RetryDelay: time.Millisecond, MaxRetryDelay: 2 * time.Second}},
		DisableRPRegistration: true}
}

// Credential is a real azidentity client-secret credential against the
// simulator's Entra ID.
func (e *Env) Credential(t testing.TB, clientID, secret string) azcore.TokenCredential {
	t.Helper()
	cred, err := azidentity.NewClientSecretCredential(e.Demo.Tenant, clientID, secret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions: policy.ClientOptions{Cloud: e.Cloud(), Transport: e.HTTPClient}, DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatalf("credential for %s: %v", clientID, err)
	}
	return cred
}

// Admin is the demo administrator's credential (Owner on the subscription).
func (e *Env) Admin(t testing.TB) azcore.TokenCredential {
	return e.Credential(t, e.Demo.AdminClientID, e.Demo.AdminSecret)
}

// StaticToken is a credential that presents a raw bearer token, e.g. a
// managed-identity token taken from a VM's metadata service.
type StaticToken string

// GetToken implements azcore.TokenCredential.
func (s StaticToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: string(s), ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// IMDSToken returns a managed-identity token of the VM as an attacker on it
// would get one.
func (e *Env) IMDSToken(t testing.TB, vmID string) StaticToken {
	t.Helper()
	e.World.Lock()
	defer e.World.Unlock()
	raw, _, err := azureworld.Of(e.World).IMDSToken(vmID, "")
	if err != nil {
		t.Fatalf("IMDS token of %s: %v", vmID, err)
	}
	return StaticToken(raw)
}

// Propagate moves the clock past the longest role-assignment propagation
// delay (world.Knobs.AzureRBACPropagation), so that every deletion made so
// far is enforced.
func (e *Env) Propagate() {
	e.World.Lock()
	d := e.World.KnobsLocked().AzureRBACPropagation.Max
	e.World.Unlock()
	e.Clock.Advance(d + time.Second)
}
