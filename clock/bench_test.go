package clock_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/firedrill-ir/firedrill/clock"
)

// BenchmarkVirtualTimerEvents measures pure scheduler throughput: a chain of
// AfterFunc callbacks, each scheduling the next, with no goroutine hand-off.
func BenchmarkVirtualTimerEvents(b *testing.B) {
	b.ReportAllocs()
	v := clock.NewVirtual(epoch, 1)
	remaining := b.N
	var tick func()
	tick = func() {
		remaining--
		if remaining > 0 {
			v.AfterFunc(time.Millisecond, tick)
		}
	}
	v.AfterFunc(time.Millisecond, tick)
	b.ResetTimer()
	start := time.Now()
	if err := v.Run(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(v.Events())/time.Since(start).Seconds(), "events/s")
}

// BenchmarkVirtualActorSleep measures actor wake-ups: every event is a
// baton hand-off to a sleeping actor's goroutine and back.
func BenchmarkVirtualActorSleep(b *testing.B) {
	for _, actors := range []int{1, 100, 10_000} {
		b.Run(fmt.Sprintf("actors=%d", actors), func(b *testing.B) {
			b.ReportAllocs()
			v := clock.NewVirtual(epoch, 1)
			perActor := b.N/actors + 1
			for i := range actors {
				v.Go(context.Background(), fmt.Sprint("a", i), func(ctx context.Context) {
					r := v.Rand(fmt.Sprint("a", i))
					for range perActor {
						if err := v.Sleep(ctx, time.Duration(1+r.IntN(1000))*time.Millisecond); err != nil {
							return
						}
					}
				})
			}
			b.ResetTimer()
			start := time.Now()
			if err := v.Run(context.Background()); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(v.Events())/time.Since(start).Seconds(), "events/s")
		})
	}
}
