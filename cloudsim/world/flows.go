package world

import (
	"fmt"
	"net/netip"
	"time"
)

// Flows are the network connections of instances, whichever cloud they run
// in. Each cloud decides whether its network lets a flow open and what cuts
// it later (security groups and ACLs, NSGs, the VPC firewall, in the cloud
// state packages); the kernel records flows, tells observers when they start
// and end, and ends them when an instance stops or loses its address.

// Flow is a network connection of an instance.
type Flow struct {
	ID         string
	Instance   string
	ENI        string
	Direction  string // "egress" or "ingress"
	Protocol   string // "tcp", "udp", "icmp"
	LocalPort  int
	RemoteIP   string
	RemotePort int
	Domain     string // DNS name the flow was opened to, if any
	Tracked    bool
	Started    time.Time
	Ended      time.Time
	EndReason  string
	Actor      string // who opened it, e.g. "attacker"
}

// Active reports whether the flow is still up.
func (f *Flow) Active() bool { return f.Ended.IsZero() }

// FlowSpec describes a connection to open from or to an instance.
type FlowSpec struct {
	Direction  string // "egress" (default) or "ingress"
	Protocol   string // "tcp" (default), "udp", "icmp"
	LocalPort  int    // 0: an ephemeral port is chosen for egress flows
	RemoteIP   string
	RemotePort int // 0: an ephemeral port is chosen for ingress flows
	Domain     string
	Actor      string
}

// NewFlow validates spec and returns the flow it describes on the interface
// eni of instance, not yet started (see StartFlowLocked): egress and tcp
// unless the spec says otherwise, no ports drawn yet.
func NewFlow(instance, eni string, spec FlowSpec) (*Flow, error) {
	f := &Flow{Instance: instance, ENI: eni, Direction: spec.Direction, Protocol: spec.Protocol,
		LocalPort: spec.LocalPort, RemoteIP: spec.RemoteIP, RemotePort: spec.RemotePort, Domain: spec.Domain,
		Actor: spec.Actor}
	if f.Direction == "" {
		f.Direction = "egress"
	}
	if f.Protocol == "" {
		f.Protocol = "tcp"
	}
	if f.Direction != "egress" && f.Direction != "ingress" {
		return nil, &ComputeError{Kind: KindInvalid, Resource: "flow", Msg: fmt.Sprintf("direction %q: expected egress or ingress", f.Direction)}
	}
	if f.Protocol != "tcp" && f.Protocol != "udp" && f.Protocol != "icmp" {
		return nil, &ComputeError{Kind: KindInvalid, Resource: "flow", Msg: fmt.Sprintf("protocol %q: expected tcp, udp or icmp", f.Protocol)}
	}
	if _, err := netip.ParseAddr(f.RemoteIP); err != nil {
		return nil, &ComputeError{Kind: KindInvalid, Resource: "flow", Msg: fmt.Sprintf("remote IP %q is not an IP address", f.RemoteIP)}
	}
	return f, nil
}

// DrawEphemeralPortsLocked chooses the ephemeral end of a TCP or UDP flow
// the spec left open: the local port of an egress flow, the remote port of
// an ingress one (Linux's range, from the caller's "ids" stream).
func (w *World) DrawEphemeralPortsLocked(f *Flow) {
	if f.Protocol == "icmp" {
		return
	}
	if f.Direction == "egress" && f.LocalPort == 0 {
		f.LocalPort = 32768 + w.ids.IntN(28232)
	}
	if f.Direction == "ingress" && f.RemotePort == 0 {
		f.RemotePort = 32768 + w.ids.IntN(28232)
	}
}

// StartFlowLocked starts a flow its cloud's network admitted: it gets its
// id and start time, joins the flow log and observers (detectors) see it.
func (w *World) StartFlowLocked(f *Flow) {
	now := w.clock.Now()
	f.ID = w.NewIDLocked("flow")
	f.Started = now
	w.Flows = append(w.Flows, f)
	w.emitLocked(Event{Time: now, Kind: "flow.start", Flow: f, Instance: w.Instances.Lookup(f.Instance)})
}

// ActiveFlowsLocked returns the instance's flows that are still up, oldest first.
func (w *World) ActiveFlowsLocked(instanceID string) []*Flow {
	var out []*Flow
	for _, f := range w.Flows {
		if f.Instance == instanceID && f.Active() {
			out = append(out, f)
		}
	}
	return out
}

// EndFlowLocked closes a flow at now and tells detectors. Callers pass the
// time explicitly because scheduled changes (scale-in) run at their own
// modelled time, which may be earlier than the clock when they are applied.
func (w *World) EndFlowLocked(f *Flow, reason string, now time.Time) {
	f.Ended = now
	f.EndReason = reason
	w.emitLocked(Event{Time: now, Kind: "flow.end", Flow: f, Instance: w.Instances.Lookup(f.Instance)})
}

// EndInstanceFlowsLocked closes every active flow of an instance (stop,
// termination), or only those match selects.
func (w *World) EndInstanceFlowsLocked(instanceID, reason string, match func(*Flow) bool, now time.Time) {
	for _, f := range w.ActiveFlowsLocked(instanceID) {
		if match == nil || match(f) {
			w.EndFlowLocked(f, reason, now)
		}
	}
}

// EndInternetFlowsLocked ends the flows of an instance whose remote end is
// outside its VPC.
func (w *World) EndInternetFlowsLocked(inst *Instance, reason string) {
	var vpcPrefix netip.Prefix
	if v := w.VPCs.Lookup(inst.VPC); v != nil {
		vpcPrefix, _ = netip.ParsePrefix(v.CIDR)
	}
	w.EndInstanceFlowsLocked(inst.ID, reason, func(f *Flow) bool {
		addr, err := netip.ParseAddr(f.RemoteIP)
		return err != nil || !vpcPrefix.IsValid() || !vpcPrefix.Contains(addr)
	}, w.clock.Now())
}
