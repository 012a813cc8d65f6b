package awssim_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/awsworld"
)

// webFixture is an autoscaling fixture whose instances serve HTTPS (the
// port the modelled load balancer probes), launched an hour ago.
func webFixture(t *testing.T) (*asFixture, string) {
	t.Helper()
	f := newASFixture(t)
	var web string
	f.locked(func(w *world.World) {
		sg, err := awsworld.Of(w).AddSecurityGroup("111122223333", "us-east-1", f.vpc, "web", "web")
		require.NoError(t, err)
		_, err = awsworld.Of(w).AuthorizeRules(sg.ID, false, []awsworld.Rule{{Protocol: "tcp", FromPort: 443, ToPort: 443, CIDRs: []string{"0.0.0.0/0"}}})
		require.NoError(t, err)
		for _, inst := range f.insts {
			require.NoError(t, awsworld.Of(w).SetInstanceGroups(inst.ID, []string{sg.ID}))
			inst.LaunchTime = f.env.Clock.Now().Add(-time.Hour)
		}
		web = sg.ID
	})
	return f, web
}

// TestBehaviourELBHealthCheckReplacesProtectedInstance is the Auto Scaling
// trap, through the SDK: in a group with ELB health checks, a responder
// who protects the compromised instance from scale-in and isolates it sees
// the group terminate it (evidence volumes included) a minute later and
// launch a replacement. Putting it in Standby first keeps it.
func TestBehaviourELBHealthCheckReplacesProtectedInstance(t *testing.T) {
	for _, tc := range []struct {
		name         string
		standby      bool
		wantReplaced bool
	}{
		{"scale-in protection does not stop the replacement", false, true},
		{"Standby takes the instance out of the group's hands", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, _ := webFixture(t)
			ctx := context.Background()
			victim := f.insts[0].ID
			_, err := f.as.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String(f.group),
				HealthCheckType: aws.String("ELB"), HealthCheckGracePeriod: aws.Int32(300)})
			require.NoError(t, err)
			g, err := f.as.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{f.group}})
			require.NoError(t, err)
			require.Equal(t, "ELB", aws.ToString(g.AutoScalingGroups[0].HealthCheckType))
			require.Equal(t, int32(300), aws.ToInt32(g.AutoScalingGroups[0].HealthCheckGracePeriod))

			_, err = f.as.SetInstanceProtection(ctx, &autoscaling.SetInstanceProtectionInput{AutoScalingGroupName: aws.String(f.group),
				InstanceIds: []string{victim}, ProtectedFromScaleIn: aws.Bool(true)})
			require.NoError(t, err)
			if tc.standby {
				_, err = f.as.EnterStandby(ctx, &autoscaling.EnterStandbyInput{AutoScalingGroupName: aws.String(f.group),
					InstanceIds: []string{victim}, ShouldDecrementDesiredCapacity: aws.Bool(true)})
				require.NoError(t, err)
			}
			isolation, err := f.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("isolation"),
				Description: aws.String("no traffic"), VpcId: aws.String(f.vpc)})
			require.NoError(t, err)
			_, err = f.ec2.ModifyInstanceAttribute(ctx, &ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(victim),
				Groups: []string{aws.ToString(isolation.GroupId)}})
			require.NoError(t, err)

			f.env.Clock.Advance(59 * time.Second)
			require.Contains(t, asMembers(t, f), victim, "the load balancer has not reported it yet")
			f.env.Clock.Advance(2 * time.Second)
			members := asMembers(t, f)
			d, err := f.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{victim}})
			require.NoError(t, err)
			state := d.Reservations[0].Instances[0].State.Name
			if !tc.wantReplaced {
				require.Equal(t, "Standby", aws.ToString(members[victim].LifecycleState))
				require.Equal(t, "running", string(state))
				return
			}
			require.Equal(t, "shutting-down", string(state), "terminated although protected")
			require.Equal(t, "Terminating", aws.ToString(members[victim].LifecycleState))
			require.Equal(t, "UNHEALTHY", aws.ToString(members[victim].HealthStatus))
			inService := 0
			for _, m := range members {
				if aws.ToString(m.LifecycleState) == "InService" {
					inService++
				}
			}
			require.Equal(t, 3, inService, "a replacement keeps the desired capacity")
		})
	}
}

