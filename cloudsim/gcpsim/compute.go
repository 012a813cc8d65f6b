package gcpsim

import (
	"fmt"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/proto"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/gcpworld"
)

const (
	latRead   = 80 * time.Millisecond
	latList   = 140 * time.Millisecond
	latMutate = 250 * time.Millisecond
	latPoll   = 60 * time.Millisecond
)

func computeRoutes() []*route {
	const z = "compute/v1/projects/{project}/zones/{zone}/"
	const g = "compute/v1/projects/{project}/global/"
	const rg = "compute/v1/projects/{project}/regions/{region}/"
	c := "compute"
	return []*route{
		r("GET", z+"instances/{instance}", c, "instances.get", "compute.instances.get", true, latRead, instanceGet),
		r("GET", z+"instances", c, "instances.list", "compute.instances.list", true, latList, instanceList),
		r("GET", "compute/v1/projects/{project}/aggregated/instances", c, "instances.aggregatedList", "compute.instances.list", true, latList, instanceAggregated),
		r("POST", z+"instances/{instance}/setTags", c, "instances.setTags", "compute.instances.setTags", false, latMutate, instanceSetTags),
		r("POST", z+"instances/{instance}/setLabels", c, "instances.setLabels", "compute.instances.setLabels", false, latMutate, instanceSetLabels),
		r("POST", z+"instances/{instance}/setDeletionProtection", c, "instances.setDeletionProtection", "compute.instances.setDeletionProtection", false, latMutate, instanceSetDeletionProtection),
		r("POST", z+"instances/{instance}/setDiskAutoDelete", c, "instances.setDiskAutoDelete", "compute.instances.setDiskAutoDelete", false, latMutate, instanceSetDiskAutoDelete),
		r("POST", z+"instances/{instance}/stop", c, "instances.stop", "compute.instances.stop", false, latMutate, instanceStop),
		r("POST", z+"instances/{instance}/start", c, "instances.start", "compute.instances.start", false, latMutate, instanceStart),
		r("POST", z+"instances/{instance}/setServiceAccount", c, "instances.setServiceAccount", "compute.instances.setServiceAccount", false, latMutate, instanceSetServiceAccount),
		r("POST", z+"instances/{instance}/deleteAccessConfig", c, "instances.deleteAccessConfig", "compute.instances.deleteAccessConfig", false, latMutate, instanceDeleteAccessConfig),
		r("POST", z+"instances/{instance}/addAccessConfig", c, "instances.addAccessConfig", "compute.instances.addAccessConfig", false, latMutate, instanceAddAccessConfig),
		r("DELETE", z+"instances/{instance}", c, "instances.delete", "compute.instances.delete", false, latMutate, instanceDelete),
		r("GET", z+"disks/{disk}", c, "disks.get", "compute.disks.get", true, latRead, diskGet),
		r("POST", z+"disks/{disk}/createSnapshot", c, "disks.createSnapshot", "compute.disks.createSnapshot", false, latMutate, diskCreateSnapshot),
		r("POST", g+"snapshots", c, "snapshots.insert", "compute.snapshots.create", false, latMutate, snapshotInsert),
		r("GET", g+"snapshots/{snapshot}", c, "snapshots.get", "compute.snapshots.get", true, latRead, snapshotGet),
		r("POST", g+"firewalls", c, "firewalls.insert", "compute.firewalls.create", false, latMutate, firewallInsert),
		r("GET", g+"firewalls", c, "firewalls.list", "compute.firewalls.list", true, latList, firewallList),
		r("GET", g+"firewalls/{firewall}", c, "firewalls.get", "compute.firewalls.get", true, latRead, firewallGet),
		r("DELETE", g+"firewalls/{firewall}", c, "firewalls.delete", "compute.firewalls.delete", false, latMutate, firewallDelete),
		r("PATCH", g+"firewalls/{firewall}", c, "firewalls.patch", "compute.firewalls.update", false, latMutate, firewallPatch),
		r("GET", g+"networks/{network}", c, "networks.get", "compute.networks.get", true, latRead, networkGet),
		r("GET", z+"instanceGroupManagers/{igm}", c, "instanceGroupManagers.get", "compute.instanceGroupManagers.get", true, latRead, migGet(false)),
		r("POST", z+"instanceGroupManagers/{igm}/listManagedInstances", c, "instanceGroupManagers.listManagedInstances", "compute.instanceGroupManagers.get", true, latList, migList(false)),
		r("POST", z+"instanceGroupManagers/{igm}/abandonInstances", c, "instanceGroupManagers.abandonInstances", "compute.instanceGroupManagers.update", false, latMutate, migAbandon(false)),
		r("GET", rg+"instanceGroupManagers/{igm}", c, "regionInstanceGroupManagers.get", "compute.instanceGroupManagers.get", true, latRead, migGet(true)),
		r("POST", rg+"instanceGroupManagers/{igm}/listManagedInstances", c, "regionInstanceGroupManagers.listManagedInstances", "compute.instanceGroupManagers.get", true, latList, migList(true)),
		r("POST", rg+"instanceGroupManagers/{igm}/abandonInstances", c, "regionInstanceGroupManagers.abandonInstances", "compute.instanceGroupManagers.update", false, latMutate, migAbandon(true)),
		r("GET", z+"operations/{operation}", c, "zoneOperations.get", "compute.zoneOperations.get", true, latPoll, getOperation("zones")),
		r("GET", rg+"operations/{operation}", c, "regionOperations.get", "compute.regionOperations.get", true, latPoll, getOperation("regions")),
		r("GET", g+"operations/{operation}", c, "globalOperations.get", "compute.globalOperations.get", true, latPoll, getOperation("global")),
		// wait (what gcloud polls) answers at once: handlers never wait on
		// the clock, so callers call it again until the operation is DONE.
		r("POST", z+"operations/{operation}/wait", c, "zoneOperations.wait", "compute.zoneOperations.get", true, latPoll, getOperation("zones")),
		r("POST", rg+"operations/{operation}/wait", c, "regionOperations.wait", "compute.regionOperations.get", true, latPoll, getOperation("regions")),
		r("POST", g+"operations/{operation}/wait", c, "globalOperations.wait", "compute.globalOperations.get", true, latPoll, getOperation("global")),
	}
}

