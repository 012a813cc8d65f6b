// Package awssimtest starts the simulated AWS on a loopback listener for
// tests and hands out SDK configurations for its principals.
package awssimtest

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/firedrill-ir/firedrill/clock"
	"github.com/firedrill-ir/firedrill/cloudsim/awssim"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/awsworld"
	"github.com/firedrill-ir/firedrill/internal/reqbody"
)

// Account is the account every test environment is seeded with.
const Account = "111122223333"

// Region is the default region.
const Region = "us-east-1"

// ManualClock is a clock tests move by hand (see clock.Manual).
type ManualClock = clock.Manual

// Start is the instant every test world begins at.
var Start = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

// Env is a running simulator with an administrator.
type Env struct {
	Clock  *ManualClock
	World  *world.World
	Server *awssim.Server
	URL    string
	// Admin is an SDK config for the "admin" user (AdministratorAccess).
	Admin    aws.Config
	AdminKey *awsworld.AccessKey
}

// New starts a simulator with seed 1, an account and an admin user.
func New(t testing.TB, opts ...awssim.Option) *Env {
	t.Helper()
	clk := clock.NewManual(Start)
	w := world.New(clk, 1)
	w.Lock()
	w.AddAccountLocked("aws", Account, "firedrill-test", Region)
	awsworld.Of(w).AddUser(Account, "admin", "arn:aws:iam::aws:policy/AdministratorAccess")
	key, err := awsworld.Of(w).AddAccessKey("admin")
	w.Unlock()
	if err != nil {
		t.Fatalf("seeding admin: %v", err)
	}
	srv := awssim.New(w, opts...)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	e := &Env{Clock: clk, World: w, Server: srv, URL: hs.URL, AdminKey: key}
	e.Admin = e.Config(key.ID, key.Secret, "")
	return e
}

// Config returns an SDK configuration for the given credentials against the
// simulator, with a fast retry backoff so throttling tests stay quick.
func (e *Env) Config(akid, secret, token string) aws.Config {
	return aws.Config{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider(akid, secret, token),
		BaseEndpoint: aws.String(e.URL),
		HTTPClient:   &http.Client{Timeout: 30 * time.Second, Transport: reqbody.Buffered(nil, 0)},
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 4
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
			})
		},
	}
}

// UserConfig creates a user with the given managed policies and returns an
// SDK config for it.
func (e *Env) UserConfig(t testing.TB, name string, managed ...string) aws.Config {
	t.Helper()
	e.World.Lock()
	defer e.World.Unlock()
	awsworld.Of(e.World).AddUser(Account, name, managed...)
	k, err := awsworld.Of(e.World).AddAccessKey(name)
	if err != nil {
		t.Fatalf("creating key for %s: %v", name, err)
	}
	return e.Config(k.ID, k.Secret, "")
}

// Propagate moves the clock past the longest IAM propagation delay
// (world.Knobs.IAMPropagation), so that every IAM change made so far
// authorizes: the step a test takes where a script would wait for IAM's
// eventual consistency.
func (e *Env) Propagate() {
	e.World.Lock()
	d := e.World.KnobsLocked().IAMPropagation.Max
	e.World.Unlock()
	e.Clock.Advance(d + time.Second)
}
