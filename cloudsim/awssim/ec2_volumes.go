package awssim

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/awsworld"
)

// ---- volumes --------------------------------------------------------------

// ec2LookupVolume finds a live volume of the caller's account; deleted volumes
// (DeleteOnTermination) are gone.
func ec2LookupVolume(c *Call, id string) (*world.Volume, error) {
	v, ok := c.World.Volumes.Get(id)
	if !ok || v.State == "deleted" || v.Account != c.Account() || v.Region != c.Region || c.Hidden(v.CreateTime) {
		return nil, Errf(400, "InvalidVolume.NotFound", "The volume '%s' does not exist.", id)
	}
	c.Touch("AWS::EC2::Volume", id)
	return v, nil
}

// ec2VolumeDeleteOnTermination reads the flag from the attached instance's
// block-device mapping, where EC2 keeps it.
func ec2VolumeDeleteOnTermination(w *world.World, v *world.Volume) bool {
	if inst := w.Instances.Lookup(v.Attached); inst != nil {
		for _, bd := range inst.BlockDevices {
			if bd.VolumeID == v.ID {
				return bd.DeleteOnTermination
			}
		}
	}
	return false
}

func ec2VolumeFilter(c *Call, v *world.Volume) ec2FilterField {
	return func(name string) ([]string, bool) {
		if vals, ok := ec2TagFilter(name, v.Tags); ok {
			return vals, true
		}
		switch name {
		case "volume-id":
			return []string{v.ID}, true
		case "attachment.instance-id":
			return []string{v.Attached}, true
		case "attachment.device":
			return []string{v.Device}, true
		case "attachment.delete-on-termination":
			if v.Attached == "" {
				return nil, true
			}
			return []string{strconv.FormatBool(ec2VolumeDeleteOnTermination(c.World, v))}, true
		case "attachment.status":
			if v.Attached == "" {
				return nil, true
			}
			return []string{"attached"}, true
		case "status":
			return []string{v.State}, true
		case "availability-zone":
			return []string{v.AZ}, true
		case "size":
			return []string{strconv.Itoa(v.SizeGiB)}, true
		case "volume-type":
			return []string{v.Type}, true
		case "encrypted":
			return []string{strconv.FormatBool(v.Encrypted)}, true
		case "snapshot-id":
			return []string{v.SnapshotID}, true
		}
		return nil, false
	}
}

func ec2VolumeXML(c *Call, v *world.Volume) *X {
	var attachments []*X
	if v.Attached != "" {
		at := v.CreateTime
		if inst := c.World.Instances.Lookup(v.Attached); inst != nil {
			at = inst.LaunchTime
		}
		attachments = append(attachments, E("item", T("volumeId", v.ID), T("instanceId", v.Attached),
			T("device", v.Device), T("status", "attached"), T("attachTime", at),
			T("deleteOnTermination", ec2VolumeDeleteOnTermination(c.World, v))))
	}
	return E("item", T("volumeId", v.ID), T("size", v.SizeGiB), T("snapshotId", v.SnapshotID),
		T("availabilityZone", v.AZ), T("status", v.State), T("createTime", v.CreateTime),
		L("attachmentSet", attachments), T("volumeType", v.Type), T("encrypted", v.Encrypted),
		TO("kmsKeyId", v.KMSKeyID), T("multiAttachEnabled", false), ec2TagSetXML(v.Tags))
}

func ec2DescribeVolumes(c *Call) (any, error) {
	ids := c.Form.List("VolumeId")
	filters := c.Form.Filters()
	if err := ec2CheckFilters(filters, ec2VolumeFilter(c, &world.Volume{})); err != nil {
		return nil, err
	}
	if len(ids) > 0 && c.Form.Has("MaxResults") {
		return nil, Errf(400, "InvalidParameterCombination", "The parameter volumeSet cannot be used with the parameter maxResults")
	}
	for _, id := range ids {
		if _, err := ec2LookupVolume(c, id); err != nil {
			return nil, err
		}
	}
	var matched []*world.Volume
	for _, id := range c.World.Volumes.Keys() {
		v := c.World.Volumes.Lookup(id)
		if v.State == "deleted" || v.Account != c.Account() || v.Region != c.Region || c.Hidden(v.CreateTime) {
			continue
		}
		if len(ids) > 0 && !ec2ContainsString(ids, id) {
			continue
		}
		ok, err := ec2MatchFilters(filters, ec2VolumeFilter(c, v))
		if err != nil {
			return nil, err
		}
		if ok {
			matched = append(matched, v)
		}
	}
	return ec2PageCapped(c, "volumeSet", matched, 1000, 500, func(v *world.Volume) *X {
		return ec2VolumeXML(c, v)
	})
}