// instanceProto renders a VM as instances.get answers it.
func (c *call) instanceProto(inst *gcpworld.Instance) *computepb.Instance {
	g := gcpworld.Of(c.w)
	zoneKey := fmt.Sprintf("projects/%s/zones/%s", inst.Project, inst.Zone)
	p := &computepb.Instance{
		Kind: proto.String("compute#instance"), Id: proto.Uint64(inst.ID), Name: proto.String(inst.Name),
		CreationTimestamp: proto.String(ts(inst.Created)), Zone: proto.String(link(zoneKey)),
		MachineType: proto.String(link(zoneKey + "/machineTypes/" + inst.MachineType)),
		Status:      proto.String(inst.Status), SelfLink: proto.String(link(inst.Key)),
		Tags:             &computepb.Tags{Items: append([]string(nil), inst.Tags...), Fingerprint: proto.String(inst.TagsFingerprint)},
		LabelFingerprint: proto.String(inst.LabelFingerprint), DeletionProtection: proto.Bool(inst.DeletionProtection),
		CpuPlatform: proto.String("Intel Broadwell"), Fingerprint: proto.String(inst.TagsFingerprint),
		LastStartTimestamp: proto.String(ts(inst.LastStart)),
		Metadata:           &computepb.Metadata{Kind: proto.String("compute#metadata"), Fingerprint: proto.String(inst.MetadataFingerprint)},
	}
	if len(inst.Labels) > 0 {
		p.Labels = map[string]string{}
		for k, v := range inst.Labels {
			p.Labels[k] = v
		}
	}
	if !inst.LastStop.IsZero() {
		p.LastStopTimestamp = proto.String(ts(inst.LastStop))
	}
	for _, k := range world.SortedKeys(inst.Metadata) {
		p.Metadata.Items = append(p.Metadata.Items, &computepb.Items{Key: proto.String(k), Value: proto.String(inst.Metadata[k])})
	}
	if inst.ServiceAccount != "" {
		p.ServiceAccounts = []*computepb.ServiceAccount{{Email: proto.String(inst.ServiceAccount), Scopes: append([]string(nil), inst.Scopes...)}}
	}
	for _, n := range inst.NICs {
		np := &computepb.NetworkInterface{Kind: proto.String("compute#networkInterface"), Name: proto.String(n.Name),
			Network: proto.String(link(n.Network)), Subnetwork: proto.String(link(n.Subnet)),
			NetworkIP: proto.String(n.NetworkIP), Fingerprint: proto.String(n.Fingerprint), StackType: proto.String("IPV4_ONLY")}
		for _, ac := range n.AccessConfigs {
			np.AccessConfigs = append(np.AccessConfigs, &computepb.AccessConfig{Kind: proto.String("compute#accessConfig"),
				Name: proto.String(ac.Name), Type: proto.String(ac.Type), NatIP: proto.String(ac.NatIP), NetworkTier: proto.String(ac.NetworkTier)})
		}
		p.NetworkInterfaces = append(p.NetworkInterfaces, np)
	}
	for _, d := range inst.Disks {
		ad := &computepb.AttachedDisk{Kind: proto.String("compute#attachedDisk"), Type: proto.String("PERSISTENT"),
			Mode: proto.String(d.Mode), Source: proto.String(link(d.Disk)), DeviceName: proto.String(d.DeviceName),
			Index: proto.Int32(int32(d.Index)), Boot: proto.Bool(d.Boot), AutoDelete: proto.Bool(d.AutoDelete),
			Interface: proto.String("SCSI")}
		if disk := g.Disks.Lookup(d.Disk); disk != nil {
			ad.DiskSizeGb = proto.Int64(int64(disk.SizeGb))
		}
		p.Disks = append(p.Disks, ad)
	}
	return p
}

// instanceFor resolves the {zone}/{instance} of the request; stale-window
// faults hide instances younger than the window.
func (c *call) instanceFor() (*gcpworld.Instance, *apiError) {
	inst, err := gcpworld.Of(c.w).FindInstance(c.project, c.vars["zone"], c.vars["instance"])
	if err != nil {
		return nil, fromWorld(err)
	}
	if c.hidden(inst.Created) {
		return nil, notFoundErr("compute", inst.Key)
	}
	c.resource("gce_instance", inst.Key, map[string]string{"instance_id": strconv.FormatUint(inst.ID, 10), "zone": inst.Zone, "project_id": inst.Project})
	return inst, nil
}

func zoneScope(inst *gcpworld.Instance) string { return "zones/" + inst.Zone }

func instanceGet(c *call) (any, *apiError) {
	inst, e := c.instanceFor()
	if e != nil {
		return nil, e
	}
	return c.instanceProto(inst), nil
}

// listFilter is the small subset of the Compute list filter language the
// simulator understands: `field = "value"` / `field != value` terms joined
// by AND (or space), where field is name, status, zone, labels.KEY, or a
// firewall's network/direction/targetTags/disabled/priority.
type listFilter []struct {
	field, op, value string
}

var filterTerm = regexp.MustCompile(`^\(?\s*([A-Za-z][A-Za-z0-9_.]*)\s*(=|!=|eq|ne)\s*"?([^")]*)"?\s*\)?$`)

