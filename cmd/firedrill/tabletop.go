package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/firedrill-ir/firedrill/responder"
	"io"

	"github.com/spf13/cobra"

	"github.com/firedrill-ir/firedrill/replay"
	"github.com/firedrill-ir/firedrill/tui"
)

// tabletopOptions are the flags of 'firedrill tabletop'.
type tabletopOptions struct {
	Scenario string
	Seed     uint64
	Save     string
	Playbook string
}

func newTabletopCmd() *cobra.Command {
	opts := &tabletopOptions{}
	cmd := &cobra.Command{
		Use:   "tabletop SCENARIO",
		Short: "Run a drill in the terminal UI with the team answering the playbook's decisions",
		Long: `Play a scenario live in the terminal UI and stop at each decision node of the
playbook's containment tree: the team sees the question, the options and what
each leads to, the facts the predicate reads and what automation would answer,
picks an answer with the keyboard (1/y yes, 2 no, enter to answer; n adds a
note) and the drill continues along the chosen branch. The drill's virtual
clock stands still while the team thinks; their wall-clock time is recorded
beside each decision.

Playbooks have no human-owned step marker today: the pauses are the decision
nodes.

At the end the team's decisions are shown beside the playbook's, with the
decision score and time, and the drill's MTTC with their choices beside the
MTTC automation reaches on the same seed. The summary is printed when the UI
closes; --save FILE keeps the whole exercise ('firedrill report FILE' prints it
again, 'firedrill tui --replay FILE' plays it back).

` + replay.DecisionFormula,
		Example: `  firedrill tabletop aws-ec2-cryptomining
  firedrill tabletop aws-ec2-cryptomining --seed 7 --save tabletop.json`,
		Args: exactlyOneArg("SCENARIO"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Scenario = args[0]
			return runTabletop(cmd.Context(), opts, cmd.InOrStdin(), cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.Uint64Var(&opts.Seed, "seed", 1, "root seed of the drill")
	f.StringVar(&opts.Save, "save", "", "save the exercise (timeline, scorecard, decisions) to FILE")
	f.StringVar(&opts.Playbook, "playbook", "", "rehearse this playbook (built-in id or YAML file) instead of the scenario's expected one")
	return cmd
}

func runTabletop(ctx context.Context, opts *tabletopOptions, in io.Reader, out io.Writer) error {
	sc, err := resolveScenario(opts.Scenario)
	if err != nil {
		return err
	}
	var pb *responder.Playbook
	if opts.Playbook != "" {
		if pb, err = loadPlaybookArg(opts.Playbook); err != nil {
			return err
		}
	}
	m, err := runProgram(ctx, tui.New(tui.Options{Scenario: sc, Tabletop: true, Seed: opts.Seed,
		SavePath: opts.Save, Context: ctx, Playbook: pb}), in, out)
	if err != nil {
		return err
	}
	return tabletopOutcome(m, out, opts)
}

// tabletopOutcome prints the result of a finished exercise, or says why
// there is none.
func tabletopOutcome(m *tui.Model, out io.Writer, opts *tabletopOptions) error {
	if err := m.Err(); err != nil {
		return err
	}
	f := m.Result()
	if f == nil {
		return errors.New("the tabletop ended before the drill finished: no result")
	}
	if _, err := io.WriteString(out, tui.TabletopSummary(f)); err != nil {
		return fmt.Errorf("writing the tabletop summary: %w", err)
	}
	if opts.Save != "" {
		if err := m.SaveErr(); err != nil {
			return err
		}
		fmt.Fprintf(out, "saved to %s\n", opts.Save)
	}
	return nil
}
