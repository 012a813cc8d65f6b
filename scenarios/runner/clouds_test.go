package runner_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/responder"
	"github.com/firedrill-ir/firedrill/scenarios"
	"github.com/firedrill-ir/firedrill/scenarios/runner"
	"github.com/firedrill-ir/firedrill/scoring"
	"github.com/firedrill-ir/firedrill/timeline"
)

func scenario(t testing.TB, id string) *scenarios.Scenario {
	t.Helper()
	sc, ok := scenarios.ByID(id)
	require.True(t, ok, "built-in scenario %s", id)
	return sc
}

func runScenario(t testing.TB, id string, opts runner.Options) (*runner.Result, *scoring.Scorecard) {
	t.Helper()
	res, err := runner.Run(context.Background(), scenario(t, id), opts)
	require.NoError(t, err)
	return res, scoring.Score(res.ScoreInput())
}

func cardJSON(t testing.TB, card *scoring.Scorecard) string {
	t.Helper()
	b, err := card.JSON()
	require.NoError(t, err)
	return string(b)
}

// verifiedIn returns the final containment check of one cloud.
func verifiedIn(t *testing.T, res *runner.Result, cloud string) timeline.Event {
	t.Helper()
	return first(t, res, cloud+" verification", func(e timeline.Event) bool {
		return e.Kind == timeline.Verified && e.Cloud == cloud
	})
}

func detailOf(t *testing.T, card *scoring.Scorecard, cloud string) scoring.CloudResult {
	t.Helper()
	for _, c := range card.CloudsDetail {
		if c.Cloud == cloud {
			return c
		}
	}
	t.Fatalf("no clouds_detail entry for %s", cloud)
	return scoring.CloudResult{}
}

// requireContained asserts what a working response achieves in one cloud:
// the final check finds no attacker flow and no working stolen credential,
// the stolen credential was refused after containment, the compromised VM
// and its disks survived scale-in, and every disk was snapshotted before
// anything was lost.
func requireContained(t *testing.T, res *runner.Result, card *scoring.Scorecard, cloud string) {
	t.Helper()
	v := verifiedIn(t, res, cloud)
	require.Equal(t, timeline.Succeeded, v.Outcome, "%s verification: %s", cloud, v.Message)
	require.Equal(t, "0", v.Detail["surviving_flows"])
	require.Equal(t, "0", v.Detail["valid_stolen_credentials"])
	foothold := first(t, res, cloud+" exploit", func(e timeline.Event) bool {
		return e.Cloud == cloud && e.Kind == timeline.AttackAction && e.Detail["operation"] == "http:exploit" && e.Outcome == timeline.Succeeded
	}).Resource
	contained := first(t, res, cloud+" contained", func(e timeline.Event) bool { return e.Kind == timeline.Contained && e.Cloud == cloud })
	require.True(t, strings.EqualFold(foothold, contained.Resource), "contained %s, compromised %s", contained.Resource, foothold)
	denied := timeline.Filter(res.Events, func(e timeline.Event) bool {
		return e.Cloud == cloud && e.Kind == timeline.AttackAction && e.Outcome == timeline.Denied &&
			strings.HasPrefix(e.Detail["credential"], "stolen") && e.At.After(contained.At)
	})
	require.NotEmpty(t, denied, "the stolen credential is refused after containment in %s", cloud)
	for _, e := range ofKind(res, timeline.ResourceLost) {
		require.False(t, strings.EqualFold(foothold, e.Resource) || strings.EqualFold(foothold, e.Detail["instance"]),
			"%s lost %s of the compromised VM", cloud, e.Resource)
	}
	d := detailOf(t, card, cloud)
	require.True(t, d.Containment.Verified, "%s: %v", cloud, d.Containment.Reasons)
	snaps := 0
	for _, e := range d.Evidence {
		require.True(t, e.BeforeLoss, "%s evidence %s %s before loss", cloud, e.Kind, e.ID)
		if e.Kind == "disk_snapshot" {
			snaps++
		}
	}
	require.GreaterOrEqual(t, snaps, 2, "%s: OS and data disk snapshotted", cloud)
}

