package azure

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"

	"github.com/firedrill-ir/firedrill/providers"
)

// isolationPrefix names the quarantine NSGs (one per resource group,
// location and examiner CIDR set).
const isolationPrefix = "firedrill-isolation-"

// Isolate moves every NIC of the VM to a quarantine NSG that denies all
// traffic in both directions except from AllowCIDRs, with flushConnection
// on. NSGs are stateful and an NSG swap or rule change leaves established
// flows up ("Existing connections are not reevaluated"); flushConnection
// makes Azure re-evaluate them against the quarantine rules, which cuts
// the miner's pool connection and any reverse shell at once. With
// DetachPublicIPs the public IP is dissociated from the NIC as well.
//
// The quarantine also denies outbound HTTPS to Azure, so Run Command (and
// memory capture) no longer work afterwards: capture memory first.
func (p *Provider) IsolateInstance(ctx context.Context, instanceID string, opts providers.IsolateOptions) (*providers.IsolationResult, error) {
	return p.isolate(ctx, instanceID, opts, "")
}

// IsolateNaively is the console habit kept so a drill can show why it
// fails: a deny-all NSG without flushConnection, every NIC moved onto it.
// NSGs are stateful and "existing connections are not reevaluated", so an
// established session survives. groupName defaults to quarantine-nsg.
func (p *Provider) IsolateNaively(ctx context.Context, instanceID, groupName string) (*providers.IsolationResult, error) {
	if groupName == "" {
		groupName = "quarantine-nsg"
	}
	return p.isolate(ctx, instanceID, providers.IsolateOptions{}, groupName)
}

// isolate moves every NIC of the VM onto a deny-all NSG: the quarantine
// NSG with flushConnection, or (naiveName set) a plain one of that name.
func (p *Provider) isolate(ctx context.Context, instanceID string, opts providers.IsolateOptions, naiveName string) (*providers.IsolationResult, error) {
	for _, c := range opts.AllowCIDRs {
		if _, _, err := net.ParseCIDR(c); err != nil {
			return nil, opErr("Isolate", instanceID, providers.ErrInvalid, "", fmt.Sprintf("AllowCIDRs: %q is not a CIDR", c))
		}
	}
	ref, err := p.parseVM("Isolate", instanceID)
	if err != nil {
		return nil, err
	}
	vm, err := p.getVM(ctx, "Isolate", ref, false)
	if err != nil {
		return nil, err
	}
	loc := str(vm.Location)
	allow := slices.Sorted(slices.Values(opts.AllowCIDRs))
	name := isolationPrefix + loc
	if len(allow) > 0 {
		h := sha256.Sum256([]byte(strings.Join(allow, ",")))
		name += "-" + hex.EncodeToString(h[:4])
	}
	if naiveName != "" {
		name = naiveName
	}
	rules := []*armnetwork.SecurityRule{}
	for i, c := range allow {
		rules = append(rules, nsgRule(fmt.Sprintf("AllowExaminer%d", i+1), int32(100+i), armnetwork.SecurityRuleDirectionInbound,
			armnetwork.SecurityRuleAccessAllow, c, "*"))
	}
	rules = append(rules,
		nsgRule("DenyAllInbound", 4000, armnetwork.SecurityRuleDirectionInbound, armnetwork.SecurityRuleAccessDeny, "*", "*"),
		nsgRule("DenyAllOutbound", 4000, armnetwork.SecurityRuleDirectionOutbound, armnetwork.SecurityRuleAccessDeny, "*", "*"))
	tags := map[string]*string{"firedrill-purpose": to.Ptr("isolation")}
	if opts.CaseID != "" {
		tags["firedrill-case"] = to.Ptr(opts.CaseID)
	}
	poller, err := p.nsgs.BeginCreateOrUpdate(ctx, ref.rg, name, armnetwork.SecurityGroup{Location: to.Ptr(loc), Tags: tags,
		Properties: &armnetwork.SecurityGroupPropertiesFormat{SecurityRules: rules, FlushConnection: to.Ptr(naiveName == "")}}, nil)
	if err != nil {
		return nil, wrapErr("network:SecurityGroups.BeginCreateOrUpdate", name, err)
	}
	nsg, err := waitLRO(ctx, p, poller, "network:SecurityGroups.BeginCreateOrUpdate", name, lroTimeout)
	if err != nil {
		return nil, err
	}
	nsgID := str(nsg.ID)
	res := &providers.IsolationResult{ForensicGroup: nsgID}
	if vm.Properties == nil || vm.Properties.NetworkProfile == nil {
		return res, nil
	}
	for _, ni := range vm.Properties.NetworkProfile.NetworkInterfaces {
		id := str(ni.ID)
		r, err := arm.ParseResourceID(id)
		if err != nil {
			return res, opErr("Isolate", id, providers.ErrInvalid, "", "NIC id is not a resource id")
		}
		got, err := p.nics.Get(ctx, r.ResourceGroupName, r.Name, nil)
		if err != nil {
			return res, wrapErr("network:Interfaces.Get", id, err)
		}
		nic := got.Interface
		var prev []string
		if nic.Properties != nil && nic.Properties.NetworkSecurityGroup != nil {
			prev = []string{str(nic.Properties.NetworkSecurityGroup.ID)}
		}
		res.NICs = append(res.NICs, providers.NICIsolation{ID: id, PreviousGroups: prev})
		hasPIP := false
		if nic.Properties != nil {
			for _, ipc := range nic.Properties.IPConfigurations {
				if ipc.Properties != nil && ipc.Properties.PublicIPAddress != nil {
					hasPIP = true
					if opts.DetachPublicIPs {
						res.DetachedAddresses = append(res.DetachedAddresses, str(ipc.Properties.PublicIPAddress.ID))
						ipc.Properties.PublicIPAddress = nil
					}
				}
			}
		}
		if len(prev) == 1 && strings.EqualFold(prev[0], nsgID) && !(opts.DetachPublicIPs && hasPIP) {
			continue // already isolated (a resumed playbook)
		}
		if nic.Properties == nil {
			nic.Properties = &armnetwork.InterfacePropertiesFormat{}
		}
		nic.Properties.NetworkSecurityGroup = &armnetwork.SecurityGroup{ID: to.Ptr(nsgID)}
		np, err := p.nics.BeginCreateOrUpdate(ctx, r.ResourceGroupName, r.Name, nic, nil)
		if err != nil {
			return res, wrapErr("network:Interfaces.BeginCreateOrUpdate", id+" -> "+nsgID, err)
		}
		if _, err := waitLRO(ctx, p, np, "network:Interfaces.BeginCreateOrUpdate", id, lroTimeout); err != nil {
			return res, err
		}
		p.log.Info("interface isolated", "instance", ref.id, "nic", id, "previous_nsg", prev, "nsg", nsgID)
	}
	return res, nil
}

