package scenarios

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/cloudsim/detect"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/internal/yamlschema"
	"github.com/firedrill-ir/firedrill/internal/yamlschema/schematest"
	"github.com/firedrill-ir/firedrill/scenarios/attacker"
)

// The schema accepts every catalog scenario as written and rejects what an
// author gets wrong: a misspelt field, a technique or detector that does
// not exist, a bad duration.
func TestScenarioSchemaValidatesAsEditorsDo(t *testing.T) {
	validate := schematest.Validator(t, Schema())
	for _, sc := range Builtin() {
		require.NoError(t, validate(sc.Raw), sc.ID)
	}
	base := string(Builtin()[0].Raw)
	for name, bad := range map[string]string{
		"misspelt field":    strings.Replace(base, "duration:", "durration:", 1),
		"unknown technique": strings.Replace(base, "technique: aws.ec2.exploit-web-app", "technique: aws.ec2.exploit-web-ap", 1),
		"unknown detector":  strings.Replace(base, "guardduty:", "guarduty:", 1),
		"bad duration":      strings.Replace(base, "duration: 5h", "duration: 5 hours", 1),
	} {
		require.NotEqual(t, base, bad, name)
		require.Error(t, validate([]byte(bad)), name)
	}
}

// A file with several problems reports them all in one load.
func TestLoadReportsEveryProblemAtOnce(t *testing.T) {
	base := string(Builtin()[0].Raw)
	bad := strings.Replace(strings.Replace(base, "duration: 5h", "durration: 5h", 1), "title:", "titel:", 1)
	_, err := Load("bad.yaml", []byte(bad))
	require.Error(t, err)
	for _, want := range []string{`titel: unknown field "titel"`, `durration: unknown field "durration"`, "duration: is required"} {
		require.Contains(t, err.Error(), want)
	}
}

// A scenario's own resources validate against the seedable kinds.
func TestScenarioSchemaKnowsResourceKinds(t *testing.T) {
	validate := schematest.Validator(t, Schema())
	base := string(Builtin()[0].Raw)
	good := base + "\nresources:\n  - {cloud: aws, kind: vm_group, name: web-asg, size: 4}\n"
	_, err := Load("good.yaml", []byte(good))
	require.NoError(t, err)
	require.NoError(t, validate([]byte(good)))
	require.Error(t, validate([]byte(base+"\nresources:\n  - {cloud: aws, kind: vm_grup, name: web-asg}\n")))
}

// docs/scenarios.md documents every registered technique, detector and
// knob.
func TestEveryTechniqueAndDetectorIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/scenarios.md")
	require.NoError(t, err)
	names := append(attacker.Builtin().IDs(false), attacker.Builtin().IDs(true)...)
	names = append(names, detect.Names()...)
	names = append(names, yamlschema.FieldNames(reflect.TypeFor[rawKnobs]())...)
	for _, n := range names {
		require.Contains(t, string(doc), "`"+n+"`", "docs/scenarios.md does not mention %s", n)
	}
}

// The schema knows the knobs: their shapes, conn_track's values, and a
// description of each that says what its default rests on.
func TestScenarioSchemaKnowsKnobs(t *testing.T) {
	validate := schematest.Validator(t, Schema())
	base := string(Builtin()[0].Raw)
	good := base + "\nknobs:\n  conn_track: new_flows_only\n  azure_rbac_propagation: {min: 30s, mode: 2m, max: 10m}\n" +
		"  elb_unhealthy_after: 90s\n  asg_replace_stopped: true\n"
	require.NoError(t, validate([]byte(good)))
	for name, bad := range map[string]string{
		"unknown knob":        "\nknobs: {conntrack: never}\n",
		"unknown conn_track":  "\nknobs: {conn_track: sometimes}\n",
		"latency as scalar":   "\nknobs: {iam_propagation: 5s}\n",
		"latency without max": "\nknobs: {iam_propagation: {min: 1s, mode: 2s}}\n",
		"flag as string":      "\nknobs: {asg_replace_stopped: \"yes\"}\n",
	} {
		require.Error(t, validate([]byte(base+bad)), name)
	}
	props := Schema()["properties"].(map[string]any)["knobs"].(map[string]any)["properties"].(map[string]any)
	require.Len(t, props, len(knobDocs))
	for name := range props {
		desc, _ := props[name].(map[string]any)["description"].(string)
		require.Contains(t, desc, "default", "knob %s says what its default is", name)
	}
}

// KnobSettings names the knobs as the knobs: block does, in its order.
func TestKnobValuesFollowTheBlock(t *testing.T) {
	var names []string
	for _, v := range knobValues(world.DefaultKnobs()) {
		names = append(names, v[0])
	}
	require.Equal(t, yamlschema.FieldNames(reflect.TypeFor[rawKnobs]()), names)
	sc, ok := ByID("aws-ec2-cryptomining-conntrack-never")
	require.True(t, ok)
	require.Equal(t, []KnobSetting{{Name: "conn_track", Value: "never", Default: "instant"}}, sc.KnobSettings())
	sc, _ = ByID("azure-vm-cryptomining")
	require.Equal(t, []KnobSetting{{Name: "azure_rbac_propagation", Value: "{min: 30s, mode: 2m, max: 10m}", Default: "none"}},
		sc.KnobSettings())
	sc, _ = ByID("aws-ec2-cryptomining")
	require.Empty(t, sc.KnobSettings())
}
