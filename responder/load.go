package responder

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/template"

	"cel.dev/cel-go/cel"
	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"github.com/firedrill-ir/firedrill/internal/yamlschema"
	"github.com/firedrill-ir/firedrill/providers"
	"github.com/firedrill-ir/firedrill/responder/action"
)

// FieldError is one problem in a playbook file, located by line, column and
// field path, so an author can go straight to it.
type FieldError struct {
	File      string
	Line, Col int
	Path      string // e.g. containment[3].action
	Msg       string
}

func (e FieldError) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d:%d", e.File, e.Line, e.Col)
	}
	if e.Path == "" {
		return loc + ": " + e.Msg
	}
	return fmt.Sprintf("%s: %s: %s", loc, e.Path, e.Msg)
}

// LoadError lists every problem found in a playbook file, in file order.
type LoadError struct {
	File string
	Errs []FieldError
}

func (e *LoadError) Error() string {
	msgs := make([]string, len(e.Errs))
	for i, fe := range e.Errs {
		msgs[i] = fe.Error()
	}
	return strings.Join(msgs, "\n")
}

// LoadPlaybook decodes and validates a playbook. file names the source in
// error messages. Unknown fields, unknown actions and parameters, duplicate
// ids, dangling needs and decision targets, dependency cycles, predicates
// that do not compile and bad durations are all rejected, each reported as
// file:line:col: field.path: problem; a *LoadError carries them all.
func LoadPlaybook(file string, data []byte) (*Playbook, error) {
	astFile, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, &LoadError{File: file, Errs: []FieldError{yamlFieldError(file, nil, err)}}
	}
	idx := indexPositions(astFile)
	pb := &Playbook{}
	v := &validator{file: file, idx: idx, pb: pb}
	// Every unknown field of the file at once, not only the first a strict
	// decoder would stop at; then everything else the file gets wrong.
	for _, doc := range astFile.Docs {
		for _, p := range yamlschema.UnknownFields(doc, reflect.TypeFor[Playbook](), "") {
			fe := FieldError{File: file, Path: p.Path, Msg: p.Msg + " (see 'firedrill schema playbook')"}
			if p.Pos != nil {
				fe.Line, fe.Col = p.Pos.Line, p.Pos.Column
			}
			v.errs = append(v.errs, fe)
		}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(pb); err != nil {
		v.errs = append(v.errs, yamlFieldError(file, idx, err))
		return nil, &LoadError{File: file, Errs: v.errs}
	}
	pb.File, pb.Raw = file, slices.Clone(data)
	v.validate()
	if len(v.errs) > 0 {
		sort.SliceStable(v.errs, func(i, j int) bool {
			a, b := v.errs[i], v.errs[j]
			if a.Line != b.Line {
				return a.Line < b.Line
			}
			return a.Col < b.Col
		})
		return nil, &LoadError{File: file, Errs: v.errs}
	}
	return pb, nil
}

// yamlFieldError turns a goccy error (which carries the offending token)
// into a FieldError with the field path found from the token's position.
func yamlFieldError(file string, idx *posIndex, err error) FieldError {
	var ye yaml.Error
	if errors.As(err, &ye) {
		fe := FieldError{File: file, Msg: cleanYAMLMessage(ye.GetMessage())}
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			fe.Line, fe.Col = tk.Position.Line, tk.Position.Column
			if idx != nil {
				fe.Path = idx.pathAt(fe.Line, fe.Col)
			}
		}
		return fe
	}
	return FieldError{File: file, Msg: err.Error()}
}

// cleanYAMLMessage drops goccy's Go-type jargon where a plainer word exists.
func cleanYAMLMessage(m string) string {
	m = strings.TrimSpace(m)
	if strings.HasPrefix(m, "unknown field") {
		return m + " (see 'firedrill show' for the playbook format)"
	}
	return m
}

// posIndex maps field paths to positions and back.
type posIndex struct {
	byPath map[string]*token.Position
	byPos  map[[2]int]string
}

