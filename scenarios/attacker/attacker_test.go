package attacker_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/clock"
	"github.com/firedrill-ir/firedrill/cloudsim/demo"
	"github.com/firedrill-ir/firedrill/cloudsim/simcloud"
	_ "github.com/firedrill-ir/firedrill/cloudsim/simcloud/all"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/awsworld"
	"github.com/firedrill-ir/firedrill/scenarios/attacker"
	"github.com/firedrill-ir/firedrill/timeline"
)

// lab is a preset's environment served over loopback HTTP (TLS where the
// cloud needs it) on a virtual clock, as the drill runner serves it.
type lab struct {
	clk   *clock.Virtual
	w     *world.World
	tl    *timeline.Timeline
	env   *attacker.Env
	reg   *attacker.Registry
	cloud string
	site  simcloud.Site
}

func newLab(t *testing.T) *lab { return newCloudLab(t, "aws-web-asg", nil) }

// newCloudLab seeds a preset pack as the drill runner does: the pack's
// base environment, then each of its resources (changed by change) through
// the cloud's resource kinds.
func newCloudLab(t *testing.T, preset string, change func(res []simcloud.Resource)) *lab {
	t.Helper()
	clk := clock.NewVirtual(time.Date(2026, 1, 15, 9, 0, 0, 0, time.UTC), 7)
	w := world.New(clk, 7)
	pack, ok := simcloud.GetPack(preset)
	require.True(t, ok, preset)
	res := append([]simcloud.Resource(nil), pack.Resources...)
	if change != nil {
		change(res)
	}
	seeded, err := pack.Seed(w, res)
	require.NoError(t, err)
	drv, ok := simcloud.Get(pack.Cloud)
	require.True(t, ok)
	w.Lock()
	for i := range res {
		k, ok := drv.Kind(res[i].Kind)
		require.True(t, ok)
		require.NoError(t, k.Apply(w, seeded, &res[i], clk.Now()))
	}
	w.Unlock()
	srv := httptest.NewUnstartedServer(drv.Handler(w, nil))
	if drv.TLS {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	tl := timeline.New(clk)
	site := seeded.Site()
	return &lab{clk: clk, w: w, tl: tl, reg: attacker.Builtin(), cloud: pack.Cloud, site: site,
		env: &attacker.Env{Clock: clk, Timeline: tl, World: w, SourceIP: "203.0.113.45", CorrelationID: "fd-0123456789abcdef",
			Targets: map[string]*attacker.Target{pack.Cloud: {Site: site, Endpoint: srv.URL, Base: srv.Client().Transport}}}}
}

// run plays fn as the only actor and returns when it is done.
func (l *lab) run(t *testing.T, fn func(ctx context.Context)) {
	t.Helper()
	l.clk.Go(context.Background(), "attacker", fn)
	require.NoError(t, l.clk.Run(context.Background()))
}

func (l *lab) technique(t *testing.T, id string) *attacker.Technique {
	t.Helper()
	tech, ok := l.reg.Get(id)
	require.True(t, ok, id)
	return tech
}

// do runs a technique with its defaults overridden by params.
func (l *lab) do(ctx context.Context, t *testing.T, id string, params map[string]string) error {
	tech := l.technique(t, id)
	l.env.StartStep(id, tech)
	return tech.Run(ctx, l.env, tech.Resolve(params))
}

// actions lists "operation outcome [error_code]" for attack.action events.
func (l *lab) actions() []string {
	var out []string
	for _, e := range l.tl.Events() {
		if e.Kind == timeline.AttackAction {
			out = append(out, strings.TrimSpace(e.Detail["operation"]+" "+e.Outcome+" "+e.Detail["error_code"]))
		}
	}
	return out
}

func TestCryptominingChainThroughTheSDK(t *testing.T) {
	l := newLab(t)
	l.w.Lock()
	oldest := awsworld.Of(l.w).ScaleInCandidates(awsworld.Of(l.w).ASGs.Lookup(demo.DemoASG))[0].InstanceID
	l.w.Unlock()

	l.run(t, func(ctx context.Context) {
		require.NoError(t, l.do(ctx, t, attacker.ExploitWebApp, nil))
		require.NoError(t, l.do(ctx, t, attacker.CryptoMiner, nil))
		require.NoError(t, l.do(ctx, t, attacker.StealIMDSCreds, nil))
		// The demo role may only describe: launching is refused...
		require.Error(t, l.do(ctx, t, attacker.LaunchGPUs, map[string]string{"count": "1"}))
		// ...until the over-privileged inline policy a scenario adds.
		l.w.Lock()
		awsworld.Of(l.w).Roles.Lookup(demo.DemoRole).Policies["legacy-ops"] = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` +
			`"Action":["ec2:RunInstances","ec2:CreateTags","iam:CreateAccessKey"],"Resource":"*"}]}`
		l.w.Unlock()
		require.NoError(t, l.do(ctx, t, attacker.LaunchGPUs, nil))
		require.NoError(t, l.do(ctx, t, attacker.CreateAccessKey, map[string]string{"user": "ci-deploy"}))
	})

	hold := l.env.State.In("aws")
	require.Equal(t, oldest, hold.Foothold, "the attacker takes the instance scale-in would kill first")
	stolen := hold.Credential("stolen-session")
	require.NotNil(t, stolen)
	require.True(t, strings.HasPrefix(stolen.KeyID, "ASIA"))
	require.Equal(t, "arn:aws:sts::111122223333:assumed-role/web-app-role/"+oldest, stolen.Principal)
	planted := hold.Credential("persistence-key")
	require.NotNil(t, planted)
	require.Equal(t, "ci-deploy", planted.Principal)
	var launched []string
	kinds := map[attacker.PathKind]int{}
	for _, p := range l.env.State.Paths("aws") {
		kinds[p.Kind]++
		if p.Kind == attacker.LaunchedCompute {
			launched = append(launched, p.Resource)
		}
	}
	require.Len(t, launched, 3)
	require.Equal(t, map[attacker.PathKind]int{attacker.NetworkFlow: 2, attacker.StolenCredential: 1,
		attacker.LaunchedCompute: 3, attacker.PlantedCredential: 1}, kinds, "each technique declared what it gained")

	require.Equal(t, []string{
		"http:exploit succeeded", "pool:connect succeeded", "imds:GetRoleCredentials succeeded",
		"sts:GetCallerIdentity succeeded", "ec2:RunInstances denied UnauthorizedOperation",
		"ec2:RunInstances succeeded", "ec2:RunInstances succeeded", "ec2:RunInstances succeeded",
		"iam:CreateAccessKey succeeded", "sts:GetCallerIdentity succeeded",
	}, l.actions())

	l.w.Lock()
	defer l.w.Unlock()
	inst := l.w.Instances.Lookup(hold.Foothold)
	now := l.clk.Now()
	require.Equal(t, 99.0, inst.CPUAt(now))
	require.True(t, strings.Contains(inst.Processes[len(inst.Processes)-1].Command, "xmrig"))
	var pool *world.Flow
	for _, f := range l.w.ActiveFlowsLocked(hold.Foothold) {
		if f.Direction == "egress" {
			pool = f
		}
	}
	require.NotNil(t, pool)
	require.True(t, pool.Tracked, "the web group is not all-open, so the pool flow is tracked")
	require.Equal(t, "pool.minexmr.com", pool.Domain)
	require.Equal(t, 4444, pool.RemotePort)

	for _, id := range launched {
		gpu := l.w.Instances.Lookup(id)
		require.Equal(t, "p3.2xlarge", gpu.Type)
		require.Equal(t, "us-west-2", gpu.Region)
		require.Equal(t, "fd-0123456789abcdef", gpu.Tags["firedrill:correlation-id"])
		require.True(t, strings.HasPrefix(gpu.Tags["Name"], "fd-01234567-worker-"))
	}
	// Every attacker call is in CloudTrail from the attacker's address and
	// carries the correlation id in its user agent.
	n := 0
	for _, a := range l.w.Audit {
		if a.AccessKeyID == stolen.KeyID || a.AccessKeyID == planted.KeyID {
			n++
			require.Equal(t, "203.0.113.45", a.SourceIP)
			require.Contains(t, a.UserAgent, "firedrill-attacker/fd-0123456789abcdef")
		}
	}
	require.Equal(t, 7, n)
}

// stealAndPlant plays the chain up to the planted key, with the role
// allowed to launch instances and create keys (the legacy-ops policy).
func (l *lab) stealAndPlant(ctx context.Context, t *testing.T) {
	t.Helper()
	l.w.Lock()
	awsworld.Of(l.w).Roles.Lookup(demo.DemoRole).Policies["legacy-ops"] = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` +
		`"Action":["ec2:RunInstances","iam:CreateAccessKey"],"Resource":"*"}]}`
	l.w.Unlock()
	for _, id := range []string{attacker.ExploitWebApp, attacker.CryptoMiner, attacker.StealIMDSCreds} {
		require.NoError(t, l.do(ctx, t, id, nil))
	}
	require.NoError(t, l.do(ctx, t, attacker.CreateAccessKey, map[string]string{"user": "ci-deploy"}))
}

