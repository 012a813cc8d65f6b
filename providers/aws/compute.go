package aws

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	asgtypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/firedrill-ir/firedrill/providers"
)

// describeRaw returns the EC2 view of one instance and its owner account.
func (p *Provider) describeRaw(ctx context.Context, op, id string) (*ec2types.Instance, string, error) {
	out, err := p.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		return nil, "", wrapErr(op+" (ec2:DescribeInstances)", id, err)
	}
	for _, r := range out.Reservations {
		for i := range r.Instances {
			if awssdk.ToString(r.Instances[i].InstanceId) == id {
				return &r.Instances[i], awssdk.ToString(r.OwnerId), nil
			}
		}
	}
	return nil, "", opErr(op+" (ec2:DescribeInstances)", id, providers.ErrNotFound, "InvalidInstanceID.NotFound",
		"the instance is not in the DescribeInstances answer")
}

// DescribeInstance reads the instance and enriches it with volumes, the
// instance-profile association and role, scaling-group membership and
// protection attributes. Enrichment failures (say, a responder without
// iam:GetInstanceProfile) are recorded in Warnings rather than losing the
// whole record: metadata is the first evidence a playbook takes.
func (c *Provider) DescribeInstance(ctx context.Context, id string) (*providers.Instance, error) {
	p := c
	raw, owner, err := p.describeRaw(ctx, "DescribeInstance", id)
	if err != nil {
		return nil, err
	}
	inst := &providers.Instance{
		ID:         id,
		State:      stateName(raw.State),
		Gone:       stateName(raw.State) == "terminated" || stateName(raw.State) == "shutting-down",
		Type:       string(raw.InstanceType),
		Account:    owner,
		Region:     p.cfg.Region,
		VPC:        awssdk.ToString(raw.VpcId),
		Subnet:     awssdk.ToString(raw.SubnetId),
		PrivateIP:  awssdk.ToString(raw.PrivateIpAddress),
		PublicIP:   awssdk.ToString(raw.PublicIpAddress),
		LaunchTime: awssdk.ToTime(raw.LaunchTime),
		Tags:       ec2Tags(raw.Tags),
	}
	inst.Name = inst.Tags["Name"]
	if raw.Placement != nil {
		inst.Zone = awssdk.ToString(raw.Placement.AvailabilityZone)
	}
	nics := slices.Clone(raw.NetworkInterfaces)
	sort.SliceStable(nics, func(i, j int) bool { return deviceIndex(nics[i]) < deviceIndex(nics[j]) })
	for _, n := range nics {
		nic := providers.NIC{ID: awssdk.ToString(n.NetworkInterfaceId), PrivateIP: awssdk.ToString(n.PrivateIpAddress),
			Primary: deviceIndex(n) == 0}
		if n.Association != nil {
			nic.PublicIP = awssdk.ToString(n.Association.PublicIp)
		}
		for _, g := range n.Groups {
			nic.Groups = append(nic.Groups, awssdk.ToString(g.GroupId))
		}
		inst.NICs = append(inst.NICs, nic)
	}
	warn := func(what string, err error) {
		if err == nil {
			return
		}
		inst.Warnings = append(inst.Warnings, fmt.Sprintf("%s: %v", what, err))
		p.log.Warn("instance metadata incomplete", "instance", id, "what", what, "error", err)
	}

	vols := map[string]ec2types.Volume{}
	if len(raw.BlockDeviceMappings) > 0 {
		out, err := p.ec2.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{
			Filters: []ec2types.Filter{{Name: awssdk.String("attachment.instance-id"), Values: []string{id}}}})
		if err != nil {
			warn("volumes", wrapErr("ec2:DescribeVolumes", id, err))
		} else {
			for _, v := range out.Volumes {
				vols[awssdk.ToString(v.VolumeId)] = v
			}
		}
	}
	for _, bd := range raw.BlockDeviceMappings {
		if bd.Ebs == nil {
			continue
		}
		d := providers.Disk{ID: awssdk.ToString(bd.Ebs.VolumeId), Device: awssdk.ToString(bd.DeviceName),
			DeleteOnTermination: awssdk.ToBool(bd.Ebs.DeleteOnTermination)}
		if v, ok := vols[d.ID]; ok {
			d.SizeGiB = int(awssdk.ToInt32(v.Size))
			d.Encrypted = awssdk.ToBool(v.Encrypted)
		}
		inst.Disks = append(inst.Disks, d)
	}

	if raw.IamInstanceProfile != nil {
		ident := &providers.InstanceIdentity{ProfileARN: awssdk.ToString(raw.IamInstanceProfile.Arn)}
		assoc, err := p.currentAssociation(ctx, id)
		warn("instance profile association", err)
		if assoc != nil {
			ident.AssociationID = awssdk.ToString(assoc.AssociationId)
		}
		roles, roleARNs, err := p.profileRoles(ctx, ident.ProfileARN)
		warn("instance profile roles", err)
		if len(roles) > 0 {
			ident.RoleName, ident.RoleARN = roles[0], roleARNs[0]
		}
		inst.Identity = ident
	}

	asgOut, err := p.asg.DescribeAutoScalingInstances(ctx, &autoscaling.DescribeAutoScalingInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		warn("scaling group", wrapErr("autoscaling:DescribeAutoScalingInstances", id, err))
	} else if m := findASGMember(asgOut.AutoScalingInstances, id); m != nil {
		inst.ScalingGroup = awssdk.ToString(m.AutoScalingGroupName)
		inst.ScalingLifecycle = awssdk.ToString(m.LifecycleState)
		inst.ScaleInProtected = awssdk.ToBool(m.ProtectedFromScaleIn)
		hc, err := p.scalingHealthCheck(ctx, inst.ScalingGroup)
		warn("scaling group health check", err)
		inst.ScalingHealthCheck = hc
	}

	attr, err := p.ec2.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{
		InstanceId: awssdk.String(id), Attribute: ec2types.InstanceAttributeNameDisableApiTermination})
	if err != nil {
		warn("termination protection", wrapErr("ec2:DescribeInstanceAttribute", id, err))
	} else if attr.DisableApiTermination != nil {
		inst.TerminationProtected = awssdk.ToBool(attr.DisableApiTermination.Value)
	}
	attr, err = p.ec2.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{
		InstanceId: awssdk.String(id), Attribute: ec2types.InstanceAttributeNameInstanceInitiatedShutdownBehavior})
	if err != nil {
		warn("shutdown behavior", wrapErr("ec2:DescribeInstanceAttribute", id, err))
	} else if attr.InstanceInitiatedShutdownBehavior != nil {
		inst.ShutdownBehavior = awssdk.ToString(attr.InstanceInitiatedShutdownBehavior.Value)
	}
	return inst, nil
}