func parseListFilter(s string) (listFilter, *apiError) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	var terms []string
	for _, part := range regexp.MustCompile(`\s+AND\s+|\)\s+\(`).Split(s, -1) {
		if strings.TrimSpace(part) != "" {
			terms = append(terms, strings.TrimSpace(part))
		}
	}
	var f listFilter
	for _, t := range terms {
		m := filterTerm.FindStringSubmatch(t)
		if m == nil {
			return nil, badRequest("compute", "Invalid value for field 'filter': '%s'. Invalid list filter expression.", s)
		}
		op := m[2]
		switch op {
		case "eq":
			op = "="
		case "ne":
			op = "!="
		}
		f = append(f, struct{ field, op, value string }{m[1], op, m[3]})
	}
	return f, nil
}

func (f listFilter) matches(get func(field string) []string) bool {
	for _, t := range f {
		vals := get(t.field)
		hit := false
		for _, v := range vals {
			if v == t.value || path.Base(v) == t.value {
				hit = true
			}
			if ok, _ := regexp.MatchString("^(?:"+t.value+")$", v); ok {
				hit = true
			}
		}
		if (t.op == "=") != hit {
			return false
		}
	}
	return true
}

func instanceFields(inst *gcpworld.Instance) func(string) []string {
	return func(field string) []string {
		switch {
		case field == "name":
			return []string{inst.Name}
		case field == "status":
			return []string{inst.Status}
		case field == "zone":
			return []string{inst.Zone}
		case field == "id":
			return []string{strconv.FormatUint(inst.ID, 10)}
		case strings.HasPrefix(field, "labels."):
			if v, ok := inst.Labels[strings.TrimPrefix(field, "labels.")]; ok {
				return []string{v}
			}
		case field == "tags.items":
			return inst.Tags
		case field == "serviceAccounts.email":
			return []string{inst.ServiceAccount}
		}
		return nil
	}
}

// page applies maxResults/pageToken (an offset) to n items.
func (c *call) page(n int) (lo, hi int, next string, e *apiError) {
	max := 500
	if v := c.query.Get("maxResults"); v != "" {
		m, err := strconv.Atoi(v)
		if err != nil || m < 0 || m > 500 {
			return 0, 0, "", badRequest("compute", "Invalid value for field 'maxResults': '%s'. Must be less than or equal to 500", v)
		}
		if m > 0 {
			max = m
		}
	}
	if v := c.query.Get("pageToken"); v != "" {
		o, err := strconv.Atoi(strings.TrimPrefix(v, "p"))
		if err != nil || o < 0 || o > n {
			return 0, 0, "", badRequest("compute", "Invalid value for field 'pageToken': '%s'.", v)
		}
		lo = o
	}
	hi = lo + max
	if hi < n {
		next = fmt.Sprintf("p%d", hi)
	} else {
		hi = n
	}
	return lo, hi, next, nil
}

func (c *call) instancesMatching(zone string) ([]*gcpworld.Instance, *apiError) {
	f, e := parseListFilter(c.query.Get("filter"))
	if e != nil {
		return nil, e
	}
	g := gcpworld.Of(c.w)
	var out []*gcpworld.Instance
	for _, k := range g.Instances.Keys() {
		inst := g.Instances.Lookup(k)
		if inst.Project != c.project || (zone != "" && inst.Zone != zone) || c.hidden(inst.Created) {
			continue
		}
		if f.matches(instanceFields(inst)) {
			out = append(out, inst)
		}
	}
	return out, nil
}

func instanceList(c *call) (any, *apiError) {
	insts, e := c.instancesMatching(c.vars["zone"])
	if e != nil {
		return nil, e
	}
	c.resource("gce_instance", fmt.Sprintf("projects/%s/zones/%s/instances", c.project, c.vars["zone"]), nil)
	lo, hi, next, e := c.page(len(insts))
	if e != nil {
		return nil, e
	}
	out := &computepb.InstanceList{Kind: proto.String("compute#instanceList"), Id: proto.String(fmt.Sprintf("projects/%s/zones/%s/instances", c.project, c.vars["zone"])),
		SelfLink: proto.String(link(fmt.Sprintf("projects/%s/zones/%s/instances", c.project, c.vars["zone"])))}
	for _, inst := range insts[lo:hi] {
		out.Items = append(out.Items, c.instanceProto(inst))
	}
	if next != "" {
		out.NextPageToken = proto.String(next)
	}
	return out, nil
}

func instanceAggregated(c *call) (any, *apiError) {
	insts, e := c.instancesMatching("")
	if e != nil {
		return nil, e
	}
	c.resource("gce_instance", fmt.Sprintf("projects/%s/aggregated/instances", c.project), nil)
	out := &computepb.InstanceAggregatedList{Kind: proto.String("compute#instanceAggregatedList"),
		Id: proto.String(fmt.Sprintf("projects/%s/aggregated/instances", c.project)),
		Items: scoped(insts, func(inst *gcpworld.Instance) string { return "zones/" + inst.Zone },
			func(l *computepb.InstancesScopedList, inst *gcpworld.Instance) {
				l.Instances = append(l.Instances, c.instanceProto(inst))
			}),
		SelfLink: proto.String(link(fmt.Sprintf("projects/%s/aggregated/instances", c.project)))}
	return out, nil
}

