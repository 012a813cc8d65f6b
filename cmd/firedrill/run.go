package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/firedrill-ir/firedrill/cloudsim/fault"
	"github.com/firedrill-ir/firedrill/replay"
	"github.com/firedrill-ir/firedrill/responder"
	"github.com/firedrill-ir/firedrill/scenarios"
	"github.com/firedrill-ir/firedrill/scenarios/runner"
	"github.com/firedrill-ir/firedrill/scoring"
)

// runFunc plays a drill. It is a variable so the command's tests can swap
// in a fake drill with a hand-built timeline; the real runner is the default.
var runFunc = runner.Run

// runOptions are the flags of 'firedrill run'.
type runOptions struct {
	Scenario     string // id of a built-in scenario, or a path to a scenario YAML file
	Seed         uint64
	Output       string // table or json
	PlaybookFile string // overrides the scenario's expected playbook: a built-in id or a YAML file
	DryRun       bool
	// Faults is a fault spec (fault.ParseSpec) injected on top of the
	// scenario's faults: block.
	Faults string
	// Save writes the run (events and scorecard) to this file for
	// 'firedrill tui --replay' and 'firedrill report'.
	Save        string
	Out, ErrOut io.Writer
	// Progress prints progress lines on ErrOut; set when stderr is a
	// terminal, so pipes and CI logs stay clean.
	Progress bool
}

