package fault

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRuleBudgetsAndScopes(t *testing.T) {
	s := &Set{}
	require.NoError(t, s.Add(Rule{Service: "ec2", Operation: "Describe*", Kind: Throttle, Times: 2}))
	require.NoError(t, s.Add(Rule{Principal: "arn:aws:iam::*:user/attacker", Kind: Latency, Latency: time.Second}))
	require.NoError(t, s.Add(Rule{Service: "s3", Kind: Error5xx, Every: 2, Status: 503}))

	tgt := Target{Cloud: "aws", Service: "ec2", Operation: "DescribeInstances", Principal: "arn:aws:iam::1:user/admin"}
	require.True(t, s.Apply(tgt).Throttle)
	require.True(t, s.Apply(tgt).Throttle)
	require.False(t, s.Apply(tgt).Throttle, "the budget of two is spent")
	require.False(t, s.Apply(Target{Service: "ec2", Operation: "StopInstances"}).Throttle, "operation glob scopes the rule")

	att := s.Apply(Target{Service: "sts", Operation: "GetCallerIdentity", Principal: "arn:aws:iam::1:user/attacker"})
	require.Equal(t, time.Second, att.ExtraLatency)

	require.Zero(t, s.Apply(Target{Service: "s3"}).Error, "every second call only")
	require.Equal(t, 503, s.Apply(Target{Service: "s3"}).Error)

	var nilSet *Set
	require.Equal(t, Effects{}, nilSet.Apply(tgt))
	s.Clear()
	require.Equal(t, Effects{}, s.Apply(Target{Service: "s3"}))
}

func TestValidateNamesTheProblem(t *testing.T) {
	s := &Set{}
	err := s.Add(Rule{Service: "ec2", Kind: "explode"})
	require.ErrorContains(t, err, `kind "explode"`)
	require.ErrorContains(t, s.Add(Rule{Kind: Latency}), "latency must be positive")
	require.ErrorContains(t, s.Add(Rule{Kind: Stale}), "window must be positive")
	require.ErrorContains(t, s.Add(Rule{Operation: "[", Kind: Throttle}), "bad pattern")
}
