package runner_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/cloudsim/fault"
	"github.com/firedrill-ir/firedrill/responder"
	"github.com/firedrill-ir/firedrill/scenarios/runner"
	"github.com/firedrill-ir/firedrill/scoring"
)

// variant is one way of responding: the built-in playbook, a naive one a
// real team would write, or the playbook with its containment removed.
type variant struct {
	name string
	load func(t *testing.T) *responder.Playbook // nil: the scenario's own playbook
	// faults is a fault spec the drill runs under ("" for none).
	faults string
}

// underFaults is v in a cloud under load: a playbook must keep its
// verdict when the responder's calls are throttled, fail and slow down.
func underFaults(v variant) variant {
	v.name += "+faults"
	v.faults = loadFaults
	return v
}

// loadFaults is the load the issue holds every built-in playbook to.
const loadFaults = "throttle=20%,errors=5%,latency=10x"

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

// strippedVariant is the built-in playbook with a section removed.
func strippedVariant(name, id string, strip func(*responder.Playbook) (*responder.Playbook, error)) variant {
	return variant{name: name, load: func(t *testing.T) *responder.Playbook {
		pb, ok := responder.PlaybookByID(id)
		require.True(t, ok, id)
		cp, err := strip(pb)
		require.NoError(t, err)
		return cp
	}}
}

func noEradicationVariant(id string) variant {
	return strippedVariant("no-eradication", id, responder.WithoutEradication)
}

func noContainmentVariant(id string) variant {
	return strippedVariant("no-containment", id, responder.WithoutContainment)
}

// noStopVariant is the built-in playbook that isolates the instance but
// never stops it: isolation by security group alone.
func noStopVariant(id string) variant {
	return strippedVariant("no-stop", id, func(pb *responder.Playbook) (*responder.Playbook, error) {
		return responder.WithoutSteps(pb, "stop")
	})
}

// withoutParamVariant is the built-in playbook with one parameter of one
// containment step left out, as a team that did not know why it was there
// would write it.
func withoutParamVariant(name, id, step, param string) variant {
	return strippedVariant(name, id, func(pb *responder.Playbook) (*responder.Playbook, error) {
		return responder.WithoutParam(pb, step, param)
	})
}

// protectOnlyVariant only ever sets scale-in protection, whatever health
// check the group replaces members on.
func protectOnlyVariant(id string) variant {
	return withoutParamVariant("protect-only", id, "protect_scaling", "load_balanced_mode")
}

// declareAtOnceVariant declares containment as soon as Azure accepted the
// deletion of the identity's role assignments, without waiting for it to
// take effect.
func declareAtOnceVariant() variant {
	return withoutParamVariant("declare-at-once", "vm-cryptomining", "remove_role_assignments", "await_propagation")
}

