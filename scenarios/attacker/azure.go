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

// Azure technique ids.
const (
	AzureExploitWebApp = "azure.vm.exploit-web-app"
	AzureCryptoMiner   = "azure.vm.start-cryptominer"
	AzureStealMIToken  = "azure.vm.steal-managed-identity-token"
	AzureBackdoorNSG   = "azure.network.backdoor-nsg"
	AzureKeepAccess    = "azure.keep-access"
)

func azureTechniques() []*Technique {
	return []*Technique{exploitVM(CloudAzure, AzureExploitWebApp, "web-vmss"), cryptoMinerVM(CloudAzure, AzureCryptoMiner),
		azureStealToken(), azureBackdoorNSG(), azureKeepAccess()}
}

// stolenToken is an azcore credential that hands out one stolen access
// token. Its expiry is far in the future on purpose: whether the token
// still works is for the simulated Entra ID and ARM to decide at each call
// (on the drill clock), not for azcore's wall-clock cache.
type stolenToken struct{ token string }

func (s stolenToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: s.token, ExpiresOn: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)}, nil
}

// azureARMAudience is the audience ARM tokens carry.
const azureARMAudience = "https://management.azure.com/"

// azureOptions are the ARM client options the attacker uses: the
// simulator's endpoint, a transport that marks each request as the
// attacker's (source address, correlation id) and charges modelled latency
// on the drill clock, and no SDK retries (which would sleep on the wall
// clock; a throttled attacker call is simply recorded as failed).
func (e *Env) azureOptions() *arm.ClientOptions {
	base := strings.TrimSuffix(e.Azure.Endpoint, "/")
	return &arm.ClientOptions{DisableRPRegistration: true, ClientOptions: policy.ClientOptions{
		Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: base + "/",
			Services: map[cloud.ServiceName]cloud.ServiceConfiguration{cloud.ResourceManager: {Endpoint: base, Audience: azureARMAudience}}},
		Transport: &http.Client{Transport: &simhttp.Mark{SourceIP: e.SourceIP, UserAgent: "firedrill-attacker/" + e.CorrelationID, Actor: "attacker",
			Next: &simhttp.Transport{Base: e.Azure.Base, Clock: e.Clock}}},
		Retry: policy.RetryOptions{MaxRetries: -1},
	}}
}

// azureGetVM is the attacker's "whoami" with a stolen token: read the VM it
// came from. Any ARM read needs a role assignment, so success proves the
// token still grants something.
func (e *Env) azureGetVM(ctx context.Context, technique, vmID, token string, detail map[string]string) error {
	if e.Azure == nil {
		return fmt.Errorf("the scenario has no Azure environment")
	}
	name := vmID[strings.LastIndex(vmID, "/")+1:]
	c, err := armcompute.NewVirtualMachinesClient(e.Azure.Subscription, stolenToken{token}, e.azureOptions())
	if err == nil {
		_, err = c.Get(ctx, e.Azure.ResourceGroup, name, nil)
	}
	return e.Record(Action{Technique: technique, Operation: "Microsoft.Compute/virtualMachines/read", Resource: vmID,
		Cloud: CloudAzure, Credential: "stolen-token", Detail: detail}, err)
}

