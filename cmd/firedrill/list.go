package main

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/firedrill-ir/firedrill/responder"
	"github.com/firedrill-ir/firedrill/scenarios"
)

// listOptions are the flags of 'firedrill list'.
type listOptions struct {
	Kind   string // scenarios, playbooks or all
	Output string // table or json
	Out    io.Writer
}

// Kinds of catalog entries.
const (
	kindAll       = "all"
	kindScenarios = "scenarios"
	kindPlaybooks = "playbooks"
)

func newListCmd() *cobra.Command {
	opts := &listOptions{}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the built-in scenarios and playbooks",
		Long: `List the built-in attack scenarios (id, title, clouds, MITRE ATT&CK technique
ids) and response playbooks (id, title, clouds, what triggers them).

Use an id with 'firedrill show ID' to read one, and a scenario id with
'firedrill run SCENARIO' to play it.`,
		Example: `  firedrill list
  firedrill list --kind scenarios
  firedrill list --kind playbooks --output json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Out = cmd.OutOrStdout()
			return runList(opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Kind, "kind", kindAll, "what to list: scenarios, playbooks or all")
	f.StringVarP(&opts.Output, "output", "o", outTable, "output format: table or json")
	return cmd
}

// noArgs rejects positional arguments as a usage error (exit 2).
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return &usageError{msg: fmt.Sprintf("%s takes no arguments, got %q", cmd.CommandPath(), strings.Join(args, " "))}
	}
	return nil
}

// scenarioRow is one scenario in 'list' output.
type scenarioRow struct {
	ID         string   `json:"id"`
	Title      string   `json:"title"`
	Clouds     []string `json:"clouds"`
	Techniques []string `json:"attack_ids"`
	Playbook   string   `json:"playbook"`
}

// playbookRow is one playbook in 'list' output.
type playbookRow struct {
	ID       string   `json:"id"`
	Title    string   `json:"title"`
	Clouds   []string `json:"clouds"`
	Severity string   `json:"severity"`
	Triggers []string `json:"triggers"`
}

// listing is the JSON document of 'list'; a kind not asked for is omitted.
type listing struct {
	Scenarios []scenarioRow `json:"scenarios,omitempty"`
	Playbooks []playbookRow `json:"playbooks,omitempty"`
}

func runList(opts *listOptions) error {
	if err := checkOutput(opts.Output, outTable, outJSON); err != nil {
		return err
	}
	var l listing
	switch opts.Kind {
	case kindAll:
		l.Scenarios, l.Playbooks = scenarioRows(), playbookRows()
	case kindScenarios:
		l.Scenarios = scenarioRows()
	case kindPlaybooks:
		l.Playbooks = playbookRows()
	default:
		return &usageError{msg: fmt.Sprintf("--kind %q: expected scenarios, playbooks or all", opts.Kind)}
	}
	if opts.Output == outJSON {
		return writeJSON(opts.Out, l)
	}
	tw := newTable(opts.Out)
	if l.Scenarios != nil {
		fmt.Fprintln(tw, "SCENARIO\tTITLE\tCLOUDS\tATT&CK")
		for _, r := range l.Scenarios {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.ID, r.Title, strings.Join(r.Clouds, ","), strings.Join(r.Techniques, ","))
		}
	}
	if l.Scenarios != nil && l.Playbooks != nil {
		fmt.Fprintln(tw)
	}
	if l.Playbooks != nil {
		fmt.Fprintln(tw, "PLAYBOOK\tTITLE\tCLOUDS\tTRIGGERS")
		for _, r := range l.Playbooks {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.ID, r.Title, strings.Join(r.Clouds, ","), strings.Join(r.Triggers, "; "))
		}
	}
	return flush(tw, "the listing")
}

func scenarioRows() []scenarioRow {
	rows := []scenarioRow{}
	for _, sc := range scenarios.Builtin() {
		rows = append(rows, scenarioRow{ID: sc.ID, Title: sc.Title, Clouds: sc.Clouds, Techniques: sc.ATTACKIDs(), Playbook: sc.Expect.Playbook})
	}
	return rows
}

func playbookRows() []playbookRow {
	rows := []playbookRow{}
	for _, pb := range responder.BuiltinPlaybooks() {
		rows = append(rows, playbookRow{ID: pb.ID, Title: pb.Title, Clouds: pb.Clouds, Severity: pb.Severity, Triggers: triggerList(pb.Triggers)})
	}
	return rows
}

// triggerList renders a playbook's triggers as short phrases, findings first
// (by cloud, in name order so the listing never depends on map order).
func triggerList(t responder.Triggers) []string {
	out := []string{}
	clouds := make([]string, 0, len(t.Findings))
	for c := range t.Findings {
		clouds = append(clouds, c)
	}
	sort.Strings(clouds)
	for _, c := range clouds {
		for _, f := range t.Findings[c] {
			out = append(out, c+" finding "+f)
		}
	}
	for _, a := range t.Alarms {
		s := fmt.Sprintf("alarm %s > %g", a.Metric, a.Threshold)
		if a.For > 0 {
			s += " for " + shortDur(a.For.D())
		}
		out = append(out, s)
	}
	if c := t.CostAnomaly; c != nil {
		s := fmt.Sprintf("cost anomaly +%g%%", c.MinIncreasePercent)
		if c.Service != "" {
			s += " on " + c.Service
		}
		out = append(out, s)
	}
	return out
}