func TestProbeShowsWhatContainmentCut(t *testing.T) {
	l := newLab(t)
	keep := l.technique(t, attacker.KeepAccess)
	round := attacker.Round{Technique: keep.ID, Params: keep.Resolve(nil)}
	l.run(t, func(ctx context.Context) {
		l.stealAndPlant(ctx, t)
		before := len(l.actions())
		l.env.ProbePaths(ctx, "aws", round)
		require.Equal(t, []string{"pool:keepalive succeeded", "sts:GetCallerIdentity succeeded",
			"ec2:DescribeInstances succeeded", "ec2:RunInstances succeeded DryRunOperation",
			// The replay of what the session did beyond its probe: a key
			// for a user that does not exist, authorized all the same.
			"iam:CreateAccessKey succeeded NoSuchEntity",
			"sts:GetCallerIdentity succeeded", "s3:ListBuckets succeeded"}, l.actions()[before:])

		// A naive containment: a direct swap to a no-rule group leaves the
		// tracked pool flow up; revoking the role's older sessions and
		// disabling the planted key cut the API access.
		require.NoError(t, l.clk.Sleep(ctx, time.Minute))
		l.w.Lock()
		hold := l.env.State.In("aws")
		inst := l.w.Instances.Lookup(hold.Foothold)
		sg, err := awsworld.Of(l.w).AddSecurityGroup(inst.Account, inst.Region, inst.VPC, "quarantine", "no rules")
		require.NoError(t, err)
		_, _, err = awsworld.Of(l.w).RevokeRules(sg.ID, true, sg.Egress)
		require.NoError(t, err)
		require.NoError(t, awsworld.Of(l.w).SetInstanceGroups(inst.ID, []string{sg.ID}))
		awsworld.Of(l.w).Roles.Lookup(demo.DemoRole).Policies["AWSRevokeOlderSessions"] = fmt.Sprintf(`{"Version":"2012-10-17","Statement":[`+
			`{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:TokenIssueTime":"%s"}}}]}`,
			l.clk.Now().UTC().Format(time.RFC3339))
		require.NoError(t, awsworld.Of(l.w).UpdateAccessKey("ci-deploy", hold.Credential("persistence-key").KeyID, "Inactive"))
		l.w.Unlock()

		before = len(l.actions())
		l.env.ProbePaths(ctx, "aws", round)
		// sts:GetCallerIdentity needs no permission: AWS answers it even
		// for a session under an explicit deny.
		require.Equal(t, []string{"pool:keepalive succeeded", "sts:GetCallerIdentity succeeded",
			"ec2:DescribeInstances denied UnauthorizedOperation", "ec2:RunInstances denied UnauthorizedOperation",
			"iam:CreateAccessKey denied AccessDenied", "sts:GetCallerIdentity denied InvalidClientTokenId", "s3:ListBuckets denied InvalidAccessKeyId"}, l.actions()[before:])
		flows, _ := l.env.ActiveFlowsIn("aws")
		require.Equal(t, 2, flows, "web shell and pool connection survive a direct group swap")
		reports := l.env.FinalCheck(ctx, "aws")
		require.Equal(t, 0, l.env.State.Count("aws", attacker.PlantedCredential))
		require.Equal(t, 0, l.env.State.Count("aws", attacker.StolenCredential), "the revoked session may no longer describe instances")
		require.Equal(t, 2, l.env.State.Count("aws", attacker.NetworkFlow))
		status := map[string]string{}
		for _, r := range reports {
			status[r.ID] = r.Status + " " + r.ErrorCode
		}
		require.Equal(t, "cut UnauthorizedOperation", status["aws/stolen_credential/stolen-session"])
		require.Equal(t, "open ", status["aws/network_flow/pool"])
		require.Equal(t, []string{"ec2:DescribeInstances denied UnauthorizedOperation", "ec2:RunInstances denied UnauthorizedOperation",
			"iam:CreateAccessKey denied AccessDenied", "s3:ListBuckets denied InvalidAccessKeyId"},
			l.actions()[len(l.actions())-4:], "the final check: each credential's probe and the replays of what it did")
	})
}

