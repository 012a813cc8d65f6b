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

// beacon is a technique written once, outside the package, for every
// cloud: from the foothold, code opens a command-and-control connection
// through the cloud's own network model and the attacker holds it as a
// network_flow path, probed from the host.
func beacon(cloud, id string) *attacker.Technique {
	return &attacker.Technique{ID: id, ATTACK: "T1071", Name: "Application Layer Protocol (test beacon)", Cloud: cloud,
		Params: []attacker.ParamSpec{{Name: "c2", Kind: attacker.KindString, Default: "198.18.0.9"}},
		Run: func(ctx context.Context, env *attacker.Env, p attacker.Params) error {
			drv, _ := simcloud.Get(cloud)
			vm := env.State.In(cloud).Foothold
			env.World.LockAs("host/attacker")
			f, err := drv.Host.OpenFlowLocked(env.World, vm, world.FlowSpec{Direction: "egress", Protocol: "tcp",
				RemoteIP: p.String("c2"), RemotePort: 8443, Actor: "attacker"})
			env.World.Unlock()
			if err == nil {
				flow := f.ID
				env.State.Gain(&attacker.Path{Kind: attacker.NetworkFlow, Cloud: cloud, Credential: "host", Resource: vm + "#c2",
					Description: "a C2 beacon from " + vm,
					Probe: func(_ context.Context, env *attacker.Env, _ attacker.Round) attacker.Outcome {
						env.World.LockAs("host/attacker")
						defer env.World.Unlock()
						for _, f := range env.World.ActiveFlowsLocked(vm) {
							if f.ID == flow {
								return attacker.Outcome{Open: true}
							}
						}
						return attacker.Outcome{Code: "FlowEnded"}
					}})
			}
			return env.Record(attacker.Action{Technique: id, Operation: "c2:connect", Resource: vm, Cloud: cloud, Credential: "host"}, err)
		}}
}

// A new technique is one registration per cloud.
func init() {
	attacker.Register(beacon("aws", "aws.test.beacon"), beacon("azure", "azure.test.beacon"), beacon("gcp", "gcp.test.beacon"))
}

// techniqueOf finds the cloud's registration of an ATT&CK technique.
func (l *lab) techniqueOf(t *testing.T, attack string) *attacker.Technique {
	t.Helper()
	for _, id := range l.reg.IDs(false) {
		if tech, _ := l.reg.Get(id); tech.Cloud == l.cloud && tech.ATTACK == attack && !strings.Contains(id, ".test.") {
			return tech
		}
	}
	t.Fatalf("no %s technique for %s", attack, l.cloud)
	return nil
}

func (l *lab) play(ctx context.Context, t *testing.T, tech *attacker.Technique, params map[string]string) error {
	l.env.StartStep(tech.ID, tech)
	return tech.Run(ctx, l.env, tech.Resolve(params))
}

func (l *lab) path(t *testing.T, kind attacker.PathKind) *attacker.Path {
	t.Helper()
	for _, p := range l.env.State.Paths(l.cloud) {
		if p.Kind == kind {
			return p
		}
	}
	t.Fatalf("no %s path in %s", kind, l.cloud)
	return nil
}

func TestANewTechniqueIsOneRegistrationPerCloud(t *testing.T) {
	for _, preset := range []string{"aws-web-asg", "azure-web-vmss", "gcp-web-mig"} {
		t.Run(preset, func(t *testing.T) {
			l := newCloudLab(t, preset, nil)
			keep, ok := l.reg.KeepAccess(l.cloud)
			require.True(t, ok)
			l.run(t, func(ctx context.Context) {
				require.NoError(t, l.play(ctx, t, l.techniqueOf(t, "T1190"), nil))
				require.NoError(t, l.play(ctx, t, l.technique(t, l.cloud+".test.beacon"), nil))
				// The cloud's keep-access loop and the final check try it
				// with every other path, knowing nothing about it.
				l.env.ProbePaths(ctx, l.cloud, attacker.Round{Technique: keep.ID, Params: keep.Resolve(nil)})
				reports := l.env.FinalCheck(ctx, l.cloud)
				require.Len(t, reports, 2, "the web shell and the beacon")
				require.Equal(t, "network_flow", reports[1].Kind)
				require.Equal(t, attacker.PathOpen, reports[1].Status)
			})
			require.Equal(t, 2, l.path(t, attacker.NetworkFlow).Probes)
		})
	}
}

