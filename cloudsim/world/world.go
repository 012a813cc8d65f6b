// Package world is the kernel of the simulated clouds: the World with its
// lock, clock hookup, named random streams, scheduled changes, observers and
// extension store; the knobs and the propagation of identity changes; the
// audit log, findings, flows and metrics; and the provider-neutral model all
// three clouds share (accounts, VPCs and subnets, instances, volumes,
// snapshots, network interfaces, the object store) with the IAM policy
// engine as a library.
//
// What only one cloud has lives in its state package: cloudsim/world/awsworld,
// azureworld and gcpworld. Each keeps its state in the extension store
// (ExtLocked) and is reached as awsworld.Of(w) and so on; they import the
// kernel, never the other way round. The kernel calls no cloud's code: a
// cloud's behaviour reaches the kernel through the scheduled changes it
// registers (ScheduleLocked), the observers it adds and the state it keeps,
// so a new cloud or a new surface adds a package, not a field on World. Wire
// front ends (cloudsim/awssim, azuresim, gcpsim) are thin translations of
// API calls into operations on the kernel and a cloud's state.
//
// A World is safe for concurrent use: emulator handlers run on HTTP server
// goroutines, so every exported method takes the world's mutex, and the
// *Locked methods and the cloud state packages are used with it held.
// Nothing here waits on a clock; time-dependent state (snapshot completion,
// log delivery, scale-in) is either derived from the current time or
// applied by Advance.
package world

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/firedrill-ir/firedrill/clock"
	"github.com/firedrill-ir/firedrill/cloudsim/fault"
)

// Nower is the part of a clock the world needs: it never waits.
type Nower interface{ Now() time.Time }

// World holds all simulated state. Fields are exported for the front ends
// and tests; they must only be touched under Lock/Unlock (or through methods).
type World struct {
	mu    sync.Mutex
	clock Nower
	seq   map[string]uint64
	// streams are the world's random streams by name, each seeded from the
	// root seed and its name (see Stream).
	streams *clock.Streams
	// caller names the stream set of the call being served (see
	// UseStreamsLocked); ids is its "ids" stream, cached.
	caller string
	ids    *rand.Rand

	// The provider-neutral model all three clouds share (an Azure VM and a
	// GCE instance are Instances too, their disks Volumes, an Azure blob
	// container a Bucket). Front ends and detectors read these under the
	// lock; what only one cloud has lives in its state package.
	Accounts  Table[*Account]
	VPCs      Table[*VPC]
	Subnets   Table[*Subnet]
	Instances Table[*Instance]
	Volumes   Table[*Volume]
	Snapshots Table[*Snapshot]
	ENIs      Table[*ENI]
	Buckets   Table[*Bucket]
	Flows     []*Flow
	Audit     []*AuditEvent
	Findings  []*Finding
	Alarms    []*Alarm

	scheduled []scheduled
	observers []Observer
	ext       map[string]any
	// clientTokens are the create calls made with a client token, by scope
	// and token (see ClientTokenLocked).
	clientTokens map[string]*IdempotentCall
	// knobs tune behaviour the clouds leave undocumented (knobs.go).
	knobs Knobs
}

// scheduled is a state change that takes effect at a modelled time, such as a
// scale-in or a command completing. Advance applies due entries in order.
type scheduled struct {
	at   time.Time
	seq  uint64
	name string
	fn   func(now time.Time)
}

// Observer sees world events as they happen; detector models use it to raise
// findings with realistic latency.
type Observer interface {
	// Observe is called with the world lock held; it must not call back into
	// locking World methods, only the *Locked helpers.
	Observe(w *World, ev Event)
}

// Event is something a detector may care about.
type Event struct {
	Time     time.Time
	Kind     string // "flow.start", "api.call", "instance.cpu", …
	Flow     *Flow
	Audit    *AuditEvent
	Instance *Instance
}

// New returns an empty world whose IDs and jitter derive from seed.
func New(clk Nower, seed uint64) *World {
	w := &World{
		clock:   clk,
		streams: clock.NewStreams(seed),
		seq:     map[string]uint64{},
		knobs:   DefaultKnobs(),
	}
	w.useStreamsLocked(Unattributed)
	return w
}

// Lock takes the world lock and applies every scheduled change that is due,
// so callers always see state consistent with the current time.
func (w *World) Lock() {
	w.mu.Lock()
	w.useStreamsLocked(Unattributed)
	w.advanceLocked(w.clock.Now())
}

