// Package responder runs incident-response playbooks against any cloud
// through the provider-neutral capabilities of package providers.
//
// A playbook is data (YAML) with the five parts of the seed framework —
// triggers, automated evidence collection, a containment decision tree,
// investigation queries and a remediation checklist — plus a communication
// plan. Steps name actions from a registry (actions.go) and declare what they
// need, so the engine (engine.go) runs independent steps in parallel as
// clock actors: on a virtual clock a drill overlaps their cloud latencies
// exactly as a real cloud would, and replays deterministically.
//
// Every step start, finish, retry, error, skip and decision becomes a
// timeline event, and every artifact goes into the case's evidence manifest,
// because scoring reads only the timeline.
package responder

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"cel.dev/cel-go/cel"
	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"

	"github.com/firedrill-ir/firedrill/providers"
)

// Severity levels of a playbook, case or notify rule, lowest first.
var severities = []string{"low", "medium", "high", "critical"}

// severityRank orders severities; unknown ones rank 0.
func severityRank(s string) int {
	for i, v := range severities {
		if v == s {
			return i + 1
		}
	}
	return 0
}

// Phases of a playbook run, in order. They name the "phase" detail of step
// events so scoring and reports can tell evidence work from containment.
const (
	PhaseEvidence      = "evidence"
	PhaseContainment   = "containment"
	PhaseEradication   = "eradication"
	PhaseInvestigation = "investigation"
	PhaseRemediation   = "remediation"
	PhaseCommunication = "communication"
)

// Playbook is one response procedure, loaded from YAML.
type Playbook struct {
	ID          string   `yaml:"id" json:"id" doc:"unique id: lower-case letters, digits, '-' and '_'"`
	Title       string   `yaml:"title" json:"title" doc:"one-line title"`
	Description string   `yaml:"description" json:"description,omitempty" doc:"what the playbook is for"`
	Clouds      []string `yaml:"clouds" json:"clouds" doc:"clouds the playbook runs on: aws, azure, gcp"`
	Severity    string   `yaml:"severity" json:"severity" doc:"severity of a case: low, medium, high or critical"`
	// Resources are the kinds of resource the playbook opens cases on
	// (vm, bucket, principal, …): a finding about another kind is resolved
	// to one of these (a stolen key to the instance it came from) or left
	// alone. Default [vm].
	Resources []providers.Kind `yaml:"resources" json:"resources,omitempty" doc:"kinds of resource the playbook opens cases on (default [vm]); findings about other kinds are resolved to these or ignored"`
	Triggers  Triggers         `yaml:"triggers" json:"triggers" doc:"which alerts start a case: managed findings per cloud, metric alarms, a cost anomaly"`
	// Evidence steps are collected whatever the decision tree says.
	Evidence []Step `yaml:"evidence" json:"evidence" doc:"evidence steps, collected whatever the decision tree says"`
	// Outcomes are the leaves of the decision tree; containment steps name
	// them in when:. Declaring them lets the loader catch a misspelt branch.
	Outcomes  []Outcome      `yaml:"outcomes" json:"outcomes,omitempty" doc:"the leaves of the decision tree; containment steps name them in when:"`
	Decisions []DecisionNode `yaml:"decisions" json:"decisions,omitempty" doc:"the containment decision tree; the first node is the root"`
	// Containment steps may need evidence steps and vice versa: one graph.
	Containment []Step `yaml:"containment" json:"containment" doc:"containment steps; they and the evidence steps form one dependency graph"`
	// Eradication removes what the attacker planted (keys, launched
	// compute, backdoor rules) once containment is done: a graph of its
	// own, run before the investigation.
	Eradication   []Step            `yaml:"eradication" json:"eradication,omitempty" doc:"steps that remove what the attacker planted (keys, launched compute, backdoor rules), run after containment"`
	Investigation []Question        `yaml:"investigation" json:"investigation,omitempty" doc:"investigation questions and the queries that answer them, run after containment"`
	Remediation   []RemediationItem `yaml:"remediation" json:"remediation,omitempty" doc:"remediation checklist; items with a check are verified automatically"`
	Communication CommsPlan         `yaml:"communication" json:"communication" doc:"who is told what, and when"`

	// File is where the playbook was loaded from, for error messages; Raw
	// its bytes as written, comments and all ('firedrill show ID -o yaml').
	File string `yaml:"-" json:"-"`
	Raw  []byte `yaml:"-" json:"-"`

	programs map[string]cel.Program // decision node id -> compiled predicate
	inputs   map[string][]factPath  // decision node id -> facts the predicate reads
}