func indexPositions(f *ast.File) *posIndex {
	idx := &posIndex{byPath: map[string]*token.Position{}, byPos: map[[2]int]string{}}
	for _, doc := range f.Docs {
		if doc.Body != nil {
			idx.walk("", doc.Body)
		}
	}
	return idx
}

func (idx *posIndex) record(p string, tk *token.Token, primary bool) {
	if tk == nil || tk.Position == nil {
		return
	}
	if _, ok := idx.byPath[p]; !ok || primary {
		idx.byPath[p] = tk.Position
	}
	key := [2]int{tk.Position.Line, tk.Position.Column}
	if _, ok := idx.byPos[key]; !ok || primary {
		idx.byPos[key] = p
	}
}

func (idx *posIndex) walk(p string, n ast.Node) {
	switch n := n.(type) {
	case *ast.MappingNode:
		for _, mv := range n.Values {
			idx.walkPair(p, mv)
		}
	case *ast.MappingValueNode:
		idx.walkPair(p, n)
	case *ast.SequenceNode:
		for i, v := range n.Values {
			ip := fmt.Sprintf("%s[%d]", p, i)
			idx.record(ip, v.GetToken(), true)
			idx.walk(ip, v)
		}
	case *ast.AnchorNode:
		idx.walk(p, n.Value)
	case *ast.TagNode:
		idx.walk(p, n.Value)
	default:
		if n != nil {
			idx.record(p, n.GetToken(), false)
		}
	}
}

func (idx *posIndex) walkPair(p string, mv *ast.MappingValueNode) {
	key := mv.Key.GetToken().Value
	fp := key
	if p != "" {
		fp = p + "." + key
	}
	// A field is located at its key: that is where the author looks.
	idx.record(fp, mv.Key.GetToken(), true)
	if mv.Value != nil {
		if _, scalar := mv.Value.(ast.ScalarNode); scalar {
			idx.record(fp, mv.Value.GetToken(), false)
		} else {
			idx.walk(fp, mv.Value)
		}
	}
}

// pos finds a path's position, falling back to its nearest ancestor that
// exists in the file (a missing field is reported at its parent).
func (idx *posIndex) pos(p string) (int, int) {
	for {
		if pos, ok := idx.byPath[p]; ok {
			return pos.Line, pos.Column
		}
		if p == "" {
			return 1, 1
		}
		if i := strings.LastIndexAny(p, ".["); i >= 0 {
			p = p[:i]
		} else {
			p = ""
		}
	}
}

func (idx *posIndex) pathAt(line, col int) string {
	if p, ok := idx.byPos[[2]int{line, col}]; ok {
		return p
	}
	return ""
}

// validator collects every problem of one playbook.
type validator struct {
	file string
	idx  *posIndex
	pb   *Playbook
	errs []FieldError
}

func (v *validator) errorf(p, format string, args ...any) {
	line, col := v.idx.pos(p)
	v.errs = append(v.errs, FieldError{File: v.file, Line: line, Col: col, Path: p, Msg: fmt.Sprintf(format, args...)})
}

