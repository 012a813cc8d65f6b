package responder

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/clock"
	"github.com/firedrill-ir/firedrill/cloudsim/awssim"
	"github.com/firedrill-ir/firedrill/cloudsim/demo"
	"github.com/firedrill-ir/firedrill/cloudsim/simhttp"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/awsworld"
	"github.com/firedrill-ir/firedrill/providers"
	provaws "github.com/firedrill-ir/firedrill/providers/aws"
	"github.com/firedrill-ir/firedrill/timeline"
)

const (
	poolIP       = "203.0.113.50"
	attackerIP   = "198.18.7.7"
	cryptoFinder = "CryptoCurrency:EC2/BitcoinTool.B!DNS"
)

// drill is the demo web environment on a virtual clock with one instance
// compromised: a miner running with an established (tracked) pool
// connection, and the instance role's credentials stolen.
type drill struct {
	clk    *clock.Virtual
	w      *world.World
	env    *demo.AWSEnv
	url    string
	victim string
	flow   *world.Flow
	stolen *awsworld.Session
	prov   *provaws.Provider
	tl     *timeline.Timeline
}

// drillTransport charges latency and backoff on the virtual clock. Each
// client gets its own http.Transport: with the process-wide
// http.DefaultTransport, about one run in fifteen had a response body fail
// with "use of closed network connection", which the SDK retried with a
// backoff charged on the clock — a wall-clock accident that changed the
// timeline.
func drillTransport(clk clock.Clock) *http.Client {
	return &http.Client{Transport: &simhttp.Transport{Clock: clk, Base: &http.Transport{},
		Backoff: simhttp.ExponentialBackoff(time.Second, 20*time.Second)}}
}

func newDrill(t *testing.T, seed uint64) *drill {
	t.Helper()
	clk := clock.NewVirtual(epoch, seed)
	w := world.New(clk, seed)
	env, err := demo.SeedAWS(w, demo.Options{ScaleInAfter: 25 * time.Minute})
	require.NoError(t, err)
	srv := httptest.NewServer(awssim.New(w))
	t.Cleanup(srv.Close)
	d := &drill{clk: clk, w: w, env: env, url: srv.URL, victim: env.Instances[0], tl: timeline.New(clk)}
	w.Lock()
	inst := w.Instances.Lookup(d.victim)
	inst.Processes = append(inst.Processes, world.Process{PID: 31337, User: "www-data", Command: "/tmp/.x/xmrig -o pool.minexmr.example:3333", CPU: 99})
	d.flow, err = awsworld.Of(w).OpenFlow(d.victim, world.FlowSpec{RemoteIP: poolIP, RemotePort: 3333, Domain: "pool.minexmr.example", Actor: "attacker"})
	if err == nil {
		d.stolen, err = awsworld.Of(w).InstanceCredentials(d.victim)
	}
	w.Unlock()
	require.NoError(t, err)
	require.True(t, d.flow.Tracked, "the pool flow must be tracked, or any swap would cut it")

	target := providers.Target{Cloud: providers.CloudAWS, Account: env.Account, Region: env.Region, Endpoint: srv.URL,
		Credentials: &providers.StaticCredentials{AccessKeyID: env.ResponderKeyID, SecretAccessKey: env.ResponderSecret},
		HTTPClient:  drillTransport(clk)}
	d.prov, err = provaws.New(context.Background(), target, provaws.WithSleeper(clk), provaws.WithoutRetryQuota(),
		provaws.WithRetryBackoff(func(int, error) (time.Duration, error) { return 0, nil }))
	require.NoError(t, err)
	return d
}

func (d *drill) responder(t *testing.T, pb *Playbook) *Responder {
	t.Helper()
	r, err := New(Options{Clock: d.clk, Timeline: d.tl, Provider: d.prov, Playbook: pb, CaseID: "IR-1",
		EvidenceBucket: d.env.EvidenceBucket, PollInterval: time.Minute})
	require.NoError(t, err)
	return r
}