// LockAs takes the world lock like Lock and attributes the random draws
// made under it to caller (see UseStreamsLocked): what an actor does
// directly to the world (the attacker's on-host effects) draws from its own
// streams, never from whoever called last.
func (w *World) LockAs(caller string) {
	w.Lock()
	w.useStreamsLocked(caller)
}

// Unlock releases the world lock.
func (w *World) Unlock() { w.mu.Unlock() }

// Now is the world's current time.
func (w *World) Now() time.Time { return w.clock.Now() }

// ClientSeconds is d of simulated time in the whole seconds a client counts
// on its own clock (at least 1): d itself, or d divided by the speed of a
// clock running faster than the wall (sim serve --speed), so that a client
// renews a token before the world has expired it.
func (w *World) ClientSeconds(d time.Duration) int {
	if s, ok := w.clock.(interface {
		Wall(time.Duration) time.Duration
	}); ok {
		d = s.Wall(d)
	}
	return max(1, int(d.Seconds()))
}

// AddObserver registers a detector model.
func (w *World) AddObserver(o Observer) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.observers = append(w.observers, o)
}

// ExtLocked returns the extension state stored under name, creating it with
// init on first use. The cloud state packages keep their state there
// (awsworld.Of, azureworld.Of, gcpworld.Of) so that the kernel stays
// provider-neutral and each cloud's code lives in its own package.
func (w *World) ExtLocked(name string, init func() any) any {
	if w.ext == nil {
		w.ext = map[string]any{}
	}
	v, ok := w.ext[name]
	if !ok {
		v = init()
		w.ext[name] = v
	}
	return v
}

// EmitLocked tells observers (detector models) about an event.
func (w *World) EmitLocked(ev Event) { w.emitLocked(ev) }

// emitLocked tells observers about an event.
func (w *World) emitLocked(ev Event) {
	for _, o := range w.observers {
		o.Observe(w, ev)
	}
}

// StreamLocked returns the world's random stream named name (e.g.
// "detector/guardduty"): models that draw for themselves, whoever's call
// they observe, use a stream of their own so that nobody else's activity
// shifts their draws.
func (w *World) StreamLocked(name string) *rand.Rand { return w.streams.Get("world/" + name) }

// Unattributed is the caller of draws made under Lock without a named
// caller (seeding, controllers).
const Unattributed = "world"

// Purposes of jittered durations, each drawn from its own stream of the
// caller's (see JitterLocked).
const (
	PurposeLatency  = "latency"  // a call's modelled latency
	PurposeDelivery = "delivery" // audit-log and finding delivery delays
	PurposeDuration = "duration" // how long cloud-side work takes (boot, stop, snapshot, command)
)

// UseStreamsLocked attributes the random draws that follow, until the lock
// is released, to caller: ids, secrets and addresses come from the stream
// "<caller>/ids", jittered durations from "<caller>/<purpose>". Front ends
// call it as a request starts, with the cloud and the actor class the
// request carries (simhttp.ActorHeader), so that the attacker's ids and
// latencies never depend on how many calls the responder made.
func (w *World) UseStreamsLocked(caller string) { w.useStreamsLocked(caller) }

func (w *World) useStreamsLocked(caller string) {
	if caller == "" {
		caller = Unattributed
	}
	if caller == w.caller && w.ids != nil {
		return
	}
	w.caller = caller
	w.ids = w.StreamLocked(caller + "/ids")
}

// CallerLocked is the name the current draws are attributed to.
func (w *World) CallerLocked() string { return w.caller }

// PurposeFault names the stream fault injection draws from (see
// FaultTargetLocked).
const PurposeFault = "fault"

// FaultTargetLocked describes the current call to a fault rule set: its
// cloud, service, operation and principal, the actor class of its caller
// (the part of the caller's name after the cloud), and draws from the
// caller's own "<caller>/fault" stream, so whether the responder's call is
// throttled never shifts the attacker's luck.
func (w *World) FaultTargetLocked(cloud, service, operation, principal string) fault.Target {
	_, actor, _ := strings.Cut(w.caller, "/")
	return fault.Target{Cloud: cloud, Service: service, Operation: operation, Principal: principal, Actor: actor,
		Draw: w.StreamLocked(w.caller + "/" + PurposeFault).Float64}
}

