package gcp

import (
	"context"
	"errors"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"
	"time"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/api/iterator"
	"google.golang.org/protobuf/proto"

	"github.com/firedrill-ir/firedrill/providers"
)

// instanceRef is a VM's project, zone and name.
type instanceRef struct{ project, zone, name string }

func (r instanceRef) key() string {
	return fmt.Sprintf("projects/%s/zones/%s/instances/%s", r.project, r.zone, r.name)
}

// trimLink turns a Compute URL into a resource path.
func trimLink(u string) string {
	if i := strings.Index(u, "projects/"); i >= 0 {
		return u[i:]
	}
	return u
}

// resolve accepts "projects/P/zones/Z/instances/N" (or its full URL, as
// SCC's "//compute.googleapis.com/…" resource names), "zones/Z/instances/N",
// "Z/N", or a bare name, which is looked up across zones.
func (p *Provider) resolve(ctx context.Context, id string) (instanceRef, error) {
	s := strings.TrimPrefix(trimLink(id), "//compute.googleapis.com/")
	parts := strings.Split(s, "/")
	switch {
	case len(parts) == 6 && parts[0] == "projects" && parts[2] == "zones" && parts[4] == "instances":
		return instanceRef{parts[1], parts[3], parts[5]}, nil
	case len(parts) == 4 && parts[0] == "zones" && parts[2] == "instances":
		return instanceRef{p.project, parts[1], parts[3]}, nil
	case len(parts) == 2:
		return instanceRef{p.project, parts[0], parts[1]}, nil
	case len(parts) == 1 && parts[0] != "":
	default:
		return instanceRef{}, opErr("compute.instances.get", id, providers.ErrInvalid, "badInstanceId",
			"instance id must be projects/P/zones/Z/instances/N, zones/Z/instances/N, Z/N or a name")
	}
	var found []instanceRef
	err := p.call(ctx, "compute.instances.aggregatedList", id, func(ctx context.Context) error {
		found = nil
		it := p.instances.AggregatedList(ctx, &computepb.AggregatedListInstancesRequest{Project: p.project,
			Filter: proto.String(fmt.Sprintf("name = %q", id))}, noRetry)
		for {
			pair, err := it.Next()
			if err == iterator.Done {
				return nil
			}
			if err != nil {
				return err
			}
			for _, inst := range pair.Value.GetInstances() {
				if inst.GetName() == id {
					found = append(found, instanceRef{p.project, path.Base(inst.GetZone()), inst.GetName()})
				}
			}
		}
	})
	if err != nil {
		return instanceRef{}, err
	}
	switch len(found) {
	case 0:
		return instanceRef{}, opErr("compute.instances.get", id, providers.ErrNotFound, "notFound", "no instance of that name in project "+p.project)
	case 1:
		return found[0], nil
	}
	return instanceRef{}, opErr("compute.instances.get", id, providers.ErrInvalid, "ambiguous",
		fmt.Sprintf("%d instances named %s in different zones; give zone/name", len(found), id))
}

func (p *Provider) getInstance(ctx context.Context, ref instanceRef) (*computepb.Instance, error) {
	var inst *computepb.Instance
	err := p.call(ctx, "compute.instances.get", ref.key(), func(ctx context.Context) error {
		var err error
		inst, err = p.instances.Get(ctx, &computepb.GetInstanceRequest{Project: ref.project, Zone: ref.zone, Instance: ref.name}, noRetry)
		return err
	})
	return inst, err
}

// mutate runs a call that returns an operation and waits for the
// operation on the Sleeper (never op.Wait, which sleeps on the wall clock).
func (p *Provider) mutate(ctx context.Context, opName, resource string, fn func(ctx context.Context) (*compute.Operation, error)) error {
	var op *compute.Operation
	if err := p.call(ctx, opName, resource, func(ctx context.Context) error {
		var err error
		op, err = fn(ctx)
		return err
	}); err != nil {
		return err
	}
	p.log.Info("GCP mutation", "op", opName, "resource", resource, "operation", op.Name())
	return p.waitOp(ctx, opName, resource, op, time.Time{})
}

