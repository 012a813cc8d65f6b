package attacker

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	"github.com/googleapis/gax-go/v2/apierror"
	"golang.org/x/oauth2"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"
	"google.golang.org/protobuf/proto"

	"github.com/firedrill-ir/firedrill/cloudsim/simhttp"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
)

// GCP technique ids.
const (
	GCPExploitWebApp    = "gcp.gce.exploit-web-app"
	GCPCryptoMiner      = "gcp.gce.start-cryptominer"
	GCPStealSAToken     = "gcp.gce.steal-service-account-token"
	GCPBackdoorFirewall = "gcp.compute.backdoor-firewall"
	GCPKeepAccess       = "gcp.keep-access"
)

func gcpTechniques() []*Technique {
	return []*Technique{exploitVM(CloudGCP, GCPExploitWebApp, "web-mig"), cryptoMinerVM(CloudGCP, GCPCryptoMiner),
		gcpStealToken(), gcpBackdoorFirewall(), gcpKeepAccess()}
}

// googleCode maps a Google API error to Google's canonical code name, so
// 401 and 403 classify as denied like AWS's AccessDenied.
func googleCode(err error) (string, bool) {
	status := 0
	var ae *apierror.APIError
	var ge *googleapi.Error
	switch {
	case errors.As(err, &ae) && ae.HTTPCode() > 0:
		status = ae.HTTPCode()
	case errors.As(err, &ge):
		status = ge.Code
	default:
		return "", false
	}
	switch status {
	case http.StatusUnauthorized:
		return "UNAUTHENTICATED", true
	case http.StatusForbidden:
		return "PERMISSION_DENIED", true
	case http.StatusNotFound:
		return "NOT_FOUND", true
	case http.StatusConflict:
		return "ALREADY_EXISTS", true
	case http.StatusPreconditionFailed:
		return "FAILED_PRECONDITION", true
	case http.StatusTooManyRequests:
		return "RESOURCE_EXHAUSTED", true
	}
	return fmt.Sprintf("HTTP_%d", status), true
}

// gcpOptions are the Compute client options for a stolen token: the
// simulator's endpoint, the token as a static bearer, and a transport that
// marks each request as the attacker's and charges modelled latency on the
// drill clock. Only single-resource calls are made with them: the generated
// REST clients' List methods drop the caller's context (see providers/gcp),
// which the drill clock needs.
func (e *Env) gcpOptions(token string) []option.ClientOption {
	hc := &http.Client{Transport: &oauth2.Transport{
		Source: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token, TokenType: "Bearer"}),
		Base: &simhttp.Mark{SourceIP: e.SourceIP, UserAgent: "firedrill-attacker/" + e.CorrelationID, Actor: "attacker",
			Next: &simhttp.Transport{Base: e.GCP.Base, Clock: e.Clock}}}}
	return []option.ClientOption{option.WithEndpoint(e.GCP.Endpoint), option.WithHTTPClient(hc)}
}

// splitInstance splits "projects/P/zones/Z/instances/N".
func splitInstance(key string) (project, zone, name string) {
	parts := strings.Split(key, "/")
	if len(parts) == 6 {
		return parts[1], parts[3], parts[5]
	}
	return "", "", key
}

// gcpGetInstance reads a VM with the stolen token.
func (e *Env) gcpGetInstance(ctx context.Context, technique, key string, detail map[string]string) error {
	c, err := compute.NewInstancesRESTClient(ctx, e.gcpOptions(e.State.GCP.Token)...)
	if err == nil {
		defer func() { _ = c.Close() }()
		p, z, n := splitInstance(key)
		_, err = c.Get(ctx, &computepb.GetInstanceRequest{Project: p, Zone: z, Instance: n})
	}
	return e.Record(Action{Technique: technique, Operation: "compute.instances.get", Resource: key, Cloud: CloudGCP,
		Credential: "stolen-token", Detail: detail}, err)
}

// gcpGetFirewall reads a firewall rule with the stolen token.
func (e *Env) gcpGetFirewall(ctx context.Context, technique, name string, detail map[string]string) error {
	c, err := compute.NewFirewallsRESTClient(ctx, e.gcpOptions(e.State.GCP.Token)...)
	if err == nil {
		defer func() { _ = c.Close() }()
		_, err = c.Get(ctx, &computepb.GetFirewallRequest{Project: e.GCP.Project, Firewall: name})
	}
	return e.Record(Action{Technique: technique, Operation: "compute.firewalls.get",
		Resource: world.GCEFirewallKey(e.GCP.Project, name), Cloud: CloudGCP, Credential: "stolen-token", Detail: detail}, err)
}

// stealGCPTokenLocked asks the foothold's metadata server for a token of
// its service account.
func (e *Env) stealGCPTokenLocked() (*world.GCPToken, error) {
	fh := &e.State.GCP
	if fh.VM == "" {
		return nil, fmt.Errorf("no foothold to query the metadata server from")
	}
	t, err := e.World.GCPInstanceTokenLocked(fh.VM)
	if err != nil {
		return nil, err
	}
	fh.Token, fh.TokenExpires, fh.Principal = t.Value, t.Expires, t.Principal
	return t, nil
}

