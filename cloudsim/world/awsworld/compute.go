package awsworld

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
)

// Modelled durations of EC2's cloud-side work. Each is jittered per use.
const (
	bootTime     = 45 * time.Second // pending -> running: ~30-60 s
	stopTime     = 40 * time.Second // stopping -> stopped
	shutdownTime = 30 * time.Second // shutting-down -> terminated
	imdsCredsTTL = 6 * time.Hour    // lifetime of IMDS role credentials
)

// VolumeSpec describes an extra volume to create at launch.
type VolumeSpec struct {
	Device              string // "/dev/sdf"
	SizeGiB             int
	Type                string // default "gp3"
	DeleteOnTermination bool
	Encrypted           bool
}

// LaunchSpec describes an instance to launch.
type LaunchSpec struct {
	Account, Region string
	Subnet          string // default: the account's default subnet in Region
	ImageID         string
	Type            string // default "t3.micro"
	KeyName         string
	Groups          []string // default: the VPC's default group
	Profile         string   // instance profile ARN or name, optional
	PublicIP        bool     // assign an (ephemeral) public IPv4 address
	RootSizeGiB     int      // default 8
	// KeepRootVolume sets DeleteOnTermination=false on the root volume.
	KeepRootVolume        bool
	DataVolumes           []VolumeSpec
	Tags                  world.Tags
	VolumeTags            world.Tags
	ASG                   string // join this autoscaling group as InService
	SSMAgent              bool
	Platform              string // default "Linux"
	MemoryGiB             int
	Processes             []world.Process
	CPU                   []world.CPUPoint
	DisableAPITermination bool
	DisableAPIStop        bool
	ShutdownBehavior      string // "stop" (default) or "terminate"
	// Running starts the instance already running (seeded environments);
	// otherwise it is pending for a modelled boot time.
	Running bool
}