// waitOp polls an operation until it is DONE; a failed operation (DONE with
// an error and httpErrorStatusCode) comes back as the wrapped API error.
func (p *Provider) waitOp(ctx context.Context, opName, resource string, op *compute.Operation, deadline time.Time) error {
	for {
		err := p.call(ctx, opName, resource, func(ctx context.Context) error { return op.Poll(ctx, noRetry) })
		if err != nil {
			return err
		}
		if op.Done() {
			return nil
		}
		if !deadline.IsZero() && !p.sleeper.Now().Before(deadline) {
			return opErr(opName, resource, providers.ErrTimeout, "operationTimeout", "operation "+op.Name()+" still running")
		}
		if err := p.sleepPoll(ctx, deadline); err != nil {
			return wrapErr(opName, resource, err)
		}
	}
}

// neutralState maps GCE statuses onto the neutral (EC2-style) names.
func neutralState(s string) string {
	switch s {
	case "RUNNING":
		return "running"
	case "STOPPING", "SUSPENDING":
		return "stopping"
	case "TERMINATED", "SUSPENDED", "STOPPED":
		return "stopped"
	case "PROVISIONING", "STAGING", "REPAIRING":
		return "pending"
	}
	return strings.ToLower(s)
}

// migOf reads the managing MIG from the "created-by" metadata GCE sets on
// members ("projects/<number>/zones/Z/instanceGroupManagers/N"), as a
// resource path in the instance's project.
func migOf(inst *computepb.Instance, project string) string {
	for _, it := range inst.GetMetadata().GetItems() {
		if it.GetKey() != "created-by" {
			continue
		}
		v := it.GetValue()
		parts := strings.SplitN(v, "/", 3)
		if len(parts) == 3 && parts[0] == "projects" {
			return "projects/" + project + "/" + parts[2]
		}
		return v
	}
	return ""
}

// DescribeInstance records the VM: NICs with their network tags, disks,
// service account, MIG membership and deletion protection.
func (c *Provider) DescribeInstance(ctx context.Context, id string) (*providers.Instance, error) {
	p := c
	ref, err := p.resolve(ctx, id)
	if err != nil {
		return nil, err
	}
	inst, err := p.getInstance(ctx, ref)
	if err != nil {
		return nil, err
	}
	out := &providers.Instance{ID: ref.key(), Name: inst.GetName(), State: neutralState(inst.GetStatus()),
		Type: path.Base(inst.GetMachineType()), Account: ref.project, Zone: ref.zone, Region: zoneRegion(ref.zone),
		Tags: map[string]string{}, TerminationProtected: inst.GetDeletionProtection(), ShutdownBehavior: "stop"}
	for k, v := range inst.GetLabels() {
		out.Tags[k] = v
	}
	for _, ts := range []string{inst.GetLastStartTimestamp(), inst.GetCreationTimestamp()} {
		if t, err := time.Parse(time.RFC3339, ts); err == nil {
			out.LaunchTime = t
			break
		}
	}
	for i, n := range inst.GetNetworkInterfaces() {
		nic := providers.NIC{ID: n.GetName(), PrivateIP: n.GetNetworkIP(), Groups: append([]string(nil), inst.GetTags().GetItems()...), Primary: i == 0}
		for _, ac := range n.GetAccessConfigs() {
			if ac.GetNatIP() != "" {
				nic.PublicIP = ac.GetNatIP()
				break
			}
		}
		if i == 0 {
			out.VPC, out.Subnet = trimLink(n.GetNetwork()), trimLink(n.GetSubnetwork())
			out.PrivateIP, out.PublicIP = nic.PrivateIP, nic.PublicIP
		}
		out.NICs = append(out.NICs, nic)
	}
	for _, d := range inst.GetDisks() {
		out.Disks = append(out.Disks, providers.Disk{ID: trimLink(d.GetSource()), Device: d.GetDeviceName(),
			SizeGiB: int(d.GetDiskSizeGb()), DeleteOnTermination: d.GetAutoDelete(), Encrypted: true})
	}
	if sas := inst.GetServiceAccounts(); len(sas) > 0 && sas[0].GetEmail() != "" {
		out.Identity = &providers.InstanceIdentity{RoleName: sas[0].GetEmail(),
			RoleARN: fmt.Sprintf("projects/%s/serviceAccounts/%s", ref.project, sas[0].GetEmail())}
	}
	if mig := migOf(inst, ref.project); mig != "" {
		out.ScalingGroup = mig
		out.ScalingLifecycle = "Managed"
	}
	return out, nil
}

func zoneRegion(zone string) string {
	if i := strings.LastIndexByte(zone, '-'); i > 0 {
		return zone[:i]
	}
	return zone
}

