package attacker_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/cloudsim/simcloud"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/awsworld"
	"github.com/firedrill-ir/firedrill/cloudsim/world/azureworld"
	"github.com/firedrill-ir/firedrill/cloudsim/world/gcpworld"
	"github.com/firedrill-ir/firedrill/scenarios/attacker"
	"github.com/firedrill-ir/firedrill/timeline"
)

// legitActor is a background activity of the lab's cloud, as the runner
// builds one: no credential of its own, the attacker's foothold left out
// of the group's healthy members, no random draws.
func (l *lab) legitActor(principal string) *attacker.Actor {
	return &attacker.Actor{Clock: l.clk, World: l.w, Target: l.env.Targets[l.cloud], Principal: principal,
		Caller:      attacker.Caller{SourceIP: "198.51.100.200", UserAgent: "firedrill-background", Actor: "background/" + principal},
		Compromised: func() []string { return l.env.State.Footholds(l.cloud) }}
}

// members lists the group's running members.
func (l *lab) members(t *testing.T) []string {
	t.Helper()
	drv, _ := simcloud.Get(l.cloud)
	l.w.Lock()
	defer l.w.Unlock()
	m, err := drv.Host.GroupMembersLocked(l.w, l.site, l.site.Prop("vm_group"))
	require.NoError(t, err)
	return m
}

// outcomes renders results as "principal outcome [code]".
func outcomes(rs []attacker.Result) []string {
	var out []string
	for _, r := range rs {
		o, code := attacker.Classify(r.Err)
		out = append(out, strings.TrimSpace(fmt.Sprintf("%s %s %s", r.Principal, o, code)))
	}
	return out
}

// networkCase is how one cloud isolates a single VM and how a response
// cuts the web tier's shared rules for everyone, done in the world.
type networkCase struct {
	preset string
	// isolate puts one VM behind a rule set that admits nothing.
	isolate func(t *testing.T, l *lab, vm string)
	// denyAll cuts the rule every member shares (the web security group,
	// the NSG, the VPC firewall rule).
	denyAll func(t *testing.T, l *lab, vm string)
}

var networkCases = []networkCase{
	{preset: "aws-web-asg",
		isolate: func(t *testing.T, l *lab, vm string) {
			inst := l.w.Instances.Lookup(vm)
			sg := awsworld.Of(l.w).GroupByName(inst.VPC, "forensics")
			if sg == nil {
				var err error
				sg, err = awsworld.Of(l.w).AddSecurityGroup(inst.Account, inst.Region, inst.VPC, "forensics", "no rules")
				require.NoError(t, err)
			}
			require.NoError(t, awsworld.Of(l.w).SetInstanceGroups(vm, []string{sg.ID}))
		},
		denyAll: func(t *testing.T, l *lab, vm string) {
			eni := l.w.ENIs.Lookup(l.w.Instances.Lookup(vm).ENIs[0])
			_, _, err := awsworld.Of(l.w).RevokeRules(eni.Groups[0], false,
				[]awsworld.Rule{{Protocol: "tcp", FromPort: 443, ToPort: 443, CIDRs: []string{"0.0.0.0/0"}}})
			require.NoError(t, err)
		}},
	{preset: "azure-web-vmss",
		isolate: func(t *testing.T, l *lab, vm string) {
			az := azureworld.Of(l.w)
			v := az.VM(vm)
			nsg, _, err := az.PutNSG(&azureworld.NSG{Name: "quarantine", ResourceGroup: v.ResourceGroup, Subscription: v.Subscription,
				Location: v.Location, ID: azureworld.ResourceID(v.Subscription, v.ResourceGroup, "Microsoft.Network", "networkSecurityGroups", "quarantine")})
			require.NoError(t, err)
			_, err = az.SetNIC(l.w.Instances.Lookup(vm).ENIs[0], nsg.ID, true)
			require.NoError(t, err)
		},
		denyAll: func(t *testing.T, l *lab, vm string) {
			nsg := azureworld.Of(l.w).NSG(l.w.ENIs.Lookup(l.w.Instances.Lookup(vm).ENIs[0]).Groups[0])
			for i := range nsg.Rules {
				if nsg.Rules[i].Name == "AllowHTTPS" {
					nsg.Rules[i].Access = "Deny"
				}
			}
		}},
	{preset: "gcp-web-mig",
		isolate: func(t *testing.T, l *lab, vm string) {
			g := gcpworld.Of(l.w)
			inst := g.Instances.Lookup(vm)
			if g.Firewalls.Lookup(gcpworld.FirewallKey(inst.Project, "quarantine-deny")) == nil {
				_, err := g.AddFirewall(&gcpworld.Firewall{Name: "quarantine-deny", Project: inst.Project, Network: inst.NICs[0].Network,
					Direction: "INGRESS", Priority: 0, Denied: []gcpworld.FirewallRule{{Protocol: "all"}},
					SourceRanges: []string{"0.0.0.0/0"}, TargetTags: []string{"quarantine"}})
				require.NoError(t, err)
			}
			inst.Tags = append(inst.Tags, "quarantine")
		},
		denyAll: func(t *testing.T, l *lab, vm string) {
			g := gcpworld.Of(l.w)
			g.Firewalls.Delete(gcpworld.FirewallKey(g.Instances.Lookup(vm).Project, "prod-allow-web"))
		}},
}