// attackerEC2 is an EC2 client on the stolen session, calling from outside
// AWS.
func (d *drill) attackerEC2() *ec2.Client {
	hc := drillTransport(d.clk)
	base := hc.Transport
	hc.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		r.Header.Set("X-Firedrill-Source-Ip", attackerIP)
		return base.RoundTrip(r)
	})
	return ec2.NewFromConfig(awssdk.Config{Region: d.env.Region, BaseEndpoint: awssdk.String(d.url), HTTPClient: hc,
		Credentials: credentials.NewStaticCredentialsProvider(d.stolen.AccessKeyID, d.stolen.Secret, d.stolen.Token),
		Retryer: func() awssdk.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
			})
		}})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// worldFingerprint summarises everything a responder could change or leave
// a trace in.
func (d *drill) fingerprint(t *testing.T) string {
	d.w.Lock()
	defer d.w.Unlock()
	type fp struct {
		Audit, Snapshots, Groups, Commands int
		Instances                          world.Table[*world.Instance]
		Flows                              []*world.Flow
	}
	b, err := json.Marshal(fp{Audit: len(d.w.Audit), Snapshots: d.w.Snapshots.Len(), Groups: awsworld.Of(d.w).SecurityGroups.Len(),
		Commands: awsworld.Of(d.w).Commands.Len(), Instances: d.w.Instances, Flows: d.w.Flows})
	require.NoError(t, err)
	return string(b)
}