// azureStealToken reads the VM's managed-identity token from IMDS on the
// foothold and uses it at once from the attacker's own address: the pattern
// Defender for Resource Manager flags. The token is honoured for 24 hours
// whatever happens to the identity: only removing its role assignments
// takes its power away.
func azureStealToken() *Technique {
	return &Technique{
		ID: AzureStealMIToken, ATTACK: "T1552.005", Name: "Unsecured Credentials: Cloud Instance Metadata API", Cloud: CloudAzure,
		Run: func(ctx context.Context, env *Env, p Params) error {
			fh := &env.State.Azure
			w := env.World
			w.LockAs(hostCaller)
			var err error
			var raw string
			if fh.VM == "" {
				err = fmt.Errorf("no foothold to query the instance metadata service from")
			} else {
				r, t, terr := w.AzureIMDSTokenLocked(fh.VM, "")
				err = terr
				if terr == nil {
					raw = r
					fh.Token, fh.TokenExpires, fh.Principal = r, t.Expires, t.ObjectID
				}
			}
			w.Unlock()
			d := map[string]string{"path": "/metadata/identity/oauth2/token", "resource": azureARMAudience}
			if raw != "" {
				d["principal_id"] = fh.Principal
				d["expires"] = fh.TokenExpires.UTC().Format(time.RFC3339)
			}
			if err := env.Record(Action{Technique: AzureStealMIToken, Operation: "imds:GetManagedIdentityToken", Resource: fh.VM,
				Cloud: CloudAzure, Credential: "host", Detail: d}, err); err != nil {
				return err
			}
			return env.azureGetVM(ctx, AzureStealMIToken, fh.VM, fh.Token, nil)
		},
	}
}

// azureBackdoorNSG uses the stolen token's Contributor role to add an
// inbound rule for the attacker's address to the web tier's NSG: a way back
// in that survives the compromised VM (T1562.007, Modify Cloud Firewall).
func azureBackdoorNSG() *Technique {
	return &Technique{
		ID: AzureBackdoorNSG, ATTACK: "T1562.007", Name: "Impair Defenses: Disable or Modify Cloud Firewall", Cloud: CloudAzure,
		Params: []ParamSpec{
			{Name: "port", Kind: KindInt, Default: "22", Doc: "port opened to the attacker"},
			{Name: "priority", Kind: KindInt, Default: "105", Doc: "rule priority (lower wins)"},
		},
		Run: func(ctx context.Context, env *Env, p Params) error {
			fh := &env.State.Azure
			op := "Microsoft.Network/networkSecurityGroups/write"
			if fh.Token == "" || env.Azure == nil {
				return env.Record(Action{Technique: AzureBackdoorNSG, Operation: op, Cloud: CloudAzure},
					fmt.Errorf("no stolen token"))
			}
			nsgID := env.Azure.NSG
			name := nsgID[strings.LastIndex(nsgID, "/")+1:]
			rule := fmt.Sprintf("AllowMgmt-%s", env.ShortID())
			c, err := armnetwork.NewSecurityGroupsClient(env.Azure.Subscription, stolenToken{fh.Token}, env.azureOptions())
			var cur armnetwork.SecurityGroupsClientGetResponse
			if err == nil {
				cur, err = c.Get(ctx, env.Azure.ResourceGroup, name, nil)
			}
			if rerr := env.Record(Action{Technique: AzureBackdoorNSG, Operation: "Microsoft.Network/networkSecurityGroups/read",
				Resource: nsgID, Cloud: CloudAzure, Credential: "stolen-token"}, err); rerr != nil {
				return rerr
			}
			nsg := cur.SecurityGroup
			if nsg.Properties == nil {
				nsg.Properties = &armnetwork.SecurityGroupPropertiesFormat{}
			}
			nsg.Properties.SecurityRules = append(nsg.Properties.SecurityRules, &armnetwork.SecurityRule{
				Name: to.Ptr(rule), Properties: &armnetwork.SecurityRulePropertiesFormat{
					Priority: to.Ptr(int32(p.Int("priority"))), Direction: to.Ptr(armnetwork.SecurityRuleDirectionInbound),
					Access: to.Ptr(armnetwork.SecurityRuleAccessAllow), Protocol: to.Ptr(armnetwork.SecurityRuleProtocolTCP),
					SourceAddressPrefix: to.Ptr(env.SourceIP + "/32"), SourcePortRange: to.Ptr("*"),
					DestinationAddressPrefix: to.Ptr("*"), DestinationPortRange: to.Ptr(fmt.Sprint(p.Int("port"))),
					Description: to.Ptr("temporary vendor access"),
				}})
			// The simulator applies the PUT on the initial request and
			// answers it terminal, so there is nothing to poll.
			_, err = c.BeginCreateOrUpdate(ctx, env.Azure.ResourceGroup, name, nsg, nil)
			if err == nil {
				fh.Backdoor = nsgID + "/securityRules/" + rule
			}
			return env.Record(Action{Technique: AzureBackdoorNSG, Operation: op, Resource: nsgID, Cloud: CloudAzure,
				Credential: "stolen-token", Detail: map[string]string{"rule": rule, "port": p.String("port"),
					"source": env.SourceIP + "/32"}}, err)
		},
	}
}

