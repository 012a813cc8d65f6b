package providers_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/providers"
)

func TestValidateAcceptsSimulatorAndLiveTargets(t *testing.T) {
	for _, tg := range []providers.Target{
		{Cloud: "aws", Region: "us-east-1", Endpoint: "http://127.0.0.1:4566",
			Credentials: &providers.StaticCredentials{AccessKeyID: "AKIA", SecretAccessKey: "s"}},
		{Cloud: "aws", Region: "eu-west-2", Account: "111122223333", Profile: "ir-responder"},
		{Cloud: "aws", Region: "us-gov-west-1"},
		{Cloud: "gcp", Account: "my-project"},
	} {
		require.NoError(t, tg.Validate(), "%+v", tg)
	}
}

func TestValidateNamesTheField(t *testing.T) {
	err := providers.Target{Cloud: "aws", Region: "us-east-1", Endpoint: "ftp://x"}.Validate()
	var te *providers.TargetError
	require.True(t, errors.As(err, &te))
	require.Equal(t, "Endpoint", te.Field)
	require.Contains(t, err.Error(), "Endpoint")
}

func TestOpErrorExposesKindAndCause(t *testing.T) {
	cause := errors.New("api error InvalidInstanceID.NotFound")
	err := fmt.Errorf("step snapshot: %w", &providers.OpError{Op: "ec2:CreateSnapshots", Resource: "i-1",
		Kind: providers.ErrNotFound, Code: "InvalidInstanceID.NotFound", Err: cause})
	require.ErrorIs(t, err, providers.ErrNotFound)
	require.ErrorIs(t, err, cause)
	require.NotErrorIs(t, err, providers.ErrConflict)
	require.Equal(t, "InvalidInstanceID.NotFound", providers.Code(err))
	require.Equal(t, "step snapshot: ec2:CreateSnapshots i-1: not found (InvalidInstanceID.NotFound): api error InvalidInstanceID.NotFound", err.Error())
	require.Empty(t, providers.Code(cause))
}

func TestRealSleeperHonoursCancellation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := providers.RealSleeper{}.Sleep(ctx, time.Hour)
	require.ErrorIs(t, err, context.Canceled)
	require.NoError(t, providers.RealSleeper{}.Sleep(context.Background(), time.Millisecond))
}
