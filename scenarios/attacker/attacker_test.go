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
	"github.com/firedrill-ir/firedrill/cloudsim/awssim"
	"github.com/firedrill-ir/firedrill/cloudsim/demo"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/scenarios/attacker"
	"github.com/firedrill-ir/firedrill/timeline"
)

// lab is the demo environment served over loopback HTTP on a virtual clock.
type lab struct {
	clk *clock.Virtual
	w   *world.World
	tl  *timeline.Timeline
	env *attacker.Env
	reg *attacker.Registry
}

func newLab(t *testing.T) *lab {
	t.Helper()
	clk := clock.NewVirtual(time.Date(2026, 1, 15, 9, 0, 0, 0, time.UTC), 7)
	w := world.New(clk, 7)
	seeded, err := demo.SeedAWS(w, demo.Options{ScaleInAfter: -1})
	require.NoError(t, err)
	srv := httptest.NewServer(awssim.New(w))
	t.Cleanup(srv.Close)
	tl := timeline.New(clk)
	return &lab{clk: clk, w: w, tl: tl, reg: attacker.Builtin(), env: &attacker.Env{Clock: clk, Timeline: tl, World: w,
		Endpoint: srv.URL, Account: seeded.Account, Region: seeded.Region, SourceIP: "203.0.113.45",
		CorrelationID: "fd-0123456789abcdef", Base: srv.Client().Transport}}
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
	oldest := l.w.ScaleInCandidatesLocked(l.w.ASGs[demo.DemoASG])[0].InstanceID
	l.w.Unlock()

	l.run(t, func(ctx context.Context) {
		require.NoError(t, l.do(ctx, t, attacker.ExploitWebApp, nil))
		require.NoError(t, l.do(ctx, t, attacker.CryptoMiner, nil))
		require.NoError(t, l.do(ctx, t, attacker.StealIMDSCreds, nil))
		// The demo role may only describe: launching is refused...
		require.Error(t, l.do(ctx, t, attacker.LaunchGPUs, map[string]string{"count": "1"}))
		// ...until the over-privileged inline policy a scenario adds.
		l.w.Lock()
		l.w.Roles[demo.DemoRole].Policies["legacy-ops"] = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` +
			`"Action":["ec2:RunInstances","ec2:CreateTags","iam:CreateAccessKey"],"Resource":"*"}]}`
		l.w.Unlock()
		require.NoError(t, l.do(ctx, t, attacker.LaunchGPUs, nil))
		require.NoError(t, l.do(ctx, t, attacker.CreateAccessKey, nil))
	})

	st := l.env.State
	require.Equal(t, oldest, st.Foothold, "the attacker takes the instance scale-in would kill first")
	require.NotNil(t, st.Stolen)
	require.True(t, strings.HasPrefix(st.Stolen.AccessKeyID, "ASIA"))
	require.Equal(t, "arn:aws:sts::111122223333:assumed-role/web-app-role/"+oldest, st.Stolen.Principal)
	require.NotNil(t, st.Persistence)
	require.Equal(t, "ci-deploy", st.PersistenceUser)
	require.Len(t, st.Launched["us-west-2"], 3)

	require.Equal(t, []string{
		"http:exploit succeeded", "pool:connect succeeded", "imds:GetRoleCredentials succeeded",
		"sts:GetCallerIdentity succeeded", "ec2:RunInstances denied UnauthorizedOperation",
		"ec2:RunInstances succeeded", "ec2:RunInstances succeeded", "ec2:RunInstances succeeded",
		"iam:CreateAccessKey succeeded", "sts:GetCallerIdentity succeeded",
	}, l.actions())

	l.w.Lock()
	defer l.w.Unlock()
	inst := l.w.Instances[st.Foothold]
	now := l.clk.Now()
	require.Equal(t, 99.0, inst.CPUAt(now))
	require.True(t, strings.Contains(inst.Processes[len(inst.Processes)-1].Command, "xmrig"))
	var pool *world.Flow
	for _, f := range l.w.ActiveFlowsLocked(st.Foothold) {
		if f.ID == st.PoolFlow {
			pool = f
		}
	}
	require.NotNil(t, pool)
	require.True(t, pool.Tracked, "the web group is not all-open, so the pool flow is tracked")
	require.Equal(t, "pool.minexmr.com", pool.Domain)
	require.Equal(t, 4444, pool.RemotePort)

	for _, id := range st.Launched["us-west-2"] {
		gpu := l.w.Instances[id]
		require.Equal(t, "p3.2xlarge", gpu.Type)
		require.Equal(t, "us-west-2", gpu.Region)
		require.Equal(t, "fd-0123456789abcdef", gpu.Tags["firedrill:correlation-id"])
		require.True(t, strings.HasPrefix(gpu.Tags["Name"], "fd-01234567-worker-"))
	}
	// Every attacker call is in CloudTrail from the attacker's address and
	// carries the correlation id in its user agent.
	n := 0
	for _, a := range l.w.Audit {
		if a.AccessKeyID == st.Stolen.AccessKeyID || a.AccessKeyID == st.Persistence.AccessKeyID {
			n++
			require.Equal(t, "203.0.113.45", a.SourceIP)
			require.Contains(t, a.UserAgent, "firedrill-attacker/fd-0123456789abcdef")
		}
	}
	require.Equal(t, 7, n)
}

func TestProbeShowsWhatContainmentCut(t *testing.T) {
	l := newLab(t)
	keep := l.technique(t, attacker.KeepAccess)
	l.run(t, func(ctx context.Context) {
		l.w.Lock()
		l.w.Roles[demo.DemoRole].Policies["legacy-ops"] = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` +
			`"Action":["ec2:RunInstances","iam:CreateAccessKey"],"Resource":"*"}]}`
		l.w.Unlock()
		for _, id := range []string{attacker.ExploitWebApp, attacker.CryptoMiner, attacker.StealIMDSCreds, attacker.CreateAccessKey} {
			require.NoError(t, l.do(ctx, t, id, nil))
		}
		before := len(l.actions())
		l.env.Probe(ctx, keep.Resolve(nil))
		require.Equal(t, []string{"pool:keepalive succeeded", "sts:GetCallerIdentity succeeded",
			"ec2:DescribeInstances succeeded", "ec2:RunInstances succeeded DryRunOperation",
			"sts:GetCallerIdentity succeeded", "s3:ListBuckets succeeded"}, l.actions()[before:])

		// A naive containment: a direct swap to a no-rule group leaves the
		// tracked pool flow up; revoking the role's older sessions and
		// disabling the planted key cut the API access.
		require.NoError(t, l.clk.Sleep(ctx, time.Minute))
		l.w.Lock()
		inst := l.w.Instances[l.env.State.Foothold]
		sg, err := l.w.AddSecurityGroupLocked(inst.Account, inst.Region, inst.VPC, "quarantine", "no rules")
		require.NoError(t, err)
		_, _, err = l.w.RevokeRulesLocked(sg.ID, true, sg.Egress)
		require.NoError(t, err)
		require.NoError(t, l.w.SetInstanceGroupsLocked(inst.ID, []string{sg.ID}))
		l.w.Roles[demo.DemoRole].Policies["AWSRevokeOlderSessions"] = fmt.Sprintf(`{"Version":"2012-10-17","Statement":[`+
			`{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:TokenIssueTime":"%s"}}}]}`,
			l.clk.Now().UTC().Format(time.RFC3339))
		require.NoError(t, l.w.UpdateAccessKeyLocked("ci-deploy", l.env.State.Persistence.AccessKeyID, "Inactive"))
		l.w.Unlock()

		before = len(l.actions())
		l.env.Probe(ctx, keep.Resolve(nil))
		// sts:GetCallerIdentity needs no permission: AWS answers it even
		// for a session under an explicit deny.
		require.Equal(t, []string{"pool:keepalive succeeded", "sts:GetCallerIdentity succeeded",
			"ec2:DescribeInstances denied UnauthorizedOperation", "ec2:RunInstances denied UnauthorizedOperation",
			"sts:GetCallerIdentity denied InvalidClientTokenId", "s3:ListBuckets denied InvalidAccessKeyId"}, l.actions()[before:])
		flows, _ := l.env.ActiveFlows()
		require.Equal(t, 2, flows, "web shell and pool connection survive a direct group swap")
		stolen, persist := l.env.CheckCredentials(ctx)
		require.Equal(t, 0, persist)
		require.Equal(t, 0, stolen, "the revoked session may no longer describe instances")
		require.Equal(t, []string{"ec2:DescribeInstances denied UnauthorizedOperation", "s3:ListBuckets denied InvalidAccessKeyId"},
			l.actions()[len(l.actions())-2:])
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
	name, err := tech.CheckParams(map[string]string{"every": "soon"})
	require.Equal(t, "every", name)
	require.ErrorContains(t, err, `"soon" is not a non-negative duration`)
	name, err = tech.CheckParams(map[string]string{"evry": "5m"})
	require.Equal(t, "evry", name)
	require.ErrorContains(t, err, "has no parameter")
	_, err = tech.CheckParams(map[string]string{"every": "5m"})
	require.NoError(t, err)
	require.Equal(t, "5m", tech.Resolve(nil)["every"])
}
