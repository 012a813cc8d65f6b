package world_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
)

// evalCase is one row of the policy-evaluation tables below: a set of
// identity policies, a request and the decision IAM documents for it.
type evalCase struct {
	name   string
	docs   []string
	req    world.Request
	expect world.Decision
}

func runEvalCases(t *testing.T, cases []evalCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.expect, world.Evaluate(parsePolicies(t, tc.docs), tc.req))
		})
	}
}

// parsePolicies parses policy documents that must be valid.
func parsePolicies(t *testing.T, docs []string) []*world.Policy {
	t.Helper()
	var pols []*world.Policy
	for _, d := range docs {
		p, err := world.ParsePolicy(d)
		require.NoError(t, err, d)
		pols = append(pols, p)
	}
	return pols
}

const allowAll = `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`

// ctx builds a request context of single-valued keys.
func ctx(kv ...string) world.Context {
	c := world.Context{}
	for i := 0; i+1 < len(kv); i += 2 {
		c.Set(kv[i], kv[i+1])
	}
	return c
}

// TestEvaluationLogic follows "Policy evaluation logic" (IAM User Guide):
// an explicit deny in any policy overrides any allow, an allow is needed to
// grant, and without one the request is implicitly denied.
func TestEvaluationLogic(t *testing.T) {
	req := world.Request{Action: "dynamodb:GetItem", Resources: []string{"arn:aws:dynamodb:us-east-1:111122223333:table/Books"}}
	runEvalCases(t, []evalCase{
		{"no policy: implicit deny", nil, req, world.ImplicitDeny},
		{"allow grants", []string{`{"Statement":{"Effect":"Allow","Action":"dynamodb:*","Resource":"arn:aws:dynamodb:*:*:table/Books"}}`}, req, world.Allowed},
		{"explicit deny in another policy overrides the allow", []string{allowAll,
			`{"Statement":{"Effect":"Deny","Action":"dynamodb:GetItem","Resource":"*"}}`}, req, world.ExplicitDeny},
		{"a deny whose condition does not hold does not apply", []string{allowAll,
			`{"Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}}`},
			world.Request{Action: req.Action, Resources: req.Resources, Context: ctx("aws:SecureTransport", "true")}, world.Allowed},
		{"an allow on another resource is an implicit deny", []string{`{"Statement":{"Effect":"Allow","Action":"dynamodb:*","Resource":"arn:aws:dynamodb:*:*:table/Music"}}`},
			req, world.ImplicitDeny},
		{"action wildcard ? matches one character", []string{`{"Statement":{"Effect":"Allow","Action":"dynamodb:G?tItem","Resource":"*"}}`}, req, world.Allowed},
		{"resource ARNs are case-sensitive", []string{`{"Statement":{"Effect":"Allow","Action":"dynamodb:*","Resource":"arn:aws:dynamodb:*:*:table/books"}}`},
			req, world.ImplicitDeny},
	})
}

