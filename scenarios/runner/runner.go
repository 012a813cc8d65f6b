// Package runner plays a scenario end to end on a virtual clock: it boots
// the simulated cloud on a loopback HTTP listener, seeds the scenario's
// environment, starts the attacker, the environment's dynamics, the
// detectors' telemetry and the responder as clock actors, stops when the
// scenario's time is up, and verifies containment by what still works for
// the attacker. Everything lands in one timeline, which is all scoring reads.
//
// The same scenario and seed give identical events whatever GOMAXPROCS or
// machine load: every actor runs under the virtual clock's cooperative
// scheduler, every random draw comes from a stream derived from the seed, and
// nothing reads the wall clock.
package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/firedrill-ir/firedrill/clock"
	"github.com/firedrill-ir/firedrill/cloudsim/awssim"
	"github.com/firedrill-ir/firedrill/cloudsim/demo"
	"github.com/firedrill-ir/firedrill/cloudsim/detect"
	"github.com/firedrill-ir/firedrill/cloudsim/simhttp"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/providers"
	awsprov "github.com/firedrill-ir/firedrill/providers/aws"
	"github.com/firedrill-ir/firedrill/responder"
	"github.com/firedrill-ir/firedrill/scenarios"
	"github.com/firedrill-ir/firedrill/scenarios/attacker"
	"github.com/firedrill-ir/firedrill/timeline"
)

// Start is the virtual instant every drill begins at. A fixed start keeps
// timestamps, and so scorecards, identical across runs.
var Start = time.Date(2026, 1, 15, 9, 0, 0, 0, time.UTC)

// AttackerIP is the attacker's internet address (TEST-NET-3), sent to the
// simulator as the caller's source address.
const AttackerIP = "203.0.113.45"

// Options tune a drill.
type Options struct {
	// Seed is the root of every random draw of the drill.
	Seed uint64
	// Playbook overrides the scenario's expected playbook.
	Playbook *responder.Playbook
	// DryRun makes the responder plan without touching anything.
	DryRun bool
	// Decider answers the playbook's decisions; nil means automation (CEL).
	Decider responder.Decider
	// OnEvent sees every timeline event as it is appended (live views).
	OnEvent func(timeline.Event)
	// NoResponder plays the attack and the detectors with nobody
	// responding: the baseline a response is measured against.
	NoResponder bool
	// PollInterval is the responder's polling interval (default 1 min).
	PollInterval time.Duration
}

// Result is what a drill produced.
type Result struct {
	Scenario           *scenarios.Scenario
	Seed               uint64
	Playbooks          []string
	StartedAt, EndedAt time.Time
	Events             []timeline.Event
	Cases              []*responder.Case
	// CorrelationID marks the run's attacker calls, names and tags.
	CorrelationID string
	// ClockEvents is how many scheduler events the virtual clock processed.
	ClockEvents uint64
	// World is the simulated cloud as the drill left it (audit log, flows,
	// findings), for reports and tests that look past the timeline.
	World *world.World
}

// drill is one run's state.
type drill struct {
	sc    *scenarios.Scenario
	opts  Options
	clk   *clock.Virtual
	w     *world.World
	tl    *timeline.Timeline
	env   *demo.AWSEnv
	url   string
	base  http.RoundTripper
	end   time.Time
	corr  string
	atk   *attacker.Env
	pb    *responder.Playbook
	resp  *responder.Responder
	telem *telemetry
	err   error
}

// Run plays sc once and returns its timeline.
func Run(ctx context.Context, sc *scenarios.Scenario, opts Options) (*Result, error) {
	if sc == nil {
		return nil, errors.New("runner: no scenario given")
	}
	d := &drill{sc: sc, opts: opts, end: Start.Add(sc.Duration)}
	if !opts.NoResponder {
		d.pb = opts.Playbook
		if d.pb == nil {
			pb, ok := responder.PlaybookByID(sc.Expect.Playbook)
			if !ok {
				return nil, fmt.Errorf("runner: scenario %s expects playbook %q, which is not built in", sc.ID, sc.Expect.Playbook)
			}
			d.pb = pb
		}
	}
	d.clk = clock.NewVirtual(Start, opts.Seed)
	d.w = world.New(d.clk, opts.Seed)
	d.tl = timeline.New(d.clk)
	if opts.OnEvent != nil {
		d.tl.Subscribe(opts.OnEvent)
	}
	d.corr = fmt.Sprintf("fd-%016x", d.clk.Rand("correlation").Uint64())
	if err := d.seed(); err != nil {
		return nil, fmt.Errorf("runner: seeding %s for %s: %w", sc.Environment.Preset, sc.ID, err)
	}
	// The simulator is reached over real loopback HTTP, as a cloud would
	// be; its handlers run on server goroutines and never wait on the
	// clock, while the calling actor holds the scheduler's baton.
	srv := httptest.NewServer(awssim.New(d.w))
	defer srv.Close()
	d.url, d.base = srv.URL, srv.Client().Transport

	d.atk = &attacker.Env{Clock: d.clk, Timeline: d.tl, World: d.w, Endpoint: d.url, Account: d.env.Account,
		Region: d.env.Region, SourceIP: AttackerIP, CorrelationID: d.corr, Base: d.base, End: d.end}
	d.telem = newTelemetry(d)
	if d.pb != nil {
		if err := d.newResponder(ctx); err != nil {
			return nil, err
		}
	}
	d.clk.Go(ctx, "director", d.direct)
	if err := d.clk.Run(ctx); err != nil {
		return nil, fmt.Errorf("runner: drill %s (seed %d): %w", sc.ID, opts.Seed, err)
	}
	if d.err != nil {
		return nil, fmt.Errorf("runner: drill %s (seed %d): %w", sc.ID, opts.Seed, d.err)
	}
	res := &Result{Scenario: sc, Seed: opts.Seed, StartedAt: Start, Events: d.tl.Events(),
		CorrelationID: d.corr, ClockEvents: d.clk.Events(), World: d.w}
	res.EndedAt = res.StartedAt
	if e, ok := lastOfKind(res.Events, timeline.ScenarioEnd); ok {
		res.EndedAt = e.At
	}
	if d.pb != nil {
		res.Playbooks = []string{d.pb.ID}
		res.Cases = d.resp.Cases()
	}
	return res, nil
}

