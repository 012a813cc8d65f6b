package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/firedrill-ir/firedrill/cloudsim/detect"
	"github.com/firedrill-ir/firedrill/cloudsim/simcloud"
	"github.com/firedrill-ir/firedrill/responder"
	"github.com/firedrill-ir/firedrill/scenarios"
	"github.com/firedrill-ir/firedrill/scenarios/attacker"
)

// showOptions are the flags of 'firedrill show'.
type showOptions struct {
	ID     string
	Kind   string // "", scenario or playbook: which catalog to look in
	Output string // text, yaml or json
	Out    io.Writer
}

func newShowCmd() *cobra.Command {
	opts := &showOptions{}
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show a scenario or a playbook",
		Long: `Show one built-in scenario or playbook, by id (see 'firedrill list').

For a scenario: its techniques, the environment, each attack step with its
earliest start (T+offset from the drill's start; "≥" when it follows another
step whose own duration adds to it), the environment's dynamics, the detectors
and what is expected of the response.

For a playbook: its triggers, the evidence steps, the containment decision tree
drawn as a tree, the containment steps with what they need and follow, the
investigation questions and their queries, the remediation checklist and the
communication plan.

--output yaml prints the file itself, comments and all: copy it, edit it, and
run it with 'firedrill run FILE' or 'firedrill run SCENARIO --playbook FILE'.
--output json prints the content as data.`,
		Example: `  firedrill show aws-ec2-cryptomining
  firedrill show ec2-cryptomining
  firedrill show ec2-cryptomining --output yaml > my-playbook.yaml
  firedrill show ec2-cryptomining --output json`,
		Args: exactlyOneArg("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.ID, opts.Out = args[0], cmd.OutOrStdout()
			return runShow(opts)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.Output, "output", "o", outText, "output format: text, yaml or json")
	f.StringVar(&opts.Kind, "kind", "", "look only among scenarios or playbooks (scenario, playbook)")
	return cmd
}

// exactlyOneArg requires one positional argument, as a usage error (exit 2)
// that names it.
func exactlyOneArg(name string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != 1 {
			return &usageError{msg: fmt.Sprintf("%s needs exactly one %s, got %d argument(s); usage: %s", cmd.CommandPath(), name, len(args), cmd.UseLine())}
		}
		return nil
	}
}

func runShow(opts *showOptions) error {
	if err := checkOutput(opts.Output, outText, outYAML, outJSON); err != nil {
		return err
	}
	var sc *scenarios.Scenario
	var pb *responder.Playbook
	switch opts.Kind {
	case "", "scenario", "playbook":
	default:
		return &usageError{msg: fmt.Sprintf("--kind %q: expected scenario or playbook", opts.Kind)}
	}
	if opts.Kind != "playbook" {
		sc, _ = scenarios.ByID(opts.ID)
	}
	if opts.Kind != "scenario" {
		pb, _ = responder.PlaybookByID(opts.ID)
	}
	switch {
	case sc != nil && pb != nil:
		return &usageError{msg: fmt.Sprintf("%q is both a scenario and a playbook: add --kind scenario or --kind playbook", opts.ID)}
	case sc == nil && pb == nil:
		return &usageError{msg: unknownIDMessage(opts.ID, opts.Kind)}
	}
	var view any
	if sc != nil {
		view = scenarioViewOf(sc)
	} else {
		view = pb
	}
	switch {
	case opts.Output == outJSON:
		return writeJSON(opts.Out, view)
	case opts.Output == outYAML:
		// YAML is the file itself, comments and all: what 'run --playbook
		// FILE' or 'run FILE' accepts unchanged, ready to copy and edit.
		src := []byte(nil)
		if sc != nil {
			src = sc.Raw
		} else if src = pb.Raw; len(src) == 0 {
			b, err := responder.MarshalPlaybook(pb)
			if err != nil {
				return err
			}
			src = b
		}
		if _, err := opts.Out.Write(src); err != nil {
			return fmt.Errorf("writing %s: %w", opts.ID, err)
		}
		return nil
	}
	var buf bytes.Buffer
	if sc != nil {
		writeScenarioText(&buf, sc)
	} else {
		writePlaybookText(&buf, pb)
	}
	if _, err := opts.Out.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("writing %s: %w", opts.ID, err)
	}
	return nil
}