// conformance is the matrix: every playbook on every cloud's scenario,
// correct, naive and with its containment removed, with the verdict and
// the reason codes each must give: each naive variant fails for the reason
// real teams fail, and nothing passes without containment. A new
// playbook, cloud or trap is rows here.
var conformance = []struct {
	playbook, scenario string
	variant            variant
	verdict            string
	codes              []string // exactly the scorecard's reason codes
}{
	{"ec2-cryptomining", "aws-ec2-cryptomining", builtinVariant("ec2-cryptomining"), pass, none},
	{"ec2-cryptomining", "aws-ec2-cryptomining", underFaults(builtinVariant("ec2-cryptomining")), pass, none},
	// One instance-level group swap: the tracked pool flow carries on
	// after the declaration; the profile disassociated, its sessions never
	// revoked; the planted key and the GPU instances never looked for.
	{"ec2-cryptomining", "aws-ec2-cryptomining", fileVariant("naive", naiveEC2), notContained, awsNaive},
	{"ec2-cryptomining", "aws-ec2-cryptomining", underFaults(fileVariant("naive", naiveEC2)), notContained, awsNaive},
	// A deny on only the operations the probes use: the replay of the
	// session's iam:CreateAccessKey still works.
	{"ec2-cryptomining", "aws-ec2-cryptomining", fileVariant("narrow-deny", "testdata/aws-narrow-deny.yaml"), notContained, []string{
		open("stolen_credential"), scoring.CodePlantedCredentialUsed, scoring.CodeStolenCredentialUsed, contain}},
	// Deny everything to the role, for every session: contained as surely
	// (no reason code); the healthy instances never work again, which is
	// collateral, not a verdict (collateral_test.go).
	{"ec2-cryptomining", "aws-ec2-cryptomining", fileVariant("deny-all", "testdata/aws-deny-all.yaml"), pass, none},
	// Contained (the planted key disabled, the GPU instances stopped) but
	// nothing removed.
	{"ec2-cryptomining", "aws-ec2-cryptomining", noEradicationVariant("ec2-cryptomining"), notEradicated, []string{
		present("vm"), present("access_key")}},
	{"ec2-cryptomining", "aws-ec2-cryptomining", noContainmentVariant("ec2-cryptomining"), notContained, []string{
		scoring.CodeNotDeclared, open("stolen_credential"), contain}},

	// Isolating without stopping is enough where the all-open group
	// untracks the flows (the default conn_track: instant)...
	{"ec2-cryptomining", "aws-ec2-cryptomining", noStopVariant("ec2-cryptomining"), pass, none},
	// ...but not where tracked flows survive every security-group change
	// (conn_track: never): only stopping the instance (or a network ACL
	// deny) cuts the pool connection and the web shell.
	{"ec2-cryptomining", "aws-ec2-cryptomining-conntrack-never", builtinVariant("ec2-cryptomining"), pass, none},
	{"ec2-cryptomining", "aws-ec2-cryptomining-conntrack-never", underFaults(builtinVariant("ec2-cryptomining")), pass, none},
	{"ec2-cryptomining", "aws-ec2-cryptomining-conntrack-never", noStopVariant("ec2-cryptomining"), notContained, flowOpen},
	// A group on ELB health checks replaces the isolated instance unless
	// it is in Standby: the built-in playbook moves it there.
	{"ec2-cryptomining", "aws-ec2-cryptomining-elb", builtinVariant("ec2-cryptomining"), pass, none},
	{"ec2-cryptomining", "aws-ec2-cryptomining-elb", underFaults(builtinVariant("ec2-cryptomining")), pass, none},
	// Scale-in protection only: the group terminates the compromised
	// instance a minute after its isolation. Its volumes survive
	// (protect_termination cleared DeleteOnTermination) and memory and
	// snapshots were taken first, so the verdict, which is about
	// containment, eradication and the SLOs, still passes;
	// TestELBHealthCheckReplacesAProtectedInstance pins the loss.
	{"ec2-cryptomining", "aws-ec2-cryptomining-elb", protectOnlyVariant("ec2-cryptomining"), pass, none},

	{"vm-cryptomining", "aws-ec2-cryptomining", builtinVariant("vm-cryptomining"), pass, none},
	{"vm-cryptomining", "aws-ec2-cryptomining", underFaults(builtinVariant("vm-cryptomining")), pass, none},
	{"vm-cryptomining", "aws-ec2-cryptomining", fileVariant("naive", naiveVM), notContained, awsNaive},
	{"vm-cryptomining", "aws-ec2-cryptomining", noEradicationVariant("vm-cryptomining"), notEradicated, []string{
		present("vm"), present("access_key")}},
	{"vm-cryptomining", "aws-ec2-cryptomining", noContainmentVariant("vm-cryptomining"), notContained, []string{
		scoring.CodeNotDeclared, open("stolen_credential"), contain}},
	// The cross-cloud playbook meets the AWS traps as the AWS one does.
	{"vm-cryptomining", "aws-ec2-cryptomining-conntrack-never", builtinVariant("vm-cryptomining"), pass, none},
	{"vm-cryptomining", "aws-ec2-cryptomining-conntrack-never", noStopVariant("vm-cryptomining"), notContained, flowOpen},
	{"vm-cryptomining", "aws-ec2-cryptomining-elb", builtinVariant("vm-cryptomining"), pass, none},

	{"vm-cryptomining", "azure-vm-cryptomining", builtinVariant("vm-cryptomining"), pass, none},
	{"vm-cryptomining", "azure-vm-cryptomining", underFaults(builtinVariant("vm-cryptomining")), pass, none},
	// Declaring as soon as the role assignments are deleted: the stolen
	// token goes on working while the deletion propagates (up to 10
	// minutes, as Azure documents), after the declaration. The SLO is held
	// against the attacker's last success, which is still in time, so the
	// verdict passes; TestAzureDeclarationWaitsForRBACPropagation pins the
	// gap.
	{"vm-cryptomining", "azure-vm-cryptomining", declareAtOnceVariant(), pass, none},
	// An NSG swap without flushConnection: the flow carries on; identity
	// None with its role assignments kept: the stolen token authorizes;
	// the backdoor rule stays.
	{"vm-cryptomining", "azure-vm-cryptomining", fileVariant("naive", naiveVM), notContained, []string{
		open("backdoor_rule"), open("stolen_credential"), scoring.CodeFlowUsed, scoring.CodeStolenCredentialUsed,
		present("network_rule"), contain}},
	// The backdoor rule turned to Deny, still there.
	{"vm-cryptomining", "azure-vm-cryptomining", noEradicationVariant("vm-cryptomining"), notEradicated, []string{
		present("network_rule")}},
	{"vm-cryptomining", "azure-vm-cryptomining", noContainmentVariant("vm-cryptomining"), notContained, []string{
		scoring.CodeNotDeclared, open("stolen_credential"), contain}},

	{"vm-cryptomining", "gcp-vm-cryptomining", builtinVariant("vm-cryptomining"), pass, none},
	{"vm-cryptomining", "gcp-vm-cryptomining", underFaults(builtinVariant("vm-cryptomining")), pass, none},
	// The service account taken off the VM, never disabled: the token it
	// minted keeps working until it expires; the backdoor firewall stays.
	{"vm-cryptomining", "gcp-vm-cryptomining", fileVariant("naive", naiveVM), notContained, []string{
		open("backdoor_rule"), scoring.CodeStolenCredentialUsed, present("network_rule"), contain}},
	// A deny-by-tag rule alone: the stateful firewall keeps the flow, and
	// code on the VM keeps minting tokens through it.
	{"vm-cryptomining", "gcp-vm-cryptomining", fileVariant("isolate-only", "testdata/gcp-naive-isolate-only.yaml"), notContained, []string{
		open("backdoor_rule"), scoring.CodeFlowUsed, scoring.CodeStolenCredentialUsed, present("network_rule"), contain}},
	// Nothing contained: the group's scale-in deletes the VM (and the
	// evidence), the stolen token expires an hour later; the environment
	// did it, the responder never declared, and an hour is too late.
	// The backdoor firewall disabled, still there.
	{"vm-cryptomining", "gcp-vm-cryptomining", noEradicationVariant("vm-cryptomining"), notEradicated, []string{
		present("network_rule")}},
	{"vm-cryptomining", "gcp-vm-cryptomining", noContainmentVariant("vm-cryptomining"), notContained, []string{
		scoring.CodeNotDeclared, contain}},

	{"vm-cryptomining", "multicloud-cryptomining", builtinVariant("vm-cryptomining"), pass, none},
	{"vm-cryptomining", "multicloud-cryptomining", underFaults(builtinVariant("vm-cryptomining")), pass, none},
	{"vm-cryptomining", "multicloud-cryptomining", fileVariant("naive", naiveVM), notContained, []string{
		"aws:" + open("launched_compute"), "aws:" + open("planted_credential"), "aws:" + open("stolen_credential"),
		"aws:" + scoring.CodeFlowUsed, "aws:" + scoring.CodePlantedCredentialUsed, "aws:" + scoring.CodeStolenCredentialUsed,
		"azure:" + open("backdoor_rule"), "azure:" + open("stolen_credential"), "azure:" + scoring.CodeFlowUsed,
		"azure:" + scoring.CodeStolenCredentialUsed,
		"gcp:" + open("backdoor_rule"), "gcp:" + scoring.CodeStolenCredentialUsed,
		"aws:" + present("vm"), "aws:" + present("access_key"), "azure:" + present("network_rule"), "gcp:" + present("network_rule"),
		contain}},
	{"vm-cryptomining", "multicloud-cryptomining", noEradicationVariant("vm-cryptomining"), notEradicated, []string{
		"aws:" + present("vm"), "aws:" + present("access_key"), "azure:" + present("network_rule"),
		"gcp:" + present("network_rule")}},
	{"vm-cryptomining", "multicloud-cryptomining", noContainmentVariant("vm-cryptomining"), notContained, []string{
		"aws:" + scoring.CodeNotDeclared, "aws:" + open("stolen_credential"),
		"azure:" + scoring.CodeNotDeclared, "azure:" + open("stolen_credential"),
		"gcp:" + scoring.CodeNotDeclared, contain}},
}