func instanceSetTags(c *call) (any, *apiError) {
	inst, e := c.instanceFor()
	if e != nil {
		return nil, e
	}
	var body computepb.Tags
	if e := c.decode(&body); e != nil {
		return nil, e
	}
	if body.Fingerprint == nil || body.GetFingerprint() == "" {
		return nil, badRequest("compute", "Invalid value for field 'resource.tags.fingerprint': ''. Supplied fingerprint does not match current metadata fingerprint.")
	}
	if body.GetFingerprint() != inst.TagsFingerprint {
		return nil, &apiError{code: 412, status: "FAILED_PRECONDITION", reason: "conditionNotMet", legacy: true,
			message: "Supplied fingerprint does not match current metadata fingerprint."}
	}
	for _, t := range body.Items {
		if !tagRe.MatchString(t) {
			return nil, badRequest("compute", "Invalid value for field 'resource.tags.items[0]': '%s'. Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'", t)
		}
	}
	tags := append([]string(nil), body.Items...)
	sort.Strings(tags)
	inst.Tags = dedupeSorted(tags)
	inst.TagsFingerprint = gcpworld.Of(c.w).Fingerprint()
	return c.newOp("setTags", zoneScope(inst), inst.Key, inst.ID, nil, time.Time{}), nil
}

var (
	tagRe        = regexp.MustCompile(`^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$`)
	labelKeyRe   = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)
	labelValueRe = regexp.MustCompile(`^[a-z0-9_-]{0,63}$`)
)

func dedupeSorted(in []string) []string {
	out := in[:0]
	for i, s := range in {
		if i == 0 || s != in[i-1] {
			out = append(out, s)
		}
	}
	return out
}

func instanceSetLabels(c *call) (any, *apiError) {
	inst, e := c.instanceFor()
	if e != nil {
		return nil, e
	}
	var body computepb.InstancesSetLabelsRequest
	if e := c.decode(&body); e != nil {
		return nil, e
	}
	if body.GetLabelFingerprint() != inst.LabelFingerprint {
		return nil, &apiError{code: 412, status: "FAILED_PRECONDITION", reason: "conditionNotMet", legacy: true,
			message: "Labels fingerprint either invalid or resource labels have changed"}
	}
	if e := validateLabels(body.Labels); e != nil {
		return nil, e
	}
	inst.Labels = map[string]string{}
	for k, v := range body.Labels {
		inst.Labels[k] = v
	}
	if wi := c.w.Instances.Lookup(inst.Key); wi != nil {
		wi.Tags = world.Tags{}
		for k, v := range body.Labels {
			wi.Tags[k] = v
		}
	}
	inst.LabelFingerprint = gcpworld.Of(c.w).Fingerprint()
	return c.newOp("setLabels", zoneScope(inst), inst.Key, inst.ID, nil, time.Time{}), nil
}

func validateLabels(labels map[string]string) *apiError {
	if len(labels) > 64 {
		return badRequest("compute", "Invalid value for field 'labels': too many labels (maximum 64).")
	}
	for _, k := range world.SortedKeys(labels) {
		if !labelKeyRe.MatchString(k) {
			return badRequest("compute", "Invalid value for field 'labels': '%s'. Label keys must start with a lowercase letter and contain only lowercase letters, digits, '_' and '-' (at most 63 characters).", k)
		}
		if !labelValueRe.MatchString(labels[k]) {
			return badRequest("compute", "Invalid value for field 'labels.%s': '%s'. Label values may contain only lowercase letters, digits, '_' and '-' (at most 63 characters).", k, labels[k])
		}
	}
	return nil
}

func instanceSetDeletionProtection(c *call) (any, *apiError) {
	inst, e := c.instanceFor()
	if e != nil {
		return nil, e
	}
	on := true
	if v := c.query.Get("deletionProtection"); v != "" {
		on = v == "true"
	}
	if on && inst.MIG != "" {
		// GCE: "Deletion protection cannot be applied to VMs that are part of
		// a managed instance group." Abandon the VM first.
		return nil, badRequest("compute", "Invalid resource usage: 'Deletion protection cannot be set on instance '%s' because it is part of managed instance group '%s'.'.", inst.Name, path.Base(inst.MIG))
	}
	inst.DeletionProtection = on
	if wi := c.w.Instances.Lookup(inst.Key); wi != nil {
		wi.DisableAPITermination = on
	}
	return c.newOp("setDeletionProtection", zoneScope(inst), inst.Key, inst.ID, nil, time.Time{}), nil
}

func instanceSetDiskAutoDelete(c *call) (any, *apiError) {
	inst, e := c.instanceFor()
	if e != nil {
		return nil, e
	}
	dev := c.query.Get("deviceName")
	v := c.query.Get("autoDelete")
	if v != "true" && v != "false" {
		return nil, badRequest("compute", "Invalid value for field 'autoDelete': '%s'.", v)
	}
	for _, d := range inst.Disks {
		if d.DeviceName == dev {
			d.AutoDelete = v == "true"
			if wi := c.w.Instances.Lookup(inst.Key); wi != nil {
				for i := range wi.BlockDevices {
					if wi.BlockDevices[i].Device == dev {
						wi.BlockDevices[i].DeleteOnTermination = d.AutoDelete
					}
				}
			}
			return c.newOp("setDiskAutoDelete", zoneScope(inst), inst.Key, inst.ID, nil, time.Time{}), nil
		}
	}
	return nil, badRequest("compute", "Invalid value for field 'deviceName': '%s'. No attached disk with this device name.", dev)
}

func instanceStop(c *call) (any, *apiError) {
	inst, e := c.instanceFor()
	if e != nil {
		return nil, e
	}
	// The stop operation is DONE once the guest has shut down and the VM is
	// TERMINATED, about 20 s later, as on GCE: callers poll it (or the
	// instance status) before changing the service account.
	done := gcpworld.Of(c.w).Stop(inst)
	return c.newOp("stop", zoneScope(inst), inst.Key, inst.ID, nil, done), nil
}

