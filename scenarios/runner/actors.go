package runner

import (
	"context"
	"fmt"
	"time"

	"github.com/firedrill-ir/firedrill/clock"
	"github.com/firedrill-ir/firedrill/cloudsim/simcloud"
	"github.com/firedrill-ir/firedrill/scenarios"
	"github.com/firedrill-ir/firedrill/scenarios/attacker"
	"github.com/firedrill-ir/firedrill/timeline"
)

// conditionPoll is how often a `when` step re-checks its condition.
const conditionPoll = 30 * time.Second

// startAttack starts one actor per attack step. A step that waits for
// another waits on that step's wait group, so `after` chains keep the
// scenario's order whatever the techniques' durations.
func (d *drill) startAttack(ctx context.Context) {
	reg := attacker.Builtin()
	done := map[string]clock.WaitGroup{}
	for _, st := range d.sc.Steps {
		wg := d.clk.NewWaitGroup()
		wg.Add(1)
		done[st.ID] = wg
	}
	for _, st := range d.sc.Steps {
		tech, ok := reg.Get(st.Technique)
		if !ok { // the loader validated this; a mismatch is a bug
			d.err = fmt.Errorf("step %s: unknown technique %q", st.ID, st.Technique)
			done[st.ID].Done()
			continue
		}
		d.clk.Go(ctx, "attack:"+st.ID, func(ctx context.Context) {
			defer done[st.ID].Done()
			if err := d.waitForStep(ctx, st, done); err != nil {
				return // the drill ended first
			}
			if !d.clk.Now().Before(d.end) {
				return
			}
			d.atk.StartStep(st.ID, tech)
			// Techniques record their own actions and outcomes; an error
			// here only means the step did not get what it wanted, which
			// the timeline already says.
			_ = tech.Run(ctx, d.atk, tech.Resolve(st.Params))
		})
	}
}

// waitForStep blocks until the step may start.
func (d *drill) waitForStep(ctx context.Context, st scenarios.Step, done map[string]clock.WaitGroup) error {
	switch {
	case st.At != nil:
		return d.sleepUntil(ctx, Start.Add(*st.At))
	case st.After != "":
		if err := done[st.After].Wait(ctx); err != nil {
			return fmt.Errorf("waiting for step %s: %w", st.After, err)
		}
	case st.When != "":
		for !d.condition(st.When) {
			if !d.clk.Now().Add(conditionPoll).Before(d.end) {
				return fmt.Errorf("condition %s never held", st.When)
			}
			if err := d.clk.Sleep(ctx, conditionPoll); err != nil {
				return fmt.Errorf("waiting for condition %s: %w", st.When, err)
			}
		}
	}
	if st.Delay > 0 {
		return d.clk.Sleep(ctx, st.Delay)
	}
	return nil
}

// condition evaluates a scenario condition against the timeline.
func (d *drill) condition(name string) bool {
	kind := map[string]string{"first_alert": timeline.Alert, "responder_ack": timeline.Ack, "contained": timeline.Contained}[name]
	for _, e := range d.tl.Events() {
		if e.Kind == kind && !e.At.After(d.clk.Now()) {
			return true
		}
	}
	return false
}

// backgroundActor is one background activity ready to act: its
// legitimate technique, its parameters and the principal acting.
type backgroundActor struct {
	// index is the activity's position in the scenario's background list,
	// which names its actor and random stream.
	index  int
	spec   scenarios.Background
	tech   *attacker.Technique
	params attacker.Params
	actor  *attacker.Actor
	driver *simcloud.Driver
}