func (v *validator) validate() {
	pb := v.pb
	switch {
	case pb.ID == "":
		v.errorf("id", "is required")
	case !idRe.MatchString(pb.ID):
		v.errorf("id", "%q must be lower-case letters, digits, '-' and '_'", pb.ID)
	}
	if pb.Title == "" {
		v.errorf("title", "is required")
	}
	if len(pb.Clouds) == 0 {
		v.errorf("clouds", "is required: name at least one of aws, azure, gcp")
	}
	for i, c := range pb.Clouds {
		if !isCloud(c) {
			v.errorf(fmt.Sprintf("clouds[%d]", i), "unknown cloud %q (expected one of: aws, azure, gcp)", c)
		}
	}
	if severityRank(pb.Severity) == 0 {
		v.errorf("severity", "%q is not a severity (expected one of: %s)", pb.Severity, strings.Join(severities, ", "))
	}
	v.validateTriggers()
	for i, k := range pb.Resources {
		if !providers.KnownKind(k) {
			v.errorf(fmt.Sprintf("resources[%d]", i), "unknown resource kind %q (expected one of: %s)", k, kindList(providers.Kinds))
		}
	}

	// Step ids share one namespace so needs, journal keys and events are
	// unambiguous.
	seen := map[string]string{}
	type located struct {
		s    *Step
		path string
	}
	var graph, queries []located
	for i := range pb.Evidence {
		pb.Evidence[i].Phase = PhaseEvidence
		graph = append(graph, located{&pb.Evidence[i], fmt.Sprintf("evidence[%d]", i)})
	}
	for i := range pb.Containment {
		pb.Containment[i].Phase = PhaseContainment
		graph = append(graph, located{&pb.Containment[i], fmt.Sprintf("containment[%d]", i)})
	}
	var erad []located
	for i := range pb.Eradication {
		pb.Eradication[i].Phase = PhaseEradication
		erad = append(erad, located{&pb.Eradication[i], fmt.Sprintf("eradication[%d]", i)})
	}
	qids := map[string]bool{}
	for i := range pb.Investigation {
		q := &pb.Investigation[i]
		qp := fmt.Sprintf("investigation[%d]", i)
		v.checkID(qp+".id", q.ID, qids, "investigation question")
		if q.Question == "" {
			v.errorf(qp+".question", "is required")
		}
		if len(q.Queries) == 0 {
			v.errorf(qp+".queries", "needs at least one query")
		}
		for j := range q.Queries {
			q.Queries[j].Phase = PhaseInvestigation
			queries = append(queries, located{&q.Queries[j], fmt.Sprintf("%s.queries[%d]", qp, j)})
		}
	}
	var checks []located
	rids := map[string]bool{}
	for i := range pb.Remediation {
		r := &pb.Remediation[i]
		rp := fmt.Sprintf("remediation[%d]", i)
		v.checkID(rp+".id", r.ID, rids, "remediation item")
		if r.Item == "" {
			v.errorf(rp+".item", "is required")
		}
		if r.Owner == "" {
			v.errorf(rp+".owner", "is required")
		}
		if r.Check != nil {
			r.Check.Phase = PhaseRemediation
			checks = append(checks, located{r.Check, rp + ".check"})
		}
	}
	all := slices.Concat(graph, erad, queries, checks)
	for _, l := range all {
		v.validateStep(l.path, l.s, seen)
	}
	for _, l := range checks {
		if a, ok := action.Lookup(l.s.Action); ok && a.Mutates {
			v.errorf(l.path+".action", "%q changes the cloud; a remediation check must only read", l.s.Action)
		}
		if len(l.s.Needs) > 0 {
			v.errorf(l.path+".needs", "remediation checks run after containment and investigation; they cannot need other steps")
		}
	}
	// Needs stay within one graph: evidence and containment together,
	// eradication steps among themselves, investigation queries among
	// themselves.
	inGraph := func(set []located) map[string]bool {
		m := map[string]bool{}
		for _, l := range set {
			m[l.s.ID] = true
		}
		return m
	}
	for _, set := range [][]located{graph, erad, queries} {
		ids := inGraph(set)
		for _, l := range set {
			for _, field := range []struct {
				name string
				ids  []string
			}{{"needs", l.s.Needs}, {"after", l.s.After}} {
				for k, n := range field.ids {
					p := fmt.Sprintf("%s.%s[%d]", l.path, field.name, k)
					switch _, elsewhere := seen[n]; {
					case ids[n]:
					case n == l.s.ID:
						v.errorf(p, "a step cannot wait for itself")
					case elsewhere:
						v.errorf(p, "%q is in another section (%s); evidence and containment steps can wait for each other, eradication steps and investigation queries only for others of their section", n, seen[n])
					default:
						v.errorf(p, "unknown step %q", n)
					}
				}
			}
		}
		steps := make([]*Step, len(set))
		paths := map[string]string{}
		for i, l := range set {
			steps[i] = l.s
			paths[l.s.ID] = l.path
		}
		if cyc := findCycle(steps); len(cyc) > 0 {
			v.errorf(paths[cyc[0]], "dependency cycle: %s", strings.Join(cyc, " -> "))
		}
	}
	v.validateDecisions(graph2steps(graph, func(l located) *Step { return l.s }), func(id string) string {
		for _, l := range graph {
			if l.s.ID == id {
				return l.path
			}
		}
		return ""
	})
	for _, l := range slices.Concat(erad, queries, checks) {
		if len(l.s.When) > 0 {
			v.errorf(l.path+".when", "only evidence and containment steps can depend on the decision outcome")
		}
	}
	v.validateComms()
}

