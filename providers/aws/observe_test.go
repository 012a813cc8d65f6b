package aws_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/cloudsim/awssim/awssimtest"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/providers"
)

func TestAuditQuerySeesOwnCallsAfterDeliveryDelay(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	start := f.env.Clock.Now()
	require.NoError(t, f.prov.Tag(ctx, []string{f.inst}, map[string]string{"firedrill:case": "c-9"}))
	// CloudTrail times have one-second resolution; calls within one second
	// have no defined order, so let modelled time pass as latency would.
	f.env.Clock.Advance(time.Second)
	require.NoError(t, f.prov.StopInstance(ctx, f.inst, providers.StopOptions{}))
	f.env.Clock.Advance(time.Second)

	q := providers.AuditQuery{Start: start.Add(-time.Minute), AccessKeyID: f.responder.ID}
	early, err := f.prov.QueryAudit(ctx, q)
	require.NoError(t, err)
	require.Empty(t, early, "CloudTrail delivers minutes after the call")

	f.env.Clock.Advance(15 * time.Minute)
	q.End = f.env.Clock.Now()
	got, err := f.prov.QueryAudit(ctx, q)
	require.NoError(t, err)
	ops := []string{}
	var ec2Calls []providers.AuditEvent
	for _, e := range got {
		ops = append(ops, e.Service+" "+e.Operation)
		require.Equal(t, f.responder.ID, e.AccessKeyID)
		require.Equal(t, "arn:aws:iam::111122223333:user/responder", e.Principal)
		require.NotEmpty(t, e.Raw)
		if e.Service == "ec2.amazonaws.com" {
			ec2Calls = append(ec2Calls, e)
		}
	}
	// The early lookup itself is audited too, as CloudTrail does.
	require.Equal(t, []string{"ec2.amazonaws.com CreateTags", "ec2.amazonaws.com StopInstances", "cloudtrail.amazonaws.com LookupEvents"}, ops, "oldest first")
	require.False(t, ec2Calls[1].ReadOnly)
	require.Contains(t, ec2Calls[1].Resources, f.inst)

	// Filters not pushed down are applied locally.
	only, err := f.prov.QueryAudit(ctx, providers.AuditQuery{AccessKeyID: f.responder.ID, Operation: "StopInstances"})
	require.NoError(t, err)
	require.Len(t, only, 1)
	byRes, err := f.prov.QueryAudit(ctx, providers.AuditQuery{Resource: f.inst, Principal: "responder", Max: 1})
	require.NoError(t, err)
	require.Len(t, byRes, 1)
}

func TestAuditQueryRecordsDeniedCallsWithErrorCode(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ro := f.readOnly(t)
	err := ro.StopInstance(ctx, f.inst, providers.StopOptions{})
	require.ErrorIs(t, err, providers.ErrAccessDenied)
	f.env.Clock.Advance(15 * time.Minute)
	got, err := f.prov.QueryAudit(ctx, providers.AuditQuery{Operation: "StopInstances"})
	require.NoError(t, err)
	require.Len(t, got, 1)
	// CloudTrail records EC2's denial as Client.UnauthorizedOperation (the
	// wire answer is the bare UnauthorizedOperation).
	require.Equal(t, "Client.UnauthorizedOperation", got[0].ErrorCode)
	require.True(t, strings.HasSuffix(got[0].Principal, "user/auditor"), got[0].Principal)
}

func TestAuditQueryPagesAndPacesLookups(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for range 60 {
		require.NoError(t, f.prov.Tag(ctx, []string{f.inst}, map[string]string{"n": "x"}))
	}
	f.env.Clock.Advance(15 * time.Minute)
	before := f.sleeper.total()
	got, err := f.prov.QueryAudit(ctx, providers.AuditQuery{AccessKeyID: f.responder.ID, Operation: "CreateTags"})
	require.NoError(t, err)
	require.Len(t, got, 60, "two pages of at most 50")
	require.GreaterOrEqual(t, f.sleeper.total()-before, 500*time.Millisecond, "the second page waited for CloudTrail's 2 TPS")
	for i := 1; i < len(got); i++ {
		require.False(t, got[i].Time.Before(got[i-1].Time))
	}
}