// prepareBackground signs each background principal in (an IAM user's
// active key, an application's or a user's token); a principal without a
// usable credential makes no calls, one the environment does not have is an
// error. Activities that hold no credential of their own (web clients, a
// VM group's workloads) are not signed in. Draws are the principal's own,
// so they never shift anyone else's.
func (d *drill) prepareBackground() error {
	reg := attacker.Builtin()
	for i, b := range d.sc.Background {
		tech, ok := reg.Get(b.Technique)
		if !ok || !tech.Legitimate {
			return fmt.Errorf("background[%d]: unknown legitimate technique %q", i, b.Technique)
		}
		drv, ok := simcloud.Get(b.Cloud)
		target := d.atk.Targets[b.Cloud]
		if !ok || target == nil {
			return fmt.Errorf("background[%d]: the scenario has no %s environment", i, b.Cloud)
		}
		caller := attacker.Caller{SourceIP: b.SourceIP, UserAgent: "firedrill-background", Actor: "background/" + b.Principal}
		var cred *attacker.Credential
		if !tech.NoSignIn {
			d.w.LockAs(caller.Actor)
			c, usable, err := drv.PrincipalCredentialLocked(d.w, target.Site, b.Principal)
			d.w.Unlock()
			if err != nil {
				return fmt.Errorf("background[%d] (%s): %w", i, b.Technique, err)
			}
			if !usable {
				continue
			}
			cred = c
		}
		cloud := b.Cloud
		d.background = append(d.background, &backgroundActor{index: i, spec: b, tech: tech, params: tech.Resolve(b.Params), driver: drv,
			actor: &attacker.Actor{Clock: d.clk, World: d.w, Target: target, Caller: caller, Principal: b.Principal, Credential: cred,
				Compromised: func() []string { return d.atk.State.Footholds(cloud) },
				Rand:        d.clk.Rand(backgroundStream(i, b.Principal) + ":draws")}})
	}
	return nil
}

// backgroundStream names a background activity's actor and random stream.
func backgroundStream(index int, principal string) string {
	return fmt.Sprintf("background:%d:%s", index, principal)
}

// startBackground starts one actor per background activity: legitimate
// principals making ordinary calls at a jittered cadence from their own
// addresses, so the audit logs are not only the attack.
func (d *drill) startBackground(ctx context.Context) {
	for _, bg := range d.background {
		name := backgroundStream(bg.index, bg.spec.Principal)
		rng := d.clk.Rand(name)
		every := bg.spec.Every
		d.clk.Go(ctx, name, func(ctx context.Context) {
			// Principals do not all start on the hour; continuous activity
			// is on record from the start.
			next := d.clk.Now()
			if !bg.tech.Continuous {
				next = next.Add(time.Duration(rng.Int64N(int64(every))))
			}
			for n := 0; next.Before(d.end); n++ {
				if err := d.sleepUntil(ctx, next); err != nil {
					return
				}
				bg.renew(d)
				d.recordBackground(bg, n, bg.tech.Act(ctx, bg.actor, bg.params, n))
				// ±20% jitter around the cadence.
				jitter := time.Duration((rng.Float64()*0.4 - 0.2) * float64(every))
				next = next.Add(every + jitter)
			}
		})
	}
}

// recordBackground puts one round of legitimate work on the timeline, an
// event per principal that acted (Detail activity names the activity's own
// principal when a member acted for it): a round denied after the response
// began is its collateral damage.
func (d *drill) recordBackground(bg *backgroundActor, round int, results []attacker.Result) {
	for _, r := range results {
		outcome, code := attacker.Classify(r.Err)
		detail := map[string]string{"principal": bg.spec.Principal, "round": fmt.Sprint(round)}
		if r.Principal != "" && r.Principal != bg.spec.Principal {
			detail["principal"], detail["activity"] = r.Principal, bg.spec.Principal
		}
		for k, v := range r.Detail {
			detail[k] = v
		}
		msg := ""
		if r.Err != nil {
			detail["error_code"] = code
			msg = attacker.ErrorMessage(r.Err)
		}
		d.tl.Add(timeline.Event{Actor: timeline.ActorBackground, Kind: timeline.BackgroundAction, Name: bg.tech.ID,
			Cloud: bg.spec.Cloud, Resource: r.Resource, Outcome: outcome, Message: msg, Detail: detail})
	}
}

// renew signs the principal in again when its credential is about to
// expire (tokens last an hour; keys do not expire).
func (bg *backgroundActor) renew(d *drill) {
	c := bg.actor.Credential
	if c == nil || c.Expires.IsZero() || d.clk.Now().Add(time.Minute).Before(c.Expires) {
		return
	}
	d.w.LockAs(bg.actor.Caller.Actor)
	fresh, ok, err := bg.driver.PrincipalCredentialLocked(d.w, bg.actor.Target.Site, bg.spec.Principal)
	d.w.Unlock()
	if err == nil && ok {
		bg.actor.Credential = fresh
	}
}
