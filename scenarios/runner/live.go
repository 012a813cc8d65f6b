package runner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/firedrill-ir/firedrill/clock"
	"github.com/firedrill-ir/firedrill/cloudsim/fault"
	"github.com/firedrill-ir/firedrill/cloudsim/simcloud"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/scenarios"
	"github.com/firedrill-ir/firedrill/scoring"
	"github.com/firedrill-ir/firedrill/timeline"
)

// LiveOptions say how a live run (`sim serve --scenario`) serves its clouds
// to outside clients and whom it tells about findings. In live mode the
// scenario plays on a clock running Speed times real time; firedrill's
// own responder does not run: an outside responder acts, recognised by the
// credentials of each environment's responder principal.
type LiveOptions struct {
	// Speed is clock time per wall-clock time (1 to 3600).
	Speed float64
	// Serve serves one seeded cloud's front end to outside clients and
	// returns its endpoint and a transport that reaches it (trusting its
	// certificate), which the attacker and background activity use.
	Serve func(c LiveCloud) (url string, base http.RoundTripper, err error)
	// OnPush is handed each finding, in its cloud's push envelope, once it
	// is visible; it must not block.
	OnPush func(cloud string, p simcloud.Push)
}

// LiveCloud is one seeded cloud of a live run, to be served.
type LiveCloud struct {
	Cloud  string
	Driver *simcloud.Driver
	Env    simcloud.Env
	World  *world.World
	Faults *fault.Set
}

// ResponderIdentities names every identity the outside responder may act
// as in an environment, besides the responder target's credential: an
// Env implements it when it has more than one (a user and a service
// account).
type ResponderIdentities interface {
	ResponderIdentities() []string
}

// live is a live run's state besides the drill's.
type live struct {
	opts LiveOptions
	// stop ends the scenario early (SIGINT, SIGTERM); the containment
	// check and the scorecard still happen.
	stop    chan struct{}
	stopped sync.Once
	// who are the responder's identities: credential ids and principals.
	who map[string]bool
	// audited is how many audit records were looked at.
	audited   int
	acked     bool
	firstSeen map[string]bool // evidence reported, by id
	// lastChange is the responder's last successful change.
	lastChange *timeline.Event
	pushes     []livePush
}

type livePush struct {
	cloud string
	push  simcloud.Push
}

// Session is a scenario playing live.
type Session struct {
	d      *drill
	clk    *clock.Scaled
	lv     *live
	done   chan struct{}
	cancel context.CancelFunc
}

// StartLive seeds sc's environments, serves them as lo says and starts
// playing the attack, background activity and detectors on a live clock.
// Nobody responds but the outside responder. Cancelling ctx does not end
// the session: Stop does.
func StartLive(ctx context.Context, sc *scenarios.Scenario, opts Options, lo LiveOptions) (*Session, error) {
	if lo.Speed < 1 || lo.Speed > 3600 {
		return nil, fmt.Errorf("runner: live speed %g: expected 1 to 3600", lo.Speed)
	}
	if lo.Serve == nil {
		return nil, errors.New("runner: live mode needs a Serve function")
	}
	opts.NoResponder, opts.Playbook = true, nil
	clk := clock.NewScaled(Start, lo.Speed, opts.Seed)
	lv := &live{opts: lo, stop: make(chan struct{}), who: map[string]bool{}, firstSeen: map[string]bool{}}
	d, err := newDrill(ctx, sc, opts, clk, lv)
	if err != nil {
		return nil, err
	}
	for _, c := range d.clouds {
		target, _ := c.env.Responder()
		if cr := target.Credentials; cr != nil && cr.AccessKeyID != "" {
			lv.who[cr.AccessKeyID] = true
		}
		if ids, ok := c.env.(ResponderIdentities); ok {
			for _, id := range ids.ResponderIdentities() {
				lv.who[id] = true
			}
		}
	}
	// The session ends through Stop, not ctx: ending it early still
	// checks containment, which needs the actors' context alive.
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s := &Session{d: d, clk: clk, lv: lv, done: make(chan struct{}), cancel: cancel}
	clk.Go(ctx, "director", func(ctx context.Context) {
		defer close(s.done)
		d.direct(ctx)
	})
	return s, nil
}