// scalingHealthCheck reads what makes the group replace a member: its
// HealthCheckType. EC2 (the default) replaces an instance whose status is
// not running; ELB and VPC_LATTICE also replace one that stops answering
// the load balancer's health check, scale-in protection or not ("Use
// instance scale-in protection": it does not protect instances from
// health check replacement).
func (p *Provider) scalingHealthCheck(ctx context.Context, group string) (string, error) {
	out, err := p.asg.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{group}})
	if err != nil {
		return "", wrapErr("autoscaling:DescribeAutoScalingGroups", group, err)
	}
	for _, g := range out.AutoScalingGroups {
		if awssdk.ToString(g.AutoScalingGroupName) != group {
			continue
		}
		switch awssdk.ToString(g.HealthCheckType) {
		case "ELB", "VPC_LATTICE":
			return providers.ScalingHealthLoadBalancer, nil
		}
		return providers.ScalingHealthInstance, nil
	}
	return "", nil
}

func stateName(s *ec2types.InstanceState) string {
	if s == nil {
		return ""
	}
	return string(s.Name)
}

func deviceIndex(n ec2types.InstanceNetworkInterface) int32 {
	if n.Attachment == nil {
		return 1 << 20
	}
	return awssdk.ToInt32(n.Attachment.DeviceIndex)
}