// TestANarrowDenyLeavesTheCredentialOpen: a deny on ec2:* silences the
// stolen session's describe probe, but it created access keys before, and
// the replay of that call shows it still can: the path stays open.
func TestANarrowDenyLeavesTheCredentialOpen(t *testing.T) {
	l := newLab(t)
	keep := l.technique(t, attacker.KeepAccess)
	round := attacker.Round{Technique: keep.ID, Params: keep.Resolve(nil)}
	l.run(t, func(ctx context.Context) {
		l.stealAndPlant(ctx, t)
		l.w.Lock()
		awsworld.Of(l.w).Roles.Lookup(demo.DemoRole).Policies["deny-ec2"] = `{"Version":"2012-10-17","Statement":[{"Effect":"Deny",` +
			`"Action":"ec2:*","Resource":"*"}]}`
		l.w.Unlock()
		require.NoError(t, l.clk.Sleep(ctx, time.Minute))
		before := len(l.actions())
		l.env.ProbePaths(ctx, "aws", round)
		require.Contains(t, l.actions()[before:], "ec2:DescribeInstances denied UnauthorizedOperation")
		require.Contains(t, l.actions()[before:], "iam:CreateAccessKey succeeded NoSuchEntity")
		require.Equal(t, 1, l.env.State.Count("aws", attacker.StolenCredential), "the session can still mint keys")
	})
}