// Triggers say which alerts start the playbook.
type Triggers struct {
	// Findings maps a cloud ("aws", "azure", "gcp") to managed-detector
	// finding types, e.g. CryptoCurrency:EC2/BitcoinTool.B!DNS.
	Findings map[string][]string `yaml:"findings" json:"findings,omitempty"`
	// Alarms are metric alarms, e.g. CPUUtilization above 95 for 10m.
	Alarms []AlarmTrigger `yaml:"alarms" json:"alarms,omitempty"`
	// CostAnomaly triggers on a spend spike. No provider reads cost yet, so
	// Watch does not poll it; the runner reports it as an alert.
	CostAnomaly *CostAnomalyTrigger `yaml:"cost_anomaly" json:"cost_anomaly,omitempty"`
}

// AlarmTrigger matches a metric alarm in the ALARM state whose threshold and
// duration are at least as strict as these.
type AlarmTrigger struct {
	Metric    string   `yaml:"metric" json:"metric"`
	Threshold float64  `yaml:"threshold" json:"threshold"`
	For       Duration `yaml:"for" json:"for,omitempty"`
}

// CostAnomalyTrigger matches a spend spike on a service.
type CostAnomalyTrigger struct {
	Service            string  `yaml:"service" json:"service,omitempty"`
	MinIncreasePercent float64 `yaml:"min_increase_percent" json:"min_increase_percent"`
}

// Step is one action of a playbook.
type Step struct {
	ID          string         `yaml:"id" json:"id" doc:"step id, unique in the playbook"`
	Action      string         `yaml:"action" json:"action" doc:"a registered action (see 'firedrill schema playbook' for the list)"`
	Description string         `yaml:"description" json:"description,omitempty" doc:"what the step does and why"`
	Params      map[string]any `yaml:"params" json:"params,omitempty" doc:"the action's parameters; strings may use {{.CaseID}}, {{.Resource}}, {{.Facts.…}}"`
	// Needs are step ids that must finish successfully first; if one fails
	// or is skipped, this step is skipped.
	Needs []string `yaml:"needs" json:"needs,omitempty" doc:"steps that must succeed first; if one fails or is skipped, so is this one"`
	// After are step ids that must finish first, successfully or not: an
	// ordering without the dependency (isolate after trying to capture
	// memory, even if the capture failed).
	After []string `yaml:"after" json:"after,omitempty" doc:"steps that must finish first, successfully or not"`
	// Timeout bounds one attempt (default DefaultStepTimeout).
	Timeout Duration `yaml:"timeout" json:"timeout,omitempty" doc:"limit on one attempt, e.g. 5m (default 10m)"`
	// Retries is how many times a failed attempt is repeated.
	Retries int `yaml:"retries" json:"retries,omitempty" doc:"how many times a failed attempt is repeated (0-10)"`
	// Backoff is the wait before the first retry; it doubles each time
	// (default DefaultBackoff).
	Backoff Duration `yaml:"backoff" json:"backoff,omitempty" doc:"wait before the first retry, doubling each time (default 5s)"`
	// When lists decision outcomes under which the step runs; empty means
	// always.
	When StringList `yaml:"when" json:"when,omitempty" doc:"decision outcomes under which the step runs; empty means always"`
	// Clouds limits the step to some of the playbook's clouds: a
	// cloud-specific step, for where the clouds' semantics differ (Azure
	// removes role assignments because it cannot revoke a managed
	// identity's tokens; GCP disables the service account). On other
	// clouds the step is skipped with a reason, which neither fails
	// containment nor blocks the steps that need it. Empty means every
	// cloud of the playbook.
	Clouds StringList `yaml:"clouds" json:"clouds,omitempty" doc:"limit the step to some of the playbook's clouds"`
	// CloudParams override Params per cloud ("azure": {mode: remove}), for
	// a step whose action is the same everywhere but whose settings are
	// not. Keys are merged over Params.
	CloudParams map[string]map[string]any `yaml:"cloud_params" json:"cloud_params,omitempty" doc:"parameters per cloud, merged over params"`
	// Fallback says, per cloud, what to do where the cloud's provider
	// lacks a capability the action needs: run another action instead, or
	// skip with a note saying what a human does (GCP has no run-command:
	// collect volatile state over SSH). A cloud without an entry skips the
	// step with the missing capability named.
	Fallback map[string]Fallback `yaml:"fallback" json:"fallback,omitempty" doc:"per cloud, what to do where the cloud lacks the action's capability: a note, or {action, params, note}"`

	// Phase is set by the loader from the section the step is in.
	Phase string `yaml:"-" json:"phase"`
}