func instanceStart(c *call) (any, *apiError) {
	inst, e := c.instanceFor()
	if e != nil {
		return nil, e
	}
	done, err := gcpworld.Of(c.w).Start(inst)
	if err != nil {
		return nil, fromWorld(err)
	}
	return c.newOp("start", zoneScope(inst), inst.Key, inst.ID, nil, done), nil
}

func instanceSetServiceAccount(c *call) (any, *apiError) {
	inst, e := c.instanceFor()
	if e != nil {
		return nil, e
	}
	var body computepb.InstancesSetServiceAccountRequest
	if e := c.decode(&body); e != nil {
		return nil, e
	}
	if inst.Status != gcpworld.StatusTerminated {
		return nil, &apiError{code: 400, status: "FAILED_PRECONDITION", reason: "resourceNotReady", legacy: true,
			message: fmt.Sprintf("The instance '%s' must be stopped before its service account can be changed (status: %s).", inst.Name, inst.Status)}
	}
	email := body.GetEmail()
	g := gcpworld.Of(c.w)
	if email == "default" {
		email = fmt.Sprintf("%d-compute@developer.gserviceaccount.com", g.Projects.Lookup(c.project).Number)
	}
	if email != "" {
		if g.ServiceAccounts.Lookup(email) == nil {
			return nil, badRequest("compute", "Invalid value for field 'resource.email': '%s'. The user does not have access to service account '%s'.", email, email)
		}
		if !gcpworld.Of(c.w).Allowed(c.project, c.caller.Member(), "iam.serviceAccounts.actAs") {
			return nil, denied("compute", "iam.serviceAccounts.actAs", "projects/-/serviceAccounts/"+email)
		}
	}
	inst.ServiceAccount = email
	inst.Scopes = nil
	if email != "" {
		inst.Scopes = append([]string(nil), body.Scopes...)
	}
	return c.newOp("setServiceAccount", zoneScope(inst), inst.Key, inst.ID, nil, time.Time{}), nil
}

func instanceDeleteAccessConfig(c *call) (any, *apiError) {
	inst, e := c.instanceFor()
	if e != nil {
		return nil, e
	}
	if err := gcpworld.Of(c.w).DeleteAccessConfig(inst, c.query.Get("networkInterface"), c.query.Get("accessConfig")); err != nil {
		return nil, fromWorld(err)
	}
	return c.newOp("deleteAccessConfig", zoneScope(inst), inst.Key, inst.ID, nil, time.Time{}), nil
}

func instanceAddAccessConfig(c *call) (any, *apiError) {
	inst, e := c.instanceFor()
	if e != nil {
		return nil, e
	}
	var body computepb.AccessConfig
	if e := c.decode(&body); e != nil {
		return nil, e
	}
	if _, err := gcpworld.Of(c.w).AddAccessConfig(inst, c.query.Get("networkInterface"), gcpworld.AccessConfig{
		Name: body.GetName(), Type: body.GetType(), NatIP: body.GetNatIP(), NetworkTier: body.GetNetworkTier()}); err != nil {
		return nil, fromWorld(err)
	}
	return c.newOp("addAccessConfig", zoneScope(inst), inst.Key, inst.ID, nil, time.Time{}), nil
}

func instanceDelete(c *call) (any, *apiError) {
	inst, e := c.instanceFor()
	if e != nil {
		return nil, e
	}
	if inst.MIG != "" {
		// Deleting a managed VM directly works on GCE, but the MIG recreates
		// it; the simulator keeps it simple and lets the group shrink.
		if m := gcpworld.Of(c.w).MIGs.Lookup(inst.MIG); m != nil && m.TargetSize > 0 {
			m.TargetSize--
		}
	}
	if err := gcpworld.Of(c.w).Delete(inst, c.now); err != nil {
		return nil, fromWorld(err)
	}
	return c.newOp("delete", zoneScope(inst), inst.Key, inst.ID, nil, time.Time{}), nil
}

func (c *call) diskProto(d *gcpworld.Disk) *computepb.Disk {
	zoneKey := fmt.Sprintf("projects/%s/zones/%s", d.Project, d.Zone)
	p := &computepb.Disk{Kind: proto.String("compute#disk"), Id: proto.Uint64(d.ID), Name: proto.String(d.Name),
		CreationTimestamp: proto.String(ts(d.Created)), SizeGb: proto.Int64(int64(d.SizeGb)), Zone: proto.String(link(zoneKey)),
		Status: proto.String("READY"), SelfLink: proto.String(link(d.Key)), Type: proto.String(link(zoneKey + "/diskTypes/" + d.Type)),
		LabelFingerprint: proto.String(d.LabelFingerprint), PhysicalBlockSizeBytes: proto.Int64(4096)}
	if d.SourceImage != "" {
		p.SourceImage = proto.String(link(d.SourceImage))
	}
	for _, u := range d.Users {
		p.Users = append(p.Users, link(u))
	}
	if len(d.Labels) > 0 {
		p.Labels = map[string]string{}
		for k, v := range d.Labels {
			p.Labels[k] = v
		}
	}
	return p
}

func diskGet(c *call) (any, *apiError) {
	key := gcpworld.DiskKey(c.project, c.vars["zone"], c.vars["disk"])
	d := gcpworld.Of(c.w).Disks.Lookup(key)
	if d == nil {
		return nil, notFoundErr("compute", key)
	}
	c.resource("gce_disk", key, map[string]string{"disk_id": strconv.FormatUint(d.ID, 10), "zone": d.Zone, "project_id": d.Project})
	return c.diskProto(d), nil
}

var nameRe = regexp.MustCompile(`^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$`)