func ec2Tags(tags []ec2types.Tag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[awssdk.ToString(t.Key)] = awssdk.ToString(t.Value)
	}
	return m
}

// toEC2Tags renders tags in key order, so requests are deterministic.
func toEC2Tags(tags map[string]string) []ec2types.Tag {
	out := make([]ec2types.Tag, 0, len(tags))
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		out = append(out, ec2types.Tag{Key: awssdk.String(k), Value: awssdk.String(tags[k])})
	}
	return out
}

func findASGMember(list []asgtypes.AutoScalingInstanceDetails, id string) *asgtypes.AutoScalingInstanceDetails {
	for i := range list {
		if awssdk.ToString(list[i].InstanceId) == id {
			return &list[i]
		}
	}
	return nil
}

// currentAssociation returns the instance's live profile association, or nil.
func (p *Provider) currentAssociation(ctx context.Context, id string) (*ec2types.IamInstanceProfileAssociation, error) {
	out, err := p.ec2.DescribeIamInstanceProfileAssociations(ctx, &ec2.DescribeIamInstanceProfileAssociationsInput{
		Filters: []ec2types.Filter{
			{Name: awssdk.String("instance-id"), Values: []string{id}},
			{Name: awssdk.String("state"), Values: []string{"associating", "associated"}},
		}})
	if err != nil {
		return nil, wrapErr("ec2:DescribeIamInstanceProfileAssociations", id, err)
	}
	for i := range out.IamInstanceProfileAssociations {
		a := &out.IamInstanceProfileAssociations[i]
		if awssdk.ToString(a.InstanceId) == id &&
			(a.State == ec2types.IamInstanceProfileAssociationStateAssociated || a.State == ec2types.IamInstanceProfileAssociationStateAssociating) {
			return a, nil
		}
	}
	return nil, nil
}

// profileRoles names the roles inside an instance profile (by ARN).
func (p *Provider) profileRoles(ctx context.Context, profileARN string) (names, arns []string, err error) {
	name := profileARN[strings.LastIndex(profileARN, "/")+1:]
	if name == "" {
		return nil, nil, nil
	}
	out, err := p.iam.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: awssdk.String(name)})
	if err != nil {
		return nil, nil, wrapErr("iam:GetInstanceProfile", name, err)
	}
	if out.InstanceProfile == nil {
		return nil, nil, nil
	}
	for _, r := range out.InstanceProfile.Roles {
		names = append(names, awssdk.ToString(r.RoleName))
		arns = append(arns, awssdk.ToString(r.Arn))
	}
	return names, arns, nil
}

// SnapshotDisks takes crash-consistent snapshots of every EBS volume with
// one CreateSnapshots call; per-volume CreateSnapshot calls would capture the
// disks at different instants.
func (c *Provider) SnapshotDisks(ctx context.Context, instanceID string, tags map[string]string) ([]providers.Evidence, error) {
	p := c
	all := maps.Clone(tags)
	if all == nil {
		all = map[string]string{}
	}
	all["firedrill:source-instance"] = instanceID
	out, err := p.ec2.CreateSnapshots(ctx, &ec2.CreateSnapshotsInput{
		InstanceSpecification: &ec2types.InstanceSpecification{InstanceId: awssdk.String(instanceID), ExcludeBootVolume: awssdk.Bool(false)},
		Description:           awssdk.String("firedrill evidence of " + instanceID),
		CopyTagsFromSource:    ec2types.CopyTagsFromSourceVolume,
		TagSpecifications:     []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSnapshot, Tags: toEC2Tags(all)}},
	})
	if err != nil {
		return nil, wrapErr("ec2:CreateSnapshots", instanceID, err)
	}
	by := p.collector(ctx)
	now := p.sleeper.Now()
	ev := make([]providers.Evidence, 0, len(out.Snapshots))
	for _, s := range out.Snapshots {
		e := providers.Evidence{
			Kind: providers.EvidenceDiskSnapshot, ID: awssdk.ToString(s.SnapshotId), Source: awssdk.ToString(s.VolumeId),
			Location: p.snapshotARN(awssdk.ToString(s.SnapshotId)), Size: int64(awssdk.ToInt32(s.VolumeSize)) << 30,
			CollectedBy: by, CollectedAt: now, State: string(s.State), Tags: ec2Tags(s.Tags),
		}
		if len(e.Tags) == 0 {
			e.Tags = maps.Clone(all)
		}
		ev = append(ev, e)
	}
	sort.Slice(ev, func(i, j int) bool { return ev[i].ID < ev[j].ID })
	p.log.Info("snapshots started", "instance", instanceID, "count", len(ev))
	return ev, nil
}