// unknownIDMessage names the known ids, so a typo is fixed from the error
// alone.
func unknownIDMessage(id, kind string) string {
	var parts []string
	if kind != "playbook" {
		ids := []string{}
		for _, s := range scenarios.Builtin() {
			ids = append(ids, s.ID)
		}
		parts = append(parts, "scenarios: "+strings.Join(ids, ", "))
	}
	if kind != "scenario" {
		ids := []string{}
		for _, p := range responder.BuiltinPlaybooks() {
			ids = append(ids, p.ID)
		}
		parts = append(parts, "playbooks: "+strings.Join(ids, ", "))
	}
	what := "scenario or playbook"
	if kind != "" {
		what = kind
	}
	return fmt.Sprintf("no %s has id %q (known %s)", what, id, strings.Join(parts, "; "))
}

// shortDur prints a duration as a scenario author writes it: 25m, 5h, 1h30m.
func shortDur(d time.Duration) string { return scenarios.ShortDuration(d) }

// The scenario as data: scenarios.Scenario has no encoding tags (its YAML
// is decoded through raw types), so show builds this view with the YAML's
// field names and durations as strings.
type scenarioView struct {
	ID          string          `json:"id"`
	Title       string          `json:"title"`
	Description string          `json:"description,omitempty"`
	Clouds      []string        `json:"clouds"`
	Techniques  []techniqueView `json:"techniques"`
	// Environment is the first seeded environment (the only one of a
	// single-cloud scenario); Environments lists every cloud's.
	Environment  envView       `json:"environment"`
	Environments []envView     `json:"environments"`
	Steps        []stepView    `json:"steps"`
	Background   []bgView      `json:"background,omitempty"`
	Detectors    detectorsView `json:"detectors"`
	// Knobs are the cloud behaviours the scenario sets away from their
	// defaults.
	Knobs    []knobView `json:"knobs,omitempty"`
	Duration string     `json:"duration"`
	Expect   expectView `json:"expect"`
}

type knobView struct {
	Name    string `json:"name"`
	Value   string `json:"value"`
	Default string `json:"default"`
}

type techniqueView struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type envView struct {
	Cloud        string           `json:"cloud,omitempty"`
	Preset       string           `json:"preset"`
	Instances    int              `json:"instances,omitempty"`
	ScaleIn      *scaleInView     `json:"scale_in,omitempty"`
	RolePolicies []rolePolicyView `json:"role_policies,omitempty"`
	// HealthCheckType is how the VM group replaces unhealthy members,
	// when the scenario sets it.
	HealthCheckType string `json:"health_check_type,omitempty"`
}

type scaleInView struct {
	After   string `json:"after"`
	Desired int    `json:"desired"`
}

type rolePolicyView struct {
	Name     string   `json:"name"`
	Actions  []string `json:"actions"`
	Resource string   `json:"resource"`
}

type stepView struct {
	ID        string            `json:"id"`
	At        string            `json:"at,omitempty"`
	After     string            `json:"after,omitempty"`
	When      string            `json:"when,omitempty"`
	Delay     string            `json:"delay,omitempty"`
	Earliest  string            `json:"earliest"`
	Technique string            `json:"technique"`
	AttackID  string            `json:"attack_id,omitempty"`
	Params    map[string]string `json:"params,omitempty"`
}

type bgView struct {
	User      string `json:"user"`
	Technique string `json:"technique"`
	Every     string `json:"every"`
	SourceIP  string `json:"source_ip,omitempty"`
	// Calls are a routine activity's calls; Params the other parameters.
	Calls  []string          `json:"calls,omitempty"`
	Params map[string]string `json:"params,omitempty"`
}

type detectorsView struct {
	GuardDuty   *guardDutyView `json:"guardduty,omitempty"`
	CPUAlarm    *cpuAlarmView  `json:"cpu_alarm,omitempty"`
	CostAnomaly *costView      `json:"cost_anomaly,omitempty"`
}

type guardDutyView struct {
	Latency string `json:"latency,omitempty"`
}

type cpuAlarmView struct {
	Threshold         float64 `json:"threshold"`
	Period            string  `json:"period"`
	EvaluationPeriods int     `json:"evaluation_periods"`
}

