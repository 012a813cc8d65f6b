package responder

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBuiltinPlaybooksLoad(t *testing.T) {
	pbs := BuiltinPlaybooks()
	require.NotEmpty(t, pbs)
	pb, ok := PlaybookByID("ec2-cryptomining")
	require.True(t, ok)
	require.Equal(t, "playbooks/ec2-cryptomining.yaml", pb.File)
	require.Equal(t, []string{"aws"}, pb.Clouds)
	require.Contains(t, pb.Triggers.Findings["aws"], "CryptoCurrency:EC2/BitcoinTool.B!DNS")
	require.Equal(t, "CPUUtilization", pb.Triggers.Alarms[0].Metric)
	require.Equal(t, "10m0s", pb.Triggers.Alarms[0].For.String())
	require.Len(t, pb.Decisions, 2)
	_, ok = PlaybookByID("no-such-playbook")
	require.False(t, ok)

	data, err := os.ReadFile("testdata/ec2-cryptomining-naive.yaml")
	require.NoError(t, err)
	naive, err := LoadPlaybook("testdata/ec2-cryptomining-naive.yaml", data)
	require.NoError(t, err)
	require.Equal(t, "ec2-cryptomining-naive", naive.ID)
}

// The corrected playbook keeps the orderings ir-semantics demands; these
// are structural, so a careless edit of the YAML fails here, not in a drill.
func TestCryptominingPlaybookOrdering(t *testing.T) {
	pb, _ := PlaybookByID("ec2-cryptomining")
	steps := map[string]*Step{}
	for _, s := range pb.Steps() {
		steps[s.ID] = s
	}
	deps := func(id string) []string { return append(append([]string{}, steps[id].Needs...), steps[id].After...) }
	for _, volatile := range []string{"capture_processes", "capture_connections", "capture_memory"} {
		require.Contains(t, deps("isolate"), volatile, "isolation must wait for %s", volatile)
		require.Contains(t, deps(volatile), "protect_termination")
	}
	require.Contains(t, steps["isolate"].After, "capture_memory", "isolate must not be skipped when memory capture fails")
	require.Contains(t, steps["revoke_sessions"].Needs, "detach_identity")
	require.Contains(t, deps("snapshot_disks"), "protect_termination")
	// Scale-in protection comes before anything slow: it waits only for
	// the describe (one read), which says whether the group replaces
	// members on a load balancer's health check.
	require.Equal(t, []string{"describe"}, deps("protect_scaling"), "scale-in protection comes before anything slow")
	require.Empty(t, deps("describe"))
	require.Equal(t, "isolate_network", steps["isolate"].Action)
	require.Equal(t, []string{"isolate_and_stop"}, []string(steps["stop"].When))
}

func loadErr(t *testing.T, yaml string) *LoadError {
	t.Helper()
	_, err := LoadPlaybook("playbooks/bad.yaml", []byte(yaml))
	require.Error(t, err)
	var le *LoadError
	require.True(t, errors.As(err, &le), "want *LoadError, got %T: %v", err, err)
	return le
}

const header = `id: bad
title: Bad
clouds: [aws]
severity: high
triggers:
  findings:
    aws: [CryptoCurrency:EC2/BitcoinTool.B!DNS]
`

