package awssim_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/cloudsim/awssim/awssimtest"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/awsworld"
)

// ec2Fixture is a simulator seeded with a VPC, a subnet, an "app" group
// (SSH from one range, default egress) and an instance profile.
type ec2Fixture struct {
	env     *awssimtest.Env
	ec2     *ec2.Client
	vpc     string
	subnet  string
	appSG   string
	profile *awsworld.InstanceProfile
	role    string
}

func newEC2Fixture(t *testing.T) *ec2Fixture {
	t.Helper()
	env := awssimtest.New(t)
	f := &ec2Fixture{env: env, ec2: ec2.NewFromConfig(env.Admin), role: "app-role"}
	w := env.World
	w.Lock()
	defer w.Unlock()
	vpc := awsworld.Of(w).AddVPC(awssimtest.Account, awssimtest.Region, "10.0.0.0/16")
	sn, err := awsworld.Of(w).AddSubnet(vpc.ID, "us-east-1a", "10.0.1.0/24")
	require.NoError(t, err)
	sg, err := awsworld.Of(w).AddSecurityGroup(awssimtest.Account, awssimtest.Region, vpc.ID, "app", "application servers")
	require.NoError(t, err)
	_, err = awsworld.Of(w).AuthorizeRules(sg.ID, false, []awsworld.Rule{{Protocol: "tcp", FromPort: 22, ToPort: 22, CIDRs: []string{"203.0.113.0/24"}}})
	require.NoError(t, err)
	awsworld.Of(w).AddRole(awssimtest.Account, f.role, "", "arn:aws:iam::aws:policy/AmazonEC2FullAccess")
	f.profile = awsworld.Of(w).AddInstanceProfile(awssimtest.Account, "app-profile", f.role)
	f.vpc, f.subnet, f.appSG = vpc.ID, sn.ID, sg.ID
	return f
}

// launch starts a running instance in the fixture's subnet and app group.
func (f *ec2Fixture) launch(t *testing.T, spec awsworld.LaunchSpec) *world.Instance {
	t.Helper()
	spec.Account, spec.Region = awssimtest.Account, awssimtest.Region
	if spec.Subnet == "" {
		spec.Subnet = f.subnet
	}
	if len(spec.Groups) == 0 {
		spec.Groups = []string{f.appSG}
	}
	spec.Running = true
	w := f.env.World
	w.Lock()
	defer w.Unlock()
	inst, err := awsworld.Of(w).LaunchInstance(spec)
	require.NoError(t, err)
	return inst
}

func (f *ec2Fixture) locked(fn func(w *world.World)) {
	f.env.World.Lock()
	defer f.env.World.Unlock()
	fn(f.env.World)
}

// apiCode returns the API error code of err ("" if it is not an API error).
func ec2ErrCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func ec2Filter(name string, values ...string) ec2types.Filter {
	return ec2types.Filter{Name: aws.String(name), Values: values}
}

func ec2InstanceIDsOf(out *ec2.DescribeInstancesOutput) []string {
	var ids []string
	for _, r := range out.Reservations {
		for _, i := range r.Instances {
			ids = append(ids, aws.ToString(i.InstanceId))
		}
	}
	return ids
}

func TestDescribeInstancesFiltersAndErrors(t *testing.T) {
	f := newEC2Fixture(t)
	ctx := context.Background()
	web := f.launch(t, awsworld.LaunchSpec{Tags: world.Tags{"Name": "web", "env": "prod"}, Profile: f.profile.ARN, PublicIP: true})
	db := f.launch(t, awsworld.LaunchSpec{Tags: world.Tags{"Name": "db"}})
	var otherVPCInstance *world.Instance
	f.locked(func(w *world.World) {
		v := awsworld.Of(w).AddVPC(awssimtest.Account, awssimtest.Region, "10.9.0.0/16")
		sn, err := awsworld.Of(w).AddSubnet(v.ID, "us-east-1b", "10.9.0.0/24")
		require.NoError(t, err)
		otherVPCInstance, err = awsworld.Of(w).LaunchInstance(awsworld.LaunchSpec{Account: awssimtest.Account, Region: awssimtest.Region, Subnet: sn.ID, Running: true})
		require.NoError(t, err)
	})

	cases := []struct {
		name    string
		in      ec2.DescribeInstancesInput
		want    []string
		errCode string
	}{
		{"all", ec2.DescribeInstancesInput{}, []string{web.ID, db.ID, otherVPCInstance.ID}, ""},
		{"by id", ec2.DescribeInstancesInput{InstanceIds: []string{db.ID}}, []string{db.ID}, ""},
		{"instance-id filter", ec2.DescribeInstancesInput{Filters: []ec2types.Filter{ec2Filter("instance-id", web.ID)}}, []string{web.ID}, ""},
		{"tag:Name wildcard", ec2.DescribeInstancesInput{Filters: []ec2types.Filter{ec2Filter("tag:Name", "w*")}}, []string{web.ID}, ""},
		{"tag-key", ec2.DescribeInstancesInput{Filters: []ec2types.Filter{ec2Filter("tag-key", "env")}}, []string{web.ID}, ""},
		{"vpc-id", ec2.DescribeInstancesInput{Filters: []ec2types.Filter{ec2Filter("vpc-id", f.vpc)}}, []string{web.ID, db.ID}, ""},
		{"state running", ec2.DescribeInstancesInput{Filters: []ec2types.Filter{ec2Filter("instance-state-name", "running")}}, []string{web.ID, db.ID, otherVPCInstance.ID}, ""},
		{"state stopped", ec2.DescribeInstancesInput{Filters: []ec2types.Filter{ec2Filter("instance-state-name", "stopped")}}, nil, ""},
		{"profile arn", ec2.DescribeInstancesInput{Filters: []ec2types.Filter{ec2Filter("iam-instance-profile.arn", f.profile.ARN)}}, []string{web.ID}, ""},
		{"two filters AND", ec2.DescribeInstancesInput{Filters: []ec2types.Filter{ec2Filter("vpc-id", f.vpc), ec2Filter("tag:Name", "db")}}, []string{db.ID}, ""},
		{"unknown filter", ec2.DescribeInstancesInput{Filters: []ec2types.Filter{ec2Filter("flavour", "x")}}, nil, "InvalidParameterValue"},
		{"malformed id", ec2.DescribeInstancesInput{InstanceIds: []string{"i-xyz"}}, nil, "InvalidInstanceID.Malformed"},
		{"unknown id", ec2.DescribeInstancesInput{InstanceIds: []string{"i-0123456789abcdef0"}}, nil, "InvalidInstanceID.NotFound"},
		{"ids with MaxResults", ec2.DescribeInstancesInput{InstanceIds: []string{db.ID}, MaxResults: aws.Int32(5)}, nil, "InvalidParameterCombination"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := f.ec2.DescribeInstances(ctx, &tc.in)
			if tc.errCode != "" {
				require.Error(t, err)
				require.Equal(t, tc.errCode, ec2ErrCode(err), "%v", err)
				return
			}
			require.NoError(t, err)
			require.ElementsMatch(t, tc.want, ec2InstanceIDsOf(out))
		})
	}

	out, err := f.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{web.ID}})
	require.NoError(t, err)
	got := out.Reservations[0].Instances[0]
	require.Equal(t, ec2types.InstanceStateNameRunning, got.State.Name)
	require.Equal(t, f.profile.ARN, aws.ToString(got.IamInstanceProfile.Arn))
	require.Equal(t, web.PublicIP, aws.ToString(got.PublicIpAddress))
	require.Len(t, got.NetworkInterfaces, 1)
	require.Equal(t, f.appSG, aws.ToString(got.SecurityGroups[0].GroupId))
	require.Equal(t, "app", aws.ToString(got.SecurityGroups[0].GroupName))
	require.Len(t, got.BlockDeviceMappings, 1)
	require.True(t, aws.ToBool(got.BlockDeviceMappings[0].Ebs.DeleteOnTermination))
	require.Equal(t, "web", ec2TagValue(got.Tags, "Name"))
}

