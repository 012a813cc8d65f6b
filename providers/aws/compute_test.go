package aws_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/awsworld"
	"github.com/firedrill-ir/firedrill/providers"
)

func TestDescribeInstanceRecordsNICsDisksIdentityAndScalingGroup(t *testing.T) {
	f := newFixture(t)
	inst, err := f.prov.DescribeInstance(context.Background(), f.inst)
	require.NoError(t, err)

	require.Equal(t, f.inst, inst.ID)
	require.Equal(t, "web-1", inst.Name)
	require.Equal(t, "running", inst.State)
	require.Equal(t, "c5.large", inst.Type)
	require.Equal(t, "111122223333", inst.Account)
	require.Equal(t, f.vpc, inst.VPC)
	require.NotEmpty(t, inst.PrivateIP)
	require.NotEmpty(t, inst.PublicIP)
	require.Equal(t, "shop", inst.Tags["app"])

	require.Len(t, inst.NICs, 1)
	require.Equal(t, f.eni, inst.NICs[0].ID)
	require.True(t, inst.NICs[0].Primary)
	require.Equal(t, []string{f.group}, inst.NICs[0].Groups)

	require.Len(t, inst.Disks, 2)
	require.Equal(t, providers.Disk{ID: f.rootVol, Device: "/dev/xvda", SizeGiB: 8, DeleteOnTermination: true}, inst.Disks[0])
	require.Equal(t, providers.Disk{ID: f.dataVol, Device: "/dev/sdf", SizeGiB: 20, DeleteOnTermination: false, Encrypted: true}, inst.Disks[1])

	require.NotNil(t, inst.Identity)
	require.Equal(t, "arn:aws:iam::111122223333:instance-profile/"+appProfile, inst.Identity.ProfileARN)
	require.NotEmpty(t, inst.Identity.AssociationID)
	require.Equal(t, appRole, inst.Identity.RoleName)
	require.Equal(t, "arn:aws:iam::111122223333:role/"+appRole, inst.Identity.RoleARN)

	require.Equal(t, asgName, inst.ScalingGroup)
	require.Equal(t, "InService", inst.ScalingLifecycle)
	require.False(t, inst.ScaleInProtected)
	require.Equal(t, providers.ScalingHealthInstance, inst.ScalingHealthCheck, "EC2 health checks by default")
}

// A group on ELB health checks replaces a member its load balancer stops
// reaching, scale-in protection or not: DescribeInstance says so, so that
// a playbook can take the instance out of service before isolating it.
func TestDescribeInstanceReadsTheGroupsHealthCheckType(t *testing.T) {
	f := newFixture(t)
	f.locked(func(w *world.World) {
		elb := awsworld.HealthCheckELB
		require.NoError(t, awsworld.Of(w).UpdateASG(asgName, awsworld.ASGSettings{HealthCheckType: &elb}))
	})
	inst, err := f.prov.DescribeInstance(context.Background(), f.inst)
	require.NoError(t, err)
	require.Equal(t, providers.ScalingHealthLoadBalancer, inst.ScalingHealthCheck)
	require.Empty(t, inst.Warnings)
}

func TestDescribeInstanceOfUnknownInstanceIsNotFound(t *testing.T) {
	f := newFixture(t)
	_, err := f.prov.DescribeInstance(context.Background(), "i-0123456789abcdef0")
	require.ErrorIs(t, err, providers.ErrNotFound)
	require.Equal(t, "InvalidInstanceID.NotFound", providers.Code(err))
	var ae smithy.APIError
	require.True(t, errors.As(err, &ae), "the SDK error stays reachable: %v", err)
}

func TestSnapshotDisksTagsAndWaitCompletesOnModelledTime(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ev, err := f.prov.SnapshotDisks(ctx, f.inst, map[string]string{"firedrill:case": "case-42"})
	require.NoError(t, err)
	require.Len(t, ev, 2)
	sources := map[string]bool{}
	for _, e := range ev {
		require.Equal(t, providers.EvidenceDiskSnapshot, e.Kind)
		require.Equal(t, "pending", e.State)
		require.Equal(t, "arn:aws:iam::111122223333:user/responder", e.CollectedBy)
		require.Contains(t, e.Location, e.ID)
		sources[e.Source] = true
	}
	require.Equal(t, map[string]bool{f.rootVol: true, f.dataVol: true}, sources)

	// The case tag is on the snapshots in EC2, not just in our record.
	f.locked(func(w *world.World) {
		for _, e := range ev {
			s := w.Snapshots.Lookup(e.ID)
			require.NotNil(t, s, e.ID)
			require.Equal(t, "case-42", s.Tags["firedrill:case"])
			require.Equal(t, f.inst, s.Tags["firedrill:source-instance"])
		}
	})

	ids := []string{ev[0].ID, ev[1].ID}
	_, err = f.prov.WaitForSnapshots(ctx, ids, 10*time.Second)
	require.ErrorIs(t, err, providers.ErrTimeout, "snapshots take minutes of modelled time")

	done, err := f.prov.WaitForSnapshots(ctx, ids, 2*time.Hour)
	require.NoError(t, err)
	require.Len(t, done, 2)
	for _, e := range done {
		require.Equal(t, "completed", e.State)
		require.Equal(t, "case-42", e.Tags["firedrill:case"])
	}
	require.Greater(t, f.sleeper.total(), time.Minute, "the wait advanced the modelled clock")
}

