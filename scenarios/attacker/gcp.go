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
	"github.com/firedrill-ir/firedrill/cloudsim/world/gcpworld"
)

// CloudGCP is Google Cloud as techniques and events name it.
const CloudGCP = "gcp"

// GCP technique ids.
const (
	GCPExploitWebApp    = "gcp.gce.exploit-web-app"
	GCPCryptoMiner      = "gcp.gce.start-cryptominer"
	GCPStealSAToken     = "gcp.gce.steal-service-account-token"
	GCPBackdoorFirewall = "gcp.compute.backdoor-firewall"
	GCPKeepAccess       = "gcp.keep-access"
	// GCPRoutineCalls is a user's ordinary Compute Engine reads.
	GCPRoutineCalls = "gcp.routine-api-calls"
	// GCPWebClients are the users of the web tier.
	GCPWebClients = "gcp.web-clients"
	// GCPFleetServiceAccountCalls are the managed instance group's other
	// VMs calling with their service account.
	GCPFleetServiceAccountCalls = "gcp.fleet-service-account-calls"
)

func init() {
	registerVMAttack(vmAttack{Cloud: CloudGCP, Exploit: GCPExploitWebApp, Miner: GCPCryptoMiner, Steal: GCPStealSAToken,
		KeepAccess: GCPKeepAccess,
		// A managed instance group deletes its newest member first.
		FirstToScaleIn: "newest",
		Metadata: stealSpec{Operation: "metadata:GetServiceAccountToken", Path: "/computeMetadata/v1/instance/service-accounts/default/token",
			Label: labelStolenToken, Description: "the service account's token, from the metadata server",
			Use: (*Env).gcpGetInstance, Probe: gcpTokenProbe},
	}, gcpBackdoorFirewall(), routineGCP(), webClients(CloudGCP, GCPWebClients), fleetCalls(CloudGCP, fleetSpec{
		ID: GCPFleetServiceAccountCalls, Name: "Compute Engine calls of the group's other VMs with their service account",
		Operation: "compute.instances.get",
		// Metadata-server tokens live an hour; cloud.google.com/go/auth
		// refreshes a token 225 seconds before it expires.
		Early: 225 * time.Second,
		Call: func(ctx context.Context, a *Actor, caller Caller, c *Credential, vm string) error {
			// The application reads its own instance (its metadata, labels).
			return getInstance(ctx, gcpOptions(a.Clock, a.Target, caller, c.Token), vm)
		}}))
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

// gcpOptions are the Compute client options of a caller with a token: the
// simulator's endpoint, the token as a static bearer, and the caller's
// marking transport charging modelled latency on the drill clock. Only
// single-resource calls are made with them: the generated REST clients'
// List methods drop the caller's context (see providers/gcp), which the
// drill clock needs.
func gcpOptions(clk simhttp.Sleeper, t *Target, caller Caller, token string) []option.ClientOption {
	hc := &http.Client{Transport: &oauth2.Transport{
		Source: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token, TokenType: "Bearer"}),
		Base:   caller.transport(clk, t, nil)}}
	return []option.ClientOption{option.WithEndpoint(t.Endpoint), option.WithHTTPClient(hc)}
}

// splitInstance splits "projects/P/zones/Z/instances/N".
func splitInstance(key string) (project, zone, name string) {
	parts := strings.Split(key, "/")
	if len(parts) == 6 {
		return parts[1], parts[3], parts[5]
	}
	return "", "", key
}

// lastSegment is the name at the end of a resource path.
func lastSegment(key string) string { return key[strings.LastIndex(key, "/")+1:] }

// getInstance reads a VM.
func getInstance(ctx context.Context, opts []option.ClientOption, key string) error {
	c, err := compute.NewInstancesRESTClient(ctx, opts...)
	if err != nil {
		return fmt.Errorf("building the instances client: %w", err)
	}
	defer func() { _ = c.Close() }()
	p, z, n := splitInstance(key)
	_, err = c.Get(ctx, &computepb.GetInstanceRequest{Project: p, Zone: z, Instance: n})
	return err
}

// gcpGetInstance reads a VM with a token: the attacker's "whoami".
func (e *Env) gcpGetInstance(ctx context.Context, technique, key string, c *Credential) error {
	t, err := e.Target(CloudGCP)
	if err == nil {
		err = getInstance(ctx, gcpOptions(e.Clock, t, e.Caller(), c.Token), key)
	}
	return e.Record(Action{Technique: technique, Operation: "compute.instances.get", Resource: key, Cloud: CloudGCP,
		Credential: c.Label}, err)
}

