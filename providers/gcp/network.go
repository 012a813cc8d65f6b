package gcp

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"path"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/proto"

	"github.com/firedrill-ir/firedrill/providers"
)

// quarantineRules are the firewall rules for the quarantine tag on one
// network: deny everything both ways, and (when AllowCIDRs are given) allow
// those ranges one priority level better, since a deny wins a tie.
func (p *Provider) quarantineRules(networkURL string, allow []string) []*computepb.Firewall {
	h := fnv.New32a()
	_, _ = h.Write([]byte(trimLink(networkURL)))
	base := fmt.Sprintf("%s-%s-%08x", p.quarantineTag, path.Base(networkURL), h.Sum32())
	if len(base) > 50 {
		base = base[:41] + fmt.Sprintf("-%08x", h.Sum32())
	}
	denyPrio := int32(0)
	if len(allow) > 0 {
		denyPrio = 1
	}
	all := []*computepb.Denied{{IPProtocol: proto.String("all")}}
	rules := []*computepb.Firewall{
		{Name: proto.String(base + "-deny-in"), Network: proto.String(networkURL), Direction: proto.String("INGRESS"),
			Priority: proto.Int32(denyPrio), TargetTags: []string{p.quarantineTag}, SourceRanges: []string{"0.0.0.0/0"}, Denied: all,
			Description: proto.String("firedrill quarantine: deny all ingress"), LogConfig: &computepb.FirewallLogConfig{Enable: proto.Bool(true)}},
		{Name: proto.String(base + "-deny-out"), Network: proto.String(networkURL), Direction: proto.String("EGRESS"),
			Priority: proto.Int32(denyPrio), TargetTags: []string{p.quarantineTag}, DestinationRanges: []string{"0.0.0.0/0"}, Denied: all,
			Description: proto.String("firedrill quarantine: deny all egress"), LogConfig: &computepb.FirewallLogConfig{Enable: proto.Bool(true)}},
	}
	if len(allow) > 0 {
		ok := []*computepb.Allowed{{IPProtocol: proto.String("all")}}
		rules = append(rules,
			&computepb.Firewall{Name: proto.String(base + "-allow-in"), Network: proto.String(networkURL), Direction: proto.String("INGRESS"),
				Priority: proto.Int32(0), TargetTags: []string{p.quarantineTag}, SourceRanges: allow, Allowed: ok,
				Description: proto.String("firedrill quarantine: examiner access")},
			&computepb.Firewall{Name: proto.String(base + "-allow-out"), Network: proto.String(networkURL), Direction: proto.String("EGRESS"),
				Priority: proto.Int32(0), TargetTags: []string{p.quarantineTag}, DestinationRanges: allow, Allowed: ok,
				Description: proto.String("firedrill quarantine: examiner access")})
	}
	return rules
}

