package awssim_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/cloudsim/awssim/awssimtest"
)

func TestGetCallerIdentityNamesTheKeyOwner(t *testing.T) {
	env := awssimtest.New(t)
	out, err := sts.NewFromConfig(env.Admin).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	require.NoError(t, err)
	require.Equal(t, "arn:aws:iam::111122223333:user/admin", *out.Arn)
	require.Equal(t, awssimtest.Account, *out.Account)
}

func TestUnknownKeyAndBadSecretAreRejected(t *testing.T) {
	env := awssimtest.New(t)
	_, err := sts.NewFromConfig(env.Config("AKIANOTAKEY000000000", "x", "")).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	var ae smithy.APIError
	require.True(t, errors.As(err, &ae), "got %v", err)
	require.Equal(t, "InvalidClientTokenId", ae.ErrorCode())

	_, err = sts.NewFromConfig(env.Config(env.AdminKey.ID, "wrong-secret", "")).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	require.True(t, errors.As(err, &ae), "got %v", err)
	require.Equal(t, "SignatureDoesNotMatch", ae.ErrorCode())
}