// azureKeepAccess is the attacker coming back every few minutes: is the
// pool connection up (or can it reconnect), and does the stolen token still
// read the resource group's role assignments and the web NSG.
func azureKeepAccess() *Technique {
	return &Technique{
		ID: AzureKeepAccess, ATTACK: "T1078.004", Name: "Valid Accounts: Cloud Accounts", Cloud: CloudAzure,
		Params: []ParamSpec{{Name: "every", Kind: KindDuration, Default: "5m"}},
		Run: func(ctx context.Context, env *Env, p Params) error {
			return keepAccessLoop(ctx, env, p.Duration("every"), func() { env.ProbeAzure(ctx) })
		},
	}
}

// ProbeAzure performs one round of the attacker's Azure access checks.
// Failures are recorded, not returned: a denied call is the answer sought.
func (e *Env) ProbeAzure(ctx context.Context) {
	e.probeCloudPool(CloudAzure, AzureKeepAccess)
	fh := &e.State.Azure
	if fh.Token == "" || e.Azure == nil {
		return
	}
	scope := "/subscriptions/" + e.Azure.Subscription + "/resourceGroups/" + e.Azure.ResourceGroup
	c, err := armauthorization.NewRoleAssignmentsClient(e.Azure.Subscription, stolenToken{fh.Token}, e.azureOptions())
	n := 0
	if err == nil {
		pg := c.NewListForScopePager(scope, nil)
		for pg.More() && err == nil {
			var page armauthorization.RoleAssignmentsClientListForScopeResponse
			page, err = pg.NextPage(ctx)
			n += len(page.Value)
		}
	}
	d := map[string]string{}
	if err == nil {
		d["assignments"] = fmt.Sprint(n)
	}
	_ = e.Record(Action{Technique: AzureKeepAccess, Operation: "Microsoft.Authorization/roleAssignments/read", Resource: scope,
		Cloud: CloudAzure, Credential: "stolen-token", Detail: d}, err)
	_ = e.azureReadNSG(ctx, AzureKeepAccess, nil)
}

// azureReadNSG reads the web NSG with the stolen token.
func (e *Env) azureReadNSG(ctx context.Context, technique string, detail map[string]string) error {
	nsgID := e.Azure.NSG
	c, err := armnetwork.NewSecurityGroupsClient(e.Azure.Subscription, stolenToken{e.State.Azure.Token}, e.azureOptions())
	if err == nil {
		_, err = c.Get(ctx, e.Azure.ResourceGroup, nsgID[strings.LastIndex(nsgID, "/")+1:], nil)
	}
	return e.Record(Action{Technique: technique, Operation: "Microsoft.Network/networkSecurityGroups/read", Resource: nsgID,
		Cloud: CloudAzure, Credential: "stolen-token", Detail: detail}, err)
}

// CheckAzureToken tries the stolen managed-identity token with a read
// that needs a role assignment and reports whether it still works: the
// final containment check's credential test on Azure.
func (e *Env) CheckAzureToken(ctx context.Context) (valid int) {
	if e.State.Azure.Token == "" || e.Azure == nil {
		return 0
	}
	if e.azureReadNSG(ctx, AzureKeepAccess, map[string]string{"check": "final"}) == nil {
		return 1
	}
	return 0
}