func (c *call) createSnapshot(diskKey string, body *computepb.Snapshot, scope string) (any, *apiError) {
	d := gcpworld.Of(c.w).Disks.Lookup(diskKey)
	if d == nil {
		return nil, notFoundErr("compute", diskKey)
	}
	if !nameRe.MatchString(body.GetName()) {
		return nil, badRequest("compute", "Invalid value for field 'resource.name': '%s'. Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'", body.GetName())
	}
	if e := validateLabels(body.Labels); e != nil {
		return nil, e
	}
	snap, err := gcpworld.Of(c.w).CreateSnapshot(diskKey, body.GetName(), body.GetDescription(), c.caller.Email, body.Labels)
	if err != nil {
		return nil, fromWorld(err)
	}
	c.resource("gce_snapshot", snap.Key, map[string]string{"snapshot_id": strconv.FormatUint(snap.ID, 10), "project_id": snap.Project})
	target := diskKey
	if scope == "global" {
		target = snap.Key
	}
	opType := "createSnapshot"
	if scope == "global" {
		opType = "insert"
	}
	return c.newOp(opType, scope, target, snap.ID, nil, time.Time{}), nil
}

func diskCreateSnapshot(c *call) (any, *apiError) {
	var body computepb.Snapshot
	if e := c.decode(&body); e != nil {
		return nil, e
	}
	return c.createSnapshot(gcpworld.DiskKey(c.project, c.vars["zone"], c.vars["disk"]), &body, "zones/"+c.vars["zone"])
}

func snapshotInsert(c *call) (any, *apiError) {
	var body computepb.Snapshot
	if e := c.decode(&body); e != nil {
		return nil, e
	}
	src := body.GetSourceDisk()
	i := strings.Index(src, "projects/")
	if i < 0 {
		return nil, badRequest("compute", "Invalid value for field 'resource.sourceDisk': '%s'.", src)
	}
	return c.createSnapshot(src[i:], &body, "global")
}

func snapshotGet(c *call) (any, *apiError) {
	key := gcpworld.SnapshotKey(c.project, c.vars["snapshot"])
	s := gcpworld.Of(c.w).Snapshots.Lookup(key)
	if s == nil || c.hidden(s.Created) {
		return nil, notFoundErr("compute", key)
	}
	c.resource("gce_snapshot", key, map[string]string{"snapshot_id": strconv.FormatUint(s.ID, 10), "project_id": s.Project})
	return c.snapshotProto(s), nil
}

func (c *call) snapshotProto(s *gcpworld.Snapshot) *computepb.Snapshot {
	p := &computepb.Snapshot{Kind: proto.String("compute#snapshot"), Id: proto.Uint64(s.ID), Name: proto.String(s.Name),
		CreationTimestamp: proto.String(ts(s.Created)), Status: proto.String(s.Status(c.now)),
		SourceDisk: proto.String(link(s.SourceDisk)), SourceDiskId: proto.String(strconv.FormatUint(s.SourceDiskID, 10)),
		DiskSizeGb: proto.Int64(int64(s.DiskSizeGb)), SelfLink: proto.String(link(s.Key)),
		LabelFingerprint: proto.String(s.LabelFingerprint), StorageLocations: append([]string(nil), s.StorageLocations...),
		SnapshotType: proto.String("STANDARD")}
	if s.Description != "" {
		p.Description = proto.String(s.Description)
	}
	if len(s.Labels) > 0 {
		p.Labels = map[string]string{}
		for k, v := range s.Labels {
			p.Labels[k] = v
		}
	}
	if s.Status(c.now) == "READY" {
		p.StorageBytes = proto.Int64(int64(s.DiskSizeGb) << 28)
		p.StorageBytesStatus = proto.String("UP_TO_DATE")
	}
	return p
}

func (c *call) firewallProto(fw *gcpworld.Firewall) *computepb.Firewall {
	p := &computepb.Firewall{Kind: proto.String("compute#firewall"), Id: proto.Uint64(fw.ID), Name: proto.String(fw.Name),
		CreationTimestamp: proto.String(ts(fw.Created)), Network: proto.String(link(fw.Network)),
		Priority: proto.Int32(int32(fw.Priority)), Direction: proto.String(fw.Direction), Disabled: proto.Bool(fw.Disabled),
		SelfLink: proto.String(link(fw.Key)), SourceRanges: fw.SourceRanges, DestinationRanges: fw.DestinationRanges,
		SourceTags: fw.SourceTags, TargetTags: fw.TargetTags, TargetServiceAccounts: fw.TargetServiceAccounts,
		LogConfig: &computepb.FirewallLogConfig{Enable: proto.Bool(fw.LogEnabled)}}
	if fw.Description != "" {
		p.Description = proto.String(fw.Description)
	}
	for _, a := range fw.Allowed {
		p.Allowed = append(p.Allowed, &computepb.Allowed{IPProtocol: proto.String(a.Protocol), Ports: a.Ports})
	}
	for _, d := range fw.Denied {
		p.Denied = append(p.Denied, &computepb.Denied{IPProtocol: proto.String(d.Protocol), Ports: d.Ports})
	}
	return p
}