func TestRespondContainsTheCryptominerOnTheSimulator(t *testing.T) {
	d := newDrill(t, 7)
	pb, _ := PlaybookByID("ec2-cryptomining")
	r := d.responder(t, pb)
	attacker := d.attackerEC2()
	var before, after error
	var c *Case
	var rerr error
	d.clk.Go(context.Background(), "test", func(ctx context.Context) {
		_, before = attacker.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
		c, rerr = r.Respond(ctx, Trigger{Kind: TriggerFinding, Type: cryptoFinder, Resource: providers.ResourceRef{Kind: providers.KindVM, ID: d.victim}, At: d.clk.Now()})
		_, after = attacker.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	})
	require.NoError(t, d.clk.Run(context.Background()))
	require.NoError(t, rerr, "steps: %+v", c.Steps())
	require.NoError(t, before, "the stolen credentials work before the response")

	// The stolen session is denied, the pool flow is cut by isolation.
	require.Error(t, after, "the stolen credentials must be dead after revoke_sessions")
	require.Contains(t, after.Error(), "UnauthorizedOperation")
	d.w.Lock()
	flowActive, reason := d.flow.Active(), d.flow.EndReason
	inst := d.w.Instances.Lookup(d.victim)
	state := inst.State
	var vols []string
	for _, v := range d.w.Volumes.All() {
		if v.Attached == d.victim {
			vols = append(vols, v.ID)
		}
	}
	d.w.Unlock()
	require.False(t, flowActive)
	require.Contains(t, reason, "untracked flow cut", "the two-step isolation, not the stop, must cut the pool flow")
	require.Contains(t, []string{world.StateStopping, world.StateStopped}, state, "prod + scaling group -> isolate_and_stop")

	// Every volume has a snapshot in the manifest, recorded as it started;
	// the remediation check saw each complete.
	snapped := map[string]bool{}
	kinds := map[string]int{}
	chk, _ := c.Step("chk_evidence")
	require.Equal(t, StatusSucceeded, chk.Status, chk.Error)
	for _, e := range c.Evidence() {
		kinds[e.Kind]++
		if e.Kind == KindDiskSnapshot {
			require.Contains(t, []string{"pending", "completed"}, e.State)
			snapped[e.Source] = true
		} else {
			require.Len(t, e.SHA256, 64, "%s %s has no digest", e.Kind, e.ID)
		}
		require.Equal(t, e.CollectedAt.Add(DefaultRetention).UTC(), e.RetainUntil)
	}
	require.Len(t, vols, 2)
	for _, v := range vols {
		require.True(t, snapped[v], "volume %s has no snapshot", v)
	}
	for _, k := range []string{KindMemory, KindProcessList, KindConnections, KindInstanceMetadata, KindAuditLog} {
		require.NotZero(t, kinds[k], "no %s evidence", k)
	}
	d.w.Lock()
	for _, e := range c.Evidence() {
		if e.Kind == KindDiskSnapshot {
			s := d.w.Snapshots.Lookup(e.ID)
			require.Equal(t, "true", s.Tags["firedrill:evidence"])
			require.Equal(t, "IR-1", s.Tags["firedrill:case"])
			require.NotEmpty(t, s.Tags["retain-until"])
		}
	}
	require.Equal(t, "do-not-delete", inst.Tags["firedrill:quarantine"])
	d.w.Unlock()

	// The timeline holds the events in a valid order.
	ev := d.tl.Events()
	at := func(kind, name string) timeline.Event {
		e := find(ev, kind, name)
		require.NotZero(t, e.Seq, "no %s %s event", kind, name)
		return e
	}
	ack := at(timeline.Ack, cryptoFinder)
	require.Equal(t, 1, ack.Seq)
	protect := at(timeline.StepFinish, "protect_termination")
	scaling := at(timeline.StepFinish, "protect_scaling")
	memStart := at(timeline.StepStart, "capture_memory")
	memDone := at(timeline.StepFinish, "capture_memory")
	isoStart := at(timeline.StepStart, "isolate")
	isoDone := at(timeline.StepFinish, "isolate")
	revoke := at(timeline.StepFinish, "revoke_sessions")
	detach := at(timeline.StepFinish, "detach_identity")
	snap := at(timeline.StepFinish, "snapshot_disks")
	decision := at(timeline.Decision, "downtime")
	stopStart := at(timeline.StepStart, "stop")
	contained := at(timeline.Contained, "")
	require.Less(t, protect.Seq, memStart.Seq, "termination protection before anything slow")
	require.Less(t, scaling.Seq, memDone.Seq)
	require.Less(t, memDone.Seq, isoStart.Seq, "volatile evidence before isolation")
	require.Less(t, detach.Seq, revoke.Seq)
	require.Less(t, snap.Seq, stopStart.Seq)
	require.Less(t, decision.Seq, stopStart.Seq)
	for _, e := range []timeline.Event{isoDone, revoke, at(timeline.StepFinish, "stop")} {
		require.Less(t, e.Seq, contained.Seq)
	}
	require.True(t, c.Contained)
	require.Equal(t, "isolate_and_stop", c.Outcome)
	require.Equal(t, `{"instance.scaling_group":"web-asg","instance.tags.downtime":null}`, decision.Detail["inputs"])
	require.True(t, at(timeline.StepStart, "q_role_calls").At.After(contained.At.Add(-time.Nanosecond)), "investigation after containment")
	require.Empty(t, all(ev, timeline.StepError, ""), "no step failed")
	require.Less(t, contained.At.Sub(ack.At), 15*time.Minute, "containment time is plausible")

	// Investigation found the attacker's use of the role, and the checks pass.
	roleCalls, _ := c.Step("q_role_calls")
	require.Contains(t, roleCalls.Output["source_ips"], attackerIP)
	require.Contains(t, roleCalls.Output["sessions"], d.victim)
	for _, st := range c.Remediation() {
		if st.ID == "isolated" || st.ID == "identity" || st.ID == "scaling" || st.ID == "evidence" {
			require.Equal(t, "passed", st.Status, "%s: %s", st.ID, st.Detail)
		} else {
			require.Equal(t, "manual", st.Status)
		}
	}
	require.NotEmpty(t, all(ev, timeline.Notify, "contained"))
}

