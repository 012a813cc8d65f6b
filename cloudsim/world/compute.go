package world

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"
)

// ComputeErrorKind classifies a compute or network failure so that each
// wire front end can answer with its own cloud's error code.
type ComputeErrorKind string

// Compute error kinds.
const (
	KindNotFound           ComputeErrorKind = "NotFound"
	KindIncorrectState     ComputeErrorKind = "IncorrectState"
	KindNotPermitted       ComputeErrorKind = "NotPermitted" // termination/stop protection
	KindDuplicate          ComputeErrorKind = "Duplicate"
	KindMultipleInterfaces ComputeErrorKind = "MultipleInterfaces"
	KindInvalid            ComputeErrorKind = "Invalid"
	KindBlocked            ComputeErrorKind = "Blocked" // a flow the security groups do not permit
)

// ComputeError is a failed compute, storage or network operation.
type ComputeError struct {
	Kind     ComputeErrorKind
	Resource string // "instance", "volume", "snapshot", "security-group", …
	ID       string
	Msg      string
}

func (e *ComputeError) Error() string { return e.Msg }

// ComputeErrorOf returns the *ComputeError inside err, if any.
func ComputeErrorOf(err error) (*ComputeError, bool) {
	var ce *ComputeError
	ok := errors.As(err, &ce)
	return ce, ok
}

// NotFound is the failure of an operation on a resource that does not exist.
func NotFound(resource, id string) *ComputeError {
	return &ComputeError{Kind: KindNotFound, Resource: resource, ID: id,
		Msg: fmt.Sprintf("The %s '%s' does not exist", resource, id)}
}

// Modelled durations of cloud-side work. Each is jittered per use.
const (
	bootTime     = 45 * time.Second // pending -> running: ~30-60 s
	stopTime     = 40 * time.Second // stopping -> stopped
	shutdownTime = 30 * time.Second // shutting-down -> terminated
	// SnapshotBase and SnapshotPerGiB model how long a block snapshot takes
	// to complete: about 2 min plus 10 s per GiB (jittered per use).
	SnapshotBase   = 2 * time.Minute
	SnapshotPerGiB = 10 * time.Second
	imdsCredsTTL   = 6 * time.Hour // lifetime of IMDS role credentials
	// TerminatedVisibility is how long a terminated instance stays visible
	// to Describe calls, as in EC2.
	TerminatedVisibility = time.Hour
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
	Tags                  Tags
	VolumeTags            Tags
	ASG                   string // join this autoscaling group as InService
	SSMAgent              bool
	Platform              string // default "Linux"
	MemoryGiB             int
	Processes             []Process
	CPU                   []CPUPoint
	DisableAPITermination bool
	DisableAPIStop        bool
	ShutdownBehavior      string // "stop" (default) or "terminate"
	// Running starts the instance already running (seeded environments);
	// otherwise it is pending for a modelled boot time.
	Running bool
}

