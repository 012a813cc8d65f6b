package clock

// event is one entry of the scheduler queue: either an actor to resume
// (a != nil) or a timer to fire (t != nil). Events are stored by value in the
// heap so scheduling allocates nothing. Cancelled events are not removed;
// they are recognised as stale when popped (generation mismatch or stopped
// timer), which keeps Stop and wake-ups O(1).
type event struct {
	when int64 // nanoseconds since the clock's start
	seq  uint64
	a    *actor
	gen  uint64 // a.gen at scheduling time
	t    *vtimer
}

// before orders events by time, then by sequence number, which makes ties
// FIFO and the whole simulation deterministic.
func (e *event) before(o *event) bool {
	if e.when != o.when {
		return e.when < o.when
	}
	return e.seq < o.seq
}

// eventHeap is a binary min-heap. container/heap is avoided because its
// interface-typed Push/Pop would allocate for every event.
type eventHeap []event

func (h *eventHeap) push(e event) {
	*h = append(*h, e)
	s := *h
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !s[i].before(&s[p]) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

// pop removes the minimum; the heap must be non-empty.
func (h *eventHeap) pop() event {
	s := *h
	top := s[0]
	n := len(s) - 1
	s[0] = s[n]
	s[n] = event{}
	s = s[:n]
	*h = s
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && s[r].before(&s[l]) {
			m = r
		}
		if !s[m].before(&s[i]) {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	return top
}