func TestLoadPlaybookErrorsNameFileLineColumnAndField(t *testing.T) {
	cases := []struct {
		name, yaml string
		want       []string // each must be one of the errors, as a prefix
	}{
		{"unknown field", header + "containment:\n  - id: a\n    acton: stop_instance\n",
			// The misspelt key is unknown, and the step then has no action:
			// both are reported, in one run.
			[]string{`playbooks/bad.yaml:10:5: containment[0].acton: unknown field "acton"`,
				`playbooks/bad.yaml:9:7: containment[0].action: is required`}},
		{"unknown action", header + "containment:\n  - id: a\n    action: isolate_netwrk\n",
			[]string{`playbooks/bad.yaml:10:5: containment[0].action: unknown action "isolate_netwrk" (expected one of: capture_connections,`}},
		{"unknown param", header + "containment:\n  - id: a\n    action: isolate_network\n    params: {allow_cidr: [10.0.0.0/8]}\n",
			[]string{`playbooks/bad.yaml:11:14: containment[0].params.allow_cidr: unknown parameter "allow_cidr" of action isolate_network (expected: allow_cidrs, detach_public_ips)`}},
		{"duplicate id", header + "evidence:\n  - {id: a, action: describe_instance}\ncontainment:\n  - id: a\n    action: stop_instance\n",
			[]string{`playbooks/bad.yaml:11:5: containment[0].id: duplicate step id "a" (first used at evidence[0])`}},
		{"dangling needs", header + "containment:\n  - id: a\n    action: stop_instance\n    needs: [describe]\n",
			[]string{`playbooks/bad.yaml:11:13: containment[0].needs[0]: unknown step "describe"`}},
		{"dangling after", header + "containment:\n  - id: a\n    action: stop_instance\n    after:\n      - nope\n",
			[]string{`playbooks/bad.yaml:12:9: containment[0].after[0]: unknown step "nope"`}},
		{"cycle", header + "containment:\n  - {id: a, action: stop_instance, needs: [b]}\n  - {id: b, action: tag_resource, after: [a]}\n",
			[]string{`playbooks/bad.yaml:9:5: containment[0]: dependency cycle: a -> b -> a`}},
		{"bad duration", header + "containment:\n  - id: a\n    action: stop_instance\n    timeout: 5 minutes\n",
			[]string{`playbooks/bad.yaml:11:14: containment[0].timeout: bad duration "5 minutes"`}},
		{"bad CEL", header + "outcomes: [{id: stop}, {id: keep}]\ndecisions:\n  - id: prod\n    question: Production?\n    predicate: 'facts.instance.tags[\"env\"] ==== \"prod\"'\n    yes: stop\n    no: keep\n",
			[]string{`playbooks/bad.yaml:12:5: decisions[0].predicate: bad CEL predicate: ERROR: <input>:1:30: Syntax error`}},
		{"non-bool CEL", header + "outcomes: [{id: stop}, {id: keep}]\ndecisions:\n  - {id: prod, question: Production?, predicate: '1 + 2', yes: stop, no: keep}\n",
			[]string{`playbooks/bad.yaml:10:39: decisions[0].predicate: bad CEL predicate: it yields int, not bool`}},
		{"dangling decision target", header + "outcomes: [{id: stop}, {id: keep}]\ndecisions:\n  - id: prod\n    question: Production?\n    predicate: 'true'\n    yes: stopp\n    no: keep\n",
			[]string{`playbooks/bad.yaml:13:5: decisions[0].yes: "stopp" is neither a decision node nor a declared outcome (outcomes: keep, stop)`,
				`playbooks/bad.yaml:8:12: outcomes[0]: outcome "stop" is never reached by the decision tree`}},
		{"when names unknown outcome", header + "outcomes: [{id: stop}, {id: keep}]\ndecisions:\n  - {id: prod, question: Production?, predicate: 'true', yes: stop, no: keep}\ncontainment:\n  - {id: a, action: stop_instance, when: [stp]}\n",
			[]string{`playbooks/bad.yaml:12:43: containment[0].when[0]: unknown outcome "stp" (declared outcomes: keep, stop)`}},
		{"decision cycle", header + "outcomes: [{id: stop}]\ndecisions:\n  - {id: a, question: A?, predicate: 'true', yes: b, no: stop}\n  - {id: b, question: B?, predicate: 'true', yes: a, no: stop}\n",
			[]string{`playbooks/bad.yaml:10:5: decisions[0]: decision cycle: a -> b -> a`}},
		{"bad severity and cloud", "id: bad\ntitle: Bad\nclouds: [aws, oracle]\nseverity: urgent\ntriggers:\n  alarms: [{metric: CPUUtilization, threshold: 95}]\n",
			[]string{`playbooks/bad.yaml:3:15: clouds[1]: unknown cloud "oracle"`, `playbooks/bad.yaml:4:1: severity: "urgent" is not a severity`}},
		{"missing title and triggers", "id: bad\nclouds: [aws]\nseverity: low\n",
			[]string{`playbooks/bad.yaml:1:1: title: is required`, `playbooks/bad.yaml:1:1: triggers: needs at least one of findings, alarms, cost_anomaly`}},
		{"comms references", header + "communication:\n  roles: [{id: lead, name: Lead, contacts: [a@example.com]}]\n  notify: [{severity: high, on: ack, roles: [leed], template: hello}]\n  templates: [{id: hi, subject: '{{.CaseID', body: x}]\n",
			[]string{`playbooks/bad.yaml:10:46: communication.notify[0].roles[0]: unknown role "leed"`,
				`playbooks/bad.yaml:10:53: communication.notify[0].template: unknown template "hello"`,
				`playbooks/bad.yaml:11:24: communication.templates[0].subject: bad template`}},
		{"remediation check must read", header + "remediation:\n  - {id: r, item: Stop it, owner: ops, check: {id: c, action: stop_instance}}\n",
			[]string{`playbooks/bad.yaml:9:55: remediation[0].check.action: "stop_instance" changes the cloud; a remediation check must only read`}},
		{"yaml syntax", "id: [unclosed\n", []string{`playbooks/bad.yaml:1:`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			le := loadErr(t, tc.yaml)
			require.Len(t, le.Errs, len(tc.want), "errors:\n%v", le)
			for _, w := range tc.want {
				found := false
				for _, e := range le.Errs {
					if strings.HasPrefix(e.Error(), w) {
						found = true
					}
				}
				require.True(t, found, "want an error starting with\n  %s\ngot:\n%v", w, le)
			}
		})
	}
}