// LaunchInstanceLocked creates an instance with its primary network
// interface, root volume (DeleteOnTermination true unless KeepRootVolume),
// data volumes and optional instance-profile association. It is pending
// until a modelled boot time has passed, unless spec.Running.
func (w *World) LaunchInstanceLocked(spec LaunchSpec) (*Instance, error) {
	now := w.clock.Now()
	if spec.Region == "" {
		if a := w.Accounts[spec.Account]; a != nil {
			spec.Region = a.Region
		}
	}
	var subnet *Subnet
	if spec.Subnet != "" {
		subnet = w.Subnets[spec.Subnet]
		if subnet == nil {
			return nil, NotFound("subnet", spec.Subnet)
		}
	} else {
		subnet = w.defaultSubnetLocked(spec.Account, spec.Region)
	}
	groups := dedupe(spec.Groups)
	for _, g := range groups {
		sg, ok := w.SecurityGroups[g]
		if !ok {
			return nil, NotFound("security-group", g)
		}
		if sg.VPC != subnet.VPC {
			return nil, &ComputeError{Kind: KindInvalid, Resource: "security-group", ID: g,
				Msg: fmt.Sprintf("Security group %s and subnet %s belong to different networks.", g, subnet.ID)}
		}
	}
	if len(groups) == 0 {
		if sg := w.GroupByNameLocked(subnet.VPC, "default"); sg != nil {
			groups = []string{sg.ID}
		}
	}
	var profile *InstanceProfile
	if spec.Profile != "" {
		if profile = w.ProfileByARNLocked(spec.Profile); profile == nil {
			return nil, NotFound("instance-profile", spec.Profile)
		}
	}
	if spec.ASG != "" {
		if _, ok := w.ASGs[spec.ASG]; !ok {
			return nil, NotFound("autoscaling-group", spec.ASG)
		}
	}
	inst := &Instance{ID: w.NewIDLocked("i"), Account: spec.Account, Region: spec.Region, AZ: subnet.AZ,
		Type: orDefault(spec.Type, "t3.micro"), ImageID: orDefault(spec.ImageID, "ami-0abcdef1234567890"), KeyName: spec.KeyName,
		State: StatePending, LaunchTime: now, VPC: subnet.VPC, Subnet: subnet.ID, Tags: Tags{},
		DisableAPITermination: spec.DisableAPITermination, DisableAPIStop: spec.DisableAPIStop,
		ShutdownBehavior: orDefault(spec.ShutdownBehavior, "stop"), SSMAgent: spec.SSMAgent,
		Platform: orDefault(spec.Platform, "Linux"), MemoryGiB: spec.MemoryGiB,
		Processes: append([]Process(nil), spec.Processes...), CPU: append([]CPUPoint(nil), spec.CPU...)}
	for k, v := range spec.Tags {
		inst.Tags[k] = v
	}
	eni := &ENI{ID: w.NewIDLocked("eni"), Account: spec.Account, Region: spec.Region, AZ: subnet.AZ,
		VPC: subnet.VPC, Subnet: subnet.ID, Instance: inst.ID, DeviceIndex: 0,
		PrivateIP: w.PrivateIPLocked(subnet), MAC: w.MACLocked(), Groups: groups,
		Description: "Primary network interface", AttachmentID: w.NewIDLocked("eni-attach"),
		Status: "in-use", DeleteOnTermination: true, Tags: Tags{}}
	if spec.PublicIP {
		eni.PublicIP = w.PublicIPLocked()
	}
	w.ENIs[eni.ID] = eni
	inst.ENIs = []string{eni.ID}
	inst.PrivateIP, inst.PublicIP = eni.PrivateIP, eni.PublicIP

	root := w.newVolumeLocked(inst, "/dev/xvda", orDefaultInt(spec.RootSizeGiB, 8), "gp3", false, spec.VolumeTags)
	inst.BlockDevices = append(inst.BlockDevices, BlockDevice{Device: "/dev/xvda", VolumeID: root.ID, DeleteOnTermination: !spec.KeepRootVolume})
	for _, d := range spec.DataVolumes {
		v := w.newVolumeLocked(inst, d.Device, orDefaultInt(d.SizeGiB, 8), orDefault(d.Type, "gp3"), d.Encrypted, spec.VolumeTags)
		inst.BlockDevices = append(inst.BlockDevices, BlockDevice{Device: d.Device, VolumeID: v.ID, DeleteOnTermination: d.DeleteOnTermination})
	}
	w.Instances[inst.ID] = inst
	if profile != nil {
		w.newAssociationLocked(inst.ID, profile)
	}
	if spec.Running {
		inst.State = StateRunning
	} else {
		id := inst.ID
		w.ScheduleLocked(now.Add(w.JitterLocked(PurposeDuration, bootTime, 0.33)), "instance-running:"+id, func(time.Time) {
			if i := w.Instances[id]; i != nil && i.State == StatePending {
				i.State = StateRunning
			}
		})
	}
	if spec.ASG != "" {
		if g := w.ASGs[spec.ASG]; g.Launch == nil {
			// The group launches replacements like its first instance (the
			// simulator does not model launch templates' contents).
			tmpl := spec
			tmpl.Tags, tmpl.VolumeTags = maps.Clone(spec.Tags), maps.Clone(spec.VolumeTags)
			tmpl.Groups, tmpl.DataVolumes = slices.Clone(spec.Groups), slices.Clone(spec.DataVolumes)
			tmpl.Processes, tmpl.CPU = slices.Clone(spec.Processes), nil
			g.Launch = &tmpl
		}
		if err := w.AttachToASGLocked(spec.ASG, inst.ID); err != nil {
			return nil, err
		}
	}
	return inst, nil
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

func (w *World) newVolumeLocked(inst *Instance, device string, size int, typ string, encrypted bool, tags Tags) *Volume {
	v := &Volume{ID: w.NewIDLocked("vol"), Account: inst.Account, Region: inst.Region, AZ: inst.AZ,
		SizeGiB: size, Type: typ, State: "in-use", Encrypted: encrypted, CreateTime: w.clock.Now(),
		Attached: inst.ID, Device: device, Tags: Tags{}}
	for k, val := range tags {
		v.Tags[k] = val
	}
	w.Volumes[v.ID] = v
	return v
}

// RootVolume returns the instance's boot volume ID ("" if none).
func (i *Instance) RootVolume() string {
	if len(i.BlockDevices) == 0 {
		return ""
	}
	return i.BlockDevices[0].VolumeID
}

// StopInstanceLocked stops a running instance: it is stopping at once (its
// connections end with the OS) and stopped after a modelled delay. It
// returns the previous state. Stopping a stopped or stopping instance is a
// no-op, as in EC2.
func (w *World) StopInstanceLocked(instanceID string) (string, error) {
	inst, ok := w.Instances[instanceID]
	if !ok {
		return "", NotFound("instance", instanceID)
	}
	prev := inst.State
	switch inst.State {
	case StateStopping, StateStopped:
		return prev, nil
	case StateRunning:
	default:
		return prev, &ComputeError{Kind: KindIncorrectState, Resource: "instance", ID: instanceID,
			Msg: fmt.Sprintf("The instance '%s' is not in a state from which it can be stopped.", instanceID)}
	}
	if inst.DisableAPIStop {
		return prev, &ComputeError{Kind: KindNotPermitted, Resource: "instance", ID: instanceID,
			Msg: fmt.Sprintf("The instance '%s' may not be stopped. Modify its 'disableApiStop' instance attribute and try again.", instanceID)}
	}
	now := w.clock.Now()
	inst.State = StateStopping
	inst.StateReason = "Client.UserInitiatedShutdown: User initiated shutdown"
	w.EndInstanceFlowsLocked(instanceID, "instance stopping", nil, now)
	w.checkASGHealthLocked() // a stopped member fails its health check (asg_health.go)
	// A stopping instance runs nothing: record it so metrics history stays
	// right (the miner's CPU does not continue past the stop).
	w.SetCPULocked(inst, now, 0)
	w.ScheduleLocked(now.Add(w.JitterLocked(PurposeDuration, stopTime, 0.25)), "instance-stopped:"+instanceID, func(time.Time) {
		if i := w.Instances[instanceID]; i != nil && i.State == StateStopping {
			i.State = StateStopped
			if !w.isElasticIPLocked(i.PublicIP) {
				i.PublicIP = ""
				if len(i.ENIs) > 0 {
					if e := w.ENIs[i.ENIs[0]]; e != nil {
						e.PublicIP = ""
					}
				}
			}
		}
	})
	return prev, nil
}

func (w *World) isElasticIPLocked(ip string) bool {
	if ip == "" {
		return false
	}
	for _, id := range SortedKeys(w.Addresses) {
		if w.Addresses[id].PublicIP == ip {
			return true
		}
	}
	return false
}

// TerminateInstanceLocked terminates an instance a caller asked to
// terminate; termination protection (DisableAPITermination) refuses it.
// It returns the previous state.
func (w *World) TerminateInstanceLocked(instanceID string) (string, error) {
	inst, ok := w.Instances[instanceID]
	if !ok {
		return "", NotFound("instance", instanceID)
	}
	if inst.DisableAPITermination && inst.State != StateTerminated && inst.State != StateShuttingDown {
		return inst.State, &ComputeError{Kind: KindNotPermitted, Resource: "instance", ID: instanceID,
			Msg: fmt.Sprintf("The instance '%s' may not be terminated. Modify its 'disableApiTermination' instance attribute and try again.", instanceID)}
	}
	return w.shutdownLocked(inst, "Client.UserInitiatedShutdown: User initiated shutdown", w.clock.Now()), nil
}

// shutdownLocked moves an instance to shutting-down now (connections end,
// scaling-group membership ends) and to terminated after a modelled delay,
// when its DeleteOnTermination volumes and interfaces are deleted and the
// others detached. Protection is the caller's business: Auto Scaling
// ignores DisableAPITermination. now is the modelled time of the shutdown.
func (w *World) shutdownLocked(inst *Instance, reason string, now time.Time) string {
	prev := inst.State
	if prev == StateShuttingDown || prev == StateTerminated {
		return prev
	}
	inst.State = StateShuttingDown
	inst.StateReason = reason
	w.EndInstanceFlowsLocked(inst.ID, "instance terminated", nil, now)
	if _, m := w.ASGMemberLocked(inst.ID); m != nil {
		m.LifecycleState = "Terminating"
	}
	id := inst.ID
	w.ScheduleLocked(now.Add(w.JitterLocked(PurposeDuration, shutdownTime, 0.3)), "instance-terminated:"+id, func(at time.Time) {
		w.finishTerminationLocked(id, at)
	})
	return prev
}

func (w *World) finishTerminationLocked(id string, at time.Time) {
	inst := w.Instances[id]
	if inst == nil || inst.State != StateShuttingDown {
		return
	}
	inst.State = StateTerminated
	inst.TerminatedAt = at
	for _, bd := range inst.BlockDevices {
		v := w.Volumes[bd.VolumeID]
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
		e := w.ENIs[eid]
		if e == nil {
			continue
		}
		if e.DeleteOnTermination {
			delete(w.ENIs, eid)
		} else {
			e.Instance, e.AttachmentID, e.Status = "", "", "available"
		}
	}
	inst.ENIs = nil
	inst.PublicIP, inst.PrivateIP = "", ""
	for _, aid := range SortedKeys(w.Associations) {
		if a := w.Associations[aid]; a.Instance == id && a.State == "associated" {
			a.State = "disassociated"
		}
	}
	for _, aid := range SortedKeys(w.Addresses) {
		if a := w.Addresses[aid]; a.Instance == id {
			a.AssociationID, a.Instance, a.ENI, a.PrivateIP = "", "", "", ""
		}
	}
	if asg, _ := w.ASGMemberLocked(id); asg != nil {
		asg.Members = slices.DeleteFunc(asg.Members, func(m *ASGInstance) bool { return m.InstanceID == id })
	}
	inst.ASG = ""
}

// Visible reports whether Describe calls still list the instance: a
// terminated instance disappears an hour after termination.
func (i *Instance) Visible(now time.Time) bool {
	return i.State != StateTerminated || now.Sub(i.TerminatedAt) < TerminatedVisibility
}

// SetDeleteOnTerminationLocked changes whether the volume at device is
// deleted with the instance (the evidence-preservation step).
func (w *World) SetDeleteOnTerminationLocked(instanceID, device string, del bool) error {
	inst, ok := w.Instances[instanceID]
	if !ok {
		return NotFound("instance", instanceID)
	}
	for i := range inst.BlockDevices {
		if inst.BlockDevices[i].Device == device {
			inst.BlockDevices[i].DeleteOnTermination = del
			return nil
		}
	}
	return &ComputeError{Kind: KindInvalid, Resource: "block-device", ID: device,
		Msg: fmt.Sprintf("No device is currently mapped at %s", device)}
}

// ---- snapshots ---------------------------------------------------------

// CreateSnapshotLocked starts a snapshot of a volume. It is pending until a
// modelled completion time (~2 min + 10 s per GiB, jittered). A deleted
// volume cannot be snapshotted: that evidence is gone.
func (w *World) CreateSnapshotLocked(volumeID, description, createdBy string, tags Tags) (*Snapshot, error) {
	v, ok := w.Volumes[volumeID]
	if !ok || v.State == "deleted" {
		return nil, NotFound("volume", volumeID)
	}
	now := w.clock.Now()
	d := w.JitterLocked(PurposeDuration, SnapshotBase+time.Duration(v.SizeGiB)*SnapshotPerGiB, 0.2)
	s := &Snapshot{ID: w.NewIDLocked("snap"), Account: v.Account, Region: v.Region, VolumeID: v.ID,
		VolumeSizeGiB: v.SizeGiB, Description: description, StartTime: now, CompleteAt: now.Add(d),
		Encrypted: v.Encrypted, Tags: Tags{}, CreatedBy: createdBy}
	for k, val := range tags {
		s.Tags[k] = val
	}
	w.Snapshots[s.ID] = s
	return s, nil
}

// SnapshotInstanceLocked takes crash-consistent snapshots of every attached
// volume of an instance (optionally without the boot volume or some data
// volumes), all started at the same instant. With copyTags, each snapshot
// starts with its volume's tags; tags are then added on top.
func (w *World) SnapshotInstanceLocked(instanceID string, excludeBoot bool, exclude []string, copyTags bool,
	description, createdBy string, tags Tags) ([]*Snapshot, error) {
	inst, ok := w.Instances[instanceID]
	if !ok {
		return nil, NotFound("instance", instanceID)
	}
	if inst.State == StateTerminated {
		return nil, &ComputeError{Kind: KindIncorrectState, Resource: "instance", ID: instanceID,
			Msg: fmt.Sprintf("The instance '%s' is terminated.", instanceID)}
	}
	var out []*Snapshot
	for i, bd := range inst.BlockDevices {
		if (i == 0 && excludeBoot) || slices.Contains(exclude, bd.VolumeID) {
			continue
		}
		all := Tags{}
		if copyTags {
			if v := w.Volumes[bd.VolumeID]; v != nil {
				for k, val := range v.Tags {
					all[k] = val
				}
			}
		}
		for k, val := range tags {
			all[k] = val
		}
		s, err := w.CreateSnapshotLocked(bd.VolumeID, description, createdBy, all)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// ---- instance profiles and credentials ----------------------------------

func (w *World) newAssociationLocked(instanceID string, p *InstanceProfile) *ProfileAssociation {
	a := &ProfileAssociation{ID: w.NewIDLocked("iip-assoc"), Instance: instanceID, ProfileARN: p.ARN, State: "associated"}
	w.Associations[a.ID] = a
	return a
}

// ActiveAssociationLocked returns the instance's current profile association.
func (w *World) ActiveAssociationLocked(instanceID string) *ProfileAssociation {
	for _, id := range SortedKeys(w.Associations) {
		if a := w.Associations[id]; a.Instance == instanceID && a.State == "associated" {
			return a
		}
	}
	return nil
}

// AssociateProfileLocked attaches an instance profile to an instance that
// has none.
func (w *World) AssociateProfileLocked(instanceID, profile string) (*ProfileAssociation, error) {
	inst, ok := w.Instances[instanceID]
	if !ok || inst.State == StateTerminated {
		return nil, NotFound("instance", instanceID)
	}
	p := w.ProfileByARNLocked(profile)
	if p == nil {
		return nil, NotFound("instance-profile", profile)
	}
	if a := w.ActiveAssociationLocked(instanceID); a != nil {
		return nil, &ComputeError{Kind: KindIncorrectState, Resource: "instance", ID: instanceID,
			Msg: fmt.Sprintf("There is an existing association for instance %s", instanceID)}
	}
	return w.newAssociationLocked(instanceID, p), nil
}

// DisassociateProfileLocked removes an association. Credentials the
// instance already handed out stay valid until they expire: only a session
// revocation (a TokenIssueTime deny on the role) stops them.
func (w *World) DisassociateProfileLocked(associationID string) (*ProfileAssociation, error) {
	a, ok := w.Associations[associationID]
	if !ok || a.State != "associated" {
		return nil, NotFound("association", associationID)
	}
	a.State = "disassociated"
	return a, nil
}

// ReplaceProfileLocked swaps the profile of an association; the old
// association ends and a new one (with a new ID) takes its place.
func (w *World) ReplaceProfileLocked(associationID, profile string) (*ProfileAssociation, error) {
	a, ok := w.Associations[associationID]
	if !ok || a.State != "associated" {
		return nil, NotFound("association", associationID)
	}
	p := w.ProfileByARNLocked(profile)
	if p == nil {
		return nil, NotFound("instance-profile", profile)
	}
	a.State = "disassociated"
	return w.newAssociationLocked(a.Instance, p), nil
}

// InstanceCredentialsLocked returns the role credentials the instance
// metadata service hands to anything running on the instance, an attacker
// included: a fresh session of the associated profile's role, named after
// the instance, issued now. (Real IMDS rotates credentials about hourly;
// what matters here is that nothing done to the instance later revokes
// sessions already handed out.)
func (w *World) InstanceCredentialsLocked(instanceID string) (*Session, error) {
	inst, ok := w.Instances[instanceID]
	if !ok {
		return nil, NotFound("instance", instanceID)
	}
	if inst.State != StateRunning {
		return nil, &ComputeError{Kind: KindIncorrectState, Resource: "instance", ID: instanceID,
			Msg: fmt.Sprintf("instance %s is %s: its metadata service is not reachable", instanceID, inst.State)}
	}
	a := w.ActiveAssociationLocked(instanceID)
	if a == nil {
		return nil, &ComputeError{Kind: KindNotFound, Resource: "association", ID: instanceID,
			Msg: fmt.Sprintf("instance %s has no instance profile", instanceID)}
	}
	p := w.ProfileByARNLocked(a.ProfileARN)
	if p == nil || len(p.Roles) == 0 {
		return nil, &ComputeError{Kind: KindNotFound, Resource: "role", ID: a.ProfileARN,
			Msg: fmt.Sprintf("instance profile %s has no role", a.ProfileARN)}
	}
	source := "instance:" + instanceID
	return w.IssueSessionLocked(p.Roles[0], instanceID, source, imdsCredsTTL)
}

// ---- tags --------------------------------------------------------------

// ResourceTagsLocked returns the tag map of any taggable resource by ID and
// its EC2 resource type.
func (w *World) ResourceTagsLocked(id string) (Tags, string, bool) {
	ensure := func(t *Tags) Tags {
		if *t == nil {
			*t = Tags{}
		}
		return *t
	}
	if x, ok := w.Instances[id]; ok {
		return ensure(&x.Tags), "instance", true
	}
	if x, ok := w.Volumes[id]; ok && x.State != "deleted" {
		return ensure(&x.Tags), "volume", true
	}
	if x, ok := w.Snapshots[id]; ok && !x.Deleted {
		return ensure(&x.Tags), "snapshot", true
	}
	if x, ok := w.SecurityGroups[id]; ok {
		return ensure(&x.Tags), "security-group", true
	}
	if x, ok := w.ENIs[id]; ok {
		return ensure(&x.Tags), "network-interface", true
	}
	if x, ok := w.VPCs[id]; ok {
		return ensure(&x.Tags), "vpc", true
	}
	return nil, "", false
}

// TagResourceLocked adds or overwrites tags on a resource.
func (w *World) TagResourceLocked(id string, tags Tags) error {
	t, _, ok := w.ResourceTagsLocked(id)
	if !ok {
		return NotFound(resourceKind(id), id)
	}
	for k, v := range tags {
		t[k] = v
	}
	return nil
}

// UntagResourceLocked removes tags by key; a key listed in values is only
// removed if its value matches. With no keys, every tag is removed.
func (w *World) UntagResourceLocked(id string, keys []string, values map[string]string) error {
	t, _, ok := w.ResourceTagsLocked(id)
	if !ok {
		return NotFound(resourceKind(id), id)
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

// InstancesOfLocked returns the instances of an account and region by launch
// time, then ID, so listings are deterministic.
func (w *World) InstancesOfLocked(account, region string) []*Instance {
	var out []*Instance
	for _, id := range SortedKeys(w.Instances) {
		if i := w.Instances[id]; i.Account == account && (region == "" || i.Region == region) {
			out = append(out, i)
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].LaunchTime.Before(out[b].LaunchTime) })
	return out
}
