package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/firedrill-ir/firedrill/replay"
	"github.com/firedrill-ir/firedrill/tui"
)

func newReportCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "report FILE",
		Short: "Print the scorecard of a saved drill or tabletop exercise",
		Long: `Print again what a saved drill ('firedrill run --save FILE') or tabletop exercise
('firedrill tabletop --save FILE') produced: the scorecard as a table, or with
--output json the scorecard exactly as 'firedrill run --output json' printed it;
for a tabletop, the team's decisions beside the playbook's with the decision
score and time.`,
		Example: `  firedrill run aws-ec2-cryptomining --seed 7 --save drill.json
  firedrill report drill.json
  firedrill report tabletop.json --output json`,
		Args: exactlyOneArg("FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runReport(args[0], output, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", outTable, "output format: table or json")
	return cmd
}

func runReport(path, output string, out io.Writer) error {
	if err := checkOutput(output, outTable, outJSON); err != nil {
		return err
	}
	f, err := replay.Read(path)
	if err != nil {
		return &usageError{msg: err.Error()}
	}
	if output == outJSON {
		js, err := f.Scorecard.JSON()
		if err != nil {
			return err
		}
		if _, err := out.Write(js); err != nil {
			return fmt.Errorf("writing the scorecard of %s: %w", path, err)
		}
		return nil
	}
	fmt.Fprintf(out, "%s of %s (seed %d) from %s\n\n", f.Kind, f.Scenario, f.Seed, path)
	if err := f.Scorecard.Table(out); err != nil {
		return fmt.Errorf("printing the scorecard of %s: %w", path, err)
	}
	if f.Tabletop != nil {
		if _, err := io.WriteString(out, "\n"+tui.TabletopSummary(f)); err != nil {
			return fmt.Errorf("printing the tabletop of %s: %w", path, err)
		}
	}
	return nil
}