func ec2TagValue(tags []ec2types.Tag, key string) string {
	for _, t := range tags {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value)
		}
	}
	return ""
}

func TestDescribeInstancesPaginates(t *testing.T) {
	f := newEC2Fixture(t)
	var want []string
	for range 7 {
		want = append(want, f.launch(t, awsworld.LaunchSpec{}).ID)
	}
	p := ec2.NewDescribeInstancesPaginator(f.ec2, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5)})
	var got []string
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		require.NoError(t, err)
		pages++
		got = append(got, ec2InstanceIDsOf(out)...)
	}
	require.Equal(t, 2, pages)
	require.ElementsMatch(t, want, got)

	_, err := f.ec2.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{MaxResults: aws.Int32(2)})
	require.Equal(t, "InvalidParameterValue", ec2ErrCode(err))
}

func TestRunInstancesBootsAfterModelledTime(t *testing.T) {
	f := newEC2Fixture(t)
	ctx := context.Background()
	cases := []struct {
		name    string
		in      ec2.RunInstancesInput
		errCode string
	}{
		{"missing image", ec2.RunInstancesInput{MinCount: aws.Int32(1), MaxCount: aws.Int32(1)}, "MissingParameter"},
		{"unknown group", ec2.RunInstancesInput{ImageId: aws.String("ami-1"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
			SecurityGroupIds: []string{"sg-0000000000000000f"}}, "InvalidGroup.NotFound"},
		{"unknown subnet", ec2.RunInstancesInput{ImageId: aws.String("ami-1"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
			SubnetId: aws.String("subnet-nope")}, "InvalidSubnetID.NotFound"},
		{"unknown profile", ec2.RunInstancesInput{ImageId: aws.String("ami-1"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
			IamInstanceProfile: &ec2types.IamInstanceProfileSpecification{Name: aws.String("nope")}}, "InvalidParameterValue"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.ec2.RunInstances(ctx, &tc.in)
			require.Equal(t, tc.errCode, ec2ErrCode(err), "%v", err)
		})
	}

	out, err := f.ec2.RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId: aws.String("ami-0abc"), InstanceType: ec2types.InstanceTypeC54xlarge,
		MinCount: aws.Int32(2), MaxCount: aws.Int32(2), SubnetId: aws.String(f.subnet),
		SecurityGroupIds:   []string{f.appSG},
		IamInstanceProfile: &ec2types.IamInstanceProfileSpecification{Arn: aws.String(f.profile.ARN)},
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeInstance,
			Tags: []ec2types.Tag{{Key: aws.String("Name"), Value: aws.String("batch")}}}},
	})
	require.NoError(t, err)
	require.Len(t, out.Instances, 2)
	for _, i := range out.Instances {
		require.Equal(t, ec2types.InstanceStateNamePending, i.State.Name)
		require.Equal(t, "batch", ec2TagValue(i.Tags, "Name"))
		require.Equal(t, f.profile.ARN, aws.ToString(i.IamInstanceProfile.Arn))
		require.Equal(t, ec2types.InstanceTypeC54xlarge, i.InstanceType)
	}
	ids := []string{aws.ToString(out.Instances[0].InstanceId), aws.ToString(out.Instances[1].InstanceId)}

	f.env.Clock.Advance(20 * time.Second)
	d, err := f.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: ids,
		Filters: []ec2types.Filter{ec2Filter("instance-state-name", "running")}})
	require.NoError(t, err)
	require.Empty(t, ec2InstanceIDsOf(d), "instances must still be booting after 20 s")

	f.env.Clock.Advance(time.Minute)
	d, err = f.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: ids,
		Filters: []ec2types.Filter{ec2Filter("instance-state-name", "running")}})
	require.NoError(t, err)
	require.ElementsMatch(t, ids, ec2InstanceIDsOf(d))
}