// ---- snapshots --------------------------------------------------------------

func ec2SnapshotFields(c *Call, s *world.Snapshot, stateName string) []*X {
	return []*X{T("snapshotId", s.ID), T("volumeId", s.VolumeID), T(stateName, s.State(c.Now)),
		T("startTime", s.StartTime), T("progress", fmt.Sprintf("%d%%", s.Progress(c.Now))),
		T("ownerId", s.Account), T("volumeSize", s.VolumeSizeGiB), T("description", s.Description),
		T("encrypted", s.Encrypted), ec2TagSetXML(s.Tags)}
}

func ec2SnapshotXML(c *Call, s *world.Snapshot) *X {
	kids := ec2SnapshotFields(c, s, "status")
	kids = append(kids, T("storageTier", "standard"))
	if s.State(c.Now) == "completed" {
		kids = append(kids, T("completionTime", s.CompleteAt))
	}
	return E("item", kids...)
}

func ec2CreateSnapshot(c *Call) (any, error) {
	volID, err := ec2RequireParam(c, "VolumeId", "VolumeId")
	if err != nil {
		return nil, err
	}
	if _, err := ec2LookupVolume(c, volID); err != nil {
		return nil, err
	}
	s, err := awsworld.Of(c.World).CreateSnapshot(volID, c.Form.Get("Description"), c.Caller.ARN, ec2TagSpecs(c, "snapshot"))
	if err != nil {
		return nil, ec2Error(err)
	}
	c.Touch("AWS::EC2::Snapshot", s.ID)
	return ec2SnapshotFields(c, s, "status"), nil
}

// ec2CreateSnapshots takes crash-consistent snapshots of an instance's volumes.
func ec2CreateSnapshots(c *Call) (any, error) {
	id, err := ec2RequireParam(c, "InstanceSpecification.InstanceId", "InstanceSpecification.InstanceId")
	if err != nil {
		return nil, err
	}
	if _, err := ec2LookupInstance(c, id); err != nil {
		return nil, err
	}
	excludeBoot, _ := c.Form.Bool("InstanceSpecification.ExcludeBootVolume")
	copyTags := strings.EqualFold(c.Form.Get("CopyTagsFromSource"), "volume")
	snaps, err := awsworld.Of(c.World).SnapshotInstance(id, excludeBoot, c.Form.List("InstanceSpecification.ExcludeDataVolumeId"),
		copyTags, c.Form.Get("Description"), c.Caller.ARN, ec2TagSpecs(c, "snapshot"))
	if err != nil {
		return nil, ec2Error(err)
	}
	var items []*X
	for _, s := range snaps {
		c.Touch("AWS::EC2::Snapshot", s.ID)
		items = append(items, E("item", ec2SnapshotFields(c, s, "state")...))
	}
	return []*X{L("snapshotSet", items)}, nil
}

func ec2SnapshotFilter(c *Call, s *world.Snapshot) ec2FilterField {
	return func(name string) ([]string, bool) {
		if vals, ok := ec2TagFilter(name, s.Tags); ok {
			return vals, true
		}
		switch name {
		case "snapshot-id":
			return []string{s.ID}, true
		case "volume-id":
			return []string{s.VolumeID}, true
		case "status":
			return []string{s.State(c.Now)}, true
		case "owner-id":
			return []string{s.Account}, true
		case "description":
			return []string{s.Description}, true
		case "progress":
			return []string{fmt.Sprintf("%d%%", s.Progress(c.Now))}, true
		case "encrypted":
			return []string{strconv.FormatBool(s.Encrypted)}, true
		case "volume-size":
			return []string{strconv.Itoa(s.VolumeSizeGiB)}, true
		}
		return nil, false
	}
}