func newRunCmd() *cobra.Command {
	opts := &runOptions{}
	cmd := &cobra.Command{
		Use:   "run SCENARIO",
		Short: "Play a scenario against the simulated cloud and score the response",
		Long: `Play an attack scenario end to end on the deterministic simulated cloud: seed the
environment, run the attack, the cloud's detectors and the responder (the
scenario's expected playbook, or --playbook FILE) on a virtual clock, then score
the response from the drill's timeline. Hours of incident simulate in seconds;
the same scenario and --seed always give the same, byte-identical scorecard.

SCENARIO is a built-in scenario id (see 'firedrill list') or a path to a
scenario YAML file.

The scorecard (table for terminals, or --output json) reports:
  metrics      MTTD (attack start → first alert), MTTA (first alert → responder
               ack), MTTC (first alert → every way in cut, by the attacker's
               own probes; the responder's declaration and the gap beside
               it), telemetry latency and detection overhead
  detections   the first alert of each control and its latency
  controls     each control on the ladder prevented > responded > detected >
               alerted > logged > missed (weights 1.0/0.9/0.8/0.6/0.3/0)
  evidence     each artifact and whether it was captured before its source was
               lost (e.g. to scale-in); lost resources with no evidence listed
  containment  each way in the attacker held (stolen and planted credentials,
               flows, backdoor rules, launched compute) with its probes:
               verified only if containment was declared and the final check
               found every one cut
  eradication  what the attacker planted (keys, rules, instances): removed or
               still there, and what its compute cost
  collateral   legitimate work denied after the response began (users, the
               CI principal, the web tier's clients, the group's other VMs
               calling with their identity), by activity, with when it broke
               and when it worked again
  slo          the scenario's SLO profile: 1-10-60 (detect 1m, ack 10m, contain
               60m), 5/5/5 (5s, 5m, 5m; 5s is below the cloud's telemetry
               floor), or custom targets

Verdict: not_contained, contained_not_eradicated, slo_missed (the first that
applies) or pass, with stable reason codes (path_open:<kind>,
artifact_present:<kind>, slo_missed:<target>, …) for CI gates.

Score (0-100):
  35 × containment verified + 10 × planted things removed / planted things
  + 15 × evidence items captured before loss / all evidence items
  + 20 × SLO targets met / SLO targets
  + 20 × ladder weight of the overall outcome (the best control's)
  − 2 per step error (at most 10) − 10 if containment was declared but not
  verified − 1 per denied legitimate action (at most 20); clamped to 0..100 and
  rounded (eradication out of scope: the first five terms scale by 100/90).

Faults: --faults SPEC (and a scenario's faults: block) makes the simulated clouds
answer like clouds under load, deterministically for the seed. SPEC is
` + fault.SpecHelp + `.
A built-in playbook must keep its verdict under
--faults throttle=20%,errors=5%,latency=10x: retries and backoff wait on the
drill's clock.

--dry-run prints the attack plan and the response plan and runs nothing.
--save FILE also writes the run (every timeline event and the scorecard) to a
versioned JSON file: 'firedrill tui --replay FILE' plays it back and
'firedrill report FILE' prints the scorecard again.

Exit codes:
  0  the verdict is pass: contained, eradicated, SLOs met
  1  an error prevented the drill from running or finishing
  2  usage error: bad flags or arguments, unknown id, invalid scenario or
     playbook file
  3  the drill ran and its verdict is not pass`,
		Example: `  firedrill run aws-ec2-cryptomining
  firedrill run aws-ec2-cryptomining --seed 7 --output json > scorecard.json
  firedrill run aws-ec2-cryptomining --playbook my-playbook.yaml
  firedrill run aws-ec2-cryptomining --dry-run
  firedrill run aws-ec2-cryptomining --faults throttle=20%,errors=5%,latency=10x
  firedrill run aws-ec2-cryptomining --seed 7 --save drill.json
  firedrill tui --replay drill.json                # then replay it`,
		Args: exactlyOneArg("SCENARIO"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Scenario, opts.Out, opts.ErrOut = args[0], cmd.OutOrStdout(), cmd.ErrOrStderr()
			opts.Progress = isTerminal(opts.ErrOut)
			return runRun(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.Uint64Var(&opts.Seed, "seed", 1, "root seed of the drill: ids, latencies and detector delays derive from it")
	f.StringVarP(&opts.Output, "output", "o", outTable, "output format: table or json")
	f.StringVar(&opts.PlaybookFile, "playbook", "", "respond with this playbook (built-in id or YAML file) instead of the scenario's expected one")
	f.BoolVar(&opts.DryRun, "dry-run", false, "print the attack and response plans, run nothing")
	f.StringVar(&opts.Faults, "faults", "", "inject faults into the clouds' answers, e.g. throttle=20%,errors=5%,latency=10x (see Faults below)")
	f.StringVar(&opts.Save, "save", "", "also save the run (timeline and scorecard) to FILE, for 'firedrill tui --replay FILE' and 'firedrill report FILE'")
	return cmd
}

func runRun(ctx context.Context, opts *runOptions) error {
	if err := checkOutput(opts.Output, outTable, outJSON); err != nil {
		return err
	}
	sc, err := resolveScenario(opts.Scenario)
	if err != nil {
		return err
	}
	var pb *responder.Playbook
	if opts.PlaybookFile != "" {
		if pb, err = loadPlaybookArg(opts.PlaybookFile); err != nil {
			return err
		}
	}
	var faults []fault.Rule
	if opts.Faults != "" {
		if faults, err = fault.ParseSpec(opts.Faults); err != nil {
			return &usageError{msg: "--faults: " + err.Error()}
		}
	}
	if opts.DryRun {
		if opts.Save != "" {
			return &usageError{msg: "--save records a drill; --dry-run runs none"}
		}
		return dryRun(opts, sc, pb)
	}
	if opts.Progress {
		fmt.Fprintf(opts.ErrOut, "simulating %s of incident %s (seed %d)…\n", shortDur(sc.Duration), sc.ID, opts.Seed)
	}
	res, err := runFunc(ctx, sc, runner.Options{Seed: opts.Seed, Playbook: pb, Faults: faults})
	if err != nil {
		return fmt.Errorf("running %s (seed %d): %w", sc.ID, opts.Seed, err)
	}
	card := scoring.Score(res.ScoreInput())
	if opts.Save != "" {
		f := replay.FromResult(res)
		f.Scorecard = card
		if err := replay.Write(opts.Save, f); err != nil {
			return fmt.Errorf("--save: %w", err)
		}
	}
	if opts.Output == outJSON {
		js, err := card.JSON()
		if err != nil {
			return err
		}
		if _, err := opts.Out.Write(js); err != nil {
			return fmt.Errorf("writing scorecard: %w", err)
		}
	} else if err := card.Table(opts.Out); err != nil {
		return err
	}
	if !card.Pass {
		return &exitError{code: exitDrillFails, msg: fmt.Sprintf("drill %s (seed %d) failed: %s (%s)", sc.ID, opts.Seed,
			strings.ReplaceAll(card.Verdict, "_", " "), strings.Join(card.ReasonCodes, ", "))}
	}
	return nil
}

// resolveScenario finds a built-in scenario by id, or loads a YAML file when
// the argument names one; either failure is a usage error.
func resolveScenario(arg string) (*scenarios.Scenario, error) {
	if strings.HasSuffix(arg, ".yaml") || strings.HasSuffix(arg, ".yml") || strings.ContainsRune(arg, os.PathSeparator) {
		data, err := os.ReadFile(arg)
		if err != nil {
			return nil, &usageError{msg: fmt.Sprintf("scenario file: %v", err)}
		}
		sc, err := scenarios.Load(arg, data)
		if err != nil {
			return nil, &usageError{msg: "invalid scenario:\n" + err.Error()}
		}
		return sc, nil
	}
	sc, ok := scenarios.ByID(arg)
	if !ok {
		return nil, &usageError{msg: unknownIDMessage(arg, "scenario")}
	}
	return sc, nil
}

// plannedStepView is a response-plan line as data (--dry-run --output json).
type plannedStepView struct {
	Order     int      `json:"order,omitempty"`
	Phase     string   `json:"phase"`
	ID        string   `json:"id"`
	Action    string   `json:"action"`
	Mutates   bool     `json:"mutates"`
	Needs     []string `json:"needs,omitempty"`
	After     []string `json:"after,omitempty"`
	When      []string `json:"when,omitempty"`
	Timeout   string   `json:"timeout,omitempty"`
	Retries   int      `json:"retries,omitempty"`
	Question  string   `json:"question,omitempty"`
	Predicate string   `json:"predicate,omitempty"`
	Yes       string   `json:"yes,omitempty"`
	No        string   `json:"no,omitempty"`
}

// dryRunPlan is the JSON document of --dry-run.
type dryRunPlan struct {
	Scenario     string            `json:"scenario"`
	Seed         uint64            `json:"seed"`
	Playbook     string            `json:"playbook"`
	AttackPlan   []stepView        `json:"attack_plan"`
	ResponsePlan []plannedStepView `json:"response_plan"`
}

// dryRun prints what a drill would do: the attack steps with their earliest
// starts and the response plan in waves of parallel steps. Nothing runs.
func dryRun(opts *runOptions, sc *scenarios.Scenario, pb *responder.Playbook) error {
	if pb == nil {
		var ok bool
		if pb, ok = responder.PlaybookByID(sc.Expect.Playbook); !ok {
			return fmt.Errorf("scenario %s expects playbook %q, which is not built in", sc.ID, sc.Expect.Playbook)
		}
	}
	view := scenarioViewOf(sc)
	if opts.Output == outJSON {
		plan := dryRunPlan{Scenario: sc.ID, Seed: opts.Seed, Playbook: pb.ID, AttackPlan: view.Steps, ResponsePlan: []plannedStepView{}}
		for _, p := range responder.Plan(pb) {
			plan.ResponsePlan = append(plan.ResponsePlan, plannedStepView(p))
		}
		return writeJSON(opts.Out, plan)
	}
	fmt.Fprintf(opts.Out, "dry run: nothing is executed\n\nattack plan of %s (%s, seed %d)\n", sc.ID, view.Duration, opts.Seed)
	tw := newTable(opts.Out)
	fmt.Fprintf(tw, "  START\tSTEP\tTECHNIQUE\tATT&CK\tPARAMS\n")
	for _, s := range view.Steps {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", s.Earliest, s.ID, s.Technique, dashIfEmpty(s.AttackID), dashIfEmpty(paramText(s.Params)))
	}
	if err := flush(tw, "the attack plan"); err != nil {
		return err
	}
	fmt.Fprintf(opts.Out, "\nresponse plan (wave, phase, step, action, read or CHANGE)\n")
	if err := responder.WritePlan(opts.Out, pb); err != nil {
		return fmt.Errorf("printing the response plan of %s: %w", pb.ID, err)
	}
	return nil
}
