// Package runner plays a scenario end to end on a virtual clock: it seeds
// the scenario's resources in each of its clouds (one world model holds them
// all) and installs its detectors, boots each cloud's simulator on its own
// loopback listener, starts the attacker, background activity, the
// detectors' telemetry and one responder per cloud as clock actors, stops
// when the scenario's time is up, and verifies containment cloud by cloud by
// what still works for the attacker: every access path it holds, tried once
// more. Everything lands in one timeline, which is all scoring reads.
//
// The runner knows no cloud: each one's simulator, seeding, audit log and
// on-host view come from its driver in cloudsim/simcloud, detectors from the
// registry in cloudsim/detect, techniques from scenarios/attacker.
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
	"strings"
	"time"

	"github.com/firedrill-ir/firedrill/clock"
	"github.com/firedrill-ir/firedrill/cloudsim/detect"
	"github.com/firedrill-ir/firedrill/cloudsim/fault"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
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
	// Faults are injected on top of the scenario's own (run --faults).
	Faults []fault.Rule
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
	// Clouds are the clouds the drill seeded, in the scenario's order.
	Clouds []string
	// Faults are the faults the drill injected (the scenario's, then the
	// run's).
	Faults []fault.Rule
}

// drill is one run's state.
type drill struct {
	sc    *scenarios.Scenario
	opts  Options
	clk   *clock.Virtual
	w     *world.World
	tl    *timeline.Timeline
	end   time.Time
	corr  string
	atk   *attacker.Env
	pb    *responder.Playbook
	telem *telemetry
	err   error
	// clouds are the seeded clouds in the scenario's order.
	clouds []*cloudDrill
	// evaluators are the detector models the telemetry tick drives.
	evaluators []detect.Evaluator
	// background are the scenario's background activities, ready to act.
	background []*backgroundActor
	// faults are injected into every simulator's answers.
	faults *fault.Set
}