func TestKeepAccessStopsBeforeTheEnd(t *testing.T) {
	l := newLab(t)
	l.env.End = l.clk.Now().Add(16 * time.Minute)
	l.run(t, func(ctx context.Context) {
		require.NoError(t, l.do(ctx, t, attacker.KeepAccess, map[string]string{"every": "5m"}))
	})
	// Rounds at 0, 5, 10 and 15 minutes; nothing to probe but the loop.
	require.Equal(t, 15*time.Minute, l.clk.Now().Sub(time.Date(2026, 1, 15, 9, 0, 0, 0, time.UTC)).Truncate(time.Minute))
}

// TestKeepAccessBacksOffOnceShutOut: the attacker probes every minute
// while a way in works, then doubles its wait up to max_every once every
// way is cut, and comes back to every minute when one opens again.
func TestKeepAccessBacksOffOnceShutOut(t *testing.T) {
	l := newLab(t)
	start := l.clk.Now()
	l.env.End = start.Add(70 * time.Minute)
	var probes []int
	open := func(m int) bool { return m < 5 || m == 35 }
	l.env.State.Gain(&attacker.Path{Kind: attacker.NetworkFlow, Cloud: "aws", Credential: "host", Resource: "vm#test",
		Probe: func(_ context.Context, env *attacker.Env, _ attacker.Round) attacker.Outcome {
			m := int(env.Clock.Now().Sub(start) / time.Minute)
			probes = append(probes, m)
			return attacker.Outcome{Open: open(m), Code: "Cut"}
		}})
	l.run(t, func(ctx context.Context) {
		require.NoError(t, l.do(ctx, t, attacker.KeepAccess, nil))
	})
	require.Equal(t, []int{0, 1, 2, 3, 4, 5, 7, 11, 19, 35, 36, 38, 42, 50, 66}, probes)
}

