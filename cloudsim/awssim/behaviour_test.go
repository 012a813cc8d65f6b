package awssim_test

// Behaviour tests: each one pins down a way the simulated AWS must differ
// from a naive model, because a naive responder relying on the naive model
// would pass drills it should fail (see shared/notes/ir-semantics.md §1–3).

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/cloudsim/awssim"
	"github.com/firedrill-ir/firedrill/cloudsim/awssim/awssimtest"
	"github.com/firedrill-ir/firedrill/cloudsim/fault"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/awsworld"
)

// 1. Connection tracking: a tracked flow survives a security-group swap and
// a revoked rule; only the two-step (all-open, then no-rule) swap per
// interface cuts it.
func TestBehaviourTrackedFlowSurvivesNaiveIsolation(t *testing.T) {
	f := newEC2Fixture(t)
	ctx := context.Background()
	miner := f.launch(t, awsworld.LaunchSpec{Tags: world.Tags{"Name": "miner"}})

	mkGroup := func(name string) string {
		out, err := f.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(name),
			Description: aws.String(name), VpcId: aws.String(f.vpc)})
		require.NoError(t, err)
		return aws.ToString(out.GroupId)
	}
	allOut := []ec2types.IpPermission{{IpProtocol: aws.String("-1"), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}
	noRule := mkGroup("isolation-no-rule")
	_, err := f.ec2.RevokeSecurityGroupEgress(ctx, &ec2.RevokeSecurityGroupEgressInput{GroupId: aws.String(noRule), IpPermissions: allOut})
	require.NoError(t, err)
	allOpen := mkGroup("isolation-all-open")
	_, err = f.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(allOpen), IpPermissions: allOut})
	require.NoError(t, err)

	var pool *world.Flow
	f.locked(func(w *world.World) {
		pool, err = awsworld.Of(w).OpenFlow(miner.ID, world.FlowSpec{RemoteIP: "198.51.100.23", RemotePort: 3333, Domain: "pool.minexmr.example", Actor: "attacker"})
		require.NoError(t, err)
		require.True(t, pool.Tracked, "the app group only allows SSH in: the pool connection is tracked")
	})
	flowUp := func() bool {
		up := false
		f.locked(func(w *world.World) {
			for _, fl := range w.ActiveFlowsLocked(miner.ID) {
				up = up || fl == pool
			}
		})
		return up
	}

	// Naive step 1: revoke the egress rule that let the connection out.
	_, err = f.ec2.RevokeSecurityGroupEgress(ctx, &ec2.RevokeSecurityGroupEgressInput{GroupId: aws.String(f.appSG), IpPermissions: allOut})
	require.NoError(t, err)
	require.True(t, flowUp(), "revoking a rule does not break a tracked connection")

	// Naive step 2: move the instance straight to the no-rule group.
	_, err = f.ec2.ModifyInstanceAttribute(ctx, &ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(miner.ID), Groups: []string{noRule}})
	require.NoError(t, err)
	require.True(t, flowUp(), "a direct swap to a no-rule group leaves the pool connection up")

	// New connections are refused under the no-rule group, though.
	f.locked(func(w *world.World) {
		_, err := awsworld.Of(w).OpenFlow(miner.ID, world.FlowSpec{RemoteIP: "198.51.100.23", RemotePort: 3333})
		ce, ok := world.ComputeErrorOf(err)
		require.True(t, ok, "%v", err)
		require.Equal(t, world.KindBlocked, ce.Kind)
	})

	// The two-step isolation, per interface.
	for _, step := range []string{allOpen, noRule} {
		d, err := f.ec2.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{Filters: []ec2types.Filter{ec2Filter("attachment.instance-id", miner.ID)}})
		require.NoError(t, err)
		require.NotEmpty(t, d.NetworkInterfaces)
		for _, eni := range d.NetworkInterfaces {
			_, err := f.ec2.ModifyNetworkInterfaceAttribute(ctx, &ec2.ModifyNetworkInterfaceAttributeInput{
				NetworkInterfaceId: eni.NetworkInterfaceId, Groups: []string{step}})
			require.NoError(t, err)
		}
		if step == allOpen {
			require.True(t, flowUp(), "the all-open group keeps the flow, now untracked")
			f.locked(func(w *world.World) { require.False(t, pool.Tracked) })
		}
	}
	require.False(t, flowUp(), "all-open then no-rule cuts the connection")
	f.locked(func(w *world.World) {
		require.Equal(t, f.env.Clock.Now(), pool.Ended)
		require.Contains(t, pool.EndReason, noRule)
	})
}