func graph2steps[T any](in []T, f func(T) *Step) []*Step {
	out := make([]*Step, len(in))
	for i, x := range in {
		out[i] = f(x)
	}
	return out
}

func isCloud(c string) bool {
	return c == providers.CloudAWS || c == providers.CloudAzure || c == providers.CloudGCP
}

func (v *validator) checkID(p, id string, seen map[string]bool, what string) {
	switch {
	case id == "":
		v.errorf(p, "is required")
	case !idRe.MatchString(id):
		v.errorf(p, "%q must be lower-case letters, digits, '-' and '_'", id)
	case seen[id]:
		v.errorf(p, "duplicate %s id %q", what, id)
	}
	seen[id] = true
}

func (v *validator) validateTriggers() {
	t := v.pb.Triggers
	if len(t.Findings) == 0 && len(t.Alarms) == 0 && t.CostAnomaly == nil {
		v.errorf("triggers", "needs at least one of findings, alarms, cost_anomaly")
	}
	for _, c := range slices.Sorted(maps.Keys(t.Findings)) {
		if !isCloud(c) {
			v.errorf("triggers.findings."+c, "unknown cloud %q (expected one of: aws, azure, gcp)", c)
		}
		if len(t.Findings[c]) == 0 {
			v.errorf("triggers.findings."+c, "lists no finding types")
		}
		for i, ft := range t.Findings[c] {
			if strings.TrimSpace(ft) == "" {
				v.errorf(fmt.Sprintf("triggers.findings.%s[%d]", c, i), "is empty")
			}
		}
	}
	for i, a := range t.Alarms {
		p := fmt.Sprintf("triggers.alarms[%d]", i)
		if a.Metric == "" {
			v.errorf(p+".metric", "is required")
		}
		if a.Threshold <= 0 {
			v.errorf(p+".threshold", "must be positive")
		}
	}
	if c := t.CostAnomaly; c != nil && c.MinIncreasePercent <= 0 {
		v.errorf("triggers.cost_anomaly.min_increase_percent", "must be positive")
	}
}

