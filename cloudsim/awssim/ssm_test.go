package awssim_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/cloudsim/awssim/awssimtest"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/awsworld"
)

// obsInstance puts a running instance with the SSM agent, one ENI and an
// allow-all-egress security group into the world (the EC2 operations are
// not needed for these tests), then applies mutate.
func obsInstance(env *awssimtest.Env, n int, mutate func(*world.Instance, *awsworld.SecurityGroup)) *world.Instance {
	id := fmt.Sprintf("i-0ab%014x", n)
	sg := &awsworld.SecurityGroup{ID: fmt.Sprintf("sg-0ab%014x", n), Account: awssimtest.Account, Region: awssimtest.Region,
		Name: fmt.Sprintf("app-%d", n), Egress: []awsworld.Rule{{Protocol: "-1", CIDRs: []string{"0.0.0.0/0"}}}}
	eni := &world.ENI{ID: fmt.Sprintf("eni-0ab%014x", n), Account: awssimtest.Account, Region: awssimtest.Region,
		Instance: id, PrivateIP: fmt.Sprintf("10.0.0.%d", 10+n), Groups: []string{sg.ID}, Status: "in-use"}
	inst := &world.Instance{ID: id, Account: awssimtest.Account, Region: awssimtest.Region, AZ: "us-east-1a",
		Type: "t3.large", State: world.StateRunning, LaunchTime: awssimtest.Start.Add(-time.Hour),
		PrivateIP: eni.PrivateIP, ENIs: []string{eni.ID}, SSMAgent: true, Platform: "Linux", MemoryGiB: 4,
		Processes: []world.Process{{PID: 1, User: "root", Command: "/sbin/init"},
			{PID: 4242, User: "ec2-user", Command: "./xmrig -o pool.minexmr.com:4444", CPU: 398.5}}}
	if mutate != nil {
		mutate(inst, sg)
	}
	env.World.Lock()
	defer env.World.Unlock()
	awsworld.Of(env.World).SecurityGroups.Put(sg.ID, sg)
	env.World.ENIs.Put(eni.ID, eni)
	env.World.Instances.Put(inst.ID, inst)
	return inst
}

func apiCode(t *testing.T, err error) string {
	t.Helper()
	var ae smithy.APIError
	require.True(t, errors.As(err, &ae), "expected an API error, got %v", err)
	return ae.ErrorCode()
}

func TestDescribeInstanceInformationPingStatus(t *testing.T) {
	env := awssimtest.New(t)
	online := obsInstance(env, 1, nil)
	blocked := obsInstance(env, 2, func(_ *world.Instance, sg *awsworld.SecurityGroup) {
		sg.Egress = []awsworld.Rule{{Protocol: "tcp", FromPort: 22, ToPort: 22, CIDRs: []string{"0.0.0.0/0"}}}
	})
	stopped := obsInstance(env, 3, func(i *world.Instance, _ *awsworld.SecurityGroup) { i.State = world.StateStopped })
	obsInstance(env, 4, func(i *world.Instance, _ *awsworld.SecurityGroup) { i.SSMAgent = false })
	httpsOnly := obsInstance(env, 5, func(_ *world.Instance, sg *awsworld.SecurityGroup) {
		sg.Egress = []awsworld.Rule{{Protocol: "tcp", FromPort: 443, ToPort: 443, CIDRs: []string{"0.0.0.0/0"}}}
	})
	cli := ssm.NewFromConfig(env.Admin)

	out, err := cli.DescribeInstanceInformation(context.Background(), &ssm.DescribeInstanceInformationInput{})
	require.NoError(t, err)
	got := map[string]ssmtypes.PingStatus{}
	for _, ii := range out.InstanceInformationList {
		got[*ii.InstanceId] = ii.PingStatus
		require.Equal(t, ssmtypes.PlatformTypeLinux, ii.PlatformType)
		require.NotNil(t, ii.LastPingDateTime)
	}
	require.Equal(t, map[string]ssmtypes.PingStatus{
		online.ID: ssmtypes.PingStatusOnline, blocked.ID: ssmtypes.PingStatusConnectionLost,
		stopped.ID: ssmtypes.PingStatusConnectionLost, httpsOnly.ID: ssmtypes.PingStatusOnline,
	}, got, "instances without the agent are not managed nodes")

	cases := []struct {
		name string
		in   *ssm.DescribeInstanceInformationInput
		want []string
		code string
	}{
		{"filter by id", &ssm.DescribeInstanceInformationInput{Filters: []ssmtypes.InstanceInformationStringFilter{
			{Key: aws.String("InstanceIds"), Values: []string{blocked.ID}}}}, []string{blocked.ID}, ""},
		{"legacy filter list by ping status", &ssm.DescribeInstanceInformationInput{InstanceInformationFilterList: []ssmtypes.InstanceInformationFilter{
			{Key: ssmtypes.InstanceInformationFilterKeyPingStatus, ValueSet: []string{"Online"}}}}, []string{online.ID, httpsOnly.ID}, ""},
		{"unknown filter key", &ssm.DescribeInstanceInformationInput{Filters: []ssmtypes.InstanceInformationStringFilter{
			{Key: aws.String("Colour"), Values: []string{"blue"}}}}, nil, "InvalidInstanceInformationFilterValue"},
		{"max results below 5", &ssm.DescribeInstanceInformationInput{MaxResults: aws.Int32(2)}, nil, "ValidationException"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := cli.DescribeInstanceInformation(context.Background(), tc.in)
			if tc.code != "" {
				require.Equal(t, tc.code, apiCode(t, err))
				return
			}
			require.NoError(t, err)
			var ids []string
			for _, ii := range out.InstanceInformationList {
				ids = append(ids, *ii.InstanceId)
			}
			require.Equal(t, tc.want, ids)
		})
	}
}

