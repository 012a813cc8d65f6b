package runner

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/detect"
	"github.com/firedrill-ir/firedrill/cloudsim/simcloud"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/timeline"
)

// tickEvery is the telemetry controller's cadence. CloudWatch metrics are
// per-minute and every modelled delay is minutes long, so a one-minute tick
// loses nothing; events carry the exact modelled time, not the tick's.
const tickEvery = time.Minute

// telemetry is the controller that moves the world forward and turns what
// the cloud would show into timeline events: alerts when they become
// visible, resources when they vanish, the first attacker audit record when
// it is delivered, and attacker connections when they end.
type telemetry struct {
	d         *drill
	findings  map[string]bool // reported finding ids
	lost      map[string]bool // reported instance and volume ids
	volOwner  map[string]volumeOwner
	flowsDone map[string]bool
	// firstLog marks the clouds whose first attacker audit record was
	// reported.
	firstLog map[string]bool
}

type volumeOwner struct {
	instance, device string
}

func newTelemetry(d *drill) *telemetry {
	t := &telemetry{d: d, findings: map[string]bool{}, lost: map[string]bool{}, volOwner: map[string]volumeOwner{},
		flowsDone: map[string]bool{}, firstLog: map[string]bool{}}
	return t
}

// run ticks until the end of the scenario; the director takes the final
// tick itself, right before the containment check.
func (t *telemetry) run(ctx context.Context) {
	for {
		next := t.d.clk.Now().Add(tickEvery)
		if !next.Before(t.d.end) {
			return
		}
		if err := t.d.sleepUntil(ctx, next); err != nil {
			return
		}
		t.tick(next)
	}
}

// tick advances the world to now and reports what became visible.
func (t *telemetry) tick(now time.Time) {
	d := t.d
	w := d.w
	w.Lock() // applies due scheduled changes (scale-in, boots, terminations)
	var evs []timeline.Event
	alerts := t.alertsLocked(now)
	evs = append(evs, alerts...)
	evs = append(evs, t.lostLocked(now)...)
	evs = append(evs, t.flowsLocked()...)
	for _, c := range d.clouds {
		if e, ok := t.firstLogLocked(c, now); ok {
			evs = append(evs, e)
		}
	}
	if d.live != nil {
		evs = append(evs, d.live.tickLocked(d, now, alerts)...)
	}
	w.Unlock()
	if d.live != nil {
		d.live.flushPushes()
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].At.Before(evs[j].At) })
	for _, e := range evs {
		d.tl.Add(e)
	}
}

// alertsLocked reports managed findings (GuardDuty, Defender for Cloud,
// Security Command Center), CPU alarms and cost anomalies that are visible
// by now, each once, stamped with when they became visible.
func (t *telemetry) alertsLocked(now time.Time) []timeline.Event {
	w := t.d.w
	var out []timeline.Event
	for _, f := range w.Findings {
		if t.findings[f.ID] || f.CreatedAt.After(now) {
			continue
		}
		t.findings[f.ID] = true
		control, cloud := detect.FindingControl(w, f)
		out = append(out, timeline.Event{At: f.CreatedAt, Actor: timeline.ActorDetector, Kind: timeline.Alert,
			Name: control, Cloud: cloud, Resource: f.ResourceID, Message: f.Title,
			Detail: map[string]string{"type": f.Type, "resource": f.ResourceID, "finding_id": f.ID,
				"severity": fmt.Sprintf("%.0f", f.Severity), "first_seen": f.FirstSeen.UTC().Format(time.RFC3339),
				"latency_seconds": fmt.Sprintf("%.0f", f.CreatedAt.Sub(f.FirstSeen).Seconds())}})
	}
	var alerts []detect.Alert
	for _, ev := range t.d.evaluators {
		alerts = append(alerts, ev.EvaluateLocked(w, now)...)
	}
	for _, a := range alerts {
		detail := map[string]string{"type": a.Type, "resource": a.Resource}
		for k, v := range a.Detail {
			detail[k] = v
		}
		out = append(out, timeline.Event{At: a.At, Actor: timeline.ActorDetector, Kind: timeline.Alert, Name: a.Control,
			Cloud: a.Cloud, Resource: a.Resource, Message: fmt.Sprintf("%s: %s on %s", a.Control, a.Type, a.Resource), Detail: detail})
	}
	return out
}