// NewIDLocked returns a deterministic, AWS-looking identifier such as
// "i-0a1b2c3d4e5f60718": a prefix, then 17 hex digits drawn from the seed.
func (w *World) NewIDLocked(prefix string) string {
	w.seq[prefix]++
	// 17 hex digits are 68 bits: one nibble more than a uint64 holds.
	return fmt.Sprintf("%s-%x%016x", prefix, w.ids.Uint64()&0xf, w.ids.Uint64())
}

// UUIDLocked draws a UUID-shaped identifier (request ids, event ids,
// activity ids) from the seeded generator.
func (w *World) UUIDLocked() string { return UUIDFrom(w.ids) }

// UUIDFrom draws a UUID-shaped identifier from r.
func UUIDFrom(r *rand.Rand) string {
	a, b := r.Uint64(), r.Uint64()
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", a>>32, (a>>16)&0xffff, a&0xffff, b>>48, b&0xffffffffffff)
}

// GUIDLocked draws a version-4-shaped GUID (Azure object ids, SSM command
// ids) from the seeded generator.
func (w *World) GUIDLocked() string { return GUIDFrom(w.ids) }

// GUIDFrom draws a version-4-shaped GUID from r.
func GUIDFrom(r *rand.Rand) string {
	a, b := r.Uint64(), r.Uint64()
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", a>>32, (a>>16)&0xffff, a&0xfff, 0x8000|(b>>48)&0x3fff, b&0xffffffffffff)
}

// NewSecretLocked returns a 40-character secret.
func (w *World) NewSecretLocked() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	b := make([]byte, 40)
	for i := range b {
		b[i] = alphabet[w.ids.IntN(len(alphabet))]
	}
	return string(b)
}

// IDRandLocked is the current caller's "ids" stream, for identifiers a
// front end shapes itself.
func (w *World) IDRandLocked() *rand.Rand { return w.ids }

// JitterLocked returns base scaled by a uniform factor in [1-f, 1+f],
// drawn from the current caller's stream for purpose (one of the Purpose*
// constants).
func (w *World) JitterLocked(purpose string, base time.Duration, f float64) time.Duration {
	r := w.StreamLocked(w.caller + "/" + purpose)
	return time.Duration(float64(base) * (1 - f + 2*f*r.Float64()))
}

// ScheduleLocked registers fn to run when the world reaches at.
func (w *World) ScheduleLocked(at time.Time, name string, fn func(now time.Time)) {
	w.seq["sched"]++
	w.scheduled = append(w.scheduled, scheduled{at: at, seq: w.seq["sched"], name: name, fn: fn})
}

// NextDue reports the time of the earliest scheduled change, for controllers
// that drive Advance from a clock.
func (w *World) NextDue() (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.scheduled) == 0 {
		return time.Time{}, false
	}
	min := w.scheduled[0].at
	for _, s := range w.scheduled[1:] {
		if s.at.Before(min) {
			min = s.at
		}
	}
	return min, true
}

// Advance applies every scheduled change due at or before now.
func (w *World) Advance(now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.advanceLocked(now)
}

func (w *World) advanceLocked(now time.Time) {
	for {
		due := -1
		for i, s := range w.scheduled {
			if s.at.After(now) {
				continue
			}
			if due < 0 || s.at.Before(w.scheduled[due].at) ||
				(s.at.Equal(w.scheduled[due].at) && s.seq < w.scheduled[due].seq) {
				due = i
			}
		}
		if due < 0 {
			return
		}
		s := w.scheduled[due]
		w.scheduled = append(w.scheduled[:due], w.scheduled[due+1:]...)
		// A scheduled change draws from the scheduler's streams, whoever's
		// call happened to take the lock when it fell due.
		caller := w.caller
		w.useStreamsLocked("scheduled")
		s.fn(s.at)
		w.useStreamsLocked(caller)
	}
}

// SortedKeys returns a map's keys in order; output never depends on map order.
func SortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// HasExtLocked reports whether extension state is stored under name,
// without creating it.
func (w *World) HasExtLocked(name string) bool {
	_, ok := w.ext[name]
	return ok
}

// AddAccountLocked registers an account (an AWS account, an Azure
// subscription, a GCP project).
func (w *World) AddAccountLocked(cloud, id, name, region string) *Account {
	a := &Account{ID: id, Name: name, Cloud: cloud, Region: region}
	w.Accounts.Put(id, a)
	return a
}
