package awsworld

import (
	"fmt"
	"sort"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
)

// Trail is a CloudTrail trail: it delivers the account's management events
// to an S3 bucket while it is logging. Event history (LookupEvents) does
// not depend on trails, as in AWS; what StopLogging cuts is the trail's
// delivery, which is where SIEMs read CloudTrail from.
type Trail struct {
	Name, ARN, Account, HomeRegion string
	S3Bucket, S3KeyPrefix          string
	MultiRegion                    bool
	CreatedAt                      time.Time
	// Logging says whether the trail logs now; StartedAt and StoppedAt are
	// the last StartLogging and StopLogging times.
	Logging              bool
	StartedAt, StoppedAt time.Time
	// LatestDelivery is when the trail last wrote a log file.
	LatestDelivery time.Time
	// periods are the intervals the trail logged in: [start, stop], an
	// open one with a zero stop.
	periods []period
	// delivered is how far delivery has gone: events delivered by then
	// have been written.
	delivered time.Time
}

type period struct{ start, stop time.Time }

// LoggingAt reports whether the trail was logging at t (an event at the
// very instant of StopLogging, the StopLogging call itself, is logged).
func (t *Trail) LoggingAt(at time.Time) bool {
	for _, p := range t.periods {
		if !at.Before(p.start) && (p.stop.IsZero() || !at.After(p.stop)) {
			return true
		}
	}
	return false
}

// AddTrail creates a trail that logs from now on.
func (s *State) AddTrail(account, region, name, bucket string, multiRegion bool) *Trail {
	now := s.w.Now()
	t := &Trail{Name: name, ARN: fmt.Sprintf("arn:aws:cloudtrail:%s:%s:trail/%s", region, account, name),
		Account: account, HomeRegion: region, S3Bucket: bucket, MultiRegion: multiRegion, CreatedAt: now,
		delivered: now}
	s.Trails.Put(name, t)
	s.SetTrailLogging(t, true)
	return t
}

// TrailByNameOrARN finds a trail of the account by name or ARN.
func (s *State) TrailByNameOrARN(account, nameOrARN string) *Trail {
	for _, t := range s.Trails.All() {
		if t.Account == account && (t.Name == nameOrARN || t.ARN == nameOrARN) {
			return t
		}
	}
	return nil
}

// SetTrailLogging starts or stops a trail's logging now; doing what is
// already done is a no-op, as in CloudTrail.
func (s *State) SetTrailLogging(t *Trail, on bool) {
	now := s.w.Now()
	if t.Logging == on {
		return
	}
	t.Logging = on
	if on {
		t.StartedAt = now
		t.periods = append(t.periods, period{start: now})
		return
	}
	t.StoppedAt = now
	t.periods[len(t.periods)-1].stop = now
}

// DueTrailEvents returns the audit events the trail delivers that have
// arrived by now and were not delivered before, in delivery order, and
// marks them delivered: events of its account (and home region unless it
// is multi-region) made while it was logging.
func (s *State) DueTrailEvents(t *Trail, now time.Time) []*world.AuditEvent {
	if !now.After(t.delivered) {
		return nil
	}
	var out []*world.AuditEvent
	for _, ev := range s.w.Audit {
		if (ev.Cloud != "" && ev.Cloud != "aws") || ev.Account != t.Account || !ev.DeliverAt.After(t.delivered) || ev.DeliverAt.After(now) {
			continue
		}
		if (!t.MultiRegion && ev.Region != t.HomeRegion) || !t.LoggingAt(ev.Time) {
			continue
		}
		out = append(out, ev)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].DeliverAt.Before(out[j].DeliverAt) })
	t.delivered = now
	if len(out) > 0 {
		t.LatestDelivery = out[len(out)-1].DeliverAt
	}
	return out
}

// Trailed reports whether some trail of the event's account delivers it
// (it was logging when the call was made, in a region it covers): what an
// exporter of CloudTrail files honours so that StopLogging stops its
// output too. An account with no trail delivers nothing, as in AWS.
func (s *State) Trailed(ev *world.AuditEvent) bool {
	for _, t := range s.Trails.All() {
		if t.Account == ev.Account && (t.MultiRegion || t.HomeRegion == ev.Region) && t.LoggingAt(ev.Time) {
			return true
		}
	}
	return false
}
