package awssim_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/guardduty"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/cloudsim/awssim/awssimtest"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/awsworld"
)

// ctRecord is the part of a CloudTrail record the tests check.
type ctRecord struct {
	EventVersion string `json:"eventVersion"`
	UserIdentity struct {
		Type           string `json:"type"`
		ARN            string `json:"arn"`
		AccountID      string `json:"accountId"`
		AccessKeyID    string `json:"accessKeyId"`
		UserName       string `json:"userName"`
		SessionContext *struct {
			SessionIssuer struct {
				Type string `json:"type"`
				ARN  string `json:"arn"`
			} `json:"sessionIssuer"`
			Attributes map[string]string `json:"attributes"`
		} `json:"sessionContext"`
		EC2RoleDelivery string `json:"ec2RoleDelivery"`
	} `json:"userIdentity"`
	EventTime          string            `json:"eventTime"`
	EventSource        string            `json:"eventSource"`
	EventName          string            `json:"eventName"`
	AwsRegion          string            `json:"awsRegion"`
	SourceIPAddress    string            `json:"sourceIPAddress"`
	ErrorCode          string            `json:"errorCode"`
	ErrorMessage       string            `json:"errorMessage"`
	RequestParameters  map[string]string `json:"requestParameters"`
	ResponseElements   any               `json:"responseElements"`
	EventID            string            `json:"eventID"`
	ReadOnly           bool              `json:"readOnly"`
	EventType          string            `json:"eventType"`
	ManagementEvent    bool              `json:"managementEvent"`
	RecipientAccountID string            `json:"recipientAccountId"`
}

func record(t *testing.T, ev cttypes.Event) ctRecord {
	t.Helper()
	var r ctRecord
	require.NoError(t, json.Unmarshal([]byte(*ev.CloudTrailEvent), &r))
	return r
}

// lookup calls LookupEvents one second of modelled time after the previous
// call, staying under the 2 TPS limit.
func lookup(t *testing.T, env *awssimtest.Env, ct *cloudtrail.Client, in *cloudtrail.LookupEventsInput) (*cloudtrail.LookupEventsOutput, error) {
	t.Helper()
	env.Clock.Advance(time.Second)
	return ct.LookupEvents(context.Background(), in)
}

func TestLookupEventsDeliveryAndRecordShape(t *testing.T) {
	env := awssimtest.New(t)
	ct := cloudtrail.NewFromConfig(env.Admin)
	_, err := sts.NewFromConfig(env.Admin).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	require.NoError(t, err)
	ro := env.UserConfig(t, "auditor", "arn:aws:iam::aws:policy/ReadOnlyAccess")
	_, err = guardduty.NewFromConfig(ro).CreateDetector(context.Background(), &guardduty.CreateDetectorInput{Enable: aws.Bool(true)})
	require.Equal(t, "AccessDeniedException", apiCode(t, err))

	out, err := lookup(t, env, ct, &cloudtrail.LookupEventsInput{})
	require.NoError(t, err)
	require.Empty(t, out.Events, "CloudTrail delivers events about five minutes after the call")

	env.Clock.Advance(10 * time.Minute)
	out, err = lookup(t, env, ct, &cloudtrail.LookupEventsInput{})
	require.NoError(t, err)
	names := []string{}
	for _, ev := range out.Events {
		names = append(names, *ev.EventName)
	}
	// Newest first; the first LookupEvents is delivered by now too.
	require.Equal(t, []string{"LookupEvents", "CreateDetector", "GetCallerIdentity"}, names)

	denied := out.Events[1]
	require.Equal(t, "auditor", *denied.Username)
	require.Equal(t, "false", *denied.ReadOnly)
	require.Equal(t, "guardduty.amazonaws.com", *denied.EventSource)
	rec := record(t, denied)
	require.Equal(t, "1.08", rec.EventVersion)
	require.Equal(t, "IAMUser", rec.UserIdentity.Type)
	require.Equal(t, "arn:aws:iam::111122223333:user/auditor", rec.UserIdentity.ARN)
	require.Equal(t, "auditor", rec.UserIdentity.UserName)
	require.Equal(t, "AccessDeniedException", rec.ErrorCode)
	require.Contains(t, rec.ErrorMessage, "guardduty:CreateDetector")
	require.Equal(t, "AwsApiCall", rec.EventType)
	require.True(t, rec.ManagementEvent)
	require.Nil(t, rec.ResponseElements)
	require.Equal(t, awssimtest.Account, rec.RecipientAccountID)
	require.Equal(t, *denied.EventId, rec.EventID)
	require.Equal(t, denied.EventTime.UTC().Format(time.RFC3339), rec.EventTime)
	require.Equal(t, "us-east-1", rec.AwsRegion)
	require.Equal(t, "127.0.0.1", rec.SourceIPAddress)

	ok := record(t, out.Events[2])
	require.Equal(t, "true", *out.Events[2].ReadOnly)
	require.True(t, ok.ReadOnly)
	require.Empty(t, ok.ErrorCode)
	require.Equal(t, env.AdminKey.ID, *out.Events[2].AccessKeyId)
}