// TestNotActionNotResource follows "IAM JSON policy elements: NotAction" and
// "… NotResource".
func TestNotActionNotResource(t *testing.T) {
	// NotAction with Allow: every action except IAM's.
	allowAllButIAM := `{"Statement":{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}}`
	// NotAction with Deny: without MFA, deny everything except the IAM
	// calls that set MFA up. BoolIfExists: a long-term key's request has no
	// aws:MultiFactorAuthPresent at all, and is denied too.
	denyWithoutMFA := `{"Statement":{"Sid":"DenyAllUsersNotUsingMFA","Effect":"Deny","NotAction":"iam:*","Resource":"*",` +
		`"Condition":{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}}}`
	// NotResource with Deny: nothing in S3 but the Payroll folder.
	payroll := `{"Statement":{"Effect":"Deny","Action":"s3:*","NotResource":["arn:aws:s3:::HRBucket/Payroll","arn:aws:s3:::HRBucket/Payroll/*"]}}`
	get := func(key string) world.Request {
		return world.Request{Action: "s3:GetObject", Resources: []string{"arn:aws:s3:::HRBucket/" + key}}
	}
	runEvalCases(t, []evalCase{
		{"NotAction allow grants other services", []string{allowAllButIAM}, world.Request{Action: "ec2:StopInstances"}, world.Allowed},
		{"NotAction allow does not grant IAM", []string{allowAllButIAM}, world.Request{Action: "iam:CreateUser"}, world.ImplicitDeny},
		{"NotAction deny: no MFA key, EC2 denied", []string{allowAll, denyWithoutMFA}, world.Request{Action: "ec2:StopInstances", Context: ctx()}, world.ExplicitDeny},
		{"NotAction deny: MFA false, EC2 denied", []string{allowAll, denyWithoutMFA},
			world.Request{Action: "ec2:StopInstances", Context: ctx("aws:MultiFactorAuthPresent", "false")}, world.ExplicitDeny},
		{"NotAction deny: IAM is left alone", []string{allowAll, denyWithoutMFA}, world.Request{Action: "iam:EnableMFADevice", Context: ctx()}, world.Allowed},
		{"NotAction deny: with MFA, EC2 allowed", []string{allowAll, denyWithoutMFA},
			world.Request{Action: "ec2:StopInstances", Context: ctx("aws:MultiFactorAuthPresent", "true")}, world.Allowed},
		{"NotResource deny: Payroll object allowed", []string{allowAll, payroll}, get("Payroll/2026-11.csv"), world.Allowed},
		{"NotResource deny: Payroll folder allowed", []string{allowAll, payroll}, get("Payroll"), world.Allowed},
		{"NotResource deny: other object denied", []string{allowAll, payroll}, get("Reviews/2026.pdf"), world.ExplicitDeny},
		{"NotResource deny: other services untouched", []string{allowAll, payroll}, world.Request{Action: "ec2:StopInstances",
			Resources: []string{"arn:aws:ec2:us-east-1:111122223333:instance/i-1"}}, world.Allowed},
		{"NotResource allow: grants all but the listed", []string{`{"Statement":{"Effect":"Allow","Action":"s3:*","NotResource":"arn:aws:s3:::HRBucket/Payroll/*"}}`},
			get("Reviews/2026.pdf"), world.Allowed},
		{"NotResource allow: not the listed", []string{`{"Statement":{"Effect":"Allow","Action":"s3:*","NotResource":"arn:aws:s3:::HRBucket/Payroll/*"}}`},
			get("Payroll/2026-11.csv"), world.ImplicitDeny},
	})
}

