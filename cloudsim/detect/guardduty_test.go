package detect_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/cloudsim/detect"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/awsworld"
)

const acct = "111122223333"

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var start = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

// fixture is a world with one instance, an instance-role session and
// (optionally) an enabled detector, watched by a GuardDuty model.
type fixture struct {
	clk  *clock
	w    *world.World
	gd   *detect.GuardDuty
	inst *world.Instance
	sess *awsworld.Session
}

func newFixture(t *testing.T, seed uint64, detector bool, cfg detect.GuardDutyConfig) *fixture {
	t.Helper()
	clk := &clock{t: start}
	w := world.New(clk, seed)
	gd := detect.NewGuardDuty(cfg)
	w.AddObserver(gd)
	w.Lock()
	defer w.Unlock()
	w.AddAccountLocked("aws", acct, "test", "us-east-1")
	if detector {
		awsworld.Of(w).Detectors.Put("det1", &awsworld.Detector{ID: "det1", Account: acct, Region: "us-east-1", Enabled: true, CreatedAt: start})
	}
	inst := &world.Instance{ID: "i-0abc000000000001", Account: acct, Region: "us-east-1", State: world.StateRunning,
		PrivateIP: "10.0.0.5", PublicIP: "54.1.2.3", LaunchTime: start}
	w.Instances.Put(inst.ID, inst)
	awsworld.Of(w).AddRole(acct, "app", "")
	s, err := awsworld.Of(w).IssueSession("app", inst.ID, "instance:"+inst.ID, 6*time.Hour)
	require.NoError(t, err)
	return &fixture{clk: clk, w: w, gd: gd, inst: inst, sess: s}
}

func (f *fixture) flow(domain string, port int) {
	f.w.Lock()
	defer f.w.Unlock()
	fl := &world.Flow{ID: "flow-1", Instance: f.inst.ID, Direction: "egress", Protocol: "tcp",
		RemoteIP: "198.51.100.7", RemotePort: port, Domain: domain, Started: f.clk.Now()}
	f.w.Flows = append(f.w.Flows, fl)
	f.gd.Observe(f.w, world.Event{Time: f.clk.Now(), Kind: "flow.start", Flow: fl, Instance: f.inst})
}

func (f *fixture) call(op, akid, ip, principal string) {
	f.w.Lock()
	defer f.w.Unlock()
	f.w.RecordAuditLocked(&world.AuditEvent{ID: op + ip + f.clk.Now().String(), Time: f.clk.Now(), Cloud: "aws",
		Account: acct, Region: "us-east-1", Service: "ec2.amazonaws.com", Operation: op, AccessKeyID: akid,
		SourceIP: ip, PrincipalARN: principal, UserName: "attacker"})
}

func (f *fixture) visible() []*world.Finding {
	f.w.Lock()
	defer f.w.Unlock()
	return f.w.VisibleFindingsLocked("det1", f.clk.Now())
}

func (f *fixture) all() []*world.Finding {
	f.w.Lock()
	defer f.w.Unlock()
	return append([]*world.Finding(nil), f.w.Findings...)
}

func TestFlowFindings(t *testing.T) {
	cases := []struct {
		name     string
		domain   string
		port     int
		detector bool
		want     string // "" = no finding
	}{
		{"pool domain", "pool.minexmr.com", 443, true, detect.TypeMiningDNS},
		{"pool subdomain with trailing dot", "eu.xmr.pool.example.", 443, true, detect.TypeMiningDNS},
		{"stratum port without domain", "", 3333, true, detect.TypeMiningIP},
		{"benign domain and port", "updates.example.com", 443, true, ""},
		{"no detector enabled", "pool.minexmr.com", 3333, false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, 1, tc.detector, detect.GuardDutyConfig{})
			f.flow(tc.domain, tc.port)
			if tc.want == "" {
				require.Empty(t, f.all())
				return
			}
			require.Empty(t, f.visible(), "findings must not be visible before the detection latency")
			all := f.all()
			require.Len(t, all, 1)
			fd := all[0]
			require.Equal(t, tc.want, fd.Type)
			require.Equal(t, 8.0, fd.Severity)
			require.Equal(t, "Instance", fd.ResourceType)
			require.Equal(t, f.inst.ID, fd.ResourceID)
			lat := fd.CreatedAt.Sub(start)
			require.GreaterOrEqual(t, lat, 3*time.Minute)
			require.LessOrEqual(t, lat, 12*time.Minute)
			f.clk.Advance(lat)
			require.Len(t, f.visible(), 1)
		})
	}
}

func TestRepeatedActivityUpdatesOneFinding(t *testing.T) {
	f := newFixture(t, 1, true, detect.GuardDutyConfig{})
	f.flow("pool.minexmr.com", 3333)
	f.clk.Advance(time.Minute)
	f.flow("pool.minexmr.com", 3333)
	all := f.all()
	require.Len(t, all, 1)
	require.Equal(t, 2, all[0].Count)
	require.Equal(t, start.Add(time.Minute), all[0].LastSeen)
}