type costView struct {
	After       string  `json:"after"`
	MinSpendUSD float64 `json:"min_spend_usd"`
}

type expectView struct {
	Playbook string  `json:"playbook"`
	SLO      sloView `json:"slo"`
}

type sloView struct {
	Profile string `json:"profile"`
	MTTD    string `json:"mttd,omitempty"`
	MTTA    string `json:"mtta,omitempty"`
	MTTC    string `json:"mttc,omitempty"`
}

func optDur(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return shortDur(d)
}

func envViewOf(sc *scenarios.Scenario, e scenarios.Environment) envView {
	ev := envView{Cloud: e.Cloud, Preset: e.Preset, Instances: e.Instances}
	for _, r := range sc.ResourcesIn(e.Cloud) {
		if r.Kind == simcloud.KindVMGroup && r.HealthCheckType != "" {
			ev.HealthCheckType = r.HealthCheckType
		}
	}
	if e.ScaleIn != nil {
		ev.ScaleIn = &scaleInView{After: shortDur(e.ScaleIn.After), Desired: e.ScaleIn.Desired}
	}
	for _, p := range e.RolePolicies {
		ev.RolePolicies = append(ev.RolePolicies, rolePolicyView(p))
	}
	return ev
}

func scenarioViewOf(sc *scenarios.Scenario) scenarioView {
	v := scenarioView{ID: sc.ID, Title: sc.Title, Description: unfold(sc.Description), Clouds: sc.Clouds,
		Techniques: []techniqueView{}, Steps: []stepView{}, Duration: shortDur(sc.Duration)}
	for _, t := range sc.Techniques {
		v.Techniques = append(v.Techniques, techniqueView(t))
	}
	envs := sc.Environments
	if len(envs) == 0 {
		envs = []scenarios.Environment{sc.Environment}
	}
	for _, e := range envs {
		v.Environments = append(v.Environments, envViewOf(sc, e))
	}
	v.Environment = v.Environments[0]
	earliest := stepEarliest(sc.Steps)
	reg := attacker.Builtin()
	for _, s := range sc.Steps {
		sv := stepView{ID: s.ID, After: s.After, When: s.When, Delay: optDur(s.Delay), Earliest: earliest[s.ID],
			Technique: s.Technique, Params: s.Params}
		if s.At != nil {
			sv.At = shortDur(*s.At)
		}
		if t, ok := reg.Get(s.Technique); ok {
			sv.AttackID = t.ATTACK
		}
		if len(sv.Params) == 0 {
			sv.Params = nil
		}
		v.Steps = append(v.Steps, sv)
	}
	for _, b := range sc.Background {
		bv := bgView{User: b.Principal, Technique: b.Technique, Every: shortDur(b.Every), SourceIP: b.SourceIP}
		for k, val := range b.Params {
			if k == "calls" {
				bv.Calls = strings.Split(val, ",")
				continue
			}
			if bv.Params == nil {
				bv.Params = map[string]string{}
			}
			bv.Params[k] = val
		}
		v.Background = append(v.Background, bv)
	}
	d := sc.Detectors
	if d.Enabled("guardduty") {
		v.Detectors.GuardDuty = &guardDutyView{}
		if l := d.Config("guardduty").Latency("latency"); l != (detect.Latency{}) {
			v.Detectors.GuardDuty.Latency = fmt.Sprintf("%s..%s (mode %s)", shortDur(l.Min), shortDur(l.Max), shortDur(l.Mode))
		}
	}
	if c := d.Config("cpu_alarm"); c.Enabled {
		v.Detectors.CPUAlarm = &cpuAlarmView{Threshold: c.Number("threshold"), Period: shortDur(c.Duration("period")),
			EvaluationPeriods: c.Int("evaluation_periods")}
	}
	if c := d.Config("cost_anomaly"); c.Enabled {
		v.Detectors.CostAnomaly = &costView{After: shortDur(c.Duration("after")), MinSpendUSD: c.Number("min_spend_usd")}
	}
	for _, k := range sc.KnobSettings() {
		v.Knobs = append(v.Knobs, knobView(k))
	}
	s := sc.Expect.SLO
	v.Expect = expectView{Playbook: sc.Expect.Playbook, SLO: sloView{Profile: s.Profile, MTTD: optDur(s.MTTD), MTTA: optDur(s.MTTA), MTTC: optDur(s.MTTC)}}
	return v
}