// TestConditionOperators follows "IAM JSON policy elements: Condition
// operators", including its rule for a key missing from the request: the
// condition is false, except that one requiring the key not to match
// (StringNotLike, ArnNotLike, …) is true, and ...IfExists is true.
func TestConditionOperators(t *testing.T) {
	allowIf := func(cond string) []string {
		return []string{`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":` + cond + `}}`}
	}
	req := func(kv ...string) world.Request { return world.Request{Action: "s3:ListBucket", Context: ctx(kv...)} }
	tag := `{"StringEquals":{"aws:PrincipalTag/job-category":"iamuser-admin"}}`
	prefix := `{"StringLike":{"s3:prefix":["","home/","home/alice/*"]}}`
	notLike := `{"StringNotLike":{"s3:prefix":["home/*","tmp/*"]}}`
	maxKeys := `{"NumericLessThanEquals":{"s3:max-keys":"10"}}`
	notEq := `{"NumericNotEquals":{"s3:max-keys":["10","20"]}}`
	arnLike := `{"ArnLike":{"aws:SourceArn":"arn:aws:cloudtrail:*:111122223333:trail/*"}}`
	arnNotEq := `{"ArnNotEquals":{"aws:PrincipalArn":["arn:aws:iam::111122223333:role/ir-responder","arn:aws:iam::111122223333:role/breakglass"]}}`
	instType := `{"StringLikeIfExists":{"ec2:InstanceType":["t1.*","t2.*","m3.*"]}}`
	runEvalCases(t, []evalCase{
		{"StringEquals matches", allowIf(tag), req("aws:PrincipalTag/job-category", "iamuser-admin"), world.Allowed},
		{"StringEquals is case-sensitive", allowIf(tag), req("aws:PrincipalTag/job-category", "IAMUser-Admin"), world.ImplicitDeny},
		{"StringEquals on a missing key is false", allowIf(tag), req(), world.ImplicitDeny},
		{"condition key names are case-insensitive", allowIf(tag), req("AWS:PrincipalTag/Job-Category", "iamuser-admin"), world.Allowed},
		{"StringLike: empty prefix is one of the values", allowIf(prefix), req("s3:prefix", ""), world.Allowed},
		{"StringLike: wildcard value", allowIf(prefix), req("s3:prefix", "home/alice/photos/"), world.Allowed},
		{"StringLike: no value matches", allowIf(prefix), req("s3:prefix", "home/bob/"), world.ImplicitDeny},
		{"StringNotLike: no value matches, condition true", allowIf(notLike), req("s3:prefix", "reports/"), world.Allowed},
		{"StringNotLike: the second value matches, condition false", allowIf(notLike), req("s3:prefix", "tmp/x"), world.ImplicitDeny},
		{"StringNotLike on a missing key is true", allowIf(notLike), req(), world.Allowed},
		{"NumericLessThanEquals within", allowIf(maxKeys), req("s3:max-keys", "10"), world.Allowed},
		{"NumericLessThanEquals over", allowIf(maxKeys), req("s3:max-keys", "11"), world.ImplicitDeny},
		{"NumericLessThanEquals missing key is false", allowIf(maxKeys), req(), world.ImplicitDeny},
		{"NumericNotEquals: equal to one value, false", allowIf(notEq), req("s3:max-keys", "20"), world.ImplicitDeny},
		{"NumericNotEquals: equal to none, true", allowIf(notEq), req("s3:max-keys", "15"), world.Allowed},
		{"DateGreaterThan ISO 8601", allowIf(`{"DateGreaterThan":{"aws:TokenIssueTime":"2020-01-01T00:00:01Z"}}`),
			req("aws:TokenIssueTime", "2026-11-26T09:00:00Z"), world.Allowed},
		{"DateLessThan epoch seconds", allowIf(`{"DateLessThan":{"aws:CurrentTime":"1577836800"}}`),
			req("aws:CurrentTime", "2026-11-26T09:00:00Z"), world.ImplicitDeny},
		{"DateNotEquals on a missing key is true", allowIf(`{"DateNotEquals":{"aws:TokenIssueTime":"2020-01-01T00:00:00Z"}}`), req(), world.Allowed},
		{"Bool", allowIf(`{"Bool":{"aws:SecureTransport":"true"}}`), req("aws:SecureTransport", "true"), world.Allowed},
		{"Bool false", allowIf(`{"Bool":{"aws:SecureTransport":"true"}}`), req("aws:SecureTransport", "false"), world.ImplicitDeny},
		{"IpAddress CIDR", allowIf(`{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}`), req("aws:SourceIp", "203.0.113.9"), world.Allowed},
		{"IpAddress outside", allowIf(`{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}`), req("aws:SourceIp", "198.51.100.9"), world.ImplicitDeny},
		{"IpAddress IPv6 and single address", allowIf(`{"IpAddress":{"aws:SourceIp":["2001:DB8:1234:5678::/64","192.0.2.1"]}}`),
			req("aws:SourceIp", "2001:db8:1234:5678::9"), world.Allowed},
		{"ArnLike matches per component", allowIf(arnLike), req("aws:SourceArn", "arn:aws:cloudtrail:eu-west-1:111122223333:trail/org"), world.Allowed},
		{"ArnLike other account", allowIf(arnLike), req("aws:SourceArn", "arn:aws:cloudtrail:eu-west-1:444455556666:trail/org"), world.ImplicitDeny},
		{"ArnLike: a wildcard does not span components", allowIf(`{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/x"}}`),
			req("aws:PrincipalArn", "arn:aws:iam::111122223333:222233334444:role/x"), world.ImplicitDeny},
		{"ArnLike: * alone matches any ARN", allowIf(`{"ArnLike":{"aws:PrincipalArn":"*"}}`),
			req("aws:PrincipalArn", "arn:aws:iam::111122223333:role/x"), world.Allowed},
		{"ArnLike: not an ARN", allowIf(arnLike), req("aws:SourceArn", "trail/org"), world.ImplicitDeny},
		{"ArnNotEquals: one of the listed roles, false", allowIf(arnNotEq), req("aws:PrincipalArn", "arn:aws:iam::111122223333:role/breakglass"), world.ImplicitDeny},
		{"ArnNotEquals: none of them, true", allowIf(arnNotEq), req("aws:PrincipalArn", "arn:aws:iam::111122223333:role/web"), world.Allowed},
		{"Null true: long-term credentials have no token issue time", allowIf(`{"Null":{"aws:TokenIssueTime":"true"}}`), req(), world.Allowed},
		{"Null true: temporary credentials do", allowIf(`{"Null":{"aws:TokenIssueTime":"true"}}`), req("aws:TokenIssueTime", "2026-11-26T09:00:00Z"), world.ImplicitDeny},
		{"Null false", allowIf(`{"Null":{"aws:TokenIssueTime":"false"}}`), req("aws:TokenIssueTime", "2026-11-26T09:00:00Z"), world.Allowed},
		{"IfExists: present and matching", allowIf(instType), req("ec2:InstanceType", "t2.micro"), world.Allowed},
		{"IfExists: present and not matching", allowIf(instType), req("ec2:InstanceType", "p3.16xlarge"), world.ImplicitDeny},
		{"IfExists: missing key is true", allowIf(instType), req(), world.Allowed},
		{"NotIfExists: present and listed", allowIf(`{"StringNotEqualsIfExists":{"ec2:InstanceType":["p3.16xlarge","p4d.24xlarge"]}}`),
			req("ec2:InstanceType", "p3.16xlarge"), world.ImplicitDeny},
		{"unknown operator never holds", allowIf(`{"StringMatches":{"s3:prefix":"x"}}`), req("s3:prefix", "x"), world.ImplicitDeny},
		{"IfExists is not a Null variant", allowIf(`{"NullIfExists":{"s3:prefix":"true"}}`), req(), world.ImplicitDeny},
	})
}