func TestRespondIsDeterministic(t *testing.T) {
	run := func() string {
		d := newDrill(t, 11)
		pb, _ := PlaybookByID("ec2-cryptomining")
		r := d.responder(t, pb)
		d.clk.Go(context.Background(), "test", func(ctx context.Context) {
			_, _ = r.Respond(ctx, Trigger{Kind: TriggerFinding, Type: cryptoFinder, Resource: providers.ResourceRef{Kind: providers.KindVM, ID: d.victim}})
		})
		require.NoError(t, d.clk.Run(context.Background()))
		b, err := json.Marshal(d.tl.Events())
		require.NoError(t, err)
		return string(b)
	}
	first := run()
	prev := runtime.GOMAXPROCS(1)
	second := run()
	runtime.GOMAXPROCS(prev)
	require.Equal(t, first, second)
}

func TestDryRunLeavesTheWorldUntouched(t *testing.T) {
	d := newDrill(t, 3)
	pb, _ := PlaybookByID("ec2-cryptomining")
	r, err := New(Options{Clock: d.clk, Timeline: d.tl, Provider: d.prov, Playbook: pb, DryRun: true, EvidenceBucket: d.env.EvidenceBucket})
	require.NoError(t, err)
	before := d.fingerprint(t)
	var c *Case
	d.clk.Go(context.Background(), "test", func(ctx context.Context) {
		c, err = r.Respond(ctx, Trigger{Kind: TriggerFinding, Type: cryptoFinder, Resource: providers.ResourceRef{Kind: providers.KindVM, ID: d.victim}})
	})
	require.NoError(t, d.clk.Run(context.Background()))
	require.NoError(t, err)
	require.Equal(t, before, d.fingerprint(t), "dry-run made a call or changed the world")
	require.NotEmpty(t, c.Plan)
	require.Equal(t, epoch, d.clk.Now(), "no virtual time passed: nothing was called")
}

func TestWatchOpensOneCasePerResourceFromFindingsAndAlarms(t *testing.T) {
	d := newDrill(t, 5)
	pb, _ := PlaybookByID("ec2-cryptomining")
	r := d.responder(t, pb)
	d.w.Lock()
	det := d.env.Detector
	visible := epoch.Add(3 * time.Minute)
	for i := 0; i < 2; i++ { // a repeated finding must not open a second case
		d.w.Findings = append(d.w.Findings, &world.Finding{ID: "f" + itoa(i), Detector: det, Account: d.env.Account, Region: d.env.Region,
			Type: cryptoFinder, Severity: 8, Title: "bitcoin DNS", ResourceType: "Instance", ResourceID: d.victim,
			FirstSeen: epoch, LastSeen: epoch, CreatedAt: visible, UpdatedAt: visible, Count: 1})
	}
	d.w.Findings = append(d.w.Findings, &world.Finding{ID: "f-other", Detector: det, Account: d.env.Account, Region: d.env.Region,
		Type: "Recon:EC2/PortProbeUnprotectedPort", Severity: 2, ResourceType: "Instance", ResourceID: d.env.Instances[1],
		CreatedAt: visible, UpdatedAt: visible, Count: 1})
	d.w.Unlock()
	ctx := context.Background()
	d.clk.GoDaemon(ctx, "responder watch", func(ctx context.Context) { _ = r.Watch(ctx) })
	d.clk.Go(ctx, "scenario", func(ctx context.Context) { _ = d.clk.Sleep(ctx, 10*time.Minute) })
	require.NoError(t, d.clk.Run(ctx))
	cases := r.Cases()
	require.Len(t, cases, 1, "one case for the victim; the other finding type is not this playbook's")
	require.Equal(t, d.victim, cases[0].Resource)
	ack := find(d.tl.Events(), timeline.Ack, cryptoFinder)
	require.False(t, ack.At.Before(visible), "acknowledged at the first poll after the finding became visible")
	require.True(t, ack.At.Before(visible.Add(2*time.Minute)))
	require.True(t, cases[0].Contained)
	require.False(t, slices.ContainsFunc(d.tl.Events(), func(e timeline.Event) bool { return e.Name == "watch" }), "no poll errors")
}

