package azure_test

import (
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/providers"
)

// A backdoor rule added the way `az network nsg rule create` adds it is
// named in the Activity Log as a created network rule, and the responder
// deletes it by that id.
func TestBackdoorRuleIsFoundInTheActivityLogAndDeleted(t *testing.T) {
	f := newFixture(t)
	rules, err := armnetwork.NewSecurityRulesClient(f.Demo.Subscription, f.Admin(t), f.ClientOptions())
	require.NoError(t, err)
	rg, nsg := "firedrill-demo-rg", f.Demo.NSG[strings.LastIndex(f.Demo.NSG, "/")+1:]
	start := f.Clock.Now()
	p, err := rules.BeginCreateOrUpdate(f.ctx, rg, nsg, "AllowMgmt-backdoor", armnetwork.SecurityRule{
		Properties: &armnetwork.SecurityRulePropertiesFormat{Priority: to.Ptr[int32](105), Access: to.Ptr(armnetwork.SecurityRuleAccessAllow),
			Direction: to.Ptr(armnetwork.SecurityRuleDirectionInbound), Protocol: to.Ptr(armnetwork.SecurityRuleProtocolTCP),
			SourceAddressPrefix: to.Ptr("203.0.113.45/32"), SourcePortRange: to.Ptr("*"), DestinationAddressPrefix: to.Ptr("*"),
			DestinationPortRange: to.Ptr("22")}}, nil)
	require.NoError(t, err)
	created, err := p.PollUntilDone(f.ctx, nil)
	require.NoError(t, err)
	ruleID := *created.ID
	require.True(t, strings.HasSuffix(strings.ToLower(ruleID), "/securityrules/allowmgmt-backdoor"), ruleID)

	f.Clock.Advance(2 * time.Minute) // the Activity Log's delivery delay
	events, err := f.P.QueryAudit(f.ctx, providers.AuditQuery{Start: start, End: f.Clock.Now()})
	require.NoError(t, err)
	var planted []providers.ResourceRef
	for _, e := range events {
		planted = append(planted, e.Created...)
	}
	require.Contains(t, planted, providers.Ref(providers.CloudAzure, providers.KindNetworkRule, ruleID))

	// Containment first: the rule turns to Deny and stays for the record.
	require.NoError(t, f.P.DisableNetworkRule(f.ctx, ruleID))
	got, err := rules.Get(f.ctx, rg, nsg, "AllowMgmt-backdoor", nil)
	require.NoError(t, err)
	require.Equal(t, armnetwork.SecurityRuleAccessDeny, *got.Properties.Access)
	require.Equal(t, "22", *got.Properties.DestinationPortRange, "the rest of the rule is kept")
	require.Contains(t, *got.Properties.Description, "disabled by incident response")
	require.ErrorIs(t, f.P.DisableNetworkRule(f.ctx, f.Demo.NSG), providers.ErrInvalid, "an NSG is not a rule")

	require.NoError(t, f.P.DeleteNetworkRule(f.ctx, ruleID))
	_, err = rules.Get(f.ctx, rg, nsg, "AllowMgmt-backdoor", nil)
	require.Error(t, err, "the rule is gone")
	require.ErrorIs(t, f.P.DeleteNetworkRule(f.ctx, f.Demo.NSG), providers.ErrInvalid, "an NSG is not a rule")
}
