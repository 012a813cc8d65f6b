package aws_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/cloudsim/awssim/awssimtest"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/awsworld"
	"github.com/firedrill-ir/firedrill/providers"
	provaws "github.com/firedrill-ir/firedrill/providers/aws"
)

// simSleeper is a Sleeper on the simulator's manual clock: sleeping moves
// the world forward, so waits for modelled work (snapshots, commands, log
// delivery) finish without any wall-clock time passing.
type simSleeper struct {
	env   *awssimtest.Env
	mu    sync.Mutex
	slept time.Duration
}

func (s *simSleeper) Now() time.Time { return s.env.Clock.Now() }

func (s *simSleeper) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	s.slept += d
	s.mu.Unlock()
	s.env.Clock.Advance(d)
	return nil
}

func (s *simSleeper) total() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.slept
}

const (
	evidenceBucket = "firedrill-evidence-111122223333"
	appRole        = "web-app-role"
	appProfile     = "web-app-profile"
	denyProfile    = "firedrill-deny-all"
	asgName        = "web-asg"
	poolIP         = "198.51.100.7"
)

// fixture is a seeded VM-compromise world: a web instance in a VPC with a
// security group, two volumes (root deleted on termination, data kept), a
// public IP, an instance profile, ASG membership, an SSM agent, an evidence
// bucket and a GuardDuty detector.
type fixture struct {
	env       *awssimtest.Env
	sleeper   *simSleeper
	prov      *provaws.Provider
	responder *awsworld.AccessKey
	vpc       string
	group     string
	inst      string
	eni       string
	rootVol   string
	dataVol   string
	other     string // a second, unprotected ASG member
	ro        *provaws.Provider
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	env := awssimtest.New(t)
	f := &fixture{env: env, sleeper: &simSleeper{env: env}}
	w := env.World
	w.Lock()
	func() {
		defer w.Unlock()
		acct, region := awssimtest.Account, awssimtest.Region
		vpc := awsworld.Of(w).AddVPC(acct, region, "10.0.0.0/16")
		sub, err := awsworld.Of(w).AddSubnet(vpc.ID, region+"a", "10.0.1.0/24")
		require.NoError(t, err)
		sg, err := awsworld.Of(w).AddSecurityGroup(acct, region, vpc.ID, "web", "web tier")
		require.NoError(t, err)
		// SSH from anywhere plus the default allow-all egress: not all-open
		// in both directions, so every flow is tracked.
		_, err = awsworld.Of(w).AuthorizeRules(sg.ID, false, []awsworld.Rule{{Protocol: "tcp", FromPort: 22, ToPort: 22, CIDRs: []string{"0.0.0.0/0"}}})
		require.NoError(t, err)
		awsworld.Of(w).AddRole(acct, appRole, "", "arn:aws:iam::aws:policy/ReadOnlyAccess")
		awsworld.Of(w).AddInstanceProfile(acct, appProfile, appRole)
		awsworld.Of(w).AddRole(acct, "firedrill-deny-all-role", "", "arn:aws:iam::aws:policy/AWSDenyAll")
		awsworld.Of(w).AddInstanceProfile(acct, denyProfile, "firedrill-deny-all-role")
		_, err = awsworld.Of(w).AddASG(acct, region, asgName, 0, 4, 2)
		require.NoError(t, err)
		spec := awsworld.LaunchSpec{Account: acct, Region: region, Subnet: sub.ID, Groups: []string{sg.ID},
			Profile: appProfile, PublicIP: true, RootSizeGiB: 8, Type: "c5.large",
			DataVolumes: []awsworld.VolumeSpec{{Device: "/dev/sdf", SizeGiB: 20, Encrypted: true}},
			Tags:        world.Tags{"Name": "web-1", "app": "shop"}, ASG: asgName, SSMAgent: true, MemoryGiB: 2, Running: true,
			Processes: []world.Process{{PID: 4242, User: "www-data", Command: "./xmrig -o pool.example:3333", CPU: 97}}}
		inst, err := awsworld.Of(w).LaunchInstance(spec)
		require.NoError(t, err)
		f.inst, f.vpc, f.group, f.eni = inst.ID, vpc.ID, sg.ID, inst.ENIs[0]
		f.rootVol, f.dataVol = inst.BlockDevices[0].VolumeID, inst.BlockDevices[1].VolumeID
		spec.Tags = world.Tags{"Name": "web-2"}
		spec.DataVolumes = nil
		other, err := awsworld.Of(w).LaunchInstance(spec)
		require.NoError(t, err)
		f.other = other.ID
		_, err = w.CreateBucketLocked(acct, region, evidenceBucket, false)
		require.NoError(t, err)
		awsworld.Of(w).Detectors.Put("12abc34d567e8fa901bc2d34e56789f0", &awsworld.Detector{ID: "12abc34d567e8fa901bc2d34e56789f0",
			Account: acct, Region: region, Enabled: true, CreatedAt: awssimtest.Start})
		awsworld.Of(w).AddUser(acct, "responder", "arn:aws:iam::aws:policy/AdministratorAccess")
		f.responder, err = awsworld.Of(w).AddAccessKey("responder")
		require.NoError(t, err)
	}()
	f.prov = f.provider(t, f.responder.ID, f.responder.Secret, "")
	return f
}

// provider builds an AWS provider against the simulator exactly as a drill
// would: endpoint, static credentials, zero retry backoff, manual clock.
func (f *fixture) provider(t *testing.T, akid, secret, token string) *provaws.Provider {
	t.Helper()
	target := providers.Target{Cloud: "aws", Account: awssimtest.Account, Region: awssimtest.Region, Endpoint: f.env.URL,
		Credentials: &providers.StaticCredentials{AccessKeyID: akid, SecretAccessKey: secret, SessionToken: token}}
	p, err := provaws.New(context.Background(), target,
		provaws.WithSleeper(f.sleeper), provaws.WithPollInterval(5*time.Second), provaws.WithMaxAttempts(3),
		provaws.WithRetryBackoff(func(int, error) (time.Duration, error) { return 0, nil }), provaws.WithoutRetryQuota())
	require.NoError(t, err)
	return p
}

// locked runs fn under the world lock.
func (f *fixture) locked(fn func(w *world.World)) {
	f.env.World.Lock()
	defer f.env.World.Unlock()
	fn(f.env.World)
}

// readOnly returns a provider for a fresh ReadOnlyAccess user "auditor".
func (f *fixture) readOnly(t *testing.T) *provaws.Provider {
	t.Helper()
	var key *awsworld.AccessKey
	f.locked(func(w *world.World) {
		awsworld.Of(w).AddUser(awssimtest.Account, "auditor", "arn:aws:iam::aws:policy/ReadOnlyAccess")
		var err error
		key, err = awsworld.Of(w).AddAccessKey("auditor")
		require.NoError(t, err)
	})
	return f.provider(t, key.ID, key.Secret, "")
}