func ec2DescribeSnapshots(c *Call) (any, error) {
	ids := c.Form.List("SnapshotId")
	owners := c.Form.List("Owner")
	filters := c.Form.Filters()
	if err := ec2CheckFilters(filters, ec2SnapshotFilter(c, &world.Snapshot{})); err != nil {
		return nil, err
	}
	visible := func(s *world.Snapshot) bool {
		return !s.Deleted && s.Account == c.Account() && s.Region == c.Region && !c.Hidden(s.StartTime)
	}
	for _, id := range ids {
		if s, ok := c.World.Snapshots.Get(id); !ok || !visible(s) {
			return nil, Errf(400, "InvalidSnapshot.NotFound", "The snapshot '%s' does not exist.", id)
		}
		c.Touch("AWS::EC2::Snapshot", id)
	}
	ownerOK := func(s *world.Snapshot) bool {
		if len(owners) == 0 {
			return true
		}
		for _, o := range owners {
			if o == "self" || o == s.Account {
				return true
			}
		}
		return false
	}
	var matched []*world.Snapshot
	for _, id := range c.World.Snapshots.Keys() {
		s := c.World.Snapshots.Lookup(id)
		if !visible(s) || !ownerOK(s) || (len(ids) > 0 && !ec2ContainsString(ids, id)) {
			continue
		}
		ok, err := ec2MatchFilters(filters, ec2SnapshotFilter(c, s))
		if err != nil {
			return nil, err
		}
		if ok {
			matched = append(matched, s)
		}
	}
	return ec2Page(c, "snapshotSet", matched, 1000, func(s *world.Snapshot) *X {
		return ec2SnapshotXML(c, s)
	})
}

// ---- tags ----------------------------------------------------------------------

// ec2Taggable resolves a resource ID of the caller's account for the tag
// operations, answering the NotFound code of its type.
func ec2Taggable(c *Call, id string) (world.Tags, string, error) {
	w := c.World
	owned := false
	switch {
	case w.Instances.Lookup(id) != nil:
		owned = w.Instances.Lookup(id).Account == c.Account() && w.Instances.Lookup(id).Visible(c.Now)
	case w.Volumes.Lookup(id) != nil:
		owned = w.Volumes.Lookup(id).Account == c.Account()
	case w.Snapshots.Lookup(id) != nil:
		owned = w.Snapshots.Lookup(id).Account == c.Account()
	case awsworld.Of(w).SecurityGroups.Lookup(id) != nil:
		owned = awsworld.Of(w).SecurityGroups.Lookup(id).Account == c.Account()
	case w.ENIs.Lookup(id) != nil:
		owned = w.ENIs.Lookup(id).Account == c.Account()
	case w.VPCs.Lookup(id) != nil:
		owned = w.VPCs.Lookup(id).Account == c.Account()
	}
	tags, typ, ok := awsworld.Of(w).ResourceTags(id)
	if !ok || !owned {
		switch {
		case strings.HasPrefix(id, "i-"):
			if !ec2InstanceIDRe.MatchString(id) {
				return nil, "", Errf(400, "InvalidInstanceID.Malformed", "Invalid id: %q", id)
			}
			return nil, "", Errf(400, "InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", id)
		case strings.HasPrefix(id, "vol-"):
			return nil, "", Errf(400, "InvalidVolume.NotFound", "The volume '%s' does not exist.", id)
		case strings.HasPrefix(id, "snap-"):
			return nil, "", Errf(400, "InvalidSnapshot.NotFound", "The snapshot '%s' does not exist.", id)
		case strings.HasPrefix(id, "sg-"):
			return nil, "", Errf(400, "InvalidGroup.NotFound", "The security group '%s' does not exist", id)
		case strings.HasPrefix(id, "eni-"):
			return nil, "", Errf(400, "InvalidNetworkInterfaceID.NotFound", "The networkInterface ID '%s' does not exist", id)
		case strings.HasPrefix(id, "vpc-"):
			return nil, "", Errf(400, "InvalidVpcID.NotFound", "The vpc ID '%s' does not exist", id)
		}
		return nil, "", Errf(400, "InvalidID", "The ID '%s' is not valid", id)
	}
	return tags, typ, nil
}