// Done is closed when the scenario has ended and been verified.
func (s *Session) Done() <-chan struct{} { return s.done }

// World is the simulated multi-cloud the session plays in.
func (s *Session) World() *world.World { return s.d.w }

// Clock is the session's live clock.
func (s *Session) Clock() *clock.Scaled { return s.clk }

// End is when the scenario ends on the session's clock.
func (s *Session) End() time.Time { return s.d.end }

// Stop ends the scenario now if it is still playing, waits for the
// containment check and stops every actor.
func (s *Session) Stop() {
	s.lv.stopped.Do(func() { close(s.lv.stop) })
	<-s.done
	s.cancel()
}

// Err is what went wrong with the run, once it is done.
func (s *Session) Err() error { return s.d.err }

// Result is the run as it stands: complete once Done is closed, in
// progress before (ending now, not yet verified).
func (s *Session) Result() *Result {
	res := s.d.result(s.d.tl.Events())
	if _, ended := lastOfKind(res.Events, timeline.ScenarioEnd); !ended {
		res.EndedAt = s.clk.Now()
	}
	res.Playbooks = []string{"external"}
	return res
}

// Scorecard scores the run as it stands.
func (s *Session) Scorecard() *scoring.Scorecard { return scoring.Score(s.Result().ScoreInput()) }

// waitContext is the context the director waits for the end on: done
// when the session is stopped early.
func (lv *live) waitContext(ctx context.Context) (context.Context, context.CancelFunc) {
	wctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-lv.stop:
			cancel()
		case <-wctx.Done():
		}
	}()
	return wctx, cancel
}

// stoppedEarly reports whether the session was stopped.
func (lv *live) stoppedEarly() bool {
	select {
	case <-lv.stop:
		return true
	default:
		return false
	}
}

// isResponderLocked reports whether an audit record is the outside
// responder's call, learning the principal behind a known credential.
func (lv *live) isResponderLocked(a *world.AuditEvent) bool {
	for _, id := range []string{a.AccessKeyID, a.PrincipalID, a.PrincipalARN, a.UserName, a.Params["appId"]} {
		if id != "" && lv.who[id] {
			for _, p := range []string{a.PrincipalARN, a.PrincipalID} {
				if p != "" {
					lv.who[p] = true
				}
			}
			return true
		}
	}
	return false
}

// tickLocked turns what the outside responder did into timeline events
// (acknowledgement, its changes, evidence it captured) and queues the push
// of each finding first reported in this tick (alerts).
func (lv *live) tickLocked(d *drill, now time.Time, alerts []timeline.Event) []timeline.Event {
	w := d.w
	for _, e := range alerts {
		if id := e.Detail["finding_id"]; id != "" {
			lv.queuePushLocked(d, id, e.At)
		}
	}
	var out []timeline.Event
	firstAlert := d.firstAlert(now, alerts)
	for ; lv.audited < len(w.Audit); lv.audited++ {
		a := w.Audit[lv.audited]
		if !lv.isResponderLocked(a) {
			continue
		}
		c := d.cloudOfAudit(a)
		cloud := ""
		if c != nil {
			cloud = c.name
		}
		res := ""
		if len(a.Resources) > 0 {
			res = a.Resources[0].Name
		}
		if !lv.acked && firstAlert != nil && !a.Time.Before(firstAlert.At) {
			lv.acked = true
			out = append(out, timeline.Event{At: a.Time, Actor: timeline.ActorResponder, Kind: timeline.Ack, Name: "external",
				Cloud: cloud, Message: fmt.Sprintf("the responder's first call after the first alert: %s by %s", a.Operation, a.PrincipalARN),
				Detail: map[string]string{"operation": a.Operation, "principal": a.PrincipalARN}})
		}
		if a.ReadOnly {
			continue
		}
		outcome := timeline.Succeeded
		if a.ErrorCode != "" {
			outcome = timeline.Failed
		}
		e := timeline.Event{At: a.Time, Actor: timeline.ActorResponder, Kind: timeline.StepStart, Name: a.Operation,
			Cloud: cloud, Resource: res, Outcome: outcome, Message: strings.TrimSpace(a.Operation + " " + res + " " + a.ErrorCode),
			Detail: map[string]string{"operation": a.Operation, "principal": a.PrincipalARN, "error_code": a.ErrorCode}}
		out = append(out, e)
		if outcome == timeline.Succeeded {
			lv.lastChange = &e
		}
	}
	return append(out, lv.evidenceLocked(d)...)
}

