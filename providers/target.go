// Package providers is the provider-neutral face of the clouds the responder
// acts on. Each cloud implements the capability interfaces declared here
// (Compute, Network, Identity, Audit, Findings, Exec, Storage) on its official
// SDK; the responder's playbooks only ever see these types, so the same
// playbook runs against AWS, Azure and GCP, live or simulated.
//
// The verbs follow libcloudforensics, made uniform across clouds (see
// shared/notes/ir-semantics.md §2). Where a cloud cannot do something, its
// provider says so in Capabilities and the playbook takes the documented
// fallback instead of discovering the gap mid-incident.
package providers

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"time"
)

// Cloud names accepted in Target.Cloud.
const (
	CloudAWS   = "aws"
	CloudAzure = "azure"
	CloudGCP   = "gcp"
)

// Sleeper is the part of a clock providers need: reading the time and
// waiting. Every wait in a provider goes through it (never time.Sleep or an
// SDK waiter), so a drill can run providers on virtual time. clock.Clock
// satisfies it.
type Sleeper interface {
	Now() time.Time
	Sleep(ctx context.Context, d time.Duration) error
}

// RealSleeper waits in wall-clock time, for live targets.
type RealSleeper struct{}

// Now returns the wall-clock time.
func (RealSleeper) Now() time.Time { return time.Now() }

// Sleep waits d or until ctx is done, whichever comes first.
func (RealSleeper) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// StaticCredentials are explicit credentials, as used for the simulator or a
// break-glass responder key. Live use normally leaves them nil and relies on
// the cloud's default credential chain.
type StaticCredentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
}

// Target says which cloud account a provider acts on and how to reach it.
//
// For the simulator set Endpoint and Credentials. For a live cloud leave
// Endpoint empty and Credentials nil: the SDK's default chain (environment,
// shared profiles, SSO, instance metadata) is used, optionally with Profile.
type Target struct {
	Cloud       string // "aws", "azure" or "gcp"
	Account     string // expected account/subscription/project; optional
	Region      string
	Endpoint    string // base URL override, e.g. the simulator's http://127.0.0.1:port
	Credentials *StaticCredentials
	Profile     string // named shared-config profile (live only)
	// Tenant is the Entra ID tenant of static Azure client credentials.
	Tenant     string
	HTTPClient *http.Client // optional transport, e.g. one that charges modelled latency
}

// TargetError names the Target field that is wrong and why.
type TargetError struct {
	Field   string
	Problem string
}

func (e *TargetError) Error() string {
	return fmt.Sprintf("invalid target: %s: %s", e.Field, e.Problem)
}

var (
	awsAccountRe = regexp.MustCompile(`^[0-9]{12}$`)
	regionRe     = regexp.MustCompile(`^[a-z]{2,4}(-[a-z0-9]+)+$`)
)

// Validate checks the target before any network call is made, so a typo
// fails fast with the field named instead of as an SDK error mid-playbook.
func (t Target) Validate() error {
	switch t.Cloud {
	case CloudAWS, CloudAzure, CloudGCP:
	case "":
		return &TargetError{"Cloud", "is empty; want aws, azure or gcp"}
	default:
		return &TargetError{"Cloud", fmt.Sprintf("%q is not one of aws, azure, gcp", t.Cloud)}
	}
	if t.Cloud == CloudAWS {
		if t.Region == "" {
			return &TargetError{"Region", "is empty; AWS calls are regional (e.g. us-east-1)"}
		}
		if !regionRe.MatchString(t.Region) {
			return &TargetError{"Region", fmt.Sprintf("%q does not look like an AWS region", t.Region)}
		}
		if t.Account != "" && !awsAccountRe.MatchString(t.Account) {
			return &TargetError{"Account", fmt.Sprintf("%q is not a 12-digit AWS account id", t.Account)}
		}
	}
	if t.Endpoint != "" {
		u, err := url.Parse(t.Endpoint)
		if err != nil {
			return &TargetError{"Endpoint", fmt.Sprintf("%q is not a URL: %v", t.Endpoint, err)}
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return &TargetError{"Endpoint", fmt.Sprintf("%q must be an absolute http(s) URL", t.Endpoint)}
		}
	}
	if c := t.Credentials; c != nil {
		if c.AccessKeyID == "" {
			return &TargetError{"Credentials.AccessKeyID", "is empty"}
		}
		if c.SecretAccessKey == "" {
			return &TargetError{"Credentials.SecretAccessKey", "is empty"}
		}
		if t.Profile != "" {
			return &TargetError{"Profile", "is set together with static Credentials; choose one"}
		}
	}
	return nil
}