func (p *Provider) snapshotARN(id string) string {
	return fmt.Sprintf("arn:aws:ec2:%s::snapshot/%s", p.cfg.Region, id)
}

// WaitForSnapshots polls DescribeSnapshots on the Sleeper until every
// snapshot is completed. A snapshot briefly unknown right after creation
// (EC2 is eventually consistent) counts as pending; an "error" state fails.
func (c *Provider) WaitForSnapshots(ctx context.Context, ids []string, timeout time.Duration) ([]providers.Evidence, error) {
	p := c
	if len(ids) == 0 {
		return nil, nil
	}
	ids = slices.Sorted(slices.Values(ids))
	deadline := p.deadline(timeout)
	by := p.collector(ctx)
	for {
		out, err := p.ec2.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: ids})
		var found []ec2types.Snapshot
		switch {
		case err == nil:
			found = out.Snapshots
		case isKind(err, providers.ErrNotFound):
			// Not visible yet; poll again.
		default:
			return nil, wrapErr("ec2:DescribeSnapshots", strings.Join(ids, ","), err)
		}
		byID := map[string]ec2types.Snapshot{}
		for _, s := range found {
			byID[awssdk.ToString(s.SnapshotId)] = s
		}
		done := true
		var ev []providers.Evidence
		for _, id := range ids {
			s, ok := byID[id]
			if !ok {
				done = false
				continue
			}
			if s.State == ec2types.SnapshotStateError {
				return nil, opErr("ec2:DescribeSnapshots", id, providers.ErrFailed, "error",
					"snapshot failed: "+awssdk.ToString(s.StateMessage))
			}
			if s.State != ec2types.SnapshotStateCompleted {
				done = false
			}
			ev = append(ev, providers.Evidence{
				Kind: providers.EvidenceDiskSnapshot, ID: id, Source: awssdk.ToString(s.VolumeId), Location: p.snapshotARN(id),
				Size: int64(awssdk.ToInt32(s.VolumeSize)) << 30, CollectedBy: by, CollectedAt: awssdk.ToTime(s.StartTime),
				State: string(s.State), Tags: ec2Tags(s.Tags),
			})
		}
		if done {
			return ev, nil
		}
		if !p.sleeper.Now().Before(deadline) {
			return ev, opErr("ec2:DescribeSnapshots", strings.Join(ids, ","), providers.ErrTimeout, "",
				fmt.Sprintf("snapshots not completed within %v", timeout))
		}
		if err := p.sleepPoll(ctx, deadline); err != nil {
			return ev, fmt.Errorf("waiting for snapshots %s: %w", strings.Join(ids, ","), err)
		}
	}
}

