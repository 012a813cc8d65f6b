package runner

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/awssim"
	"github.com/firedrill-ir/firedrill/cloudsim/azuresim"
	"github.com/firedrill-ir/firedrill/cloudsim/demo"
	"github.com/firedrill-ir/firedrill/cloudsim/detect"
	"github.com/firedrill-ir/firedrill/cloudsim/gcpsim"
	"github.com/firedrill-ir/firedrill/cloudsim/simhttp"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/providers"
	_ "github.com/firedrill-ir/firedrill/providers/all" // every cloud's provider, built through providers.Open
	azureprov "github.com/firedrill-ir/firedrill/providers/azure"
	"github.com/firedrill-ir/firedrill/responder"
	"github.com/firedrill-ir/firedrill/scenarios"
	"github.com/firedrill-ir/firedrill/scenarios/attacker"
)

// cloudDrill is one cloud of a drill: its seeded environment, its
// simulator's listener, and the responder acting there.
type cloudDrill struct {
	name string
	spec scenarios.Environment

	awsEnv   *demo.AWSEnv
	azureEnv *demo.AzureEnv
	gcpEnv   *demo.GCPEnv

	srv *httptest.Server
	url string
	// base is the HTTP transport to the simulator under the drill
	// transport; for Azure it trusts the simulator's certificate.
	base http.RoundTripper

	resp          *responder.Responder
	closeProvider func()
}

// seedCloud builds one cloud's environment in the world and registers its
// managed detector.
func (d *drill) seedCloud(c *cloudDrill) error {
	det := d.sc.Detectors
	switch c.name {
	case "aws":
		env, err := demo.SeedAWS(d.w, demo.Options{Instances: c.spec.Instances, ScaleInAfter: -1})
		if err != nil {
			return err
		}
		c.awsEnv, d.env, d.aws = env, env, c
		if err := d.seedAWSLocked(c); err != nil {
			return err
		}
		if gd := det.GuardDuty; gd.Enabled {
			cfg := detect.GuardDutyConfig{}
			if l := gd.Latency; l != nil {
				cfg.FindingLatency = latency(l)
			}
			d.w.AddObserver(detect.NewGuardDuty(cfg))
		}
	case "azure":
		env, err := demo.SeedAzure(d.w, demo.AzureOptions{Instances: c.spec.Instances, ScaleInAfter: -1})
		if err != nil {
			return err
		}
		c.azureEnv = env
		if err := d.seedAzureLocked(c); err != nil {
			return err
		}
		if df := det.Defender; df.Enabled {
			cfg := detect.DefenderConfig{}
			cfg.MiningLatency, cfg.DomainLatency, cfg.TokenLatency = latency(df.MiningLatency), latency(df.DomainLatency), latency(df.TokenLatency)
			d.w.AddObserver(detect.NewDefender(cfg))
		}
	case "gcp":
		env, err := demo.SeedGCP(d.w, demo.GCPOptions{Instances: c.spec.Instances, ScaleInAfter: -1})
		if err != nil {
			return err
		}
		c.gcpEnv = env
		if err := d.seedGCPLocked(c); err != nil {
			return err
		}
		if s := det.SCC; s.Enabled {
			d.w.AddObserver(detect.NewSCC(detect.SCCConfig{ETDLatency: latency(s.ETDLatency), VMTDLatency: latency(s.VMTDLatency)}))
		}
	default:
		return fmt.Errorf("no preset for cloud %q", c.name)
	}
	return nil
}

// latency converts a scenario latency; nil becomes the zero value, which
// the detector models read as "keep the default".
func latency(l *scenarios.Latency) detect.Latency {
	if l == nil {
		return detect.Latency{}
	}
	return detect.Latency{Min: l.Min, Mode: l.Mode, Max: l.Max}
}