func nsgRule(name string, prio int32, dir armnetwork.SecurityRuleDirection, access armnetwork.SecurityRuleAccess, src, dst string) *armnetwork.SecurityRule {
	return &armnetwork.SecurityRule{Name: to.Ptr(name), Properties: &armnetwork.SecurityRulePropertiesFormat{
		Priority: to.Ptr(prio), Direction: to.Ptr(dir), Access: to.Ptr(access), Protocol: to.Ptr(armnetwork.SecurityRuleProtocolAsterisk),
		SourceAddressPrefix: to.Ptr(src), SourcePortRange: to.Ptr("*"), DestinationAddressPrefix: to.Ptr(dst), DestinationPortRange: to.Ptr("*"),
		Description: to.Ptr("firedrill isolation")}}
}

// DisableNetworkRule turns an NSG security rule, named by its ARM id
// (…/networkSecurityGroups/{nsg}/securityRules/{rule}), to Deny: NSG rules
// have no disabled state, and a Deny at the same priority admits nothing
// while the rule stays for the record.
func (p *Provider) DisableNetworkRule(ctx context.Context, id string) error {
	r, err := arm.ParseResourceID(id)
	if err != nil || r.Parent == nil || !strings.EqualFold(r.ResourceType.Type, "networkSecurityGroups/securityRules") {
		return opErr("DisableNetworkRule", id, providers.ErrInvalid, "", "expected an NSG security rule's ARM id")
	}
	got, err := p.rules.Get(ctx, r.ResourceGroupName, r.Parent.Name, r.Name, nil)
	if err != nil {
		return wrapErr("network:SecurityRules.Get", id, err)
	}
	rule := got.SecurityRule
	if rule.Properties == nil {
		return opErr("DisableNetworkRule", id, providers.ErrInvalid, "", "the rule has no properties")
	}
	// Only what the write needs: the read-only fields go back out empty.
	rule.Properties.Access = to.Ptr(armnetwork.SecurityRuleAccessDeny)
	rule.Properties.Description = to.Ptr("disabled by incident response (was: " + str(rule.Properties.Description) + ")")
	rule.Properties.ProvisioningState = nil
	rule.Etag, rule.ID, rule.Type = nil, nil, nil
	poller, err := p.rules.BeginCreateOrUpdate(ctx, r.ResourceGroupName, r.Parent.Name, r.Name, rule, nil)
	if err != nil {
		return wrapErr("network:SecurityRules.BeginCreateOrUpdate", id, err)
	}
	if _, err := waitLRO(ctx, p, poller, "network:SecurityRules.BeginCreateOrUpdate", id, lroTimeout); err != nil {
		return err
	}
	p.log.Info("security rule turned to Deny", "rule", id)
	return nil
}

// DeleteNetworkRule deletes one NSG security rule, named by its ARM id.
func (p *Provider) DeleteNetworkRule(ctx context.Context, id string) error {
	r, err := arm.ParseResourceID(id)
	if err != nil || r.Parent == nil || !strings.EqualFold(r.ResourceType.Type, "networkSecurityGroups/securityRules") {
		return opErr("DeleteNetworkRule", id, providers.ErrInvalid, "", "expected an NSG security rule's ARM id")
	}
	poller, err := p.rules.BeginDelete(ctx, r.ResourceGroupName, r.Parent.Name, r.Name, nil)
	if err != nil {
		return wrapErr("network:SecurityRules.BeginDelete", id, err)
	}
	if _, err := waitLRO(ctx, p, poller, "network:SecurityRules.BeginDelete", id, lroTimeout); err != nil {
		return err
	}
	p.log.Info("security rule deleted", "rule", id)
	return nil
}