func TestLoadErrorListsEveryProblemInFileOrder(t *testing.T) {
	le := loadErr(t, header+"containment:\n  - {id: b, action: nope}\n  - {id: a, action: stop_instance, needs: [zz]}\n")
	require.Len(t, le.Errs, 2)
	require.Less(t, le.Errs[0].Line, le.Errs[1].Line)
	require.Equal(t, "containment[0].action", le.Errs[0].Path)
	require.Equal(t, "containment[1].needs[0]", le.Errs[1].Path)
	require.Equal(t, 2, strings.Count(le.Error(), "playbooks/bad.yaml:"))
}

// A playbook written out by MarshalPlaybook (what 'firedrill show ID -o
// yaml' prints) loads unchanged, and writes out the same again.
func TestMarshalPlaybookRoundTrips(t *testing.T) {
	for _, pb := range BuiltinPlaybooks() {
		t.Run(pb.ID, func(t *testing.T) {
			b, err := MarshalPlaybook(pb)
			require.NoError(t, err)
			again, err := LoadPlaybook(pb.ID+".yaml", b)
			require.NoError(t, err, "%s", b)
			b2, err := MarshalPlaybook(again)
			require.NoError(t, err)
			require.Equal(t, string(b), string(b2))
			require.Equal(t, len(pb.Steps()), len(again.Steps()))
			require.Equal(t, pb.Containment[0].Fallback, again.Containment[0].Fallback)
			require.NotContains(t, string(b), "phase:", "the loader's own fields are not written")
		})
	}
}

// Every unknown field of a file is reported in one load, with the other
// problems, not one per run.
func TestLoadReportsEveryUnknownFieldAtOnce(t *testing.T) {
	le := loadErr(t, header+"triggerz: {}\ncontainment:\n  - {id: a, action: stop_instance, timout: 5m}\n  - {id: b, action: tag_resource, paramz: {}}\n  - {id: c, action: nope}\n")
	var paths []string
	for _, e := range le.Errs {
		paths = append(paths, e.Path)
	}
	require.Equal(t, []string{"triggerz", "containment[0].timout", "containment[1].paramz", "containment[2].action"}, paths)
}

// WithoutSteps drops the steps and every reference to them, and refuses a
// step the playbook does not have (a renamed step must not leave the
// variant equal to the playbook).
func TestWithoutStepsDropsStepsAndReferences(t *testing.T) {
	pb, ok := PlaybookByID("vm-cryptomining")
	require.True(t, ok)
	cp, err := WithoutSteps(pb, "stop")
	require.NoError(t, err)
	require.Equal(t, "vm-cryptomining-no-stop", cp.ID)
	require.Len(t, cp.Steps(), len(pb.Steps())-1)
	for _, s := range cp.Steps() {
		require.NotEqual(t, "stop", s.ID)
		require.NotContains(t, s.Needs, "stop", s.ID)
		require.NotContains(t, s.After, "stop", s.ID)
	}
	// remove_service_account needed the stop: it stays, without the need.
	var found bool
	for _, s := range cp.Containment {
		found = found || s.ID == "remove_service_account"
	}
	require.True(t, found)
	_, err = WithoutSteps(pb, "stop", "no-such-step")
	require.ErrorContains(t, err, `no evidence, containment or eradication step "no-such-step"`)
	_, err = WithoutSteps(pb, "q_role_calls")
	require.Error(t, err, "investigation queries are not removable this way")
}

// WithoutParam drops one parameter of one containment step, and refuses a
// step or parameter the playbook does not have.
func TestWithoutParamDropsOneParameter(t *testing.T) {
	pb, ok := PlaybookByID("ec2-cryptomining")
	require.True(t, ok)
	cp, err := WithoutParam(pb, "protect_scaling", "load_balanced_mode")
	require.NoError(t, err)
	require.Equal(t, "ec2-cryptomining-no-load_balanced_mode", cp.ID)
	params := func(p *Playbook) map[string]any {
		for _, s := range p.Containment {
			if s.ID == "protect_scaling" {
				return s.Params
			}
		}
		return nil
	}
	require.Equal(t, map[string]any{"mode": "protect"}, params(cp))
	require.Contains(t, params(pb), "load_balanced_mode", "the built-in playbook is left as it was")
	_, err = WithoutParam(pb, "protect_scaling", "no_such_param")
	require.ErrorContains(t, err, "has no parameter no_such_param")
	_, err = WithoutParam(pb, "no_such_step", "mode")
	require.ErrorContains(t, err, "has no containment step no_such_step")
}