// 2. Credentials already taken from the instance outlive the profile's
// removal; only a TokenIssueTime deny on the role revokes them, and it
// spares sessions issued afterwards.
func TestBehaviourStolenSessionOutlivesProfileRemoval(t *testing.T) {
	f := newEC2Fixture(t)
	ctx := context.Background()
	inst := f.launch(t, awsworld.LaunchSpec{Profile: f.profile.ARN})

	var stolen *awsworld.Session
	f.locked(func(w *world.World) {
		var err error
		stolen, err = awsworld.Of(w).InstanceCredentials(inst.ID)
		require.NoError(t, err)
		require.Equal(t, inst.ID, stolen.SessionName)
		require.Equal(t, "instance:"+inst.ID, stolen.Source)
	})
	attackerCfg := f.env.Config(stolen.AccessKeyID, stolen.Secret, stolen.Token)
	attackerEC2, attackerSTS := ec2.NewFromConfig(attackerCfg), sts.NewFromConfig(attackerCfg)

	// The responder removes the instance's identity.
	assoc, err := f.ec2.DescribeIamInstanceProfileAssociations(ctx, &ec2.DescribeIamInstanceProfileAssociationsInput{
		Filters: []ec2types.Filter{ec2Filter("instance-id", inst.ID)}})
	require.NoError(t, err)
	require.Len(t, assoc.IamInstanceProfileAssociations, 1)
	_, err = f.ec2.DisassociateIamInstanceProfile(ctx, &ec2.DisassociateIamInstanceProfileInput{
		AssociationId: assoc.IamInstanceProfileAssociations[0].AssociationId})
	require.NoError(t, err)
	f.env.Clock.Advance(time.Minute)

	_, err = attackerEC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	require.NoError(t, err, "stolen credentials keep working after the profile is removed")
	who, err := attackerSTS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	require.NoError(t, err)
	require.Equal(t, fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", awssimtest.Account, f.role, inst.ID), aws.ToString(who.Arn))
	f.locked(func(w *world.World) {
		_, err := awsworld.Of(w).InstanceCredentials(inst.ID)
		require.Error(t, err, "but the instance can no longer mint new ones")
	})

	// Revoke older sessions, as the IAM console's button does.
	revokeAt := f.env.Clock.Now()
	f.locked(func(w *world.World) {
		awsworld.Of(w).Roles.Lookup(f.role).Policies["AWSRevokeOlderSessions"] = `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":["*"],` +
			`"Resource":["*"],"Condition":{"DateLessThan":{"aws:TokenIssueTime":"` + world.IAMTime(revokeAt) + `"}}}]}`
	})
	_, err = attackerEC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	require.Equal(t, "UnauthorizedOperation", ec2ErrCode(err), "%v", err)

	// A session issued after the revocation time is unaffected.
	f.env.Clock.Advance(time.Minute)
	_, err = f.ec2.AssociateIamInstanceProfile(ctx, &ec2.AssociateIamInstanceProfileInput{InstanceId: aws.String(inst.ID),
		IamInstanceProfile: &ec2types.IamInstanceProfileSpecification{Arn: aws.String(f.profile.ARN)}})
	require.NoError(t, err)
	var fresh *awsworld.Session
	f.locked(func(w *world.World) {
		fresh, err = awsworld.Of(w).InstanceCredentials(inst.ID)
		require.NoError(t, err)
	})
	require.NotEqual(t, stolen.AccessKeyID, fresh.AccessKeyID)
	_, err = ec2.NewFromConfig(f.env.Config(fresh.AccessKeyID, fresh.Secret, fresh.Token)).DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	require.NoError(t, err)
	_, err = attackerEC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	require.Equal(t, "UnauthorizedOperation", ec2ErrCode(err))
}

// 3. Scale-in terminates unprotected InService instances at its scheduled
// time and takes their DeleteOnTermination volumes with them.
func TestBehaviourScaleInDestroysUnprotectedEvidence(t *testing.T) {
	f := newASFixture(t)
	ctx := context.Background()
	victim, protected, preserved := f.insts[0], f.insts[1], f.insts[2]
	volumesOf := func(i *world.Instance) []string {
		var ids []string
		for _, bd := range i.BlockDevices {
			ids = append(ids, bd.VolumeID)
		}
		return ids
	}
	victimVols, protectedVols, preservedVols := volumesOf(victim), volumesOf(protected), volumesOf(preserved)

	_, err := f.as.SetInstanceProtection(ctx, &autoscaling.SetInstanceProtectionInput{AutoScalingGroupName: aws.String(f.group),
		InstanceIds: []string{protected.ID}, ProtectedFromScaleIn: aws.Bool(true)})
	require.NoError(t, err)
	_, err = f.ec2.ModifyInstanceAttribute(ctx, &ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(preserved.ID),
		BlockDeviceMappings: []ec2types.InstanceBlockDeviceMappingSpecification{{DeviceName: aws.String("/dev/xvda"),
			Ebs: &ec2types.EbsInstanceBlockDeviceSpecification{DeleteOnTermination: aws.Bool(false)}}}})
	require.NoError(t, err)

	scaleAt := f.env.Clock.Now().Add(15 * time.Minute)
	f.locked(func(w *world.World) { require.NoError(t, awsworld.Of(w).ScheduleScaleIn(f.group, scaleAt, 1)) })

	// Before the scheduled time nothing happens.
	f.env.Clock.Advance(10 * time.Minute)
	v, err := f.ec2.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{VolumeIds: victimVols})
	require.NoError(t, err)
	require.Len(t, v.Volumes, 1)

	f.env.Clock.Advance(10 * time.Minute)
	_, err = f.ec2.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{VolumeIds: victimVols})
	require.Equal(t, "InvalidVolume.NotFound", ec2ErrCode(err), "the victim's root volume went with it")

	v, err = f.ec2.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{VolumeIds: protectedVols})
	require.NoError(t, err)
	require.Equal(t, ec2types.VolumeStateInUse, v.Volumes[0].State)

	v, err = f.ec2.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{VolumeIds: preservedVols})
	require.NoError(t, err)
	require.Equal(t, ec2types.VolumeStateAvailable, v.Volumes[0].State, "DeleteOnTermination=false keeps the volume")

	d, err := f.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{victim.ID, protected.ID, preserved.ID}})
	require.NoError(t, err)
	states := map[string]ec2types.InstanceStateName{}
	for _, r := range d.Reservations {
		for _, i := range r.Instances {
			states[aws.ToString(i.InstanceId)] = i.State.Name
		}
	}
	require.Equal(t, map[string]ec2types.InstanceStateName{victim.ID: "terminated", protected.ID: "running", preserved.ID: "terminated"}, states)

	g, err := f.as.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{f.group}})
	require.NoError(t, err)
	require.Len(t, g.AutoScalingGroups[0].Instances, 1)
	require.Equal(t, protected.ID, aws.ToString(g.AutoScalingGroups[0].Instances[0].InstanceId))

	// The terminations are in the audit log as Auto Scaling's doing.
	f.locked(func(w *world.World) {
		var terminated []string
		for _, ev := range w.Audit {
			if ev.Operation == "TerminateInstances" && ev.IdentityType == "AWSService" {
				terminated = append(terminated, ev.Params["instanceId"])
				require.Equal(t, scaleAt, ev.Time)
			}
		}
		require.ElementsMatch(t, []string{victim.ID, preserved.ID}, terminated)
	})

	// Evidence not captured in time cannot be captured now.
	_, err = f.ec2.CreateSnapshot(ctx, &ec2.CreateSnapshotInput{VolumeId: aws.String(victimVols[0])})
	require.Equal(t, "InvalidVolume.NotFound", ec2ErrCode(err))
}

