package awssim_test

import (
	"context"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/firedrill-ir/firedrill/cloudsim/awssim"
	"github.com/firedrill-ir/firedrill/cloudsim/awssim/awssimtest"
	"github.com/firedrill-ir/firedrill/cloudsim/demo"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
)

// BenchmarkDescribeInstancesRoundTrip measures full SDK round trips through
// the emulator over loopback HTTP: signing, routing, signature check,
// authorization, the handler, audit, XML encoding and SDK decoding.
// Target: 2,000 calls/s on one core (run with -cpu 1).
func BenchmarkDescribeInstancesRoundTrip(b *testing.B) {
	clk := &awssimtest.ManualClock{}
	clk.Advance(time.Duration(awssimtest.Start.UnixNano()))
	w := world.New(clk, 1)
	env, err := demo.SeedAWS(w, demo.Options{ScaleInAfter: -1})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(awssim.New(w))
	defer srv.Close()
	te := &awssimtest.Env{URL: srv.URL}
	client := ec2.NewFromConfig(te.Config(env.AdminKeyID, env.AdminSecret, ""))
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		out, err := client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
		if err != nil {
			b.Fatal(err)
		}
		if len(out.Reservations) == 0 {
			b.Fatal("no reservations")
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "calls/s")
}

// BenchmarkDemoWorldMemory reports the heap a seeded demo world holds, and
// how it grows with a long audit log (the dominant growth in long drills).
func BenchmarkDemoWorldMemory(b *testing.B) {
	for i := 0; i < b.N; i++ {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		clk := &awssimtest.ManualClock{}
		w := world.New(clk, uint64(i))
		if _, err := demo.SeedAWS(w, demo.Options{}); err != nil {
			b.Fatal(err)
		}
		w.Lock()
		for j := 0; j < 10000; j++ {
			w.RecordAuditLocked(&world.AuditEvent{ID: "e", Cloud: "aws", Operation: "DescribeInstances"})
		}
		w.Unlock()
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/1024, "KiB/world+10k-events")
		runtime.KeepAlive(w)
	}
}
