package awssim_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/guardduty"
	gdtypes "github.com/aws/aws-sdk-go-v2/service/guardduty/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/cloudsim/awssim/awssimtest"
	"github.com/firedrill-ir/firedrill/cloudsim/detect"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/awsworld"
)

const gdDetector = "12abc34d567e8fa901bc2d34e56789f0"

// gdEnv seeds a detector and three findings: a mining finding on an
// instance (visible), an exfiltration finding on a key (visible) and one
// still inside its detection latency (not yet visible).
func gdEnv(t *testing.T) (*awssimtest.Env, *world.Instance) {
	env := awssimtest.New(t)
	inst := obsInstance(env, 1, func(i *world.Instance, _ *awsworld.SecurityGroup) { i.Tags = world.Tags{"Name": "web-1"} })
	w := env.World
	w.Lock()
	defer w.Unlock()
	awsworld.Of(w).Detectors.Put(gdDetector, &awsworld.Detector{ID: gdDetector, Account: awssimtest.Account, Region: awssimtest.Region,
		Enabled: true, CreatedAt: awssimtest.Start.Add(-24 * time.Hour)})
	awsworld.Of(w).Detectors.Put("other-account", &awsworld.Detector{ID: "other-account", Account: "999988887777", Region: awssimtest.Region, Enabled: true})
	t0 := awssimtest.Start.Add(-time.Hour)
	w.AddFindingLocked(&world.Finding{ID: "f-mining", Detector: gdDetector, Account: awssimtest.Account, Region: awssimtest.Region,
		Type: detect.TypeMiningDNS, Severity: 8, Title: "mining", ResourceType: "Instance", ResourceID: inst.ID,
		Domain: "pool.minexmr.com", RemoteIP: "198.51.100.7", FirstSeen: t0, LastSeen: t0, CreatedAt: t0.Add(5 * time.Minute)})
	w.AddFindingLocked(&world.Finding{ID: "f-exfil", Detector: gdDetector, Account: awssimtest.Account, Region: awssimtest.Region,
		Type: detect.TypeCredentialExfiltration, Severity: 8, ResourceType: "AccessKey", ResourceID: "ASIAEXAMPLE000000001",
		AccessKeyID: "ASIAEXAMPLE000000001", RemoteIP: "203.0.113.9", API: "DescribeInstances", APIService: "ec2.amazonaws.com",
		FirstSeen: t0, LastSeen: t0, CreatedAt: t0.Add(20 * time.Minute)})
	w.AddFindingLocked(&world.Finding{ID: "f-low", Detector: gdDetector, Account: awssimtest.Account, Region: awssimtest.Region,
		Type: "Recon:EC2/PortProbeUnprotectedPort", Severity: 2, ResourceType: "Instance", ResourceID: inst.ID,
		FirstSeen: t0, LastSeen: t0, CreatedAt: t0.Add(10 * time.Minute)})
	w.AddFindingLocked(&world.Finding{ID: "f-future", Detector: gdDetector, Account: awssimtest.Account, Region: awssimtest.Region,
		Type: detect.TypeMiningIP, Severity: 8, ResourceType: "Instance", ResourceID: inst.ID,
		FirstSeen: awssimtest.Start, LastSeen: awssimtest.Start, CreatedAt: awssimtest.Start.Add(5 * time.Minute)})
	return env, inst
}

func TestGuardDutyDetectors(t *testing.T) {
	env, _ := gdEnv(t)
	gd := guardduty.NewFromConfig(env.Admin)
	ids, err := gd.ListDetectors(context.Background(), &guardduty.ListDetectorsInput{})
	require.NoError(t, err)
	require.Equal(t, []string{gdDetector}, ids.DetectorIds, "only the caller's account and region")

	det, err := gd.GetDetector(context.Background(), &guardduty.GetDetectorInput{DetectorId: aws.String(gdDetector)})
	require.NoError(t, err)
	require.Equal(t, gdtypes.DetectorStatusEnabled, det.Status)
	require.Equal(t, "2026-11-25T09:00:00.000Z", *det.CreatedAt)

	for _, id := range []string{"nope", "other-account"} {
		_, err = gd.GetDetector(context.Background(), &guardduty.GetDetectorInput{DetectorId: aws.String(id)})
		require.Equal(t, "BadRequestException", apiCode(t, err), id)
		_, err = gd.ListFindings(context.Background(), &guardduty.ListFindingsInput{DetectorId: aws.String(id)})
		require.Equal(t, "BadRequestException", apiCode(t, err), id)
	}

	_, err = gd.CreateDetector(context.Background(), &guardduty.CreateDetectorInput{Enable: aws.Bool(true)})
	require.Equal(t, "BadRequestException", apiCode(t, err), "one detector per account and region")
}