// gcpStealToken reads the VM's service-account token from the metadata
// server on the foothold and uses it at once from the attacker's address,
// which Event Threat Detection flags. The token lives an hour, but code on
// the VM can fetch a fresh one whenever it likes: as long as the attacker
// keeps a channel to the VM and the account is enabled, its access renews.
func gcpStealToken() *Technique {
	return &Technique{
		ID: GCPStealSAToken, ATTACK: "T1552.005", Name: "Unsecured Credentials: Cloud Instance Metadata API", Cloud: CloudGCP,
		Run: func(ctx context.Context, env *Env, p Params) error {
			fh := &env.State.GCP
			env.World.LockAs(hostCaller)
			t, err := env.stealGCPTokenLocked()
			env.World.Unlock()
			d := map[string]string{"path": "/computeMetadata/v1/instance/service-accounts/default/token"}
			if t != nil {
				d["service_account"], d["expires"] = t.Principal, t.Expires.UTC().Format(time.RFC3339)
			}
			if err := env.Record(Action{Technique: GCPStealSAToken, Operation: "metadata:GetServiceAccountToken", Resource: fh.VM,
				Cloud: CloudGCP, Credential: "host", Detail: d}, err); err != nil {
				return err
			}
			if env.GCP == nil {
				return fmt.Errorf("the scenario has no GCP environment")
			}
			return env.gcpGetInstance(ctx, GCPStealSAToken, fh.VM, nil)
		},
	}
}

// gcpBackdoorFirewall uses the stolen token to insert a VPC firewall rule
// letting the attacker's address in on SSH to every VM of the network: a
// way back in that survives the compromised VM (T1562.007). It needs
// compute.firewalls.create, which an over-privileged service account has.
func gcpBackdoorFirewall() *Technique {
	return &Technique{
		ID: GCPBackdoorFirewall, ATTACK: "T1562.007", Name: "Impair Defenses: Disable or Modify Cloud Firewall", Cloud: CloudGCP,
		Params: []ParamSpec{
			{Name: "port", Kind: KindInt, Default: "22", Doc: "port opened to the attacker"},
			{Name: "network", Kind: KindString, Default: "prod-vpc"},
			{Name: "priority", Kind: KindInt, Default: "900"},
		},
		Run: func(ctx context.Context, env *Env, p Params) error {
			fh := &env.State.GCP
			op := "compute.firewalls.insert"
			if fh.Token == "" || env.GCP == nil {
				return env.Record(Action{Technique: GCPBackdoorFirewall, Operation: op, Cloud: CloudGCP}, fmt.Errorf("no stolen token"))
			}
			name := fmt.Sprintf("fd-%s-vendor-access", env.ShortID())
			c, err := compute.NewFirewallsRESTClient(ctx, env.gcpOptions(fh.Token)...)
			if err == nil {
				defer func() { _ = c.Close() }()
				_, err = c.Insert(ctx, &computepb.InsertFirewallRequest{Project: env.GCP.Project, FirewallResource: &computepb.Firewall{
					Name:         proto.String(name),
					Network:      proto.String(world.GCENetworkKey(env.GCP.Project, p.String("network"))),
					Direction:    proto.String("INGRESS"),
					Priority:     proto.Int32(int32(p.Int("priority"))),
					SourceRanges: []string{env.SourceIP + "/32"},
					Allowed:      []*computepb.Allowed{{IPProtocol: proto.String("tcp"), Ports: []string{p.String("port")}}},
					Description:  proto.String("temporary vendor access"),
				}})
			}
			if err == nil {
				fh.Backdoor = world.GCEFirewallKey(env.GCP.Project, name)
			}
			return env.Record(Action{Technique: GCPBackdoorFirewall, Operation: op, Resource: world.GCEFirewallKey(env.GCP.Project, name),
				Cloud: CloudGCP, Credential: "stolen-token", Detail: map[string]string{"port": p.String("port"),
					"source": env.SourceIP + "/32"}}, err)
		},
	}
}

// gcpKeepAccess is the attacker coming back every few minutes: the pool
// connection, a fresh token from the metadata server while it still has a
// channel to the VM, and reads with the token it holds.
func gcpKeepAccess() *Technique {
	return &Technique{
		ID: GCPKeepAccess, ATTACK: "T1078.004", Name: "Valid Accounts: Cloud Accounts", Cloud: CloudGCP,
		Params: []ParamSpec{
			{Name: "every", Kind: KindDuration, Default: "5m"},
			{Name: "firewall", Kind: KindString, Default: "prod-allow-web", Doc: "a rule the token reads to prove it works"},
		},
		Run: func(ctx context.Context, env *Env, p Params) error {
			return keepAccessLoop(ctx, env, p.Duration("every"), func() { env.ProbeGCP(ctx, p.String("firewall")) })
		},
	}
}

// ProbeGCP performs one round of the attacker's GCP access checks.
func (e *Env) ProbeGCP(ctx context.Context, firewall string) {
	e.probeCloudPool(CloudGCP, GCPKeepAccess)
	fh := &e.State.GCP
	if fh.Token == "" || e.GCP == nil {
		return
	}
	if fh.VM != "" && e.hasLiveChannel(fh.VM) {
		e.World.LockAs(hostCaller)
		t, err := e.stealGCPTokenLocked()
		e.World.Unlock()
		d := map[string]string{"refresh": "true"}
		if t != nil {
			d["expires"] = t.Expires.UTC().Format(time.RFC3339)
		}
		_ = e.Record(Action{Technique: GCPKeepAccess, Operation: "metadata:GetServiceAccountToken", Resource: fh.VM,
			Cloud: CloudGCP, Credential: "host", Detail: d}, err)
	}
	_ = e.gcpGetFirewall(ctx, GCPKeepAccess, firewall, nil)
}

// CheckGCPToken tries the service-account token the attacker holds with a
// read that needs a permission and reports whether it still works: the
// final containment check's credential test on GCP.
func (e *Env) CheckGCPToken(ctx context.Context, firewall string) (valid int) {
	if e.State.GCP.Token == "" || e.GCP == nil {
		return 0
	}
	if e.gcpGetFirewall(ctx, GCPKeepAccess, firewall, map[string]string{"check": "final"}) == nil {
		return 1
	}
	return 0
}
