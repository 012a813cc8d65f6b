package tui

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/firedrill-ir/firedrill/timeline"
)

// Lanes of the drill view.
const (
	laneAttacker = iota
	laneCloud    // cloud telemetry, detectors and the runner's checks
	laneResponder
	laneCount
)

var laneTitles = [laneCount]string{"ATTACKER", "CLOUD & DETECTORS", "RESPONDER"}

// laneOf puts an event in its lane by actor.
func laneOf(e timeline.Event) int {
	switch e.Actor {
	case timeline.ActorAttacker:
		return laneAttacker
	case timeline.ActorResponder, timeline.ActorHuman:
		return laneResponder
	}
	return laneCloud
}

// label is an event's one-line summary in its lane.
func label(e timeline.Event) string {
	d := e.Detail
	switch e.Kind {
	case timeline.ScenarioStart:
		return "start " + e.Name
	case timeline.ScenarioEnd:
		return "end"
	case timeline.AttackStep:
		return "▶ " + firstNonEmpty(e.Message, e.Name)
	case timeline.AttackAction:
		return outcomeMark(e.Outcome) + " " + firstNonEmpty(d["operation"], e.Name)
	case timeline.PathProbe:
		// The path's own name (its last segment) says which way in.
		name := e.Name[strings.LastIndex(e.Name, "/")+1:]
		if e.Outcome == timeline.Succeeded {
			return "⇄ open " + name
		}
		return "✂ cut " + name
	case timeline.BackgroundAction:
		return outcomeMark(e.Outcome) + " " + d["principal"] + " at work"
	case timeline.FirstLog:
		return "log " + e.Name
	case timeline.Alert:
		return "⚠ " + e.Name + " " + d["type"]
	case timeline.Ack:
		return "ack " + firstNonEmpty(d["case"], e.Name)
	case timeline.StepStart:
		return "▸ " + e.Name
	case timeline.StepFinish:
		return outcomeMark(e.Outcome) + " " + e.Name
	case timeline.StepRetry:
		return "↻ " + e.Name
	case timeline.StepError:
		return "✗ " + e.Name
	case timeline.StepSkip:
		return "– " + e.Name
	case timeline.Decision:
		return "? " + e.Name + ": " + firstNonEmpty(d["answer"], e.Outcome)
	case timeline.Evidence:
		return "⛁ " + firstNonEmpty(d["kind"], e.Name)
	case timeline.Contained:
		return "■ CONTAINED"
	case timeline.Verified:
		return outcomeMark(e.Outcome) + " verified"
	case timeline.ResourceLost:
		return "lost " + e.Name + " " + e.Resource
	case timeline.FlowEnded:
		return "flow ended"
	case timeline.Notify:
		return "✉ " + e.Name
	}
	return e.Kind + " " + e.Name
}

func outcomeMark(outcome string) string {
	switch outcome {
	case timeline.Succeeded:
		return "✓"
	case timeline.Denied:
		return "⊘"
	case timeline.Failed:
		return "✗"
	}
	return "·"
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// detailLines describes the selected event: what the detail pane shows.
// Attacker calls show the API call, the caller and the result; decisions
// their question, predicate, inputs and answer; artifacts their hash.
func detailLines(e timeline.Event, start time.Time) []string {
	d := e.Detail
	out := []string{fmt.Sprintf("#%d %s  %s/%s %s", e.Seq, offset(e.At, start), e.Actor, e.Kind, e.Name)}
	add := func(k, v string) {
		if v != "" {
			out = append(out, k+": "+v)
		}
	}
	switch e.Kind {
	case timeline.AttackAction:
		add("call", d["operation"])
		caller := d["credential"]
		if k := d["access_key_id"]; k != "" {
			caller += " (" + k + ")"
		}
		add("caller", caller)
		res := e.Outcome
		if c := d["error_code"]; c != "" {
			res += " " + c
		}
		add("result", res)
		add("resource", e.Resource)
	case timeline.Decision:
		add("question", d["question"])
		add("predicate", d["predicate"])
		add("inputs", d["inputs"])
		add("answer", d["answer"]+" → "+d["next"]+" (by "+d["decided_by"]+")")
		add("team note", d["team_note"])
		add("team time", d["team_seconds"])
	case timeline.Evidence:
		add("artifact", d["kind"]+" "+d["id"])
		add("sha256", d["sha256"])
		add("location", d["location"])
		add("source", d["source"])
		add("by", d["collected_by"])
	case timeline.Alert:
		add("type", d["type"])
		add("resource", e.Resource)
		add("severity", d["severity"])
		add("latency", d["latency_seconds"]+"s")
	default:
		add("resource", e.Resource)
		add("outcome", e.Outcome)
	}
	if e.Message != "" {
		add("message", strings.ReplaceAll(strings.TrimSpace(e.Message), "\n", " ⏎ "))
	}
	if e.Kind != timeline.AttackAction && e.Kind != timeline.Decision && e.Kind != timeline.Evidence {
		keys := make([]string, 0, len(d))
		for k := range d {
			if k != "correlation_id" && k != "case" && k != "playbook" {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		var kv []string
		for _, k := range keys {
			kv = append(kv, k+"="+d[k])
		}
		add("detail", strings.Join(kv, " "))
	}
	return out
}

// offset formats t as T+h:mm:ss from start, the way the drill is read.
func offset(t, start time.Time) string {
	d := t.Sub(start)
	if d < 0 {
		return "T-" + clockDur(-d)
	}
	return "T+" + clockDur(d)
}

// clockDur is h:mm:ss (whole seconds, truncated).
func clockDur(d time.Duration) string {
	s := int64(d / time.Second)
	return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
}

// humanDur is a short duration ("12m41s", "32s", "5h0m0s").
func humanDur(d time.Duration) string {
	return d.Round(time.Second).String()
}

// secs formats a scorecard metric the way the JSON has it, then as a
// duration: "760.622s (12m41s)"; "-" for a metric never measured.
func secs(v *float64) string {
	if v == nil {
		return "-"
	}
	return strconv.FormatFloat(*v, 'f', -1, 64) + "s (" + humanDur(time.Duration(*v*float64(time.Second))) + ")"
}

// fit truncates s to width cells and pads it with spaces to exactly width.
func fit(s string, width int) string {
	if width <= 0 {
		return ""
	}
	s = ansi.Truncate(s, width, "…")
	if w := ansi.StringWidth(s); w < width {
		s += strings.Repeat(" ", width-w)
	}
	return s
}

// wrap breaks s into lines of at most width cells (hard-wrapping long
// words such as hashes and JSON).
func wrap(s string, width int) []string {
	if width <= 0 {
		return nil
	}
	return strings.Split(ansi.Wrap(s, width, " "), "\n")
}

// block pads or cuts lines to exactly height lines of width cells, so
// panes line up when joined side by side.
func block(lines []string, width, height int) string {
	out := make([]string, height)
	for i := range out {
		if i < len(lines) {
			out[i] = fit(lines[i], width)
		} else {
			out[i] = strings.Repeat(" ", max(width, 0))
		}
	}
	return strings.Join(out, "\n")
}
