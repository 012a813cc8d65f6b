package responder

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/internal/yamlschema/schematest"
)

// The schema accepts every built-in playbook and rejects the mistakes an
// author makes: a misspelt field, an unknown action, a bad duration.
func TestPlaybookSchemaValidatesAsEditorsDo(t *testing.T) {
	validate := schematest.Validator(t, PlaybookSchema())
	for _, pb := range BuiltinPlaybooks() {
		b, err := MarshalPlaybook(pb)
		require.NoError(t, err)
		require.NoError(t, validate(b), pb.ID)
	}
	good := []byte(header + "containment:\n  - {id: a, action: stop_instance, timeout: 5m, fallback: {aws: \"page the owner\"}}\n")
	require.NoError(t, validate(good))
	for name, bad := range map[string]string{
		"misspelt field": header + "containment:\n  - {id: a, acton: stop_instance}\n",
		"unknown action": header + "containment:\n  - {id: a, action: stop_instanse}\n",
		"bad duration":   header + "containment:\n  - {id: a, action: stop_instance, timeout: 5 minutes}\n",
		"unknown cloud":  strings.Replace(header, "clouds: [aws]", "clouds: [oracle]", 1),
	} {
		require.Error(t, validate([]byte(bad)), name)
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
