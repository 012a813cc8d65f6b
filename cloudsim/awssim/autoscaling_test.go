package awssim_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/cloudsim/awssim/awssimtest"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/awsworld"
)

// asFixture adds an autoscaling group "web" of three instances to an EC2
// fixture, launched a minute apart so scale-in order is predictable.
type asFixture struct {
	*ec2Fixture
	as    *autoscaling.Client
	group string
	insts []*world.Instance
}

func newASFixture(t *testing.T) *asFixture {
	t.Helper()
	f := &asFixture{ec2Fixture: newEC2Fixture(t), group: "web"}
	f.as = autoscaling.NewFromConfig(f.env.Admin)
	f.locked(func(w *world.World) {
		_, err := awsworld.Of(w).AddASG(awssimtest.Account, awssimtest.Region, f.group, 0, 5, 3)
		require.NoError(t, err)
	})
	for range 3 {
		f.insts = append(f.insts, f.launch(t, awsworld.LaunchSpec{ASG: f.group}))
		f.env.Clock.Advance(time.Minute)
	}
	return f
}

func asMembers(t *testing.T, f *asFixture) map[string]astypes.AutoScalingInstanceDetails {
	t.Helper()
	out, err := f.as.DescribeAutoScalingInstances(context.Background(), &autoscaling.DescribeAutoScalingInstancesInput{})
	require.NoError(t, err)
	m := map[string]astypes.AutoScalingInstanceDetails{}
	for _, d := range out.AutoScalingInstances {
		m[aws.ToString(d.InstanceId)] = d
	}
	return m
}

func TestDescribeAutoScalingGroups(t *testing.T) {
	f := newASFixture(t)
	ctx := context.Background()
	f.locked(func(w *world.World) {
		for i := range 4 {
			_, err := awsworld.Of(w).AddASG(awssimtest.Account, awssimtest.Region, fmt.Sprintf("batch-%d", i), 0, 2, 0)
			require.NoError(t, err)
		}
	})

	out, err := f.as.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{f.group}})
	require.NoError(t, err)
	require.Len(t, out.AutoScalingGroups, 1)
	g := out.AutoScalingGroups[0]
	require.Equal(t, f.group, aws.ToString(g.AutoScalingGroupName))
	require.Equal(t, int32(3), aws.ToInt32(g.DesiredCapacity))
	require.Len(t, g.Instances, 3)
	require.Equal(t, astypes.LifecycleStateInService, g.Instances[0].LifecycleState)
	require.False(t, aws.ToBool(g.Instances[0].ProtectedFromScaleIn))
	require.Contains(t, aws.ToString(g.AutoScalingGroupARN), ":autoScalingGroupName/web")

	p := autoscaling.NewDescribeAutoScalingGroupsPaginator(f.as, &autoscaling.DescribeAutoScalingGroupsInput{MaxRecords: aws.Int32(2)})
	var names []string
	pages := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		require.NoError(t, err)
		pages++
		for _, g := range page.AutoScalingGroups {
			names = append(names, aws.ToString(g.AutoScalingGroupName))
		}
	}
	require.Equal(t, 3, pages)
	require.Equal(t, []string{"batch-0", "batch-1", "batch-2", "batch-3", "web"}, names)

	_, err = f.as.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{MaxRecords: aws.Int32(500)})
	require.Equal(t, "ValidationError", ec2ErrCode(err))
}

func TestDescribeAutoScalingInstances(t *testing.T) {
	f := newASFixture(t)
	out, err := f.as.DescribeAutoScalingInstances(context.Background(), &autoscaling.DescribeAutoScalingInstancesInput{
		InstanceIds: []string{f.insts[1].ID}})
	require.NoError(t, err)
	require.Len(t, out.AutoScalingInstances, 1)
	d := out.AutoScalingInstances[0]
	require.Equal(t, f.group, aws.ToString(d.AutoScalingGroupName))
	require.Equal(t, "InService", aws.ToString(d.LifecycleState))
	require.Equal(t, "us-east-1a", aws.ToString(d.AvailabilityZone))

	standalone := f.launch(t, awsworld.LaunchSpec{})
	out, err = f.as.DescribeAutoScalingInstances(context.Background(), &autoscaling.DescribeAutoScalingInstancesInput{
		InstanceIds: []string{standalone.ID}})
	require.NoError(t, err)
	require.Empty(t, out.AutoScalingInstances, "an instance outside any group is simply not listed")
}