func TestDescribeInstanceInformationPaginates(t *testing.T) {
	env := awssimtest.New(t)
	for i := 1; i <= 12; i++ {
		obsInstance(env, i, nil)
	}
	p := ssm.NewDescribeInstanceInformationPaginator(ssm.NewFromConfig(env.Admin), &ssm.DescribeInstanceInformationInput{MaxResults: aws.Int32(5)})
	seen := map[string]bool{}
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		require.NoError(t, err)
		pages++
		for _, ii := range out.InstanceInformationList {
			require.False(t, seen[*ii.InstanceId], "duplicate %s", *ii.InstanceId)
			seen[*ii.InstanceId] = true
		}
	}
	require.Equal(t, 3, pages)
	require.Len(t, seen, 12)
}

// invocation polls GetCommandInvocation once.
func invocation(t *testing.T, cli *ssm.Client, cmdID, inst string) *ssm.GetCommandInvocationOutput {
	t.Helper()
	out, err := cli.GetCommandInvocation(context.Background(), &ssm.GetCommandInvocationInput{CommandId: &cmdID, InstanceId: &inst})
	require.NoError(t, err)
	return out
}

func send(t *testing.T, cli *ssm.Client, in *ssm.SendCommandInput) string {
	t.Helper()
	out, err := cli.SendCommand(context.Background(), in)
	require.NoError(t, err)
	require.Equal(t, ssmtypes.CommandStatusPending, out.Command.Status)
	require.Len(t, *out.Command.CommandId, 36)
	return *out.Command.CommandId
}