func TestLookupEventsAttributes(t *testing.T) {
	env := awssimtest.New(t)
	inst := obsInstance(env, 1, nil)
	cli := ssm.NewFromConfig(env.Admin)
	send(t, cli, &ssm.SendCommandInput{DocumentName: aws.String("AWS-RunShellScript"), InstanceIds: []string{inst.ID},
		Parameters: map[string][]string{"commands": {"ps"}}})
	_, err := sts.NewFromConfig(env.UserConfig(t, "bob")).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	require.NoError(t, err)
	env.Clock.Advance(10 * time.Minute)
	ct := cloudtrail.NewFromConfig(env.Admin)
	all, err := lookup(t, env, ct, &cloudtrail.LookupEventsInput{})
	require.NoError(t, err)
	require.Len(t, all.Events, 2)
	// Both calls happened at the same instant: CloudTrail gives no order
	// between them, so the test looks the event up by name.
	sendID := ""
	for _, e := range all.Events {
		if aws.ToString(e.EventName) == "SendCommand" {
			sendID = aws.ToString(e.EventId)
		}
	}
	require.NotEmpty(t, sendID, "SendCommand is in the log")

	attr := func(k cttypes.LookupAttributeKey, v string) *cloudtrail.LookupEventsInput {
		return &cloudtrail.LookupEventsInput{LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: k, AttributeValue: &v}}}
	}
	cases := []struct {
		name string
		in   *cloudtrail.LookupEventsInput
		want []string // event names; nil with code set
		code string
	}{
		{"event name", attr(cttypes.LookupAttributeKeyEventName, "SendCommand"), []string{"SendCommand"}, ""},
		{"username", attr(cttypes.LookupAttributeKeyUsername, "bob"), []string{"GetCallerIdentity"}, ""},
		{"resource name", attr(cttypes.LookupAttributeKeyResourceName, inst.ID), []string{"SendCommand"}, ""},
		{"resource type", attr(cttypes.LookupAttributeKeyResourceType, "AWS::EC2::Instance"), []string{"SendCommand"}, ""},
		{"event source", attr(cttypes.LookupAttributeKeyEventSource, "sts.amazonaws.com"), []string{"GetCallerIdentity"}, ""},
		{"read only", attr(cttypes.LookupAttributeKeyReadOnly, "false"), []string{"SendCommand"}, ""},
		{"access key", attr(cttypes.LookupAttributeKeyAccessKeyId, env.AdminKey.ID), []string{"SendCommand"}, ""},
		{"event id", attr(cttypes.LookupAttributeKeyEventId, sendID), []string{"SendCommand"}, ""},
		{"two attributes", &cloudtrail.LookupEventsInput{LookupAttributes: []cttypes.LookupAttribute{
			{AttributeKey: cttypes.LookupAttributeKeyUsername, AttributeValue: aws.String("bob")},
			{AttributeKey: cttypes.LookupAttributeKeyEventName, AttributeValue: aws.String("X")}}}, nil, "InvalidLookupAttributesException"},
		{"max results over 50", &cloudtrail.LookupEventsInput{MaxResults: aws.Int32(51)}, nil, "InvalidMaxResultsException"},
		{"start after end", &cloudtrail.LookupEventsInput{StartTime: aws.Time(awssimtest.Start.Add(time.Hour)), EndTime: aws.Time(awssimtest.Start)}, nil, "InvalidTimeRangeException"},
		{"window before the calls", &cloudtrail.LookupEventsInput{StartTime: aws.Time(awssimtest.Start.Add(-time.Hour)), EndTime: aws.Time(awssimtest.Start.Add(-time.Minute))}, []string{}, ""},
		{"bad token", &cloudtrail.LookupEventsInput{NextToken: aws.String("garbage")}, nil, "InvalidNextTokenException"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := lookup(t, env, ct, tc.in)
			if tc.code != "" {
				require.Equal(t, tc.code, apiCode(t, err))
				return
			}
			require.NoError(t, err)
			got := []string{}
			for _, ev := range out.Events {
				got = append(got, *ev.EventName)
			}
			if tc.want == nil {
				tc.want = []string{}
			}
			require.Equal(t, append([]string{}, tc.want...), got)
		})
	}
}

