// Package replay is the file a recorded drill is saved to: the scenario,
// seed and playbook it ran with, every timeline event, what scoring needs
// besides the events (clouds, SLO, enabled controls) and the scorecard, and
// for a tabletop exercise the team's decisions and their score.
//
// A replay holds the whole timeline rather than a pointer to the scenario,
// so it plays back (firedrill tui --replay) and prints (firedrill report)
// the same way after the catalog, the simulator or the responder changed,
// and on a machine that has none of the scenario's files. The scorecard is
// stored as computed at the time of the run; ScoreInput rebuilds the input
// it was computed from so a viewer can score any prefix of the timeline with
// the same code.
//
// The document is versioned: Read rejects a file whose version it does not
// know instead of misreading it.
package replay

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/firedrill-ir/firedrill/scenarios/runner"
	"github.com/firedrill-ir/firedrill/scoring"
	"github.com/firedrill-ir/firedrill/timeline"
)

// Version is the version of the document this package writes and reads.
const Version = 1

// Kinds of recording.
const (
	KindRun      = "run"      // firedrill run --save, or a drill watched in the TUI
	KindTabletop = "tabletop" // a tabletop exercise: decisions were the team's
)

// File is one recorded drill. Field order is the JSON order.
type File struct {
	Version  int    `json:"version"`
	Kind     string `json:"kind"`
	Scenario string `json:"scenario"`
	Title    string `json:"title,omitempty"`
	Seed     uint64 `json:"seed"`
	Playbook string `json:"playbook,omitempty"`
	// Input is what scoring reads besides the events.
	Input Input `json:"score_input"`
	// Events is the drill's timeline in append order.
	Events    []timeline.Event   `json:"events"`
	Scorecard *scoring.Scorecard `json:"scorecard"`
	// Tabletop is set for KindTabletop.
	Tabletop *Tabletop `json:"tabletop,omitempty"`
}

// Input mirrors scoring.ScoreInput without the events, with the SLO
// targets written as Go duration strings so the file reads naturally.
type Input struct {
	Clouds    []string  `json:"clouds"`
	Playbooks []string  `json:"playbooks"`
	StartedAt time.Time `json:"started_at"`
	EndedAt   time.Time `json:"ended_at"`
	SLO       SLO       `json:"slo"`
	Controls  []string  `json:"controls"`
	// Faults describe the faults the drill injected.
	Faults []string `json:"faults,omitempty"`
	// EradicationOutOfScope mirrors the scenario's expect.eradication.
	EradicationOutOfScope bool `json:"eradication_out_of_scope,omitempty"`
}

// SLO is scoring.SLO with durations as strings ("" = no target).
type SLO struct {
	Profile string `json:"profile,omitempty"`
	MTTD    string `json:"mttd,omitempty"`
	MTTA    string `json:"mtta,omitempty"`
	MTTC    string `json:"mttc,omitempty"`
}

// FromResult records a finished drill as a KindRun file, with its
// scorecard computed from the result's ScoreInput: the one conversion from
// a drill to a scoring input, which 'firedrill run' uses too, so a drill
// saved or watched in the TUI scores exactly as 'firedrill run' prints.
func FromResult(res *runner.Result) *File {
	in := res.ScoreInput()
	f := &File{Version: Version, Kind: KindRun, Scenario: in.Scenario, Seed: res.Seed,
		Input: inputOf(in), Events: res.Events, Scorecard: scoring.Score(in)}
	if res.Scenario != nil {
		f.Title = res.Scenario.Title
	}
	if len(res.Playbooks) > 0 {
		f.Playbook = res.Playbooks[0]
	}
	return f
}

func inputOf(in scoring.ScoreInput) Input {
	return Input{Clouds: nonNil(in.Clouds), Playbooks: nonNil(in.Playbooks), StartedAt: in.StartedAt.UTC(),
		EndedAt: in.EndedAt.UTC(), Controls: nonNil(in.Controls), EradicationOutOfScope: in.EradicationOutOfScope,
		Faults: in.Faults, SLO: SLO{Profile: in.SLO.Profile, MTTD: durString(in.SLO.MTTD), MTTA: durString(in.SLO.MTTA), MTTC: durString(in.SLO.MTTC)}}
}