// LaunchInstance creates an instance with its primary network
// interface, root volume (DeleteOnTermination true unless KeepRootVolume),
// data volumes and optional instance-profile association. It is pending
// until a modelled boot time has passed, unless spec.Running.
func (s *State) LaunchInstance(spec LaunchSpec) (*world.Instance, error) {
	now := s.w.Now()
	if spec.Region == "" {
		if a := s.w.Accounts.Lookup(spec.Account); a != nil {
			spec.Region = a.Region
		}
	}
	var subnet *world.Subnet
	if spec.Subnet != "" {
		subnet = s.w.Subnets.Lookup(spec.Subnet)
		if subnet == nil {
			return nil, world.NotFound("subnet", spec.Subnet)
		}
	} else {
		subnet = s.defaultSubnet(spec.Account, spec.Region)
	}
	groups := dedupe(spec.Groups)
	for _, g := range groups {
		sg, ok := s.SecurityGroups.Get(g)
		if !ok {
			return nil, world.NotFound("security-group", g)
		}
		if sg.VPC != subnet.VPC {
			return nil, &world.ComputeError{Kind: world.KindInvalid, Resource: "security-group", ID: g,
				Msg: fmt.Sprintf("Security group %s and subnet %s belong to different networks.", g, subnet.ID)}
		}
	}
	if len(groups) == 0 {
		if sg := s.GroupByName(subnet.VPC, "default"); sg != nil {
			groups = []string{sg.ID}
		}
	}
	var profile *InstanceProfile
	if spec.Profile != "" {
		if profile = s.ProfileByARN(spec.Profile); profile == nil {
			return nil, world.NotFound("instance-profile", spec.Profile)
		}
	}
	if spec.ASG != "" {
		if _, ok := s.ASGs.Get(spec.ASG); !ok {
			return nil, world.NotFound("autoscaling-group", spec.ASG)
		}
	}
	inst := &world.Instance{ID: s.w.NewIDLocked("i"), Account: spec.Account, Region: spec.Region, AZ: subnet.AZ,
		Type: orDefault(spec.Type, "t3.micro"), ImageID: orDefault(spec.ImageID, "ami-0abcdef1234567890"), KeyName: spec.KeyName,
		State: world.StatePending, LaunchTime: now, VPC: subnet.VPC, Subnet: subnet.ID, Tags: world.Tags{},
		DisableAPITermination: spec.DisableAPITermination, DisableAPIStop: spec.DisableAPIStop,
		ShutdownBehavior: orDefault(spec.ShutdownBehavior, "stop"), SSMAgent: spec.SSMAgent,
		Platform: orDefault(spec.Platform, "Linux"), MemoryGiB: spec.MemoryGiB,
		Processes: append([]world.Process(nil), spec.Processes...), CPU: append([]world.CPUPoint(nil), spec.CPU...)}
	for k, v := range spec.Tags {
		inst.Tags[k] = v
	}
	eni := &world.ENI{ID: s.w.NewIDLocked("eni"), Account: spec.Account, Region: spec.Region, AZ: subnet.AZ,
		VPC: subnet.VPC, Subnet: subnet.ID, Instance: inst.ID, DeviceIndex: 0,
		PrivateIP: s.w.PrivateIPLocked(subnet), MAC: s.w.MACLocked(), Groups: groups,
		Description: "Primary network interface", AttachmentID: s.w.NewIDLocked("eni-attach"),
		Status: "in-use", DeleteOnTermination: true, Tags: world.Tags{}}
	if spec.PublicIP {
		eni.PublicIP = s.w.PublicIPLocked()
	}
	s.w.ENIs.Put(eni.ID, eni)
	inst.ENIs = []string{eni.ID}
	inst.PrivateIP, inst.PublicIP = eni.PrivateIP, eni.PublicIP

	root := s.newVolume(inst, "/dev/xvda", orDefaultInt(spec.RootSizeGiB, 8), "gp3", false, spec.VolumeTags)
	inst.BlockDevices = append(inst.BlockDevices, world.BlockDevice{Device: "/dev/xvda", VolumeID: root.ID, DeleteOnTermination: !spec.KeepRootVolume})
	for _, d := range spec.DataVolumes {
		v := s.newVolume(inst, d.Device, orDefaultInt(d.SizeGiB, 8), orDefault(d.Type, "gp3"), d.Encrypted, spec.VolumeTags)
		inst.BlockDevices = append(inst.BlockDevices, world.BlockDevice{Device: d.Device, VolumeID: v.ID, DeleteOnTermination: d.DeleteOnTermination})
	}
	s.w.Instances.Put(inst.ID, inst)
	if profile != nil {
		s.newAssociation(inst.ID, profile)
	}
	if spec.Running {
		inst.State = world.StateRunning
	} else {
		s.bootLater(inst.ID, now)
	}
	if spec.ASG != "" {
		if g := s.ASGs.Lookup(spec.ASG); g.Launch == nil {
			// The group launches replacements like its first instance (the
			// simulator does not model launch templates' contents).
			tmpl := spec
			tmpl.Tags, tmpl.VolumeTags = maps.Clone(spec.Tags), maps.Clone(spec.VolumeTags)
			tmpl.Groups, tmpl.DataVolumes = slices.Clone(spec.Groups), slices.Clone(spec.DataVolumes)
			tmpl.Processes, tmpl.CPU = slices.Clone(spec.Processes), nil
			g.Launch = &tmpl
		}
		if err := s.AttachToASG(spec.ASG, inst.ID); err != nil {
			return nil, err
		}
	}
	return inst, nil
}