// ProtectFromTermination turns on API termination protection, makes a
// shutdown from inside the guest stop the instance instead of terminating
// it, and clears DeleteOnTermination on every EBS volume, so the disks
// survive even if the instance is terminated anyway (for example by its
// scaling group). EC2 takes one attribute per ModifyInstanceAttribute call.
func (c *Provider) ProtectFromTermination(ctx context.Context, instanceID string) (*providers.TerminationProtection, error) {
	p := c
	raw, _, err := p.describeRaw(ctx, "ProtectFromTermination", instanceID)
	if err != nil {
		return nil, err
	}
	res := &providers.TerminationProtection{Instance: instanceID, PreviousDeleteOnTermination: map[string]bool{}}
	if _, err := p.ec2.ModifyInstanceAttribute(ctx, &ec2.ModifyInstanceAttributeInput{
		InstanceId: awssdk.String(instanceID), DisableApiTermination: &ec2types.AttributeBooleanValue{Value: awssdk.Bool(true)}}); err != nil {
		return res, wrapErr("ec2:ModifyInstanceAttribute(DisableApiTermination)", instanceID, err)
	}
	if _, err := p.ec2.ModifyInstanceAttribute(ctx, &ec2.ModifyInstanceAttributeInput{
		InstanceId: awssdk.String(instanceID), InstanceInitiatedShutdownBehavior: &ec2types.AttributeValue{Value: awssdk.String("stop")}}); err != nil {
		return res, wrapErr("ec2:ModifyInstanceAttribute(InstanceInitiatedShutdownBehavior)", instanceID, err)
	}
	var mappings []ec2types.InstanceBlockDeviceMappingSpecification
	for _, bd := range raw.BlockDeviceMappings {
		if bd.Ebs == nil {
			continue
		}
		res.PreviousDeleteOnTermination[awssdk.ToString(bd.Ebs.VolumeId)] = awssdk.ToBool(bd.Ebs.DeleteOnTermination)
		if awssdk.ToBool(bd.Ebs.DeleteOnTermination) {
			mappings = append(mappings, ec2types.InstanceBlockDeviceMappingSpecification{
				DeviceName: bd.DeviceName, Ebs: &ec2types.EbsInstanceBlockDeviceSpecification{DeleteOnTermination: awssdk.Bool(false)}})
		}
	}
	if len(mappings) > 0 {
		if _, err := p.ec2.ModifyInstanceAttribute(ctx, &ec2.ModifyInstanceAttributeInput{
			InstanceId: awssdk.String(instanceID), BlockDeviceMappings: mappings}); err != nil {
			return res, wrapErr("ec2:ModifyInstanceAttribute(BlockDeviceMappings)", instanceID, err)
		}
	}
	p.log.Info("protected from termination", "instance", instanceID, "volumes_kept", len(mappings))
	return res, nil
}

// ProtectFromScaling takes the instance out of its scaling group's hands. It
// always sets scale-in protection first (instant and reversible), then
// optionally moves it to standby or detaches it. An instance outside any
// group is left alone and reported with an empty Group.
func (c *Provider) ProtectFromScaling(ctx context.Context, instanceID string, opts providers.ScalingOptions) (*providers.ScalingResult, error) {
	p := c
	out, err := p.asg.DescribeAutoScalingInstances(ctx, &autoscaling.DescribeAutoScalingInstancesInput{InstanceIds: []string{instanceID}})
	if err != nil {
		return nil, wrapErr("autoscaling:DescribeAutoScalingInstances", instanceID, err)
	}
	m := findASGMember(out.AutoScalingInstances, instanceID)
	if m == nil {
		return &providers.ScalingResult{}, nil
	}
	group := awssdk.ToString(m.AutoScalingGroupName)
	res := &providers.ScalingResult{Group: group, PreviousState: awssdk.ToString(m.LifecycleState),
		WasProtected: awssdk.ToBool(m.ProtectedFromScaleIn), LifecycleState: awssdk.ToString(m.LifecycleState)}
	if !res.WasProtected {
		if _, err := p.asg.SetInstanceProtection(ctx, &autoscaling.SetInstanceProtectionInput{
			AutoScalingGroupName: awssdk.String(group), InstanceIds: []string{instanceID}, ProtectedFromScaleIn: awssdk.Bool(true)}); err != nil {
			return res, wrapErr("autoscaling:SetInstanceProtection", instanceID, err)
		}
	}
	switch opts.Mode {
	case providers.ScalingStandby:
		if res.PreviousState != string(asgtypes.LifecycleStateStandby) {
			if _, err := p.asg.EnterStandby(ctx, &autoscaling.EnterStandbyInput{AutoScalingGroupName: awssdk.String(group),
				InstanceIds: []string{instanceID}, ShouldDecrementDesiredCapacity: awssdk.Bool(opts.DecrementDesired)}); err != nil {
				return res, wrapErr("autoscaling:EnterStandby", instanceID, err)
			}
		}
	case providers.ScalingDetach:
		if _, err := p.asg.DetachInstances(ctx, &autoscaling.DetachInstancesInput{AutoScalingGroupName: awssdk.String(group),
			InstanceIds: []string{instanceID}, ShouldDecrementDesiredCapacity: awssdk.Bool(opts.DecrementDesired)}); err != nil {
			return res, wrapErr("autoscaling:DetachInstances", instanceID, err)
		}
	}
	after, err := p.asg.DescribeAutoScalingInstances(ctx, &autoscaling.DescribeAutoScalingInstancesInput{InstanceIds: []string{instanceID}})
	if err != nil {
		return res, wrapErr("autoscaling:DescribeAutoScalingInstances", instanceID, err)
	}
	if m := findASGMember(after.AutoScalingInstances, instanceID); m != nil {
		res.LifecycleState = awssdk.ToString(m.LifecycleState)
	} else {
		res.LifecycleState = string(asgtypes.LifecycleStateDetached)
	}
	p.log.Info("protected from scaling", "instance", instanceID, "group", group, "state", res.LifecycleState)
	return res, nil
}