// Isolate quarantines the VM in three steps:
//  1. priority-0 deny-all ingress and egress rules targeting the
//     quarantine network tag (created once per network; existing ones are
//     reused);
//  2. the tag on the VM: new connections are now refused;
//  3. delete and re-add each external access config: the VPC firewall is
//     stateful and keeps established connections (a miner's pool session)
//     alive while packets flow, and only dropping the one-to-one NAT breaks
//     them. With DetachPublicIPs the access config is not re-added.
func (p *Provider) IsolateInstance(ctx context.Context, instanceID string, opts providers.IsolateOptions) (*providers.IsolationResult, error) {
	ref, inst, err := p.networkedInstance(ctx, instanceID)
	if err != nil {
		return nil, err
	}
	res := &providers.IsolationResult{ForensicGroup: p.quarantineTag, Additive: true}
	seen := map[string]bool{}
	for _, nic := range inst.GetNetworkInterfaces() {
		netURL := nic.GetNetwork()
		if seen[netURL] {
			continue
		}
		seen[netURL] = true
		for _, fw := range p.quarantineRules(netURL, opts.AllowCIDRs) {
			fw := fw
			err := p.mutate(ctx, "compute.firewalls.insert", fw.GetName(), func(ctx context.Context) (*compute.Operation, error) {
				return p.firewalls.Insert(ctx, &computepb.InsertFirewallRequest{Project: ref.project, FirewallResource: fw}, noRetry)
			})
			if err != nil && !isAlreadyExists(err) {
				return res, err
			}
		}
	}
	previous, err := p.addNetworkTag(ctx, ref, p.quarantineTag)
	if err != nil {
		return res, err
	}
	for _, nic := range inst.GetNetworkInterfaces() {
		res.NICs = append(res.NICs, providers.NICIsolation{ID: nic.GetName(), PreviousGroups: previous})
	}
	var errs []error
	for _, nic := range inst.GetNetworkInterfaces() {
		for _, ac := range nic.GetAccessConfigs() {
			acName, nicName := ac.GetName(), nic.GetName()
			err := p.mutate(ctx, "compute.instances.deleteAccessConfig", ref.key(), func(ctx context.Context) (*compute.Operation, error) {
				return p.instances.DeleteAccessConfig(ctx, &computepb.DeleteAccessConfigInstanceRequest{Project: ref.project, Zone: ref.zone,
					Instance: ref.name, AccessConfig: acName, NetworkInterface: nicName}, noRetry)
			})
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if opts.DetachPublicIPs {
				res.DetachedAddresses = append(res.DetachedAddresses, ac.GetNatIP())
				continue
			}
			readd := &computepb.AccessConfig{Name: proto.String(acName), Type: proto.String(orDefault(ac.GetType(), "ONE_TO_ONE_NAT"))}
			if ac.NetworkTier != nil {
				readd.NetworkTier = ac.NetworkTier
			}
			errs = append(errs, p.mutate(ctx, "compute.instances.addAccessConfig", ref.key(), func(ctx context.Context) (*compute.Operation, error) {
				return p.instances.AddAccessConfig(ctx, &computepb.AddAccessConfigInstanceRequest{Project: ref.project, Zone: ref.zone,
					Instance: ref.name, NetworkInterface: nicName, AccessConfigResource: readd}, noRetry)
			}))
		}
	}
	return res, errors.Join(errs...)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func isAlreadyExists(err error) bool {
	status, reason := errorInfo(err)
	return status == 409 || reason == "alreadyExists"
}

// IsolateNaively is the console habit kept so a drill can show why it
// fails: priority-0 deny-all rules for a tag (groupName, default
// "quarantine") and the tag on the VM, without churning its external
// access config. The VPC firewall is stateful: the established session
// survives.
func (p *Provider) IsolateNaively(ctx context.Context, instanceID, groupName string) (*providers.IsolationResult, error) {
	tag := groupName
	if tag == "" {
		tag = "quarantine"
	}
	ref, inst, err := p.networkedInstance(ctx, instanceID)
	if err != nil {
		return nil, err
	}
	network := inst.GetNetworkInterfaces()[0].GetNetwork()
	all := []*computepb.Denied{{IPProtocol: proto.String("all")}}
	for _, fw := range []*computepb.Firewall{
		{Name: proto.String(tag + "-deny-in"), Network: proto.String(network), Direction: proto.String("INGRESS"), Priority: proto.Int32(0),
			TargetTags: []string{tag}, SourceRanges: []string{"0.0.0.0/0"}, Denied: all},
		{Name: proto.String(tag + "-deny-out"), Network: proto.String(network), Direction: proto.String("EGRESS"), Priority: proto.Int32(0),
			TargetTags: []string{tag}, DestinationRanges: []string{"0.0.0.0/0"}, Denied: all},
	} {
		err := p.mutate(ctx, "compute.firewalls.insert", fw.GetName(), func(ctx context.Context) (*compute.Operation, error) {
			return p.firewalls.Insert(ctx, &computepb.InsertFirewallRequest{Project: ref.project, FirewallResource: fw}, noRetry)
		})
		if err != nil && !isAlreadyExists(err) {
			return nil, err
		}
	}
	previous, err := p.addNetworkTag(ctx, ref, tag)
	if err != nil {
		return nil, err
	}
	res := &providers.IsolationResult{ForensicGroup: tag, Additive: true}
	for _, nic := range inst.GetNetworkInterfaces() {
		res.NICs = append(res.NICs, providers.NICIsolation{ID: nic.GetName(), PreviousGroups: previous})
	}
	p.log.Info("instance isolated naively (deny by tag, no access-config churn: established flows survive)", "instance", ref.key())
	return res, nil
}

// networkedInstance reads an instance that isolation can act on: one with
// a network interface.
func (p *Provider) networkedInstance(ctx context.Context, instanceID string) (instanceRef, *computepb.Instance, error) {
	ref, err := p.resolve(ctx, instanceID)
	if err != nil {
		return ref, nil, err
	}
	inst, err := p.getInstance(ctx, ref)
	if err != nil {
		return ref, nil, err
	}
	if len(inst.GetNetworkInterfaces()) == 0 {
		return ref, nil, opErr("compute.instances.setTags", ref.key(), providers.ErrConflict, "noNetworkInterface", "instance has no network interface")
	}
	return ref, inst, nil
}

// DisableNetworkRule sets a VPC firewall rule (by its path or name)
// disabled: it admits nothing and stays for the record.
func (p *Provider) DisableNetworkRule(ctx context.Context, id string) error {
	name := path.Base(id)
	return p.mutate(ctx, "compute.firewalls.patch", id, func(ctx context.Context) (*compute.Operation, error) {
		return p.firewalls.Patch(ctx, &computepb.PatchFirewallRequest{Project: p.project, Firewall: name,
			FirewallResource: &computepb.Firewall{Disabled: proto.Bool(true)}}, noRetry)
	})
}

// DeleteNetworkRule deletes a VPC firewall rule, named by its path
// (projects/P/global/firewalls/N) or its name in the provider's project.
func (p *Provider) DeleteNetworkRule(ctx context.Context, id string) error {
	name := path.Base(id)
	return p.mutate(ctx, "compute.firewalls.delete", id, func(ctx context.Context) (*compute.Operation, error) {
		return p.firewalls.Delete(ctx, &computepb.DeleteFirewallRequest{Project: p.project, Firewall: name}, noRetry)
	})
}
