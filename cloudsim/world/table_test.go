package world

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/firedrill-ir/firedrill/clock"
)

// TestTableOrder: a table lists and ranges in id order whatever the order
// of insertion, its zero value is usable, and it marshals as an object by id.
func TestTableOrder(t *testing.T) {
	var tb Table[int]
	if tb.Len() != 0 || tb.Lookup("x") != 0 {
		t.Fatal("the zero table is not empty")
	}
	b, err := json.Marshal(tb)
	if err != nil || string(b) != "{}" {
		t.Fatalf("empty table marshals as %s, %v", b, err)
	}
	for i, id := range []string{"c", "a", "b"} {
		tb.Put(id, i)
	}
	if got := tb.Keys(); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("keys %v", got)
	}
	var seen []string
	for id, v := range tb.All() {
		seen = append(seen, id)
		if v != tb.Lookup(id) {
			t.Fatalf("%s: %d, want %d", id, v, tb.Lookup(id))
		}
	}
	if !slices.Equal(seen, []string{"a", "b", "c"}) {
		t.Fatalf("All yields %v", seen)
	}
	tb.Delete("b")
	if _, ok := tb.Get("b"); ok || tb.Len() != 2 {
		t.Fatal("b survived its deletion")
	}
	if b, _ := json.Marshal(tb); string(b) != `{"a":1,"c":0}` {
		t.Fatalf("marshals as %s", b)
	}
}

// TestNewFlowValidates: the checks every cloud's network model shares.
func TestNewFlowValidates(t *testing.T) {
	for _, spec := range []FlowSpec{
		{Direction: "sideways", RemoteIP: "1.2.3.4"},
		{Protocol: "sctp", RemoteIP: "1.2.3.4"},
		{RemoteIP: "pool.example"},
	} {
		if _, err := NewFlow("i-1", "eni-1", spec); err == nil {
			t.Fatalf("%+v: no error", spec)
		} else if ce, ok := ComputeErrorOf(err); !ok || ce.Kind != KindInvalid {
			t.Fatalf("%+v: %v, want an Invalid compute error", spec, err)
		}
	}
	f, err := NewFlow("i-1", "eni-1", FlowSpec{RemoteIP: "1.2.3.4", RemotePort: 443})
	if err != nil || f.Direction != "egress" || f.Protocol != "tcp" || f.LocalPort != 0 {
		t.Fatalf("defaults: %+v, %v", f, err)
	}
	w := New(clock.NewManual(time.Time{}), 7)
	w.Lock()
	w.DrawEphemeralPortsLocked(f)
	w.Unlock()
	if f.LocalPort < 32768 || f.LocalPort >= 61000 {
		t.Fatalf("ephemeral port %d outside Linux's range", f.LocalPort)
	}
}
