package gcpsim

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/proto"

	"github.com/firedrill-ir/firedrill/cloudsim/world/gcpworld"
)

// Enumeration: what a responder (or an attacker) lists first, zonal,
// regional, global and aggregated, as `gcloud compute … list` calls them.
func computeListRoutes() []*route {
	const p = "compute/v1/projects/{project}/"
	const z = p + "zones/{zone}/"
	c := "compute"
	return []*route{
		r("GET", p+"global/networks", c, "networks.list", "compute.networks.list", true, latList, networkList),
		r("GET", p+"regions/{region}/subnetworks", c, "subnetworks.list", "compute.subnetworks.list", true, latList, subnetList),
		r("GET", p+"aggregated/subnetworks", c, "subnetworks.aggregatedList", "compute.subnetworks.list", true, latList, subnetAggregated),
		r("GET", z+"disks", c, "disks.list", "compute.disks.list", true, latList, diskList),
		r("GET", p+"aggregated/disks", c, "disks.aggregatedList", "compute.disks.list", true, latList, diskAggregated),
		r("GET", p+"global/snapshots", c, "snapshots.list", "compute.snapshots.list", true, latList, snapshotList),
		r("GET", z+"instances/{instance}/getIamPolicy", c, "instances.getIamPolicy", "compute.instances.getIamPolicy", true, latRead, instanceGetIamPolicy),
		r("GET", z+"instances/{instance}/serialPort", c, "instances.getSerialPortOutput", "compute.instances.getSerialPortOutput", true, latRead, instanceSerialPort),
	}
}

// listed filters keys of a table through keep and the request's list
// filter, and pages the result: the items of this page and the next page
// token.
func listed[T any](c *call, keys []string, lookup func(string) T, keep func(T) bool, fields func(T) func(string) []string) ([]T, string, *apiError) {
	f, e := parseListFilter(c.query.Get("filter"))
	if e != nil {
		return nil, "", e
	}
	var all []T
	for _, k := range keys {
		v := lookup(k)
		if keep(v) && f.matches(fields(v)) {
			all = append(all, v)
		}
	}
	lo, hi, next, e := c.page(len(all))
	if e != nil {
		return nil, "", e
	}
	return all[lo:hi], next, nil
}

// nameFields lets a list filter match on name (and id).
func nameFields(name string, id uint64) func(string) []string {
	return func(field string) []string {
		switch field {
		case "name":
			return []string{name}
		case "id":
			return []string{strconv.FormatUint(id, 10)}
		}
		return nil
	}
}

// labelOrName lets a list filter match on labels.KEY, name and id.
func labelOrName(labels map[string]string, name string, id uint64) func(string) []string {
	return func(field string) []string {
		if k, ok := strings.CutPrefix(field, "labels."); ok {
			if v, ok := labels[k]; ok {
				return []string{v}
			}
			return nil
		}
		return nameFields(name, id)(field)
	}
}

// listMeta fills the kind, id and selfLink every Compute list answers.
func (c *call) listMeta(collection string) (id, self *string) {
	key := fmt.Sprintf("projects/%s/%s", c.project, collection)
	c.resource("audited_resource", key, map[string]string{"service": "compute.googleapis.com", "project_id": c.project})
	return proto.String(key), proto.String(link(key))
}

// mapped renders each item.
func mapped[T, P any](in []T, render func(T) P) []P {
	out := make([]P, 0, len(in))
	for _, v := range in {
		out = append(out, render(v))
	}
	return out
}

// scoped groups items by scope ("zones/us-central1-a") into the scoped
// lists of an aggregated list.
func scoped[T, S any](items []T, scope func(T) string, add func(*S, T)) map[string]*S {
	out := map[string]*S{}
	for _, v := range items {
		k := scope(v)
		if out[k] == nil {
			out[k] = new(S)
		}
		add(out[k], v)
	}
	return out
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return proto.String(s)
}

func (c *call) networkProto(n *gcpworld.Network) *computepb.Network {
	g := gcpworld.Of(c.w)
	p := &computepb.Network{Kind: proto.String("compute#network"), Id: proto.Uint64(n.ID), Name: proto.String(n.Name),
		CreationTimestamp: proto.String(ts(n.Created)), SelfLink: proto.String(link(n.Key)), AutoCreateSubnetworks: proto.Bool(false),
		RoutingConfig:                         &computepb.NetworkRoutingConfig{RoutingMode: proto.String("REGIONAL")},
		NetworkFirewallPolicyEnforcementOrder: proto.String("AFTER_CLASSIC_FIREWALL")}
	for _, k := range g.Subnets.Keys() {
		if g.Subnets.Lookup(k).Network == n.Key {
			p.Subnetworks = append(p.Subnetworks, link(k))
		}
	}
	return p
}