func TestMatchingAlarms(t *testing.T) {
	pb, _ := PlaybookByID("ec2-cryptomining")
	r, err := New(Options{Clock: clock.NewVirtual(epoch, 1), Timeline: timeline.New(clock.NewVirtual(epoch, 1)), Provider: stubProvider{}, Playbook: pb})
	require.NoError(t, err)
	got := r.Matching("aws", nil, []providers.Alarm{
		{Name: "a-ok", State: "OK", Resource: providers.Ref("aws", providers.KindVM, "i-1"), Metric: "CPUUtilization", Threshold: 95, For: 10 * time.Minute},
		{Name: "b-fires", State: "ALARM", Resource: providers.Ref("aws", providers.KindVM, "i-2"), Metric: "CPUUtilization", Threshold: 95, For: 10 * time.Minute},
		{Name: "c-too-lax", State: "ALARM", Resource: providers.Ref("aws", providers.KindVM, "i-3"), Metric: "CPUUtilization", Threshold: 80, For: 10 * time.Minute},
		{Name: "d-too-short", State: "ALARM", Resource: providers.Ref("aws", providers.KindVM, "i-4"), Metric: "CPUUtilization", Threshold: 95, For: time.Minute},
		{Name: "e-other-metric", State: "ALARM", Resource: providers.Ref("aws", providers.KindVM, "i-5"), Metric: "NetworkOut", Threshold: 1e9},
	})
	require.Len(t, got, 1)
	require.Equal(t, Trigger{Kind: TriggerAlarm, Type: "b-fires", Resource: providers.Ref("aws", providers.KindVM, "i-2")}, got[0])
}

// The naive variant (testdata) leaves exactly the gaps the corrected
// playbook closes: the tracked pool flow survives the single swap and the
// stolen credentials keep working after a mere disassociation.
func TestNaivePlaybookLeavesTheAttackerIn(t *testing.T) {
	data, err := os.ReadFile("testdata/ec2-cryptomining-naive.yaml")
	require.NoError(t, err)
	pb, err := LoadPlaybook("testdata/ec2-cryptomining-naive.yaml", data)
	require.NoError(t, err)
	d := newDrill(t, 7)
	r := d.responder(t, pb)
	attacker := d.attackerEC2()
	var after error
	var c *Case
	d.clk.Go(context.Background(), "test", func(ctx context.Context) {
		c, _ = r.Respond(ctx, Trigger{Kind: TriggerFinding, Type: cryptoFinder, Resource: providers.ResourceRef{Kind: providers.KindVM, ID: d.victim}})
		_, after = attacker.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	})
	require.NoError(t, d.clk.Run(context.Background()))
	require.NoError(t, after, "without session revocation the stolen credentials still work")
	d.w.Lock()
	active := d.flow.Active()
	groups := d.w.ENIs.Lookup(d.w.Instances.Lookup(d.victim).ENIs[0]).Groups
	d.w.Unlock()
	require.True(t, active, "a single group swap does not cut a tracked flow")
	swap, _ := c.Step("swap_groups")
	require.Equal(t, StatusSucceeded, swap.Status)
	require.Equal(t, []string{swap.Output["group"].(string)}, groups, "the swap itself happened")
	mem, _ := c.Step("capture_memory")
	require.Equal(t, StatusFailed, mem.Status, "memory capture after isolation cannot reach the agent")
	require.True(t, c.Contained, "the naive responder believes it contained the instance")
}