// declare puts the outside responder's declaration of containment on the
// timeline: it has no way to declare it but to stop changing things, so its
// last successful change is its declared containment (none: never
// declared). The attacker's probes verify it either way.
func (lv *live) declare(d *drill) {
	if lv.lastChange == nil {
		return
	}
	e := lv.lastChange
	d.tl.Add(timeline.Event{At: e.At, Actor: timeline.ActorResponder, Kind: timeline.Contained, Name: "external", Cloud: e.Cloud,
		Message: "the responder's last change (" + e.Name + "): its containment as declared",
		Detail:  map[string]string{"operation": e.Name}})
}

// firstAlert is the first alert by now, on the timeline or about to be.
func (d *drill) firstAlert(now time.Time, pending []timeline.Event) *timeline.Event {
	var first *timeline.Event
	for _, e := range append(d.tl.Events(), pending...) {
		if e.Kind == timeline.Alert && !e.At.After(now) && (first == nil || e.At.Before(first.At)) {
			first = &e
		}
	}
	return first
}

// queuePushLocked queues a finding's push in its cloud's envelope.
func (lv *live) queuePushLocked(d *drill, findingID string, at time.Time) {
	if lv.opts.OnPush == nil {
		return
	}
	for _, f := range d.w.Findings {
		if f.ID != findingID {
			continue
		}
		for _, c := range d.clouds {
			if c.driver.Live == nil || c.driver.Live.Push == nil {
				continue
			}
			p, ok, err := c.driver.Live.Push(d.w, f, at)
			if err != nil || !ok {
				continue
			}
			lv.pushes = append(lv.pushes, livePush{cloud: c.name, push: p})
			break
		}
	}
}

// flushPushes hands the queued pushes over (world unlocked).
func (lv *live) flushPushes() {
	pushes := lv.pushes
	lv.pushes = nil
	for _, p := range pushes {
		lv.opts.OnPush(p.cloud, p.push)
	}
}

// evidenceLocked reports what the responder preserved, as it exists in the
// simulated clouds: snapshots it created and objects in its evidence
// bucket written during the scenario, with their hashes.
func (lv *live) evidenceLocked(d *drill) []timeline.Event {
	w := d.w
	var out []timeline.Event
	for _, id := range w.Snapshots.Keys() {
		s := w.Snapshots.Lookup(id)
		if s.Deleted || lv.firstSeen[id] || !lv.who[s.CreatedBy] {
			continue
		}
		lv.firstSeen[id] = true
		out = append(out, timeline.Event{At: s.StartTime, Actor: timeline.ActorResponder, Kind: timeline.Evidence, Name: "external",
			Cloud: simcloud.CloudOfLocked(w, s.VolumeID), Resource: id, Message: fmt.Sprintf("disk_snapshot %s of %s", id, s.VolumeID),
			Detail: map[string]string{"kind": "disk_snapshot", "id": id, "source": s.VolumeID, "location": s.Region,
				"collected_by": s.CreatedBy}})
	}
	for _, c := range d.clouds {
		_, bucket := c.env.Responder()
		for _, name := range w.Buckets.Keys() {
			b := w.Buckets.Lookup(name)
			if bucket == "" || (b.Name != bucket && !strings.HasSuffix(bucket, "/"+b.Name)) {
				continue
			}
			for _, key := range world.SortedKeys(b.Objects) {
				vs := b.Objects[key]
				v := vs[len(vs)-1]
				id := b.Name + "/" + key
				if v.DeleteMarker || lv.firstSeen[id] || v.LastModified.Before(Start) {
					continue
				}
				lv.firstSeen[id] = true
				sum := sha256.Sum256(v.Data)
				out = append(out, timeline.Event{At: v.LastModified, Actor: timeline.ActorResponder, Kind: timeline.Evidence,
					Name: "external", Cloud: c.name, Resource: id, Message: "object " + id,
					Detail: map[string]string{"kind": "object", "id": id, "sha256": hex.EncodeToString(sum[:]),
						"location": bucket, "source": v.Metadata["source"]}})
			}
		}
	}
	return out
}