// TestMultipleKeysAndValues follows "IAM JSON policy elements: Condition"
// (creating a condition with multiple context keys or values): operators
// and keys are ANDed, a key's values ORed, and a negated operator's values
// NORed.
func TestMultipleKeysAndValues(t *testing.T) {
	cond := `{"StringEquals":{"aws:PrincipalTag/department":["finance","hr","legal"],"aws:PrincipalTag/role":["audit","security"]}}`
	negated := `{"StringNotEquals":{"aws:PrincipalTag/department":["finance","hr","legal"]}}`
	deny := func(c string) []string {
		return []string{allowAll, `{"Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":` + c + `}}`}
	}
	allow := func(c string) []string {
		return []string{`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":` + c + `}}`}
	}
	req := func(kv ...string) world.Request { return world.Request{Action: "s3:GetObject", Context: ctx(kv...)} }
	runEvalCases(t, []evalCase{
		{"both keys match one of their values", allow(cond), req("aws:PrincipalTag/department", "hr", "aws:PrincipalTag/role", "audit"), world.Allowed},
		{"one key matches, the other does not", allow(cond), req("aws:PrincipalTag/department", "hr", "aws:PrincipalTag/role", "developer"), world.ImplicitDeny},
		{"one key missing", allow(cond), req("aws:PrincipalTag/department", "hr"), world.ImplicitDeny},
		{"StringNotEquals: the value is listed, no deny", deny(negated), req("aws:PrincipalTag/department", "legal"), world.Allowed},
		{"StringNotEquals: the value is listed first, no deny", deny(negated), req("aws:PrincipalTag/department", "finance"), world.Allowed},
		{"StringNotEquals: not listed, deny", deny(negated), req("aws:PrincipalTag/department", "engineering"), world.ExplicitDeny},
		{"StringNotEquals: missing key, deny", deny(negated), req(), world.ExplicitDeny},
		{"two operators are ANDed", allow(`{"StringEquals":{"aws:username":"alice"},"IpAddress":{"aws:SourceIp":"192.0.2.0/24"}}`),
			req("aws:username", "alice", "aws:SourceIp", "198.51.100.1"), world.ImplicitDeny},
		// "AWS: Denies access to AWS based on the source IP" (example
		// identity-based policies): NotIpAddress with two ranges denies only
		// a caller outside both.
		{"NotIpAddress: inside the second range", deny(`{"NotIpAddress":{"aws:SourceIp":["192.0.2.0/24","203.0.113.0/24"]},"Bool":{"aws:ViaAWSService":"false"}}`),
			req("aws:SourceIp", "203.0.113.9", "aws:ViaAWSService", "false"), world.Allowed},
		{"NotIpAddress: outside both", deny(`{"NotIpAddress":{"aws:SourceIp":["192.0.2.0/24","203.0.113.0/24"]},"Bool":{"aws:ViaAWSService":"false"}}`),
			req("aws:SourceIp", "198.51.100.7", "aws:ViaAWSService", "false"), world.ExplicitDeny},
		{"NotIpAddress: outside both, but via an AWS service", deny(`{"NotIpAddress":{"aws:SourceIp":["192.0.2.0/24","203.0.113.0/24"]},"Bool":{"aws:ViaAWSService":"false"}}`),
			req("aws:SourceIp", "198.51.100.7", "aws:ViaAWSService", "true"), world.Allowed},
	})
}

