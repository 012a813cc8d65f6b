package aws

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/providers"
)

// EC2 has no typed errors, so kinds come from code strings; this pins the
// codes playbooks depend on.
func TestClassifyCodes(t *testing.T) {
	cases := map[string]error{
		"InvalidInstanceID.NotFound":    providers.ErrNotFound,
		"InvalidGroup.NotFound":         providers.ErrNotFound,
		"InvalidAssociationID.NotFound": providers.ErrNotFound,
		"NoSuchEntity":                  providers.ErrNotFound,
		"InvocationDoesNotExist":        providers.ErrNotFound,
		"NoSuchKey":                     providers.ErrNotFound,
		"InvalidInstanceID.Malformed":   providers.ErrInvalid,
		"UnauthorizedOperation":         providers.ErrAccessDenied,
		"AccessDenied":                  providers.ErrAccessDenied,
		"ExpiredToken":                  providers.ErrAccessDenied,
		"RequestLimitExceeded":          providers.ErrThrottled,
		"Throttling":                    providers.ErrThrottled,
		"ThrottlingException":           providers.ErrThrottled,
		"IncorrectInstanceState":        providers.ErrConflict,
		"OperationNotPermitted":         providers.ErrConflict,
		"InvalidGroup.Duplicate":        providers.ErrConflict,
		"EntityAlreadyExists":           providers.ErrConflict,
		"ValidationError":               providers.ErrInvalid,
		"MalformedPolicyDocument":       providers.ErrInvalid,
		"InvalidAction":                 providers.ErrUnsupported,
		"UnknownOperationException":     providers.ErrUnsupported,
		"SomethingNobodyHasSeenBefore":  nil,
		"":                              nil,
	}
	for code, want := range cases {
		require.Equal(t, want, classify(code), code)
	}
}

func TestRevokePolicyRoundTrips(t *testing.T) {
	doc := revokePolicy(mustTime(t, "2026-11-26T09:00:01Z"))
	require.Equal(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":["*"],"Resource":["*"],`+
		`"Condition":{"DateLessThan":{"aws:TokenIssueTime":"2026-11-26T09:00:01Z"}}}]}`, doc)
	got, ok := existingRevokeTime(doc)
	require.True(t, ok)
	require.True(t, got.Equal(mustTime(t, "2026-11-26T09:00:01Z")))
	// IAM's GetRolePolicy answers URL-encoded documents.
	got, ok = existingRevokeTime("%7B%22Statement%22%3A%5B%7B%22Effect%22%3A%22Deny%22%2C%22Condition%22%3A%7B%22DateLessThan%22%3A%7B%22aws%3ATokenIssueTime%22%3A%222026-01-02T03%3A04%3A05Z%22%7D%7D%7D%5D%7D")
	require.True(t, ok)
	require.Equal(t, 2026, got.Year())
	_, ok = existingRevokeTime("not json")
	require.False(t, ok)
}

func TestSHA256Token(t *testing.T) {
	sum := "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	require.Equal(t, sum, sha256Token(sum+"  /var/tmp/firedrill-memory.lime\n"))
	require.Empty(t, sha256Token("avml: captured 2 GiB\n"))
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	require.NoError(t, err)
	return v
}