func TestRunCommandVolatileEvidence(t *testing.T) {
	env := awssimtest.New(t)
	inst := obsInstance(env, 1, nil)
	env.World.Lock()
	env.World.Flows = append(env.World.Flows,
		&world.Flow{ID: "flow-1", Instance: inst.ID, ENI: inst.ENIs[0], Direction: "egress", Protocol: "tcp",
			LocalPort: 40001, RemoteIP: "198.51.100.7", RemotePort: 4444, Domain: "pool.minexmr.com", Tracked: true, Started: awssimtest.Start},
		&world.Flow{ID: "flow-2", Instance: inst.ID, ENI: inst.ENIs[0], Direction: "egress", Protocol: "tcp",
			LocalPort: 40002, RemoteIP: "192.0.2.99", RemotePort: 443, Started: awssimtest.Start, Ended: awssimtest.Start})
	env.World.Unlock()
	cli := ssm.NewFromConfig(env.Admin)

	cases := []struct {
		name    string
		command string
		want    []string
		notWant []string
	}{
		{"process list", "ps aux", []string{"USER", "./xmrig -o pool.minexmr.com:4444", "/sbin/init"}, nil},
		{"sockets", "ss -tunp", []string{"10.0.0.11:40001 198.51.100.7:4444"}, []string{"192.0.2.99"}},
		{"netstat with sudo", "sudo netstat -antp", []string{"198.51.100.7:4444"}, nil},
		{"hostname", "hostname", []string{"ip-10-0-0-11"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := send(t, cli, &ssm.SendCommandInput{DocumentName: aws.String("AWS-RunShellScript"),
				InstanceIds: []string{inst.ID}, Parameters: map[string][]string{"commands": {tc.command}}, Comment: aws.String("ir")})
			first := invocation(t, cli, id, inst.ID)
			require.Equal(t, ssmtypes.CommandInvocationStatusPending, first.Status)
			require.Equal(t, int32(-1), first.ResponseCode)
			require.Empty(t, first.StandardOutputContent)

			env.Clock.Advance(10 * time.Second)
			done := invocation(t, cli, id, inst.ID)
			require.Equal(t, ssmtypes.CommandInvocationStatusSuccess, done.Status)
			require.Equal(t, "Success", *done.StatusDetails)
			require.Equal(t, int32(0), done.ResponseCode)
			require.NotEmpty(t, *done.ExecutionStartDateTime)
			require.NotEmpty(t, *done.ExecutionEndDateTime)
			for _, w := range tc.want {
				require.Contains(t, *done.StandardOutputContent, w)
			}
			for _, w := range tc.notWant {
				require.NotContains(t, *done.StandardOutputContent, w)
			}
		})
	}
}

func TestRunCommandNeedsAgentEgress(t *testing.T) {
	env := awssimtest.New(t)
	inst := obsInstance(env, 1, func(_ *world.Instance, sg *awsworld.SecurityGroup) { sg.Egress = nil })
	cli := ssm.NewFromConfig(env.Admin)
	id := send(t, cli, &ssm.SendCommandInput{DocumentName: aws.String("AWS-RunShellScript"), TimeoutSeconds: aws.Int32(120),
		InstanceIds: []string{inst.ID}, Parameters: map[string][]string{"commands": {"ps aux"}}})

	env.Clock.Advance(time.Minute)
	require.Equal(t, ssmtypes.CommandInvocationStatusPending, invocation(t, cli, id, inst.ID).Status)

	env.Clock.Advance(2 * time.Minute)
	out := invocation(t, cli, id, inst.ID)
	require.Equal(t, ssmtypes.CommandInvocationStatusTimedOut, out.Status)
	require.Equal(t, "DeliveryTimedOut", *out.StatusDetails)
	require.Empty(t, out.StandardOutputContent)

	// Restoring egress before the delivery timeout lets a queued command run.
	id2 := send(t, cli, &ssm.SendCommandInput{DocumentName: aws.String("AWS-RunShellScript"),
		InstanceIds: []string{inst.ID}, Parameters: map[string][]string{"commands": {"whoami"}}})
	env.Clock.Advance(time.Minute)
	env.World.Lock()
	awsworld.Of(env.World).SecurityGroups.Lookup(fmt.Sprintf("sg-0ab%014x", 1)).Egress = []awsworld.Rule{{Protocol: "tcp", FromPort: 443, ToPort: 443, CIDRs: []string{"0.0.0.0/0"}}}
	env.World.Unlock()
	env.Clock.Advance(time.Minute)
	out = invocation(t, cli, id2, inst.ID)
	require.Equal(t, ssmtypes.CommandInvocationStatusSuccess, out.Status)
	require.Equal(t, "root\n", *out.StandardOutputContent)
}

