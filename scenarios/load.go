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

	"github.com/firedrill-ir/firedrill/cloudsim/detect"
	"github.com/firedrill-ir/firedrill/cloudsim/fault"
	"github.com/firedrill-ir/firedrill/cloudsim/simcloud"
	_ "github.com/firedrill-ir/firedrill/cloudsim/simcloud/all" // every cloud's driver and the preset packs
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/internal/yamlschema"
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
	Resources    []rawResource    `yaml:"resources"`
	Steps        []rawStep        `yaml:"steps"`
	Background   []rawBackground  `yaml:"background"`
	Faults       []rawFault       `yaml:"faults"`
	// Dynamics is the old home of background activity, refused with a
	// pointer to background.
	Dynamics  any                       `yaml:"dynamics"`
	Detectors map[string]map[string]any `yaml:"detectors"`
	Duration  string                    `yaml:"duration"`
	Expect    rawExpect                 `yaml:"expect"`
	Knobs     *rawKnobs                 `yaml:"knobs"`
}

// rawFault is one fault-injection rule (see cloudsim/fault).
type rawFault struct {
	Kind      string `yaml:"kind"`
	Rate      any    `yaml:"rate"`
	Factor    any    `yaml:"factor"`
	Latency   string `yaml:"latency"`
	Status    int    `yaml:"status"`
	Cloud     string `yaml:"cloud"`
	Service   string `yaml:"service"`
	Operation string `yaml:"operation"`
	Actor     string `yaml:"actor"`
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
	// ServiceAccountRoles: for a preset whose workload identity is a
	// service account.
	ServiceAccountRoles []string `yaml:"service_account_roles"`
}

