package scenarios

import (
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/scenarios/attacker"
)

// Error is one problem in a scenario file, located by line, column and
// field path (e.g. "steps[2].at").
type Error struct {
	File         string
	Line, Column int
	Field        string
	Msg          string
}

func (e *Error) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d:%d", e.File, e.Line, e.Column)
	}
	if e.Field != "" {
		return fmt.Sprintf("%s: %s: %s", loc, e.Field, e.Msg)
	}
	return fmt.Sprintf("%s: %s", loc, e.Msg)
}

// The raw document, as written. Durations are strings so that a bad one is
// reported with its position instead of as a generic type error.
type rawScenario struct {
	ID          string         `yaml:"id"`
	Title       string         `yaml:"title"`
	Description string         `yaml:"description"`
	Clouds      []string       `yaml:"clouds"`
	Techniques  []rawTechnique `yaml:"techniques"`
	// Exactly one of environment (one cloud) and environments (one entry
	// per cloud) is given.
	Environment  *rawEnvironment  `yaml:"environment"`
	Environments []rawEnvironment `yaml:"environments"`
	Steps        []rawStep        `yaml:"steps"`
	Dynamics     rawDynamics      `yaml:"dynamics"`
	Detectors    rawDetectors     `yaml:"detectors"`
	Duration     string           `yaml:"duration"`
	Expect       rawExpect        `yaml:"expect"`
}

type rawTechnique struct {
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
}

type rawEnvironment struct {
	Preset       string          `yaml:"preset"`
	Instances    int             `yaml:"instances"`
	ScaleIn      *rawScaleIn     `yaml:"scale_in"`
	RolePolicies []rawRolePolicy `yaml:"role_policies"`
	// ServiceAccountRoles: GCP only.
	ServiceAccountRoles []string `yaml:"service_account_roles"`
}

type rawScaleIn struct {
	After   string `yaml:"after"`
	Desired *int   `yaml:"desired"`
}

type rawRolePolicy struct {
	Name     string   `yaml:"name"`
	Actions  []string `yaml:"actions"`
	Resource string   `yaml:"resource"`
}

type rawStep struct {
	ID        string         `yaml:"id"`
	At        string         `yaml:"at"`
	After     string         `yaml:"after"`
	When      string         `yaml:"when"`
	Delay     string         `yaml:"delay"`
	Technique string         `yaml:"technique"`
	Params    map[string]any `yaml:"params"`
}

type rawDynamics struct {
	Background []rawBackground `yaml:"background"`
}

type rawBackground struct {
	User     string   `yaml:"user"`
	Every    string   `yaml:"every"`
	SourceIP string   `yaml:"source_ip"`
	Calls    []string `yaml:"calls"`
}

type rawDetectors struct {
	GuardDuty   *rawGuardDuty   `yaml:"guardduty"`
	Defender    *rawDefender    `yaml:"defender"`
	SCC         *rawSCC         `yaml:"scc"`
	CPUAlarm    *rawCPUAlarm    `yaml:"cpu_alarm"`
	CostAnomaly *rawCostAnomaly `yaml:"cost_anomaly"`
}

type rawGuardDuty struct {
	Enabled *bool       `yaml:"enabled"`
	Latency *rawLatency `yaml:"latency"`
}

type rawDefender struct {
	Enabled       *bool       `yaml:"enabled"`
	MiningLatency *rawLatency `yaml:"mining_latency"`
	DomainLatency *rawLatency `yaml:"domain_latency"`
	TokenLatency  *rawLatency `yaml:"token_latency"`
}

type rawSCC struct {
	Enabled     *bool       `yaml:"enabled"`
	ETDLatency  *rawLatency `yaml:"etd_latency"`
	VMTDLatency *rawLatency `yaml:"vmtd_latency"`
}

type rawLatency struct {
	Min  string `yaml:"min"`
	Mode string `yaml:"mode"`
	Max  string `yaml:"max"`
}

type rawCPUAlarm struct {
	Enabled           *bool    `yaml:"enabled"`
	Threshold         *float64 `yaml:"threshold"`
	Period            string   `yaml:"period"`
	EvaluationPeriods int      `yaml:"evaluation_periods"`
}

