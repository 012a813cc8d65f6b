package clock

import (
	"fmt"
	"strings"
	"time"
)

// BlockedActor describes one actor that was blocked when a deadlock was
// detected.
type BlockedActor struct {
	Name      string
	WaitingOn string // e.g. `recv on chan "evidence"` or "wait on waitgroup"
	Daemon    bool
}

// DeadlockError is returned by Virtual.Run when non-daemon actors are blocked
// and no event can ever wake them. Reporting instead of hanging is what makes
// drills safe to run in CI.
type DeadlockError struct {
	At      time.Time
	Blocked []BlockedActor // sorted by name
}

func (e *DeadlockError) Error() string {
	var b strings.Builder
	noun := "actors"
	if len(e.Blocked) == 1 {
		noun = "actor"
	}
	fmt.Fprintf(&b, "clock: deadlock at %s: %d %s blocked: ",
		e.At.Format(time.RFC3339Nano), len(e.Blocked), noun)
	for i, ba := range e.Blocked {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q (%s", ba.Name, ba.WaitingOn)
		if ba.Daemon {
			b.WriteString(", daemon")
		}
		b.WriteString(")")
	}
	return b.String()
}

// PanicError is returned by Virtual.Run when an actor or an AfterFunc
// callback panicked. The panic is recovered so the scheduler can unwind the
// other actors instead of hanging.
type PanicError struct {
	Actor string // actor name, or "AfterFunc callback"
	Value any
	Stack []byte
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("clock: actor %q panicked: %v", e.Actor, e.Value)
}

// Unwrap exposes a panic value that is itself an error.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}