func (v *validator) validateStep(p string, s *Step, seen map[string]string) {
	switch {
	case s.ID == "":
		v.errorf(p+".id", "is required")
	case !idRe.MatchString(s.ID):
		v.errorf(p+".id", "%q must be lower-case letters, digits, '-' and '_'", s.ID)
	default:
		if prev, dup := seen[s.ID]; dup {
			v.errorf(p+".id", "duplicate step id %q (first used at %s)", s.ID, prev)
		} else {
			seen[s.ID] = p
		}
	}
	spec, ok := action.Lookup(s.Action)
	switch {
	case s.Action == "":
		v.errorf(p+".action", "is required (one of: %s)", strings.Join(ActionNames(), ", "))
	case !ok:
		v.errorf(p+".action", "unknown action %q (expected one of: %s)", s.Action, strings.Join(ActionNames(), ", "))
	default:
		v.checkParams(p+".params", spec, s.Params, true)
		v.checkKinds(p+".action", spec)
	}
	if s.Retries < 0 || s.Retries > maxRetries {
		v.errorf(p+".retries", "must be between 0 and %d", maxRetries)
	}
	for i, c := range s.Clouds {
		v.checkStepCloud(fmt.Sprintf("%s.clouds[%d]", p, i), c)
	}
	for _, c := range slices.Sorted(maps.Keys(s.CloudParams)) {
		cp := p + ".cloud_params." + c
		v.checkStepCloud(cp, c)
		if len(s.Clouds) > 0 && isCloud(c) && !slices.Contains(s.Clouds, c) {
			v.errorf(cp, "the step runs only on %s; parameters for %s would never be used", strings.Join(s.Clouds, ", "), c)
		}
		if spec, ok := action.Lookup(s.Action); ok {
			v.checkParams(cp, spec, s.CloudParams[c], false)
		}
	}
	for _, c := range slices.Sorted(maps.Keys(s.Fallback)) {
		fp := p + ".fallback." + c
		v.checkStepCloud(fp, c)
		fb := s.Fallback[c]
		if fb.Action == "" {
			if fb.Note == "" {
				v.errorf(fp, "says nothing: give a note (what a human does instead) or an action to run instead")
			}
			if len(fb.Params) > 0 {
				v.errorf(fp+".params", "parameters need an action to go to")
			}
			continue
		}
		spec, ok := action.Lookup(fb.Action)
		if !ok {
			v.errorf(fp+".action", "unknown action %q (expected one of: %s)", fb.Action, strings.Join(ActionNames(), ", "))
			continue
		}
		v.checkParams(fp+".params", spec, fb.Params, true)
	}
}

// checkParams checks parameters against an action: every name known, every
// template parseable, and (required) every required one given.
func (v *validator) checkParams(p string, spec action.Spec, params map[string]any, required bool) {
	for _, k := range slices.Sorted(maps.Keys(params)) {
		if !slices.Contains(spec.Params, k) {
			allowed := "none"
			if len(spec.Params) > 0 {
				allowed = strings.Join(spec.Params, ", ")
			}
			v.errorf(p+"."+k, "unknown parameter %q of action %s (expected: %s)", k, spec.Name, allowed)
		}
		if str, ok := params[k].(string); ok && strings.Contains(str, "{{") {
			if _, err := template.New(k).Option("missingkey=error").Parse(str); err != nil {
				v.errorf(p+"."+k, "bad template: %v", err)
			}
		}
	}
	if !required {
		return
	}
	for _, k := range spec.Required {
		if _, ok := params[k]; !ok {
			v.errorf(p, "action %s needs parameter %q", spec.Name, k)
		}
	}
}

// checkKinds rejects an action that acts on kinds of resource the
// playbook never opens a case on (isolate_network in a bucket playbook).
func (v *validator) checkKinds(p string, spec action.Spec) {
	if len(spec.Kinds) == 0 {
		return
	}
	for _, k := range v.pb.ResourceKinds() {
		if slices.Contains(spec.Kinds, k) {
			return
		}
	}
	kinds := make([]string, len(spec.Kinds))
	for i, k := range spec.Kinds {
		kinds[i] = string(k)
	}
	v.errorf(p, "action %s acts on %s resources; the playbook's cases are about %s", spec.Name,
		strings.Join(kinds, ", "), kindList(v.pb.ResourceKinds()))
}

func kindList(ks []providers.Kind) string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = string(k)
	}
	return strings.Join(out, ", ")
}

// checkStepCloud validates a cloud a step names: a known cloud, and one the
// playbook is for (a step for a cloud the playbook never runs on is a typo
// or a leftover).
func (v *validator) checkStepCloud(p, c string) {
	switch {
	case !isCloud(c):
		v.errorf(p, "unknown cloud %q (expected one of: aws, azure, gcp)", c)
	case !slices.Contains(v.pb.Clouds, c):
		v.errorf(p, "cloud %q is not among the playbook's clouds (%s)", c, strings.Join(v.pb.Clouds, ", "))
	}
}