type rawCostAnomaly struct {
	Enabled     *bool    `yaml:"enabled"`
	After       string   `yaml:"after"`
	MinSpendUSD *float64 `yaml:"min_spend_usd"`
}

type rawExpect struct {
	Playbook string `yaml:"playbook"`
	SLO      rawSLO `yaml:"slo"`
}

type rawSLO struct {
	Profile string `yaml:"profile"`
	MTTD    string `yaml:"mttd"`
	MTTA    string `yaml:"mtta"`
	MTTC    string `yaml:"mttc"`
}

// Presets the runner knows how to seed (see PresetClouds).
var Presets = []string{"aws-web-asg", "azure-web-vmss", "gcp-web-mig"}

var idRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// Load parses and validates a scenario. file names the source in errors.
// Every problem found is reported (joined), each with its position.
func Load(file string, data []byte) (*Scenario, error) {
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, yamlError(file, err, nil)
	}
	where, byToken := positions(f)
	if len(f.Docs) != 1 || f.Docs[0].Body == nil {
		return nil, &Error{File: file, Msg: "expected exactly one YAML document holding a scenario"}
	}
	v := &validator{file: file, where: where}
	v.unknownFields(f.Docs[0].Body, reflect.TypeOf(rawScenario{}), "")
	if len(v.errs) > 0 {
		return nil, v.err()
	}
	var raw rawScenario
	if err := yaml.NodeToValue(f.Docs[0].Body, &raw); err != nil {
		return nil, yamlError(file, err, byToken)
	}
	sc := v.scenario(&raw)
	if len(v.errs) > 0 {
		return nil, v.err()
	}
	sc.Source = file
	return sc, nil
}

// yamlError turns a goccy error into an *Error with its position.
func yamlError(file string, err error, pos map[[2]int]string) error {
	var ye yaml.Error
	if errors.As(err, &ye) && ye.GetToken() != nil {
		p := ye.GetToken().Position
		return &Error{File: file, Line: p.Line, Column: p.Column, Field: pos[[2]int{p.Line, p.Column}], Msg: ye.GetMessage()}
	}
	return &Error{File: file, Msg: err.Error()}
}

// positions locates the document's fields. where maps a field path to the
// position errors about it should point at: a scalar's value, otherwise
// its key (or, for a list entry, its first key). byToken maps key and value
// token positions back to paths, for the parser's own errors.
func positions(f *ast.File) (where map[string][2]int, byToken map[[2]int]string) {
	where, byToken = map[string][2]int{}, map[[2]int]string{}
	// keyOf(path) entries point at a field's key, for "unknown name" errors.
	at := func(n ast.Node) ([2]int, bool) {
		if n == nil || n.GetToken() == nil {
			return [2]int{}, false
		}
		p := n.GetToken().Position
		return [2]int{p.Line, p.Column}, true
	}
	var walk func(n ast.Node, p string)
	walk = func(n ast.Node, p string) {
		switch x := n.(type) {
		case *ast.DocumentNode:
			walk(x.Body, p)
		case *ast.MappingNode:
			for _, mv := range x.Values {
				walk(mv, p)
			}
		case *ast.MappingValueNode:
			child := joinPath(p, keyString(x.Key))
			if k, ok := at(x.Key); ok {
				where[child] = k
				where[keyOf(child)] = k
				byToken[k] = child
			}
			if _, scalar := x.Value.(ast.ScalarNode); scalar {
				if v, ok := at(x.Value); ok {
					where[child] = v
					byToken[v] = child
				}
			}
			walk(x.Value, child)
		case *ast.SequenceNode:
			for i, e := range x.Values {
				ep := fmt.Sprintf("%s[%d]", p, i)
				first := e
				if m, ok := e.(*ast.MappingNode); ok && len(m.Values) > 0 {
					first = m.Values[0].Key
				}
				if v, ok := at(first); ok {
					where[ep] = v
					if _, dup := byToken[v]; !dup {
						byToken[v] = ep
					}
				}
				walk(e, ep)
			}
		case *ast.AnchorNode:
			walk(x.Value, p)
		case *ast.TagNode:
			walk(x.Value, p)
		}
	}
	for _, d := range f.Docs {
		walk(d, "")
	}
	return where, byToken
}

// keyOf is the lookup key for the position of a field's key.
func keyOf(path string) string { return path + "#key" }