func TestInstanceCredentialExfiltration(t *testing.T) {
	cases := []struct {
		name string
		ip   string
		want bool
	}{
		{"from the internet", "203.0.113.9", true},
		{"from the instance's private IP", "10.0.0.5", false},
		{"from the instance's public IP", "54.1.2.3", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, 1, true, detect.GuardDutyConfig{})
			f.call("DescribeInstances", f.sess.AccessKeyID, tc.ip, "arn:aws:sts::111122223333:assumed-role/app/"+f.inst.ID)
			all := f.all()
			if !tc.want {
				require.Empty(t, all)
				return
			}
			require.Len(t, all, 1)
			require.Equal(t, detect.TypeCredentialExfiltration, all[0].Type)
			require.Equal(t, "AccessKey", all[0].ResourceType)
			require.Equal(t, f.sess.AccessKeyID, all[0].AccessKeyID)
			require.Equal(t, tc.ip, all[0].RemoteIP)
			require.Equal(t, "DescribeInstances", all[0].API)
		})
	}
}

func TestLaunchBurst(t *testing.T) {
	cases := []struct {
		name  string
		gaps  []time.Duration // between successive RunInstances
		raise bool
	}{
		{"three within ten minutes", []time.Duration{time.Minute, time.Minute}, true},
		{"two only", []time.Duration{time.Minute}, false},
		{"three spread over an hour", []time.Duration{30 * time.Minute, 30 * time.Minute}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, 1, true, detect.GuardDutyConfig{})
			const who = "arn:aws:iam::111122223333:user/attacker"
			f.call("RunInstances", "AKIAATTACKER00000001", "203.0.113.9", who)
			for _, g := range tc.gaps {
				f.clk.Advance(g)
				f.call("RunInstances", "AKIAATTACKER00000001", "203.0.113.9", who)
			}
			var got []string
			for _, fd := range f.all() {
				got = append(got, fd.Type)
			}
			if tc.raise {
				require.Equal(t, []string{detect.TypeAnomalousLaunch}, got)
			} else {
				require.Empty(t, got)
			}
		})
	}
}

func TestFindingsAreDeterministicPerSeed(t *testing.T) {
	run := func(seed uint64) []world.Finding {
		f := newFixture(t, seed, true, detect.GuardDutyConfig{})
		f.flow("pool.minexmr.com", 3333)
		f.call("GetCallerIdentity", f.sess.AccessKeyID, "203.0.113.9", "x")
		var out []world.Finding
		for _, fd := range f.all() {
			out = append(out, *fd)
		}
		return out
	}
	a, b := run(7), run(7)
	require.Equal(t, a, b)
	require.Len(t, a, 2)
	c := run(8)
	require.NotEqual(t, a[0].ID, c[0].ID)
}

func TestLatencyDistribution(t *testing.T) {
	clk := &clock{t: start}
	w := world.New(clk, 3)
	l := detect.Latency{Min: 3 * time.Minute, Mode: 5 * time.Minute, Max: 12 * time.Minute}
	w.Lock()
	defer w.Unlock()
	var sum time.Duration
	const n = 2000
	for i := 0; i < n; i++ {
		d := l.Draw(w.StreamLocked("test"))
		require.GreaterOrEqual(t, d, l.Min)
		require.LessOrEqual(t, d, l.Max)
		sum += d
	}
	mean := sum / n
	// Triangular mean is (3+5+12)/3 = 6m40s.
	require.InDelta(t, (20 * time.Minute / 3).Seconds(), mean.Seconds(), 20)
	require.Equal(t, 4*time.Minute, detect.Latency{Min: 4 * time.Minute, Max: 4 * time.Minute}.Draw(w.StreamLocked("test")))
}

// TestTrailStopped: stopping a CloudTrail trail raises
// Stealth:IAMUser/CloudTrailLoggingDisabled on the caller's key; a refused
// StopLogging raises nothing.
func TestTrailStopped(t *testing.T) {
	f := newFixture(t, 1, true, detect.GuardDutyConfig{})
	stop := func(errCode string) {
		f.w.Lock()
		defer f.w.Unlock()
		f.w.RecordAuditLocked(&world.AuditEvent{ID: "stop" + errCode, Time: f.clk.Now(), Cloud: "aws", Account: acct,
			Region: "us-east-1", Service: "cloudtrail.amazonaws.com", Operation: "StopLogging", AccessKeyID: "AKIAEXAMPLE",
			SourceIP: "203.0.113.9", PrincipalARN: "arn:aws:iam::111122223333:user/mallory", ErrorCode: errCode,
			Resources: []world.AuditResource{{Type: "AWS::CloudTrail::Trail", Name: "arn:aws:cloudtrail:us-east-1:111122223333:trail/main"}}})
	}
	stop("AccessDeniedException")
	require.Empty(t, f.all())
	stop("")
	all := f.all()
	require.Len(t, all, 1)
	require.Equal(t, detect.TypeTrailStopped, all[0].Type)
	require.Equal(t, "AKIAEXAMPLE", all[0].AccessKeyID)
	require.Contains(t, all[0].Title, "trail/main")
}