func TestGuardDutyListFindingsCriteria(t *testing.T) {
	env, inst := gdEnv(t)
	gd := guardduty.NewFromConfig(env.Admin)
	crit := func(m map[string]gdtypes.Condition) *gdtypes.FindingCriteria {
		return &gdtypes.FindingCriteria{Criterion: m}
	}
	cases := []struct {
		name string
		in   *guardduty.ListFindingsInput
		want []string
		code string
	}{
		{"all visible, creation order", &guardduty.ListFindingsInput{}, []string{"f-mining", "f-exfil", "f-low"}, ""},
		{"by type", &guardduty.ListFindingsInput{FindingCriteria: crit(map[string]gdtypes.Condition{
			"type": {Equals: []string{detect.TypeMiningDNS}}})}, []string{"f-mining"}, ""},
		{"by severity >= 7", &guardduty.ListFindingsInput{FindingCriteria: crit(map[string]gdtypes.Condition{
			"severity": {GreaterThanOrEqual: aws.Int64(7)}})}, []string{"f-mining", "f-exfil"}, ""},
		{"by deprecated gte on severity", &guardduty.ListFindingsInput{FindingCriteria: crit(map[string]gdtypes.Condition{
			"severity": {Gte: aws.Int32(7)}})}, []string{"f-mining", "f-exfil"}, ""},
		{"by instance", &guardduty.ListFindingsInput{FindingCriteria: crit(map[string]gdtypes.Condition{
			"resource.instanceDetails.instanceId": {Equals: []string{inst.ID}}})}, []string{"f-mining", "f-low"}, ""},
		{"updated since", &guardduty.ListFindingsInput{FindingCriteria: crit(map[string]gdtypes.Condition{
			"updatedAt": {GreaterThan: aws.Int64(awssimtest.Start.Add(-52 * time.Minute).UnixMilli())}})}, []string{"f-exfil", "f-low"}, ""},
		{"sorted by severity desc", &guardduty.ListFindingsInput{SortCriteria: &gdtypes.SortCriteria{
			AttributeName: aws.String("severity"), OrderBy: gdtypes.OrderByDesc}}, []string{"f-mining", "f-exfil", "f-low"}, ""},
		{"sorted by updatedAt desc", &guardduty.ListFindingsInput{SortCriteria: &gdtypes.SortCriteria{
			AttributeName: aws.String("updatedAt"), OrderBy: gdtypes.OrderByDesc}}, []string{"f-exfil", "f-low", "f-mining"}, ""},
		{"unsupported criterion", &guardduty.ListFindingsInput{FindingCriteria: crit(map[string]gdtypes.Condition{
			"resource.eksClusterDetails.name": {Equals: []string{"x"}}})}, nil, "BadRequestException"},
		{"max results over 50", &guardduty.ListFindingsInput{MaxResults: aws.Int32(51)}, nil, "BadRequestException"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.DetectorId = aws.String(gdDetector)
			out, err := gd.ListFindings(context.Background(), tc.in)
			if tc.code != "" {
				require.Equal(t, tc.code, apiCode(t, err))
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, out.FindingIds)
		})
	}

	// Paging with maxResults, and the finding still inside its detection
	// latency appears once modelled time passes it.
	env.Clock.Advance(6 * time.Minute)
	p := guardduty.NewListFindingsPaginator(gd, &guardduty.ListFindingsInput{DetectorId: aws.String(gdDetector), MaxResults: aws.Int32(3)})
	var all []string
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		require.NoError(t, err)
		all = append(all, out.FindingIds...)
	}
	require.Equal(t, []string{"f-mining", "f-exfil", "f-low", "f-future"}, all)
}

func TestGuardDutyGetFindingsShape(t *testing.T) {
	env, inst := gdEnv(t)
	gd := guardduty.NewFromConfig(env.Admin)
	out, err := gd.GetFindings(context.Background(), &guardduty.GetFindingsInput{DetectorId: aws.String(gdDetector),
		FindingIds: []string{"f-exfil", "f-mining", "f-future", "unknown"}})
	require.NoError(t, err)
	require.Len(t, out.Findings, 2, "unknown and not-yet-visible findings are omitted")
	byID := map[string]gdtypes.Finding{}
	for _, f := range out.Findings {
		byID[*f.Id] = f
	}

	m := byID["f-mining"]
	require.Equal(t, detect.TypeMiningDNS, *m.Type)
	require.Equal(t, 8.0, *m.Severity)
	require.Equal(t, "2.0", *m.SchemaVersion)
	require.Equal(t, awssimtest.Account, *m.AccountId)
	require.Equal(t, "us-east-1", *m.Region)
	require.Equal(t, "arn:aws:guardduty:us-east-1:111122223333:detector/"+gdDetector+"/finding/f-mining", *m.Arn)
	require.Equal(t, "2026-11-26T08:05:00.000Z", *m.CreatedAt)
	require.Equal(t, "Instance", *m.Resource.ResourceType)
	require.Equal(t, inst.ID, *m.Resource.InstanceDetails.InstanceId)
	require.Equal(t, "t3.large", *m.Resource.InstanceDetails.InstanceType)
	require.Len(t, m.Resource.InstanceDetails.NetworkInterfaces, 1)
	require.Equal(t, inst.PrivateIP, *m.Resource.InstanceDetails.NetworkInterfaces[0].PrivateIpAddress)
	require.Equal(t, "web-1", *m.Resource.InstanceDetails.Tags[0].Value)
	require.Equal(t, "pool.minexmr.com", *m.Service.Action.DnsRequestAction.Domain)
	require.Equal(t, "DNS_REQUEST", *m.Service.Action.ActionType)
	require.Equal(t, int32(1), *m.Service.Count)
	require.Equal(t, "2026-11-26T08:00:00.000Z", *m.Service.EventFirstSeen)
	require.False(t, *m.Service.Archived)

	x := byID["f-exfil"]
	require.Equal(t, "AccessKey", *x.Resource.ResourceType)
	require.Equal(t, "ASIAEXAMPLE000000001", *x.Resource.AccessKeyDetails.AccessKeyId)
	require.Equal(t, "AWS_API_CALL", *x.Service.Action.ActionType)
	require.Equal(t, "DescribeInstances", *x.Service.Action.AwsApiCallAction.Api)
	require.Equal(t, "203.0.113.9", *x.Service.Action.AwsApiCallAction.RemoteIpDetails.IpAddressV4)
}

