package simcloud

import (
	"sync"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
)

// Live is what a cloud adds for `sim serve --scenario`, where an attack is
// played against outside clients: how its managed detector pushes a finding
// to a subscriber, and how its audit log is exported as files a SIEM tails.
// The world is locked while these run.
type Live struct {
	// Push wraps a finding (raised by the detector named Finding.Detector)
	// in the cloud's own push envelope, as delivered at at: ok is false
	// when the finding is not this cloud's.
	Push func(w *world.World, f *world.Finding, at time.Time) (p Push, ok bool, err error)
	// AuditFile renders delivered audit records as one file of the cloud's
	// export format, or nil when the cloud delivers none of them (no file is
	// written); Ext is the file name's ending (".json", ".jsonl").
	AuditFile func(w *world.World, records []*world.AuditEvent) (data []byte, err error)
	// AuditExt is the ending of AuditFile's files.
	AuditExt string
}

// Push is one finding in the envelope a cloud delivers to a subscriber:
// an EventBridge event, an Event Grid event array, a Pub/Sub push message.
type Push struct {
	// Kind names the envelope: "eventbridge", "eventgrid", "pubsub".
	Kind        string
	ContentType string
	Body        []byte
	// Headers are the delivery's extra HTTP headers (aeg-event-type, …).
	Headers map[string]string
}

var (
	extendMu sync.Mutex
	pending  = map[string][]func(*Driver){}
)

// Extend changes a cloud's driver once it is registered (at once if it
// is): a cloud package's files other than its driver's add their parts
// this way, whatever order their init functions run in.
func Extend(cloud string, f func(d *Driver)) {
	extendMu.Lock()
	defer extendMu.Unlock()
	if d, ok := Get(cloud); ok {
		f(d)
		return
	}
	pending[cloud] = append(pending[cloud], f)
}

// applyPending runs the extensions waiting for d.
func applyPending(d *Driver) {
	extendMu.Lock()
	defer extendMu.Unlock()
	for _, f := range pending[d.Cloud] {
		f(d)
	}
	delete(pending, d.Cloud)
}