// Fallback is what a step does on a cloud that cannot do its action:
// written as a string (the note: what a human does instead) or as a
// mapping with an action to run in its place.
type Fallback struct {
	// Action runs instead of the step's own ("" means skip the step).
	Action string         `yaml:"action" json:"action,omitempty" doc:"action to run instead of the step's own"`
	Params map[string]any `yaml:"params" json:"params,omitempty" doc:"parameters of that action"`
	// Note is the documented fallback, quoted in the skip reason.
	Note string `yaml:"note" json:"note,omitempty" doc:"what a human does instead, quoted in the skip reason"`
}

// UnmarshalYAML accepts a note alone or the full mapping.
func (f *Fallback) UnmarshalYAML(node ast.Node) error {
	if s, ok := scalarString(node); ok {
		*f = Fallback{Note: s}
		return nil
	}
	type plain Fallback
	var p plain
	// Unknown fields are reported by the loader, all at once.
	if err := yaml.NodeToValue(node, &p); err != nil {
		return err
	}
	*f = Fallback(p)
	return nil
}

// Outcome is a leaf of the decision tree.
type Outcome struct {
	ID          string `yaml:"id" json:"id"`
	Description string `yaml:"description" json:"description,omitempty"`
}

// DecisionNode is one question of the containment decision tree. The first
// node is the root. Humans answer Question (tabletop); automation evaluates
// Predicate, a CEL expression over the facts map gathered so far.
type DecisionNode struct {
	ID        string `yaml:"id" json:"id" doc:"node id"`
	Question  string `yaml:"question" json:"question" doc:"the question a tabletop team answers"`
	Predicate string `yaml:"predicate" json:"predicate" doc:"CEL over facts that automation evaluates (true = yes)"`
	// Yes and No name the next node or an outcome.
	Yes string `yaml:"yes" json:"yes" doc:"next node or outcome when yes"`
	No  string `yaml:"no" json:"no" doc:"next node or outcome when no"`
}

// Question is an investigation question and the queries that answer it.
type Question struct {
	ID       string `yaml:"id" json:"id"`
	Question string `yaml:"question" json:"question"`
	Queries  []Step `yaml:"queries" json:"queries"`
}

// RemediationItem is one line of the remediation checklist. Items with a
// Check are verified automatically after containment; the others are left
// to their owner.
type RemediationItem struct {
	ID       string `yaml:"id" json:"id"`
	Item     string `yaml:"item" json:"item"`
	Owner    string `yaml:"owner" json:"owner"`
	Category string `yaml:"category" json:"category,omitempty"`
	Check    *Step  `yaml:"check" json:"check,omitempty"`
}

// CommsPlan is who is told what, and when.
type CommsPlan struct {
	Roles     []CommsRole  `yaml:"roles" json:"roles"`
	Rules     []NotifyRule `yaml:"notify" json:"notify"`
	Templates []Template   `yaml:"templates" json:"templates"`
}

// CommsRole is a party of the communication plan (IR lead, app owner, …).
type CommsRole struct {
	ID       string   `yaml:"id" json:"id"`
	Name     string   `yaml:"name" json:"name"`
	Contacts []string `yaml:"contacts" json:"contacts"`
	Channel  string   `yaml:"channel" json:"channel,omitempty"`
}

// Notify moments.
const (
	OnAck       = "ack"       // when the responder takes the case
	OnContained = "contained" // when containment is done
	OnClosed    = "closed"    // when the playbook has finished
)

// NotifyRule sends Template to Roles when a case at Severity or above
// reaches moment On; Within is the deadline from the case start, reported
// as met or missed.
type NotifyRule struct {
	Severity string     `yaml:"severity" json:"severity"`
	Roles    StringList `yaml:"roles" json:"roles"`
	Within   Duration   `yaml:"within" json:"within,omitempty"`
	On       string     `yaml:"on" json:"on"`
	Template string     `yaml:"template" json:"template"`
}

// Template is a message with text/template placeholders such as
// {{.CaseID}}, {{.Resource}}, {{.Outcome}} and {{.Facts.instance.id}}.
type Template struct {
	ID      string `yaml:"id" json:"id"`
	Subject string `yaml:"subject" json:"subject"`
	Body    string `yaml:"body" json:"body"`
}

// Defaults of step timing.
const (
	DefaultStepTimeout = 10 * time.Minute
	DefaultBackoff     = 5 * time.Second
	maxRetries         = 10
)

// Duration is a time.Duration written as a Go duration string ("90s",
// "10m", "2h") in YAML. It decodes with the node's position so a bad value
// is reported at its line and column.
type Duration time.Duration

