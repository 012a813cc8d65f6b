package world

import (
	"encoding/json"
	"iter"
	"sort"
)

// Table is a set of resources by id, the way the cloud state packages keep
// their resources: lookups, and listings in id order, never the map itself,
// so that no caller can come to depend on map order or on how a cloud
// stores its state. The zero value is an empty table. Like everything in
// the world, a table is used with the world locked.
type Table[T any] struct {
	m map[string]T
}

// Get returns the resource with the id and whether there is one.
func (t *Table[T]) Get(id string) (T, bool) {
	v, ok := t.m[id]
	return v, ok
}

// Lookup returns the resource with the id, the zero value if there is none.
func (t *Table[T]) Lookup(id string) T { return t.m[id] }

// Put stores v under id, replacing what was there.
func (t *Table[T]) Put(id string, v T) {
	if t.m == nil {
		t.m = map[string]T{}
	}
	t.m[id] = v
}

// Delete removes the resource with the id, if any.
func (t *Table[T]) Delete(id string) { delete(t.m, id) }

// Len is the number of resources.
func (t *Table[T]) Len() int { return len(t.m) }

// Keys returns the ids in order.
func (t *Table[T]) Keys() []string {
	keys := make([]string, 0, len(t.m))
	for k := range t.m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// All yields every resource in id order.
func (t *Table[T]) All() iter.Seq2[string, T] {
	return func(yield func(string, T) bool) {
		for _, k := range t.Keys() {
			if !yield(k, t.m[k]) {
				return
			}
		}
	}
}

// MarshalJSON renders the table as a JSON object by id (in id order, as
// encoding/json orders map keys), so a snapshot of the world reads the
// same as before the resources moved behind tables.
func (t Table[T]) MarshalJSON() ([]byte, error) {
	if t.m == nil {
		return []byte("{}"), nil
	}
	return json.Marshal(t.m)
}