// stepEarliest gives each step's earliest start as T+offset. A step that
// follows another starts no earlier than that step's earliest start plus its
// delay ("≥"); a step waiting on a condition has no fixed offset.
func stepEarliest(steps []scenarios.Step) map[string]string {
	off := map[string]time.Duration{}
	exact := map[string]bool{}
	out := map[string]string{}
	for _, s := range steps {
		switch {
		case s.At != nil:
			off[s.ID], exact[s.ID] = *s.At, true
			out[s.ID] = "T+" + shortDur(*s.At)
		case s.After != "":
			base, ok := off[s.After]
			if !ok {
				out[s.ID] = fmt.Sprintf("after %s +%s", s.After, shortDur(s.Delay))
				continue
			}
			off[s.ID] = base + s.Delay
			out[s.ID] = "≥T+" + shortDur(base+s.Delay)
		default:
			out[s.ID] = fmt.Sprintf("on %s +%s", s.When, shortDur(s.Delay))
		}
	}
	return out
}

func writeScenarioText(w io.Writer, sc *scenarios.Scenario) {
	v := scenarioViewOf(sc)
	fmt.Fprintf(w, "scenario %s: %s\n", v.ID, v.Title)
	fmt.Fprintf(w, "clouds: %s   duration: %s   expected playbook: %s   SLO: %s\n",
		strings.Join(v.Clouds, ", "), v.Duration, v.Expect.Playbook, sloText(v.Expect.SLO))
	if v.Description != "" {
		fmt.Fprintf(w, "\n%s\n", wrap(v.Description, 80))
	}
	fmt.Fprintf(w, "\nATT&CK techniques\n")
	tw := newTable(w)
	for _, t := range v.Techniques {
		fmt.Fprintf(tw, "  %s\t%s\n", t.ID, t.Name)
	}
	_ = tw.Flush()

	for _, e := range v.Environments {
		fmt.Fprintf(w, "\nenvironment: %s, %d instances\n", e.Preset, e.Instances)
		if e.ScaleIn != nil {
			fmt.Fprintf(w, "  scale-in to %d at T+%s\n", e.ScaleIn.Desired, e.ScaleIn.After)
		}
		if e.HealthCheckType != "" {
			fmt.Fprintf(w, "  the group replaces members failing its %s health check\n", e.HealthCheckType)
		}
		for _, p := range e.RolePolicies {
			fmt.Fprintf(w, "  role policy %s: %s on %s\n", p.Name, strings.Join(p.Actions, ", "), p.Resource)
		}
	}

	fmt.Fprintf(w, "\nattack steps\n")
	tw = newTable(w)
	fmt.Fprintf(tw, "  START\tSTEP\tTECHNIQUE\tATT&CK\tPARAMS\n")
	for _, s := range v.Steps {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", s.Earliest, s.ID, s.Technique, dashIfEmpty(s.AttackID), dashIfEmpty(paramText(s.Params)))
	}
	_ = tw.Flush()

	if len(v.Background) > 0 {
		fmt.Fprintf(w, "\nbackground activity\n")
		tw = newTable(w)
		for _, b := range v.Background {
			what := strings.Join(b.Calls, ", ")
			if what == "" {
				what = strings.TrimSpace(b.Technique + " " + paramText(b.Params))
			}
			fmt.Fprintf(tw, "  %s\tevery %s\tfrom %s\t%s\n", b.User, b.Every, dashIfEmpty(b.SourceIP), what)
		}
		_ = tw.Flush()
	}

	fmt.Fprintf(w, "\ndetectors\n")
	d := v.Detectors
	tw = newTable(w)
	if d.GuardDuty != nil {
		fmt.Fprintf(tw, "  guardduty\tfinding latency %s\n", dashIfEmpty(d.GuardDuty.Latency))
	}
	if d.CPUAlarm != nil {
		fmt.Fprintf(tw, "  cpu-alarm\tCPU > %g%% for %d × %s\n", d.CPUAlarm.Threshold, d.CPUAlarm.EvaluationPeriods, d.CPUAlarm.Period)
	}
	if d.CostAnomaly != nil {
		fmt.Fprintf(tw, "  cost-anomaly\tafter %s, at least $%g of unexpected spend\n", d.CostAnomaly.After, d.CostAnomaly.MinSpendUSD)
	}
	if d.GuardDuty == nil && d.CPUAlarm == nil && d.CostAnomaly == nil {
		fmt.Fprintf(tw, "  (none)\n")
	}
	_ = tw.Flush()

	if len(v.Knobs) > 0 {
		fmt.Fprintf(w, "\nknobs (cloud behaviour set away from its default)\n")
		tw = newTable(w)
		for _, k := range v.Knobs {
			fmt.Fprintf(tw, "  %s\t%s\t(default %s)\n", k.Name, k.Value, k.Default)
		}
		_ = tw.Flush()
	}
}

