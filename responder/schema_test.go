package responder

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/require"
)

// compile loads a generated schema into a real JSON Schema validator, as
// an editor would.
func compile(t *testing.T, schema map[string]any) *jsonschema.Schema {
	t.Helper()
	b, err := json.Marshal(schema)
	require.NoError(t, err)
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(string(b)))
	require.NoError(t, err)
	c := jsonschema.NewCompiler()
	require.NoError(t, c.AddResource("playbook.json", doc))
	s, err := c.Compile("playbook.json")
	require.NoError(t, err)
	return s
}

// asJSONValue decodes YAML into the generic form a validator checks.
func asJSONValue(t *testing.T, y []byte) any {
	t.Helper()
	js, err := yaml.YAMLToJSON(y)
	require.NoError(t, err)
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(string(js)))
	require.NoError(t, err)
	return v
}

// The schema accepts every built-in playbook and rejects the mistakes an
// author makes: a misspelt field, an unknown action, a bad duration.
func TestPlaybookSchemaValidatesAsEditorsDo(t *testing.T) {
	s := compile(t, PlaybookSchema())
	for _, pb := range BuiltinPlaybooks() {
		b, err := MarshalPlaybook(pb)
		require.NoError(t, err)
		require.NoError(t, s.Validate(asJSONValue(t, b)), pb.ID)
	}
	good := []byte(header + "containment:\n  - {id: a, action: stop_instance, timeout: 5m, fallback: {aws: \"page the owner\"}}\n")
	require.NoError(t, s.Validate(asJSONValue(t, good)))
	for name, bad := range map[string]string{
		"misspelt field": header + "containment:\n  - {id: a, acton: stop_instance}\n",
		"unknown action": header + "containment:\n  - {id: a, action: stop_instanse}\n",
		"bad duration":   header + "containment:\n  - {id: a, action: stop_instance, timeout: 5 minutes}\n",
		"unknown cloud":  strings.Replace(header, "clouds: [aws]", "clouds: [oracle]", 1),
	} {
		require.Error(t, s.Validate(asJSONValue(t, []byte(bad))), name)
	}
}

// docs/playbooks.md documents every registered action.
func TestEveryActionIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/playbooks.md")
	require.NoError(t, err)
	for _, name := range ActionNames() {
		if strings.HasPrefix(name, "test_") {
			continue
		}
		require.Contains(t, string(doc), "`"+name+"`", "docs/playbooks.md does not mention action %s", name)
	}
}