func TestLookupEventsPaginatesNewestFirst(t *testing.T) {
	env := awssimtest.New(t)
	stsc := sts.NewFromConfig(env.Admin)
	for i := 0; i < 7; i++ {
		_, err := stsc.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
		require.NoError(t, err)
		env.Clock.Advance(time.Second)
	}
	env.Clock.Advance(15 * time.Minute)
	ct := cloudtrail.NewFromConfig(env.Admin)
	in := &cloudtrail.LookupEventsInput{MaxResults: aws.Int32(3), EndTime: aws.Time(awssimtest.Start.Add(time.Minute)),
		LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyEventName, AttributeValue: aws.String("GetCallerIdentity")}}}
	events, pages := lookupAll(t, env, ct, in)
	require.Equal(t, 3, pages)
	var times []time.Time
	for _, ev := range events {
		times = append(times, *ev.EventTime)
	}
	require.Len(t, times, 7)
	for i := 1; i < len(times); i++ {
		require.True(t, times[i].Before(times[i-1]), "events must be newest first")
	}
	// A token is bound to the query that issued it.
	in.LookupAttributes = nil
	_, err := lookup(t, env, ct, in)
	require.Equal(t, "InvalidNextTokenException", apiCode(t, err))
}

// lookupAll pages through a query, requiring that no event comes twice;
// in.NextToken is left at the last token issued.
func lookupAll(t *testing.T, env *awssimtest.Env, ct *cloudtrail.Client, in *cloudtrail.LookupEventsInput) (events []cttypes.Event, pages int) {
	t.Helper()
	seen := map[string]bool{}
	for {
		out, err := lookup(t, env, ct, in)
		require.NoError(t, err)
		pages++
		for _, ev := range out.Events {
			require.False(t, seen[*ev.EventId], "event %s returned twice", *ev.EventId)
			seen[*ev.EventId] = true
			events = append(events, ev)
		}
		if out.NextToken == nil {
			return events, pages
		}
		in.NextToken = out.NextToken
	}
}