// TestCreateUpdateGroupAndSetInstanceHealth covers the calls that set and
// read health checks and termination policies.
func TestCreateUpdateGroupAndSetInstanceHealth(t *testing.T) {
	f, web := webFixture(t)
	ctx := context.Background()
	template := f.launch(t, awsworld.LaunchSpec{Groups: []string{web}})

	_, err := f.as.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String("api"),
		InstanceId: aws.String(template.ID), MinSize: aws.Int32(1), MaxSize: aws.Int32(4), DesiredCapacity: aws.Int32(2),
		HealthCheckType: aws.String("ELB"), TerminationPolicies: []string{"OldestInstance", "Default"},
		VPCZoneIdentifier: aws.String(f.subnet), TargetGroupARNs: []string{"arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/api/0123456789abcdef"}})
	require.NoError(t, err)
	_, err = f.as.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String("api"),
		InstanceId: aws.String(template.ID), MinSize: aws.Int32(1), MaxSize: aws.Int32(4)})
	require.Equal(t, "AlreadyExists", ec2ErrCode(err))
	_, err = f.as.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String("nothing"),
		MinSize: aws.Int32(1), MaxSize: aws.Int32(4)})
	require.Equal(t, "ValidationError", ec2ErrCode(err), "a group needs something to launch")

	describe := func() astypes.AutoScalingGroup {
		out, err := f.as.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"api"}})
		require.NoError(t, err)
		require.Len(t, out.AutoScalingGroups, 1)
		return out.AutoScalingGroups[0]
	}
	g := describe()
	require.Len(t, g.Instances, 2, "the desired capacity is launched")
	require.Equal(t, "ELB", aws.ToString(g.HealthCheckType))
	require.Equal(t, int32(0), aws.ToInt32(g.HealthCheckGracePeriod), "0 s through the API")
	require.Equal(t, []string{"OldestInstance", "Default"}, g.TerminationPolicies)
	require.Len(t, g.TargetGroupARNs, 1)
	require.Equal(t, f.subnet, aws.ToString(g.VPCZoneIdentifier))

	_, err = f.as.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String("api"),
		TerminationPolicies: []string{"NewestInstance"}, HealthCheckType: aws.String("EC2"), HealthCheckGracePeriod: aws.Int32(60),
		NewInstancesProtectedFromScaleIn: aws.Bool(true)})
	require.NoError(t, err)
	_, err = f.as.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String("api"),
		TerminationPolicies: []string{"Cheapest"}})
	require.Equal(t, "ValidationError", ec2ErrCode(err))
	_, err = f.as.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String("api"),
		HealthCheckType: aws.String("LAMBDA")})
	require.Equal(t, "ValidationError", ec2ErrCode(err))
	g = describe()
	require.Equal(t, "EC2", aws.ToString(g.HealthCheckType))
	require.Equal(t, int32(60), aws.ToInt32(g.HealthCheckGracePeriod))
	require.Equal(t, []string{"NewestInstance"}, g.TerminationPolicies)
	require.True(t, aws.ToBool(g.NewInstancesProtectedFromScaleIn))

	// SetInstanceHealth Unhealthy replaces the instance (protection or
	// not) once the grace period is over, or at once when told to ignore it.
	victim := aws.ToString(g.Instances[0].InstanceId)
	_, err = f.as.SetInstanceProtection(ctx, &autoscaling.SetInstanceProtectionInput{AutoScalingGroupName: aws.String("api"),
		InstanceIds: []string{victim}, ProtectedFromScaleIn: aws.Bool(true)})
	require.NoError(t, err)
	_, err = f.as.SetInstanceHealth(ctx, &autoscaling.SetInstanceHealthInput{InstanceId: aws.String(victim),
		HealthStatus: aws.String("Unhealthy"), ShouldRespectGracePeriod: aws.Bool(false)})
	require.NoError(t, err)
	_, err = f.as.SetInstanceHealth(ctx, &autoscaling.SetInstanceHealthInput{InstanceId: aws.String("i-0000000000000000f"),
		HealthStatus: aws.String("Unhealthy")})
	require.Equal(t, "ValidationError", ec2ErrCode(err))
	f.env.Clock.Advance(time.Second)
	g = describe()
	states := map[string]string{}
	for _, m := range g.Instances {
		states[aws.ToString(m.InstanceId)] = string(m.LifecycleState)
	}
	require.Equal(t, "Terminating", states[victim])
	require.Len(t, states, 3, "the victim, its sibling and the replacement")
}