// TestWebClientsAreServedByAnyHealthyMember: the web tier's users reach
// the group's healthy members through the cloud's network model. The
// attacker's foothold is not one of them; isolating one member leaves the
// site up on the others; cutting the rule every member shares takes it
// down, and that round is denied.
func TestWebClientsAreServedByAnyHealthyMember(t *testing.T) {
	for _, c := range networkCases {
		t.Run(c.preset, func(t *testing.T) {
			l := newCloudLab(t, c.preset, nil)
			web := l.technique(t, l.cloud+".web-clients")
			require.True(t, web.NoSignIn, "web clients are anonymous")
			actor := l.legitActor("storefront-users")
			p := web.Resolve(nil)
			round := func(ctx context.Context) attacker.Result {
				rs := web.Act(ctx, actor, p, 0)
				require.Len(t, rs, 1, "one answer: the site")
				return rs[0]
			}
			l.run(t, func(ctx context.Context) {
				require.Equal(t, "3/3", round(ctx).Detail["serving"], "before the attack every member serves")
				require.NoError(t, l.play(ctx, t, l.techniqueOf(t, "T1190"), nil))
				foothold := l.env.State.Footholds(l.cloud)[0]
				r := round(ctx)
				require.NoError(t, r.Err)
				require.Equal(t, "2/2", r.Detail["serving"], "the compromised VM is not a healthy member")

				var healthy []string
				for _, m := range l.members(t) {
					if m != foothold {
						healthy = append(healthy, m)
					}
				}
				l.w.Lock()
				c.isolate(t, l, foothold)
				c.isolate(t, l, healthy[0])
				l.w.Unlock()
				r = round(ctx)
				require.NoError(t, r.Err, "isolating single VMs leaves the site up")
				require.Equal(t, "1/2", r.Detail["serving"])

				l.w.Lock()
				c.denyAll(t, l, healthy[1])
				l.w.Unlock()
				r = round(ctx)
				outcome, code := attacker.Classify(r.Err)
				require.Equal(t, timeline.Denied, outcome, "a site no healthy member serves is a denial for its users")
				require.Equal(t, "Blocked", code)
				require.Equal(t, "0/2", r.Detail["serving"])
				require.ErrorContains(t, r.Err, "no healthy member of "+l.site.Prop("vm_group")+" accepts connections from 198.51.100.200 on port 443")
			})
		})
	}
}

// identityCase is how one cloud's response cuts the compromised VM's
// identity, the correct way and for everyone.
type identityCase struct {
	preset, technique string
	// cut is what the built-in playbook does to the compromised VM's
	// identity; all cuts it for every VM.
	cut, all func(t *testing.T, l *lab, foothold string)
	// afterRefresh is the members' answer once their SDK fetched a new
	// credential after the correct cut.
	afterCut, afterRefresh string
}

// revokeOlder is AWS's AWSRevokeOlderSessions policy at now; the deny
// without a condition denies the role's every session, future ones too.
func revokeOlder(l *lab, conditional bool) {
	cond := ""
	if conditional {
		cond = fmt.Sprintf(`,"Condition":{"DateLessThan":{"aws:TokenIssueTime":"%s"}}`, l.clk.Now().Add(time.Second).UTC().Format(time.RFC3339))
	}
	awsworld.Of(l.w).Roles.Lookup("web-app-role").Policies["deny"] = `{"Version":"2012-10-17","Statement":[` +
		`{"Effect":"Deny","Action":"*","Resource":"*"` + cond + `}]}`
}