var ec2AuditTypes = map[string]string{"instance": "AWS::EC2::Instance", "volume": "AWS::EC2::Volume",
	"snapshot": "AWS::EC2::Snapshot", "security-group": "AWS::EC2::SecurityGroup",
	"network-interface": "AWS::EC2::NetworkInterface", "vpc": "AWS::EC2::VPC"}

func ec2CreateTags(c *Call) (any, error) {
	ids := c.Form.List("ResourceId")
	if len(ids) == 0 {
		return nil, Errf(400, "MissingParameter", "The request must contain the parameter resourceIdSet")
	}
	tags := c.Form.Tags("Tag")
	if len(tags) == 0 {
		return nil, Errf(400, "MissingParameter", "The request must contain the parameter tagSet")
	}
	for k := range tags {
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return nil, Errf(400, "InvalidParameterValue", "Tag keys starting with 'aws:' are reserved for internal use")
		}
	}
	for _, id := range ids {
		if _, _, err := ec2Taggable(c, id); err != nil {
			return nil, err
		}
	}
	for _, id := range ids {
		_, typ, _ := ec2Taggable(c, id)
		c.Touch(ec2AuditTypes[typ], id)
		if err := awsworld.Of(c.World).TagResource(id, tags); err != nil {
			return nil, ec2Error(err)
		}
	}
	var kv []string
	for _, k := range world.SortedKeys(tags) {
		kv = append(kv, k+"="+tags[k])
	}
	c.Param("tags", strings.Join(kv, ","))
	return []*X{T("return", true)}, nil
}

func ec2DeleteTags(c *Call) (any, error) {
	ids := c.Form.List("ResourceId")
	if len(ids) == 0 {
		return nil, Errf(400, "MissingParameter", "The request must contain the parameter resourceIdSet")
	}
	var keys []string
	values := map[string]string{}
	for _, t := range c.Form.Structs("Tag") {
		k := t.Get("Key")
		keys = append(keys, k)
		if t.Has("Value") {
			values[k] = t.Get("Value")
		}
	}
	for _, id := range ids {
		if _, _, err := ec2Taggable(c, id); err != nil {
			return nil, err
		}
	}
	for _, id := range ids {
		_, typ, _ := ec2Taggable(c, id)
		c.Touch(ec2AuditTypes[typ], id)
		if err := awsworld.Of(c.World).UntagResource(id, keys, values); err != nil {
			return nil, ec2Error(err)
		}
	}
	return []*X{T("return", true)}, nil
}

func ec2DescribeTags(c *Call) (any, error) {
	filters := c.Form.Filters()
	type row struct{ id, typ, key, value string }
	field := func(r row) ec2FilterField {
		return func(name string) ([]string, bool) {
			switch name {
			case "resource-id":
				return []string{r.id}, true
			case "resource-type":
				return []string{r.typ}, true
			case "key":
				return []string{r.key}, true
			case "value":
				return []string{r.value}, true
			}
			return nil, false
		}
	}
	if err := ec2CheckFilters(filters, field(row{})); err != nil {
		return nil, err
	}
	w := c.World
	var ids []string
	for _, m := range [][]string{w.Instances.Keys(), w.Volumes.Keys(), w.Snapshots.Keys(),
		awsworld.Of(w).SecurityGroups.Keys(), w.ENIs.Keys(), w.VPCs.Keys()} {
		ids = append(ids, m...)
	}
	var rows []row
	for _, id := range ids {
		tags, typ, err := ec2Taggable(c, id)
		if err != nil {
			continue
		}
		for _, k := range world.SortedKeys(tags) {
			r := row{id, typ, k, tags[k]}
			ok, err := ec2MatchFilters(filters, field(r))
			if err != nil {
				return nil, err
			}
			if ok {
				rows = append(rows, r)
			}
		}
	}
	return ec2Page(c, "tagSet", rows, 1000, func(r row) *X {
		return E("item", T("resourceId", r.id), T("resourceType", r.typ), T("key", r.key), T("value", r.value))
	})
}
