package scenarios

import (
	"reflect"
	"slices"

	"github.com/firedrill-ir/firedrill/cloudsim/detect"
	"github.com/firedrill-ir/firedrill/cloudsim/simcloud"
	"github.com/firedrill-ir/firedrill/internal/yamlschema"
	"github.com/firedrill-ir/firedrill/providers"
	"github.com/firedrill-ir/firedrill/scenarios/attacker"
)

// fieldDocs describe the scenario's fields (the raw types carry no doc
// tags: they are the loader's, not a public API).
var fieldDocs = map[string]string{
	"id": "unique id: lower-case letters, digits and '-'", "title": "one-line title",
	"description": "the incident, as the drill plays it", "clouds": "clouds the scenario seeds and attacks",
	"techniques":   "MITRE ATT&CK techniques it exercises",
	"environment":  "one cloud's environment: a preset pack and its overrides (or use environments: one per cloud)",
	"environments": "one preset pack per cloud", "resources": "resources to seed, typed per cloud kind, merged with the packs'",
	"steps":      "attack steps: a registered technique at an offset, after another step, or on a condition",
	"background": "legitimate activity on any cloud: registered routine techniques, each a must-keep-working probe",
	"detectors":  "managed detectors that are on, by name, with their settings", "duration": "how long the drill runs",
	"expect": "the playbook that should answer and the SLOs it is held to", "dynamics": "replaced by background:",
	"faults": "faults injected into the clouds' answers (throttling, server errors, latency), by default to the responder's calls",
	"knobs": "cloud behaviour the clouds document only as a range or not at all (propagation delays, connection " +
		"tracking, load-balancer health checks); a knob not given keeps its default",
}

func asAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// Schema is the JSON Schema of a scenario file, for editors ('firedrill
// schema scenario'): fields, the known techniques, presets, detectors and
// their settings, clouds and resource kinds.
func Schema() map[string]any {
	clouds := []any{providers.CloudAWS, providers.CloudAzure, providers.CloudGCP}
	// Seedable kinds are the simulator's (vm_group, role, …), per cloud.
	var kinds []any
	for _, c := range simcloud.Clouds() {
		if d, ok := simcloud.Get(c); ok {
			for _, k := range d.KindNames() {
				if !slices.Contains(kinds, any(k)) {
					kinds = append(kinds, k)
				}
			}
		}
	}
	attack, legit := asAny(attacker.Builtin().IDs(false)), asAny(attacker.Builtin().IDs(true))
	g := &yamlschema.Generator{}
	g.Custom = func(t reflect.Type) (map[string]any, bool) {
		if t == reflect.TypeFor[rawSLO]() {
			return map[string]any{"type": "object", "additionalProperties": false, "properties": map[string]any{
				"profile": map[string]any{"enum": []any{"1-10-60", "5/5/5", "custom"}},
				"mttd":    yamlschema.Duration(), "mtta": yamlschema.Duration(), "mttc": yamlschema.Duration()}}, true
		}
		return nil, false
	}
	g.Field = func(parent reflect.Type, f reflect.StructField, s map[string]any) {
		name := yamlschema.Name(f)
		if parent == reflect.TypeFor[rawScenario]() {
			if d, ok := fieldDocs[name]; ok {
				s["description"] = d
			}
		}
		switch {
		case parent == reflect.TypeFor[rawKnobs]():
			knobsField(f, s)
		case name == "clouds":
			s["items"] = map[string]any{"enum": clouds}
		case name == "cloud":
			s["enum"] = clouds
		case name == "kind" && parent == reflect.TypeFor[rawResource]():
			s["enum"] = kinds
		case name == "preset":
			s["enum"] = asAny(simcloud.Packs())
		case name == "technique" && parent == reflect.TypeFor[rawStep]():
			s["enum"] = attack
		case name == "technique" && parent == reflect.TypeFor[rawBackground]():
			s["enum"] = legit
		case name == "detectors":
			props := map[string]any{}
			for _, d := range detect.Specs() {
				ds := map[string]any{"enabled": map[string]any{"type": "boolean"}}
				for _, fd := range d.Fields {
					ds[fd.Name] = detectorField(fd)
				}
				props[d.Name] = map[string]any{"type": "object", "description": d.Doc, "properties": ds, "additionalProperties": false}
			}
			for k := range s {
				delete(s, k)
			}
			s["type"], s["properties"], s["additionalProperties"] = "object", props, false
			s["description"] = fieldDocs["detectors"]
		case name == "dynamics":
			s["not"] = map[string]any{}
		case parent == reflect.TypeFor[rawFault]():
			faultField(name, s)
		case name == "eradication" && parent == reflect.TypeFor[rawExpect]():
			s["enum"] = []any{EradicationInScope, EradicationOutOfScope}
			s["description"] = "whether removing what the attacker planted counts toward the verdict (default in_scope)"
		case name == "duration" || name == "at" || name == "delay" || name == "every" || name == "after" && parent == reflect.TypeFor[rawScaleIn]():
			desc := s["description"]
			for k, v := range yamlschema.Duration() {
				s[k] = v
			}
			if desc != nil {
				s["description"] = desc
			}
		}
	}
	g.Required = func(t reflect.Type) []string {
		switch t {
		case reflect.TypeFor[rawScenario]():
			return []string{"id", "title", "clouds", "steps", "duration", "expect"}
		case reflect.TypeFor[rawStep]():
			return []string{"id", "technique"}
		case reflect.TypeFor[rawBackground]():
			return []string{"technique", "every"}
		}
		return nil
	}
	return g.Schema(reflect.TypeFor[rawScenario](), "https://firedrill.dev/schema/scenario.json", "firedrill scenario")
}

