// Package schematest checks YAML files against a generated JSON Schema with
// a real JSON Schema validator, the way an editor's YAML language server
// does. Tests only.
package schematest

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/require"
)

// Validator compiles schema and returns a check of YAML documents against
// it.
func Validator(t testing.TB, schema map[string]any) func(doc []byte) error {
	t.Helper()
	b, err := json.Marshal(schema)
	require.NoError(t, err)
	d, err := jsonschema.UnmarshalJSON(strings.NewReader(string(b)))
	require.NoError(t, err)
	c := jsonschema.NewCompiler()
	require.NoError(t, c.AddResource("schema.json", d))
	s, err := c.Compile("schema.json")
	require.NoError(t, err)
	return func(doc []byte) error {
		js, err := yaml.YAMLToJSON(doc)
		require.NoError(t, err)
		v, err := jsonschema.UnmarshalJSON(strings.NewReader(string(js)))
		require.NoError(t, err)
		return s.Validate(v)
	}
}
