package tui

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/firedrill-ir/firedrill/timeline"
)

// speeds are the playback speeds +/- step through, in virtual seconds per
// wall second; speedMax plays everything at once.
var speeds = []float64{1, 10, 60, 300, 900, 3600, speedMax}

// speedMax is the "max" speed: the next frame jumps to the end.
const speedMax = 0

// frameInterval is how often the view advances and redraws during
// playback; a frame tick rather than a redraw per event coalesces bursts.
const frameInterval = 100 * time.Millisecond

// ParseSpeed reads a --speed value: "max" or a number of virtual seconds
// per wall second from 1 to 3600, with an optional x ("60x").
func ParseSpeed(s string) (float64, error) {
	v := strings.ToLower(strings.TrimSpace(s))
	if v == "max" {
		return speedMax, nil
	}
	v = strings.TrimSuffix(v, "x")
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 1 || f > 3600 {
		return 0, fmt.Errorf("speed %q: expected a number from 1 to 3600 (optionally with x, e.g. 60x) or max", s)
	}
	return f, nil
}

// speedLabel formats a speed for the header.
func speedLabel(s float64) string {
	if s == speedMax {
		return "max"
	}
	return strconv.FormatFloat(s, 'f', -1, 64) + "x"
}

// Playback is the position of a drill's playback: which part of the
// recorded timeline is shown. Everything the drill view shows is a pure
// function of the events and Pos, so playback is deterministic and the
// tests drive it by sending frames.
type Playback struct {
	// Events are in time order (timeline.Sorted): an alert is stamped when
	// it became visible, which may be before events appended earlier.
	Events     []timeline.Event
	Start, End time.Time
	// Pos is the virtual time shown, from Start.
	Pos    time.Duration
	Speed  float64
	Paused bool
	// Live is set while a tabletop drill is still running: the view
	// follows the newest event instead of a clock.
	Live bool
}

// newPlayback sorts events and starts at the beginning.
func newPlayback(events []timeline.Event, start, end time.Time, speed float64) Playback {
	p := Playback{Events: timeline.Sorted(events), Start: start, End: end, Speed: speed}
	p.fixEnd()
	return p
}

// fixEnd stretches End to the last event, so every event can be reached.
func (p *Playback) fixEnd() {
	if n := len(p.Events); n > 0 && p.Events[n-1].At.After(p.End) {
		p.End = p.Events[n-1].At
	}
	if p.Start.IsZero() && len(p.Events) > 0 {
		p.Start = p.Events[0].At
	}
}

// Duration is the length of the recorded drill.
func (p *Playback) Duration() time.Duration { return p.End.Sub(p.Start) }

// Now is the virtual instant shown.
func (p *Playback) Now() time.Time { return p.Start.Add(p.Pos) }

// Visible is how many events (a prefix of Events) have happened by Now.
func (p *Playback) Visible() int {
	now := p.Now()
	return sort.Search(len(p.Events), func(i int) bool { return p.Events[i].At.After(now) })
}

// AtEnd reports whether playback has reached the end of the drill.
func (p *Playback) AtEnd() bool { return !p.Live && p.Pos >= p.Duration() }

// Advance moves playback by one frame of wall time at the current speed.
func (p *Playback) Advance(frame time.Duration) {
	if p.Live {
		p.Pos = p.liveEdge()
		return
	}
	if p.Paused || p.AtEnd() {
		return
	}
	if p.Speed == speedMax {
		p.Pos = p.Duration()
		return
	}
	p.Pos += time.Duration(float64(frame) * p.Speed)
	if p.Pos > p.Duration() {
		p.Pos = p.Duration()
	}
}

// StepNext jumps to the next event after Now and pauses there: a
// presenter walks the room through the drill event by event.
func (p *Playback) StepNext() {
	p.Paused = true
	if n := p.Visible(); n < len(p.Events) {
		p.Pos = p.Events[n].At.Sub(p.Start)
	}
}

// JumpStart rewinds to the beginning and pauses there, so the room can
// step through from the first event (at max speed the next frame would
// otherwise be the end again); space plays.
func (p *Playback) JumpStart() { p.Pos, p.Paused = 0, true }

// JumpEnd goes to the end of the drill.
func (p *Playback) JumpEnd() { p.Pos = p.Duration() }

// Faster and Slower step through speeds.
func (p *Playback) Faster() {
	if p.Speed == speedMax {
		return
	}
	for _, s := range speeds {
		if s == speedMax || s > p.Speed {
			p.Speed = s
			return
		}
	}
}

func (p *Playback) Slower() {
	if p.Speed == speedMax {
		p.Speed = speeds[len(speeds)-2]
		return
	}
	for i := len(speeds) - 2; i >= 0; i-- {
		if speeds[i] < p.Speed {
			p.Speed = speeds[i]
			return
		}
	}
}

// Append adds live events (tabletop) and keeps the time order.
func (p *Playback) Append(events []timeline.Event) {
	if len(events) == 0 {
		return
	}
	p.Events = timeline.Sorted(append(p.Events, events...))
	p.fixEnd()
	if p.Live {
		p.Pos = p.liveEdge()
	}
}

// liveEdge is the position of the newest event: where a running drill is.
func (p *Playback) liveEdge() time.Duration {
	if n := len(p.Events); n > 0 {
		return max(p.Events[n-1].At.Sub(p.Start), 0)
	}
	return 0
}