// 4. Snapshots take modelled time.
func TestBehaviourSnapshotCompletesOnlyAfterModelledTime(t *testing.T) {
	f := newEC2Fixture(t)
	ctx := context.Background()
	inst := f.launch(t, awsworld.LaunchSpec{RootSizeGiB: 30})
	s, err := f.ec2.CreateSnapshot(ctx, &ec2.CreateSnapshotInput{VolumeId: aws.String(inst.BlockDevices[0].VolumeID)})
	require.NoError(t, err)
	require.Equal(t, ec2types.SnapshotStatePending, s.State)
	require.Equal(t, "0%", aws.ToString(s.Progress))

	describe := func() ec2types.Snapshot {
		out, err := f.ec2.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: []string{aws.ToString(s.SnapshotId)}})
		require.NoError(t, err)
		require.Len(t, out.Snapshots, 1)
		return out.Snapshots[0]
	}
	// ~2 min + 10 s/GiB = ~7 min for 30 GiB (±20%).
	f.env.Clock.Advance(2 * time.Minute)
	mid := describe()
	require.Equal(t, ec2types.SnapshotStatePending, mid.State)
	require.NotEqual(t, "0%", aws.ToString(mid.Progress))
	require.NotEqual(t, "100%", aws.ToString(mid.Progress))

	f.env.Clock.Advance(7 * time.Minute)
	done := describe()
	require.Equal(t, ec2types.SnapshotStateCompleted, done.State)
	require.Equal(t, "100%", aws.ToString(done.Progress))
}