func TestAzureDrillContainsTheAttack(t *testing.T) {
	res, card := runScenario(t, "azure-vm-cryptomining", runner.Options{Seed: 7})
	require.Equal(t, []string{"azure"}, res.Clouds)
	requireContained(t, res, card, "azure")
	require.True(t, card.Containment.Verified)
	// Defender or the metric alert raised it; the token-outside-Azure
	// alert names the VM whose identity was stolen.
	first(t, res, "Defender alert", alert("defender", ""))
	for _, e := range res.Events {
		require.NotContains(t, e.Message, "127.0.0.1", "no loopback address (random port) leaks into the timeline")
	}
}

func TestGCPDrillContainsTheAttack(t *testing.T) {
	res, card := runScenario(t, "gcp-vm-cryptomining", runner.Options{Seed: 7})
	requireContained(t, res, card, "gcp")
	first(t, res, "SCC finding", alert("scc", "Malware: Cryptomining Bad Domain"))
	// The backdoor rule went in before containment (the account was
	// over-privileged) and is reported for eradication.
	first(t, res, "backdoor", action("compute.firewalls.insert", timeline.Succeeded))
	require.Contains(t, verifiedIn(t, res, "gcp").Detail["backdoor_rule"], "vendor-access")
}

func TestMulticloudDrillContainsEachCloud(t *testing.T) {
	res, card := runScenario(t, "multicloud-cryptomining", runner.Options{Seed: 7})
	require.Equal(t, []string{"aws", "azure", "gcp"}, res.Clouds)
	require.Len(t, card.CloudsDetail, 3)
	for _, c := range []string{"aws", "azure", "gcp"} {
		requireContained(t, res, card, c)
		// Each cloud has its own responder and case.
		first(t, res, c+" ack", func(e timeline.Event) bool { return e.Kind == timeline.Ack && e.Cloud == c })
	}
	require.True(t, card.Containment.Verified, "%v", card.Containment.Reasons)
	// The incident is contained when its last cloud is.
	var last = card.CloudsDetail[0].Containment.ContainedAt
	for _, c := range card.CloudsDetail {
		require.NotNil(t, c.Containment.ContainedAt)
		if c.Containment.ContainedAt.After(*last) {
			last = c.Containment.ContainedAt
		}
	}
	require.Equal(t, *last, *card.Containment.ContainedAt)
	require.Equal(t, *last, *card.Metrics.ContainedAt)
	// The responders ran concurrently: at least two clouds' cases were
	// open (acknowledged, not yet contained) at the same time.
	type span struct{ from, to timeline.Event }
	spans := map[string]span{}
	for _, c := range []string{"aws", "azure", "gcp"} {
		spans[c] = span{
			from: first(t, res, c+" ack", func(e timeline.Event) bool { return e.Kind == timeline.Ack && e.Cloud == c }),
			to:   first(t, res, c+" contained", func(e timeline.Event) bool { return e.Kind == timeline.Contained && e.Cloud == c }),
		}
	}
	overlap := false
	for _, a := range []string{"aws", "azure", "gcp"} {
		for _, b := range []string{"aws", "azure", "gcp"} {
			if a != b && spans[a].from.At.Before(spans[b].to.At) && spans[b].from.At.Before(spans[a].to.At) {
				overlap = true
			}
		}
	}
	require.True(t, overlap, "cases in different clouds overlap in time: %+v", spans)
}

// naivePlaybook is the responder engineer's naive VM playbook, triggered
// by the same findings and alarms as the real one so that only the response
// differs.
func naivePlaybook(t *testing.T) *responder.Playbook {
	t.Helper()
	data, err := os.ReadFile("../../responder/testdata/vm-cryptomining-naive.yaml")
	require.NoError(t, err)
	pb, err := responder.LoadPlaybook("vm-cryptomining-naive.yaml", data)
	require.NoError(t, err)
	real, ok := responder.PlaybookByID("vm-cryptomining")
	require.True(t, ok)
	pb.Triggers = real.Triggers
	return pb
}