func sloText(s sloView) string {
	if s.Profile != "custom" {
		return s.Profile
	}
	var parts []string
	for _, p := range [][2]string{{"detect", s.MTTD}, {"ack", s.MTTA}, {"contain", s.MTTC}} {
		if p[1] != "" {
			parts = append(parts, p[0]+" ≤ "+p[1])
		}
	}
	return "custom (" + strings.Join(parts, ", ") + ")"
}

// paramText prints parameters as k=v in key order.
func paramText(p map[string]string) string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + p[k]
	}
	return strings.Join(parts, " ")
}

// anyParamText prints a playbook step's parameters, values as JSON so lists
// read unambiguously.
func anyParamText(p map[string]any) string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		v := p[k]
		if s, ok := v.(string); ok {
			parts[i] = k + "=" + s
			continue
		}
		js, err := json.Marshal(v)
		if err != nil {
			js = []byte(fmt.Sprint(v))
		}
		parts[i] = k + "=" + string(js)
	}
	return strings.Join(parts, " ")
}

// unfold joins the lines of each paragraph of prose written as a YAML block,
// so data output carries text rather than the author's line breaks.
func unfold(s string) string {
	paras := strings.Split(strings.TrimSpace(s), "\n\n")
	for i, p := range paras {
		paras[i] = strings.Join(strings.Fields(p), " ")
	}
	return strings.Join(paras, "\n\n")
}

// wrap folds a paragraph at width columns on spaces; existing line breaks
// are kept.
func wrap(s string, width int) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		cur := ""
		for _, word := range strings.Fields(line) {
			if cur != "" && len([]rune(cur))+1+len([]rune(word)) > width {
				out = append(out, cur)
				cur = word
				continue
			}
			if cur != "" {
				cur += " "
			}
			cur += word
		}
		out = append(out, cur)
	}
	return strings.Join(out, "\n")
}

func writePlaybookText(w io.Writer, pb *responder.Playbook) {
	fmt.Fprintf(w, "playbook %s: %s\n", pb.ID, pb.Title)
	fmt.Fprintf(w, "clouds: %s   severity: %s\n", strings.Join(pb.Clouds, ", "), pb.Severity)
	if d := strings.TrimSpace(pb.Description); d != "" {
		fmt.Fprintf(w, "\n%s\n", wrap(d, 80))
	}
	fmt.Fprintf(w, "\ntriggers\n")
	for _, t := range triggerList(pb.Triggers) {
		fmt.Fprintf(w, "  - %s\n", t)
	}

	fmt.Fprintf(w, "\nevidence (always collected)\n")
	writeSteps(w, pb.Evidence)

	fmt.Fprintf(w, "\ndecision tree\n")
	writeDecisionTree(w, pb)

	fmt.Fprintf(w, "\ncontainment\n")
	writeSteps(w, pb.Containment)

	if len(pb.Investigation) > 0 {
		fmt.Fprintf(w, "\ninvestigation\n")
		for _, q := range pb.Investigation {
			fmt.Fprintf(w, "  %s: %s\n", q.ID, q.Question)
			for _, s := range q.Queries {
				line := fmt.Sprintf("    - %s (%s)", s.ID, s.Action)
				if p := anyParamText(s.Params); p != "" {
					line += " " + p
				}
				fmt.Fprintln(w, line)
				if s.Description != "" {
					fmt.Fprintf(w, "      %s\n", s.Description)
				}
			}
		}
	}

	if len(pb.Remediation) > 0 {
		fmt.Fprintf(w, "\nremediation checklist\n")
		tw := newTable(w)
		fmt.Fprintf(tw, "  ITEM\tOWNER\tCATEGORY\tAUTOMATED CHECK\n")
		for _, r := range pb.Remediation {
			check := "-"
			if r.Check != nil {
				check = r.Check.Action
			}
			fmt.Fprintf(tw, "  [ ] %s\t%s\t%s\t%s\n", r.Item, dashIfEmpty(r.Owner), dashIfEmpty(r.Category), check)
		}
		_ = tw.Flush()
	}

	c := pb.Communication
	if len(c.Roles)+len(c.Rules) > 0 {
		fmt.Fprintf(w, "\ncommunication\n")
		tw := newTable(w)
		for _, r := range c.Roles {
			fmt.Fprintf(tw, "  role %s\t%s\t%s\t%s\n", r.ID, r.Name, strings.Join(r.Contacts, ", "), dashIfEmpty(r.Channel))
		}
		_ = tw.Flush()
		tw = newTable(w)
		for _, n := range c.Rules {
			within := ""
			if n.Within > 0 {
				within = "within " + shortDur(n.Within.D())
			}
			subject := n.Template
			if t, ok := c.Template(n.Template); ok && t.Subject != "" {
				subject = fmt.Sprintf("%s (%q)", n.Template, t.Subject)
			}
			fmt.Fprintf(tw, "  on %s\tseverity ≥ %s\tnotify %s\t%s\t%s\n", n.On, n.Severity, strings.Join(n.Roles, ", "), dashIfEmpty(within), subject)
		}
		_ = tw.Flush()
	}
}