type rawResource struct {
	Cloud     string          `yaml:"cloud"`
	Kind      string          `yaml:"kind"`
	Name      string          `yaml:"name"`
	Size      int             `yaml:"size"`
	ScaleIn   *rawScaleIn     `yaml:"scale_in"`
	Policies  []rawRolePolicy `yaml:"policies"`
	Roles     []string        `yaml:"roles"`
	Versioned bool            `yaml:"versioned"`
	// HealthCheckType: an AWS vm_group's EC2 or ELB.
	HealthCheckType string `yaml:"health_check_type"`
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

type rawBackground struct {
	Technique string         `yaml:"technique"`
	Principal string         `yaml:"principal"`
	Every     string         `yaml:"every"`
	SourceIP  string         `yaml:"source_ip"`
	Params    map[string]any `yaml:"params"`
}

type rawExpect struct {
	Playbook    string `yaml:"playbook"`
	SLO         rawSLO `yaml:"slo"`
	Eradication string `yaml:"eradication"`
}

type rawSLO struct {
	Profile string `yaml:"profile"`
	MTTD    string `yaml:"mttd"`
	MTTA    string `yaml:"mtta"`
	MTTC    string `yaml:"mttc"`
}

// Presets lists the registered preset packs (see simcloud.Packs).
func Presets() []string { return simcloud.Packs() }

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
	// Every unknown field at once, then everything else the file gets
	// wrong: one run shows the author all of it.
	for _, pr := range yamlschema.UnknownFields(f.Docs[0].Body, reflect.TypeFor[rawScenario](), "") {
		e := &Error{File: file, Field: pr.Path, Msg: pr.Msg + " (see 'firedrill schema scenario')"}
		if pr.Pos != nil {
			e.Line, e.Column = pr.Pos.Line, pr.Pos.Column
		}
		v.errs = append(v.errs, e)
	}
	var raw rawScenario
	if err := yaml.NodeToValue(f.Docs[0].Body, &raw); err != nil {
		if e, ok := yamlError(file, err, byToken).(*Error); ok {
			v.errs = append(v.errs, e)
		}
		return nil, v.err()
	}
	sc := v.scenario(&raw)
	if len(v.errs) > 0 {
		return nil, v.err()
	}
	sc.Source = file
	sc.Raw = slices.Clone(data)
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
	known := strings.Join(simcloud.Clouds(), ", ")
	if len(r.Clouds) == 0 {
		v.add("clouds", "name at least one cloud (%s)", known)
	}
	for i, c := range r.Clouds {
		if _, ok := simcloud.Get(c); !ok {
			v.add(fmt.Sprintf("clouds[%d]", i), "unknown cloud %q (%s)", c, known)
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
	sc.Environments, sc.Resources = v.environments(r, sc.Duration)
	if len(sc.Environments) > 0 {
		sc.Environment = sc.Environments[0]
	}
	sc.Steps = v.steps(r.Steps, sc)
	if r.Dynamics != nil {
		v.addKey("dynamics", "dynamics.background is now background, a list of legitimate techniques on any cloud such as "+
			"{technique: %s, principal: alice, every: 12m, source_ip: 198.51.100.23, params: {calls: [\"ec2:DescribeInstances\"]}}",
			strings.Join(attacker.Builtin().IDs(true), " | "))
	}
	sc.Background = v.background(r.Background, sc)
	sc.Faults = v.faults(r.Faults, sc)
	sc.Detectors = v.detectors(r.Detectors, sc)
	sc.Expect = v.expect(r.Expect)
	sc.Knobs = v.knobs(r.Knobs, sc)
	return sc
}

// located is a resource with where in the document each of its fields was
// given: a preset's resource changed by the preset's overrides, or the
// scenario's own resources entry.
type located struct {
	r     Resource
	paths map[string]string // field (YAML name) -> document path
	base  string            // where anything else about it is reported
}

// path maps a resource field path ("policies[0].actions[1]") to the
// document ("environment.role_policies[0].actions[1]").
func (l *located) path(field string) string {
	head, rest := field, ""
	if i := strings.IndexAny(field, ".["); i >= 0 {
		head, rest = field[:i], field[i:]
	}
	if p, ok := l.paths[head]; ok {
		return p + rest
	}
	return l.base
}

// environments validates environment / environments against the
// scenario's clouds: exactly one environment per named cloud, in any order
// (the result follows the order of clouds). Each environment's preset pack
// expands into resources, the scenario's own resources are merged in, and
// every resource is checked by its cloud's kind.
func (v *validator) environments(r *rawScenario, dur time.Duration) ([]Environment, []Resource) {
	var raw []rawEnvironment
	var paths []string
	switch {
	case r.Environment != nil && len(r.Environments) > 0:
		v.add("environments", "give either environment (one cloud) or environments (one per cloud), not both")
		return nil, nil
	case r.Environment != nil:
		raw, paths = []rawEnvironment{*r.Environment}, []string{"environment"}
	case len(r.Environments) > 0:
		raw = r.Environments
		for i := range raw {
			paths = append(paths, fmt.Sprintf("environments[%d]", i))
		}
	default:
		v.add("environment", "is required: the environment to seed (preset: %s)", strings.Join(Presets(), ", "))
		return nil, nil
	}
	byCloud := map[string]Environment{}
	res := map[string][]*located{}
	for i, re := range raw {
		env, locs := v.environment(re, paths[i])
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
		res[env.Cloud] = locs
	}
	v.ownResources(r.Resources, r.Clouds, res)
	var envs []Environment
	var out []Resource
	for i, c := range r.Clouds {
		env, ok := byCloud[c]
		if !ok {
			if _, known := simcloud.Get(c); known {
				v.add(fmt.Sprintf("clouds[%d]", i), "cloud %s has no environment (add one to environments)", c)
			}
			continue
		}
		for _, l := range res[c] {
			v.checkResource(l, dur)
			out = append(out, l.r)
		}
		envs = append(envs, env)
	}
	return envs, out
}

// environment expands one preset with its overrides.
func (v *validator) environment(r rawEnvironment, path string) (Environment, []*located) {
	pack, ok := simcloud.GetPack(r.Preset)
	if !ok {
		v.add(path+".preset", "unknown preset %q (known: %s)", r.Preset, strings.Join(Presets(), ", "))
		return Environment{Preset: r.Preset}, nil
	}
	env := Environment{Preset: r.Preset, Cloud: pack.Cloud}
	var locs []*located
	for _, pr := range pack.Resources {
		locs = append(locs, &located{r: pr, paths: map[string]string{}, base: path + ".preset"})
	}
	group := findLocated(locs, simcloud.KindVMGroup, pack.Group)
	if r.Instances != 0 || r.ScaleIn != nil {
		if group == nil {
			v.add(path+".preset", "preset %s has no VM group to size or scale in", pack.Name)
		} else {
			if r.Instances != 0 {
				group.r.Size, group.paths["size"] = r.Instances, path+".instances"
			}
			if r.ScaleIn != nil {
				group.r.ScaleIn, group.paths["scale_in"] = v.scaleIn(path+".scale_in", r.ScaleIn), path+".scale_in"
			}
		}
	}
	if len(r.RolePolicies) > 0 {
		if id := v.identity(pack, locs, "policies", path+".role_policies"); id != nil {
			id.r.Policies = policies(r.RolePolicies)
		}
	}
	if len(r.ServiceAccountRoles) > 0 {
		if id := v.identity(pack, locs, "roles", path+".service_account_roles"); id != nil {
			id.r.Roles = r.ServiceAccountRoles
		}
	}
	if group != nil {
		env.Instances, env.ScaleIn = group.r.Size, group.r.ScaleIn
	}
	env.RolePolicies, env.ServiceAccountRoles = policies(r.RolePolicies), r.ServiceAccountRoles
	return env, locs
}

// identity returns the preset's workload identity if its kind takes field,
// the resource field an override at path changes.
func (v *validator) identity(pack *simcloud.Pack, locs []*located, field, path string) *located {
	var id *located
	for _, l := range locs {
		if pack.Identity != "" && l.r.Name == pack.Identity {
			id = l
		}
	}
	if id == nil {
		v.add(path, "preset %s has no workload identity to change", pack.Name)
		return nil
	}
	if k := kindOf(&id.r); k != nil && !slices.Contains(k.Fields, field) {
		v.add(path, "preset %s's workload identity %s is a %s %s, which takes %s, not %s",
			pack.Name, id.r.Name, id.r.Cloud, id.r.Kind, strings.Join(k.Fields, ", "), field)
		return nil
	}
	id.paths[field] = path
	return id
}

func kindOf(r *Resource) *simcloud.Kind {
	d, ok := simcloud.Get(r.Cloud)
	if !ok {
		return nil
	}
	k, _ := d.Kind(r.Kind)
	return k
}

func findLocated(locs []*located, kind, name string) *located {
	for _, l := range locs {
		if l.r.Kind == kind && l.r.Name == name {
			return l
		}
	}
	return nil
}

func policies(raw []rawRolePolicy) []RolePolicy {
	var out []RolePolicy
	for _, rp := range raw {
		res := rp.Resource
		if res == "" {
			res = "*"
		}
		out = append(out, RolePolicy{Name: rp.Name, Actions: rp.Actions, Resource: res})
	}
	return out
}

func (v *validator) scaleIn(path string, s *rawScaleIn) *ScaleIn {
	if s == nil {
		return nil
	}
	out := &ScaleIn{After: v.duration(path+".after", s.After, true)}
	if s.Desired == nil {
		v.add(path+".desired", "is required")
	} else {
		out.Desired = *s.Desired
	}
	return out
}

// ownResources adds the scenario's own resources entries: a new resource,
// or changes to the preset's resource of the same cloud, kind and name.
func (v *validator) ownResources(raw []rawResource, clouds []string, res map[string][]*located) {
	for i, rr := range raw {
		p := fmt.Sprintf("resources[%d]", i)
		r := Resource{Cloud: rr.Cloud, Kind: rr.Kind, Name: rr.Name, Size: rr.Size, ScaleIn: v.scaleIn(p+".scale_in", rr.ScaleIn),
			Policies: policies(rr.Policies), Roles: rr.Roles, Versioned: rr.Versioned, HealthCheckType: rr.HealthCheckType}
		d, ok := simcloud.Get(rr.Cloud)
		if !ok {
			v.add(p+".cloud", "unknown cloud %q (%s)", rr.Cloud, strings.Join(simcloud.Clouds(), ", "))
			continue
		}
		if !slices.Contains(clouds, rr.Cloud) {
			v.add(p+".cloud", "%s is not one of the scenario's clouds", rr.Cloud)
		}
		k, ok := d.Kind(rr.Kind)
		if !ok {
			v.add(p+".kind", "unknown %s resource kind %q (known: %s)", rr.Cloud, rr.Kind, strings.Join(d.KindNames(), ", "))
			continue
		}
		if rr.Name == "" {
			v.add(p+".name", "is required")
		}
		bad := false
		for _, f := range r.SetFields() {
			if !slices.Contains(k.Fields, f) {
				v.addKey(p+"."+f, "a %s %s takes no %s (it takes: %s)", rr.Cloud, rr.Kind, f, strings.Join(k.Fields, ", "))
				bad = true
			}
		}
		if bad {
			continue
		}
		l := findLocated(res[rr.Cloud], rr.Kind, rr.Name)
		if l == nil {
			l = &located{r: Resource{Cloud: rr.Cloud, Kind: rr.Kind, Name: rr.Name}, paths: map[string]string{}, base: p}
			res[rr.Cloud] = append(res[rr.Cloud], l)
		}
		l.r.Merge(&r)
		for _, f := range r.SetFields() {
			l.paths[f] = p + "." + f
		}
	}
}

// checkResource runs the kind's checks on a resource and reports at the
// document path of the offending field.
func (v *validator) checkResource(l *located, dur time.Duration) {
	k := kindOf(&l.r)
	if k == nil {
		return
	}
	if k.Check != nil {
		if field, err := k.Check(&l.r); err != nil {
			v.add(l.path(field), "%v", err)
		}
	}
	if s := l.r.ScaleIn; s != nil && dur > 0 && s.After >= dur {
		v.add(l.path("scale_in.after"), "%s is not before the end of the scenario (%s)", s.After, dur)
	}
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
		st := Step{ID: r.ID, After: r.After, When: r.When, Technique: r.Technique}
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
		switch {
		case r.Technique == "":
			v.add(p+".technique", "is required")
		case !ok || t.Legitimate:
			v.add(p+".technique", "unknown technique %q (known: %s)", r.Technique, strings.Join(reg.IDs(false), ", "))
			t = nil
		}
		st.Params = v.params(p, r.Params, t)
		if t != nil {
			if !slices.ContainsFunc(sc.Techniques, func(x Technique) bool { return x.ID == t.ATTACK }) {
				v.add(p+".technique", "%s implements ATT&CK %s, which the scenario's techniques list does not name", t.ID, t.ATTACK)
			}
			if !slices.Contains(sc.Clouds, t.Cloud) {
				v.add(p+".technique", "%s attacks %s, which the scenario's clouds do not name", t.ID, t.Cloud)
			}
		}
		out = append(out, st)
	}
	return out
}

// params converts and checks a technique's parameters (t nil: the
// technique is unknown, only the values' shapes are checked). A list
// parameter may be a YAML list; it is kept comma-separated.
func (v *validator) params(p string, raw map[string]any, t *attacker.Technique) map[string]string {
	out := map[string]string{}
	for _, k := range sortedAnyKeys(raw) {
		if list, ok := raw[k].([]any); ok && t != nil {
			if spec, known := t.Param(k); known && spec.Kind == attacker.KindList {
				var items []string
				for j, it := range list {
					s, ok := scalar(it)
					if !ok || s == "" || strings.Contains(s, ",") {
						v.add(fmt.Sprintf("%s.params.%s[%d]", p, k, j), "must be a non-empty scalar without commas")
					}
					items = append(items, s)
				}
				out[k] = strings.Join(items, ",")
				continue
			}
		}
		s, ok := scalar(raw[k])
		if !ok {
			v.add(p+".params."+k, "must be a scalar (string, number or boolean)")
			continue
		}
		out[k] = s
	}
	if t != nil {
		if name, err := t.CheckParams(out); err != nil {
			_, given := out[name]
			_, known := t.Param(name)
			switch {
			case known && given:
				v.add(p+".params."+name, "%v", err)
			case known:
				v.add(p+".technique", "%v", err)
			default:
				v.addKey(p+".params."+name, "%v", err)
			}
		}
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

// background validates legitimate activity: each entry names a registered
// legitimate technique of a seeded cloud and who performs it.
func (v *validator) background(raw []rawBackground, sc *Scenario) []Background {
	reg := attacker.Builtin()
	var out []Background
	for i, b := range raw {
		p := fmt.Sprintf("background[%d]", i)
		bg := Background{Technique: b.Technique, Principal: b.Principal, SourceIP: b.SourceIP,
			Every: v.duration(p+".every", b.Every, true)}
		t, ok := reg.Get(b.Technique)
		switch {
		case b.Technique == "":
			v.add(p+".technique", "is required")
		case !ok || !t.Legitimate:
			v.add(p+".technique", "unknown legitimate technique %q (known: %s)", b.Technique, strings.Join(reg.IDs(true), ", "))
			t = nil
		default:
			bg.Cloud = t.Cloud
			if !slices.Contains(sc.Clouds, t.Cloud) {
				v.add(p+".technique", "%s acts in %s, which the scenario's clouds do not name", t.ID, t.Cloud)
			}
		}
		if b.Every != "" && bg.Every < time.Minute {
			v.add(p+".every", "%q is too frequent for background activity (at least 1m)", b.Every)
		}
		if b.Principal == "" {
			v.add(p+".principal", "is required: who acts (an IAM user, an application, a user's email)")
		}
		if b.SourceIP != "" {
			if _, err := netip.ParseAddr(b.SourceIP); err != nil {
				v.add(p+".source_ip", "%q is not an IP address", b.SourceIP)
			}
		}
		bg.Params = v.params(p, b.Params, t)
		out = append(out, bg)
	}
	return out
}

// faults reads the fault-injection rules: a kind (throttle, errors,
// latency), a rate for throttle and errors, a factor or an extra latency
// for latency, an optional scope and whose calls suffer (the responder's
// unless actor says otherwise).
func (v *validator) faults(raw []rawFault, sc *Scenario) []fault.Rule {
	var out []fault.Rule
	for i, f := range raw {
		p := fmt.Sprintf("faults[%d]", i)
		before := len(v.errs)
		r := fault.Rule{Cloud: f.Cloud, Service: f.Service, Operation: f.Operation, Status: f.Status}
		switch f.Kind {
		case "throttle":
			r.Kind = fault.Throttle
		case "errors", "5xx":
			r.Kind = fault.Error5xx
		case "latency":
			r.Kind = fault.Latency
		case "":
			v.add(p+".kind", "is required: throttle, errors or latency")
		default:
			v.add(p+".kind", "unknown fault %q (throttle, errors, latency)", f.Kind)
		}
		if f.Rate != nil {
			rate, err := fault.Rate(fmt.Sprint(f.Rate))
			if err != nil {
				v.add(p+".rate", "%v", err)
			}
			r.Rate = rate
		} else if r.Kind == fault.Throttle || r.Kind == fault.Error5xx {
			v.add(p+".rate", "is required for %s: the share of calls affected (20%% or 0.2)", f.Kind)
		}
		if f.Factor != nil {
			factor, err := strconv.ParseFloat(strings.TrimSuffix(fmt.Sprint(f.Factor), "x"), 64)
			if err != nil || factor <= 0 {
				v.add(p+".factor", "expected a positive factor such as 10, got %v", f.Factor)
			}
			r.Factor = factor
		}
		if f.Latency != "" {
			r.Latency = v.duration(p+".latency", f.Latency, true)
		}
		if r.Kind == fault.Latency && f.Factor == nil && f.Latency == "" {
			v.add(p, "a latency fault needs a factor (10) or a latency (2s)")
		}
		actor := f.Actor
		if actor == "" {
			actor = "responder"
		}
		a, err := fault.ActorPattern(actor)
		if err != nil {
			v.add(p+".actor", "%v", err)
		}
		r.Actor = a
		if f.Cloud != "" && !slices.Contains(sc.Clouds, f.Cloud) {
			v.add(p+".cloud", "%q is not one of the scenario's clouds (%s)", f.Cloud, strings.Join(sc.Clouds, ", "))
		}
		if len(v.errs) == before {
			if err := r.Validate(); err != nil {
				v.add(p, "%v", err)
			}
		}
		out = append(out, r)
	}
	return out
}

// needCloud reports a detector or knob configured for a cloud the
// scenario does not seed: it would silently watch or change nothing.
func (v *validator) needCloud(path, verb string, sc *Scenario, clouds ...string) {
	if len(sc.Environments) == 0 {
		return // the environment error already explains
	}
	for _, c := range clouds {
		if _, ok := sc.EnvironmentFor(c); ok {
			return
		}
	}
	v.add(path, "%s %s, which the scenario does not seed", verb, strings.Join(clouds, " or "))
}

// detectors resolves the scenario's detectors through the detector
// registry and checks their settings by kind.
func (v *validator) detectors(raw map[string]map[string]any, sc *Scenario) Detectors {
	d := Detectors{}
	for _, name := range world.SortedKeys(raw) {
		p := "detectors." + name
		spec, ok := detect.Lookup(name)
		if !ok {
			v.addKey(p, "unknown detector %q (known: %s)", name, strings.Join(detect.Names(), ", "))
			continue
		}
		v.needCloud(p, "watches", sc, spec.Clouds...)
		c := &detect.Config{Name: name, Enabled: true, Values: map[string]any{}}
		for _, f := range spec.Fields {
			if f.Default != "" {
				c.Values[f.Name] = defaultValue(f)
			}
		}
		before := len(v.errs)
		for _, key := range sortedAnyKeys(raw[name]) {
			val, fp := raw[name][key], p+"."+key
			if key == "enabled" {
				b, ok := val.(bool)
				if !ok {
					v.add(fp, "must be true or false")
				}
				c.Enabled = b
				continue
			}
			f, ok := spec.Field(key)
			if !ok {
				known := []string{"enabled"}
				for _, f := range spec.Fields {
					known = append(known, f.Name)
				}
				v.addKey(fp, "detector %s has no setting %q (known: %s)", name, key, strings.Join(known, ", "))
				continue
			}
			if x, ok := v.setting(fp, f, val); ok {
				c.Values[key] = x
			}
		}
		if spec.Check != nil && len(v.errs) == before {
			if field, err := spec.Check(c); err != nil {
				v.add(p+"."+field, "%v", err)
			}
		}
		d[name] = c
	}
	return d
}

func defaultValue(f detect.Field) any {
	switch f.Kind {
	case detect.FieldNumber:
		x, _ := strconv.ParseFloat(f.Default, 64)
		return x
	case detect.FieldInt:
		n, _ := strconv.Atoi(f.Default)
		return n
	case detect.FieldDuration:
		d, _ := time.ParseDuration(f.Default)
		return d
	}
	return nil
}

// setting parses one detector setting by its kind.
func (v *validator) setting(path string, f detect.Field, val any) (any, bool) {
	switch f.Kind {
	case detect.FieldNumber:
		switch x := val.(type) {
		case float64:
			return x, true
		case uint64:
			return float64(x), true
		case int64:
			return float64(x), true
		case int:
			return float64(x), true
		}
		v.add(path, "must be a number")
	case detect.FieldInt:
		switch x := val.(type) {
		case uint64:
			return int(x), true
		case int64:
			return int(x), true
		case int:
			return x, true
		}
		v.add(path, "must be a whole number")
	case detect.FieldDuration:
		if s, ok := val.(string); ok {
			return v.duration(path, s, true), true
		}
		v.add(path, "must be a duration such as 5m")
	case detect.FieldLatency:
		return v.latency(path, val)
	}
	return nil, false
}

// latency validates a triangular latency {min, mode, max}.
func (v *validator) latency(path string, val any) (any, bool) {
	m, ok := val.(map[string]any)
	if !ok {
		v.add(path, "must be a latency {min, mode, max}")
		return nil, false
	}
	str := map[string]string{}
	for _, k := range sortedAnyKeys(m) {
		if k != "min" && k != "mode" && k != "max" {
			v.addKey(path+"."+k, "unknown field %q (known: min, mode, max)", k)
			continue
		}
		s, _ := scalar(m[k])
		str[k] = s
	}
	lat := detect.Latency{Min: v.duration(path+".min", str["min"], true),
		Mode: v.duration(path+".mode", str["mode"], true),
		Max:  v.duration(path+".max", str["max"], true)}
	if lat.Min > lat.Mode || lat.Mode > lat.Max {
		v.add(path, "needs min <= mode <= max (got %s, %s, %s)", str["min"], str["mode"], str["max"])
	}
	return lat, true
}

func (v *validator) expect(r rawExpect) Expect {
	e := Expect{Playbook: r.Playbook}
	if r.Playbook == "" {
		v.add("expect.playbook", "is required: which playbook should answer this scenario")
	}
	switch r.Eradication {
	case "", EradicationInScope:
	case EradicationOutOfScope:
		e.EradicationOutOfScope = true
	default:
		v.add("expect.eradication", "unknown value %q (%s, %s)", r.Eradication, EradicationInScope, EradicationOutOfScope)
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