func TestMemoryCaptureToS3(t *testing.T) {
	env := awssimtest.New(t)
	inst := obsInstance(env, 1, func(i *world.Instance, _ *awsworld.SecurityGroup) { i.MemoryGiB = 8 })
	env.World.Lock()
	env.World.Buckets.Put("ir-evidence", &world.Bucket{Name: "ir-evidence", Account: awssimtest.Account, Region: awssimtest.Region})
	env.World.Unlock()
	cli := ssm.NewFromConfig(env.Admin)

	id := send(t, cli, &ssm.SendCommandInput{DocumentName: aws.String("AWS-RunShellScript"),
		InstanceIds: []string{inst.ID}, OutputS3BucketName: aws.String("ir-evidence"), OutputS3KeyPrefix: aws.String("case-7"),
		Parameters: map[string][]string{"commands": {"avml /tmp/mem.lime # firedrill:capture-memory"}}})

	// 8 GiB at ~20 s/GiB: still running after a minute, done after four.
	env.Clock.Advance(time.Minute)
	require.Equal(t, ssmtypes.CommandInvocationStatusInProgress, invocation(t, cli, id, inst.ID).Status)
	env.Clock.Advance(3 * time.Minute)
	out := invocation(t, cli, id, inst.ID)
	require.Equal(t, ssmtypes.CommandInvocationStatusSuccess, out.Status)
	require.Contains(t, *out.StandardOutputContent, "s3://ir-evidence/case-7/"+id+"/"+inst.ID+"/memory.lime")
	require.Contains(t, *out.StandardOutputUrl, "ir-evidence/case-7/"+id+"/"+inst.ID+"/awsrunShellScript/0.awsrunShellScript/stdout")

	env.World.Lock()
	objs := env.World.Buckets.Lookup("ir-evidence").Objects
	img := objs["case-7/"+id+"/"+inst.ID+"/memory.lime"]
	stdout := objs["case-7/"+id+"/"+inst.ID+"/awsrunShellScript/0.awsrunShellScript/stdout"]
	env.World.Unlock()
	require.Len(t, img, 1)
	require.True(t, strings.HasPrefix(string(img[0].Data), "EMiL"))
	require.Contains(t, string(img[0].Data), "instance: "+inst.ID)
	require.Contains(t, string(img[0].Data), "xmrig")
	require.Len(t, stdout, 1)
	require.Equal(t, *out.StandardOutputContent, string(stdout[0].Data))

	// Without the bucket the capture fails with the upload error.
	id = send(t, cli, &ssm.SendCommandInput{DocumentName: aws.String("AWS-RunShellScript"),
		InstanceIds: []string{inst.ID}, OutputS3BucketName: aws.String("no-such-bucket"),
		Parameters: map[string][]string{"commands": {"sudo ./avml /dev/shm/mem.raw"}}})
	env.Clock.Advance(5 * time.Minute)
	out = invocation(t, cli, id, inst.ID)
	require.Equal(t, ssmtypes.CommandInvocationStatusFailed, out.Status)
	require.Equal(t, int32(1), out.ResponseCode)
	require.Contains(t, *out.StandardErrorContent, "NoSuchBucket")
}

func TestRunCommandFailsWhenInstanceStops(t *testing.T) {
	env := awssimtest.New(t)
	inst := obsInstance(env, 1, nil)
	cli := ssm.NewFromConfig(env.Admin)
	id := send(t, cli, &ssm.SendCommandInput{DocumentName: aws.String("AWS-RunShellScript"),
		InstanceIds: []string{inst.ID}, OutputS3BucketName: aws.String("b"),
		Parameters: map[string][]string{"commands": {"lime-capture"}}})
	env.Clock.Advance(5 * time.Second)
	require.Equal(t, ssmtypes.CommandInvocationStatusInProgress, invocation(t, cli, id, inst.ID).Status)
	env.World.Lock()
	inst.State = world.StateStopped
	env.World.Unlock()
	env.Clock.Advance(5 * time.Minute)
	require.Equal(t, ssmtypes.CommandInvocationStatusFailed, invocation(t, cli, id, inst.ID).Status)
}