func TestFindingsList(t *testing.T) {
	f := newFixture(t)
	now := f.env.Clock.Now()
	f.locked(func(w *world.World) {
		w.AddFindingLocked(&world.Finding{Detector: "12abc34d567e8fa901bc2d34e56789f0", Account: awssimtest.Account, Region: awssimtest.Region,
			Type: "CryptoCurrency:EC2/BitcoinTool.B!DNS", Severity: 8, Title: "EC2 instance querying a mining pool domain",
			ResourceType: "Instance", ResourceID: f.inst, Domain: "pool.example", FirstSeen: now, LastSeen: now,
			CreatedAt: now.Add(5 * time.Minute)})
		w.AddFindingLocked(&world.Finding{Detector: "12abc34d567e8fa901bc2d34e56789f0", Account: awssimtest.Account, Region: awssimtest.Region,
			Type: "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS", Severity: 8, Title: "Credentials used outside AWS",
			ResourceType: "AccessKey", AccessKeyID: "ASIAEXAMPLEEXAMPLE00", FirstSeen: now, LastSeen: now,
			CreatedAt: now.Add(20 * time.Minute)})
	})
	ctx := context.Background()
	got, err := f.prov.ListFindings(ctx, now)
	require.NoError(t, err)
	require.Empty(t, got, "findings are not visible before their detection latency")

	f.env.Clock.Advance(30 * time.Minute)
	got, err = f.prov.ListFindings(ctx, now)
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.Equal(t, "CryptoCurrency:EC2/BitcoinTool.B!DNS", got[0].Type)
	require.Equal(t, f.inst, got[0].ResourceID)
	require.Equal(t, "Instance", got[0].ResourceType)
	require.Equal(t, 8.0, got[0].Severity)
	require.True(t, got[0].CreatedAt.Equal(now.Add(5*time.Minute)), got[0].CreatedAt)
	require.Equal(t, "ASIAEXAMPLEEXAMPLE00", got[1].AccessKeyID)

	later, err := f.prov.ListFindings(ctx, now.Add(10*time.Minute))
	require.NoError(t, err)
	require.Len(t, later, 1, "since filters on update time")
	require.Equal(t, "AccessKey", later[0].ResourceType)
}

func TestExecRunCommandAndCaptureMemory(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ok, err := f.prov.AgentAvailable(ctx, f.inst)
	require.NoError(t, err)
	require.True(t, ok)

	res, err := f.prov.RunCommand(ctx, f.inst, []string{"ps aux"}, providers.CommandOptions{
		OutputBucket: evidenceBucket, OutputPrefix: "case-1/commands"})
	require.NoError(t, err)
	require.Equal(t, "Success", res.Status)
	require.Equal(t, 0, res.ExitCode)
	require.Contains(t, res.Stdout, "xmrig", "volatile evidence reflects the world")
	require.Contains(t, res.OutputLocation, evidenceBucket)

	ev, err := f.prov.CaptureMemory(ctx, f.inst, evidenceBucket, providers.MemoryOptions{CaseID: "case-1"})
	require.NoError(t, err)
	require.Equal(t, providers.EvidenceMemory, ev.Kind)
	require.Equal(t, f.inst, ev.Source)
	require.Equal(t, "case-1", ev.Tags["firedrill:case"])
	require.True(t, strings.HasPrefix(ev.Location, "s3://"+evidenceBucket+"/firedrill/memory/"+f.inst+"/"), ev.Location)
	require.Len(t, ev.SHA256, 64)
	f.locked(func(w *world.World) {
		v, err := w.GetObjectLocked(evidenceBucket, ev.ID, "")
		require.NoError(t, err)
		sum := sha256.Sum256(v.Data)
		require.Equal(t, hex.EncodeToString(sum[:]), ev.SHA256, "the digest is of the stored image")
		require.Equal(t, int64(len(v.Data)), ev.Size)
	})
}

func TestExecAfterIsolationReportsAgentOfflineAndCommandFails(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, err := f.prov.IsolateInstance(ctx, f.inst, providers.IsolateOptions{})
	require.NoError(t, err)
	ok, err := f.prov.AgentAvailable(ctx, f.inst)
	require.NoError(t, err)
	require.False(t, ok, "isolation cuts the agent's egress: capture memory first")

	res, err := f.prov.RunCommand(ctx, f.inst, []string{"uptime"}, providers.CommandOptions{Timeout: 5 * time.Minute})
	require.Error(t, err)
	require.NotNil(t, res)
	require.NotEqual(t, "Success", res.Status)
}

func TestStoragePutAndHash(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	body := []byte("instance metadata as collected\n")
	ev, err := f.prov.PutEvidenceObject(ctx, evidenceBucket, "case-1/metadata.json", body, map[string]string{"case": "case-1"})
	require.NoError(t, err)
	sum := sha256.Sum256(body)
	require.Equal(t, hex.EncodeToString(sum[:]), ev.SHA256)
	require.Equal(t, "s3://"+evidenceBucket+"/case-1/metadata.json", ev.Location)

	info, err := f.prov.HashObject(ctx, evidenceBucket, "case-1/metadata.json")
	require.NoError(t, err)
	require.Equal(t, ev.SHA256, info.SHA256)
	require.Equal(t, int64(len(body)), info.Size)

	_, err = f.prov.HashObject(ctx, evidenceBucket, "missing")
	require.ErrorIs(t, err, providers.ErrNotFound)
}
