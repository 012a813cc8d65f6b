package world

import (
	"iter"
	"time"
)

// Propagation: the clouds' identity systems are eventually consistent. A
// change is visible to readers of the resource at once (GetRolePolicy
// returns the new document, ListAccessKeys the new status), but the
// endpoints that authorize other calls learn of it only after a delay
// drawn from a knob (knobs.go). Until then the old state authorizes, which
// is why "fix, then verify immediately" passes against a revoke that has
// not taken hold yet.
//
// Each cloud state package keeps a Lags per kind of entity and wraps a
// change made through the wire in Lags.ChangeLocked (awsworld's IAMChange
// and AccessKeyChange, azureworld's RoleAssignmentChange, gcpworld's
// ServiceAccountChange), which snapshots the entity before and after and
// records the lag. Mutators called directly (seeding, test harnesses) act
// at once: they describe a world whose changes have long converged.
//
// A lag records, per entity, the state authorization still sees and the
// changes on their way. Each change is applied to the seen state when its
// delay has passed, unless a later change arrived first: the newest change
// to arrive wins, as it would on a replica. When every change made has
// arrived the lag is dropped and authorization reads the live state again,
// so worlds without pending changes (and state seeded directly into the
// world's fields) behave exactly as before.

// lag is what authorization sees of one entity while changes propagate.
type lag[T any] struct {
	seen    T
	applied uint64 // the newest change applied to seen
	made    uint64 // the newest change made
}

// Lags holds what authorization sees of the entities of one kind (an AWS
// user's policies, an Azure role assignment, a GCP service account's
// disabled flag) while changes to them propagate, by entity key. Each cloud
// keeps its own in its state package; the delays are drawn from the named
// stream, so one cloud's propagation never shifts another's.
type Lags[T any] struct {
	stream string
	m      map[string]*lag[T]
}

// NewLags returns an empty set of lags whose delays draw from the stream
// named stream (see StreamLocked).
func NewLags[T any](stream string) *Lags[T] {
	return &Lags[T]{stream: stream, m: map[string]*lag[T]{}}
}

// ChangeLocked applies change to the entity key, reading its state with
// state before and after, and records the change as propagating with a
// delay drawn from l unless unchanged says there is nothing authorization
// would notice.
func (ls *Lags[T]) ChangeLocked(w *World, key string, state func() T, change func() error,
	unchanged func(before, after T) bool, l Latency) error {
	before := state()
	if err := change(); err != nil {
		return err
	}
	after := state()
	if unchanged != nil && unchanged(before, after) {
		return nil
	}
	ls.propagateLocked(w, key, before, after, l)
	return nil
}

// propagateLocked records that the entity key changed from before to
// after, a change authorization sees once a delay drawn from l has passed.
func (ls *Lags[T]) propagateLocked(w *World, key string, before, after T, l Latency) {
	lags := ls.m
	d := l.Draw(w.StreamLocked(ls.stream))
	cur := lags[key]
	if d <= 0 && cur == nil {
		return // immediate, nothing in flight: authorization reads the live state
	}
	if cur == nil {
		cur = &lag[T]{seen: before}
		lags[key] = cur
	}
	cur.made++
	v := cur.made
	apply := func(time.Time) {
		if lags[key] != cur || v <= cur.applied {
			return // superseded by a later change that arrived first
		}
		cur.seen, cur.applied = after, v
		if cur.applied == cur.made {
			delete(lags, key)
		}
	}
	if d <= 0 {
		apply(w.clock.Now())
		return
	}
	w.ScheduleLocked(w.clock.Now().Add(d), ls.stream+":"+key, apply)
}

// Seen returns what authorization sees of key while a change propagates,
// and whether one does.
func (ls *Lags[T]) Seen(key string) (T, bool) {
	if l, ok := ls.m[key]; ok {
		return l.seen, true
	}
	var zero T
	return zero, false
}

// Forget drops what authorization remembers of key, so that an entity
// created later under the same key starts clean.
func (ls *Lags[T]) Forget(key string) { delete(ls.m, key) }

// Len is the number of entities whose changes are still propagating.
func (ls *Lags[T]) Len() int { return len(ls.m) }

// All yields every entity whose changes are still propagating with what
// authorization sees of it, in no particular order.
func (ls *Lags[T]) All() iter.Seq2[string, T] {
	return func(yield func(string, T) bool) {
		for k, l := range ls.m {
			if !yield(k, l.seen) {
				return
			}
		}
	}
}