func TestGuardDutyArchive(t *testing.T) {
	env, _ := gdEnv(t)
	gd := guardduty.NewFromConfig(env.Admin)
	_, err := gd.ArchiveFindings(context.Background(), &guardduty.ArchiveFindingsInput{DetectorId: aws.String(gdDetector), FindingIds: []string{"f-low"}})
	require.NoError(t, err)
	out, err := gd.ListFindings(context.Background(), &guardduty.ListFindingsInput{DetectorId: aws.String(gdDetector),
		FindingCriteria: &gdtypes.FindingCriteria{Criterion: map[string]gdtypes.Condition{"service.archived": {Equals: []string{"false"}}}}})
	require.NoError(t, err)
	require.Equal(t, []string{"f-mining", "f-exfil"}, out.FindingIds)
	_, err = gd.UnarchiveFindings(context.Background(), &guardduty.UnarchiveFindingsInput{DetectorId: aws.String(gdDetector), FindingIds: []string{"f-low"}})
	require.NoError(t, err)
	_, err = guardduty.NewFromConfig(env.UserConfig(t, "ro", "arn:aws:iam::aws:policy/ReadOnlyAccess")).
		ArchiveFindings(context.Background(), &guardduty.ArchiveFindingsInput{DetectorId: aws.String(gdDetector), FindingIds: []string{"f-low"}})
	require.Equal(t, "AccessDeniedException", apiCode(t, err))
}

// TestStolenInstanceCredentialsRaiseAFinding runs the detector model behind
// the server: instance-role credentials used from outside the instance show
// up in ListFindings only after GuardDuty's modelled latency.
func TestStolenInstanceCredentialsRaiseAFinding(t *testing.T) {
	env := awssimtest.New(t)
	inst := obsInstance(env, 1, nil)
	env.World.AddObserver(detect.NewGuardDuty(detect.GuardDutyConfig{
		FindingLatency: detect.Latency{Min: 6 * time.Minute, Mode: 6 * time.Minute, Max: 6 * time.Minute}}))
	gd := guardduty.NewFromConfig(env.Admin)
	created, err := gd.CreateDetector(context.Background(), &guardduty.CreateDetectorInput{Enable: aws.Bool(true)})
	require.NoError(t, err)
	env.World.Lock()
	awsworld.Of(env.World).AddRole(awssimtest.Account, "web", "")
	s, err := awsworld.Of(env.World).IssueSession("web", inst.ID, "instance:"+inst.ID, 6*time.Hour)
	env.World.Unlock()
	require.NoError(t, err)

	// The test client connects from 127.0.0.1, not the instance's 10.0.0.11.
	_, err = sts.NewFromConfig(env.Config(s.AccessKeyID, s.Secret, s.Token)).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	require.NoError(t, err)

	list := func() []string {
		out, err := gd.ListFindings(context.Background(), &guardduty.ListFindingsInput{DetectorId: created.DetectorId})
		require.NoError(t, err)
		return out.FindingIds
	}
	env.Clock.Advance(5 * time.Minute)
	require.Empty(t, list())
	env.Clock.Advance(time.Minute)
	ids := list()
	require.Len(t, ids, 1)
	out, err := gd.GetFindings(context.Background(), &guardduty.GetFindingsInput{DetectorId: created.DetectorId, FindingIds: ids})
	require.NoError(t, err)
	f := out.Findings[0]
	require.Equal(t, detect.TypeCredentialExfiltration, *f.Type)
	require.Equal(t, s.AccessKeyID, *f.Resource.AccessKeyDetails.AccessKeyId)
	require.Equal(t, "AssumedRole", *f.Resource.AccessKeyDetails.UserType)
	require.Equal(t, "127.0.0.1", *f.Service.Action.AwsApiCallAction.RemoteIpDetails.IpAddressV4)
	require.Equal(t, "GetCallerIdentity", *f.Service.Action.AwsApiCallAction.Api)
}