func lastOfKind(events []timeline.Event, kind string) (timeline.Event, bool) {
	for i := len(events) - 1; i >= 0; i-- {
		if events[i].Kind == kind {
			return events[i], true
		}
	}
	return timeline.Event{}, false
}

// seed builds the scenario's environment in the world.
func (d *drill) seed() error {
	sc := d.sc
	env, err := demo.SeedAWS(d.w, demo.Options{Instances: sc.Environment.Instances, ScaleInAfter: -1})
	if err != nil {
		return err
	}
	d.env = env
	if err := d.seedLocked(); err != nil {
		return err
	}
	if gd := sc.Detectors.GuardDuty; gd.Enabled {
		cfg := detect.GuardDutyConfig{}
		if l := gd.Latency; l != nil {
			cfg.FindingLatency = detect.Latency{Min: l.Min, Mode: l.Mode, Max: l.Max}
		}
		d.w.AddObserver(detect.NewGuardDuty(cfg))
	}
	return nil
}

// seedLocked applies the scenario's changes to the seeded preset.
func (d *drill) seedLocked() error {
	sc, env, w := d.sc, d.env, d.w
	w.Lock()
	defer w.Unlock()
	role := w.Roles[env.Role]
	for _, rp := range sc.Environment.RolePolicies {
		doc, err := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []map[string]any{{
			"Effect": "Allow", "Action": rp.Actions, "Resource": rp.Resource}}})
		if err != nil {
			return fmt.Errorf("role policy %s: %w", rp.Name, err)
		}
		role.Policies[rp.Name] = string(doc)
	}
	if s := sc.Environment.ScaleIn; s != nil {
		if err := w.ScheduleScaleInLocked(env.ASG, Start.Add(s.After), s.Desired); err != nil {
			return fmt.Errorf("scheduling scale-in: %w", err)
		}
	}
	for _, b := range sc.Dynamics.Background {
		if _, ok := w.Users[b.User]; !ok {
			return fmt.Errorf("background activity names user %q, which the %s preset does not have", b.User, sc.Environment.Preset)
		}
	}
	det := sc.Detectors
	if gd := w.Detectors[env.Detector]; gd != nil {
		gd.Enabled = det.GuardDuty.Enabled
	}
	if det.CPUAlarm.Enabled {
		for _, a := range w.Alarms {
			a.Threshold, a.Period, a.EvaluationPeriods = det.CPUAlarm.Threshold, det.CPUAlarm.Period, det.CPUAlarm.EvaluationPeriods
			a.Description = fmt.Sprintf("CPU above %.0f%% for %s (cryptomining trigger)", a.Threshold,
				time.Duration(a.EvaluationPeriods)*a.Period)
		}
	} else {
		w.Alarms = nil
	}
	return nil
}