var (
	labelKeyBad   = regexp.MustCompile(`[^a-z0-9_-]+`)
	nameBad       = regexp.MustCompile(`[^a-z0-9-]+`)
	leadingLetter = regexp.MustCompile(`^[a-z]`)
)

// sanitizeLabels makes tags valid GCE labels: lowercase letters, digits,
// "_" and "-", keys starting with a letter, at most 63 characters. GCE
// rejects anything else with a 400, and case ids are often upper case.
func sanitizeLabels(tags map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range tags {
		k = labelKeyBad.ReplaceAllString(strings.ToLower(k), "-")
		if !leadingLetter.MatchString(k) {
			k = "k" + k
		}
		v = labelKeyBad.ReplaceAllString(strings.ToLower(v), "-")
		out[trunc(k, 63)] = trunc(v, 63)
	}
	return out
}

func trunc(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// snapshotName builds a valid, unique snapshot name from the disk and time.
func snapshotName(disk string, t time.Time) string {
	base := nameBad.ReplaceAllString(strings.ToLower(path.Base(disk)), "-")
	suffix := "-" + t.UTC().Format("20060102-150405")
	return strings.TrimSuffix(trunc("fd-"+base, 63-len(suffix)), "-") + suffix
}

// SnapshotDisks snapshots every disk of the VM, back to back. GCE has no
// multi-disk crash-consistent snapshot in the v1 API, so each disk is its
// own point in time, seconds apart; the evidence is pending until READY.
func (c *Provider) SnapshotDisks(ctx context.Context, instanceID string, tags map[string]string) ([]providers.Evidence, error) {
	p := c
	ref, err := p.resolve(ctx, instanceID)
	if err != nil {
		return nil, err
	}
	inst, err := p.getInstance(ctx, ref)
	if err != nil {
		return nil, err
	}
	labels := sanitizeLabels(tags)
	now := p.sleeper.Now()
	var out []providers.Evidence
	var errs []error
	for _, d := range inst.GetDisks() {
		disk := trimLink(d.GetSource())
		dparts := strings.Split(disk, "/")
		if len(dparts) != 6 {
			errs = append(errs, opErr("compute.disks.createSnapshot", disk, providers.ErrInvalid, "badDiskSource", "unexpected disk source "+d.GetSource()))
			continue
		}
		name := snapshotName(dparts[5], now)
		err := p.mutate(ctx, "compute.disks.createSnapshot", disk, func(ctx context.Context) (*compute.Operation, error) {
			return p.disks.CreateSnapshot(ctx, &computepb.CreateSnapshotDiskRequest{Project: dparts[1], Zone: dparts[3], Disk: dparts[5],
				SnapshotResource: &computepb.Snapshot{Name: proto.String(name), Labels: labels,
					Description: proto.String("firedrill evidence of " + ref.key() + " device " + d.GetDeviceName())}}, noRetry)
		})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		key := fmt.Sprintf("projects/%s/global/snapshots/%s", dparts[1], name)
		out = append(out, providers.Evidence{Kind: providers.EvidenceDiskSnapshot, ID: key, Source: disk,
			Location: "https://www.googleapis.com/compute/v1/" + key, CollectedBy: p.collector(), CollectedAt: now,
			State: "pending", Size: d.GetDiskSizeGb() << 30, Tags: labels})
	}
	return out, errors.Join(errs...)
}

// WaitForSnapshots polls until every snapshot is READY (or FAILED) or the
// timeout of Sleeper time passes.
func (c *Provider) WaitForSnapshots(ctx context.Context, ids []string, timeout time.Duration) ([]providers.Evidence, error) {
	p := c
	deadline := p.deadline(timeout)
	out := make([]providers.Evidence, len(ids))
	done := make([]bool, len(ids))
	for {
		pending := 0
		for i, id := range ids {
			if done[i] {
				continue
			}
			parts := strings.Split(trimLink(id), "/")
			if len(parts) != 5 || parts[2] != "global" || parts[3] != "snapshots" {
				return nil, opErr("compute.snapshots.get", id, providers.ErrInvalid, "badSnapshotId", "snapshot id must be projects/P/global/snapshots/N")
			}
			var s *computepb.Snapshot
			err := p.call(ctx, "compute.snapshots.get", id, func(ctx context.Context) error {
				var err error
				s, err = p.snapshots.Get(ctx, &computepb.GetSnapshotRequest{Project: parts[1], Snapshot: parts[4]}, noRetry)
				return err
			})
			if err != nil {
				return nil, err
			}
			ev := providers.Evidence{Kind: providers.EvidenceDiskSnapshot, ID: trimLink(id), Source: trimLink(s.GetSourceDisk()),
				Location: s.GetSelfLink(), Size: s.GetDiskSizeGb() << 30, CollectedBy: p.collector(),
				State: strings.ToLower(s.GetStatus()), Tags: s.GetLabels()}
			if t, err := time.Parse(time.RFC3339, s.GetCreationTimestamp()); err == nil {
				ev.CollectedAt = t
			}
			switch s.GetStatus() {
			case "READY":
				ev.State, done[i] = "completed", true
			case "FAILED", "DELETING":
				out[i] = ev
				return out, opErr("compute.snapshots.get", id, providers.ErrFailed, s.GetStatus(), "snapshot "+s.GetStatus())
			default:
				pending++
			}
			out[i] = ev
		}
		if pending == 0 {
			return out, nil
		}
		if !p.sleeper.Now().Before(deadline) {
			return out, opErr("compute.snapshots.get", strings.Join(ids, ","), providers.ErrTimeout, "snapshotTimeout",
				fmt.Sprintf("%d snapshot(s) not READY after %v", pending, timeout))
		}
		if err := p.sleepPoll(ctx, deadline); err != nil {
			return out, wrapErr("compute.snapshots.get", "", err)
		}
	}
}

// ProtectFromTermination keeps every disk if the VM is deleted (auto-delete
// off) and sets deletion protection. GCE refuses deletion protection on a
// MIG member: the disks are still kept, and the error (ErrConflict) says to
// abandon the VM first (ProtectFromScaling), which is the only protection
// from the group's own deletions.
func (c *Provider) ProtectFromTermination(ctx context.Context, instanceID string) (*providers.TerminationProtection, error) {
	p := c
	ref, err := p.resolve(ctx, instanceID)
	if err != nil {
		return nil, err
	}
	inst, err := p.getInstance(ctx, ref)
	if err != nil {
		return nil, err
	}
	res := &providers.TerminationProtection{Instance: ref.key(), PreviousDeleteOnTermination: map[string]bool{}}
	for _, d := range inst.GetDisks() {
		res.PreviousDeleteOnTermination[trimLink(d.GetSource())] = d.GetAutoDelete()
		if !d.GetAutoDelete() {
			continue
		}
		dev := d.GetDeviceName()
		if err := p.mutate(ctx, "compute.instances.setDiskAutoDelete", ref.key(), func(ctx context.Context) (*compute.Operation, error) {
			return p.instances.SetDiskAutoDelete(ctx, &computepb.SetDiskAutoDeleteInstanceRequest{Project: ref.project, Zone: ref.zone,
				Instance: ref.name, DeviceName: dev, AutoDelete: false}, noRetry)
		}); err != nil {
			return res, err
		}
	}
	if inst.GetDeletionProtection() {
		return res, nil
	}
	err = p.mutate(ctx, "compute.instances.setDeletionProtection", ref.key(), func(ctx context.Context) (*compute.Operation, error) {
		return p.instances.SetDeletionProtection(ctx, &computepb.SetDeletionProtectionInstanceRequest{Project: ref.project, Zone: ref.zone,
			Resource: ref.name, DeletionProtection: proto.Bool(true)}, noRetry)
	})
	if err != nil && migOf(inst, ref.project) != "" {
		return res, &providers.OpError{Op: "compute.instances.setDeletionProtection", Resource: ref.key(), Kind: providers.ErrConflict,
			Code: "memberOfManagedInstanceGroup",
			Err: fmt.Errorf("deletion protection cannot be set on a member of %s; disks are kept (auto-delete off); abandon the VM first: %w",
				migOf(inst, ref.project), err)}
	}
	return res, err
}

// ProtectFromScaling abandons the VM from its managed instance group, in
// every mode: GCE has no per-VM scale-in protection or standby. The VM
// keeps running, unmanaged, and the group's target size shrinks by one, so
// the group neither deletes it nor replaces it.
func (c *Provider) ProtectFromScaling(ctx context.Context, instanceID string, opts providers.ScalingOptions) (*providers.ScalingResult, error) {
	p := c
	ref, err := p.resolve(ctx, instanceID)
	if err != nil {
		return nil, err
	}
	inst, err := p.getInstance(ctx, ref)
	if err != nil {
		return nil, err
	}
	mig := migOf(inst, ref.project)
	if mig == "" {
		return &providers.ScalingResult{}, nil
	}
	parts := strings.Split(mig, "/")
	if len(parts) != 6 || parts[4] != "instanceGroupManagers" {
		return nil, opErr("compute.instanceGroupManagers.abandonInstances", mig, providers.ErrInvalid, "badCreatedBy", "unexpected created-by metadata "+mig)
	}
	url := "https://www.googleapis.com/compute/v1/" + ref.key()
	err = p.mutate(ctx, "compute.instanceGroupManagers.abandonInstances", mig, func(ctx context.Context) (*compute.Operation, error) {
		if parts[2] == "regions" {
			return p.regionMigs.AbandonInstances(ctx, &computepb.AbandonInstancesRegionInstanceGroupManagerRequest{Project: parts[1],
				Region: parts[3], InstanceGroupManager: parts[5],
				RegionInstanceGroupManagersAbandonInstancesRequestResource: &computepb.RegionInstanceGroupManagersAbandonInstancesRequest{Instances: []string{url}}}, noRetry)
		}
		return p.migs.AbandonInstances(ctx, &computepb.AbandonInstancesInstanceGroupManagerRequest{Project: parts[1], Zone: parts[3],
			InstanceGroupManager: parts[5],
			InstanceGroupManagersAbandonInstancesRequestResource: &computepb.InstanceGroupManagersAbandonInstancesRequest{Instances: []string{url}}}, noRetry)
	})
	if err != nil {
		return nil, err
	}
	return &providers.ScalingResult{Group: mig, PreviousState: "Managed", LifecycleState: "Abandoned"}, nil
}

// Stop stops the VM and waits until it is TERMINATED (GCE's "stopped").
// Hibernation is not offered: GCE's suspend keeps memory, but not in a
// form an investigator can read.
func (c *Provider) StopInstance(ctx context.Context, instanceID string, opts providers.StopOptions) error {
	p := c
	if opts.Hibernate {
		return opErr("compute.instances.suspend", instanceID, providers.ErrUnsupported, "hibernateUnsupported",
			"GCE suspend keeps memory but not readable as evidence; stop instead")
	}
	ref, err := p.resolve(ctx, instanceID)
	if err != nil {
		return err
	}
	return p.stopAndWait(ctx, ref, 10*time.Minute)
}

// stopAndWait stops a VM and polls until it is TERMINATED.
func (p *Provider) stopAndWait(ctx context.Context, ref instanceRef, timeout time.Duration) error {
	deadline := p.deadline(timeout)
	var op *compute.Operation
	if err := p.call(ctx, "compute.instances.stop", ref.key(), func(ctx context.Context) error {
		var err error
		op, err = p.instances.Stop(ctx, &computepb.StopInstanceRequest{Project: ref.project, Zone: ref.zone, Instance: ref.name}, noRetry)
		return err
	}); err != nil {
		return err
	}
	p.log.Info("GCP mutation", "op", "compute.instances.stop", "resource", ref.key(), "operation", op.Name())
	if err := p.waitOp(ctx, "compute.instances.stop", ref.key(), op, deadline); err != nil {
		return err
	}
	for {
		inst, err := p.getInstance(ctx, ref)
		if err != nil {
			return err
		}
		if inst.GetStatus() == "TERMINATED" {
			return nil
		}
		if !p.sleeper.Now().Before(deadline) {
			return opErr("compute.instances.stop", ref.key(), providers.ErrTimeout, "stopTimeout", "instance is still "+inst.GetStatus())
		}
		if err := p.sleepPoll(ctx, deadline); err != nil {
			return wrapErr("compute.instances.stop", ref.key(), err)
		}
	}
}

// Tag merges labels into VMs (labels are GCE's tags; network tags are
// firewall targets, used by Isolate). Keys and values are sanitised to
// GCE's label rules. A concurrent change (412 on the fingerprint) is
// retried with a fresh read.
func (c *Provider) Tag(ctx context.Context, resourceIDs []string, tags map[string]string) error {
	p := c
	labels := sanitizeLabels(tags)
	var errs []error
	for _, id := range resourceIDs {
		ref, err := p.resolve(ctx, id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		errs = append(errs, p.setLabels(ctx, ref, labels))
	}
	return errors.Join(errs...)
}

func (p *Provider) setLabels(ctx context.Context, ref instanceRef, labels map[string]string) error {
	for attempt := 0; ; attempt++ {
		inst, err := p.getInstance(ctx, ref)
		if err != nil {
			return err
		}
		merged := map[string]string{}
		for k, v := range inst.GetLabels() {
			merged[k] = v
		}
		for k, v := range labels {
			merged[k] = v
		}
		err = p.mutate(ctx, "compute.instances.setLabels", ref.key(), func(ctx context.Context) (*compute.Operation, error) {
			return p.instances.SetLabels(ctx, &computepb.SetLabelsInstanceRequest{Project: ref.project, Zone: ref.zone, Instance: ref.name,
				InstancesSetLabelsRequestResource: &computepb.InstancesSetLabelsRequest{Labels: merged, LabelFingerprint: inst.LabelFingerprint}}, noRetry)
		})
		if err != nil && isKind(err, providers.ErrConflict) && attempt < 3 {
			continue
		}
		return err
	}
}

// addNetworkTag adds a network tag to a VM, re-reading on a stale
// fingerprint, and returns the tags it had before.
func (p *Provider) addNetworkTag(ctx context.Context, ref instanceRef, tag string) (previous []string, err error) {
	for attempt := 0; ; attempt++ {
		inst, err := p.getInstance(ctx, ref)
		if err != nil {
			return nil, err
		}
		previous = append([]string(nil), inst.GetTags().GetItems()...)
		items := append([]string(nil), previous...)
		has := false
		for _, t := range items {
			has = has || t == tag
		}
		if has {
			return previous, nil
		}
		items = append(items, tag)
		sort.Strings(items)
		err = p.mutate(ctx, "compute.instances.setTags", ref.key(), func(ctx context.Context) (*compute.Operation, error) {
			return p.instances.SetTags(ctx, &computepb.SetTagsInstanceRequest{Project: ref.project, Zone: ref.zone, Instance: ref.name,
				TagsResource: &computepb.Tags{Items: items, Fingerprint: inst.GetTags().Fingerprint}}, noRetry)
		})
		if err != nil && isKind(err, providers.ErrConflict) && attempt < 3 {
			continue
		}
		return previous, err
	}
}

// ServiceAccountUsers lists the VMs of the project that run as the service
// account: everything that loses API access when it is disabled.
func (p *Provider) ServiceAccountUsers(ctx context.Context, email string) ([]string, error) {
	var users []string
	err := p.call(ctx, "compute.instances.aggregatedList", email, func(ctx context.Context) error {
		users = nil
		it := p.instances.AggregatedList(ctx, &computepb.AggregatedListInstancesRequest{Project: p.project}, noRetry)
		for {
			pair, err := it.Next()
			if err == iterator.Done {
				return nil
			}
			if err != nil {
				return err
			}
			for _, inst := range pair.Value.GetInstances() {
				for _, sa := range inst.GetServiceAccounts() {
					if sa.GetEmail() == email {
						users = append(users, trimLink(inst.GetSelfLink()))
					}
				}
			}
		}
	})
	sort.Strings(users)
	return users, err
}

// HaltInstance stops a VM without waiting (GCE ids are global paths:
// region is not needed); a stopped VM bills only its disks.
func (p *Provider) HaltInstance(ctx context.Context, id, _ string) error {
	ref, err := p.resolve(ctx, id)
	if err != nil {
		return err
	}
	return p.mutate(ctx, "compute.instances.stop", ref.key(), func(ctx context.Context) (*compute.Operation, error) {
		return p.instances.Stop(ctx, &computepb.StopInstanceRequest{Project: ref.project, Zone: ref.zone, Instance: ref.name}, noRetry)
	})
}

// TerminateInstance deletes a VM (GCE ids are global paths: region is not
// needed).
func (p *Provider) TerminateInstance(ctx context.Context, id, _ string) error {
	ref, err := p.resolve(ctx, id)
	if err != nil {
		return err
	}
	return p.mutate(ctx, "compute.instances.delete", ref.key(), func(ctx context.Context) (*compute.Operation, error) {
		return p.instances.Delete(ctx, &computepb.DeleteInstanceRequest{Project: ref.project, Zone: ref.zone, Instance: ref.name}, noRetry)
	})
}
