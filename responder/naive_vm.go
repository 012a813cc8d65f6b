package responder

import (
	"context"
	"fmt"
	"time"

	gcompute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
	"google.golang.org/api/option"
	"google.golang.org/protobuf/proto"

	"github.com/firedrill-ir/firedrill/providers"
)

// The naive VM actions are what a responder writes from each cloud's
// console habits, kept on purpose so a drill shows why each fails. The
// neutral provider interfaces deliberately do not offer them (the providers
// always do the corrected thing), so these talk to the cloud through the
// provider's own SDK configuration: the same endpoint, credentials and
// transport, never the simulator directly.

func init() {
	register(ActionSpec{Name: "naive_isolate", Mutates: true,
		Doc:    "NAIVE: AWS one security-group swap; Azure an NSG swap without flushConnection; GCP a deny-by-tag firewall without access-config churn (established flows survive all three)",
		Params: []string{"group_name"}, Run: naiveIsolate})
	register(ActionSpec{Name: "naive_detach_identity", Mutates: true,
		Doc: "NAIVE: remove the VM's identity and nothing else (AWS disassociate, Azure identity None keeping its role assignments, GCP setServiceAccount): stolen credentials keep working",
		Run: naiveDetachIdentity})
}

// azureSDK is implemented by the Azure provider.
type azureSDK interface {
	ARM() (string, azcore.TokenCredential, *arm.ClientOptions)
}

// gcpSDK is implemented by the GCP provider.
type gcpSDK interface{ ClientOptions() []option.ClientOption }

func naiveIsolate(ctx context.Context, x *StepRun) (map[string]any, error) {
	switch c := x.Provider().Cloud(); c {
	case providers.CloudAWS:
		return swapSecurityGroups(ctx, x)
	case providers.CloudAzure:
		return naiveAzureNSGSwap(ctx, x)
	case providers.CloudGCP:
		return naiveGCPTagOnly(ctx, x)
	default:
		return nil, fmt.Errorf("naive_isolate has no %q variant: %w", c, providers.ErrUnsupported)
	}
}

func naiveDetachIdentity(ctx context.Context, x *StepRun) (map[string]any, error) {
	if x.Provider().Cloud() == providers.CloudAzure {
		return naiveAzureIdentityNone(ctx, x)
	}
	// AWS disassociates the profile; GCP stops the VM and clears its
	// service account. Neither revokes anything already issued.
	idp, err := need(x.Provider().Identity(), CapIdentity)
	if err != nil {
		return nil, err
	}
	res, err := idp.DetachInstanceIdentity(ctx, x.Resource(), providers.DetachRemove, "")
	if err != nil {
		return nil, fmt.Errorf("removing the identity of %s: %w", x.Resource(), err)
	}
	return map[string]any{"previous": res.PreviousProfileARN, "note": "identity removed; issued credentials not revoked"}, nil
}