// TestLookupEventsPagesABurstExactlyOnce: 1,000 calls within one second of
// event time (pairs of them at the same instant) page back completely, each
// event once, newest first. A token holding the last event's time at
// second precision let only the first page of that second be read.
func TestLookupEventsPagesABurstExactlyOnce(t *testing.T) {
	env := awssimtest.New(t)
	stsc := sts.NewFromConfig(env.Admin)
	const burst = 1000
	for i := range burst {
		_, err := stsc.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
		require.NoError(t, err)
		if i%2 == 1 {
			env.Clock.Advance(time.Millisecond)
		}
	}
	env.Clock.Advance(15 * time.Minute)
	exact := map[string]time.Time{}
	env.World.Lock()
	for _, ev := range env.World.Audit {
		exact[ev.ID] = ev.Time
	}
	env.World.Unlock()

	ct := cloudtrail.NewFromConfig(env.Admin)
	in := &cloudtrail.LookupEventsInput{LookupAttributes: []cttypes.LookupAttribute{
		{AttributeKey: cttypes.LookupAttributeKeyEventName, AttributeValue: aws.String("GetCallerIdentity")}}}
	events, pages := lookupAll(t, env, ct, in)
	raw, err := base64.RawURLEncoding.DecodeString(*in.NextToken)
	require.NoError(t, err, "the token is base64")
	require.NotContains(t, string(raw), "GetCallerIdentity", "the token does not spell out the query")
	var ids []string
	for _, ev := range events {
		ids = append(ids, *ev.EventId)
	}
	require.Len(t, ids, burst)
	require.Equal(t, burst/50, pages)
	for i := 1; i < len(ids); i++ {
		prev, cur := exact[ids[i-1]], exact[ids[i]]
		require.False(t, cur.After(prev), "newest first")
		if cur.Equal(prev) {
			require.Less(t, ids[i], ids[i-1], "same instant: a stable order by id")
		}
	}

	// A token that was never issued is refused, not read as a position.
	for _, bad := range []string{"garbage", base64.RawURLEncoding.EncodeToString([]byte("v2|x|y|z")), *in.NextToken + "A"} {
		_, err := lookup(t, env, ct, &cloudtrail.LookupEventsInput{NextToken: aws.String(bad), LookupAttributes: in.LookupAttributes})
		require.Equal(t, "InvalidNextTokenException", apiCode(t, err), bad)
	}
}

// TestCloudTrailRecordsErrorCodesAsTheServicesLogThem: a denied EC2 call
// answers UnauthorizedOperation on the wire but CloudTrail records
// "Client.UnauthorizedOperation" (and "Client.DryRunOperation" for a dry
// run), which is what standard detections match; IAM, STS and S3 record
// AccessDenied, the code they answer.
func TestCloudTrailRecordsErrorCodesAsTheServicesLogThem(t *testing.T) {
	env := awssimtest.New(t)
	ctx := context.Background()
	inst := obsInstance(env, 1, nil)
	cfg := env.UserConfig(t, "auditor", "arn:aws:iam::aws:policy/ReadOnlyAccess")

	_, err := ec2.NewFromConfig(cfg).StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{inst.ID}})
	require.Equal(t, "UnauthorizedOperation", apiCode(t, err), "the wire code stays bare")
	_, err = ec2.NewFromConfig(cfg).DescribeInstances(ctx, &ec2.DescribeInstancesInput{DryRun: aws.Bool(true)})
	require.Equal(t, "DryRunOperation", apiCode(t, err))
	_, err = iam.NewFromConfig(cfg).CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("backdoor")})
	require.Equal(t, "AccessDenied", apiCode(t, err))
	_, err = sts.NewFromConfig(cfg).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::111122223333:role/admin"),
		RoleSessionName: aws.String("audit")})
	require.Equal(t, "AccessDenied", apiCode(t, err))
	_, err = s3Client(cfg).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("exfil-staging")})
	require.Equal(t, "AccessDenied", apiCode(t, err))

	env.Clock.Advance(15 * time.Minute)
	out, err := lookup(t, env, cloudtrail.NewFromConfig(env.Admin), &cloudtrail.LookupEventsInput{
		LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyUsername, AttributeValue: aws.String("auditor")}}})
	require.NoError(t, err)
	codes := map[string]string{}
	for _, ev := range out.Events {
		codes[*ev.EventName] = record(t, ev).ErrorCode
	}
	require.Equal(t, map[string]string{
		"StopInstances":     "Client.UnauthorizedOperation",
		"DescribeInstances": "Client.DryRunOperation",
		"CreateUser":        "AccessDenied",
		"AssumeRole":        "AccessDenied",
		"CreateBucket":      "AccessDenied",
	}, codes)
}