// survivedIsolation reports attacker connections in cloud still alive
// after the responder's isolation step finished: the cosmetic isolation.
func survivedIsolation(t *testing.T, res *runner.Result, cloud string) []timeline.Event {
	t.Helper()
	iso := first(t, res, cloud+" naive isolation", func(e timeline.Event) bool {
		return e.Kind == timeline.StepFinish && e.Cloud == cloud && e.Name == "naive_isolate" && e.Outcome == timeline.Succeeded
	})
	return timeline.Filter(res.Events, func(e timeline.Event) bool {
		return e.Cloud == cloud && e.Kind == timeline.AttackAction && e.Detail["operation"] == "pool:keepalive" &&
			e.Outcome == timeline.Succeeded && e.At.After(iso.At)
	})
}

// TestNaiveResponderFailsEachCloudForItsReason: the console habit on
// each cloud leaves the attacker in. AWS: the tracked pool flow survives
// the single group swap, and the stolen session was never revoked. Azure:
// the NSG swap without flushConnection leaves the pool flow up, and the
// managed identity's token keeps working because its role assignments are
// still there. GCP: the service account was taken off the VM but never
// disabled, so the token the attacker holds keeps working after
// "containment" until it expires (the naive detach stops the VM, which
// ends its flows; TestGCPTagOnlyIsolationLeavesFlowsUp shows the firewall
// alone does not).
func TestNaiveResponderFailsEachCloudForItsReason(t *testing.T) {
	res, card := runScenario(t, "multicloud-cryptomining", runner.Options{Seed: 7, Playbook: naivePlaybook(t)})
	require.False(t, card.Containment.Verified)
	for _, c := range []string{"aws", "azure", "gcp"} {
		t.Run(c, func(t *testing.T) {
			d := detailOf(t, card, c)
			require.False(t, d.Containment.Verified, "naive containment must not verify in %s", c)
			require.NotNil(t, d.Containment.DeclaredAt, "the naive responder believes it contained %s", c)
			require.Nil(t, d.Containment.ContainedAt, "but a way in stays open in %s", c)
			stolenOK := 0
			for _, oc := range d.Containment.ByOperation {
				if strings.HasPrefix(oc.Credential, "stolen") && oc.Counted {
					stolenOK += oc.Succeeded
				}
			}
			require.Greater(t, stolenOK, 0, "the stolen credential keeps working after containment in %s", c)
			if c == "gcp" {
				return
			}
			require.NotEmpty(t, survivedIsolation(t, res, c), "the pool flow outlives the naive isolation in %s", c)
			v := verifiedIn(t, res, c)
			require.Equal(t, timeline.Failed, v.Outcome)
			require.Equal(t, "1", v.Detail["valid_stolen_credentials"], "the stolen credential still works at the end in %s", c)
		})
	}
	// The corrected playbook, same scenario and seed, verifies everywhere:
	// the difference is the response, not the drill.
	_, good := runScenario(t, "multicloud-cryptomining", runner.Options{Seed: 7})
	require.True(t, good.Containment.Verified, "%v", good.Containment.Reasons)

	// Both tables, with three clouds' long ids and operations, fit a
	// 100-column terminal.
	for _, c := range []*scoring.Scorecard{card, good} {
		var buf bytes.Buffer
		require.NoError(t, c.Table(&buf))
		for _, line := range strings.Split(buf.String(), "\n") {
			require.LessOrEqual(t, utf8.RuneCountInString(line), 100, "%q", line)
		}
	}
}

// TestGCPTagOnlyIsolationLeavesFlowsUp: a priority-0 deny-by-tag firewall
// rule does not cut the miner's established connection; only churning the
// external access config does (the vm-cryptomining playbook's isolation).
func TestGCPTagOnlyIsolationLeavesFlowsUp(t *testing.T) {
	data, err := os.ReadFile("testdata/gcp-naive-isolate-only.yaml")
	require.NoError(t, err)
	pb, err := responder.LoadPlaybook("gcp-naive-isolate-only.yaml", data)
	require.NoError(t, err)
	res, card := runScenario(t, "gcp-vm-cryptomining", runner.Options{Seed: 7, Playbook: pb})
	require.NotEmpty(t, survivedIsolation(t, res, "gcp"), "the tracked pool flow survives the firewall rule")
	// While the channel is up, code on the VM keeps minting fresh tokens.
	iso := first(t, res, "isolation", func(e timeline.Event) bool { return e.Kind == timeline.StepFinish && e.Name == "naive_isolate" })
	renewed := timeline.Filter(res.Events, func(e timeline.Event) bool {
		return e.Kind == timeline.AttackAction && e.Detail["operation"] == "metadata:GetServiceAccountToken" &&
			e.Outcome == timeline.Succeeded && e.At.After(iso.At)
	})
	require.NotEmpty(t, renewed)
	require.False(t, card.Containment.Verified)
}