// seedAWSLocked applies the scenario's changes to the AWS preset.
func (d *drill) seedAWSLocked(c *cloudDrill) error {
	sc, env, w := d.sc, c.awsEnv, d.w
	w.Lock()
	defer w.Unlock()
	role := w.Roles[env.Role]
	for _, rp := range c.spec.RolePolicies {
		doc, err := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []map[string]any{{
			"Effect": "Allow", "Action": rp.Actions, "Resource": rp.Resource}}})
		if err != nil {
			return fmt.Errorf("role policy %s: %w", rp.Name, err)
		}
		role.Policies[rp.Name] = string(doc)
	}
	if s := c.spec.ScaleIn; s != nil {
		if err := w.ScheduleScaleInLocked(env.ASG, Start.Add(s.After), s.Desired); err != nil {
			return fmt.Errorf("scheduling scale-in: %w", err)
		}
	}
	for _, b := range sc.Dynamics.Background {
		if _, ok := w.Users[b.User]; !ok {
			return fmt.Errorf("background activity names user %q, which the %s preset does not have", b.User, c.spec.Preset)
		}
	}
	if gd := w.Detectors[env.Detector]; gd != nil {
		gd.Enabled = sc.Detectors.GuardDuty.Enabled
	}
	return nil
}

// seedAzureLocked applies the scenario's changes to the Azure preset: the
// scale set's autoscale scale-in and whether Defender for Servers is on.
func (d *drill) seedAzureLocked(c *cloudDrill) error {
	env, w := c.azureEnv, d.w
	w.Lock()
	defer w.Unlock()
	if s := c.spec.ScaleIn; s != nil {
		if err := w.ScheduleAzureScaleInLocked(env.ScaleSet, Start.Add(s.After), s.Desired); err != nil {
			return fmt.Errorf("scheduling scale-in of %s: %w", env.ScaleSet, err)
		}
	}
	w.AzureLocked().DefenderPlans[env.Subscription] = d.sc.Detectors.Defender.Enabled
	return nil
}

// seedGCPLocked applies the scenario's changes to the GCP preset: extra
// roles for the web tier's service account, the MIG autoscaler's scale-in
// and whether Security Command Center is on.
func (d *drill) seedGCPLocked(c *cloudDrill) error {
	env, w := c.gcpEnv, d.w
	w.Lock()
	defer w.Unlock()
	for _, role := range c.spec.ServiceAccountRoles {
		if err := w.GCPGrantLocked(env.Project, role, "serviceAccount:"+env.ServiceAccount); err != nil {
			return fmt.Errorf("granting %s to %s: %w", role, env.ServiceAccount, err)
		}
	}
	if s := c.spec.ScaleIn; s != nil {
		err := w.GCEScheduleResizeLocked(env.MIG, Start.Add(s.After), s.Desired, func(inst *world.GCEInstance, at time.Time) {
			gcpsim.RecordSystemEventLocked(w, at, inst.Project, inst.Zone, "v1.compute.instances.delete", "gce_instance", inst.Key,
				map[string]string{"instance_id": strconv.FormatUint(inst.ID, 10), "zone": inst.Zone, "project_id": inst.Project}, 40*time.Second)
		})
		if err != nil {
			return fmt.Errorf("scheduling scale-in of %s: %w", env.MIG, err)
		}
	}
	if p := w.GCPLocked().Projects[env.Project]; p != nil {
		p.SCC = d.sc.Detectors.SCC.Enabled
	}
	return nil
}

// serve starts the cloud's simulator on a loopback listener: plain HTTP for
// AWS and GCP, TLS for Azure (azcore's bearer-token policy refuses plain
// HTTP), with the simulator's certificate trusted by every client the drill
// builds.
func (d *drill) serve(c *cloudDrill) error {
	switch c.name {
	case "aws":
		c.srv = httptest.NewServer(awssim.New(d.w))
		d.url, d.base = c.srv.URL, c.srv.Client().Transport
	case "azure":
		c.srv = httptest.NewTLSServer(azuresim.New(d.w))
		ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.srv.Certificate().Raw})
		hc, err := azureprov.SimHTTPClient(ca, nil)
		if err != nil {
			return fmt.Errorf("trusting the Azure simulator's certificate: %w", err)
		}
		c.base = hc.Transport
	case "gcp":
		c.srv = httptest.NewServer(gcpsim.New(d.w))
		c.base = c.srv.Client().Transport
	}
	c.url = c.srv.URL
	if c.name == "aws" {
		c.base = d.base
	}
	return nil
}