// writeSteps prints steps with their dependencies: needs (must succeed),
// after (ordering only) and the decision outcomes they run under.
func writeSteps(w io.Writer, steps []responder.Step) {
	tw := newTable(w)
	fmt.Fprintf(tw, "  STEP\tACTION\tNEEDS\tAFTER\tWHEN\tTIMEOUT/RETRIES\n")
	for _, s := range steps {
		timeout := responder.DefaultStepTimeout
		if s.Timeout > 0 {
			timeout = s.Timeout.D()
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s/%d\n", s.ID, s.Action, dashIfEmpty(strings.Join(s.Needs, ",")),
			dashIfEmpty(strings.Join(s.After, ",")), dashIfEmpty(strings.Join(s.When, "|")), shortDur(timeout), s.Retries)
	}
	_ = tw.Flush()
}

// writeDecisionTree draws the decision nodes from the root (the first node)
// with box-drawing branches; leaves are outcomes. A node reached twice is
// drawn once and referenced after, so a shared subtree cannot loop.
func writeDecisionTree(w io.Writer, pb *responder.Playbook) {
	if len(pb.Decisions) == 0 {
		fmt.Fprintf(w, "  (none: every containment step runs)\n")
		return
	}
	nodes := map[string]responder.DecisionNode{}
	for _, d := range pb.Decisions {
		nodes[d.ID] = d
	}
	outcomes := map[string]string{}
	for _, o := range pb.Outcomes {
		outcomes[o.ID] = o.Description
	}
	drawn := map[string]bool{}
	var draw func(id, prefix string)
	draw = func(id, prefix string) {
		n := nodes[id]
		drawn[id] = true
		fmt.Fprintf(w, "%s%s? %s\n", "", n.ID, n.Question)
		if n.Predicate != "" {
			fmt.Fprintf(w, "%s│   automation: %s\n", prefix, n.Predicate)
		}
		for i, br := range [][2]string{{"yes", n.Yes}, {"no", n.No}} {
			branch, cont := "├── ", "│   "
			if i == 1 {
				branch, cont = "└── ", "    "
			}
			fmt.Fprintf(w, "%s%s%s → ", prefix, branch, br[0])
			target := br[1]
			switch _, isNode := nodes[target]; {
			case isNode && drawn[target]:
				fmt.Fprintf(w, "%s (see above)\n", target)
			case isNode:
				draw(target, prefix+cont)
			default:
				if d := outcomes[target]; d != "" {
					fmt.Fprintf(w, "[%s] %s\n", target, d)
				} else {
					fmt.Fprintf(w, "[%s]\n", target)
				}
			}
		}
	}
	fmt.Fprint(w, "  ")
	draw(pb.Decisions[0].ID, "  ")
}
