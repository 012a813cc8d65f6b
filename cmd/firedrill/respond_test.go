package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/internal/reqbody"
	"github.com/firedrill-ir/firedrill/providers"
	"github.com/firedrill-ir/firedrill/responder"
)

// clearCloudEnv keeps the developer's own cloud environment out of a test.
func clearCloudEnv(t *testing.T) {
	for _, k := range []string{"AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION",
		"AWS_DEFAULT_REGION", "AWS_PROFILE", "FIREDRILL_AZURE_ENDPOINT", "FIREDRILL_AZURE_CA", "AZURE_TENANT_ID", "AZURE_CLIENT_ID",
		"AZURE_CLIENT_SECRET", "AZURE_SUBSCRIPTION_ID", "FIREDRILL_GCP_ENDPOINT", "FIREDRILL_GCP_TOKEN",
		"GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_PROJECT", "CLOUDSDK_CORE_PROJECT"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

// awsWorld reads what a responder could change on the simulator through
// the SDK, as an outside observer.
type awsWorld struct {
	ec2 *ec2.Client
}

func newAWSWorld(vars map[string]string) *awsWorld {
	cfg := aws.Config{Region: vars["AWS_REGION"], BaseEndpoint: aws.String(vars["AWS_ENDPOINT_URL"]),
		HTTPClient:  &http.Client{Transport: reqbody.Buffered(nil, 0)},
		Credentials: credentials.NewStaticCredentialsProvider(vars["AWS_ACCESS_KEY_ID"], vars["AWS_SECRET_ACCESS_KEY"], "")}
	return &awsWorld{ec2: ec2.NewFromConfig(cfg)}
}

func (a *awsWorld) instances(t *testing.T) map[string]ec2types.Instance {
	t.Helper()
	out, err := a.ec2.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{})
	require.NoError(t, err)
	m := map[string]ec2types.Instance{}
	for _, r := range out.Reservations {
		for _, i := range r.Instances {
			m[aws.ToString(i.InstanceId)] = i
		}
	}
	return m
}

// fingerprint summarises the instance's groups, tags and state, and every
// snapshot and security group in the account.
func (a *awsWorld) fingerprint(t *testing.T, id string) string {
	t.Helper()
	ctx := context.Background()
	inst, ok := a.instances(t)[id]
	require.True(t, ok, "instance %s", id)
	snaps, err := a.ec2.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{})
	require.NoError(t, err)
	sgs, err := a.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{})
	require.NoError(t, err)
	var parts []string
	parts = append(parts, "state="+string(inst.State.Name))
	for _, n := range inst.NetworkInterfaces {
		for _, g := range n.Groups {
			parts = append(parts, "eni "+aws.ToString(n.NetworkInterfaceId)+" sg "+aws.ToString(g.GroupId))
		}
	}
	for _, tg := range inst.Tags {
		parts = append(parts, "tag "+aws.ToString(tg.Key)+"="+aws.ToString(tg.Value))
	}
	parts = append(parts, "snapshots="+itoa(len(snaps.Snapshots)), "groups="+itoa(len(sgs.SecurityGroups)))
	slices.Sort(parts)
	return strings.Join(parts, "\n")
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// victim is the first demo instance, by id.
func (a *awsWorld) victim(t *testing.T) string {
	ids := []string{}
	for id := range a.instances(t) {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	require.NotEmpty(t, ids)
	return ids[0]
}

func awsSimArgs(vars map[string]string, extra ...string) []string {
	return append([]string{"respond", "--cloud", "aws", "--endpoint", vars["AWS_ENDPOINT_URL"], "--region", vars["AWS_REGION"],
		"--access-key-id", vars["AWS_ACCESS_KEY_ID"], "--secret-access-key", vars["AWS_SECRET_ACCESS_KEY"]}, extra...)
}

func TestRespondDryRunPrintsThePlanAndChangesNothing(t *testing.T) {
	clearCloudEnv(t)
	vars, logs := startSim(t, 21)
	w := newAWSWorld(vars)
	id := w.victim(t)
	before := w.fingerprint(t, id)

	stdout, stderr, code := cli(t, awsSimArgs(vars, "--resource", id)...)
	require.Equal(t, 0, code, "stderr: %s", stderr)
	require.Contains(t, stdout, "DRY RUN")
	require.Contains(t, stdout, "playbook ec2-cryptomining")
	require.Contains(t, stdout, "scaling group  web-asg")
	// The plan names the steps in order, the decision tree with its
	// automated answers, and what it would change.
	for _, s := range []string{"protect_termination", "isolate_network", "revoke_sessions", "snapshot_disks", "CHANGE"} {
		require.Contains(t, stdout, s)
	}
	require.Regexp(t, `production\s+Is this a production instance\?\s+yes\s+downtime`, stdout)
	require.Regexp(t, `downtime\s+.*\s+yes\s+isolate_and_stop`, stdout)
	require.Contains(t, stdout, "outcome: isolate_and_stop")
	require.Less(t, strings.Index(stdout, " protect_termination "), strings.Index(stdout, " isolate "), "waves in order")
	require.Contains(t, stderr, "dry run: nothing was changed")
	require.Contains(t, stderr, "--execute --evidence-bucket BUCKET")

	require.Equal(t, before, w.fingerprint(t, id), "a dry run changed the world")
	for _, op := range []string{"ModifyInstanceAttribute", "CreateSnapshot", "ModifyNetworkInterfaceAttribute", "CreateTags",
		"CreateSecurityGroup", "PutRolePolicy", "StopInstances", "SendCommand", "SetInstanceProtection"} {
		require.NotContains(t, logs.String(), "op="+op, "dry run made a mutating call")
	}
	require.Contains(t, logs.String(), "op=GetCallerIdentity", "credentials are verified")

	// JSON carries the same plan.
	stdout, _, code = cli(t, awsSimArgs(vars, "--resource", id, "--output", "json")...)
	require.Equal(t, 0, code)
	var plan respondPlan
	require.NoError(t, json.Unmarshal([]byte(stdout), &plan))
	require.True(t, plan.DryRun)
	require.Equal(t, "isolate_and_stop", plan.Outcome)
	require.True(t, plan.Simulator)
	var stop *respondStep
	for i := range plan.Steps {
		if plan.Steps[i].ID == "stop" {
			stop = &plan.Steps[i]
		}
	}
	require.NotNil(t, stop)
	require.Empty(t, stop.Skip, "prod in a scaling group -> stop runs")
	require.Equal(t, before, w.fingerprint(t, id))
}

// containPlaybook is ec2-cryptomining cut down to what completes in a few
// seconds of wall time on 'sim serve' (the simulator models a 50 GiB
// snapshot as ~10 real minutes and an 8 GiB memory image as ~3): the
// snapshot wait is short and stop does not wait for it.
const containPlaybook = `id: quick-contain
title: Quick containment
clouds: [aws]
severity: high
triggers:
  findings:
    aws: [CryptoCurrency:EC2/BitcoinTool.B!DNS]
evidence:
  - id: describe
    action: describe_instance
    timeout: 1m
  - id: capture_processes
    action: capture_processes
    needs: [protect_termination]
    timeout: 2m
  - id: snapshot_disks
    action: snapshot_disks
    needs: [describe, protect_termination]
    params:
      wait: 1s
    timeout: 1m
containment:
  - id: protect_termination
    action: protect_termination
    timeout: 1m
  - id: protect_scaling
    action: protect_scaling
    params:
      mode: protect
    timeout: 1m
  - id: isolate
    action: isolate_network
    needs: [describe]
    after: [capture_processes]
    timeout: 2m
  - id: detach_identity
    action: detach_identity
    needs: [describe]
    params:
      mode: replace
      replacement_profile: firedrill-deny-all
      fallback_remove: true
    timeout: 1m
  - id: revoke_sessions
    action: revoke_sessions
    needs: [detach_identity]
    timeout: 1m
  - id: quarantine_tags
    action: tag_resource
    needs: [describe]
    timeout: 1m
remediation:
  - id: isolated
    item: Instance isolated in the forensics-only group
    owner: ir_lead
    check: {id: chk_isolated, action: check_isolated}
communication:
  roles:
    - id: ir_lead
      name: Incident response lead
      contacts: [ir-oncall@example.com]
  notify:
    - {severity: high, on: contained, roles: [ir_lead], within: 1h, template: contained}
  templates:
    - id: contained
      subject: '{{.CaseID}}: {{.Resource}} contained'
      body: '{{.Resource}} is isolated.'
`

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

func TestRespondExecuteContainsTheInstanceOnTheSimulator(t *testing.T) {
	clearCloudEnv(t)
	vars, _ := startSim(t, 22)
	w := newAWSWorld(vars)
	id := w.victim(t)
	pbFile := writeFile(t, "quick.yaml", containPlaybook)

	start := time.Now()
	stdout, stderr, code := cli(t, awsSimArgs(vars, "--resource", id, "--execute", "--yes", "--playbook", pbFile,
		"--evidence-bucket", "firedrill-demo-forensics", "--case-id", "IR-42", "--poll-interval", "500ms", "--output", "json")...)
	require.Equal(t, 0, code, "stdout: %s\nstderr: %s", stdout, stderr)
	t.Logf("executed in %v", time.Since(start))
	var sum caseSummary
	require.NoError(t, json.Unmarshal([]byte(stdout), &sum), stdout)
	require.True(t, sum.Contained, "steps: %+v", sum.Steps)
	require.NotNil(t, sum.ContainedAt)
	require.Equal(t, "IR-42", sum.Case)
	require.Equal(t, id, sum.Resource)
	status := map[string]string{}
	for _, s := range sum.Steps {
		status[s.ID] = s.Status
	}
	for _, s := range []string{"describe", "protect_termination", "protect_scaling", "isolate", "detach_identity", "revoke_sessions", "quarantine_tags", "chk_isolated"} {
		require.Equal(t, "succeeded", status[s], "step %s", s)
	}
	// Stored artifacts carry their SHA-256.
	hashed := 0
	for _, e := range sum.Evidence {
		if e.SHA256 != "" {
			require.Len(t, e.SHA256, 64)
			hashed++
		}
	}
	require.NotZero(t, hashed, "evidence manifest: %+v", sum.Evidence)
	require.NotEmpty(t, sum.Notify, "the contained message was sent")
	// Progress streamed on stderr.
	require.Contains(t, stderr, "step.finish")
	require.Contains(t, stderr, "contained")
	require.NotContains(t, stderr, "\x1b[", "no colors for a non-terminal")

	// Seen from outside: every interface is in the isolation group only,
	// the instance is tagged, and tagged evidence snapshots exist.
	inst := w.instances(t)[id]
	sgs, err := w.ec2.DescribeSecurityGroups(context.Background(), &ec2.DescribeSecurityGroupsInput{})
	require.NoError(t, err)
	names := map[string]string{}
	for _, g := range sgs.SecurityGroups {
		names[aws.ToString(g.GroupId)] = aws.ToString(g.GroupName)
	}
	require.NotEmpty(t, inst.NetworkInterfaces)
	for _, n := range inst.NetworkInterfaces {
		require.Len(t, n.Groups, 1, "eni %s", aws.ToString(n.NetworkInterfaceId))
		require.Contains(t, strings.ToLower(names[aws.ToString(n.Groups[0].GroupId)]), "isolat",
			"eni %s is in %s", aws.ToString(n.NetworkInterfaceId), names[aws.ToString(n.Groups[0].GroupId)])
	}
	tags := map[string]string{}
	for _, tg := range inst.Tags {
		tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	require.Equal(t, "do-not-delete", tags["firedrill:quarantine"])
	snaps, err := w.ec2.DescribeSnapshots(context.Background(), &ec2.DescribeSnapshotsInput{
		Filters: []ec2types.Filter{{Name: aws.String("tag:firedrill:case"), Values: []string{"IR-42"}}}})
	require.NoError(t, err)
	require.Len(t, snaps.Snapshots, len(inst.BlockDeviceMappings), "one evidence snapshot per volume")
}

func TestRespondUnknownResourceChangesNothing(t *testing.T) {
	clearCloudEnv(t)
	vars, logs := startSim(t, 23)
	w := newAWSWorld(vars)
	id := w.victim(t)
	before := w.fingerprint(t, id)
	_, stderr, code := cli(t, awsSimArgs(vars, "--resource", "i-0123456789abcdef0", "--execute", "--yes",
		"--evidence-bucket", "firedrill-demo-forensics")...)
	require.Contains(t, []int{1, 2}, code)
	require.Contains(t, stderr, "i-0123456789abcdef0")
	require.Contains(t, stderr, "not found")
	require.Contains(t, stderr, "nothing was changed")
	require.Equal(t, before, w.fingerprint(t, id))
	require.NotContains(t, logs.String(), "op=ModifyInstanceAttribute")
	require.NotContains(t, logs.String(), "op=CreateSnapshot")
}

func TestRespondBadPlaybookIsAUsageErrorWithPosition(t *testing.T) {
	clearCloudEnv(t)
	bad := writeFile(t, "bad.yaml", "id: bad\ntitle: Bad\nclouds: [aws]\nseverity: high\nevidence:\n  - id: describe\n    action: describe_instanse\n")
	called := false
	prev := buildProvider
	buildProvider = func(context.Context, *respondTarget, time.Duration) (providers.Provider, func(), error) {
		called = true
		return nil, func() {}, io.EOF
	}
	t.Cleanup(func() { buildProvider = prev })
	_, stderr, code := cli(t, "respond", "--cloud", "aws", "--region", "us-east-1", "--resource", "i-1", "--playbook", bad)
	require.Equal(t, 2, code, stderr)
	require.Regexp(t, regexpQuote(bad)+`:7:\d+`, stderr, "the loader's file:line:col")
	require.Contains(t, stderr, "describe_instanse")
	require.False(t, called, "no provider before the playbook is valid")
}

func regexpQuote(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`\.+*?()|[]{}^$`, r) {
			b.WriteRune('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func TestRespondExecuteOnALiveTargetNeedsConfirmation(t *testing.T) {
	clearCloudEnv(t)
	called := false
	prev := buildProvider
	buildProvider = func(context.Context, *respondTarget, time.Duration) (providers.Provider, func(), error) {
		called = true
		return nil, func() {}, io.EOF
	}
	t.Cleanup(func() { buildProvider = prev })
	prevTTY := stdinIsTerminal
	stdinIsTerminal = func(io.Reader) bool { return false } // as in CI, whatever runs the tests
	t.Cleanup(func() { stdinIsTerminal = prevTTY })
	_, stderr, code := cli(t, "respond", "--cloud", "aws", "--region", "us-east-1", "--account", "123456789012",
		"--resource", "i-0abc", "--execute", "--evidence-bucket", "b")
	require.Equal(t, 2, code, stderr)
	require.Contains(t, stderr, "refusing to --execute")
	require.Contains(t, stderr, "--yes")
	require.Contains(t, stderr, "123456789012")
	require.False(t, called, "refused before building a provider, so before any call")

	// A non-loopback endpoint is not the simulator either.
	_, stderr, code = cli(t, "respond", "--cloud", "aws", "--region", "us-east-1", "--resource", "i-0abc", "--execute",
		"--endpoint", "https://ec2.us-east-1.amazonaws.com", "--access-key-id", "AKIA", "--secret-access-key", "x")
	require.Equal(t, 2, code, stderr)
	require.Contains(t, stderr, "refusing to --execute")
	require.False(t, called)

	// Usage errors, all before any call.
	for _, args := range [][]string{
		{"respond", "--cloud", "oracle", "--resource", "x"},
		{"respond", "--cloud", "aws", "--resource", "x"}, // no region
		{"respond", "--cloud", "aws", "--region", "us-east-1"},
		{"respond", "--cloud", "aws", "--region", "us-east-1", "--resource", "x", "--yes"},
		{"respond", "--cloud", "aws", "--region", "us-east-1", "--resource", "x", "--access-key-id", "a", "--secret-access-key", "b"},
		{"respond", "--cloud", "azure", "--resource", "x"}, // no subscription
		{"respond", "--cloud", "aws", "--region", "us-east-1", "--resource", "x", "--playbook", "no-such-playbook"},
		{"respond", "--cloud", "aws", "--region", "us-east-1", "--resource", "x", "--playbook", "vm-cryptomining", "--output", "yaml"},
	} {
		_, stderr, code := cli(t, args...)
		require.Equal(t, 2, code, "%s: %s", strings.Join(args, " "), stderr)
	}
	require.False(t, called)
}

func TestRespondInteractiveConfirmationNamesTheTarget(t *testing.T) {
	clearCloudEnv(t)
	vars, logs := startSim(t, 24)
	w := newAWSWorld(vars)
	id := w.victim(t)
	before := w.fingerprint(t, id)
	// A terminal operator who answers something other than the resource id.
	// The simulator is on loopback, so no question is asked there: the
	// prompt is checked through confirm itself.
	var errOut bytes.Buffer
	ok, err := confirm(&respondOptions{Cloud: "aws", Resource: id, In: strings.NewReader("no\n"), ErrOut: &errOut}, "123456789012", "us-east-1",
		mustPlaybook(t, "ec2-cryptomining"))
	require.NoError(t, err)
	require.False(t, ok)
	require.Contains(t, errOut.String(), "123456789012")
	require.Contains(t, errOut.String(), "us-east-1")
	require.Contains(t, errOut.String(), id)
	ok, err = confirm(&respondOptions{Cloud: "aws", Resource: id, In: strings.NewReader(id + "\n"), ErrOut: io.Discard}, "1", "r",
		mustPlaybook(t, "ec2-cryptomining"))
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, before, w.fingerprint(t, id))
	require.NotContains(t, logs.String(), "op=ModifyInstanceAttribute")
}

func TestRespondDryRunOnGCPAndAzureSimulators(t *testing.T) {
	clearCloudEnv(t)
	vars, logs := startSimCloud(t, "all", 25)
	for k, v := range vars {
		t.Setenv(k, v)
	}
	// GCP from the printed environment alone.
	stdout, stderr, code := cli(t, "respond", "--cloud", "gcp", "--resource", "batch-worker-1", "--output", "json")
	require.Equal(t, 0, code, stderr)
	var plan respondPlan
	require.NoError(t, json.Unmarshal([]byte(stdout), &plan), stdout)
	require.Equal(t, "vm-cryptomining", plan.Playbook)
	require.Equal(t, vars["GOOGLE_CLOUD_PROJECT"], plan.Account)
	skips := map[string]string{}
	for _, s := range plan.Steps {
		skips[s.ID] = s.Skip
	}
	require.Contains(t, skips["capture_processes"], "run-command", "GCP has no run-command")
	require.Contains(t, skips["remove_role_assignments"], "azure")
	require.Empty(t, skips["isolate"])
	require.Equal(t, "prod", plan.Instance.Tags["env"])
	require.NotEmpty(t, plan.Decisions)
	require.Equal(t, "yes", plan.Decisions[0].Automated)
	require.Contains(t, stderr, "dry run: nothing was changed")

	// Azure: a scale-set VM by resource id, found through the SDK-facing
	// simulator; a bad one is a clear usage error.
	_, stderr, code = cli(t, "respond", "--cloud", "azure", "--resource", "firedrill-demo-rg/no-such-vm")
	require.Equal(t, 2, code, stderr)
	require.Contains(t, stderr, "not found")
	require.NotContains(t, logs.String(), "method=PUT")
	require.NotContains(t, logs.String(), "method=DELETE")
}

func mustPlaybook(t *testing.T, id string) *responder.Playbook {
	t.Helper()
	pb, err := resolvePlaybook(id, "aws")
	require.NoError(t, err)
	return pb
}