func TestMonitoringReadsTheCPUAlarm(t *testing.T) {
	d := newDrill(t, 9)
	d.w.Lock()
	d.w.SetCPULocked(d.w.Instances.Lookup(d.victim), epoch, 99)
	d.w.Unlock()
	pb, _ := PlaybookByID("ec2-cryptomining")
	r := d.responder(t, pb)
	var alarms []providers.Alarm
	var err error
	d.clk.Go(context.Background(), "test", func(ctx context.Context) {
		if err = d.clk.Sleep(ctx, 16*time.Minute); err == nil {
			alarms, err = d.prov.Alarms(ctx)
		}
	})
	require.NoError(t, d.clk.Run(context.Background()))
	require.NoError(t, err)
	require.Len(t, alarms, 3)
	trigs := r.Matching("aws", nil, alarms)
	require.Len(t, trigs, 1, "only the miner's instance breaches: %+v", alarms)
	require.Equal(t, d.victim, trigs[0].Resource.ID)
	require.Equal(t, "cpu-high-"+d.victim, trigs[0].Type)
	for _, a := range alarms {
		require.Equal(t, 10*time.Minute, a.For)
		require.Equal(t, 95.0, a.Threshold)
	}
}

// TestProtectScalingGoesToStandbyOnELBHealthChecks: in a group that
// replaces members failing their load balancer's health check, scale-in
// protection does not keep the isolated instance: the playbook without
// load_balanced_mode loses it to the group a minute after the isolation.
// The built-in playbook's load_balanced_mode moves it to Standby, and it is
// still there after the group's next health checks and the scheduled
// scale-in. In a group on EC2 health checks the same step only protects it.
func TestProtectScalingGoesToStandbyOnELBHealthChecks(t *testing.T) {
	builtin, ok := PlaybookByID("ec2-cryptomining")
	require.True(t, ok)
	protectOnly, err := WithoutParam(builtin, "protect_scaling", "load_balanced_mode")
	require.NoError(t, err)
	for _, tc := range []struct {
		name, hc string
		pb       *Playbook
	}{
		{"EC2", awsworld.HealthCheckEC2, builtin},
		{"ELB", awsworld.HealthCheckELB, builtin},
		{"ELB-protect-only", awsworld.HealthCheckELB, protectOnly},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDrill(t, 7)
			d.w.Lock()
			require.NoError(t, awsworld.Of(d.w).UpdateASG(d.env.ASG, awsworld.ASGSettings{HealthCheckType: &tc.hc}))
			d.w.Unlock()
			r := d.responder(t, tc.pb)
			var c *Case
			var rerr error
			d.clk.Go(context.Background(), "test", func(ctx context.Context) {
				c, rerr = r.Respond(ctx, Trigger{Kind: TriggerFinding, Type: cryptoFinder,
					Resource: providers.ResourceRef{Kind: providers.KindVM, ID: d.victim}, At: d.clk.Now()})
				// Outlive the load balancer's verdict and the scale-in.
				_ = d.clk.Sleep(ctx, 40*time.Minute)
			})
			require.NoError(t, d.clk.Run(context.Background()))
			ps := stepStatus(t, c, "protect_scaling")
			d.w.Lock()
			inst := d.w.Instances.Lookup(d.victim)
			state := inst.State
			_, member := awsworld.Of(d.w).ASGMember(d.victim)
			d.w.Unlock()
			switch tc.name {
			case "ELB-protect-only":
				require.Equal(t, "InService", ps.Output["lifecycle_state"], "only protected from scale-in")
				require.Equal(t, world.StateTerminated, state, "the group replaced the isolated instance, protected or not")
				require.Nil(t, member)
			case "ELB":
				require.NoError(t, rerr, "steps: %+v", c.Steps())
				require.Equal(t, "standby", ps.Output["mode"])
				require.Contains(t, []string{world.StateStopping, world.StateStopped}, state, "stopped, not terminated")
				require.NotNil(t, member)
				require.Equal(t, "Standby", member.LifecycleState)
			default:
				require.NoError(t, rerr, "steps: %+v", c.Steps())
				require.NotContains(t, ps.Output, "mode")
				require.Contains(t, []string{world.StateStopping, world.StateStopped}, state, "stopped, not terminated")
				require.NotNil(t, member)
				require.Equal(t, "InService", member.LifecycleState)
				require.True(t, member.Protected)
			}
		})
	}
}
