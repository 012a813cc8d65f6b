package responder

import (
	"sync"
)

// Journal remembers the result of every successful step under its
// idempotency key (case id, step id, resource), so running a case again —
// after a crash, or when an alert repeats — does not snapshot, isolate or
// revoke twice. The in-memory journal serves drills; a durable journal (an
// embedded SQLite file, so a restarted live responder resumes) implements
// the same two methods.
type Journal interface {
	// Load returns the recorded result for key, if any.
	Load(key string) (StepRecord, bool)
	// Store records a successful step's result.
	Store(key string, rec StepRecord) error
}

// MemoryJournal is a Journal held in memory.
type MemoryJournal struct {
	mu   sync.Mutex
	recs map[string]StepRecord
}

// NewMemoryJournal returns an empty in-memory journal.
func NewMemoryJournal() *MemoryJournal { return &MemoryJournal{recs: map[string]StepRecord{}} }

// Load implements Journal.
func (j *MemoryJournal) Load(key string) (StepRecord, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	r, ok := j.recs[key]
	if ok {
		r.Output = deepCopy(r.Output)
	}
	return r, ok
}

// Store implements Journal.
func (j *MemoryJournal) Store(key string, rec StepRecord) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	rec.Output = deepCopy(rec.Output)
	j.recs[key] = rec
	return nil
}

// Len is the number of recorded steps.
func (j *MemoryJournal) Len() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.recs)
}

// deepCopy copies a JSON-like value (maps, slices, scalars), so facts handed
// to predicates, deciders and journals cannot alias the case's own.
func deepCopy[T any](v T) T {
	return any(copyValue(v)).(T)
}

func copyValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if x == nil {
			return x
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = copyValue(e)
		}
		return out
	case map[string]string:
		if x == nil {
			return x
		}
		out := make(map[string]string, len(x))
		for k, e := range x {
			out[k] = e
		}
		return out
	case []any:
		if x == nil {
			return x
		}
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = copyValue(e)
		}
		return out
	case []string:
		return append([]string(nil), x...)
	}
	return v
}