// TestAThrottledProbeIsInconclusive: a probe the cloud answers with
// throttling or a server error keeps the path's last known state, and is
// on the timeline as failed.
func TestAThrottledProbeIsInconclusive(t *testing.T) {
	l := newLab(t)
	answers := []attacker.Outcome{{Open: true}, {Code: "Throttling"}, {Code: "HTTP_503"}, {Code: "AccessDenied"}}
	n := 0
	l.env.State.Gain(&attacker.Path{Kind: attacker.StolenCredential, Cloud: "aws", Credential: "test", Resource: "test",
		Probe: func(context.Context, *attacker.Env, attacker.Round) attacker.Outcome { n++; return answers[n-1] }})
	var status []string
	l.run(t, func(ctx context.Context) {
		for range answers {
			l.env.ProbePaths(ctx, "aws", attacker.Round{Technique: "test"})
			status = append(status, l.env.State.Paths("aws")[0].Status)
		}
	})
	require.Equal(t, []string{attacker.PathOpen, attacker.PathOpen, attacker.PathOpen, attacker.PathCut}, status)
	var outcomes []string
	for _, e := range l.tl.Events() {
		if e.Kind == timeline.PathProbe {
			outcomes = append(outcomes, e.Outcome)
		}
	}
	require.Equal(t, []string{timeline.Succeeded, timeline.Failed, timeline.Failed, timeline.Denied}, outcomes)
}

func TestClassify(t *testing.T) {
	for _, c := range []struct {
		err           error
		outcome, code string
	}{
		{nil, timeline.Succeeded, ""},
		{&smithy.GenericAPIError{Code: "DryRunOperation"}, timeline.Succeeded, "DryRunOperation"},
		{fmt.Errorf("wrapped: %w", &smithy.GenericAPIError{Code: "AccessDenied"}), timeline.Denied, "AccessDenied"},
		{&smithy.GenericAPIError{Code: "UnauthorizedOperation"}, timeline.Denied, "UnauthorizedOperation"},
		{&smithy.GenericAPIError{Code: "ExpiredToken"}, timeline.Denied, "ExpiredToken"},
		{&smithy.GenericAPIError{Code: "InvalidClientTokenId"}, timeline.Denied, "InvalidClientTokenId"},
		{&smithy.GenericAPIError{Code: "AuthFailure"}, timeline.Denied, "AuthFailure"},
		{&smithy.GenericAPIError{Code: "Throttling"}, timeline.Failed, "Throttling"},
		{&world.ComputeError{Kind: world.KindBlocked}, timeline.Denied, "Blocked"},
		{errors.New("no foothold"), timeline.Failed, ""},
	} {
		o, code := attacker.Classify(c.err)
		require.Equal(t, c.outcome, o, "%v", c.err)
		require.Equal(t, c.code, code, "%v", c.err)
	}
}

func TestTechniqueParamsAreChecked(t *testing.T) {
	tech, ok := attacker.Builtin().Get(attacker.KeepAccess)
	require.True(t, ok)
	require.True(t, tech.KeepsAccess)
	name, err := tech.CheckParams(map[string]string{"every": "soon"})
	require.Equal(t, "every", name)
	require.ErrorContains(t, err, `"soon" is not a non-negative duration`)
	name, err = tech.CheckParams(map[string]string{"evry": "5m"})
	require.Equal(t, "evry", name)
	require.ErrorContains(t, err, "has no parameter")
	_, err = tech.CheckParams(map[string]string{"every": "5m"})
	require.NoError(t, err)
	require.Equal(t, "1m", tech.Resolve(nil)["every"])
}
