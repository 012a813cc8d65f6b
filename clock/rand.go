package clock

import (
	"hash/fnv"
	"math/rand/v2"
	"sync"
)

// Streams hands out one PCG generator per stream name, seeded from the root
// seed and the name (not from creation order), so each stream stays stable
// when other streams are added or drawn from in a different order: a new
// surface of a drill does not reshuffle the draws of old seeds.
type Streams struct {
	seed uint64
	mu   sync.Mutex
	byID map[string]*rand.Rand
}

// NewStreams returns the stream set of a root seed.
func NewStreams(seed uint64) *Streams {
	return &Streams{seed: seed, byID: make(map[string]*rand.Rand)}
}

// Get returns the generator named name, creating it on first use.
func (s *Streams) Get(name string) *rand.Rand {
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