// cloudCase is what a cloud's attack chain is and how its containment is
// simulated directly in the world (the responder's part, out of scope here).
type cloudCase struct {
	preset string
	// extra are the cloud's credential-use steps after the theft.
	extra []string
	// resources change the preset's resources (the over-privilege that
	// lets a stolen token plant a rule).
	resources func(res []simcloud.Resource)
	// cut revokes the stolen credential and removes the backdoor rule.
	cut func(t *testing.T, l *lab)
}

func TestPathsAreProbedByKeepAccessAndTheFinalCheckInEveryCloud(t *testing.T) {
	cases := []cloudCase{
		{preset: "aws-web-asg", cut: func(t *testing.T, l *lab) {
			role := awsworld.Of(l.w).Roles.Lookup("web-app-role")
			role.Policies["AWSRevokeOlderSessions"] = fmt.Sprintf(`{"Version":"2012-10-17","Statement":[`+
				`{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:TokenIssueTime":"%s"}}}]}`,
				l.clk.Now().UTC().Format(time.RFC3339))
		}},
		{preset: "azure-web-vmss", extra: []string{attacker.AzureBackdoorNSG}, cut: func(t *testing.T, l *lab) {
			az := azureworld.Of(l.w)
			principal := l.env.State.In("azure").Credential("stolen-token").Principal
			for _, ra := range azureworld.Of(l.w).RoleAssignmentsOf(principal) {
				az.RoleAssignments.Delete(strings.ToLower(ra.ID))
			}
			nsg := azureworld.Of(l.w).NSG(l.env.State.In("azure").Facts["network_security_group"])
			var kept []azureworld.Rule
			for _, r := range nsg.Rules {
				if !strings.HasPrefix(r.Name, "AllowMgmt-") {
					kept = append(kept, r)
				}
			}
			nsg.Rules = kept
		}},
		{preset: "gcp-web-mig", extra: []string{attacker.GCPBackdoorFirewall}, resources: func(res []simcloud.Resource) {
			simcloud.Find(res, simcloud.KindServiceAccount, "web-app").Roles = []string{"roles/compute.securityAdmin"}
		}, cut: func(t *testing.T, l *lab) {
			require.NoError(t, gcpworld.Of(l.w).SetServiceAccountDisabled(l.env.State.In("gcp").Credential("stolen-token").Principal, true))
			g := gcpworld.Of(l.w)
			for _, k := range g.Firewalls.Keys() {
				if strings.HasSuffix(k, "-vendor-access") {
					g.Firewalls.Delete(k)
				}
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.preset, func(t *testing.T) {
			l := newCloudLab(t, c.preset, c.resources)
			keep, _ := l.reg.KeepAccess(l.cloud)
			round := attacker.Round{Technique: keep.ID, Params: keep.Resolve(nil)}
			l.run(t, func(ctx context.Context) {
				for _, attack := range []string{"T1190", "T1496", "T1552.005"} {
					require.NoError(t, l.play(ctx, t, l.techniqueOf(t, attack), nil))
				}
				for _, id := range c.extra {
					require.NoError(t, l.play(ctx, t, l.technique(t, id), nil))
				}
				l.env.ProbePaths(ctx, l.cloud, round)
				for _, p := range l.env.State.Paths(l.cloud) {
					require.Equal(t, 1, p.Probes, "%s probed by the keep-access round", p.ID)
					require.Equal(t, attacker.PathOpen, p.Status, "%s before containment (%s)", p.ID, p.ErrorCode)
				}
				require.NoError(t, l.clk.Sleep(ctx, time.Minute))
				l.w.Lock()
				c.cut(t, l)
				l.w.Unlock()
				require.NoError(t, l.clk.Sleep(ctx, time.Minute))
				reports := l.env.FinalCheck(ctx, l.cloud)
				status := map[string]string{}
				for _, r := range reports {
					status[r.Kind] += r.Status + " "
				}
				require.Equal(t, "cut ", status["stolen_credential"], "the revoked credential: %+v", reports)
				if len(c.extra) > 0 {
					require.Equal(t, "cut ", status["backdoor_rule"], "the removed rule: %+v", reports)
				}
				require.Equal(t, "open open ", status["network_flow"], "nothing isolated the VM")
			})
			stolen := l.path(t, attacker.StolenCredential)
			require.Equal(t, 2, stolen.Probes)
			require.NotEmpty(t, stolen.ErrorCode)
			// The final check's calls carry check=final.
			final := 0
			for _, e := range l.tl.Events() {
				if e.Kind == timeline.AttackAction && e.Detail["check"] == "final" {
					final++
					require.Equal(t, "denied", e.Outcome, "%s", e.Detail["operation"])
				}
			}
			require.GreaterOrEqual(t, final, 1, "the stolen credential's probe and the replays of what it did")
		})
	}
}

// TestLegitimateTechniquesHaveAProbe: background activity can be asked
// whether it still works, the check a response's collateral damage will be
// measured by; each of its calls leaves an audit record from its own address.
func TestLegitimateTechniquesHaveAProbe(t *testing.T) {
	for _, c := range []struct{ preset, technique, principal, calls string }{
		{"aws-web-asg", attacker.AWSRoutineCalls, "alice", "ec2:DescribeInstances,s3:GetObject"},
		{"azure-web-vmss", attacker.AzureRoutineCalls, "ci-deploy", "Microsoft.Compute/virtualMachines/read"},
		{"gcp-web-mig", attacker.GCPRoutineCalls, "alice@firedrill.example", "compute.instances.get,compute.instanceGroupManagers.get"},
	} {
		t.Run(c.preset, func(t *testing.T) {
			l := newCloudLab(t, c.preset, nil)
			tech := l.technique(t, c.technique)
			require.True(t, tech.Legitimate)
			drv, _ := simcloud.Get(l.cloud)
			l.w.LockAs("background/" + c.principal)
			cred, ok, err := drv.PrincipalCredentialLocked(l.w, l.site, c.principal)
			l.w.Unlock()
			require.NoError(t, err)
			require.True(t, ok)
			actor := &attacker.Actor{Clock: l.clk, World: l.w, Target: l.env.Targets[l.cloud], Principal: c.principal, Credential: cred,
				Caller: attacker.Caller{SourceIP: "198.51.100.7", UserAgent: "firedrill-background", Actor: "background/" + c.principal}}
			p := tech.Resolve(map[string]string{"calls": c.calls})
			l.run(t, func(ctx context.Context) {
				require.NoError(t, tech.Probe(ctx, actor, p))
			})
			n := 0
			for _, a := range l.w.Audit {
				if strings.Contains(a.UserAgent, "firedrill-background") {
					n++
					require.Equal(t, "198.51.100.7", a.SourceIP)
				}
			}
			require.Equal(t, len(strings.Split(c.calls, ",")), n, "one audit record per call")
		})
	}
	_, _, err := func() (*simcloud.Credential, bool, error) {
		l := newCloudLab(t, "azure-web-vmss", nil)
		drv, _ := simcloud.Get("azure")
		l.w.Lock()
		defer l.w.Unlock()
		return drv.PrincipalCredentialLocked(l.w, l.site, "nobody")
	}()
	require.ErrorContains(t, err, `no application "nobody"`)
}
