package clock

import (
	"hash/fnv"
	"math/rand/v2"
	"sync"
)

// streams hands out one PCG generator per stream name. Seeding from the name
// (not from creation order) keeps each stream stable when other streams are
// added or used in a different order.
type streams struct {
	seed uint64
	mu   sync.Mutex
	byID map[string]*rand.Rand
}

func newStreams(seed uint64) *streams {
	return &streams{seed: seed, byID: make(map[string]*rand.Rand)}
}

// get returns the cached generator for name, creating it on first use.
func (s *streams) get(name string) *rand.Rand {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.byID[name]
	if !ok {
		r = rand.New(rand.NewPCG(s.seed, streamKey(name)))
		s.byID[name] = r
	}
	return r
}

// streamKey is the FNV-64a hash of the stream name.
func streamKey(name string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(name)) // hash.Hash never returns an error
	return h.Sum64()
}