// callRecorder records, per SDK attempt, the operation and the modelled
// latency header the simulator answered with.
type callRecorder struct {
	mu    sync.Mutex
	calls []recordedCall
}

type recordedCall struct {
	op      string
	latency string
	status  int
}

func (r *callRecorder) add(st *middleware.Stack) error {
	return st.Deserialize.Add(middleware.DeserializeMiddlewareFunc("firedrill-recorder",
		func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
			out, md, err := next.HandleDeserialize(ctx, in)
			if resp, ok := out.RawResponse.(*smithyhttp.Response); ok {
				r.mu.Lock()
				r.calls = append(r.calls, recordedCall{op: awsmiddleware.GetOperationName(ctx),
					latency: resp.Header.Get(awssim.LatencyHeader), status: resp.StatusCode})
				r.mu.Unlock()
			}
			return out, md, err
		}), middleware.After)
}

func (r *callRecorder) attempts(op string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.calls {
		if c.op == op {
			n++
		}
	}
	return n
}

// 5. Every call reports a modelled latency, and operations differ.
func TestBehaviourEveryCallCarriesModelledLatency(t *testing.T) {
	f := newEC2Fixture(t)
	ctx := context.Background()
	rec := &callRecorder{}
	cfg := f.env.Admin.Copy()
	cfg.APIOptions = append(cfg.APIOptions, rec.add)
	client := ec2.NewFromConfig(cfg)

	for range 3 {
		_, err := client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
		require.NoError(t, err)
		_, err = client.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String("ami-1"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
		require.NoError(t, err)
	}
	_, err := client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{"i-0000000000000000d"}})
	require.Error(t, err)
	_, err = autoscaling.NewFromConfig(cfg).DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{})
	require.NoError(t, err)

	maxDescribe, minRun := time.Duration(0), time.Hour
	for _, c := range rec.calls {
		d, err := time.ParseDuration(c.latency)
		require.NoError(t, err, "call %s: latency header %q", c.op, c.latency)
		require.Positive(t, d, "call %s (status %d)", c.op, c.status)
		switch c.op {
		case "DescribeInstances":
			maxDescribe = max(maxDescribe, d)
		case "RunInstances":
			minRun = min(minRun, d)
		}
	}
	require.Len(t, rec.calls, 8)
	require.Less(t, maxDescribe, minRun, "launching an instance is modelled slower than listing them")
}