// TestFleetCallsShowTheBlastRadiusOfTheIdentityCut: the group's other
// members call with their own VM identity, as their SDK holds it. AWS's
// revocation of the role's older sessions denies them until their SDK
// fetches a fresh credential from IMDS (an hour after the last fetch);
// a deny on every session of the role denies them for good. Disabling
// GCP's shared service account denies them for as long as it stays
// disabled (the metadata server mints no new token). Azure's VMs have an
// identity each: removing the compromised one's role assignments spares
// them, removing every identity's does not.
func TestFleetCallsShowTheBlastRadiusOfTheIdentityCut(t *testing.T) {
	cases := []identityCase{
		{preset: "aws-web-asg", technique: attacker.AWSFleetRoleCalls,
			cut:      func(t *testing.T, l *lab, _ string) { revokeOlder(l, true) },
			all:      func(t *testing.T, l *lab, _ string) { revokeOlder(l, false) },
			afterCut: "denied AccessDenied", afterRefresh: "succeeded"},
		{preset: "azure-web-vmss", technique: attacker.AzureFleetIdentityCalls,
			cut: func(t *testing.T, l *lab, foothold string) {
				az := azureworld.Of(l.w)
				for _, ra := range az.RoleAssignmentsOf(az.VM(foothold).PrincipalID) {
					az.RoleAssignments.Delete(strings.ToLower(ra.ID))
				}
			},
			all: func(t *testing.T, l *lab, _ string) {
				az := azureworld.Of(l.w)
				for _, k := range az.RoleAssignments.Keys() {
					if az.RoleAssignments.Lookup(k).RoleDefinition == azureworld.RoleContributor {
						az.RoleAssignments.Delete(k)
					}
				}
			},
			afterCut: "succeeded", afterRefresh: "succeeded"},
		{preset: "gcp-web-mig", technique: attacker.GCPFleetServiceAccountCalls,
			cut: func(t *testing.T, l *lab, foothold string) {
				g := gcpworld.Of(l.w)
				require.NoError(t, g.SetServiceAccountDisabled(g.Instances.Lookup(foothold).ServiceAccount, true))
			},
			afterCut: "denied UNAUTHENTICATED", afterRefresh: "denied NoCredential"},
	}
	for _, c := range cases {
		t.Run(c.preset, func(t *testing.T) {
			l := newCloudLab(t, c.preset, nil)
			fleet := l.technique(t, c.technique)
			require.True(t, fleet.NoSignIn, "members take their credentials from the metadata service")
			actor := l.legitActor("fleet")
			p := fleet.Resolve(nil)
			answers := func(ctx context.Context) []string {
				var out []string
				for _, o := range outcomes(fleet.Act(ctx, actor, p, 0)) {
					out = append(out, o[strings.Index(o, " ")+1:])
				}
				return out
			}
			l.run(t, func(ctx context.Context) {
				require.NoError(t, l.play(ctx, t, l.techniqueOf(t, "T1190"), nil))
				foothold := l.env.State.Footholds(l.cloud)[0]
				rs := fleet.Act(ctx, actor, p, 0)
				require.Len(t, rs, 2, "the two healthy members, each as itself")
				for _, r := range rs {
					require.NoError(t, r.Err)
					require.NotEqual(t, foothold, r.Resource)
					require.Equal(t, "fleet/"+r.Resource[strings.LastIndex(r.Resource, "/")+1:], r.Principal)
				}
				// Each member called from its own address: no detector sees
				// its credential used outside the cloud.
				n := 0
				for _, a := range l.w.Audit {
					if a.UserAgent != "" && strings.Contains(a.UserAgent, "firedrill-background") {
						n++
						require.NotEqual(t, "198.51.100.200", a.SourceIP)
					}
				}
				require.Equal(t, 2, n)

				require.NoError(t, l.clk.Sleep(ctx, 10*time.Minute))
				l.w.Lock()
				c.cut(t, l, foothold)
				l.w.Unlock()
				require.NoError(t, l.clk.Sleep(ctx, time.Minute))
				require.Equal(t, []string{c.afterCut, c.afterCut}, answers(ctx), "right after the cut")
				require.NoError(t, l.clk.Sleep(ctx, time.Hour))
				require.Equal(t, []string{c.afterRefresh, c.afterRefresh}, answers(ctx), "once their SDK fetched again")
				if c.all == nil {
					return
				}
				l.w.Lock()
				c.all(t, l, foothold)
				l.w.Unlock()
				require.NoError(t, l.clk.Sleep(ctx, time.Minute))
				for _, a := range answers(ctx) {
					require.True(t, strings.HasPrefix(a, "denied "), "cut for everyone: %s", a)
				}
				require.NoError(t, l.clk.Sleep(ctx, 13*time.Hour))
				for _, a := range answers(ctx) {
					require.True(t, strings.HasPrefix(a, "denied "), "cut for everyone, whatever they fetch: %s", a)
				}
			})
		})
	}
}

// TestRefusalsAreDenials: a refusal outside any API (a connection no
// member accepts, no credential from the metadata service) is what a
// legitimate user sees as the response saying no.
func TestRefusalsAreDenials(t *testing.T) {
	outcome, code := attacker.Classify(fmt.Errorf("round: %w", &attacker.Refusal{Code: "NoCredential", Msg: "no"}))
	require.Equal(t, timeline.Denied, outcome)
	require.Equal(t, "NoCredential", code)
	outcome, code = attacker.Classify(&world.ComputeError{Kind: world.KindIncorrectState})
	require.Equal(t, timeline.Failed, outcome, "a compute error is a failure, not a refusal")
	require.Equal(t, "IncorrectState", code)
}