// newResponder builds the responder's provider (the responder user's own
// keys, through the drill transport) and the responder.
func (d *drill) newResponder(ctx context.Context) error {
	hc := &http.Client{Transport: &markTransport{userAgent: "firedrill-responder/" + d.corr,
		next: &simhttp.Transport{Base: d.base, Clock: d.clk, Backoff: simhttp.ExponentialBackoff(time.Second, 20*time.Second)}}}
	prov, err := awsprov.New(ctx, providers.Target{Cloud: providers.CloudAWS, Account: d.env.Account, Region: d.env.Region,
		Endpoint: d.url, HTTPClient: hc,
		Credentials: &providers.StaticCredentials{AccessKeyID: d.env.ResponderKeyID, SecretAccessKey: d.env.ResponderSecret}},
		awsprov.WithSleeper(d.clk), awsprov.WithoutRetryQuota(),
		awsprov.WithRetryBackoff(func(int, error) (time.Duration, error) { return 0, nil }))
	if err != nil {
		return fmt.Errorf("runner: building the responder's AWS provider: %w", err)
	}
	d.resp, err = responder.New(responder.Options{Clock: d.clk, Timeline: d.tl, Provider: prov, Playbook: d.pb,
		CaseID: "IR-" + d.corr[3:11], EvidenceBucket: d.env.EvidenceBucket, DryRun: d.opts.DryRun,
		Decider: d.opts.Decider, PollInterval: d.opts.PollInterval})
	if err != nil {
		return fmt.Errorf("runner: building the responder for playbook %s: %w", d.pb.ID, err)
	}
	return nil
}

// markTransport stamps a user-agent suffix carrying the run's correlation
// id (and optionally a source address) on each request.
type markTransport struct {
	sourceIP, userAgent string
	next                http.RoundTripper
}

func (t *markTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	if t.sourceIP != "" {
		r.Header.Set(attacker.SourceIPHeader, t.sourceIP)
	}
	r.Header.Set("User-Agent", r.Header.Get("User-Agent")+" "+t.userAgent)
	return t.next.RoundTrip(r)
}

// direct is the director actor: it opens the scenario, starts every other
// actor, waits for the end, runs the final containment check and closes
// the scenario.
func (d *drill) direct(ctx context.Context) {
	sc := d.sc
	d.tl.Add(timeline.Event{Actor: timeline.ActorRunner, Kind: timeline.ScenarioStart, Name: sc.ID, Cloud: "aws",
		Message: sc.Title, Detail: map[string]string{"seed": fmt.Sprint(d.opts.Seed), "correlation_id": d.corr,
			"duration": sc.Duration.String(), "playbook": d.playbookID()}})
	d.clk.Go(ctx, "telemetry", d.telem.run)
	d.startAttack(ctx)
	d.startBackground(ctx)
	if d.resp != nil {
		// The responder only gets the scenario's time: whatever it is
		// doing when the drill ends is cut off, as an exercise's would be.
		rctx, cancel := d.clk.WithTimeout(ctx, sc.Duration)
		d.clk.GoDaemon(rctx, "responder", func(ctx context.Context) {
			defer cancel()
			if err := d.resp.Watch(ctx); err != nil && ctx.Err() == nil {
				d.tl.Add(timeline.Event{Actor: timeline.ActorRunner, Kind: timeline.StepError, Name: "responder",
					Outcome: timeline.Failed, Message: fmt.Sprintf("responder stopped: %v", err)})
			}
		})
	}
	if err := d.sleepUntil(ctx, d.end); err != nil {
		d.err = fmt.Errorf("director waiting for the end of the scenario: %w", err)
		return
	}
	d.telem.tick(d.clk.Now())
	d.verify(ctx)
	d.tl.Add(timeline.Event{Actor: timeline.ActorRunner, Kind: timeline.ScenarioEnd, Name: sc.ID, Cloud: "aws"})
}

func (d *drill) playbookID() string {
	if d.pb == nil {
		return ""
	}
	return d.pb.ID
}

// sleepUntil waits on the clock until t (returns at once if t is past).
func (d *drill) sleepUntil(ctx context.Context, t time.Time) error {
	if dt := t.Sub(d.clk.Now()); dt > 0 {
		return d.clk.Sleep(ctx, dt)
	}
	return nil
}

// verify checks containment by what still works for the attacker: its
// connections still up, and its credentials tried with a real call.
func (d *drill) verify(ctx context.Context) {
	flows, ids := d.atk.ActiveFlows()
	stolen, persist := d.atk.CheckCredentials(ctx)
	running := 0
	d.w.Lock()
	for _, region := range world.SortedKeys(d.atk.State.Launched) {
		for _, id := range d.atk.State.Launched[region] {
			if i := d.w.Instances[id]; i != nil && (i.State == world.StateRunning || i.State == world.StatePending) {
				running++
			}
		}
	}
	d.w.Unlock()
	outcome := timeline.Succeeded
	if flows > 0 || stolen > 0 {
		outcome = timeline.Failed
	}
	detail := map[string]string{"surviving_flows": fmt.Sprint(flows), "valid_stolen_credentials": fmt.Sprint(stolen),
		"valid_persistence_keys": fmt.Sprint(persist), "attacker_instances_running": fmt.Sprint(running)}
	if len(ids) > 0 {
		b, _ := json.Marshal(ids)
		detail["flow_ids"] = string(b)
	}
	d.tl.Add(timeline.Event{Actor: timeline.ActorRunner, Kind: timeline.Verified, Name: "containment-check", Cloud: "aws",
		Outcome: outcome, Message: fmt.Sprintf("%d attacker flows up, %d stolen credentials valid, %d persistence keys valid",
			flows, stolen, persist), Detail: detail})
}