// faultField describes one field of a faults: entry.
func faultField(name string, s map[string]any) {
	for k := range s {
		delete(s, k)
	}
	switch name {
	case "kind":
		s["enum"] = []any{"throttle", "errors", "latency"}
		s["description"] = "throttle (the protocol's throttling error), errors (HTTP 500) or latency"
	case "rate":
		s["oneOf"] = []any{map[string]any{"type": "number", "exclusiveMinimum": 0, "maximum": 1},
			map[string]any{"type": "string", "pattern": `^[0-9.]+%$`}}
		s["description"] = "share of matching calls affected: 0.2 or \"20%\" (throttle and errors)"
	case "factor":
		s["type"], s["exclusiveMinimum"] = "number", 0
		s["description"] = "multiplies each matching call's modelled latency (latency)"
	case "latency":
		for k, v := range yamlschema.Duration() {
			s[k] = v
		}
		s["description"] = "added to each matching call's latency (latency)"
	case "status":
		s["enum"] = []any{500, 502, 503}
	case "actor":
		s["type"] = "string"
		s["description"] = "whose calls suffer: responder (default), attacker, background, all, or a glob"
	default:
		s["type"] = "string"
		s["description"] = "scope glob: cloud, service (ec2, Microsoft.Compute, compute) or operation"
	}
}

// detectorField is the schema of one detector setting.
func detectorField(f detect.Field) map[string]any {
	var s map[string]any
	switch f.Kind {
	case detect.FieldLatency:
		s = latencySchema()
	case detect.FieldNumber:
		s = map[string]any{"type": "number"}
	case detect.FieldInt:
		s = map[string]any{"type": "integer"}
	case detect.FieldDuration:
		s = yamlschema.Duration()
	default:
		s = map[string]any{}
	}
	if f.Doc != "" {
		s["description"] = f.Doc
	}
	return s
}

// latencySchema is the schema of a triangular latency {min, mode, max}.
func latencySchema() map[string]any {
	return map[string]any{"type": "object", "additionalProperties": false, "required": []any{"max", "min", "mode"},
		"properties": map[string]any{"min": yamlschema.Duration(), "mode": yamlschema.Duration(), "max": yamlschema.Duration()}}
}
