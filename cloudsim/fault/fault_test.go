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
	require.ErrorContains(t, s.Add(Rule{Kind: Latency}), "a latency or a factor must be positive")
	require.ErrorContains(t, s.Add(Rule{Kind: Stale}), "window must be positive")
	require.ErrorContains(t, s.Add(Rule{Operation: "[", Kind: Throttle}), "bad pattern")
}

func TestParseSpec(t *testing.T) {
	rules, err := ParseSpec("throttle=20%,errors=5%@aws:ec2/Describe*,latency=10x")
	require.NoError(t, err)
	require.Equal(t, []Rule{
		{Kind: Throttle, Rate: 0.2, Actor: "responder"},
		{Kind: Error5xx, Rate: 0.05, Actor: "responder", Cloud: "aws", Service: "ec2", Operation: "Describe*"},
		{Kind: Latency, Factor: 10, Actor: "responder"},
	}, rules)

	rules, err = ParseSpec("actor=all, latency=2s@iam")
	require.NoError(t, err)
	require.Equal(t, []Rule{{Kind: Latency, Latency: 2 * time.Second, Service: "iam"}}, rules)

	for spec, want := range map[string]string{
		"":                 "no fault given",
		"throttle":         "is not key=value",
		"throttle=120%":    "expected a rate",
		"latency=-2x":      "positive factor",
		"latency=soon":     "expected a factor",
		"explode=1%":       `unknown fault "explode"`,
		"actor=,errors=1%": "actor is empty",
	} {
		_, err := ParseSpec(spec)
		require.ErrorContains(t, err, want, spec)
	}
}

// TestRateDrawsFromTheCallersStream: a rate rule fires when the caller's
// draw is below it, and only matching actors draw at all.
func TestRateDrawsFromTheCallersStream(t *testing.T) {
	s := &Set{}
	require.NoError(t, s.Add(Rule{Kind: Throttle, Rate: 0.5, Actor: "responder"}))
	require.NoError(t, s.Add(Rule{Kind: Latency, Factor: 10, Actor: "responder"}))
	draws := []float64{0.1, 0.7}
	drawn := 0
	draw := func() float64 { drawn++; return draws[drawn-1] }
	e := s.Apply(Target{Actor: "responder", Draw: draw})
	require.True(t, e.Throttle)
	require.Equal(t, 2*time.Second+500*time.Millisecond, Effects{LatencyFactor: e.LatencyFactor, ExtraLatency: 500 * time.Millisecond}.Scale(200*time.Millisecond))
	require.False(t, s.Apply(Target{Actor: "responder", Draw: draw}).Throttle, "0.7 is above the rate")
	require.Equal(t, Effects{}, s.Apply(Target{Actor: "attacker", Draw: draw}), "another actor is not touched")
	require.Equal(t, 2, drawn, "and draws nothing")
}

func TestRuleString(t *testing.T) {
	rules, err := ParseSpec("throttle=20%,errors=5%@aws:ec2/Describe*,latency=10x")
	require.NoError(t, err)
	var got []string
	for _, r := range rules {
		got = append(got, r.String())
	}
	require.Equal(t, []string{"throttle 20% of responder calls", "server errors on 5% of responder calls to aws:ec2/Describe*",
		"latency x10 on all responder calls"}, got)
}