// UnmarshalYAML implements yaml.NodeUnmarshaler.
func (d *Duration) UnmarshalYAML(node ast.Node) error {
	s, ok := scalarString(node)
	if !ok {
		return &yaml.SyntaxError{Message: fmt.Sprintf("expected a duration such as 90s, 10m or 2h, got %s", node.Type()), Token: node.GetToken()}
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return &yaml.SyntaxError{Message: fmt.Sprintf("bad duration %q: expected a duration such as 90s, 10m or 2h", s), Token: node.GetToken()}
	}
	if v < 0 {
		return &yaml.SyntaxError{Message: fmt.Sprintf("bad duration %q: must not be negative", s), Token: node.GetToken()}
	}
	*d = Duration(v)
	return nil
}

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats like time.Duration.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON writes the duration string, as in the YAML.
func (d Duration) MarshalJSON() ([]byte, error) { return []byte(`"` + d.String() + `"`), nil }

// StringList accepts a single string or a list of strings, so the common
// one-value case (when: isolate_and_stop) reads naturally.
type StringList []string

// UnmarshalYAML implements yaml.NodeUnmarshaler.
func (l *StringList) UnmarshalYAML(node ast.Node) error {
	if s, ok := scalarString(node); ok {
		*l = StringList{s}
		return nil
	}
	seq, ok := node.(*ast.SequenceNode)
	if !ok {
		return &yaml.SyntaxError{Message: fmt.Sprintf("expected a string or a list of strings, got %s", node.Type()), Token: node.GetToken()}
	}
	out := make(StringList, 0, len(seq.Values))
	for _, v := range seq.Values {
		s, ok := scalarString(v)
		if !ok {
			return &yaml.SyntaxError{Message: fmt.Sprintf("expected a string, got %s", v.Type()), Token: v.GetToken()}
		}
		out = append(out, s)
	}
	*l = out
	return nil
}

func scalarString(node ast.Node) (string, bool) {
	switch n := node.(type) {
	case *ast.StringNode:
		return n.Value, true
	case *ast.LiteralNode:
		// A block scalar (| or >): its folded or literal value, not the
		// source text.
		if n.Value != nil {
			return strings.TrimSpace(n.Value.Value), true
		}
		return "", true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode:
		return strings.TrimSpace(n.(ast.ScalarNode).String()), true
	}
	return "", false
}

// ResourceKinds are the kinds the playbook opens cases on (default vm).
func (pb *Playbook) ResourceKinds() []providers.Kind {
	if len(pb.Resources) == 0 {
		return []providers.Kind{providers.KindVM}
	}
	return pb.Resources
}

// Steps returns every step of the playbook in declaration order: evidence,
// containment, eradication, investigation queries, remediation checks.
func (pb *Playbook) Steps() []*Step {
	var out []*Step
	for _, g := range pb.stages() {
		out = append(out, g.steps...)
	}
	return out
}

// stage is a group of steps that run as one dependency graph, after the
// stage before it has finished.
type stage struct {
	name  string // for errors: "evidence and containment", …
	steps []*Step
	// decide: the decision tree is asked in this stage, and containment
	// declared when its containment steps are done.
	decide bool
}

// stages are the playbook's steps in the order they run: evidence and
// containment as one graph (the decision tree is asked inside it), then
// eradication, the investigation queries and the remediation checks.
func (pb *Playbook) stages() []stage {
	graph, erad, queries, checks := stage{name: "evidence and containment", decide: true}, stage{name: "eradication"},
		stage{name: "investigation"}, stage{name: "remediation checks"}
	for i := range pb.Evidence {
		graph.steps = append(graph.steps, &pb.Evidence[i])
	}
	for i := range pb.Containment {
		graph.steps = append(graph.steps, &pb.Containment[i])
	}
	for i := range pb.Eradication {
		erad.steps = append(erad.steps, &pb.Eradication[i])
	}
	for i := range pb.Investigation {
		for j := range pb.Investigation[i].Queries {
			queries.steps = append(queries.steps, &pb.Investigation[i].Queries[j])
		}
	}
	for i := range pb.Remediation {
		if c := pb.Remediation[i].Check; c != nil {
			checks.steps = append(checks.steps, c)
		}
	}
	return []stage{graph, erad, queries, checks}
}

// Template returns the named message template.
func (c *CommsPlan) Template(id string) (Template, bool) {
	for _, t := range c.Templates {
		if t.ID == id {
			return t, true
		}
	}
	return Template{}, false
}

// Role returns the named role.
func (c *CommsPlan) Role(id string) (CommsRole, bool) {
	for _, r := range c.Roles {
		if r.ID == id {
			return r, true
		}
	}
	return CommsRole{}, false
}

var idRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