// TestCloudDrillsAreByteIdentical: same scenario and seed, same scorecard
// JSON, whatever GOMAXPROCS; another seed differs.
func TestCloudDrillsAreByteIdentical(t *testing.T) {
	for _, id := range []string{"azure-vm-cryptomining", "gcp-vm-cryptomining", "multicloud-cryptomining"} {
		t.Run(id, func(t *testing.T) {
			_, c1 := runScenario(t, id, runner.Options{Seed: 7})
			a := cardJSON(t, c1)
			prev := runtime.GOMAXPROCS(1)
			_, c2 := runScenario(t, id, runner.Options{Seed: 7})
			runtime.GOMAXPROCS(2)
			_, c3 := runScenario(t, id, runner.Options{Seed: 7})
			runtime.GOMAXPROCS(prev)
			require.Equal(t, a, cardJSON(t, c2), "GOMAXPROCS=1 differs")
			require.Equal(t, a, cardJSON(t, c3), "GOMAXPROCS=2 differs")
			_, c4 := runScenario(t, id, runner.Options{Seed: 8})
			require.NotEqual(t, a, cardJSON(t, c4), "the seed must matter")
		})
	}
}

// TestAzureAndGCPWithoutResponder: the baseline. The miner and the token
// theft are detected, scale-in destroys the compromised VM with its disks,
// and the stolen token still works at the end (Azure: 24 h managed-identity
// token; GCP: an hour-long token, but the final check is run while it is
// valid only if renewed, and nothing renews it once the VM is gone).
func TestAzureAndGCPWithoutResponder(t *testing.T) {
	t.Run("azure", func(t *testing.T) {
		res, card := runScenario(t, "azure-vm-cryptomining", runner.Options{Seed: 7, NoResponder: true})
		foothold := first(t, res, "exploit", action("http:exploit", timeline.Succeeded)).Resource
		require.Contains(t, foothold, "web-vmss_2", "the highest instance id: first to go on scale-in")
		lost := timeline.Filter(res.Events, func(e timeline.Event) bool {
			return e.Kind == timeline.ResourceLost && (e.Resource == foothold || e.Detail["instance"] == foothold)
		})
		require.Len(t, lost, 3, "the VM and its OS and data disks")
		require.Equal(t, "scale-in", lost[0].Detail["cause"])
		v := verifiedIn(t, res, "azure")
		require.Equal(t, "1", v.Detail["valid_stolen_credentials"], "the managed-identity token outlives its VM")
		require.False(t, card.Containment.Verified)
		first(t, res, "first log", func(e timeline.Event) bool { return e.Kind == timeline.FirstLog && e.Name == "activity-log" })
	})
	t.Run("gcp", func(t *testing.T) {
		res, card := runScenario(t, "gcp-vm-cryptomining", runner.Options{Seed: 7, NoResponder: true})
		foothold := first(t, res, "exploit", action("http:exploit", timeline.Succeeded)).Resource
		lost := timeline.Filter(res.Events, func(e timeline.Event) bool {
			return e.Kind == timeline.ResourceLost && (e.Resource == foothold || e.Detail["instance"] == foothold)
		})
		require.Len(t, lost, 3, "the VM and its boot and data disks")
		require.Equal(t, "scale-in", lost[0].Detail["cause"])
		// The token was renewed while the attacker could reach the VM;
		// after scale-in nothing renews it, and it expires within the hour.
		refreshed := timeline.Filter(res.Events, action("metadata:GetServiceAccountToken", timeline.Succeeded))
		require.GreaterOrEqual(t, len(refreshed), 2)
		require.Equal(t, "0", verifiedIn(t, res, "gcp").Detail["valid_stolen_credentials"])
		require.False(t, card.Containment.Verified, "nobody declared containment")
		first(t, res, "first log", func(e timeline.Event) bool { return e.Kind == timeline.FirstLog && e.Name == "cloud-audit-logs" })
	})
}