// Run plays sc once and returns its timeline.
func Run(ctx context.Context, sc *scenarios.Scenario, opts Options) (*Result, error) {
	if sc == nil {
		return nil, errors.New("runner: no scenario given")
	}
	if len(sc.Environments) == 0 {
		return nil, fmt.Errorf("runner: scenario %s seeds no environment", sc.ID)
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
		for _, e := range sc.Environments {
			if !containsString(d.pb.Clouds, e.Cloud) {
				return nil, fmt.Errorf("runner: playbook %s covers %s, not %s, which scenario %s attacks",
					d.pb.ID, strings.Join(d.pb.Clouds, ", "), e.Cloud, sc.ID)
			}
		}
	}
	d.faults = &fault.Set{}
	for _, r := range append(append([]fault.Rule(nil), sc.Faults...), opts.Faults...) {
		if err := d.faults.Add(r); err != nil {
			return nil, fmt.Errorf("runner: %w", err)
		}
	}
	d.clk = clock.NewVirtual(Start, opts.Seed)
	d.w = world.New(d.clk, opts.Seed)
	if sc.Knobs != nil {
		// Before anything is seeded or changed: a change propagates with
		// the delay drawn when it is made.
		d.w.Lock()
		err := d.w.SetKnobsLocked(*sc.Knobs)
		d.w.Unlock()
		if err != nil {
			return nil, fmt.Errorf("runner: knobs of scenario %s: %w", sc.ID, err)
		}
	}
	d.tl = timeline.New(d.clk)
	if opts.OnEvent != nil {
		d.tl.Subscribe(opts.OnEvent)
	}
	d.corr = fmt.Sprintf("fd-%016x", d.clk.Rand("correlation").Uint64())
	for _, e := range sc.Environments {
		c := &cloudDrill{name: e.Cloud}
		if err := d.seedCloud(c, e); err != nil {
			return nil, fmt.Errorf("runner: seeding %s for %s: %w", e.Preset, sc.ID, err)
		}
		d.clouds = append(d.clouds, c)
	}
	d.installDetectors()
	// Each simulator is reached over real loopback HTTP, as a cloud would
	// be; its handlers run on server goroutines and never wait on the
	// clock, while the calling actor holds the scheduler's baton.
	defer d.close()
	d.atk = &attacker.Env{Clock: d.clk, Timeline: d.tl, World: d.w, SourceIP: AttackerIP, CorrelationID: d.corr, End: d.end,
		Targets: map[string]*attacker.Target{}}
	for _, c := range d.clouds {
		d.serve(c)
		d.atk.Targets[c.name] = c.attackerTarget()
	}
	if err := d.prepareBackground(); err != nil {
		return nil, fmt.Errorf("runner: background activity of %s: %w", sc.ID, err)
	}
	d.telem = newTelemetry(d)
	if d.pb != nil {
		for _, c := range d.clouds {
			if err := d.newResponder(ctx, c); err != nil {
				return nil, err
			}
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
		CorrelationID: d.corr, ClockEvents: d.clk.Events(), World: d.w, Faults: append(append([]fault.Rule(nil), sc.Faults...), opts.Faults...)}
	res.EndedAt = res.StartedAt
	if e, ok := lastOfKind(res.Events, timeline.ScenarioEnd); ok {
		res.EndedAt = e.At
	}
	for _, c := range d.clouds {
		res.Clouds = append(res.Clouds, c.name)
		if c.resp != nil {
			res.Cases = append(res.Cases, c.resp.Cases()...)
		}
	}
	if d.pb != nil {
		res.Playbooks = []string{d.pb.ID}
	}
	return res, nil
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// close stops the simulators and releases the providers.
func (d *drill) close() {
	for _, c := range d.clouds {
		if c.closeProvider != nil {
			c.closeProvider()
		}
		if c.srv != nil {
			c.srv.Close()
		}
	}
}

func lastOfKind(events []timeline.Event, kind string) (timeline.Event, bool) {
	for i := len(events) - 1; i >= 0; i-- {
		if events[i].Kind == kind {
			return events[i], true
		}
	}
	return timeline.Event{}, false
}

// direct is the director actor: it opens the scenario, starts every other
// actor, waits for the end, runs the final containment check in each cloud
// and closes the scenario.
func (d *drill) direct(ctx context.Context) {
	sc := d.sc
	cloud := ""
	if len(d.clouds) == 1 {
		cloud = d.clouds[0].name
	}
	detail := map[string]string{"seed": fmt.Sprint(d.opts.Seed), "correlation_id": d.corr,
		"duration": sc.Duration.String(), "playbook": d.playbookID()}
	if len(d.clouds) > 1 {
		detail["clouds"] = strings.Join(sc.Clouds, ",")
	}
	d.tl.Add(timeline.Event{Actor: timeline.ActorRunner, Kind: timeline.ScenarioStart, Name: sc.ID, Cloud: cloud,
		Message: sc.Title, Detail: detail})
	d.clk.Go(ctx, "telemetry", d.telem.run)
	d.startAttack(ctx)
	d.startBackground(ctx)
	// The responders only get the scenario's time: whatever they are
	// doing when the drill ends is cut off, as an exercise's would be.
	// Each cloud's responder watches its own detectors concurrently.
	for _, c := range d.clouds {
		if c.resp == nil {
			continue
		}
		name := "responder:" + c.name
		rctx, cancel := d.clk.WithTimeout(ctx, sc.Duration)
		d.clk.GoDaemon(rctx, name, func(ctx context.Context) {
			defer cancel()
			if err := c.resp.Watch(ctx); err != nil && ctx.Err() == nil {
				d.tl.Add(timeline.Event{Actor: timeline.ActorRunner, Kind: timeline.StepError, Name: name, Cloud: c.name,
					Outcome: timeline.Failed, Message: fmt.Sprintf("responder stopped: %v", err)})
			}
		})
	}
	if err := d.sleepUntil(ctx, d.end); err != nil {
		d.err = fmt.Errorf("director waiting for the end of the scenario: %w", err)
		return
	}
	d.telem.tick(d.clk.Now())
	for _, c := range d.clouds {
		d.verify(ctx, c)
	}
	d.tl.Add(timeline.Event{Actor: timeline.ActorRunner, Kind: timeline.ScenarioEnd, Name: sc.ID, Cloud: cloud})
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

// verify checks containment in one cloud by what still works for the
// attacker there: its connections still up, and every access path it holds
// tried once more (stolen credentials with a real SDK call that needs a
// permission). The verdict's inputs keep their meaning: surviving flows,
// valid stolen credentials (both decide it), valid planted credentials and
// running launched compute (reported); every path's answer is in "paths"
// for the scoring to come (backdoor rules do not decide the verdict yet).
func (d *drill) verify(ctx context.Context, c *cloudDrill) {
	flows, ids := d.atk.ActiveFlowsIn(c.name)
	reports := d.atk.FinalCheck(ctx, c.name)
	st := &d.atk.State
	stolen, planted := st.Count(c.name, attacker.StolenCredential), st.Count(c.name, attacker.PlantedCredential)
	running := st.Count(c.name, attacker.LaunchedCompute)
	outcome := timeline.Succeeded
	if flows > 0 || stolen > 0 {
		outcome = timeline.Failed
	}
	open := 0
	for _, r := range reports {
		if r.Status == attacker.PathOpen {
			open++
		}
	}
	detail := map[string]string{"surviving_flows": fmt.Sprint(flows), "valid_stolen_credentials": fmt.Sprint(stolen),
		"valid_persistence_keys": fmt.Sprint(planted), "attacker_instances_running": fmt.Sprint(running)}
	if len(ids) > 0 {
		b, _ := json.Marshal(ids)
		detail["flow_ids"] = string(b)
	}
	var backdoors []string
	for _, p := range st.Paths(c.name) {
		if p.Kind == attacker.BackdoorRule {
			backdoors = append(backdoors, p.Resource)
		}
	}
	if len(backdoors) > 0 {
		detail["backdoor_rule"] = strings.Join(backdoors, ",")
	}
	if b, err := json.Marshal(reports); err == nil {
		detail["paths"] = string(b)
	}
	msg := fmt.Sprintf("%d attacker flows up, %d stolen credentials valid, %d planted credentials valid; %d of %d access paths open",
		flows, stolen, planted, open, len(reports))
	d.tl.Add(timeline.Event{Actor: timeline.ActorRunner, Kind: timeline.Verified, Name: "containment-check", Cloud: c.name,
		Outcome: outcome, Message: msg, Detail: detail})
}