// Stop stops (or hibernates) the instance. It returns once EC2 accepted the
// request; the instance is then stopping.
func (c *Provider) StopInstance(ctx context.Context, instanceID string, opts providers.StopOptions) error {
	p := c
	in := &ec2.StopInstancesInput{InstanceIds: []string{instanceID}}
	if opts.Hibernate {
		in.Hibernate = awssdk.Bool(true)
	}
	if opts.Force {
		in.Force = awssdk.Bool(true)
	}
	if _, err := p.ec2.StopInstances(ctx, in); err != nil {
		return wrapErr("ec2:StopInstances", instanceID, err)
	}
	p.log.Info("stop requested", "instance", instanceID, "hibernate", opts.Hibernate)
	return nil
}

// Tag labels any EC2 resources (instances, volumes, snapshots, groups).
func (c *Provider) Tag(ctx context.Context, resourceIDs []string, tags map[string]string) error {
	if len(resourceIDs) == 0 || len(tags) == 0 {
		return nil
	}
	if _, err := c.ec2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: resourceIDs, Tags: toEC2Tags(tags)}); err != nil {
		return wrapErr("ec2:CreateTags", strings.Join(resourceIDs, ","), err)
	}
	return nil
}

// HaltInstance stops an instance in region (the provider's own when
// empty) without waiting: attackers launch where the victim does not look,
// and a stopped miner costs nothing but its disks, kept for the record.
func (p *Provider) HaltInstance(ctx context.Context, id, region string) error {
	if _, err := p.regional(region).StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}}); err != nil {
		return wrapErr("ec2:StopInstances", id, err)
	}
	p.log.Info("instance stopped", "instance", id, "region", region)
	return nil
}

// regional is the EC2 client of a region ("" or the target's: the
// provider's own).
func (p *Provider) regional(region string) *ec2.Client {
	if region == "" || region == p.target.Region {
		return p.ec2
	}
	return ec2.NewFromConfig(p.cfg, func(o *ec2.Options) { o.Region = region })
}

// TerminateInstance terminates an instance in its region: eradication of
// what an attacker launched.
func (p *Provider) TerminateInstance(ctx context.Context, id, region string) error {
	if _, err := p.regional(region).TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}}); err != nil {
		return wrapErr("ec2:TerminateInstances", id, err)
	}
	p.log.Info("instance terminated", "instance", id, "region", region)
	return nil
}