// azurePoll drives an Azure long-running operation on the responder's
// clock (the simulator answers terminal on the first poll; a real cloud
// takes a few polls).
func azurePoll[T any](ctx context.Context, x *StepRun, poller *runtime.Poller[T], what string) (T, error) {
	for !poller.Done() {
		if _, err := poller.Poll(ctx); err != nil {
			var zero T
			return zero, fmt.Errorf("%s: %w", what, err)
		}
		if poller.Done() {
			break
		}
		if err := x.r.clk.Sleep(ctx, 5*time.Second); err != nil {
			var zero T
			return zero, fmt.Errorf("%s: waiting: %w", what, err)
		}
	}
	out, err := poller.Result(ctx)
	if err != nil {
		return out, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

func azureVMRef(id string) (*arm.ResourceID, error) {
	r, err := arm.ParseResourceID(id)
	if err != nil {
		return nil, fmt.Errorf("%w: %s is not an Azure resource id: %v", errBadParams, id, err)
	}
	return r, nil
}

// naiveAzureNSGSwap creates a deny-all NSG without flushConnection and
// moves every NIC of the VM onto it. NSGs are stateful: "existing
// connections are not reevaluated", so the miner's pool session survives.
func naiveAzureNSGSwap(ctx context.Context, x *StepRun) (map[string]any, error) {
	sdk, ok := x.Provider().(azureSDK)
	if !ok {
		return nil, fmt.Errorf("naive_isolate on Azure needs the Azure provider: %w", providers.ErrUnsupported)
	}
	sub, cred, opts := sdk.ARM()
	ref, err := azureVMRef(x.Resource())
	if err != nil {
		return nil, err
	}
	vms, err := armcompute.NewVirtualMachinesClient(sub, cred, opts)
	if err != nil {
		return nil, fmt.Errorf("building the compute client: %w", err)
	}
	nics, err := armnetwork.NewInterfacesClient(sub, cred, opts)
	if err != nil {
		return nil, fmt.Errorf("building the interfaces client: %w", err)
	}
	nsgs, err := armnetwork.NewSecurityGroupsClient(sub, cred, opts)
	if err != nil {
		return nil, fmt.Errorf("building the NSG client: %w", err)
	}
	vm, err := vms.Get(ctx, ref.ResourceGroupName, ref.Name, nil)
	if err != nil {
		return nil, fmt.Errorf("reading VM %s: %w", x.Resource(), err)
	}
	name := x.String("group_name", "quarantine-nsg")
	deny := func(n string, dir armnetwork.SecurityRuleDirection) *armnetwork.SecurityRule {
		return &armnetwork.SecurityRule{Name: to.Ptr(n), Properties: &armnetwork.SecurityRulePropertiesFormat{
			Priority: to.Ptr[int32](100), Direction: to.Ptr(dir), Access: to.Ptr(armnetwork.SecurityRuleAccessDeny),
			Protocol: to.Ptr(armnetwork.SecurityRuleProtocolAsterisk), SourceAddressPrefix: to.Ptr("*"), SourcePortRange: to.Ptr("*"),
			DestinationAddressPrefix: to.Ptr("*"), DestinationPortRange: to.Ptr("*")}}
	}
	poller, err := nsgs.BeginCreateOrUpdate(ctx, ref.ResourceGroupName, name, armnetwork.SecurityGroup{Location: vm.Location,
		Properties: &armnetwork.SecurityGroupPropertiesFormat{SecurityRules: []*armnetwork.SecurityRule{
			deny("DenyAllIn", armnetwork.SecurityRuleDirectionInbound), deny("DenyAllOut", armnetwork.SecurityRuleDirectionOutbound)}}}, nil)
	if err != nil {
		return nil, fmt.Errorf("creating NSG %s: %w", name, err)
	}
	nsg, err := azurePoll(ctx, x, poller, "creating NSG "+name)
	if err != nil {
		return nil, err
	}
	nsgID := *nsg.ID
	if vm.Properties != nil && vm.Properties.NetworkProfile != nil {
		for _, ni := range vm.Properties.NetworkProfile.NetworkInterfaces {
			nr, err := azureVMRef(*ni.ID)
			if err != nil {
				return nil, err
			}
			got, err := nics.Get(ctx, nr.ResourceGroupName, nr.Name, nil)
			if err != nil {
				return nil, fmt.Errorf("reading NIC %s: %w", *ni.ID, err)
			}
			nic := got.Interface
			if nic.Properties == nil {
				nic.Properties = &armnetwork.InterfacePropertiesFormat{}
			}
			nic.Properties.NetworkSecurityGroup = &armnetwork.SecurityGroup{ID: to.Ptr(nsgID)}
			np, err := nics.BeginCreateOrUpdate(ctx, nr.ResourceGroupName, nr.Name, nic, nil)
			if err != nil {
				return nil, fmt.Errorf("moving NIC %s to %s: %w", *ni.ID, nsgID, err)
			}
			if _, err := azurePoll(ctx, x, np, "moving NIC "+*ni.ID); err != nil {
				return nil, err
			}
		}
	}
	x.SetFact("isolation", map[string]any{"forensic_group": nsgID, "transition_group": ""})
	return map[string]any{"group": nsgID, "note": "NSG swap without flushConnection: established flows survive"}, nil
}

// naiveAzureIdentityNone removes the VM's managed identity and leaves its
// role assignments: the token stolen from IMDS stays valid about 24 hours
// and, its assignments intact, keeps authorizing.
func naiveAzureIdentityNone(ctx context.Context, x *StepRun) (map[string]any, error) {
	sdk, ok := x.Provider().(azureSDK)
	if !ok {
		return nil, fmt.Errorf("naive_detach_identity on Azure needs the Azure provider: %w", providers.ErrUnsupported)
	}
	sub, cred, opts := sdk.ARM()
	ref, err := azureVMRef(x.Resource())
	if err != nil {
		return nil, err
	}
	vms, err := armcompute.NewVirtualMachinesClient(sub, cred, opts)
	if err != nil {
		return nil, fmt.Errorf("building the compute client: %w", err)
	}
	poller, err := vms.BeginUpdate(ctx, ref.ResourceGroupName, ref.Name, armcompute.VirtualMachineUpdate{
		Identity: &armcompute.VirtualMachineIdentity{Type: to.Ptr(armcompute.ResourceIdentityTypeNone)}}, nil)
	if err != nil {
		return nil, fmt.Errorf("removing the identity of %s: %w", x.Resource(), err)
	}
	if _, err := azurePoll(ctx, x, poller, "removing the identity of "+x.Resource()); err != nil {
		return nil, err
	}
	return map[string]any{"identity": "None", "note": "role assignments kept: the stolen token still authorizes"}, nil
}

// naiveGCPTagOnly inserts priority-0 deny-all rules for a quarantine tag
// and tags the VM, without churning its external access config: the VPC
// firewall is stateful, so the established pool connection survives.
func naiveGCPTagOnly(ctx context.Context, x *StepRun) (map[string]any, error) {
	sdk, ok := x.Provider().(gcpSDK)
	if !ok {
		return nil, fmt.Errorf("naive_isolate on GCP needs the GCP provider: %w", providers.ErrUnsupported)
	}
	var project, zone, name string
	if _, err := fmt.Sscanf(slashesToSpaces(x.Resource()), "projects %s zones %s instances %s", &project, &zone, &name); err != nil {
		return nil, fmt.Errorf("%w: %s is not projects/P/zones/Z/instances/N", errBadParams, x.Resource())
	}
	ic, err := gcompute.NewInstancesRESTClient(ctx, sdk.ClientOptions()...)
	if err != nil {
		return nil, fmt.Errorf("building the instances client: %w", err)
	}
	defer ic.Close()
	fc, err := gcompute.NewFirewallsRESTClient(ctx, sdk.ClientOptions()...)
	if err != nil {
		return nil, fmt.Errorf("building the firewalls client: %w", err)
	}
	defer fc.Close()
	inst, err := ic.Get(ctx, &computepb.GetInstanceRequest{Project: project, Zone: zone, Instance: name})
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", x.Resource(), err)
	}
	tag := x.String("group_name", "quarantine")
	if len(inst.GetNetworkInterfaces()) == 0 {
		return nil, fmt.Errorf("%s has no network interface: %w", x.Resource(), providers.ErrConflict)
	}
	network := inst.GetNetworkInterfaces()[0].GetNetwork()
	all := []*computepb.Denied{{IPProtocol: proto.String("all")}}
	for _, fw := range []*computepb.Firewall{
		{Name: proto.String(tag + "-deny-in"), Network: proto.String(network), Direction: proto.String("INGRESS"), Priority: proto.Int32(0),
			TargetTags: []string{tag}, SourceRanges: []string{"0.0.0.0/0"}, Denied: all},
		{Name: proto.String(tag + "-deny-out"), Network: proto.String(network), Direction: proto.String("EGRESS"), Priority: proto.Int32(0),
			TargetTags: []string{tag}, DestinationRanges: []string{"0.0.0.0/0"}, Denied: all},
	} {
		op, err := fc.Insert(ctx, &computepb.InsertFirewallRequest{Project: project, FirewallResource: fw})
		if err != nil {
			return nil, fmt.Errorf("inserting firewall %s: %w", fw.GetName(), err)
		}
		if err := gcpPoll(ctx, x, op, "inserting firewall "+fw.GetName()); err != nil {
			return nil, err
		}
	}
	items := append(append([]string(nil), inst.GetTags().GetItems()...), tag)
	op, err := ic.SetTags(ctx, &computepb.SetTagsInstanceRequest{Project: project, Zone: zone, Instance: name,
		TagsResource: &computepb.Tags{Items: items, Fingerprint: inst.GetTags().Fingerprint}})
	if err != nil {
		return nil, fmt.Errorf("tagging %s: %w", x.Resource(), err)
	}
	if err := gcpPoll(ctx, x, op, "tagging "+x.Resource()); err != nil {
		return nil, err
	}
	x.SetFact("isolation", map[string]any{"forensic_group": tag, "transition_group": ""})
	return map[string]any{"group": tag, "note": "deny-by-tag without access-config churn: established flows survive"}, nil
}

// gcpPoll waits for a Compute operation on the responder's clock (op.Wait
// sleeps on the wall clock).
func gcpPoll(ctx context.Context, x *StepRun, op *gcompute.Operation, what string) error {
	for !op.Done() {
		if err := op.Poll(ctx); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if op.Done() {
			break
		}
		if err := x.r.clk.Sleep(ctx, 2*time.Second); err != nil {
			return fmt.Errorf("%s: waiting: %w", what, err)
		}
	}
	return nil
}

func slashesToSpaces(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c == '/' {
			b[i] = ' '
		}
	}
	return string(b)
}
