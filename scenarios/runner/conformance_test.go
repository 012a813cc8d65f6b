package runner_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/responder"
	"github.com/firedrill-ir/firedrill/scenarios/runner"
	"github.com/firedrill-ir/firedrill/scoring"
)

// variant is one way of responding: the built-in playbook, a naive one a
// real team would write, or the playbook with its containment removed.
type variant struct {
	name string
	load func(t *testing.T) *responder.Playbook // nil: the scenario's own playbook
}

func builtinVariant(id string) variant {
	return variant{name: "correct", load: func(t *testing.T) *responder.Playbook {
		pb, ok := responder.PlaybookByID(id)
		require.True(t, ok, id)
		return pb
	}}
}

func fileVariant(name, path string) variant {
	return variant{name: name, load: func(t *testing.T) *responder.Playbook {
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		pb, err := responder.LoadPlaybook(filepath.Base(path), data)
		require.NoError(t, err)
		return pb
	}}
}

func noContainmentVariant(id string) variant {
	return variant{name: "no-containment", load: func(t *testing.T) *responder.Playbook {
		pb, ok := responder.PlaybookByID(id)
		require.True(t, ok, id)
		cp, err := responder.WithoutContainment(pb)
		require.NoError(t, err)
		return cp
	}}
}

// conformance is the matrix: every playbook on every cloud's scenario,
// correct, naive and with its containment removed, with the verdict and
// the reason codes each must give: each naive variant fails for the reason
// real teams fail, and nothing passes without containment. A new
// playbook, cloud or trap is rows here.
var conformance = []struct {
	playbook, scenario string
	variant            variant
	pass               bool
	codes              []string // exactly the scorecard's reason codes
}{
	{"ec2-cryptomining", "aws-ec2-cryptomining", builtinVariant("ec2-cryptomining"), true, none},
	// One instance-level group swap: the tracked pool flow survives; the
	// profile disassociated, its sessions never revoked.
	{"ec2-cryptomining", "aws-ec2-cryptomining", fileVariant("naive", naiveEC2), false, []string{
		scoring.CodeActionsAfterContainment, scoring.CodeFlowUsed, scoring.CodeStolenCredentialUsed, scoring.CodeStolenCredentialValid}},
	{"ec2-cryptomining", "aws-ec2-cryptomining", noContainmentVariant("ec2-cryptomining"), false, []string{
		scoring.CodeNotDeclared, scoring.CodeStolenCredentialValid, contain}},

	{"vm-cryptomining", "aws-ec2-cryptomining", builtinVariant("vm-cryptomining"), true, none},
	{"vm-cryptomining", "aws-ec2-cryptomining", fileVariant("naive", naiveVM), false, []string{
		scoring.CodeActionsAfterContainment, scoring.CodeFlowUsed, scoring.CodeStolenCredentialUsed, scoring.CodeStolenCredentialValid}},
	{"vm-cryptomining", "aws-ec2-cryptomining", noContainmentVariant("vm-cryptomining"), false, []string{
		scoring.CodeNotDeclared, scoring.CodeStolenCredentialValid, contain}},

	{"vm-cryptomining", "azure-vm-cryptomining", builtinVariant("vm-cryptomining"), true, none},
	// An NSG swap without flushConnection: the flow survives; identity
	// None with its role assignments kept: the stolen token authorizes.
	{"vm-cryptomining", "azure-vm-cryptomining", fileVariant("naive", naiveVM), false, []string{
		scoring.CodeActionsAfterContainment, scoring.CodeFlowUsed, scoring.CodeStolenCredentialUsed, scoring.CodeStolenCredentialValid}},
	{"vm-cryptomining", "azure-vm-cryptomining", noContainmentVariant("vm-cryptomining"), false, []string{
		scoring.CodeNotDeclared, scoring.CodeStolenCredentialValid, contain}},

	{"vm-cryptomining", "gcp-vm-cryptomining", builtinVariant("vm-cryptomining"), true, none},
	// The service account taken off the VM, never disabled: the token it
	// minted keeps working until it expires.
	{"vm-cryptomining", "gcp-vm-cryptomining", fileVariant("naive", naiveVM), false, []string{
		scoring.CodeActionsAfterContainment, scoring.CodeStolenCredentialUsed}},
	// A deny-by-tag rule alone: the stateful firewall keeps the flow, and
	// code on the VM keeps minting tokens through it.
	{"vm-cryptomining", "gcp-vm-cryptomining", fileVariant("isolate-only", "testdata/gcp-naive-isolate-only.yaml"), false, []string{
		scoring.CodeActionsAfterContainment, scoring.CodeFlowUsed, scoring.CodeStolenCredentialUsed}},
	{"vm-cryptomining", "gcp-vm-cryptomining", noContainmentVariant("vm-cryptomining"), false, []string{
		scoring.CodeNotDeclared, contain}},

	{"vm-cryptomining", "multicloud-cryptomining", builtinVariant("vm-cryptomining"), true, none},
	{"vm-cryptomining", "multicloud-cryptomining", fileVariant("naive", naiveVM), false, []string{
		"aws:" + scoring.CodeActionsAfterContainment, "aws:" + scoring.CodeFlowUsed, "aws:" + scoring.CodeStolenCredentialUsed,
		"aws:" + scoring.CodeStolenCredentialValid,
		"azure:" + scoring.CodeActionsAfterContainment, "azure:" + scoring.CodeFlowUsed, "azure:" + scoring.CodeStolenCredentialUsed,
		"azure:" + scoring.CodeStolenCredentialValid,
		"gcp:" + scoring.CodeActionsAfterContainment, "gcp:" + scoring.CodeStolenCredentialUsed}},
	{"vm-cryptomining", "multicloud-cryptomining", noContainmentVariant("vm-cryptomining"), false, []string{
		"aws:" + scoring.CodeNotDeclared, "aws:" + scoring.CodeStolenCredentialValid,
		"azure:" + scoring.CodeNotDeclared, "azure:" + scoring.CodeStolenCredentialValid,
		"gcp:" + scoring.CodeNotDeclared, contain}},
}

var (
	none     = []string{}
	contain  = scoring.CodeSLOMissed + ":contain"
	naiveEC2 = "../../responder/testdata/ec2-cryptomining-naive.yaml"
	naiveVM  = "../../responder/testdata/vm-cryptomining-naive.yaml"
)

func TestConformanceMatrix(t *testing.T) {
	for _, row := range conformance {
		t.Run(fmt.Sprintf("%s/%s/%s", row.playbook, row.scenario, row.variant.name), func(t *testing.T) {
			t.Parallel()
			_, card := runScenario(t, row.scenario, runner.Options{Seed: 7, Playbook: row.variant.load(t)})
			t.Logf("%s pass=%v codes=%q", t.Name(), card.Pass, card.ReasonCodes)
			require.Equal(t, row.pass, card.Pass, "verdict; reasons %v", card.Containment.Reasons)
			require.Equal(t, row.codes, card.ReasonCodes)
		})
	}
}