// TestSetOperators follows "Multivalued context keys" (IAM User Guide):
// ForAllValues holds when every request value matches one policy value, and
// also when the key is missing or empty; ForAnyValue holds when at least one
// does, and not when the key is missing.
func TestSetOperators(t *testing.T) {
	allow := func(c string) []string {
		return []string{`{"Statement":{"Effect":"Allow","Action":"ec2:CreateTags","Resource":"*","Condition":` + c + `}}`}
	}
	deny := func(c string) []string {
		return []string{allowAll, `{"Statement":{"Effect":"Deny","Action":"ec2:CreateTags","Resource":"*","Condition":` + c + `}}`}
	}
	keys := func(k ...string) world.Request {
		c := world.Context{}
		if k != nil {
			c.Set("aws:TagKeys", k...)
		}
		return world.Request{Action: "ec2:CreateTags", Context: c}
	}
	all := `{"ForAllValues:StringEquals":{"aws:TagKeys":["environment","cost-center"]}}`
	anyOf := `{"ForAnyValue:StringEquals":{"aws:TagKeys":["environment","cost-center"]}}`
	anyNot := `{"ForAnyValue:StringNotEquals":{"aws:TagKeys":["environment","cost-center"]}}`
	allLike := `{"ForAllValues:StringLike":{"aws:TagKeys":["env*","team-?"]}}`
	runEvalCases(t, []evalCase{
		{"ForAllValues: one allowed key", allow(all), keys("environment"), world.Allowed},
		{"ForAllValues: both allowed keys", allow(all), keys("environment", "cost-center"), world.Allowed},
		{"ForAllValues: an extra key", allow(all), keys("environment", "dept"), world.ImplicitDeny},
		{"ForAllValues: key missing is true", allow(all), keys(), world.Allowed},
		{"ForAllValues: empty value is true", allow(all), keys(""), world.Allowed},
		{"ForAllValues:StringLike", allow(allLike), keys("environment", "team-a"), world.Allowed},
		{"ForAllValues:StringLike one misses", allow(allLike), keys("environment", "team-ab"), world.ImplicitDeny},
		{"ForAnyValue: one of them listed", allow(anyOf), keys("dept", "cost-center"), world.Allowed},
		{"ForAnyValue: none listed", allow(anyOf), keys("dept"), world.ImplicitDeny},
		{"ForAnyValue: key missing is false", allow(anyOf), keys(), world.ImplicitDeny},
		{"ForAnyValue IfExists: key missing is true", allow(`{"ForAnyValue:StringEqualsIfExists":{"aws:TagKeys":["environment"]}}`), keys(), world.Allowed},
		{"deny ForAnyValue:StringNotEquals: an unlisted key", deny(anyNot), keys("environment", "dept"), world.ExplicitDeny},
		{"deny ForAnyValue:StringNotEquals: only listed keys", deny(anyNot), keys("environment", "cost-center"), world.Allowed},
		{"deny ForAnyValue:StringNotEquals: key missing", deny(anyNot), keys(), world.Allowed},
		{"plain StringNotEquals on a multivalued key: none may match", deny(`{"StringNotEquals":{"aws:TagKeys":"environment"}}`),
			keys("environment", "dept"), world.Allowed},
		{"plain StringEquals on a multivalued key: one matches", allow(`{"StringEquals":{"aws:TagKeys":"dept"}}`),
			keys("environment", "dept"), world.Allowed},
	})
}

