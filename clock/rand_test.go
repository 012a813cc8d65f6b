package clock_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/clock"
)

func draw(c clock.Clock, stream string, n int) []uint64 {
	r := c.Rand(stream)
	out := make([]uint64, n)
	for i := range out {
		out[i] = r.Uint64()
	}
	return out
}

func TestRandStreams(t *testing.T) {
	a := draw(clock.NewVirtual(epoch, 99), "attacker", 16)
	require.Equal(t, a, draw(clock.NewVirtual(epoch, 99), "attacker", 16), "same seed+name")
	require.Equal(t, a, draw(clock.NewReal(99), "attacker", 16), "live and virtual agree")
	assert.NotEqual(t, a, draw(clock.NewVirtual(epoch, 99), "defender", 16), "different name")
	assert.NotEqual(t, a, draw(clock.NewVirtual(epoch, 100), "attacker", 16), "different seed")

	// Creation and use order of other streams must not matter.
	v := clock.NewVirtual(epoch, 99)
	noise := draw(v, "defender", 100)
	_ = draw(v, "network", 7)
	assert.Equal(t, a, draw(v, "attacker", 16))
	assert.Equal(t, uint64(99), v.Seed())

	// The generator is cached per name: a second call continues the sequence.
	w := clock.NewVirtual(epoch, 99)
	first := draw(w, "defender", 50)
	second := draw(w, "defender", 50)
	assert.Equal(t, noise, append(first, second...))
	assert.Same(t, w.Rand("x"), w.Rand("x"))
}