// awsNaive: the naive playbooks on AWS leave the session, the planted key
// and the GPU instances, and the pool flow is used after the declaration.
var awsNaive = []string{open("launched_compute"), open("planted_credential"), open("stolen_credential"),
	scoring.CodeFlowUsed, scoring.CodePlantedCredentialUsed, scoring.CodeStolenCredentialUsed,
	present("vm"), present("access_key"), contain}

// flowOpen: the pool connection and the web shell stay up after the
// declaration; everything else was cut and removed.
var flowOpen = []string{open("network_flow"), scoring.CodeFlowUsed, contain}

func open(kind string) string    { return scoring.CodePathOpen + ":" + kind }
func present(kind string) string { return scoring.CodeArtifactPresent + ":" + kind }

var (
	pass          = scoring.VerdictPass
	notContained  = scoring.VerdictNotContained
	notEradicated = scoring.VerdictContainedNotEradicated
	none          = []string{}
	contain       = scoring.CodeSLOMissed + ":contain"
	naiveEC2      = "../../responder/testdata/ec2-cryptomining-naive.yaml"
	naiveVM       = "../../responder/testdata/vm-cryptomining-naive.yaml"
)

func TestConformanceMatrix(t *testing.T) {
	for _, row := range conformance {
		t.Run(fmt.Sprintf("%s/%s/%s", row.playbook, row.scenario, row.variant.name), func(t *testing.T) {
			t.Parallel()
			opts := runner.Options{Seed: 7, Playbook: row.variant.load(t)}
			if row.variant.faults != "" {
				rules, err := fault.ParseSpec(row.variant.faults)
				require.NoError(t, err)
				opts.Faults = rules
			}
			_, card := runScenario(t, row.scenario, opts)
			t.Logf("%s verdict=%s codes=%q", t.Name(), card.Verdict, card.ReasonCodes)
			require.Equal(t, row.verdict, card.Verdict, "reasons %v %v", card.Containment.Reasons, card.Eradication.Reasons)
			require.Equal(t, row.verdict == scoring.VerdictPass, card.Pass)
			require.Equal(t, row.codes, card.ReasonCodes)
		})
	}
}

// TestFaultsAreDeterministic: the same seed under the same faults throttles
// the same calls whatever GOMAXPROCS, and the scorecard (error messages
// included) is byte-identical; a faulted run differs from a clean one.
func TestFaultsAreDeterministic(t *testing.T) {
	rules, err := fault.ParseSpec(loadFaults)
	require.NoError(t, err)
	run := func(procs int, faults []fault.Rule) string {
		prev := runtime.GOMAXPROCS(procs)
		defer runtime.GOMAXPROCS(prev)
		_, card := runScenario(t, "multicloud-cryptomining", runner.Options{Seed: 3, Faults: faults})
		return cardJSON(t, card)
	}
	first, second := run(1, rules), run(2, rules)
	require.Equal(t, first, second)
	require.Contains(t, first, "poll failed, retrying at the next poll", "the faults hit the responder")
	require.NotEqual(t, first, run(2, nil))
}