// gcpGetFirewall reads a firewall rule (by resource path) with a token.
func (e *Env) gcpGetFirewall(ctx context.Context, r Round, key string, c *Credential) error {
	t, err := e.Target(CloudGCP)
	if err == nil {
		var fws *compute.FirewallsClient
		if fws, err = compute.NewFirewallsRESTClient(ctx, gcpOptions(e.Clock, t, e.Caller(), c.Token)...); err == nil {
			defer func() { _ = fws.Close() }()
			_, err = fws.Get(ctx, &computepb.GetFirewallRequest{Project: t.Account, Firewall: lastSegment(key)})
		}
	}
	return e.Record(Action{Technique: r.Technique, Operation: "compute.firewalls.get", Resource: key, Cloud: CloudGCP,
		Credential: c.Label, Detail: finalDetail(r, nil)}, err)
}

// gcpTokenProbe: each round, while the attacker can still reach its VM,
// code there fetches a fresh token from the metadata server; then the token
// reads the firewall rule that exposes the exploited service (learned on
// the host). At the final check only the read.
func gcpTokenProbe(c *Credential) Probe {
	return func(ctx context.Context, env *Env, r Round) Outcome {
		hold := env.State.In(CloudGCP)
		if vm := hold.Foothold; !r.Final && vm != "" && env.hasLiveChannel(vm) {
			fresh, _, err := stealLocked(env, CloudGCP, vm)
			d := map[string]string{"refresh": "true"}
			if err == nil {
				c.Token, c.Expires = fresh.Token, fresh.Expires
				d["expires"] = fresh.Expires.UTC().Format(time.RFC3339)
			}
			_ = env.Record(Action{Technique: r.Technique, Operation: "metadata:GetServiceAccountToken", Resource: vm,
				Cloud: CloudGCP, Credential: "host", Detail: d}, err)
		}
		return outcome(env.gcpGetFirewall(ctx, r, hold.Facts["exposed_by"], c))
	}
}

// gcpBackdoorFirewall uses the stolen token to insert a VPC firewall rule
// letting the attacker's address in on SSH to every VM of the foothold's
// network. It needs compute.firewalls.create, which an over-privileged
// service account has.
func gcpBackdoorFirewall() *Technique {
	return backdoorRule(CloudGCP, GCPBackdoorFirewall, "compute.firewalls.insert",
		[]ParamSpec{{Name: "network", Kind: KindString, Doc: "the VPC network (default: the foothold's)"},
			{Name: "priority", Kind: KindInt, Default: "900"}},
		func(ctx context.Context, env *Env, t *Target, hold *Holding, c *Credential, p Params) (planted, error) {
			network := hold.Facts["network"]
			if n := p.String("network"); n != "" {
				network = gcpworld.NetworkKey(t.Account, n)
			}
			name := fmt.Sprintf("fd-%s-vendor-access", env.ShortID())
			key := gcpworld.FirewallKey(t.Account, name)
			fws, err := compute.NewFirewallsRESTClient(ctx, gcpOptions(env.Clock, t, env.Caller(), c.Token)...)
			if err == nil {
				defer func() { _ = fws.Close() }()
				_, err = fws.Insert(ctx, &computepb.InsertFirewallRequest{Project: t.Account, FirewallResource: &computepb.Firewall{
					Name:         proto.String(name),
					Network:      proto.String(network),
					Direction:    proto.String("INGRESS"),
					Priority:     proto.Int32(int32(p.Int("priority"))),
					SourceRanges: []string{env.SourceIP + "/32"},
					Allowed:      []*computepb.Allowed{{IPProtocol: proto.String("tcp"), Ports: []string{p.String("port")}}},
					Description:  proto.String("temporary vendor access"),
				}})
			}
			return planted{rule: key, what: "firewall rule " + name, resource: key}, err
		})
}

// routineGCP is a user's ordinary Compute Engine reads of the web tier.
func routineGCP() *Technique {
	return routine(CloudGCP, GCPRoutineCalls, "Routine Compute Engine reads of a user", []routineCall{
		{"compute.instances.get", func(ctx context.Context, a *Actor, _ Params, _ int) error {
			return getInstance(ctx, gcpOptions(a.Clock, a.Target, a.Caller, a.Credential.Token), a.groupMember())
		}},
		{"compute.instanceGroupManagers.get", func(ctx context.Context, a *Actor, _ Params, _ int) error {
			migs, err := compute.NewInstanceGroupManagersRESTClient(ctx, gcpOptions(a.Clock, a.Target, a.Caller, a.Credential.Token)...)
			if err != nil {
				return fmt.Errorf("building the instance group managers client: %w", err)
			}
			defer func() { _ = migs.Close() }()
			_, err = migs.Get(ctx, &computepb.GetInstanceGroupManagerRequest{Project: a.Target.Account,
				Zone: a.Target.Prop("zone"), InstanceGroupManager: a.Target.Prop("vm_group")})
			return err
		}},
	})
}
