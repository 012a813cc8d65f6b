package responder

import (
	"reflect"

	"github.com/firedrill-ir/firedrill/internal/yamlschema"
	"github.com/firedrill-ir/firedrill/providers"
	"github.com/firedrill-ir/firedrill/responder/action"
)

// PlaybookSchema is the JSON Schema of a playbook file, for editors
// ('firedrill schema playbook'): fields, their descriptions, the known
// actions, clouds, kinds and severities.
func PlaybookSchema() map[string]any {
	clouds := []any{providers.CloudAWS, providers.CloudAzure, providers.CloudGCP}
	kinds := make([]any, len(providers.Kinds))
	for i, k := range providers.Kinds {
		kinds[i] = string(k)
	}
	actions := []any{}
	for _, a := range action.Names() {
		actions = append(actions, a)
	}
	sev := make([]any, len(severities))
	for i, v := range severities {
		sev[i] = v
	}
	perCloud := func(v map[string]any) map[string]any {
		return map[string]any{"type": "object", "propertyNames": map[string]any{"enum": clouds}, "additionalProperties": v}
	}
	g := &yamlschema.Generator{}
	g.Custom = func(t reflect.Type) (map[string]any, bool) {
		switch t {
		case reflect.TypeFor[Duration]():
			return yamlschema.Duration(), true
		case reflect.TypeFor[StringList]():
			return map[string]any{"oneOf": []any{map[string]any{"type": "string"},
				map[string]any{"type": "array", "items": map[string]any{"type": "string"}}}}, true
		case reflect.TypeFor[providers.Kind]():
			return map[string]any{"enum": kinds}, true
		case reflect.TypeFor[Fallback]():
			return nil, false
		}
		return nil, false
	}
	g.Field = func(parent reflect.Type, f reflect.StructField, s map[string]any) {
		switch {
		case parent == reflect.TypeFor[Playbook]() && f.Name == "Clouds",
			parent == reflect.TypeFor[Step]() && f.Name == "Clouds":
			s["items"] = map[string]any{"enum": clouds}
		case parent == reflect.TypeFor[Playbook]() && f.Name == "Severity",
			parent == reflect.TypeFor[NotifyRule]() && f.Name == "Severity":
			s["enum"] = sev
		case parent == reflect.TypeFor[Step]() && f.Name == "Action",
			parent == reflect.TypeFor[Fallback]() && f.Name == "Action":
			s["enum"] = actions
		case parent == reflect.TypeFor[Step]() && f.Name == "Fallback":
			obj := s["additionalProperties"].(map[string]any)
			fb := perCloud(map[string]any{"oneOf": []any{map[string]any{"type": "string"}, obj}})
			fb["description"] = s["description"]
			clear(s)
			for k, v := range fb {
				s[k] = v
			}
		case parent == reflect.TypeFor[Step]() && f.Name == "CloudParams",
			parent == reflect.TypeFor[Triggers]() && f.Name == "Findings":
			s["propertyNames"] = map[string]any{"enum": clouds}
		case parent == reflect.TypeFor[NotifyRule]() && f.Name == "On":
			s["enum"] = []any{OnAck, OnContained, OnClosed}
		}
	}
	g.Required = func(t reflect.Type) []string {
		switch t {
		case reflect.TypeFor[Playbook]():
			return []string{"id", "title", "clouds", "severity", "triggers"}
		case reflect.TypeFor[Step]():
			return []string{"id", "action"}
		case reflect.TypeFor[DecisionNode]():
			return []string{"id", "question", "predicate", "yes", "no"}
		case reflect.TypeFor[RemediationItem]():
			return []string{"id", "item", "owner"}
		}
		return nil
	}
	return g.Schema(reflect.TypeFor[Playbook](), "https://firedrill.dev/schema/playbook.json", "firedrill playbook")
}
