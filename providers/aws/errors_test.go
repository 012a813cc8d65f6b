package aws_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/cloudsim/fault"
	"github.com/firedrill-ir/firedrill/providers"
	provaws "github.com/firedrill-ir/firedrill/providers/aws"
)

func TestErrorsMapToNeutralKinds(t *testing.T) {
	const ghost = "i-0fedcba9876543210"
	cases := []struct {
		name     string
		setup    func(t *testing.T, f *fixture)
		call     func(f *fixture) error
		wantKind error
		wantCode string
	}{
		{
			name: "unknown instance on stop",
			call: func(f *fixture) error {
				return f.prov.StopInstance(context.Background(), ghost, providers.StopOptions{})
			},
			wantKind: providers.ErrNotFound, wantCode: "InvalidInstanceID.NotFound",
		},
		{
			name: "unknown instance on isolate",
			call: func(f *fixture) error {
				_, err := f.prov.IsolateInstance(context.Background(), ghost, providers.IsolateOptions{})
				return err
			},
			wantKind: providers.ErrNotFound, wantCode: "InvalidInstanceID.NotFound",
		},
		{
			name: "malformed instance id",
			call: func(f *fixture) error {
				return f.prov.StopInstance(context.Background(), "web-1", providers.StopOptions{})
			},
			wantKind: providers.ErrInvalid, wantCode: "InvalidInstanceID.Malformed",
		},
		{
			name: "read-only user stops",
			call: func(f *fixture) error {
				return f.ro.StopInstance(context.Background(), f.inst, providers.StopOptions{})
			},
			wantKind: providers.ErrAccessDenied, wantCode: "UnauthorizedOperation",
		},
		{
			name: "read-only user revokes sessions",
			call: func(f *fixture) error {
				_, err := f.ro.RevokeRoleSessionsBefore(context.Background(), appRole, f.env.Clock.Now())
				return err
			},
			wantKind: providers.ErrAccessDenied, wantCode: "AccessDenied",
		},
		{
			name: "stopping a terminated instance",
			setup: func(t *testing.T, f *fixture) {
				_, err := ec2.NewFromConfig(f.env.Admin).TerminateInstances(context.Background(), &ec2.TerminateInstancesInput{InstanceIds: []string{f.other}})
				require.NoError(t, err)
			},
			call: func(f *fixture) error {
				return f.prov.StopInstance(context.Background(), f.other, providers.StopOptions{})
			},
			wantKind: providers.ErrConflict, wantCode: "IncorrectInstanceState",
		},
		{
			name: "throttled beyond retries",
			setup: func(t *testing.T, f *fixture) {
				require.NoError(t, f.env.Server.Faults.Add(fault.Rule{Cloud: "aws", Service: "ec2", Operation: "StopInstances", Kind: fault.Throttle}))
			},
			call: func(f *fixture) error {
				return f.prov.StopInstance(context.Background(), f.inst, providers.StopOptions{})
			},
			wantKind: providers.ErrThrottled, wantCode: "RequestLimitExceeded",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.ro = f.readOnly(t)
			if tc.setup != nil {
				tc.setup(t, f)
			}
			err := tc.call(f)
			require.Error(t, err)
			require.ErrorIs(t, err, tc.wantKind)
			for _, other := range []error{providers.ErrNotFound, providers.ErrAccessDenied, providers.ErrThrottled, providers.ErrConflict, providers.ErrInvalid} {
				if other != tc.wantKind {
					require.False(t, errors.Is(err, other), "%v is also %v", err, other)
				}
			}
			require.Equal(t, tc.wantCode, providers.Code(err))
		})
	}
}

func TestThrottleOnceIsRetriedTransparently(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, f.env.Server.Faults.Add(fault.Rule{Cloud: "aws", Service: "ec2", Operation: "StopInstances", Kind: fault.Throttle, Times: 1}))
	require.NoError(t, f.prov.StopInstance(context.Background(), f.inst, providers.StopOptions{}))
}

func TestNewRejectsBadTargets(t *testing.T) {
	cases := []struct {
		name   string
		target providers.Target
		field  string
	}{
		{"no cloud", providers.Target{Region: "us-east-1"}, "Cloud"},
		{"other cloud", providers.Target{Cloud: "gcp", Region: "us-east-1"}, "Cloud"},
		{"no region", providers.Target{Cloud: "aws"}, "Region"},
		{"bad region", providers.Target{Cloud: "aws", Region: "US East"}, "Region"},
		{"bad account", providers.Target{Cloud: "aws", Region: "us-east-1", Account: "1234"}, "Account"},
		{"relative endpoint", providers.Target{Cloud: "aws", Region: "us-east-1", Endpoint: "localhost:4566"}, "Endpoint"},
		{"key without secret", providers.Target{Cloud: "aws", Region: "us-east-1",
			Credentials: &providers.StaticCredentials{AccessKeyID: "AKIA"}}, "Credentials.SecretAccessKey"},
		{"profile and static", providers.Target{Cloud: "aws", Region: "us-east-1", Profile: "ir",
			Credentials: &providers.StaticCredentials{AccessKeyID: "AKIA", SecretAccessKey: "s"}}, "Profile"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := provaws.New(context.Background(), tc.target)
			var te *providers.TargetError
			require.True(t, errors.As(err, &te), "got %v", err)
			require.Equal(t, tc.field, te.Field)
		})
	}
}

func TestVerifyRejectsWrongAccount(t *testing.T) {
	f := newFixture(t)
	target := f.prov.Target()
	target.Account = "999999999999"
	p, err := provaws.New(context.Background(), target)
	require.NoError(t, err)
	var te *providers.TargetError
	require.True(t, errors.As(p.Verify(context.Background()), &te))
	require.Equal(t, "Account", te.Field)
}