func networkList(c *call) (any, *apiError) {
	g := gcpworld.Of(c.w)
	items, next, e := listed(c, g.Networks.Keys(), g.Networks.Lookup,
		func(n *gcpworld.Network) bool { return n.Project == c.project && !c.hidden(n.Created) },
		func(n *gcpworld.Network) func(string) []string { return nameFields(n.Name, n.ID) })
	if e != nil {
		return nil, e
	}
	out := &computepb.NetworkList{Kind: proto.String("compute#networkList"), Items: mapped(items, c.networkProto), NextPageToken: optString(next)}
	out.Id, out.SelfLink = c.listMeta("global/networks")
	return out, nil
}

func (c *call) subnetProto(s *gcpworld.Subnet) *computepb.Subnetwork {
	p := &computepb.Subnetwork{Kind: proto.String("compute#subnetwork"), Id: proto.Uint64(s.ID), Name: proto.String(s.Name),
		Network: proto.String(link(s.Network)), IpCidrRange: proto.String(s.CIDR), SelfLink: proto.String(link(s.Key)),
		Region:    proto.String(link(fmt.Sprintf("projects/%s/regions/%s", s.Project, s.Region))),
		StackType: proto.String("IPV4_ONLY"), Purpose: proto.String("PRIVATE"), PrivateIpGoogleAccess: proto.Bool(false)}
	if pfx, err := netip.ParsePrefix(s.CIDR); err == nil {
		p.GatewayAddress = proto.String(pfx.Masked().Addr().Next().String())
	}
	if n := gcpworld.Of(c.w).Networks.Lookup(s.Network); n != nil {
		p.CreationTimestamp = proto.String(ts(n.Created))
	}
	return p
}

func (c *call) subnetsIn(region string) ([]*gcpworld.Subnet, string, *apiError) {
	g := gcpworld.Of(c.w)
	return listed(c, g.Subnets.Keys(), g.Subnets.Lookup,
		func(s *gcpworld.Subnet) bool { return s.Project == c.project && (region == "" || s.Region == region) },
		func(s *gcpworld.Subnet) func(string) []string { return nameFields(s.Name, s.ID) })
}

func subnetList(c *call) (any, *apiError) {
	items, next, e := c.subnetsIn(c.vars["region"])
	if e != nil {
		return nil, e
	}
	out := &computepb.SubnetworkList{Kind: proto.String("compute#subnetworkList"), Items: mapped(items, c.subnetProto), NextPageToken: optString(next)}
	out.Id, out.SelfLink = c.listMeta("regions/" + c.vars["region"] + "/subnetworks")
	return out, nil
}

func subnetAggregated(c *call) (any, *apiError) {
	items, next, e := c.subnetsIn("")
	if e != nil {
		return nil, e
	}
	out := &computepb.SubnetworkAggregatedList{Kind: proto.String("compute#subnetworkAggregatedList"), NextPageToken: optString(next),
		Items: scoped(items, func(s *gcpworld.Subnet) string { return "regions/" + s.Region },
			func(l *computepb.SubnetworksScopedList, s *gcpworld.Subnet) {
				l.Subnetworks = append(l.Subnetworks, c.subnetProto(s))
			})}
	out.Id, out.SelfLink = c.listMeta("aggregated/subnetworks")
	return out, nil
}

func (c *call) disksIn(zone string) ([]*gcpworld.Disk, string, *apiError) {
	g := gcpworld.Of(c.w)
	return listed(c, g.Disks.Keys(), g.Disks.Lookup,
		func(d *gcpworld.Disk) bool {
			return d.Project == c.project && !d.Deleted && (zone == "" || d.Zone == zone) && !c.hidden(d.Created)
		},
		func(d *gcpworld.Disk) func(string) []string {
			return func(field string) []string {
				if field == "zone" {
					return []string{d.Zone}
				}
				return labelOrName(d.Labels, d.Name, d.ID)(field)
			}
		})
}

func diskList(c *call) (any, *apiError) {
	items, next, e := c.disksIn(c.vars["zone"])
	if e != nil {
		return nil, e
	}
	out := &computepb.DiskList{Kind: proto.String("compute#diskList"), Items: mapped(items, c.diskProto), NextPageToken: optString(next)}
	out.Id, out.SelfLink = c.listMeta("zones/" + c.vars["zone"] + "/disks")
	return out, nil
}

