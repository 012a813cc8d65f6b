package runner

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/detect"
	"github.com/firedrill-ir/firedrill/cloudsim/simcloud"
	"github.com/firedrill-ir/firedrill/cloudsim/simhttp"
	"github.com/firedrill-ir/firedrill/providers"
	_ "github.com/firedrill-ir/firedrill/providers/all" // every cloud's provider, built through providers.Open
	"github.com/firedrill-ir/firedrill/responder"
	"github.com/firedrill-ir/firedrill/scenarios"
	"github.com/firedrill-ir/firedrill/scenarios/attacker"
)

// cloudDrill is one cloud of a drill: its simulator driver and seeded
// environment, its simulator's listener, and the responder acting there.
type cloudDrill struct {
	name   string
	driver *simcloud.Driver
	env    simcloud.Env

	srv *httptest.Server
	url string
	// base is the HTTP transport to the simulator under the drill
	// transport; for a TLS simulator it trusts the simulator's certificate.
	base http.RoundTripper

	resp          *responder.Responder
	closeProvider func()
}

// seedCloud builds one cloud's environment in the world: the preset pack's
// base environment sized by the scenario's resources, then every resource
// of the cloud through its kind (scale-in schedules, extra policies and
// roles, buckets).
func (d *drill) seedCloud(c *cloudDrill, e scenarios.Environment) error {
	drv, ok := simcloud.Get(c.name)
	if !ok {
		return fmt.Errorf("no simulator for cloud %q", c.name)
	}
	pack, ok := simcloud.GetPack(e.Preset)
	if !ok {
		return fmt.Errorf("no preset pack %q", e.Preset)
	}
	c.driver = drv
	res := d.sc.ResourcesIn(c.name)
	env, err := pack.Seed(d.w, res)
	if err != nil {
		return fmt.Errorf("seeding preset %s: %w", pack.Name, err)
	}
	c.env = env
	d.w.Lock()
	defer d.w.Unlock()
	for i := range res {
		k, ok := drv.Kind(res[i].Kind)
		if !ok {
			return fmt.Errorf("%s: no such resource kind in %s", res[i].Key(), c.name)
		}
		if k.Apply == nil {
			continue
		}
		if err := k.Apply(d.w, env, &res[i], Start); err != nil {
			return fmt.Errorf("seeding %s: %w", res[i].Key(), err)
		}
	}
	return nil
}

// installDetectors sets up every registered detector that watches a seeded
// cloud, on or off as the scenario says, in registry order: the
// cloud-side switch, the observers that raise findings, and the evaluators
// the telemetry controller drives.
func (d *drill) installDetectors() {
	for _, spec := range detect.Specs() {
		if !slices.ContainsFunc(d.clouds, func(c *cloudDrill) bool { return slices.Contains(spec.Clouds, c.name) }) {
			continue
		}
		if ev := spec.Install(d.w, d.sc.Detectors.Config(spec.Name), Start); ev != nil {
			d.evaluators = append(d.evaluators, ev)
		}
	}
}

// serve starts the cloud's simulator on a loopback listener, over TLS when
// the cloud's clients need it, with the simulator's certificate trusted by
// every client the drill builds. In live mode the caller serves it.
func (d *drill) serve(c *cloudDrill) error {
	if d.live != nil {
		url, base, err := d.live.opts.Serve(LiveCloud{Cloud: c.name, Driver: c.driver, Env: c.env, World: d.w, Faults: d.faults})
		if err != nil {
			return err
		}
		c.url, c.base = url, base
		return nil
	}
	h := c.driver.Handler(d.w, d.faults)
	if c.driver.TLS {
		c.srv = httptest.NewTLSServer(h)
	} else {
		c.srv = httptest.NewServer(h)
	}
	c.url, c.base = c.srv.URL, c.srv.Client().Transport
	return nil
}

// attackerTarget tells the attacker where the cloud is.
func (c *cloudDrill) attackerTarget() *attacker.Target {
	return &attacker.Target{Site: c.env.Site(), Endpoint: c.url, Base: c.base}
}

// drillClient is the responder's HTTP client: its requests carry the run's
// correlation id, and each call's modelled latency and retry backoff are
// charged on the drill clock.
func (d *drill) drillClient(base http.RoundTripper) *http.Client {
	return &http.Client{Transport: &simhttp.Mark{UserAgent: "firedrill-responder/" + d.corr, Actor: "responder",
		Next: &simhttp.Transport{Base: base, Clock: d.clk, Backoff: simhttp.ExponentialBackoff(time.Second, 20*time.Second)}}}
}

// newResponder builds the cloud's provider (the responder principal's own
// credentials, through the drill transport) and its responder.
func (d *drill) newResponder(ctx context.Context, c *cloudDrill) error {
	// One case id per cloud: "IR-<correlation>-<cloud>".
	caseID := "IR-" + d.corr[3:11] + "-" + c.name
	target, bucket := c.env.Responder()
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
