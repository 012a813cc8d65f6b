package main

import (
	"context"
	"fmt"
	"io"
	"os"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/spf13/cobra"

	"github.com/firedrill-ir/firedrill/replay"
	"github.com/firedrill-ir/firedrill/tui"
)

// tuiOptions are the flags of 'firedrill tui'.
type tuiOptions struct {
	Scenario string
	Seed     uint64
	Speed    string
	Replay   string
	Playbook string
}

func newTUICmd() *cobra.Command {
	opts := &tuiOptions{}
	cmd := &cobra.Command{
		Use:   "tui",
		Short: "Watch, replay and score drills in a terminal UI",
		Long: `Open the terminal UI: a scenario picker (filter by cloud and ATT&CK tactic; the
scenario and its playbook in detail), then a drill view that plays the drill's
timeline back in lanes (attacker; cloud telemetry and detectors; responder) on
the virtual clock, with a scoreboard that fills in as playback advances and, at
the end, is the same scorecard 'firedrill run --output json' prints.

  firedrill tui                                   pick a scenario
  firedrill tui --scenario ID|FILE [--seed N] [--speed X|max]
                                                  run it and watch it at once
  firedrill tui --replay FILE                     play back 'firedrill run --save FILE'

In the picker, enter runs the drill and t starts a tabletop exercise (see
'firedrill tabletop'). In the drill view: space pauses, + and - change the
speed (1x … 3600x, max), n steps to the next event, g and G jump to the start
and the end, ↑/↓ select an event (follow mode pauses; f resumes it), esc goes
back, q quits. Keys are always listed at the bottom; ? shows them all.

Colours follow NO_COLOR.`,
		Example: `  firedrill tui
  firedrill tui --scenario aws-ec2-cryptomining --seed 7 --speed max
  firedrill run aws-ec2-cryptomining --seed 7 --save drill.json && firedrill tui --replay drill.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runTUI(cmd.Context(), opts, cmd.InOrStdin(), cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Scenario, "scenario", "", "open the drill view on this scenario (built-in id or YAML file) and start it")
	f.Uint64Var(&opts.Seed, "seed", 1, "root seed of drills started from the TUI")
	f.StringVar(&opts.Speed, "speed", "300", "playback speed: 1 to 3600 virtual seconds per second (e.g. 60 or 60x), or max")
	f.StringVar(&opts.Replay, "replay", "", "play back a drill saved with 'firedrill run --save FILE'")
	f.StringVar(&opts.Playbook, "playbook", "", "respond with this playbook (built-in id or YAML file) instead of each scenario's expected one")
	return cmd
}

// tuiOptionsFrom validates the flags into the TUI's options; every problem
// is a usage error, found before the terminal is taken over.
func tuiOptionsFrom(opts *tuiOptions) (tui.Options, error) {
	speed, err := tui.ParseSpeed(opts.Speed)
	if err != nil {
		return tui.Options{}, &usageError{msg: "--speed: " + err.Error()}
	}
	to := tui.Options{Seed: opts.Seed, Speed: &speed}
	if opts.Replay != "" && opts.Scenario != "" {
		return to, &usageError{msg: "--replay and --scenario exclude each other: a replay already names its scenario"}
	}
	if opts.Scenario != "" {
		sc, err := resolveScenario(opts.Scenario)
		if err != nil {
			return to, err
		}
		to.Scenario = sc
	}
	if opts.Playbook != "" {
		if opts.Replay != "" {
			return to, &usageError{msg: "--playbook and --replay exclude each other: a replay already holds its responder's actions"}
		}
		pb, err := loadPlaybookArg(opts.Playbook)
		if err != nil {
			return to, err
		}
		to.Playbook = pb
	}
	if opts.Replay != "" {
		f, err := replay.Read(opts.Replay)
		if err != nil {
			return to, &usageError{msg: err.Error()}
		}
		to.Replay = f
	}
	return to, nil
}

func runTUI(ctx context.Context, opts *tuiOptions, in io.Reader, out io.Writer) error {
	to, err := tuiOptionsFrom(opts)
	if err != nil {
		return err
	}
	to.Context = ctx
	m, err := runProgram(ctx, tui.New(to), in, out)
	if err != nil {
		return err
	}
	if err := m.Err(); err != nil {
		return err
	}
	return nil
}

// runProgram runs the TUI on the terminal and returns its final model.
func runProgram(ctx context.Context, m *tui.Model, in io.Reader, out io.Writer) (*tui.Model, error) {
	popts := []tea.ProgramOption{tea.WithContext(ctx), tea.WithInput(in), tea.WithOutput(out)}
	// bubbletea detects NO_COLOR itself; saying so explicitly keeps a
	// later capability report from upgrading the profile to colour.
	if v, ok := os.LookupEnv("NO_COLOR"); ok && v != "" {
		popts = append(popts, tea.WithColorProfile(colorprofile.ASCII))
	}
	final, err := tea.NewProgram(m, popts...).Run()
	if err != nil {
		return nil, fmt.Errorf("terminal UI: %w", err)
	}
	fm, ok := final.(*tui.Model)
	if !ok {
		return nil, fmt.Errorf("terminal UI: unexpected final model %T", final)
	}
	return fm, nil
}