// TestBackgroundActivityOnEveryCloud: legitimate techniques act on Azure
// and GCP too, with the principals' own credentials from their own
// addresses (visible in the world's audit log next to the attack), and each
// has a probe hook that says whether the activity still works.
func TestBackgroundActivityOnEveryCloud(t *testing.T) {
	doc := `id: background-everywhere
title: Background activity in three clouds
clouds: [aws, azure, gcp]
techniques:
  - {id: T1190, name: Exploit Public-Facing Application}
environments:
  - {preset: aws-web-asg}
  - {preset: azure-web-vmss}
  - {preset: gcp-web-mig}
steps:
  - {id: exploit, at: 1m, technique: azure.vm.exploit-web-app}
background:
  - {technique: aws.routine-api-calls, principal: bob, every: 10m, source_ip: 198.51.100.41, params: {calls: ["sts:GetCallerIdentity"]}}
  - {technique: azure.routine-api-calls, principal: ci-deploy, every: 10m, source_ip: 198.51.100.10,
     params: {calls: ["Microsoft.Compute/virtualMachines/read", "Microsoft.Authorization/roleAssignments/read"]}}
  - {technique: gcp.routine-api-calls, principal: alice@firedrill.example, every: 10m, source_ip: 198.51.100.23,
     params: {calls: ["compute.instances.get", "compute.instanceGroupManagers.get"]}}
duration: 2h
expect: {playbook: vm-cryptomining}
`
	sc, err := scenarios.Load("background.yaml", []byte(doc))
	require.NoError(t, err)
	res, err := runner.Run(context.Background(), sc, runner.Options{Seed: 5, NoResponder: true})
	require.NoError(t, err)
	calls := map[string]map[string]int{}
	for _, a := range res.World.Audit {
		if !strings.Contains(a.UserAgent, "firedrill-background") || !a.Time.After(runner.Start) {
			continue
		}
		cloud := a.Cloud
		if cloud == "" {
			cloud = "aws"
		}
		if calls[cloud] == nil {
			calls[cloud] = map[string]int{}
		}
		calls[cloud][a.Operation+" "+a.ErrorCode]++
		require.NotEqual(t, runner.AttackerIP, a.SourceIP)
	}
	require.GreaterOrEqual(t, calls["azure"]["Microsoft.Compute/virtualMachines/read "], 10, "%v", calls)
	require.GreaterOrEqual(t, calls["azure"]["Microsoft.Authorization/roleAssignments/read "], 10, "%v", calls)
	require.GreaterOrEqual(t, calls["gcp"]["v1.compute.instances.get "], 10, "%v", calls)
	require.GreaterOrEqual(t, calls["gcp"]["v1.compute.instanceGroupManagers.get "], 10, "%v", calls)
	require.GreaterOrEqual(t, calls["aws"]["GetCallerIdentity "], 10, "%v", calls)
	require.Len(t, calls, 3, "only successful calls: %v", calls)
}

// TestVerifiedReportsEveryPath: the final check lists every access path
// the attacker holds in the cloud with its status, for the scoring to come,
// while the verdict's inputs keep their meaning.
func TestVerifiedReportsEveryPath(t *testing.T) {
	res, card := runScenario(t, "gcp-vm-cryptomining", runner.Options{Seed: 7})
	v := verifiedIn(t, res, "gcp")
	var paths []struct {
		ID, Kind, Cloud, Credential, Resource, Description, Status string
		ErrorCode                                                  string `json:"error_code"`
	}
	require.NoError(t, json.Unmarshal([]byte(v.Detail["paths"]), &paths))
	kinds := map[string]string{}
	for _, p := range paths {
		require.Equal(t, "gcp", p.Cloud)
		require.NotEmpty(t, p.Description)
		kinds[p.Kind] += p.Status + " "
	}
	require.Equal(t, map[string]string{"network_flow": "cut cut ", "stolen_credential": "cut ", "backdoor_rule": "cut "}, kinds,
		"the responder cut the VM and the account, and its eradication deleted the planted firewall rule")
	require.Equal(t, "0", v.Detail["valid_stolen_credentials"])
	require.True(t, card.Containment.Verified, "a backdoor does not decide containment yet: %v", card.Containment.Reasons)
}