// TestSeveralResources: a request naming several resources is decided per
// resource ("Policy evaluation logic"; EC2 answers UnauthorizedOperation for
// the whole call when one instance is not allowed).
func TestSeveralResources(t *testing.T) {
	arn := func(id string) string { return "arn:aws:ec2:us-east-1:111122223333:instance/" + id }
	onlyI1 := `{"Statement":{"Effect":"Allow","Action":"ec2:StopInstances","Resource":"arn:aws:ec2:*:*:instance/i-1"}}`
	denyI2 := `{"Statement":{"Effect":"Deny","Action":"ec2:StopInstances","Resource":"arn:aws:ec2:*:*:instance/i-2"}}`
	for _, tc := range []struct {
		name   string
		docs   []string
		ids    []string
		expect world.Decision
		at     string
	}{
		{"allow covers the only resource", []string{onlyI1}, []string{"i-1"}, world.Allowed, ""},
		{"allow must cover each resource", []string{onlyI1}, []string{"i-1", "i-2"}, world.ImplicitDeny, arn("i-2")},
		{"deny on any resource denies", []string{allowAll, denyI2}, []string{"i-1", "i-2", "i-3"}, world.ExplicitDeny, arn("i-2")},
		{"an explicit deny outranks an earlier implicit one", []string{onlyI1, denyI2}, []string{"i-3", "i-2"}, world.ExplicitDeny, arn("i-2")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := world.Request{Action: "ec2:StopInstances"}
			for _, id := range tc.ids {
				req.Resources = append(req.Resources, arn(id))
			}
			d, at := world.Explain(parsePolicies(t, tc.docs), req)
			require.Equal(t, tc.expect, d)
			require.Equal(t, tc.at, at)
		})
	}
}

// TestNotPrincipal follows "IAM JSON policy elements: NotPrincipal": a
// Deny with NotPrincipal spares a caller only when it lists the caller's
// own ARN and its account; for a role session, the assumed-role session
// ARN, not the role's.
func TestNotPrincipal(t *testing.T) {
	const acct = "444455556666"
	bob := []string{"arn:aws:iam::" + acct + ":user/Bob"}
	alice := []string{"arn:aws:iam::" + acct + ":user/Alice"}
	session := []string{"arn:aws:sts::" + acct + ":assumed-role/cross-account-read-only-role/cross-account-audit-app",
		"arn:aws:iam::" + acct + ":role/cross-account-read-only-role"}
	st := func(notPrincipal string) world.Statement {
		p, err := world.ParsePolicy(`{"Statement":{"Effect":"Deny","NotPrincipal":{"AWS":` + notPrincipal + `},"Action":"s3:*","Resource":"*"}}`)
		require.NoError(t, err)
		return p.Statement[0]
	}
	withAccount := st(`["arn:aws:iam::444455556666:user/Bob","arn:aws:iam::444455556666:root"]`)
	require.False(t, withAccount.AppliesToPrincipal(bob, acct), "Bob and his account are listed: the deny spares him")
	require.True(t, withAccount.AppliesToPrincipal(alice, acct), "Alice is not listed")
	require.True(t, withAccount.AppliesToPrincipal([]string{"arn:aws:iam::111122223333:user/Bob"}, "111122223333"), "another account's Bob")
	require.True(t, st(`"arn:aws:iam::444455556666:user/Bob"`).AppliesToPrincipal(bob, acct), "without the account the deny reaches Bob too")
	sessionListed := st(`["arn:aws:sts::444455556666:assumed-role/cross-account-read-only-role/cross-account-audit-app","444455556666"]`)
	require.False(t, sessionListed.AppliesToPrincipal(session, acct))
	roleListed := st(`["arn:aws:iam::444455556666:role/cross-account-read-only-role","arn:aws:iam::444455556666:root"]`)
	require.True(t, roleListed.AppliesToPrincipal(session, acct), "the role's ARN does not spare its sessions")

	// Principal: an account principal covers every identity in it.
	p, err := world.ParsePolicy(`{"Statement":{"Effect":"Allow","Principal":{"AWS":"444455556666"},"Action":"s3:GetObject","Resource":"*"}}`)
	require.NoError(t, err)
	require.True(t, p.Statement[0].AppliesToPrincipal(session, acct))
	require.False(t, p.Statement[0].AppliesToPrincipal([]string{"*"}, ""), "an account principal does not cover anonymous callers")
}

func TestParsePolicyRejectsElementWithItsNegation(t *testing.T) {
	for _, doc := range []string{
		`{"Statement":{"Effect":"Allow","Action":"s3:*","NotAction":"iam:*","Resource":"*"}}`,
		`{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","NotResource":"arn:aws:s3:::x"}}`,
		`{"Statement":{"Effect":"Deny","Principal":"*","NotPrincipal":{"AWS":"1"},"Action":"s3:*"}}`,
	} {
		_, err := world.ParsePolicy(doc)
		require.ErrorContains(t, err, "cannot be used together", doc)
	}
}