func TestSetInstanceProtectionStandbyAndDetach(t *testing.T) {
	f := newASFixture(t)
	ctx := context.Background()
	a, b, c := f.insts[0].ID, f.insts[1].ID, f.insts[2].ID
	var tooMany []string
	for i := range 51 {
		tooMany = append(tooMany, fmt.Sprintf("i-%017x", i+1))
	}

	cases := []struct {
		name    string
		call    func() error
		errCode string
	}{
		{"protect", func() error {
			_, err := f.as.SetInstanceProtection(ctx, &autoscaling.SetInstanceProtectionInput{AutoScalingGroupName: aws.String(f.group),
				InstanceIds: []string{a}, ProtectedFromScaleIn: aws.Bool(true)})
			return err
		}, ""},
		{"protect more than 50", func() error {
			_, err := f.as.SetInstanceProtection(ctx, &autoscaling.SetInstanceProtectionInput{AutoScalingGroupName: aws.String(f.group),
				InstanceIds: tooMany, ProtectedFromScaleIn: aws.Bool(true)})
			return err
		}, "ValidationError"},
		{"protect a non-member", func() error {
			_, err := f.as.SetInstanceProtection(ctx, &autoscaling.SetInstanceProtectionInput{AutoScalingGroupName: aws.String(f.group),
				InstanceIds: []string{"i-0000000000000000c"}, ProtectedFromScaleIn: aws.Bool(true)})
			return err
		}, "ValidationError"},
		{"unknown group", func() error {
			_, err := f.as.SetInstanceProtection(ctx, &autoscaling.SetInstanceProtectionInput{AutoScalingGroupName: aws.String("nope"),
				InstanceIds: []string{a}, ProtectedFromScaleIn: aws.Bool(true)})
			return err
		}, "ValidationError"},
		{"standby", func() error {
			out, err := f.as.EnterStandby(ctx, &autoscaling.EnterStandbyInput{AutoScalingGroupName: aws.String(f.group),
				InstanceIds: []string{b}, ShouldDecrementDesiredCapacity: aws.Bool(true)})
			if err == nil && len(out.Activities) != 1 {
				return fmt.Errorf("expected one activity, got %d", len(out.Activities))
			}
			return err
		}, ""},
		{"standby twice", func() error {
			_, err := f.as.EnterStandby(ctx, &autoscaling.EnterStandbyInput{AutoScalingGroupName: aws.String(f.group),
				InstanceIds: []string{b}, ShouldDecrementDesiredCapacity: aws.Bool(true)})
			return err
		}, "ValidationError"},
		{"detach", func() error {
			out, err := f.as.DetachInstances(ctx, &autoscaling.DetachInstancesInput{AutoScalingGroupName: aws.String(f.group),
				InstanceIds: []string{c}, ShouldDecrementDesiredCapacity: aws.Bool(true)})
			if err == nil && len(out.Activities) != 1 {
				return fmt.Errorf("expected one activity, got %d", len(out.Activities))
			}
			return err
		}, ""},
		{"detach a non-member", func() error {
			_, err := f.as.DetachInstances(ctx, &autoscaling.DetachInstancesInput{AutoScalingGroupName: aws.String(f.group),
				InstanceIds: []string{c}, ShouldDecrementDesiredCapacity: aws.Bool(true)})
			return err
		}, "ValidationError"},
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

	m := asMembers(t, f)
	require.True(t, aws.ToBool(m[a].ProtectedFromScaleIn))
	require.Equal(t, "Standby", aws.ToString(m[b].LifecycleState))
	require.NotContains(t, m, c, "a detached instance is standalone")
	g, err := f.as.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{f.group}})
	require.NoError(t, err)
	require.Equal(t, int32(1), aws.ToInt32(g.AutoScalingGroups[0].DesiredCapacity), "two decrements from 3")
}