// findCycle returns the ids of one dependency cycle (first id repeated at
// the end), or nil. Unknown needs are ignored here; they are reported apart.
func findCycle(steps []*Step) []string {
	byID := map[string]*Step{}
	for _, s := range steps {
		byID[s.ID] = s
	}
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var stack []string
	var cycle []string
	var visit func(id string) bool
	visit = func(id string) bool {
		color[id] = grey
		stack = append(stack, id)
		for _, n := range slices.Concat(byID[id].Needs, byID[id].After) {
			if _, ok := byID[n]; !ok || n == id {
				continue
			}
			switch color[n] {
			case grey:
				i := slices.Index(stack, n)
				cycle = append(slices.Clone(stack[i:]), n)
				return true
			case white:
				if visit(n) {
					return true
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[id] = black
		return false
	}
	for _, s := range steps {
		if color[s.ID] == white && visit(s.ID) {
			return cycle
		}
	}
	return nil
}

func (v *validator) validateDecisions(graph []*Step, stepPath func(string) string) {
	pb := v.pb
	outcomes := map[string]bool{}
	for i, o := range pb.Outcomes {
		v.checkID(fmt.Sprintf("outcomes[%d].id", i), o.ID, outcomes, "outcome")
	}
	nodes := map[string]int{}
	for i, d := range pb.Decisions {
		p := fmt.Sprintf("decisions[%d]", i)
		seen := map[string]bool{}
		for id := range nodes {
			seen[id] = true
		}
		v.checkID(p+".id", d.ID, seen, "decision node")
		if outcomes[d.ID] {
			v.errorf(p+".id", "%q is also an outcome; a branch target must be one or the other", d.ID)
		}
		nodes[d.ID] = i
		if d.Question == "" {
			v.errorf(p+".question", "is required: tabletop mode asks it")
		}
	}
	pb.programs = map[string]cel.Program{}
	pb.inputs = map[string][]factPath{}
	for i, d := range pb.Decisions {
		p := fmt.Sprintf("decisions[%d]", i)
		if d.Predicate == "" {
			v.errorf(p+".predicate", "is required: automation evaluates it")
		} else if prg, paths, err := compilePredicate(d.Predicate); err != nil {
			v.errorf(p+".predicate", "%v", err)
		} else {
			pb.programs[d.ID] = prg
			pb.inputs[d.ID] = paths
		}
		for _, br := range []struct{ name, target string }{{"yes", d.Yes}, {"no", d.No}} {
			switch {
			case br.target == "":
				v.errorf(p+"."+br.name, "is required: name a decision node or an outcome")
			case br.target == d.ID:
				v.errorf(p+"."+br.name, "%q points back at its own node", br.target)
			default:
				_, isNode := nodes[br.target]
				if !isNode && !outcomes[br.target] {
					v.errorf(p+"."+br.name, "%q is neither a decision node nor a declared outcome (outcomes: %s)",
						br.target, strings.Join(slices.Sorted(maps.Keys(outcomes)), ", "))
				}
			}
		}
	}
	// The tree must be a tree: acyclic, everything reachable from the root,
	// every outcome reachable.
	if len(pb.Decisions) > 0 {
		reached := map[string]bool{}
		var onPath []string
		var walk func(id string)
		walk = func(id string) {
			i, isNode := nodes[id]
			if !isNode {
				reached[id] = true
				return
			}
			if slices.Contains(onPath, id) {
				v.errorf(fmt.Sprintf("decisions[%d]", i), "decision cycle: %s -> %s", strings.Join(onPath, " -> "), id)
				return
			}
			if reached[id] {
				return
			}
			reached[id] = true
			onPath = append(onPath, id)
			walk(pb.Decisions[i].Yes)
			walk(pb.Decisions[i].No)
			onPath = onPath[:len(onPath)-1]
		}
		walk(pb.Decisions[0].ID)
		for i, d := range pb.Decisions {
			if d.ID != "" && !reached[d.ID] {
				v.errorf(fmt.Sprintf("decisions[%d]", i), "node %q is not reachable from the root %q", d.ID, pb.Decisions[0].ID)
			}
		}
		for i, o := range pb.Outcomes {
			if o.ID != "" && !reached[o.ID] {
				v.errorf(fmt.Sprintf("outcomes[%d]", i), "outcome %q is never reached by the decision tree", o.ID)
			}
		}
	} else if len(pb.Outcomes) > 0 {
		v.errorf("outcomes", "declared but there is no decision tree (decisions:) to reach them")
	}
	for _, s := range graph {
		for k, w := range s.When {
			if !outcomes[w] {
				v.errorf(fmt.Sprintf("%s.when[%d]", stepPath(s.ID), k), "unknown outcome %q (declared outcomes: %s)",
					w, strings.Join(slices.Sorted(maps.Keys(outcomes)), ", "))
			}
		}
	}
}

func (v *validator) validateComms() {
	c := &v.pb.Communication
	roles := map[string]bool{}
	for i, r := range c.Roles {
		p := fmt.Sprintf("communication.roles[%d]", i)
		v.checkID(p+".id", r.ID, roles, "role")
		if len(r.Contacts) == 0 {
			v.errorf(p+".contacts", "lists nobody")
		}
	}
	tmpls := map[string]bool{}
	for i, t := range c.Templates {
		p := fmt.Sprintf("communication.templates[%d]", i)
		v.checkID(p+".id", t.ID, tmpls, "template")
		for _, f := range []struct{ name, text string }{{"subject", t.Subject}, {"body", t.Body}} {
			if f.text == "" {
				v.errorf(p+"."+f.name, "is required")
				continue
			}
			if _, err := template.New(t.ID).Option("missingkey=error").Parse(f.text); err != nil {
				v.errorf(p+"."+f.name, "bad template: %v", err)
			}
		}
	}
	for i, r := range c.Rules {
		p := fmt.Sprintf("communication.notify[%d]", i)
		if severityRank(r.Severity) == 0 {
			v.errorf(p+".severity", "%q is not a severity (expected one of: %s)", r.Severity, strings.Join(severities, ", "))
		}
		if len(r.Roles) == 0 {
			v.errorf(p+".roles", "names no role")
		}
		for k, role := range r.Roles {
			if !roles[role] {
				v.errorf(fmt.Sprintf("%s.roles[%d]", p, k), "unknown role %q", role)
			}
		}
		switch r.On {
		case OnAck, OnContained, OnClosed:
		default:
			v.errorf(p+".on", "%q is not a moment (expected one of: ack, contained, closed)", r.On)
		}
		if !tmpls[r.Template] {
			v.errorf(p+".template", "unknown template %q", r.Template)
		}
	}
}

//go:embed playbooks/*.yaml
var builtinFS embed.FS

var (
	builtinOnce sync.Once
	builtin     []*Playbook
	builtinErr  error
)

// BuiltinPlaybooks returns the embedded playbooks, sorted by id. They are
// validated by the tests, so a broken one is a programming error: it panics.
func BuiltinPlaybooks() []*Playbook {
	builtinOnce.Do(func() {
		entries, err := fs.ReadDir(builtinFS, "playbooks")
		if err != nil {
			builtinErr = fmt.Errorf("reading embedded playbooks: %w", err)
			return
		}
		for _, e := range entries {
			name := path.Join("playbooks", e.Name())
			data, err := builtinFS.ReadFile(name)
			if err != nil {
				builtinErr = fmt.Errorf("reading %s: %w", name, err)
				return
			}
			pb, err := LoadPlaybook(name, data)
			if err != nil {
				builtinErr = err
				return
			}
			builtin = append(builtin, pb)
		}
		sort.Slice(builtin, func(i, j int) bool { return builtin[i].ID < builtin[j].ID })
	})
	if builtinErr != nil {
		panic("responder: embedded playbook invalid: " + builtinErr.Error())
	}
	return slices.Clone(builtin)
}

// PlaybookByID finds an embedded playbook.
func PlaybookByID(id string) (*Playbook, bool) {
	for _, pb := range BuiltinPlaybooks() {
		if pb.ID == id {
			return pb, true
		}
	}
	return nil, false
}

// itoa is strconv.Itoa, kept short for detail maps.
func itoa(i int) string { return strconv.Itoa(i) }