// lostLocked reports instances that terminated and volumes deleted with
// them: evidence that was not captured before this time is gone.
func (t *telemetry) lostLocked(now time.Time) []timeline.Event {
	w := t.d.w
	for _, id := range w.Instances.Keys() {
		for _, bd := range w.Instances.Lookup(id).BlockDevices {
			if _, ok := t.volOwner[bd.VolumeID]; !ok {
				t.volOwner[bd.VolumeID] = volumeOwner{instance: id, device: bd.Device}
			}
		}
	}
	var out []timeline.Event
	for _, id := range w.Instances.Keys() {
		inst := w.Instances.Lookup(id)
		if inst.State != world.StateTerminated || t.lost[id] {
			continue
		}
		t.lost[id] = true
		cause := t.terminationCause(id)
		out = append(out, timeline.Event{At: inst.TerminatedAt, Actor: timeline.ActorCloud, Kind: timeline.ResourceLost,
			Name: "instance", Cloud: simcloud.CloudOfLocked(w, id), Resource: id, Message: fmt.Sprintf("instance %s terminated (%s)", id, cause),
			Detail: map[string]string{"kind": "instance", "cause": cause}})
	}
	for _, id := range w.Volumes.Keys() {
		v := w.Volumes.Lookup(id)
		if v.State != "deleted" || t.lost[id] {
			continue
		}
		t.lost[id] = true
		owner := t.volOwner[id]
		at := now
		if inst := w.Instances.Lookup(owner.instance); inst != nil && !inst.TerminatedAt.IsZero() {
			at = inst.TerminatedAt
		}
		out = append(out, timeline.Event{At: at, Actor: timeline.ActorCloud, Kind: timeline.ResourceLost, Name: "volume",
			Cloud: simcloud.CloudOfLocked(w, id), Resource: id, Message: fmt.Sprintf("volume %s (%s of %s) deleted on termination", id, owner.device, owner.instance),
			Detail: map[string]string{"kind": "volume", "instance": owner.instance, "device": owner.device}})
	}
	return out
}

// terminationCause says who terminated (or deleted) an instance, from the
// audit log: the last successful record of its cloud's VM removal naming
// it, "scale-in" when the platform made it (an Auto Scaling group, an
// autoscale setting, a managed instance group).
func (t *telemetry) terminationCause(id string) string {
	w := t.d.w
	for i := len(w.Audit) - 1; i >= 0; i-- {
		a := w.Audit[i]
		if a.ErrorCode != "" {
			continue
		}
		c := t.d.cloudOfAudit(a)
		if c == nil {
			continue
		}
		deletes, scaleIn := c.driver.Termination(a)
		if !deletes {
			continue
		}
		for _, r := range a.Resources {
			if !strings.EqualFold(r.Name, id) {
				continue
			}
			if scaleIn {
				return "scale-in"
			}
			return "terminated by " + a.PrincipalARN
		}
	}
	return "terminated"
}

// cloudOfAudit is the seeded cloud an audit record belongs to.
func (d *drill) cloudOfAudit(a *world.AuditEvent) *cloudDrill {
	for _, c := range d.clouds {
		if c.driver.OwnsAudit(a) {
			return c
		}
	}
	return nil
}

// flowsLocked reports attacker connections that ended, with the reason:
// the difference between a real isolation and a cosmetic one.
func (t *telemetry) flowsLocked() []timeline.Event {
	var out []timeline.Event
	for _, f := range t.d.w.Flows {
		if f.Actor != "attacker" || f.Active() || t.flowsDone[f.ID] {
			continue
		}
		t.flowsDone[f.ID] = true
		out = append(out, timeline.Event{At: f.Ended, Actor: timeline.ActorCloud, Kind: timeline.FlowEnded, Name: f.ID,
			Cloud: simcloud.CloudOfLocked(t.d.w, f.Instance), Resource: f.Instance, Message: "attacker connection ended: " + f.EndReason,
			Detail: map[string]string{"direction": f.Direction, "remote": fmt.Sprintf("%s:%d", f.RemoteIP, f.RemotePort),
				"domain": f.Domain, "reason": f.EndReason, "tracked": fmt.Sprint(f.Tracked)}})
	}
	return out
}

// firstLogLocked reports, once per cloud, when the first audit record of an
// attacker call in that cloud became visible to log queries: the telemetry
// floor under any detection time.
func (t *telemetry) firstLogLocked(c *cloudDrill, now time.Time) (timeline.Event, bool) {
	if t.firstLog[c.name] {
		return timeline.Event{}, false
	}
	var first *world.AuditEvent
	for _, a := range t.d.w.Audit {
		if a.DeliverAt.After(now) || !strings.Contains(a.UserAgent, "firedrill-attacker/"+t.d.corr) || !c.driver.OwnsAudit(a) {
			continue
		}
		if first == nil || a.DeliverAt.Before(first.DeliverAt) {
			first = a
		}
	}
	if first == nil {
		return timeline.Event{}, false
	}
	t.firstLog[c.name] = true
	log := c.driver.AuditLog
	return timeline.Event{At: first.DeliverAt, Actor: timeline.ActorCloud, Kind: timeline.FirstLog, Name: log.Name,
		Cloud: c.name, Resource: first.ID, Message: fmt.Sprintf("first attacker call in %s: %s by %s", log.Title, first.Operation, first.PrincipalARN),
		Detail: map[string]string{"operation": first.Operation, "event_time": first.Time.UTC().Format(time.RFC3339Nano),
			"delivery_seconds": fmt.Sprintf("%.0f", first.DeliverAt.Sub(first.Time).Seconds()), "source_ip": first.SourceIP}}, true
}