func TestStopAndTerminateInstances(t *testing.T) {
	f := newEC2Fixture(t)
	ctx := context.Background()
	plain := f.launch(t, awsworld.LaunchSpec{})
	protected := f.launch(t, awsworld.LaunchSpec{DisableAPITermination: true})
	noStop := f.launch(t, awsworld.LaunchSpec{DisableAPIStop: true})
	doomed := f.launch(t, awsworld.LaunchSpec{})

	stop, err := f.ec2.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{plain.ID}})
	require.NoError(t, err)
	require.Equal(t, ec2types.InstanceStateNameStopping, stop.StoppingInstances[0].CurrentState.Name)
	require.Equal(t, ec2types.InstanceStateNameRunning, stop.StoppingInstances[0].PreviousState.Name)

	term, err := f.ec2.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{doomed.ID}})
	require.NoError(t, err)
	require.Equal(t, ec2types.InstanceStateNameShuttingDown, term.TerminatingInstances[0].CurrentState.Name)

	cases := []struct {
		name    string
		call    func() error
		errCode string
	}{
		{"termination protection", func() error {
			_, err := f.ec2.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{protected.ID}})
			return err
		}, "OperationNotPermitted"},
		{"stop protection", func() error {
			_, err := f.ec2.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{noStop.ID}})
			return err
		}, "OperationNotPermitted"},
		{"stop a terminating instance", func() error {
			_, err := f.ec2.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{doomed.ID}})
			return err
		}, "IncorrectInstanceState"},
		{"unknown instance", func() error {
			_, err := f.ec2.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{"i-00000000000000000"}})
			return err
		}, "InvalidInstanceID.NotFound"},
		{"malformed instance", func() error {
			_, err := f.ec2.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{"web-1"}})
			return err
		}, "InvalidInstanceID.Malformed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.errCode, ec2ErrCode(tc.call()))
		})
	}

	f.env.Clock.Advance(2 * time.Minute)
	d, err := f.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{plain.ID, doomed.ID, protected.ID}})
	require.NoError(t, err)
	states := map[string]ec2types.InstanceStateName{}
	for _, r := range d.Reservations {
		for _, i := range r.Instances {
			states[aws.ToString(i.InstanceId)] = i.State.Name
		}
	}
	require.Equal(t, ec2types.InstanceStateNameStopped, states[plain.ID])
	require.Equal(t, ec2types.InstanceStateNameTerminated, states[doomed.ID])
	require.Equal(t, ec2types.InstanceStateNameRunning, states[protected.ID])

	// A terminated instance stays visible for about an hour, then vanishes.
	f.env.Clock.Advance(time.Hour)
	_, err = f.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{doomed.ID}})
	require.Equal(t, "InvalidInstanceID.NotFound", ec2ErrCode(err))
}

func TestModifyInstanceAttribute(t *testing.T) {
	f := newEC2Fixture(t)
	ctx := context.Background()
	inst := f.launch(t, awsworld.LaunchSpec{DataVolumes: []awsworld.VolumeSpec{{Device: "/dev/sdf", SizeGiB: 20, DeleteOnTermination: true}}})
	multi := f.launch(t, awsworld.LaunchSpec{})
	var quarantine string
	f.locked(func(w *world.World) {
		_, err := awsworld.Of(w).AttachNetworkInterface(multi.ID, []string{f.appSG})
		require.NoError(t, err)
		sg, err := awsworld.Of(w).AddSecurityGroup(awssimtest.Account, awssimtest.Region, f.vpc, "quarantine", "no rules")
		require.NoError(t, err)
		quarantine = sg.ID
	})

	cases := []struct {
		name    string
		in      ec2.ModifyInstanceAttributeInput
		errCode string
		check   func(t *testing.T, i *world.Instance)
	}{
		{"groups", ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(inst.ID), Groups: []string{quarantine}}, "",
			func(t *testing.T, i *world.Instance) {
				require.Equal(t, []string{quarantine}, f.env.World.ENIs.Lookup(i.ENIs[0]).Groups)
			}},
		{"groups on a multi-interface instance", ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(multi.ID), Groups: []string{quarantine}},
			"InvalidInstanceID", nil},
		{"unknown group", ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(inst.ID), Groups: []string{"sg-0000000000000000a"}},
			"InvalidGroup.NotFound", nil},
		{"termination protection", ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(inst.ID),
			DisableApiTermination: &ec2types.AttributeBooleanValue{Value: aws.Bool(true)}}, "",
			func(t *testing.T, i *world.Instance) { require.True(t, i.DisableAPITermination) }},
		{"stop protection", ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(inst.ID),
			DisableApiStop: &ec2types.AttributeBooleanValue{Value: aws.Bool(true)}}, "",
			func(t *testing.T, i *world.Instance) { require.True(t, i.DisableAPIStop) }},
		{"shutdown behaviour", ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(inst.ID),
			InstanceInitiatedShutdownBehavior: &ec2types.AttributeValue{Value: aws.String("stop")}}, "",
			func(t *testing.T, i *world.Instance) { require.Equal(t, "stop", i.ShutdownBehavior) }},
		{"bad shutdown behaviour", ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(inst.ID),
			InstanceInitiatedShutdownBehavior: &ec2types.AttributeValue{Value: aws.String("explode")}}, "InvalidParameterValue", nil},
		{"delete on termination", ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(inst.ID),
			BlockDeviceMappings: []ec2types.InstanceBlockDeviceMappingSpecification{
				{DeviceName: aws.String("/dev/xvda"), Ebs: &ec2types.EbsInstanceBlockDeviceSpecification{DeleteOnTermination: aws.Bool(false)}},
				{DeviceName: aws.String("/dev/sdf"), Ebs: &ec2types.EbsInstanceBlockDeviceSpecification{DeleteOnTermination: aws.Bool(false)}},
			}}, "",
			func(t *testing.T, i *world.Instance) {
				for _, bd := range i.BlockDevices {
					require.False(t, bd.DeleteOnTermination, bd.Device)
				}
			}},
		{"unmapped device", ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(inst.ID),
			BlockDeviceMappings: []ec2types.InstanceBlockDeviceMappingSpecification{
				{DeviceName: aws.String("/dev/sdz"), Ebs: &ec2types.EbsInstanceBlockDeviceSpecification{DeleteOnTermination: aws.Bool(false)}}}},
			"InvalidInstanceAttributeValue", nil},
		{"nothing to change", ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(inst.ID)}, "InvalidParameterCombination", nil},
		{"unknown instance", ec2.ModifyInstanceAttributeInput{InstanceId: aws.String("i-0000000000000000b"),
			DisableApiStop: &ec2types.AttributeBooleanValue{Value: aws.Bool(true)}}, "InvalidInstanceID.NotFound", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.ec2.ModifyInstanceAttribute(ctx, &tc.in)
			if tc.errCode != "" {
				require.Equal(t, tc.errCode, ec2ErrCode(err), "%v", err)
				return
			}
			require.NoError(t, err)
			f.locked(func(w *world.World) { tc.check(t, w.Instances.Lookup(aws.ToString(tc.in.InstanceId))) })
		})
	}

	// The protection is visible to the describe calls responders verify with.
	v, err := f.ec2.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{Filters: []ec2types.Filter{
		ec2Filter("attachment.instance-id", inst.ID), ec2Filter("attachment.delete-on-termination", "false")}})
	require.NoError(t, err)
	require.Len(t, v.Volumes, 2)
}