func firewallInsert(c *call) (any, *apiError) {
	var body computepb.Firewall
	if e := c.decode(&body); e != nil {
		return nil, e
	}
	if !nameRe.MatchString(body.GetName()) {
		return nil, badRequest("compute", "Invalid value for field 'resource.name': '%s'. Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'", body.GetName())
	}
	network := body.GetNetwork()
	if network == "" {
		network = "global/networks/default"
	}
	if i := strings.Index(network, "projects/"); i >= 0 {
		network = network[i:]
	} else {
		network = fmt.Sprintf("projects/%s/%s", c.project, strings.TrimPrefix(network, "/"))
	}
	fw := &gcpworld.Firewall{Name: body.GetName(), Project: c.project, Network: network, Description: body.GetDescription(),
		Direction: body.GetDirection(), Priority: 1000, SourceRanges: body.SourceRanges, DestinationRanges: body.DestinationRanges,
		SourceTags: body.SourceTags, TargetTags: body.TargetTags, TargetServiceAccounts: body.TargetServiceAccounts,
		Disabled: body.GetDisabled(), LogEnabled: body.GetLogConfig().GetEnable()}
	if body.Priority != nil {
		fw.Priority = int(body.GetPriority())
	}
	for _, a := range body.Allowed {
		fw.Allowed = append(fw.Allowed, gcpworld.FirewallRule{Protocol: a.GetIPProtocol(), Ports: a.Ports})
	}
	for _, d := range body.Denied {
		fw.Denied = append(fw.Denied, gcpworld.FirewallRule{Protocol: d.GetIPProtocol(), Ports: d.Ports})
	}
	if fw.Direction == "INGRESS" || fw.Direction == "" {
		if len(fw.SourceRanges) == 0 && len(fw.SourceTags) == 0 {
			fw.SourceRanges = []string{"0.0.0.0/0"} // GCE's default for an ingress rule without sources
		}
	}
	created, err := gcpworld.Of(c.w).AddFirewall(fw)
	if err != nil {
		return nil, fromWorld(err)
	}
	c.resource("gce_firewall_rule", created.Key, map[string]string{"firewall_rule_id": strconv.FormatUint(created.ID, 10), "project_id": c.project})
	return c.newOp("insert", "global", created.Key, created.ID, nil, time.Time{}), nil
}

func firewallFields(fw *gcpworld.Firewall) func(string) []string {
	return func(field string) []string {
		switch field {
		case "name":
			return []string{fw.Name}
		case "network":
			return []string{link(fw.Network), fw.Network}
		case "direction":
			return []string{fw.Direction}
		case "targetTags":
			return fw.TargetTags
		case "disabled":
			return []string{strconv.FormatBool(fw.Disabled)}
		case "priority":
			return []string{strconv.Itoa(fw.Priority)}
		}
		return nil
	}
}

func firewallList(c *call) (any, *apiError) {
	f, e := parseListFilter(c.query.Get("filter"))
	if e != nil {
		return nil, e
	}
	g := gcpworld.Of(c.w)
	var fws []*gcpworld.Firewall
	for _, k := range g.Firewalls.Keys() {
		fw := g.Firewalls.Lookup(k)
		if fw.Project == c.project && !c.hidden(fw.Created) && f.matches(firewallFields(fw)) {
			fws = append(fws, fw)
		}
	}
	c.resource("gce_firewall_rule", fmt.Sprintf("projects/%s/global/firewalls", c.project), nil)
	lo, hi, next, e := c.page(len(fws))
	if e != nil {
		return nil, e
	}
	out := &computepb.FirewallList{Kind: proto.String("compute#firewallList"), Id: proto.String(fmt.Sprintf("projects/%s/global/firewalls", c.project)),
		SelfLink: proto.String(link(fmt.Sprintf("projects/%s/global/firewalls", c.project)))}
	for _, fw := range fws[lo:hi] {
		out.Items = append(out.Items, c.firewallProto(fw))
	}
	if next != "" {
		out.NextPageToken = proto.String(next)
	}
	return out, nil
}

func firewallGet(c *call) (any, *apiError) {
	key := gcpworld.FirewallKey(c.project, c.vars["firewall"])
	fw := gcpworld.Of(c.w).Firewalls.Lookup(key)
	if fw == nil || c.hidden(fw.Created) {
		return nil, notFoundErr("compute", key)
	}
	c.resource("gce_firewall_rule", key, map[string]string{"firewall_rule_id": strconv.FormatUint(fw.ID, 10), "project_id": c.project})
	return c.firewallProto(fw), nil
}

// firewallPatch applies the fields a patch names (PATCH semantics: what
// the body leaves out stays): disabled, description, priority, source and
// destination ranges, tags, allowed and denied. The name, network and
// direction cannot change.
func firewallPatch(c *call) (any, *apiError) {
	var body computepb.Firewall
	if e := c.decode(&body); e != nil {
		return nil, e
	}
	key := gcpworld.FirewallKey(c.project, c.vars["firewall"])
	fw := gcpworld.Of(c.w).Firewalls.Lookup(key)
	if fw == nil || c.hidden(fw.Created) {
		return nil, notFoundErr("compute", key)
	}
	if (body.Name != nil && body.GetName() != fw.Name) || (body.Direction != nil && body.GetDirection() != fw.Direction) {
		return nil, badRequest("compute", "Invalid value for field 'resource': a firewall's name and direction cannot be changed")
	}
	if body.Disabled != nil {
		fw.Disabled = body.GetDisabled()
	}
	if body.Description != nil {
		fw.Description = body.GetDescription()
	}
	if body.Priority != nil {
		fw.Priority = int(body.GetPriority())
	}
	if body.SourceRanges != nil {
		fw.SourceRanges = body.SourceRanges
	}
	if body.DestinationRanges != nil {
		fw.DestinationRanges = body.DestinationRanges
	}
	if body.TargetTags != nil {
		fw.TargetTags = body.TargetTags
	}
	if body.Allowed != nil {
		fw.Allowed = nil
		for _, a := range body.Allowed {
			fw.Allowed = append(fw.Allowed, gcpworld.FirewallRule{Protocol: a.GetIPProtocol(), Ports: a.Ports})
		}
	}
	if body.Denied != nil {
		fw.Denied = nil
		for _, d := range body.Denied {
			fw.Denied = append(fw.Denied, gcpworld.FirewallRule{Protocol: d.GetIPProtocol(), Ports: d.Ports})
		}
	}
	c.resource("gce_firewall_rule", key, map[string]string{"firewall_rule_id": strconv.FormatUint(fw.ID, 10), "project_id": c.project})
	return c.newOp("patch", "global", key, fw.ID, nil, time.Time{}), nil
}

