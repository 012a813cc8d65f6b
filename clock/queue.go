package clock

// fifo is an unbounded FIFO backed by a slice that is compacted lazily, so a
// steady send/receive flow reuses the same backing array.
type fifo[T any] struct {
	items []T
	head  int
}

func (q *fifo[T]) len() int { return len(q.items) - q.head }

func (q *fifo[T]) push(v T) {
	if q.head > 0 && q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	}
	q.items = append(q.items, v)
}

func (q *fifo[T]) pop() (T, bool) {
	var zero T
	if q.len() == 0 {
		return zero, false
	}
	v := q.items[q.head]
	q.items[q.head] = zero // drop the reference for the GC
	q.head++
	if q.head >= 64 && q.head*2 >= len(q.items) {
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	return v, true
}