func TestProtectFromTerminationBlocksTerminateAndKeepsVolumes(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	res, err := f.prov.ProtectFromTermination(ctx, f.inst)
	require.NoError(t, err)
	require.Equal(t, map[string]bool{f.rootVol: true, f.dataVol: false}, res.PreviousDeleteOnTermination)

	inst, err := f.prov.DescribeInstance(ctx, f.inst)
	require.NoError(t, err)
	for _, d := range inst.Disks {
		require.False(t, d.DeleteOnTermination, d.ID)
	}
	if !servesAttributes(inst) {
		t.Log("the endpoint does not serve DescribeInstanceAttribute; checking the world instead")
	} else {
		require.True(t, inst.TerminationProtected)
		require.Equal(t, "stop", inst.ShutdownBehavior)
	}
	f.locked(func(w *world.World) {
		i := w.Instances.Lookup(f.inst)
		require.True(t, i.DisableAPITermination)
		require.Equal(t, "stop", i.ShutdownBehavior)
	})

	_, err = ec2.NewFromConfig(f.env.Admin).TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{f.inst}})
	var ae smithy.APIError
	require.True(t, errors.As(err, &ae), "terminate must fail: %v", err)
	require.Equal(t, "OperationNotPermitted", ae.ErrorCode())
}

func TestProtectFromScaling(t *testing.T) {
	cases := []struct {
		name      string
		opts      providers.ScalingOptions
		wantState string
	}{
		{"protect", providers.ScalingOptions{Mode: providers.ScalingProtect}, "InService"},
		{"standby", providers.ScalingOptions{Mode: providers.ScalingStandby}, "Standby"},
		{"detach", providers.ScalingOptions{Mode: providers.ScalingDetach}, "Detached"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			res, err := f.prov.ProtectFromScaling(ctx, f.inst, tc.opts)
			require.NoError(t, err)
			require.Equal(t, asgName, res.Group)
			require.Equal(t, "InService", res.PreviousState)
			require.False(t, res.WasProtected)
			require.Equal(t, tc.wantState, res.LifecycleState)

			f.locked(func(w *world.World) {
				g, m := awsworld.Of(w).ASGMember(f.inst)
				if tc.wantState == "Detached" {
					require.Nil(t, m)
					return
				}
				require.NotNil(t, g)
				require.True(t, m.Protected)
				require.Equal(t, tc.wantState, m.LifecycleState)
				// Scale the group to zero: only the unprotected member goes.
				require.NoError(t, awsworld.Of(w).ScheduleScaleIn(asgName, w.Now().Add(time.Minute), 0))
			})
			f.env.Clock.Advance(2 * time.Minute)
			f.locked(func(w *world.World) {
				require.NotEqual(t, world.StateTerminated, w.Instances.Lookup(f.inst).State, "the suspect survives scale-in")
			})
		})
	}
}

func TestProtectFromScalingOutsideAGroupIsANoOp(t *testing.T) {
	f := newFixture(t)
	f.locked(func(w *world.World) {
		require.NoError(t, awsworld.Of(w).DetachFromASG(asgName, []string{f.inst}, true))
	})
	res, err := f.prov.ProtectFromScaling(context.Background(), f.inst, providers.ScalingOptions{})
	require.NoError(t, err)
	require.Empty(t, res.Group)
}

func TestStopAndTag(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	require.NoError(t, f.prov.Tag(ctx, []string{f.inst, f.rootVol}, map[string]string{"firedrill:case": "case-7", "quarantine": "true"}))
	require.NoError(t, f.prov.StopInstance(ctx, f.inst, providers.StopOptions{}))
	out, err := ec2.NewFromConfig(f.env.Admin).DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{f.inst}})
	require.NoError(t, err)
	got := out.Reservations[0].Instances[0]
	require.Contains(t, []string{"stopping", "stopped"}, string(got.State.Name))
	tags := map[string]string{}
	for _, tg := range got.Tags {
		tags[awssdk.ToString(tg.Key)] = awssdk.ToString(tg.Value)
	}
	require.Equal(t, "case-7", tags["firedrill:case"])
	f.locked(func(w *world.World) { require.Equal(t, "true", w.Volumes.Lookup(f.rootVol).Tags["quarantine"]) })
}

// A responder without IAM read access still gets the instance record; what
// it could not read is listed in Warnings instead of failing the step.
func TestDescribeInstanceWithoutIAMAccessKeepsTheRestAndWarns(t *testing.T) {
	f := newFixture(t)
	var key *awsworld.AccessKey
	f.locked(func(w *world.World) {
		awsworld.Of(w).AddUser("111122223333", "ec2-only", "arn:aws:iam::aws:policy/AmazonEC2FullAccess")
		var err error
		key, err = awsworld.Of(w).AddAccessKey("ec2-only")
		require.NoError(t, err)
	})
	p := f.provider(t, key.ID, key.Secret, "")
	inst, err := p.DescribeInstance(context.Background(), f.inst)
	require.NoError(t, err)
	require.NotNil(t, inst.Identity)
	require.Equal(t, "arn:aws:iam::111122223333:instance-profile/"+appProfile, inst.Identity.ProfileARN)
	require.Empty(t, inst.Identity.RoleName)
	require.Equal(t, asgName, inst.ScalingGroup)
	require.Len(t, inst.Disks, 2)
	found := false
	for _, w := range inst.Warnings {
		if strings.Contains(w, "iam:GetInstanceProfile") && strings.Contains(w, "access denied") {
			found = true
		}
	}
	require.True(t, found, "warnings: %q", inst.Warnings)
}

// servesAttributes reports whether DescribeInstance could read the
// termination and shutdown attributes (DescribeInstanceAttribute).
func servesAttributes(inst *providers.Instance) bool {
	for _, w := range inst.Warnings {
		if strings.Contains(w, "DescribeInstanceAttribute") {
			return false
		}
	}
	return true
}