func durString(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// ScoreInput rebuilds the scoring input of the whole recorded drill. Decode
// has checked the SLO durations, so they parse here.
func (f *File) ScoreInput() scoring.ScoreInput {
	slo, _ := f.Input.SLO.parse()
	return scoring.ScoreInput{Scenario: f.Scenario, Seed: f.Seed, Clouds: f.Input.Clouds, Playbooks: f.Input.Playbooks,
		StartedAt: f.Input.StartedAt, EndedAt: f.Input.EndedAt, SLO: slo, Controls: f.Input.Controls, Events: f.Events,
		EradicationOutOfScope: f.Input.EradicationOutOfScope, Faults: f.Input.Faults}
}

func (s SLO) parse() (scoring.SLO, error) {
	out := scoring.SLO{Profile: s.Profile}
	for _, d := range []struct {
		name string
		v    string
		dst  *time.Duration
	}{{"mttd", s.MTTD, &out.MTTD}, {"mtta", s.MTTA, &out.MTTA}, {"mttc", s.MTTC, &out.MTTC}} {
		if d.v == "" {
			continue
		}
		v, err := time.ParseDuration(d.v)
		if err != nil {
			return out, fmt.Errorf("score_input.slo.%s: %w", d.name, err)
		}
		*d.dst = v
	}
	return out, nil
}

// Encode writes f as indented JSON with a trailing newline.
func Encode(w io.Writer, f *File) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(f); err != nil {
		return fmt.Errorf("encoding the replay of %s: %w", f.Scenario, err)
	}
	return nil
}

// Write saves f to path, through a temporary file in the same directory
// renamed into place, so an interrupted save never leaves half a file
// where a good one was.
func Write(path string, f *File) error {
	var buf bytes.Buffer
	if err := Encode(&buf, f); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("saving %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // no-op once renamed
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return fmt.Errorf("saving %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("saving %s: %w", path, err)
	}
	// CreateTemp makes the file private; a saved drill is an ordinary
	// document.
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("saving %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("saving %s: %w", path, err)
	}
	return nil
}

// Read loads and validates a replay file.
func Read(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("replay file: %w", err)
	}
	return Decode(path, data)
}

// Error is a replay file that cannot be used; it names the file.
type Error struct {
	File string
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("replay file %s: %s", e.File, e.Msg) }

// Decode parses and validates a replay document; name is the file it came
// from, for error messages.
func Decode(name string, data []byte) (*File, error) {
	bad := func(format string, a ...any) error { return &Error{File: name, Msg: fmt.Sprintf(format, a...)} }
	var probe struct {
		Version *int `json:"version"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, bad("not a firedrill replay (JSON): %v", err)
	}
	if probe.Version == nil {
		return nil, bad("no \"version\" field: not a firedrill replay (write one with 'firedrill run SCENARIO --save FILE')")
	}
	if *probe.Version != Version {
		return nil, bad("version %d is not supported: this firedrill reads version %d", *probe.Version, Version)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f File
	if err := dec.Decode(&f); err != nil {
		return nil, bad("%v", err)
	}
	switch {
	case f.Kind != KindRun && f.Kind != KindTabletop:
		return nil, bad("kind %q: expected %q or %q", f.Kind, KindRun, KindTabletop)
	case f.Scenario == "":
		return nil, bad("no scenario id")
	case len(f.Events) == 0:
		return nil, bad("no events: nothing to play back")
	case f.Scorecard == nil:
		return nil, bad("no scorecard")
	case f.Kind == KindTabletop && f.Tabletop == nil:
		return nil, bad("kind tabletop without a tabletop section")
	case f.Input.StartedAt.IsZero() || f.Input.EndedAt.Before(f.Input.StartedAt):
		return nil, bad("score_input: started_at %s and ended_at %s do not make a drill", f.Input.StartedAt, f.Input.EndedAt)
	}
	if _, err := f.Input.SLO.parse(); err != nil {
		return nil, bad("%v", err)
	}
	for i, e := range f.Events {
		if e.Kind == "" || e.At.IsZero() {
			return nil, bad("events[%d]: an event needs a kind and a time", i)
		}
	}
	return &f, nil
}

// IsError reports whether err is a replay validation error.
func IsError(err error) bool {
	var e *Error
	return errors.As(err, &e)
}
