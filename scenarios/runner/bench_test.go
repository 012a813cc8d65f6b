package runner_test

import (
	"context"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/firedrill-ir/firedrill/scenarios"
	"github.com/firedrill-ir/firedrill/scenarios/runner"
	"github.com/firedrill-ir/firedrill/timeline"
)

// heapSampler tracks the peak of live heap objects while a drill runs. It
// samples from the timeline's event hook (every 25 events) rather than from
// a goroutine of its own, so the drill's actors stay the only concurrency.
type heapSampler struct {
	sample [1]metrics.Sample
	n      int
	peak   uint64
}

func newHeapSampler() *heapSampler {
	h := &heapSampler{}
	h.sample[0].Name = "/memory/classes/heap/objects:bytes"
	return h
}

func (h *heapSampler) read() {
	metrics.Read(h.sample[:])
	if v := h.sample[0].Value.Uint64(); v > h.peak {
		h.peak = v
	}
}

func (h *heapSampler) onEvent(timeline.Event) {
	if h.n++; h.n%25 == 0 {
		h.read()
	}
}

// BenchmarkCryptominingDrill plays the full aws-ec2-cryptomining drill
// (5 virtual hours, attacker, detectors, background users and the
// responder over loopback HTTP) and reports wall time per drill, how much
// faster than real time it runs, and the peak live heap.
func BenchmarkCryptominingDrill(b *testing.B) { benchmarkDrill(b, cryptomining(b)) }

// BenchmarkMulticloudDrill plays multicloud-cryptomining (3 virtual hours,
// three simulators over loopback, one responder per cloud) and reports wall
// time per drill, the simulated-to-wall ratio and the peak live heap.
func BenchmarkMulticloudDrill(b *testing.B) {
	benchmarkDrill(b, scenario(b, "multicloud-cryptomining"))
}

func benchmarkDrill(b *testing.B, sc *scenarios.Scenario) {
	h := newHeapSampler()
	var simulated time.Duration
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		runtime.GC()
		h.read()
		res, err := runner.Run(context.Background(), sc, runner.Options{Seed: 7, OnEvent: h.onEvent})
		if err != nil {
			b.Fatal(err)
		}
		h.read()
		simulated += res.EndedAt.Sub(res.StartedAt)
	}
	wall := time.Since(start)
	b.ReportMetric(wall.Seconds()/float64(b.N), "wall-s/drill")
	b.ReportMetric(simulated.Seconds()/wall.Seconds(), "sim/wall")
	b.ReportMetric(float64(h.peak)/(1<<20), "peak-heap-MiB")
}