func diskAggregated(c *call) (any, *apiError) {
	items, next, e := c.disksIn("")
	if e != nil {
		return nil, e
	}
	out := &computepb.DiskAggregatedList{Kind: proto.String("compute#diskAggregatedList"), NextPageToken: optString(next),
		Items: scoped(items, func(d *gcpworld.Disk) string { return "zones/" + d.Zone },
			func(l *computepb.DisksScopedList, d *gcpworld.Disk) { l.Disks = append(l.Disks, c.diskProto(d)) })}
	out.Id, out.SelfLink = c.listMeta("aggregated/disks")
	return out, nil
}

func snapshotList(c *call) (any, *apiError) {
	g := gcpworld.Of(c.w)
	items, next, e := listed(c, g.Snapshots.Keys(), g.Snapshots.Lookup,
		func(s *gcpworld.Snapshot) bool { return s.Project == c.project && !c.hidden(s.Created) },
		func(s *gcpworld.Snapshot) func(string) []string {
			return func(field string) []string {
				switch {
				case field == "status":
					return []string{s.Status(c.now)}
				case field == "sourceDisk":
					return []string{link(s.SourceDisk), s.SourceDisk}
				}
				return labelOrName(s.Labels, s.Name, s.ID)(field)
			}
		})
	if e != nil {
		return nil, e
	}
	out := &computepb.SnapshotList{Kind: proto.String("compute#snapshotList"), Items: mapped(items, c.snapshotProto), NextPageToken: optString(next)}
	out.Id, out.SelfLink = c.listMeta("global/snapshots")
	return out, nil
}

// instanceGetIamPolicy answers the VM's own IAM policy. The simulator
// grants only at project level, so it is the empty policy, etag "ACAB",
// as Google answers for a VM nobody granted roles on.
func instanceGetIamPolicy(c *call) (any, *apiError) {
	if _, e := c.instanceFor(); e != nil {
		return nil, e
	}
	return &computepb.Policy{Etag: proto.String("ACAB"), Version: proto.Int32(1)}, nil
}

// instanceSerialPort answers serial port 1 (the console) as the guest wrote
// it: firmware, kernel and guest-agent lines from the VM's last start, and
// its shutdown once stopped. start and next are byte offsets; the other
// ports are empty.
func instanceSerialPort(c *call) (any, *apiError) {
	inst, e := c.instanceFor()
	if e != nil {
		return nil, e
	}
	port := 1
	if v := c.query.Get("port"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 4 {
			return nil, badRequest("compute", "Invalid value for field 'port': '%s'. Must be between 1 and 4.", v)
		}
		port = n
	}
	contents := ""
	if port == 1 {
		contents = serialConsole(inst)
	}
	start := int64(0)
	if v := c.query.Get("start"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, badRequest("compute", "Invalid value for field 'start': '%s'.", v)
		}
		start = n
	}
	if start < 0 || start > int64(len(contents)) {
		start = 0
	}
	return &computepb.SerialPortOutput{Kind: proto.String("compute#serialPortOutput"), Contents: proto.String(contents[start:]),
		Start: proto.Int64(start), Next: proto.Int64(int64(len(contents))),
		SelfLink: proto.String(link(inst.Key) + "/serialPort?port=" + strconv.Itoa(port))}, nil
}

// serialConsole is the console log of a VM since its last start.
func serialConsole(inst *gcpworld.Instance) string {
	var b strings.Builder
	at := func(t time.Time, offset time.Duration, proc, msg string) {
		fmt.Fprintf(&b, "%s %s %s: %s\r\n", t.Add(offset).UTC().Format("Jan _2 15:04:05"), inst.Name, proc, msg)
	}
	b.WriteString("SeaBIOS (version 1.8.2-google)\r\nBooting from Hard Disk 0...\r\n")
	t := inst.LastStart
	at(t, 0, "kernel", "[    0.000000] Linux version 6.1.0-28-cloud-amd64 (debian-kernel@lists.debian.org)")
	at(t, 2*time.Second, "systemd[1]", "Started google-guest-agent.service - Google Compute Engine Guest Agent.")
	for _, n := range inst.NICs {
		at(t, 3*time.Second, "google_guest_agent[512]", fmt.Sprintf("Configured interface %s with address %s.", n.Name, n.NetworkIP))
	}
	if inst.ServiceAccount != "" {
		at(t, 4*time.Second, "google_guest_agent[512]", "Metadata server ready; default service account "+inst.ServiceAccount+".")
	}
	at(t, 5*time.Second, "systemd[1]", "Reached target multi-user.target - Multi-User System.")
	if inst.Status == gcpworld.StatusTerminated && inst.LastStop.After(inst.LastStart) {
		at(inst.LastStop, 0, "systemd[1]", "Stopping google-guest-agent.service - Google Compute Engine Guest Agent...")
		at(inst.LastStop, 2*time.Second, "kernel", "reboot: Power down")
	}
	return b.String()
}