func TestSSMErrors(t *testing.T) {
	env := awssimtest.New(t)
	inst := obsInstance(env, 1, nil)
	noAgent := obsInstance(env, 2, func(i *world.Instance, _ *awsworld.SecurityGroup) { i.SSMAgent = false })
	win := obsInstance(env, 3, func(i *world.Instance, _ *awsworld.SecurityGroup) { i.Platform = "Windows" })
	cli := ssm.NewFromConfig(env.Admin)
	cmds := map[string][]string{"commands": {"id"}}
	cases := []struct {
		name string
		call func() error
		code string
	}{
		{"unknown instance", func() error {
			_, err := cli.SendCommand(context.Background(), &ssm.SendCommandInput{DocumentName: aws.String("AWS-RunShellScript"), InstanceIds: []string{"i-0123456789abcdef0"}, Parameters: cmds})
			return err
		}, "InvalidInstanceId"},
		{"instance without agent", func() error {
			_, err := cli.SendCommand(context.Background(), &ssm.SendCommandInput{DocumentName: aws.String("AWS-RunShellScript"), InstanceIds: []string{noAgent.ID}, Parameters: cmds})
			return err
		}, "InvalidInstanceId"},
		{"unknown document", func() error {
			_, err := cli.SendCommand(context.Background(), &ssm.SendCommandInput{DocumentName: aws.String("Evil-Doc"), InstanceIds: []string{inst.ID}, Parameters: cmds})
			return err
		}, "InvalidDocument"},
		{"missing commands", func() error {
			_, err := cli.SendCommand(context.Background(), &ssm.SendCommandInput{DocumentName: aws.String("AWS-RunShellScript"), InstanceIds: []string{inst.ID}})
			return err
		}, "InvalidParameters"},
		{"shell script on windows", func() error {
			_, err := cli.SendCommand(context.Background(), &ssm.SendCommandInput{DocumentName: aws.String("AWS-RunShellScript"), InstanceIds: []string{win.ID}, Parameters: cmds})
			return err
		}, "UnsupportedPlatformType"},
		{"unknown invocation", func() error {
			_, err := cli.GetCommandInvocation(context.Background(), &ssm.GetCommandInvocationInput{CommandId: aws.String("00000000-0000-4000-8000-000000000000"), InstanceId: &inst.ID})
			return err
		}, "InvocationDoesNotExist"},
		{"malformed command id", func() error {
			_, err := cli.GetCommandInvocation(context.Background(), &ssm.GetCommandInvocationInput{CommandId: aws.String("nope"), InstanceId: &inst.ID})
			return err
		}, "InvalidCommandId"},
		{"read-only user cannot send", func() error {
			ro := ssm.NewFromConfig(env.UserConfig(t, "auditor", "arn:aws:iam::aws:policy/ReadOnlyAccess"))
			_, err := ro.SendCommand(context.Background(), &ssm.SendCommandInput{DocumentName: aws.String("AWS-RunShellScript"), InstanceIds: []string{inst.ID}, Parameters: cmds})
			return err
		}, "AccessDeniedException"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.code, apiCode(t, tc.call()))
		})
	}
}

func TestListCommandInvocations(t *testing.T) {
	env := awssimtest.New(t)
	a, b := obsInstance(env, 1, nil), obsInstance(env, 2, nil)
	cli := ssm.NewFromConfig(env.Admin)
	id := send(t, cli, &ssm.SendCommandInput{DocumentName: aws.String("AWS-RunShellScript"),
		InstanceIds: []string{a.ID, b.ID}, Parameters: map[string][]string{"commands": {"echo hi"}}})
	env.Clock.Advance(10 * time.Second)
	out, err := cli.ListCommandInvocations(context.Background(), &ssm.ListCommandInvocationsInput{CommandId: &id, Details: true})
	require.NoError(t, err)
	require.Len(t, out.CommandInvocations, 2)
	for _, inv := range out.CommandInvocations {
		require.Equal(t, ssmtypes.CommandInvocationStatusSuccess, inv.Status)
		require.Len(t, inv.CommandPlugins, 1)
		require.Equal(t, "hi\n", *inv.CommandPlugins[0].Output)
	}
	_, err = cli.ListCommandInvocations(context.Background(), &ssm.ListCommandInvocationsInput{CommandId: aws.String("00000000-0000-4000-8000-00000000dead")})
	require.Equal(t, "InvalidCommandId", apiCode(t, err))
}