// bootLater makes a pending instance running after a modelled boot time.
func (s *State) bootLater(id string, now time.Time) {
	s.w.ScheduleLocked(now.Add(s.w.JitterLocked(world.PurposeDuration, bootTime, 0.33)), "instance-running:"+id, func(time.Time) {
		if i := s.w.Instances.Lookup(id); i != nil && i.State == world.StatePending {
			i.State = world.StateRunning
		}
	})
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func orDefaultInt(n, def int) int {
	if n <= 0 {
		return def
	}
	return n
}

func (s *State) newVolume(inst *world.Instance, device string, size int, typ string, encrypted bool, tags world.Tags) *world.Volume {
	v := &world.Volume{ID: s.w.NewIDLocked("vol"), Account: inst.Account, Region: inst.Region, AZ: inst.AZ,
		SizeGiB: size, Type: typ, State: "in-use", Encrypted: encrypted, CreateTime: s.w.Now(),
		Attached: inst.ID, Device: device, Tags: world.Tags{}}
	for k, val := range tags {
		v.Tags[k] = val
	}
	s.w.Volumes.Put(v.ID, v)
	return v
}

// StopInstance stops a running instance: it is stopping at once (its
// connections end with the OS) and stopped after a modelled delay. It
// returns the previous state. Stopping a stopped or stopping instance is a
// no-op, as in EC2.
func (s *State) StopInstance(instanceID string) (string, error) {
	inst, ok := s.w.Instances.Get(instanceID)
	if !ok {
		return "", world.NotFound("instance", instanceID)
	}
	prev := inst.State
	switch inst.State {
	case world.StateStopping, world.StateStopped:
		return prev, nil
	case world.StateRunning:
	default:
		return prev, &world.ComputeError{Kind: world.KindIncorrectState, Resource: "instance", ID: instanceID,
			Msg: fmt.Sprintf("The instance '%s' is not in a state from which it can be stopped.", instanceID)}
	}
	if inst.DisableAPIStop {
		return prev, &world.ComputeError{Kind: world.KindNotPermitted, Resource: "instance", ID: instanceID,
			Msg: fmt.Sprintf("The instance '%s' may not be stopped. Modify its 'disableApiStop' instance attribute and try again.", instanceID)}
	}
	now := s.w.Now()
	inst.State = world.StateStopping
	inst.StateReason = "Client.UserInitiatedShutdown: User initiated shutdown"
	inst.Halt(now)
	s.w.EndInstanceFlowsLocked(instanceID, "instance stopping", nil, now)
	s.checkASGHealth() // a stopped member fails its health check (asg_health.go)
	// A stopping instance runs nothing: record it so metrics history stays
	// right (the miner's CPU does not continue past the stop).
	s.w.SetCPULocked(inst, now, 0)
	s.w.ScheduleLocked(now.Add(s.w.JitterLocked(world.PurposeDuration, stopTime, 0.25)), "instance-stopped:"+instanceID, func(time.Time) {
		if i := s.w.Instances.Lookup(instanceID); i != nil && i.State == world.StateStopping {
			i.State = world.StateStopped
			if !s.isElasticIP(i.PublicIP) {
				i.PublicIP = ""
				if len(i.ENIs) > 0 {
					if e := s.w.ENIs.Lookup(i.ENIs[0]); e != nil {
						e.PublicIP = ""
					}
				}
			}
		}
	})
	return prev, nil
}

func (s *State) isElasticIP(ip string) bool {
	if ip == "" {
		return false
	}
	for _, id := range s.Addresses.Keys() {
		if s.Addresses.Lookup(id).PublicIP == ip {
			return true
		}
	}
	return false
}

// TerminateInstance terminates an instance a caller asked to
// terminate; termination protection (DisableAPITermination) refuses it.
// It returns the previous state.
func (s *State) TerminateInstance(instanceID string) (string, error) {
	inst, ok := s.w.Instances.Get(instanceID)
	if !ok {
		return "", world.NotFound("instance", instanceID)
	}
	if inst.DisableAPITermination && inst.State != world.StateTerminated && inst.State != world.StateShuttingDown {
		return inst.State, &world.ComputeError{Kind: world.KindNotPermitted, Resource: "instance", ID: instanceID,
			Msg: fmt.Sprintf("The instance '%s' may not be terminated. Modify its 'disableApiTermination' instance attribute and try again.", instanceID)}
	}
	return s.shutdown(inst, "Client.UserInitiatedShutdown: User initiated shutdown", s.w.Now()), nil
}

// shutdown moves an instance to shutting-down now (connections end,
// scaling-group membership ends) and to terminated after a modelled delay,
// when its DeleteOnTermination volumes and interfaces are deleted and the
// others detached. Protection is the caller's business: Auto Scaling
// ignores DisableAPITermination. now is the modelled time of the shutdown.
func (s *State) shutdown(inst *world.Instance, reason string, now time.Time) string {
	prev := inst.State
	if prev == world.StateShuttingDown || prev == world.StateTerminated {
		return prev
	}
	inst.State = world.StateShuttingDown
	inst.StateReason = reason
	inst.Halt(now)
	s.w.EndInstanceFlowsLocked(inst.ID, "instance terminated", nil, now)
	if _, m := s.ASGMember(inst.ID); m != nil {
		m.LifecycleState = "Terminating"
	}
	id := inst.ID
	s.w.ScheduleLocked(now.Add(s.w.JitterLocked(world.PurposeDuration, shutdownTime, 0.3)), "instance-terminated:"+id, func(at time.Time) {
		s.finishTermination(id, at)
	})
	return prev
}

func (s *State) finishTermination(id string, at time.Time) {
	inst := s.w.Instances.Lookup(id)
	if inst == nil || inst.State != world.StateShuttingDown {
		return
	}
	inst.State = world.StateTerminated
	inst.TerminatedAt = at
	for _, bd := range inst.BlockDevices {
		v := s.w.Volumes.Lookup(bd.VolumeID)
		if v == nil {
			continue
		}
		v.Attached, v.Device = "", ""
		if bd.DeleteOnTermination {
			v.State = "deleted"
		} else {
			v.State = "available"
		}
	}
	inst.BlockDevices = nil
	for _, eid := range inst.ENIs {
		e := s.w.ENIs.Lookup(eid)
		if e == nil {
			continue
		}
		if e.DeleteOnTermination {
			s.w.ENIs.Delete(eid)
		} else {
			e.Instance, e.AttachmentID, e.Status = "", "", "available"
		}
	}
	inst.ENIs = nil
	inst.PublicIP, inst.PrivateIP = "", ""
	for _, a := range s.Associations.All() {
		if a.Instance == id && a.State == "associated" {
			a.State = "disassociated"
		}
	}
	for _, a := range s.Addresses.All() {
		if a.Instance == id {
			a.AssociationID, a.Instance, a.ENI, a.PrivateIP = "", "", "", ""
		}
	}
	if asg, _ := s.ASGMember(id); asg != nil {
		asg.Members = slices.DeleteFunc(asg.Members, func(m *ASGInstance) bool { return m.InstanceID == id })
	}
	inst.ASG = ""
}

// SetDeleteOnTermination changes whether the volume at device is
// deleted with the instance (the evidence-preservation step).
func (s *State) SetDeleteOnTermination(instanceID, device string, del bool) error {
	inst, ok := s.w.Instances.Get(instanceID)
	if !ok {
		return world.NotFound("instance", instanceID)
	}
	for i := range inst.BlockDevices {
		if inst.BlockDevices[i].Device == device {
			inst.BlockDevices[i].DeleteOnTermination = del
			return nil
		}
	}
	return &world.ComputeError{Kind: world.KindInvalid, Resource: "block-device", ID: device,
		Msg: fmt.Sprintf("No device is currently mapped at %s", device)}
}

// CreateSnapshot starts a snapshot of a volume. It is pending until a
// modelled completion time (~2 min + 10 s per GiB, jittered). A deleted
// volume cannot be snapshotted: that evidence is gone.
func (s *State) CreateSnapshot(volumeID, description, createdBy string, tags world.Tags) (*world.Snapshot, error) {
	v, ok := s.w.Volumes.Get(volumeID)
	if !ok || v.State == "deleted" {
		return nil, world.NotFound("volume", volumeID)
	}
	now := s.w.Now()
	d := s.w.JitterLocked(world.PurposeDuration, world.SnapshotBase+time.Duration(v.SizeGiB)*world.SnapshotPerGiB, 0.2)
	snap := &world.Snapshot{ID: s.w.NewIDLocked("snap"), Account: v.Account, Region: v.Region, VolumeID: v.ID,
		VolumeSizeGiB: v.SizeGiB, Description: description, StartTime: now, CompleteAt: now.Add(d),
		Encrypted: v.Encrypted, Tags: world.Tags{}, CreatedBy: createdBy}
	for k, val := range tags {
		snap.Tags[k] = val
	}
	s.w.Snapshots.Put(snap.ID, snap)
	return snap, nil
}

// SnapshotInstance takes crash-consistent snapshots of every attached
// volume of an instance (optionally without the boot volume or some data
// volumes), all started at the same instant. With copyTags, each snapshot
// starts with its volume's tags; tags are then added on top.
func (s *State) SnapshotInstance(instanceID string, excludeBoot bool, exclude []string, copyTags bool,
	description, createdBy string, tags world.Tags) ([]*world.Snapshot, error) {
	inst, ok := s.w.Instances.Get(instanceID)
	if !ok {
		return nil, world.NotFound("instance", instanceID)
	}
	if inst.State == world.StateTerminated {
		return nil, &world.ComputeError{Kind: world.KindIncorrectState, Resource: "instance", ID: instanceID,
			Msg: fmt.Sprintf("The instance '%s' is terminated.", instanceID)}
	}
	var out []*world.Snapshot
	for i, bd := range inst.BlockDevices {
		if (i == 0 && excludeBoot) || slices.Contains(exclude, bd.VolumeID) {
			continue
		}
		all := world.Tags{}
		if copyTags {
			if v := s.w.Volumes.Lookup(bd.VolumeID); v != nil {
				for k, val := range v.Tags {
					all[k] = val
				}
			}
		}
		for k, val := range tags {
			all[k] = val
		}
		snap, err := s.CreateSnapshot(bd.VolumeID, description, createdBy, all)
		if err != nil {
			return nil, err
		}
		out = append(out, snap)
	}
	return out, nil
}

func (s *State) newAssociation(instanceID string, p *InstanceProfile) *ProfileAssociation {
	a := &ProfileAssociation{ID: s.w.NewIDLocked("iip-assoc"), Instance: instanceID, ProfileARN: p.ARN, State: "associated"}
	s.Associations.Put(a.ID, a)
	return a
}

// ActiveAssociation returns the instance's current profile association.
func (s *State) ActiveAssociation(instanceID string) *ProfileAssociation {
	for _, a := range s.Associations.All() {
		if a.Instance == instanceID && a.State == "associated" {
			return a
		}
	}
	return nil
}

// AssociateProfile attaches an instance profile to an instance that
// has none.
func (s *State) AssociateProfile(instanceID, profile string) (*ProfileAssociation, error) {
	inst, ok := s.w.Instances.Get(instanceID)
	if !ok || inst.State == world.StateTerminated {
		return nil, world.NotFound("instance", instanceID)
	}
	p := s.ProfileByARN(profile)
	if p == nil {
		return nil, world.NotFound("instance-profile", profile)
	}
	if a := s.ActiveAssociation(instanceID); a != nil {
		return nil, &world.ComputeError{Kind: world.KindIncorrectState, Resource: "instance", ID: instanceID,
			Msg: fmt.Sprintf("There is an existing association for instance %s", instanceID)}
	}
	return s.newAssociation(instanceID, p), nil
}

// DisassociateProfile removes an association. Credentials the
// instance already handed out stay valid until they expire: only a session
// revocation (a TokenIssueTime deny on the role) stops them.
func (s *State) DisassociateProfile(associationID string) (*ProfileAssociation, error) {
	a, ok := s.Associations.Get(associationID)
	if !ok || a.State != "associated" {
		return nil, world.NotFound("association", associationID)
	}
	a.State = "disassociated"
	return a, nil
}

// ReplaceProfile swaps the profile of an association; the old
// association ends and a new one (with a new ID) takes its place.
func (s *State) ReplaceProfile(associationID, profile string) (*ProfileAssociation, error) {
	a, ok := s.Associations.Get(associationID)
	if !ok || a.State != "associated" {
		return nil, world.NotFound("association", associationID)
	}
	p := s.ProfileByARN(profile)
	if p == nil {
		return nil, world.NotFound("instance-profile", profile)
	}
	a.State = "disassociated"
	return s.newAssociation(a.Instance, p), nil
}

// InstanceCredentials returns the role credentials the instance
// metadata service hands to anything running on the instance, an attacker
// included: a fresh session of the associated profile's role, named after
// the instance, issued now. (Real IMDS rotates credentials about hourly;
// what matters here is that nothing done to the instance later revokes
// sessions already handed out.)
func (s *State) InstanceCredentials(instanceID string) (*Session, error) {
	inst, ok := s.w.Instances.Get(instanceID)
	if !ok {
		return nil, world.NotFound("instance", instanceID)
	}
	if inst.State != world.StateRunning {
		return nil, &world.ComputeError{Kind: world.KindIncorrectState, Resource: "instance", ID: instanceID,
			Msg: fmt.Sprintf("instance %s is %s: its metadata service is not reachable", instanceID, inst.State)}
	}
	a := s.ActiveAssociation(instanceID)
	if a == nil {
		return nil, &world.ComputeError{Kind: world.KindNotFound, Resource: "association", ID: instanceID,
			Msg: fmt.Sprintf("instance %s has no instance profile", instanceID)}
	}
	p := s.ProfileByARN(a.ProfileARN)
	if p == nil || len(p.Roles) == 0 {
		return nil, &world.ComputeError{Kind: world.KindNotFound, Resource: "role", ID: a.ProfileARN,
			Msg: fmt.Sprintf("instance profile %s has no role", a.ProfileARN)}
	}
	source := "instance:" + instanceID
	return s.IssueSession(p.Roles[0], instanceID, source, imdsCredsTTL)
}

// ResourceTags returns the tag map of any taggable resource by ID and
// its EC2 resource type.
func (s *State) ResourceTags(id string) (world.Tags, string, bool) {
	ensure := func(t *world.Tags) world.Tags {
		if *t == nil {
			*t = world.Tags{}
		}
		return *t
	}
	if x, ok := s.w.Instances.Get(id); ok {
		return ensure(&x.Tags), "instance", true
	}
	if x, ok := s.w.Volumes.Get(id); ok && x.State != "deleted" {
		return ensure(&x.Tags), "volume", true
	}
	if x, ok := s.w.Snapshots.Get(id); ok && !x.Deleted {
		return ensure(&x.Tags), "snapshot", true
	}
	if x, ok := s.SecurityGroups.Get(id); ok {
		return ensure(&x.Tags), "security-group", true
	}
	if x, ok := s.w.ENIs.Get(id); ok {
		return ensure(&x.Tags), "network-interface", true
	}
	if x, ok := s.w.VPCs.Get(id); ok {
		return ensure(&x.Tags), "vpc", true
	}
	return nil, "", false
}

// TagResource adds or overwrites tags on a resource.
func (s *State) TagResource(id string, tags world.Tags) error {
	t, _, ok := s.ResourceTags(id)
	if !ok {
		return world.NotFound(resourceKind(id), id)
	}
	for k, v := range tags {
		t[k] = v
	}
	return nil
}

// UntagResource removes tags by key; a key listed in values is only
// removed if its value matches. With no keys, every tag is removed.
func (s *State) UntagResource(id string, keys []string, values map[string]string) error {
	t, _, ok := s.ResourceTags(id)
	if !ok {
		return world.NotFound(resourceKind(id), id)
	}
	if len(keys) == 0 {
		for k := range t {
			delete(t, k)
		}
		return nil
	}
	for _, k := range keys {
		if want, ok := values[k]; ok && t[k] != want {
			continue
		}
		delete(t, k)
	}
	return nil
}

// resourceKind guesses a resource type from an AWS-style ID prefix.
func resourceKind(id string) string {
	prefixes := []struct{ p, kind string }{{"i-", "instance"}, {"vol-", "volume"}, {"snap-", "snapshot"},
		{"sg-", "security-group"}, {"eni-", "network-interface"}, {"vpc-", "vpc"}, {"subnet-", "subnet"}}
	for _, x := range prefixes {
		if strings.HasPrefix(id, x.p) {
			return x.kind
		}
	}
	return "resource"
}