func firewallDelete(c *call) (any, *apiError) {
	key := gcpworld.FirewallKey(c.project, c.vars["firewall"])
	g := gcpworld.Of(c.w)
	fw := g.Firewalls.Lookup(key)
	if fw == nil {
		return nil, notFoundErr("compute", key)
	}
	g.Firewalls.Delete(key)
	c.resource("gce_firewall_rule", key, map[string]string{"firewall_rule_id": strconv.FormatUint(fw.ID, 10), "project_id": c.project})
	return c.newOp("delete", "global", key, fw.ID, nil, time.Time{}), nil
}

func networkGet(c *call) (any, *apiError) {
	key := gcpworld.NetworkKey(c.project, c.vars["network"])
	n := gcpworld.Of(c.w).Networks.Lookup(key)
	if n == nil {
		return nil, notFoundErr("compute", key)
	}
	c.resource("gce_network", key, map[string]string{"network_id": strconv.FormatUint(n.ID, 10), "project_id": c.project})
	return c.networkProto(n), nil
}

func (c *call) migFor(regional bool) (*gcpworld.MIG, *apiError) {
	loc := c.vars["zone"]
	if regional {
		loc = c.vars["region"]
	}
	key := gcpworld.MIGKey(c.project, loc, c.vars["igm"], regional)
	m := gcpworld.Of(c.w).MIGs.Lookup(key)
	if m == nil {
		return nil, notFoundErr("compute", key)
	}
	labels := map[string]string{"instance_group_manager_id": strconv.FormatUint(m.ID, 10), "instance_group_manager_name": m.Name, "project_id": c.project}
	if regional {
		labels["location"] = m.Region
	} else {
		labels["location"] = m.Zone
	}
	c.resource("gce_instance_group_manager", key, labels)
	return m, nil
}

func migScope(m *gcpworld.MIG) string {
	if m.Region != "" {
		return "regions/" + m.Region
	}
	return "zones/" + m.Zone
}

func migGet(regional bool) func(c *call) (any, *apiError) {
	return func(c *call) (any, *apiError) {
		m, e := c.migFor(regional)
		if e != nil {
			return nil, e
		}
		p := &computepb.InstanceGroupManager{Kind: proto.String("compute#instanceGroupManager"), Id: proto.Uint64(m.ID),
			Name: proto.String(m.Name), CreationTimestamp: proto.String(ts(m.Created)), BaseInstanceName: proto.String(m.BaseInstanceName),
			InstanceTemplate: proto.String(link(m.Template)), TargetSize: proto.Int32(int32(m.TargetSize)),
			SelfLink: proto.String(link(m.Key)), InstanceGroup: proto.String(link(strings.Replace(m.Key, "instanceGroupManagers", "instanceGroups", 1)))}
		if m.Region != "" {
			p.Region = proto.String(link(fmt.Sprintf("projects/%s/regions/%s", m.Project, m.Region)))
		} else {
			p.Zone = proto.String(link(fmt.Sprintf("projects/%s/zones/%s", m.Project, m.Zone)))
		}
		return p, nil
	}
}

func migList(regional bool) func(c *call) (any, *apiError) {
	return func(c *call) (any, *apiError) {
		m, e := c.migFor(regional)
		if e != nil {
			return nil, e
		}
		g := gcpworld.Of(c.w)
		lo, hi, next, e := c.page(len(m.Members))
		if e != nil {
			return nil, e
		}
		out := &computepb.InstanceGroupManagersListManagedInstancesResponse{}
		for _, k := range m.Members[lo:hi] {
			inst := g.Instances.Lookup(k)
			if inst == nil {
				continue
			}
			out.ManagedInstances = append(out.ManagedInstances, &computepb.ManagedInstance{
				Instance: proto.String(link(k)), Id: proto.Uint64(inst.ID), Name: proto.String(inst.Name),
				InstanceStatus: proto.String(inst.Status), CurrentAction: proto.String("NONE"),
				TargetStatus: proto.String("RUNNING"),
				Version:      &computepb.ManagedInstanceVersion{InstanceTemplate: proto.String(link(m.Template))}})
		}
		if next != "" {
			out.NextPageToken = proto.String(next)
		}
		return out, nil
	}
}

func migAbandon(regional bool) func(c *call) (any, *apiError) {
	return func(c *call) (any, *apiError) {
		m, e := c.migFor(regional)
		if e != nil {
			return nil, e
		}
		var body computepb.InstanceGroupManagersAbandonInstancesRequest
		if e := c.decode(&body); e != nil {
			return nil, e
		}
		if len(body.Instances) == 0 {
			return nil, badRequest("compute", "Invalid value for field 'resource.instances': ''. At least one instance must be specified.")
		}
		var keys []string
		for _, u := range body.Instances {
			i := strings.Index(u, "projects/")
			if i < 0 {
				return nil, badRequest("compute", "Invalid value for field 'resource.instances[0]': '%s'. The URL is malformed.", u)
			}
			keys = append(keys, u[i:])
		}
		// Abandoning is asynchronous on GCE: a VM that is not a member makes
		// the operation fail, not the call.
		var fail *gcpworld.Error
		if err := gcpworld.Of(c.w).Abandon(m, keys); err != nil {
			fe, ok := err.(*gcpworld.Error)
			if !ok {
				return nil, fromWorld(err)
			}
			fail = fe
		}
		return c.newOp("abandonInstances", migScope(m), m.Key, m.ID, fail, time.Time{}), nil
	}
}
