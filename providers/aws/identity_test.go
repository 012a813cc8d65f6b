package aws_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/awsworld"
	"github.com/firedrill-ir/firedrill/providers"
	provaws "github.com/firedrill-ir/firedrill/providers/aws"
)

func TestCallerIdentity(t *testing.T) {
	f := newFixture(t)
	c, err := f.prov.CallerIdentity(context.Background())
	require.NoError(t, err)
	require.Equal(t, providers.CallerIdentity{Account: "111122223333", ARN: "arn:aws:iam::111122223333:user/responder",
		UserID: c.UserID}, *c)
	require.NotEmpty(t, c.UserID)
	require.NoError(t, f.prov.Verify(context.Background()))
}

func TestDetachIdentityAloneDoesNotStopStolenCredentialsButRevokeDoes(t *testing.T) {
	for _, mode := range []struct {
		name string
		mode providers.DetachMode
	}{{"replace", providers.DetachReplace}, {"remove", providers.DetachRemove}} {
		t.Run(mode.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			var stolen *awsworld.Session
			f.locked(func(w *world.World) {
				var err error
				stolen, err = awsworld.Of(w).InstanceCredentials(f.inst)
				require.NoError(t, err)
			})
			attacker := ec2.NewFromConfig(f.env.Config(stolen.AccessKeyID, stolen.Secret, stolen.Token))
			_, err := attacker.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
			require.NoError(t, err, "the stolen session works before containment")

			f.env.Clock.Advance(time.Minute)
			det, err := f.prov.DetachInstanceIdentity(ctx, f.inst, mode.mode, denyProfile)
			require.NoError(t, err)
			require.Equal(t, "arn:aws:iam::111122223333:instance-profile/"+appProfile, det.PreviousProfileARN)
			require.Equal(t, []string{appRole}, det.Roles)
			f.locked(func(w *world.World) {
				a := awsworld.Of(w).ActiveAssociation(f.inst)
				if mode.mode == providers.DetachRemove {
					require.Nil(t, a)
					require.Empty(t, det.AssociationID)
				} else {
					require.NotNil(t, a)
					require.Equal(t, "arn:aws:iam::111122223333:instance-profile/"+denyProfile, a.ProfileARN)
					require.Equal(t, a.ProfileARN, det.NewProfileARN)
				}
			})

			_, err = attacker.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
			require.NoError(t, err, "detaching the profile does not revoke issued credentials")

			rev, err := f.prov.RevokeRoleSessionsBefore(ctx, det.Roles[0], time.Time{})
			require.NoError(t, err)
			require.Equal(t, provaws.RevokePolicyName, rev.Detail)
			require.False(t, rev.Cutoff.Before(f.env.Clock.Now()), "the cut-off is not before now")

			// Fix, then verify immediately: the deny has not reached the
			// endpoints yet, so the stolen session still works.
			_, err = attacker.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
			require.NoError(t, err, "probed at once, the revoke has not propagated")
			f.env.Propagate()
			_, err = attacker.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
			var ae smithy.APIError
			require.True(t, errors.As(err, &ae), "the stolen session is denied after the revoke: %v", err)
			require.Equal(t, "UnauthorizedOperation", ae.ErrorCode())

			// Legitimate sessions issued after the cut-off still work.
			f.env.Clock.Advance(5 * time.Second)
			var fresh *awsworld.Session
			f.locked(func(w *world.World) {
				var err error
				fresh, err = awsworld.Of(w).IssueSession(appRole, "fresh", "test", time.Hour)
				require.NoError(t, err)
			})
			_, err = ec2.NewFromConfig(f.env.Config(fresh.AccessKeyID, fresh.Secret, fresh.Token)).
				DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
			require.NoError(t, err)

			// Detaching again is a no-op; revoking with an earlier time keeps the later cut-off.
			again, err := f.prov.DetachInstanceIdentity(ctx, f.inst, mode.mode, denyProfile)
			require.NoError(t, err)
			require.Empty(t, again.PreviousProfileARN)
			rev2, err := f.prov.RevokeRoleSessionsBefore(ctx, appRole, rev.Cutoff.Add(-time.Hour))
			require.NoError(t, err)
			require.True(t, rev.Cutoff.Equal(rev2.Cutoff), "%v vs %v", rev.Cutoff, rev2.Cutoff)
		})
	}
}

func TestRevokeRoundsCutOffUpToTheSecond(t *testing.T) {
	f := newFixture(t)
	f.env.Clock.Advance(300 * time.Millisecond)
	var s *awsworld.Session
	f.locked(func(w *world.World) {
		var err error
		s, err = awsworld.Of(w).IssueSession(appRole, "sub-second", "test", time.Hour)
		require.NoError(t, err)
	})
	f.env.Clock.Advance(200 * time.Millisecond)
	rev, err := f.prov.RevokeRoleSessionsBefore(context.Background(), appRole, time.Time{})
	require.NoError(t, err)
	require.Equal(t, 0, rev.Cutoff.Nanosecond())
	f.env.Propagate()
	_, err = ec2.NewFromConfig(f.env.Config(s.AccessKeyID, s.Secret, s.Token)).DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{})
	require.Error(t, err, "a session issued within the same second is revoked too")
}

func TestDetachReplaceNeedsAProfileAndRevokeNeedsARole(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, err := f.prov.DetachInstanceIdentity(ctx, f.inst, providers.DetachReplace, "")
	require.ErrorIs(t, err, providers.ErrInvalid)
	_, err = f.prov.RevokeRoleSessionsBefore(ctx, "no-such-role", time.Time{})
	require.ErrorIs(t, err, providers.ErrNotFound)
}

func TestDisableAccessKey(t *testing.T) {
	f := newFixture(t)
	var key *awsworld.AccessKey
	f.locked(func(w *world.World) {
		awsworld.Of(w).AddUser("111122223333", "leaky", "arn:aws:iam::aws:policy/ReadOnlyAccess")
		var err error
		key, err = awsworld.Of(w).AddAccessKey("leaky")
		require.NoError(t, err)
	})
	require.NoError(t, f.prov.DisableAccessKey(context.Background(), "leaky", key.ID))
	f.locked(func(w *world.World) { require.Equal(t, "Inactive", awsworld.Of(w).AccessKeys.Lookup(key.ID).Status) })
	leaked := ec2.NewFromConfig(f.env.Config(key.ID, key.Secret, ""))
	_, err := leaked.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{})
	require.NoError(t, err, "probed at once, the deactivation has not propagated")
	f.env.Propagate()
	_, err = leaked.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{})
	require.Error(t, err)

	err = f.prov.DisableAccessKey(context.Background(), "leaky", "AKIANOSUCHKEY0000000")
	require.ErrorIs(t, err, providers.ErrNotFound)
}