func TestDryRun(t *testing.T) {
	f := newEC2Fixture(t)
	ctx := context.Background()
	inst := f.launch(t, awsworld.LaunchSpec{})
	reader := ec2.NewFromConfig(f.env.UserConfig(t, "auditor", "arn:aws:iam::aws:policy/ReadOnlyAccess"))

	_, err := f.ec2.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{inst.ID}, DryRun: aws.Bool(true)})
	require.Equal(t, "DryRunOperation", ec2ErrCode(err))
	_, err = reader.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{inst.ID}, DryRun: aws.Bool(true)})
	require.Equal(t, "UnauthorizedOperation", ec2ErrCode(err))
	_, err = reader.DescribeInstances(ctx, &ec2.DescribeInstancesInput{DryRun: aws.Bool(true)})
	require.Equal(t, "DryRunOperation", ec2ErrCode(err))
	f.locked(func(w *world.World) { require.Equal(t, world.StateRunning, w.Instances.Lookup(inst.ID).State) })
}

func TestResourceScopedPolicy(t *testing.T) {
	f := newEC2Fixture(t)
	ctx := context.Background()
	mine := f.launch(t, awsworld.LaunchSpec{})
	theirs := f.launch(t, awsworld.LaunchSpec{})
	cfg := f.env.UserConfig(t, "operator")
	f.locked(func(w *world.World) {
		awsworld.Of(w).Users.Lookup("operator").Policies["stop-one"] = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` +
			`"Action":"ec2:StopInstances","Resource":"arn:aws:ec2:us-east-1:111122223333:instance/` + mine.ID + `"}]}`
	})
	op := ec2.NewFromConfig(cfg)
	_, err := op.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{theirs.ID}})
	require.Equal(t, "UnauthorizedOperation", ec2ErrCode(err))

	// Several instances are authorized one by one: the allow on the first
	// does not carry the second, and the whole call fails untouched.
	_, err = op.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{mine.ID, theirs.ID}})
	require.Equal(t, "UnauthorizedOperation", ec2ErrCode(err))
	require.ErrorContains(t, err, "instance/"+theirs.ID+" because no identity-based policy allows the ec2:StopInstances action",
		"the message names the instance that is not allowed")
	f.locked(func(w *world.World) { require.Equal(t, world.StateRunning, w.Instances.Lookup(mine.ID).State) })

	_, err = op.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{mine.ID}})
	require.NoError(t, err)
}

func TestVolumesAndSnapshots(t *testing.T) {
	f := newEC2Fixture(t)
	ctx := context.Background()
	inst := f.launch(t, awsworld.LaunchSpec{VolumeTags: world.Tags{"app": "web"},
		DataVolumes: []awsworld.VolumeSpec{{Device: "/dev/sdf", SizeGiB: 100}}})
	other := f.launch(t, awsworld.LaunchSpec{})
	root, data := inst.BlockDevices[0].VolumeID, inst.BlockDevices[1].VolumeID

	vcases := []struct {
		name    string
		in      ec2.DescribeVolumesInput
		want    []string
		errCode string
	}{
		{"by instance", ec2.DescribeVolumesInput{Filters: []ec2types.Filter{ec2Filter("attachment.instance-id", inst.ID)}}, []string{root, data}, ""},
		{"by id", ec2.DescribeVolumesInput{VolumeIds: []string{data}}, []string{data}, ""},
		{"volume-id filter", ec2.DescribeVolumesInput{Filters: []ec2types.Filter{ec2Filter("volume-id", root)}}, []string{root}, ""},
		{"all", ec2.DescribeVolumesInput{}, []string{root, data, other.BlockDevices[0].VolumeID}, ""},
		{"unknown", ec2.DescribeVolumesInput{VolumeIds: []string{"vol-00000000000000000"}}, nil, "InvalidVolume.NotFound"},
	}
	for _, tc := range vcases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := f.ec2.DescribeVolumes(ctx, &tc.in)
			if tc.errCode != "" {
				require.Equal(t, tc.errCode, ec2ErrCode(err))
				return
			}
			require.NoError(t, err)
			var got []string
			for _, v := range out.Volumes {
				got = append(got, aws.ToString(v.VolumeId))
			}
			require.ElementsMatch(t, tc.want, got)
		})
	}
	out, err := f.ec2.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{VolumeIds: []string{data}})
	require.NoError(t, err)
	require.Equal(t, int32(100), aws.ToInt32(out.Volumes[0].Size))
	require.Equal(t, inst.ID, aws.ToString(out.Volumes[0].Attachments[0].InstanceId))
	require.Equal(t, ec2types.VolumeStateInUse, out.Volumes[0].State)

	one, err := f.ec2.CreateSnapshot(ctx, &ec2.CreateSnapshotInput{VolumeId: aws.String(root), Description: aws.String("case-42"),
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSnapshot,
			Tags: []ec2types.Tag{{Key: aws.String("case"), Value: aws.String("42")}}}}})
	require.NoError(t, err)
	require.Equal(t, ec2types.SnapshotStatePending, one.State)
	require.Equal(t, "42", ec2TagValue(one.Tags, "case"))

	multi, err := f.ec2.CreateSnapshots(ctx, &ec2.CreateSnapshotsInput{
		InstanceSpecification: &ec2types.InstanceSpecification{InstanceId: aws.String(inst.ID), ExcludeBootVolume: aws.Bool(true)},
		CopyTagsFromSource:    ec2types.CopyTagsFromSourceVolume,
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSnapshot,
			Tags: []ec2types.Tag{{Key: aws.String("case"), Value: aws.String("42")}}}}})
	require.NoError(t, err)
	require.Len(t, multi.Snapshots, 1, "boot volume excluded")
	require.Equal(t, data, aws.ToString(multi.Snapshots[0].VolumeId))
	require.Equal(t, "web", ec2TagValue(multi.Snapshots[0].Tags, "app"), "tags copied from the volume")
	require.Equal(t, "42", ec2TagValue(multi.Snapshots[0].Tags, "case"))

	scases := []struct {
		name    string
		in      ec2.DescribeSnapshotsInput
		want    []string
		errCode string
	}{
		{"owner self", ec2.DescribeSnapshotsInput{OwnerIds: []string{"self"}}, []string{aws.ToString(one.SnapshotId), aws.ToString(multi.Snapshots[0].SnapshotId)}, ""},
		{"by id", ec2.DescribeSnapshotsInput{SnapshotIds: []string{aws.ToString(one.SnapshotId)}}, []string{aws.ToString(one.SnapshotId)}, ""},
		{"volume-id filter", ec2.DescribeSnapshotsInput{Filters: []ec2types.Filter{ec2Filter("volume-id", data)}}, []string{aws.ToString(multi.Snapshots[0].SnapshotId)}, ""},
		{"tag filter", ec2.DescribeSnapshotsInput{Filters: []ec2types.Filter{ec2Filter("tag:case", "42")}}, []string{aws.ToString(one.SnapshotId), aws.ToString(multi.Snapshots[0].SnapshotId)}, ""},
		{"status completed", ec2.DescribeSnapshotsInput{Filters: []ec2types.Filter{ec2Filter("status", "completed")}}, nil, ""},
		{"other owner", ec2.DescribeSnapshotsInput{OwnerIds: []string{"999999999999"}}, nil, ""},
		{"unknown id", ec2.DescribeSnapshotsInput{SnapshotIds: []string{"snap-00000000000000000"}}, nil, "InvalidSnapshot.NotFound"},
	}
	for _, tc := range scases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := f.ec2.DescribeSnapshots(ctx, &tc.in)
			if tc.errCode != "" {
				require.Equal(t, tc.errCode, ec2ErrCode(err))
				return
			}
			require.NoError(t, err)
			var got []string
			for _, s := range out.Snapshots {
				got = append(got, aws.ToString(s.SnapshotId))
			}
			require.ElementsMatch(t, tc.want, got)
		})
	}

	_, err = f.ec2.CreateSnapshot(ctx, &ec2.CreateSnapshotInput{VolumeId: aws.String("vol-00000000000000000")})
	require.Equal(t, "InvalidVolume.NotFound", ec2ErrCode(err))
}

func TestSecurityGroupsAndRules(t *testing.T) {
	f := newEC2Fixture(t)
	ctx := context.Background()
	created, err := f.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("isolation"),
		Description: aws.String("forensic isolation"), VpcId: aws.String(f.vpc),
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSecurityGroup,
			Tags: []ec2types.Tag{{Key: aws.String("case"), Value: aws.String("42")}}}}})
	require.NoError(t, err)
	sg := aws.ToString(created.GroupId)
	require.Equal(t, "42", ec2TagValue(created.Tags, "case"))

	d, err := f.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{sg}})
	require.NoError(t, err)
	require.Len(t, d.SecurityGroups, 1)
	require.Empty(t, d.SecurityGroups[0].IpPermissions)
	require.Len(t, d.SecurityGroups[0].IpPermissionsEgress, 1, "new groups get the default allow-all egress rule")
	require.Equal(t, "-1", aws.ToString(d.SecurityGroups[0].IpPermissionsEgress[0].IpProtocol))
	require.Equal(t, "0.0.0.0/0", aws.ToString(d.SecurityGroups[0].IpPermissionsEgress[0].IpRanges[0].CidrIp))

	ssh := ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22),
		IpRanges: []ec2types.IpRange{{CidrIp: aws.String("198.51.100.0/24")}, {CidrIp: aws.String("192.0.2.0/24")}}}
	allOut := ec2types.IpPermission{IpProtocol: aws.String("-1"), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}
	fromApp := ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(443), ToPort: aws.Int32(443),
		UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(f.appSG)}}}

	cases := []struct {
		name    string
		call    func() error
		errCode string
	}{
		{"duplicate group", func() error {
			_, err := f.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("isolation"),
				Description: aws.String("again"), VpcId: aws.String(f.vpc)})
			return err
		}, "InvalidGroup.Duplicate"},
		{"authorize ingress", func() error {
			out, err := f.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(sg),
				IpPermissions: []ec2types.IpPermission{ssh, fromApp}})
			if err == nil && len(out.SecurityGroupRules) != 3 {
				return errors.New("expected one rule per peer")
			}
			return err
		}, ""},
		{"authorize duplicate", func() error {
			_, err := f.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(sg),
				IpPermissions: []ec2types.IpPermission{ssh}})
			return err
		}, "InvalidPermission.Duplicate"},
		{"authorize on unknown group", func() error {
			_, err := f.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String("sg-00000000000000000"),
				IpPermissions: []ec2types.IpPermission{ssh}})
			return err
		}, "InvalidGroup.NotFound"},
		{"revoke egress", func() error {
			_, err := f.ec2.RevokeSecurityGroupEgress(ctx, &ec2.RevokeSecurityGroupEgressInput{GroupId: aws.String(sg),
				IpPermissions: []ec2types.IpPermission{allOut}})
			return err
		}, ""},
		{"revoke egress again", func() error {
			_, err := f.ec2.RevokeSecurityGroupEgress(ctx, &ec2.RevokeSecurityGroupEgressInput{GroupId: aws.String(sg),
				IpPermissions: []ec2types.IpPermission{allOut}})
			return err
		}, "InvalidPermission.NotFound"},
		{"authorize egress", func() error {
			_, err := f.ec2.AuthorizeSecurityGroupEgress(ctx, &ec2.AuthorizeSecurityGroupEgressInput{GroupId: aws.String(sg),
				IpPermissions: []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(443), ToPort: aws.Int32(443),
					IpRanges: []ec2types.IpRange{{CidrIp: aws.String("10.0.0.0/8")}}}}})
			return err
		}, ""},
		{"bad CIDR", func() error {
			_, err := f.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(sg),
				IpPermissions: []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(1), ToPort: aws.Int32(2),
					IpRanges: []ec2types.IpRange{{CidrIp: aws.String("not-a-cidr")}}}}})
			return err
		}, "InvalidParameterValue"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if tc.errCode == "" {
				require.NoError(t, err)
				return
			}
			require.Equal(t, tc.errCode, ec2ErrCode(err), "%v", err)
		})
	}

	d, err = f.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{ec2Filter("group-name", "isolation")}})
	require.NoError(t, err)
	require.Len(t, d.SecurityGroups, 1)
	g := d.SecurityGroups[0]
	require.Len(t, g.IpPermissions, 2, "ssh ranges grouped into one permission, the group reference in another")
	require.Len(t, g.IpPermissions[0].IpRanges, 2)
	require.Equal(t, f.appSG, aws.ToString(g.IpPermissions[1].UserIdGroupPairs[0].GroupId))
	require.Len(t, g.IpPermissionsEgress, 1)
	require.Equal(t, int32(443), aws.ToInt32(g.IpPermissionsEgress[0].FromPort))

	// Revoke by security-group-rule ID, as newer responders do.
	var ruleID string
	f.locked(func(w *world.World) { ruleID = awsworld.Of(w).SecurityGroups.Lookup(sg).Egress[0].RuleID })
	_, err = f.ec2.RevokeSecurityGroupEgress(ctx, &ec2.RevokeSecurityGroupEgressInput{GroupId: aws.String(sg), SecurityGroupRuleIds: []string{ruleID}})
	require.NoError(t, err)
	f.locked(func(w *world.World) { require.Empty(t, awsworld.Of(w).SecurityGroups.Lookup(sg).Egress) })

	_, err = f.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{"sg-00000000000000000"}})
	require.Equal(t, "InvalidGroup.NotFound", ec2ErrCode(err))
}

func TestNetworkInterfaces(t *testing.T) {
	f := newEC2Fixture(t)
	ctx := context.Background()
	inst := f.launch(t, awsworld.LaunchSpec{})
	other := f.launch(t, awsworld.LaunchSpec{})
	var quarantine, second string
	f.locked(func(w *world.World) {
		sg, err := awsworld.Of(w).AddSecurityGroup(awssimtest.Account, awssimtest.Region, f.vpc, "quarantine", "no rules")
		require.NoError(t, err)
		quarantine = sg.ID
		eni, err := awsworld.Of(w).AttachNetworkInterface(inst.ID, []string{f.appSG})
		require.NoError(t, err)
		second = eni.ID
	})
	primary := inst.ENIs[0]

	dcases := []struct {
		name    string
		in      ec2.DescribeNetworkInterfacesInput
		want    []string
		errCode string
	}{
		{"by instance", ec2.DescribeNetworkInterfacesInput{Filters: []ec2types.Filter{ec2Filter("attachment.instance-id", inst.ID)}}, []string{primary, second}, ""},
		{"by id", ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{second}}, []string{second}, ""},
		{"id filter", ec2.DescribeNetworkInterfacesInput{Filters: []ec2types.Filter{ec2Filter("network-interface-id", primary)}}, []string{primary}, ""},
		{"group filter", ec2.DescribeNetworkInterfacesInput{Filters: []ec2types.Filter{ec2Filter("group-id", f.appSG)}}, []string{primary, second, other.ENIs[0]}, ""},
		{"unknown", ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{"eni-00000000000000000"}}, nil, "InvalidNetworkInterfaceID.NotFound"},
	}
	for _, tc := range dcases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := f.ec2.DescribeNetworkInterfaces(ctx, &tc.in)
			if tc.errCode != "" {
				require.Equal(t, tc.errCode, ec2ErrCode(err))
				return
			}
			require.NoError(t, err)
			var got []string
			for _, e := range out.NetworkInterfaces {
				got = append(got, aws.ToString(e.NetworkInterfaceId))
			}
			require.ElementsMatch(t, tc.want, got)
		})
	}

	out, err := f.ec2.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{primary}})
	require.NoError(t, err)
	att := out.NetworkInterfaces[0].Attachment
	require.Equal(t, inst.ID, aws.ToString(att.InstanceId))
	require.True(t, aws.ToBool(att.DeleteOnTermination))

	mcases := []struct {
		name    string
		in      ec2.ModifyNetworkInterfaceAttributeInput
		errCode string
	}{
		{"groups", ec2.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: aws.String(second), Groups: []string{quarantine}}, ""},
		{"keep on termination", ec2.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: aws.String(primary),
			Attachment: &ec2types.NetworkInterfaceAttachmentChanges{AttachmentId: att.AttachmentId, DeleteOnTermination: aws.Bool(false)}}, ""},
		{"wrong attachment", ec2.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: aws.String(second),
			Attachment: &ec2types.NetworkInterfaceAttachmentChanges{AttachmentId: att.AttachmentId, DeleteOnTermination: aws.Bool(false)}}, "InvalidAttachmentID.NotFound"},
		{"unknown group", ec2.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: aws.String(second), Groups: []string{"sg-00000000000000000"}}, "InvalidGroup.NotFound"},
		{"unknown interface", ec2.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: aws.String("eni-00000000000000000"), Groups: []string{quarantine}}, "InvalidNetworkInterfaceID.NotFound"},
	}
	for _, tc := range mcases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.ec2.ModifyNetworkInterfaceAttribute(ctx, &tc.in)
			if tc.errCode != "" {
				require.Equal(t, tc.errCode, ec2ErrCode(err), "%v", err)
				return
			}
			require.NoError(t, err)
		})
	}
	f.locked(func(w *world.World) {
		require.Equal(t, []string{quarantine}, w.ENIs.Lookup(second).Groups)
		require.Equal(t, []string{f.appSG}, w.ENIs.Lookup(primary).Groups)
		require.False(t, w.ENIs.Lookup(primary).DeleteOnTermination)
	})
}

func TestInstanceProfileAssociations(t *testing.T) {
	f := newEC2Fixture(t)
	ctx := context.Background()
	withProfile := f.launch(t, awsworld.LaunchSpec{Profile: f.profile.Name})
	bare := f.launch(t, awsworld.LaunchSpec{})
	var denyProfile *awsworld.InstanceProfile
	f.locked(func(w *world.World) {
		awsworld.Of(w).AddRole(awssimtest.Account, "deny-all", "", "arn:aws:iam::aws:policy/AWSDenyAll")
		denyProfile = awsworld.Of(w).AddInstanceProfile(awssimtest.Account, "deny-all", "deny-all")
	})

	d, err := f.ec2.DescribeIamInstanceProfileAssociations(ctx, &ec2.DescribeIamInstanceProfileAssociationsInput{
		Filters: []ec2types.Filter{ec2Filter("instance-id", withProfile.ID)}})
	require.NoError(t, err)
	require.Len(t, d.IamInstanceProfileAssociations, 1)
	assoc := d.IamInstanceProfileAssociations[0]
	require.Equal(t, ec2types.IamInstanceProfileAssociationStateAssociated, assoc.State)
	require.Equal(t, f.profile.ARN, aws.ToString(assoc.IamInstanceProfile.Arn))

	_, err = f.ec2.AssociateIamInstanceProfile(ctx, &ec2.AssociateIamInstanceProfileInput{InstanceId: aws.String(withProfile.ID),
		IamInstanceProfile: &ec2types.IamInstanceProfileSpecification{Arn: aws.String(denyProfile.ARN)}})
	require.Equal(t, "IncorrectState", ec2ErrCode(err))

	rep, err := f.ec2.ReplaceIamInstanceProfileAssociation(ctx, &ec2.ReplaceIamInstanceProfileAssociationInput{
		AssociationId: assoc.AssociationId, IamInstanceProfile: &ec2types.IamInstanceProfileSpecification{Arn: aws.String(denyProfile.ARN)}})
	require.NoError(t, err)
	require.NotEqual(t, aws.ToString(assoc.AssociationId), aws.ToString(rep.IamInstanceProfileAssociation.AssociationId))
	require.Equal(t, denyProfile.ARN, aws.ToString(rep.IamInstanceProfileAssociation.IamInstanceProfile.Arn))

	// The replaced association is gone.
	_, err = f.ec2.DisassociateIamInstanceProfile(ctx, &ec2.DisassociateIamInstanceProfileInput{AssociationId: assoc.AssociationId})
	require.Equal(t, "InvalidAssociationID.NotFound", ec2ErrCode(err))

	dis, err := f.ec2.DisassociateIamInstanceProfile(ctx, &ec2.DisassociateIamInstanceProfileInput{AssociationId: rep.IamInstanceProfileAssociation.AssociationId})
	require.NoError(t, err)
	require.Equal(t, ec2types.IamInstanceProfileAssociationStateDisassociating, dis.IamInstanceProfileAssociation.State)

	assocOut, err := f.ec2.AssociateIamInstanceProfile(ctx, &ec2.AssociateIamInstanceProfileInput{InstanceId: aws.String(bare.ID),
		IamInstanceProfile: &ec2types.IamInstanceProfileSpecification{Name: aws.String(f.profile.Name)}})
	require.NoError(t, err)
	require.Equal(t, bare.ID, aws.ToString(assocOut.IamInstanceProfileAssociation.InstanceId))

	cases := []struct {
		name string
		in   ec2.DescribeIamInstanceProfileAssociationsInput
		want int
	}{
		{"all current", ec2.DescribeIamInstanceProfileAssociationsInput{}, 1},
		{"ended ones on request", ec2.DescribeIamInstanceProfileAssociationsInput{Filters: []ec2types.Filter{ec2Filter("state", "disassociated")}}, 2},
		{"by instance", ec2.DescribeIamInstanceProfileAssociationsInput{Filters: []ec2types.Filter{ec2Filter("instance-id", withProfile.ID)}}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := f.ec2.DescribeIamInstanceProfileAssociations(ctx, &tc.in)
			require.NoError(t, err)
			require.Len(t, out.IamInstanceProfileAssociations, tc.want)
		})
	}
	_, err = f.ec2.AssociateIamInstanceProfile(ctx, &ec2.AssociateIamInstanceProfileInput{InstanceId: aws.String(withProfile.ID),
		IamInstanceProfile: &ec2types.IamInstanceProfileSpecification{Name: aws.String("missing")}})
	require.Equal(t, "InvalidParameterValue", ec2ErrCode(err))
}

func TestTags(t *testing.T) {
	f := newEC2Fixture(t)
	ctx := context.Background()
	inst := f.launch(t, awsworld.LaunchSpec{})
	vol := inst.BlockDevices[0].VolumeID

	_, err := f.ec2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{inst.ID, vol, f.appSG},
		Tags: []ec2types.Tag{{Key: aws.String("quarantine"), Value: aws.String("case-42")}, {Key: aws.String("owner"), Value: aws.String("ir")}}})
	require.NoError(t, err)

	cases := []struct {
		name    string
		call    func() error
		errCode string
	}{
		{"unknown instance", func() error {
			_, err := f.ec2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{"i-00000000000000000"}, Tags: []ec2types.Tag{{Key: aws.String("a"), Value: aws.String("b")}}})
			return err
		}, "InvalidInstanceID.NotFound"},
		{"unknown volume", func() error {
			_, err := f.ec2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{"vol-00000000000000000"}, Tags: []ec2types.Tag{{Key: aws.String("a"), Value: aws.String("b")}}})
			return err
		}, "InvalidVolume.NotFound"},
		{"reserved prefix", func() error {
			_, err := f.ec2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{inst.ID}, Tags: []ec2types.Tag{{Key: aws.String("aws:x"), Value: aws.String("b")}}})
			return err
		}, "InvalidParameterValue"},
		{"delete with wrong value keeps the tag", func() error {
			_, err := f.ec2.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{inst.ID}, Tags: []ec2types.Tag{{Key: aws.String("owner"), Value: aws.String("someone-else")}}})
			return err
		}, ""},
		{"delete by key", func() error {
			_, err := f.ec2.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{vol}, Tags: []ec2types.Tag{{Key: aws.String("owner")}}})
			return err
		}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if tc.errCode == "" {
				require.NoError(t, err)
				return
			}
			require.Equal(t, tc.errCode, ec2ErrCode(err))
		})
	}

	out, err := f.ec2.DescribeTags(ctx, &ec2.DescribeTagsInput{Filters: []ec2types.Filter{ec2Filter("resource-id", inst.ID)}})
	require.NoError(t, err)
	require.Len(t, out.Tags, 2)
	out, err = f.ec2.DescribeTags(ctx, &ec2.DescribeTagsInput{Filters: []ec2types.Filter{ec2Filter("key", "owner")}})
	require.NoError(t, err)
	var owners []string
	for _, td := range out.Tags {
		owners = append(owners, aws.ToString(td.ResourceId))
		require.NotEmpty(t, td.ResourceType)
	}
	require.ElementsMatch(t, []string{inst.ID, f.appSG}, owners)
}

func TestAddressesAndRegions(t *testing.T) {
	f := newEC2Fixture(t)
	ctx := context.Background()
	inst := f.launch(t, awsworld.LaunchSpec{})
	var addr *awsworld.Address
	var flow *world.Flow
	f.locked(func(w *world.World) {
		var err error
		addr, err = awsworld.Of(w).AddAddress(awssimtest.Account, awssimtest.Region, inst.ID)
		require.NoError(t, err)
		flow, err = awsworld.Of(w).OpenFlow(inst.ID, world.FlowSpec{RemoteIP: "198.51.100.7", RemotePort: 3333})
		require.NoError(t, err)
	})

	d, err := f.ec2.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{Filters: []ec2types.Filter{ec2Filter("instance-id", inst.ID)}})
	require.NoError(t, err)
	require.Len(t, d.Addresses, 1)
	require.Equal(t, addr.PublicIP, aws.ToString(d.Addresses[0].PublicIp))
	require.Equal(t, addr.AssociationID, aws.ToString(d.Addresses[0].AssociationId))

	_, err = f.ec2.DisassociateAddress(ctx, &ec2.DisassociateAddressInput{AssociationId: aws.String("eipassoc-00000000000000000")})
	require.Equal(t, "InvalidAssociationID.NotFound", ec2ErrCode(err))
	_, err = f.ec2.DisassociateAddress(ctx, &ec2.DisassociateAddressInput{AssociationId: d.Addresses[0].AssociationId})
	require.NoError(t, err)
	f.locked(func(w *world.World) {
		require.False(t, flow.Active(), "the internet flow ends with the public address")
		require.Empty(t, w.Instances.Lookup(inst.ID).PublicIP)
	})
	d, err = f.ec2.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{})
	require.NoError(t, err)
	require.Empty(t, aws.ToString(d.Addresses[0].InstanceId))

	r, err := f.ec2.DescribeRegions(ctx, &ec2.DescribeRegionsInput{})
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(r.Regions), 10)
	r, err = f.ec2.DescribeRegions(ctx, &ec2.DescribeRegionsInput{RegionNames: []string{"eu-west-1"}})
	require.NoError(t, err)
	require.Len(t, r.Regions, 1)
	require.Equal(t, "ec2.eu-west-1.amazonaws.com", aws.ToString(r.Regions[0].Endpoint))
}

func TestEC2ListsPaginate(t *testing.T) {
	f := newEC2Fixture(t)
	ctx := context.Background()
	for range 6 {
		inst := f.launch(t, awsworld.LaunchSpec{Tags: world.Tags{"tier": "web"}})
		_, err := f.ec2.CreateSnapshot(ctx, &ec2.CreateSnapshotInput{VolumeId: aws.String(inst.RootVolume())})
		require.NoError(t, err)
	}
	count := func(t *testing.T, next func() (int, bool, error)) (items, pages int) {
		for {
			n, more, err := next()
			require.NoError(t, err)
			items += n
			pages++
			if !more {
				return items, pages
			}
		}
	}
	max5 := aws.Int32(5)
	cases := []struct {
		name      string
		next      func() func() (int, bool, error)
		wantItems int
	}{
		{"volumes", func() func() (int, bool, error) {
			p := ec2.NewDescribeVolumesPaginator(f.ec2, &ec2.DescribeVolumesInput{MaxResults: max5})
			return func() (int, bool, error) {
				o, err := p.NextPage(ctx)
				return lenOr(err, func() int { return len(o.Volumes) }), p.HasMorePages(), err
			}
		}, 6},
		{"snapshots", func() func() (int, bool, error) {
			p := ec2.NewDescribeSnapshotsPaginator(f.ec2, &ec2.DescribeSnapshotsInput{MaxResults: max5, OwnerIds: []string{"self"}})
			return func() (int, bool, error) {
				o, err := p.NextPage(ctx)
				return lenOr(err, func() int { return len(o.Snapshots) }), p.HasMorePages(), err
			}
		}, 6},
		{"network interfaces", func() func() (int, bool, error) {
			p := ec2.NewDescribeNetworkInterfacesPaginator(f.ec2, &ec2.DescribeNetworkInterfacesInput{MaxResults: max5})
			return func() (int, bool, error) {
				o, err := p.NextPage(ctx)
				return lenOr(err, func() int { return len(o.NetworkInterfaces) }), p.HasMorePages(), err
			}
		}, 6},
		{"tags", func() func() (int, bool, error) {
			p := ec2.NewDescribeTagsPaginator(f.ec2, &ec2.DescribeTagsInput{MaxResults: max5, Filters: []ec2types.Filter{ec2Filter("key", "tier")}})
			return func() (int, bool, error) {
				o, err := p.NextPage(ctx)
				return lenOr(err, func() int { return len(o.Tags) }), p.HasMorePages(), err
			}
		}, 6},
		{"security groups", func() func() (int, bool, error) {
			p := ec2.NewDescribeSecurityGroupsPaginator(f.ec2, &ec2.DescribeSecurityGroupsInput{MaxResults: max5})
			return func() (int, bool, error) {
				o, err := p.NextPage(ctx)
				return lenOr(err, func() int { return len(o.SecurityGroups) }), p.HasMorePages(), err
			}
		}, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			items, pages := count(t, tc.next())
			require.Equal(t, tc.wantItems, items)
			require.Equal(t, (tc.wantItems+4)/5, pages)
		})
	}
}

// lenOr returns n() unless the call failed.
func lenOr(err error, n func() int) int {
	if err != nil {
		return 0
	}
	return n()
}
