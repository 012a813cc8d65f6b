package timeline

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type fixed struct{ t time.Time }

func (f *fixed) Now() time.Time { return f.t }

func TestAddStampsAndSortedRestoresTimeOrder(t *testing.T) {
	clk := &fixed{time.Date(2026, 1, 1, 0, 10, 0, 0, time.UTC)}
	tl := New(clk)
	var seen []string
	tl.Subscribe(func(e Event) { seen = append(seen, e.Kind) })
	a := tl.Add(Event{Actor: ActorAttacker, Kind: AttackStep, Name: "start-miner"})
	b := tl.Add(Event{Actor: ActorDetector, Kind: Alert, Name: "guardduty", At: clk.t.Add(-5 * time.Minute)})
	require.Equal(t, 1, a.Seq)
	require.Equal(t, 2, b.Seq)
	require.Equal(t, clk.t, a.At)
	sorted := Sorted(tl.Events())
	require.Equal(t, Alert, sorted[0].Kind, "an alert stamped earlier sorts first")
	first, ok := First(tl.Events(), OfKind(AttackStep))
	require.True(t, ok)
	require.Equal(t, "start-miner", first.Name)
	require.Equal(t, []string{AttackStep, Alert}, seen)
	require.Len(t, Filter(tl.Events(), OfKind(Alert, AttackStep)), 2)
}