// 6. Injected faults reach the SDK in EC2's and Auto Scaling's envelopes.
func TestBehaviourFaults(t *testing.T) {
	f := newEC2Fixture(t)
	ctx := context.Background()
	rec := &callRecorder{}
	cfg := f.env.Admin.Copy()
	cfg.APIOptions = append(cfg.APIOptions, rec.add)
	client := ec2.NewFromConfig(cfg)
	faults := f.env.Server.Faults

	t.Run("throttled twice, then served", func(t *testing.T) {
		require.NoError(t, faults.Add(fault.Rule{Cloud: "aws", Service: "ec2", Operation: "DescribeInstances", Kind: fault.Throttle, Times: 2}))
		t.Cleanup(faults.Clear)
		_, err := client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
		require.NoError(t, err)
		require.Equal(t, 3, rec.attempts("DescribeInstances"))
		f.locked(func(w *world.World) {
			throttled := 0
			for _, ev := range w.Audit {
				if ev.Operation == "DescribeInstances" && ev.ErrorCode == "Client.RequestLimitExceeded" {
					throttled++
				}
			}
			require.Equal(t, 2, throttled, "throttled attempts are audited with their error code")
		})
	})
	t.Run("throttled for good", func(t *testing.T) {
		require.NoError(t, faults.Add(fault.Rule{Service: "ec2", Operation: "DescribeInstances", Kind: fault.Throttle}))
		t.Cleanup(faults.Clear)
		_, err := client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
		require.Equal(t, "RequestLimitExceeded", ec2ErrCode(err), "%v", err)
	})
	t.Run("autoscaling throttling", func(t *testing.T) {
		require.NoError(t, faults.Add(fault.Rule{Service: "autoscaling", Kind: fault.Throttle}))
		t.Cleanup(faults.Clear)
		_, err := autoscaling.NewFromConfig(cfg).DescribeAutoScalingInstances(ctx, &autoscaling.DescribeAutoScalingInstancesInput{})
		require.Equal(t, "Throttling", ec2ErrCode(err), "%v", err)
		require.Equal(t, 4, rec.attempts("DescribeAutoScalingInstances"), "the SDK retries throttles up to MaxAttempts")
	})
	t.Run("eventual consistency", func(t *testing.T) {
		require.NoError(t, faults.Add(fault.Rule{Service: "ec2", Operation: "Describe*", Kind: fault.Stale, Window: 5 * time.Second}))
		t.Cleanup(faults.Clear)
		out, err := client.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("fresh"),
			Description: aws.String("just made"), VpcId: aws.String(f.vpc)})
		require.NoError(t, err)
		id := aws.ToString(out.GroupId)

		_, err = client.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{id}})
		require.Equal(t, "InvalidGroup.NotFound", ec2ErrCode(err))
		list, err := client.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{ec2Filter("vpc-id", f.vpc)}})
		require.NoError(t, err)
		for _, g := range list.SecurityGroups {
			require.NotEqual(t, id, aws.ToString(g.GroupId), "not listed inside the window")
		}

		f.env.Clock.Advance(6 * time.Second)
		got, err := client.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{id}})
		require.NoError(t, err)
		require.Len(t, got.SecurityGroups, 1)
	})
}