// attackerTarget tells the attacker where the cloud is.
func (c *cloudDrill) attackerTarget(e *attacker.Env) {
	switch c.name {
	case "aws":
		e.Endpoint, e.Base, e.Account, e.Region = c.url, c.base, c.awsEnv.Account, c.awsEnv.Region
	case "azure":
		env := c.azureEnv
		e.Azure = &attacker.AzureTarget{Endpoint: c.url, Base: c.base, Tenant: env.Tenant, Subscription: env.Subscription,
			ResourceGroup: env.ResourceGroup, Location: env.Location, ScaleSet: env.ScaleSet, NSG: env.NSG}
	case "gcp":
		env := c.gcpEnv
		e.GCP = &attacker.GCPTarget{Endpoint: c.url, Base: c.base, Project: env.Project, Zone: env.Zone, MIG: env.MIG}
	}
}

// drillClient is the responder's HTTP client: its requests carry the run's
// correlation id, and each call's modelled latency and retry backoff are
// charged on the drill clock.
func (d *drill) drillClient(base http.RoundTripper) *http.Client {
	return &http.Client{Transport: &simhttp.Mark{UserAgent: "firedrill-responder/" + d.corr, Actor: "responder",
		Next: &simhttp.Transport{Base: base, Clock: d.clk, Backoff: simhttp.ExponentialBackoff(time.Second, 20*time.Second)}}}
}

// responderTarget is who the responder acts as in the cloud's seeded
// environment, and where it keeps evidence.
func (c *cloudDrill) responderTarget() (providers.Target, string) {
	switch c.name {
	case "aws":
		env := c.awsEnv
		return providers.Target{Cloud: providers.CloudAWS, Account: env.Account, Region: env.Region,
			Credentials: &providers.StaticCredentials{AccessKeyID: env.ResponderKeyID, SecretAccessKey: env.ResponderSecret}}, env.EvidenceBucket
	case "azure":
		env := c.azureEnv
		return providers.Target{Cloud: providers.CloudAzure, Account: env.Subscription, Region: env.Location, Tenant: env.Tenant,
				Credentials: &providers.StaticCredentials{AccessKeyID: env.ResponderClientID, SecretAccessKey: env.ResponderSecret}},
			env.StorageAccount + "/" + env.EvidenceContainer
	default:
		env := c.gcpEnv
		return providers.Target{Cloud: providers.CloudGCP, Account: env.Project, Region: env.Region,
			Credentials: &providers.StaticCredentials{AccessKeyID: env.Responder, SecretAccessKey: env.ResponderToken}}, env.EvidenceBucket
	}
}

// newResponder builds the cloud's provider (the responder principal's own
// credentials, through the drill transport) and its responder.
func (d *drill) newResponder(ctx context.Context, c *cloudDrill) error {
	// One case id per cloud: "IR-<correlation>-<cloud>".
	caseID := "IR-" + d.corr[3:11] + "-" + c.name
	target, bucket := c.responderTarget()
	target.Endpoint, target.HTTPClient = c.url, d.drillClient(c.base)
	prov, err := providers.Open(ctx, target, providers.Options{Sleeper: d.clk, Drill: true})
	if err != nil {
		return fmt.Errorf("runner: building the responder's %s provider: %w", c.name, err)
	}
	c.closeProvider = func() { _ = providers.Close(prov) }
	c.resp, err = responder.New(responder.Options{Clock: d.clk, Timeline: d.tl, Provider: prov, Playbook: d.pb,
		CaseID: caseID, EvidenceBucket: bucket, DryRun: d.opts.DryRun,
		Decider: d.opts.Decider, PollInterval: d.opts.PollInterval})
	if err != nil {
		return fmt.Errorf("runner: building the %s responder for playbook %s: %w", c.name, d.pb.ID, err)
	}
	return nil
}