func joinPath(p, k string) string {
	if p == "" {
		return k
	}
	return p + "." + k
}

func keyString(k ast.MapKeyNode) string {
	if s, ok := k.(*ast.StringNode); ok {
		return s.Value
	}
	return strings.TrimSpace(k.String())
}

// validator collects errors with positions.
type validator struct {
	file  string
	where map[string][2]int
	errs  []*Error
}

func (v *validator) err() error {
	sort.SliceStable(v.errs, func(i, j int) bool {
		a, b := v.errs[i], v.errs[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
	errs := make([]error, len(v.errs))
	for i, e := range v.errs {
		errs[i] = e
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

// at locates a field path, falling back to its closest located parent (a
// missing field is reported where its parent is).
func (v *validator) at(path string) (int, int) {
	for p := path; ; {
		if lc, ok := v.where[p]; ok {
			return lc[0], lc[1]
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			if p == "" {
				return 1, 1
			}
			p = ""
			continue
		}
		p = p[:i]
	}
}

func (v *validator) add(path, format string, args ...any) {
	v.addAt(path, path, format, args...)
}

// addKey reports an error about a field's name, pointing at its key.
func (v *validator) addKey(path, format string, args ...any) {
	v.addAt(keyOf(path), path, format, args...)
}

func (v *validator) addAt(lookup, path, format string, args ...any) {
	l, c := v.at(lookup)
	if lookup != path {
		if _, ok := v.where[lookup]; !ok {
			l, c = v.at(path)
		}
	}
	v.errs = append(v.errs, &Error{File: v.file, Line: l, Column: c, Field: path, Msg: fmt.Sprintf(format, args...)})
}

// unknownFields rejects keys the raw schema does not declare, walking the
// document against the struct types, in document order.
func (v *validator) unknownFields(n ast.Node, t reflect.Type, p string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch x := n.(type) {
	case *ast.AnchorNode:
		v.unknownFields(x.Value, t, p)
	case *ast.TagNode:
		v.unknownFields(x.Value, t, p)
	case *ast.MappingNode:
		for _, mv := range x.Values {
			v.unknownFields(mv, t, p)
		}
	case *ast.MappingValueNode:
		key := keyString(x.Key)
		child := joinPath(p, key)
		switch t.Kind() {
		case reflect.Struct:
			f, ok := fieldByTag(t, key)
			if !ok {
				tk := x.Key.GetToken()
				v.errs = append(v.errs, &Error{File: v.file, Line: tk.Position.Line, Column: tk.Position.Column, Field: child,
					Msg: fmt.Sprintf("unknown field %q (known: %s)", key, strings.Join(tagNames(t), ", "))})
				return
			}
			v.unknownFields(x.Value, f.Type, child)
		case reflect.Map:
			v.unknownFields(x.Value, t.Elem(), child)
		}
	case *ast.SequenceNode:
		if t.Kind() == reflect.Slice {
			for i, e := range x.Values {
				v.unknownFields(e, t.Elem(), fmt.Sprintf("%s[%d]", p, i))
			}
		}
	}
}

func fieldByTag(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if strings.Split(f.Tag.Get("yaml"), ",")[0] == key {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func tagNames(t reflect.Type) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		out = append(out, strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0])
	}
	return out
}

// duration parses a duration field; empty is zero unless required.
func (v *validator) duration(path, s string, required bool) time.Duration {
	if s == "" {
		if required {
			v.add(path, "is required (a duration such as 90s, 25m or 2h)")
		}
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		v.add(path, "%q is not a duration (use e.g. 90s, 25m, 2h)", s)
		return 0
	}
	if d < 0 {
		v.add(path, "%q must not be negative", s)
		return 0
	}
	return d
}

func enabled(b *bool) bool { return b == nil || *b }

func (v *validator) scenario(r *rawScenario) *Scenario {
	sc := &Scenario{ID: r.ID, Title: r.Title, Description: strings.TrimSpace(r.Description), Clouds: r.Clouds}
	if r.ID == "" {
		v.add("id", "is required")
	} else if !idRe.MatchString(r.ID) {
		v.add("id", "%q must be lower-case letters, digits and dashes", r.ID)
	}
	if r.Title == "" {
		v.add("title", "is required")
	}
	if len(r.Clouds) == 0 {
		v.add("clouds", "name at least one cloud (aws, azure, gcp)")
	}
	for i, c := range r.Clouds {
		if c != "aws" && c != "azure" && c != "gcp" {
			v.add(fmt.Sprintf("clouds[%d]", i), "unknown cloud %q (aws, azure, gcp)", c)
		}
	}
	attackRe := regexp.MustCompile(`^T\d{4}(\.\d{3})?$`)
	for i, t := range r.Techniques {
		p := fmt.Sprintf("techniques[%d]", i)
		if !attackRe.MatchString(t.ID) {
			v.add(p+".id", "%q is not an ATT&CK technique id such as T1496 or T1552.005", t.ID)
		}
		if t.Name == "" {
			v.add(p+".name", "is required")
		}
		sc.Techniques = append(sc.Techniques, Technique{ID: t.ID, Name: t.Name})
	}
	sc.Duration = v.duration("duration", r.Duration, true)
	if r.Duration != "" && sc.Duration == 0 && len(v.errs) == 0 {
		v.add("duration", "must be positive")
	}
	sc.Environments = v.environments(r, sc.Duration)
	if len(sc.Environments) > 0 {
		sc.Environment = sc.Environments[0]
	}
	sc.Steps = v.steps(r.Steps, sc)
	sc.Dynamics = v.dynamics(r.Dynamics, sc)
	sc.Detectors = v.detectors(r.Detectors, sc)
	sc.Expect = v.expect(r.Expect)
	return sc
}

// environments validates environment / environments against the
// scenario's clouds: exactly one environment per named cloud, in any order
// (the result follows the order of clouds).
func (v *validator) environments(r *rawScenario, dur time.Duration) []Environment {
	var raw []rawEnvironment
	var paths []string
	switch {
	case r.Environment != nil && len(r.Environments) > 0:
		v.add("environments", "give either environment (one cloud) or environments (one per cloud), not both")
		return nil
	case r.Environment != nil:
		raw, paths = []rawEnvironment{*r.Environment}, []string{"environment"}
	case len(r.Environments) > 0:
		raw = r.Environments
		for i := range raw {
			paths = append(paths, fmt.Sprintf("environments[%d]", i))
		}
	default:
		v.add("environment", "is required: the environment to seed (preset: %s)", strings.Join(Presets, ", "))
		return nil
	}
	byCloud := map[string]Environment{}
	for i, re := range raw {
		env := v.environment(re, paths[i], dur)
		if env.Cloud == "" {
			continue
		}
		if _, dup := byCloud[env.Cloud]; dup {
			v.add(paths[i]+".preset", "a second %s environment: a scenario seeds one environment per cloud", env.Cloud)
			continue
		}
		if !slices.Contains(r.Clouds, env.Cloud) {
			v.add(paths[i]+".preset", "preset %q is a %s environment, but clouds does not name %s", env.Preset, env.Cloud, env.Cloud)
		}
		byCloud[env.Cloud] = env
	}
	var out []Environment
	for i, c := range r.Clouds {
		env, ok := byCloud[c]
		if !ok {
			if c == "aws" || c == "azure" || c == "gcp" {
				v.add(fmt.Sprintf("clouds[%d]", i), "cloud %s has no environment (add one to environments)", c)
			}
			continue
		}
		out = append(out, env)
	}
	return out
}

func (v *validator) environment(r rawEnvironment, path string, dur time.Duration) Environment {
	env := Environment{Preset: r.Preset, Instances: r.Instances, Cloud: PresetClouds[r.Preset]}
	if !slices.Contains(Presets, r.Preset) {
		v.add(path+".preset", "unknown preset %q (known: %s)", r.Preset, strings.Join(Presets, ", "))
	}
	if env.Instances == 0 {
		env.Instances = 3
	}
	if env.Instances < 1 || env.Instances > 20 {
		v.add(path+".instances", "%d is out of range 1..20", r.Instances)
	}
	if s := r.ScaleIn; s != nil {
		env.ScaleIn = &ScaleIn{After: v.duration(path+".scale_in.after", s.After, true)}
		if s.Desired == nil {
			v.add(path+".scale_in.desired", "is required")
		} else {
			env.ScaleIn.Desired = *s.Desired
			if *s.Desired < 0 || *s.Desired >= env.Instances {
				v.add(path+".scale_in.desired", "%d must be between 0 and instances-1 (%d)", *s.Desired, env.Instances-1)
			}
		}
		if dur > 0 && env.ScaleIn.After >= dur {
			v.add(path+".scale_in.after", "%s is not before the end of the scenario (%s)", s.After, dur)
		}
	}
	if len(r.RolePolicies) > 0 && env.Cloud != "" && env.Cloud != "aws" {
		v.add(path+".role_policies", "role policies are IAM policies on the AWS instance role; preset %s is %s", r.Preset, env.Cloud)
	}
	if len(r.ServiceAccountRoles) > 0 && env.Cloud != "" && env.Cloud != "gcp" {
		v.add(path+".service_account_roles", "service-account roles are GCP project roles; preset %s is %s", r.Preset, env.Cloud)
	}
	for i, role := range r.ServiceAccountRoles {
		if !world.GCPRoleKnown(role) {
			v.add(fmt.Sprintf("%s.service_account_roles[%d]", path, i), "unknown or unmodelled GCP role %q (e.g. roles/compute.securityAdmin)", role)
		}
	}
	env.ServiceAccountRoles = r.ServiceAccountRoles
	for i, rp := range r.RolePolicies {
		p := fmt.Sprintf("%s.role_policies[%d]", path, i)
		if rp.Name == "" {
			v.add(p+".name", "is required")
		}
		if len(rp.Actions) == 0 {
			v.add(p+".actions", "list at least one IAM action")
		}
		for j, a := range rp.Actions {
			if svc, op, ok := strings.Cut(a, ":"); !ok || svc == "" || op == "" {
				v.add(fmt.Sprintf("%s.actions[%d]", p, j), "%q is not an IAM action such as ec2:RunInstances", a)
			}
		}
		res := rp.Resource
		if res == "" {
			res = "*"
		}
		env.RolePolicies = append(env.RolePolicies, RolePolicy{Name: rp.Name, Actions: rp.Actions, Resource: res})
	}
	return env
}

func (v *validator) steps(raw []rawStep, sc *Scenario) []Step {
	if len(raw) == 0 {
		v.add("steps", "a scenario needs at least one attack step")
	}
	reg := attacker.Builtin()
	index := map[string]int{}
	for i, r := range raw {
		if r.ID != "" {
			if j, dup := index[r.ID]; dup {
				v.add(fmt.Sprintf("steps[%d].id", i), "duplicate step id %q (also steps[%d])", r.ID, j)
			}
			index[r.ID] = i
		}
	}
	var out []Step
	for i, r := range raw {
		p := fmt.Sprintf("steps[%d]", i)
		st := Step{ID: r.ID, After: r.After, When: r.When, Technique: r.Technique, Params: map[string]string{}}
		if r.ID == "" {
			v.add(p+".id", "is required")
		} else if !idRe.MatchString(r.ID) {
			v.add(p+".id", "%q must be lower-case letters, digits and dashes", r.ID)
		}
		n := 0
		for _, s := range []string{r.At, r.After, r.When} {
			if s != "" {
				n++
			}
		}
		if n != 1 {
			v.add(p, "say when the step starts with exactly one of at, after and when")
		}
		if r.At != "" {
			d := v.duration(p+".at", r.At, true)
			st.At = &d
			if sc.Duration > 0 && d >= sc.Duration {
				v.add(p+".at", "%s is not before the end of the scenario (%s)", r.At, sc.Duration)
			}
		}
		if r.After != "" {
			if j, ok := index[r.After]; !ok {
				v.add(p+".after", "no step has id %q", r.After)
			} else if j >= i {
				v.add(p+".after", "step %q must come earlier in the list (steps run after steps above them)", r.After)
			}
		}
		if r.When != "" && !slices.Contains(Conditions, r.When) {
			v.add(p+".when", "unknown condition %q (known: %s)", r.When, strings.Join(Conditions, ", "))
		}
		st.Delay = v.duration(p+".delay", r.Delay, false)
		if r.Delay != "" && r.At != "" {
			v.add(p+".delay", "delay only applies to after and when; fold it into at")
		}
		t, ok := reg.Get(r.Technique)
		if r.Technique == "" {
			v.add(p+".technique", "is required")
		} else if !ok {
			v.add(p+".technique", "unknown technique %q (known: %s)", r.Technique, strings.Join(reg.IDs(), ", "))
		}
		for _, k := range sortedAnyKeys(r.Params) {
			s, ok := scalar(r.Params[k])
			if !ok {
				v.add(p+".params."+k, "must be a scalar (string, number or boolean)")
				continue
			}
			st.Params[k] = s
		}
		if t != nil {
			if name, err := t.CheckParams(st.Params); err != nil {
				if _, known := t.Param(name); known {
					v.add(p+".params."+name, "%v", err)
				} else {
					v.addKey(p+".params."+name, "%v", err)
				}
			}
			if !slices.ContainsFunc(sc.Techniques, func(x Technique) bool { return x.ID == t.ATTACK }) {
				v.add(p+".technique", "%s implements ATT&CK %s, which the scenario's techniques list does not name", t.ID, t.ATTACK)
			}
			if c := t.CloudName(); !slices.Contains(sc.Clouds, c) {
				v.add(p+".technique", "%s attacks %s, which the scenario's clouds do not name", t.ID, c)
			}
		}
		out = append(out, st)
	}
	return out
}

func sortedAnyKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func scalar(x any) (string, bool) {
	switch y := x.(type) {
	case string:
		return y, true
	case bool:
		return strconv.FormatBool(y), true
	case int, int64, uint64, int32, uint32:
		return fmt.Sprint(y), true
	case float64:
		return strconv.FormatFloat(y, 'f', -1, 64), true
	}
	return "", false
}

func (v *validator) dynamics(r rawDynamics, sc *Scenario) Dynamics {
	var d Dynamics
	if _, aws := sc.EnvironmentFor("aws"); len(r.Background) > 0 && !aws && len(sc.Environments) > 0 {
		v.add("dynamics.background", "background activity is made of AWS calls by IAM users; the scenario has no aws environment")
	}
	for i, b := range r.Background {
		p := fmt.Sprintf("dynamics.background[%d]", i)
		bg := Background{User: b.User, SourceIP: b.SourceIP, Calls: b.Calls,
			Every: v.duration(p+".every", b.Every, true)}
		if b.Every != "" && bg.Every < time.Minute {
			v.add(p+".every", "%q is too frequent for background activity (at least 1m)", b.Every)
		}
		if b.User == "" {
			v.add(p+".user", "is required")
		}
		if b.SourceIP != "" {
			if _, err := netip.ParseAddr(b.SourceIP); err != nil {
				v.add(p+".source_ip", "%q is not an IP address", b.SourceIP)
			}
		}
		if len(b.Calls) == 0 {
			v.add(p+".calls", "list at least one call (%s)", strings.Join(BackgroundCalls, ", "))
		}
		for j, c := range b.Calls {
			if !slices.Contains(BackgroundCalls, c) {
				v.add(fmt.Sprintf("%s.calls[%d]", p, j), "unknown call %q (known: %s)", c, strings.Join(BackgroundCalls, ", "))
			}
		}
		d.Background = append(d.Background, bg)
	}
	return d
}

// latency validates a triangular latency; nil stays nil.
func (v *validator) latency(path string, l *rawLatency) *Latency {
	if l == nil {
		return nil
	}
	lat := &Latency{Min: v.duration(path+".min", l.Min, true),
		Mode: v.duration(path+".mode", l.Mode, true),
		Max:  v.duration(path+".max", l.Max, true)}
	if lat.Min > lat.Mode || lat.Mode > lat.Max {
		v.add(path, "needs min <= mode <= max (got %s, %s, %s)", l.Min, l.Mode, l.Max)
	}
	return lat
}

// needCloud reports a detector configured for a cloud the scenario does
// not seed: it would silently watch nothing.
func (v *validator) needCloud(path string, sc *Scenario, clouds ...string) {
	if len(sc.Environments) == 0 {
		return // the environment error already explains
	}
	for _, c := range clouds {
		if _, ok := sc.EnvironmentFor(c); ok {
			return
		}
	}
	v.add(path, "watches %s, which the scenario does not seed", strings.Join(clouds, " or "))
}

func (v *validator) detectors(r rawDetectors, sc *Scenario) Detectors {
	var d Detectors
	if g := r.GuardDuty; g != nil {
		v.needCloud("detectors.guardduty", sc, "aws")
		d.GuardDuty.Enabled = enabled(g.Enabled)
		d.GuardDuty.Latency = v.latency("detectors.guardduty.latency", g.Latency)
	}
	if g := r.Defender; g != nil {
		v.needCloud("detectors.defender", sc, "azure")
		d.Defender = Defender{Enabled: enabled(g.Enabled),
			MiningLatency: v.latency("detectors.defender.mining_latency", g.MiningLatency),
			DomainLatency: v.latency("detectors.defender.domain_latency", g.DomainLatency),
			TokenLatency:  v.latency("detectors.defender.token_latency", g.TokenLatency)}
	}
	if g := r.SCC; g != nil {
		v.needCloud("detectors.scc", sc, "gcp")
		d.SCC = SCC{Enabled: enabled(g.Enabled),
			ETDLatency:  v.latency("detectors.scc.etd_latency", g.ETDLatency),
			VMTDLatency: v.latency("detectors.scc.vmtd_latency", g.VMTDLatency)}
	}
	if c := r.CPUAlarm; c != nil {
		v.needCloud("detectors.cpu_alarm", sc, "aws", "azure")
		d.CPUAlarm = CPUAlarm{Enabled: enabled(c.Enabled), Threshold: 95, Period: 5 * time.Minute, EvaluationPeriods: 2}
		if c.Threshold != nil {
			d.CPUAlarm.Threshold = *c.Threshold
			if *c.Threshold <= 0 || *c.Threshold >= 100 {
				v.add("detectors.cpu_alarm.threshold", "%v must be a percentage between 0 and 100", *c.Threshold)
			}
		}
		if c.Period != "" {
			d.CPUAlarm.Period = v.duration("detectors.cpu_alarm.period", c.Period, true)
			if d.CPUAlarm.Period != 0 && d.CPUAlarm.Period%time.Minute != 0 {
				v.add("detectors.cpu_alarm.period", "%q must be a whole number of minutes (CloudWatch periods are multiples of 60s)", c.Period)
			}
		}
		if c.EvaluationPeriods != 0 {
			d.CPUAlarm.EvaluationPeriods = c.EvaluationPeriods
			if c.EvaluationPeriods < 1 {
				v.add("detectors.cpu_alarm.evaluation_periods", "must be at least 1")
			}
		}
	}
	if c := r.CostAnomaly; c != nil {
		v.needCloud("detectors.cost_anomaly", sc, "aws")
		d.CostAnomaly = CostAnomaly{Enabled: enabled(c.Enabled), After: 4 * time.Hour, MinSpendUSD: 10}
		if c.After != "" {
			d.CostAnomaly.After = v.duration("detectors.cost_anomaly.after", c.After, true)
		}
		if c.MinSpendUSD != nil {
			d.CostAnomaly.MinSpendUSD = *c.MinSpendUSD
			if *c.MinSpendUSD < 0 {
				v.add("detectors.cost_anomaly.min_spend_usd", "must not be negative")
			}
		}
	}
	return d
}

func (v *validator) expect(r rawExpect) Expect {
	e := Expect{Playbook: r.Playbook}
	if r.Playbook == "" {
		v.add("expect.playbook", "is required: which playbook should answer this scenario")
	}
	s := r.SLO
	profile := s.Profile
	if profile == "" {
		profile = "1-10-60"
	}
	base, known := sloProfiles[profile]
	switch {
	case profile == "custom":
		base = SLO{Profile: "custom"}
		for _, f := range []struct{ name, val string }{{"mttd", s.MTTD}, {"mtta", s.MTTA}, {"mttc", s.MTTC}} {
			if f.val == "" {
				v.add("expect.slo."+f.name, "is required with the custom profile")
			}
		}
	case !known:
		v.add("expect.slo.profile", "unknown profile %q (1-10-60, 5/5/5, custom)", s.Profile)
	}
	if s.MTTD != "" {
		base.MTTD = v.duration("expect.slo.mttd", s.MTTD, true)
	}
	if s.MTTA != "" {
		base.MTTA = v.duration("expect.slo.mtta", s.MTTA, true)
	}
	if s.MTTC != "" {
		base.MTTC = v.duration("expect.slo.mttc", s.MTTC, true)
	}
	e.SLO = base
	return e
}