func TestLookupEventsIsRateLimited(t *testing.T) {
	env := awssimtest.New(t)
	ct := cloudtrail.NewFromConfig(env.Admin)
	for i := 0; i < 2; i++ {
		_, err := ct.LookupEvents(context.Background(), &cloudtrail.LookupEventsInput{})
		require.NoError(t, err, "call %d is within the 2 TPS burst", i)
	}
	// Modelled time does not move, so even the SDK's retries are throttled.
	_, err := ct.LookupEvents(context.Background(), &cloudtrail.LookupEventsInput{})
	require.Equal(t, "ThrottlingException", apiCode(t, err))

	env.Clock.Advance(500 * time.Millisecond)
	_, err = ct.LookupEvents(context.Background(), &cloudtrail.LookupEventsInput{})
	require.NoError(t, err, "the bucket refills at 2 tokens per second")
}

func TestLookupEventsShowsInstanceRoleSessions(t *testing.T) {
	env := awssimtest.New(t)
	inst := obsInstance(env, 1, nil)
	env.World.Lock()
	awsworld.Of(env.World).AddRole(awssimtest.Account, "web", "")
	s, err := awsworld.Of(env.World).IssueSession("web", inst.ID, "instance:"+inst.ID, 6*time.Hour)
	env.World.Unlock()
	require.NoError(t, err)
	_, err = sts.NewFromConfig(env.Config(s.AccessKeyID, s.Secret, s.Token)).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	require.NoError(t, err)
	env.Clock.Advance(10 * time.Minute)
	out, err := lookup(t, env, cloudtrail.NewFromConfig(env.Admin), &cloudtrail.LookupEventsInput{
		LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyAccessKeyId, AttributeValue: &s.AccessKeyID}}})
	require.NoError(t, err)
	require.Len(t, out.Events, 1)
	require.Equal(t, inst.ID, *out.Events[0].Username)
	rec := record(t, out.Events[0])
	require.Equal(t, "AssumedRole", rec.UserIdentity.Type)
	require.Equal(t, "arn:aws:sts::111122223333:assumed-role/web/"+inst.ID, rec.UserIdentity.ARN)
	require.NotNil(t, rec.UserIdentity.SessionContext)
	require.Equal(t, "Role", rec.UserIdentity.SessionContext.SessionIssuer.Type)
	require.Equal(t, "arn:aws:iam::111122223333:role/web", rec.UserIdentity.SessionContext.SessionIssuer.ARN)
	require.Equal(t, awssimtest.Start.Format(time.RFC3339), rec.UserIdentity.SessionContext.Attributes["creationDate"])
	require.Equal(t, "2.0", rec.UserIdentity.EC2RoleDelivery)
}

func TestLookupEventsExcludesS3DataEvents(t *testing.T) {
	env := awssimtest.New(t)
	env.World.Lock()
	for _, op := range []string{"GetObject", "PutBucketPolicy"} {
		env.World.RecordAuditLocked(&world.AuditEvent{ID: op, Time: awssimtest.Start, DeliverAt: awssimtest.Start,
			Cloud: "aws", Account: awssimtest.Account, Region: awssimtest.Region, Service: "s3.amazonaws.com", Operation: op})
	}
	env.World.Unlock()
	out, err := lookup(t, env, cloudtrail.NewFromConfig(env.Admin), &cloudtrail.LookupEventsInput{})
	require.NoError(t, err)
	require.Len(t, out.Events, 1)
	require.Equal(t, "PutBucketPolicy", *out.Events[0].EventName)
}
