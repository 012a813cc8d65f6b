package awssim_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/cloudsim/awssim"
	"github.com/firedrill-ir/firedrill/cloudsim/awssim/awssimtest"
	"github.com/firedrill-ir/firedrill/cloudsim/simcloud"
)

// TestDriverOperationsListsWhatIsServed: the AWS driver's operation list
// is the services' dispatch tables, sorted, and nothing else.
func TestDriverOperationsListsWhatIsServed(t *testing.T) {
	d, ok := simcloud.Get(awssim.CloudAWS)
	require.True(t, ok)
	require.NotNil(t, d.Operations)
	ops := d.Operations()
	require.True(t, slices.IsSortedFunc(ops, func(a, b simcloud.Operation) int {
		if c := strings.Compare(a.Service, b.Service); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	}), "sorted by service, then name")
	srv := awssimtest.New(t).Server
	var want []simcloud.Operation
	for _, svc := range srv.Services() {
		for _, op := range srv.Operations(svc) {
			want = append(want, simcloud.Operation{Service: svc, Name: op})
		}
	}
	require.Equal(t, want, ops)
	for _, op := range []string{"ec2 DescribeVpcs", "s3 CompleteMultipartUpload", "iam GetAccountAuthorizationDetails",
		"sts GetSessionToken", "cloudtrail StopLogging", "guardduty CreateSampleFindings"} {
		svc, name, _ := strings.Cut(op, " ")
		op := simcloud.Operation{Service: svc, Name: name}
		require.Contains(t, ops, op)
	}
}

// TestCLIUnservedOperationsNameThemselves: an operation the simulator does
// not serve answers each protocol's unknown-operation error, naming it.
func TestCLIUnservedOperationsNameThemselves(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t)
	for _, tc := range []struct {
		args       []string
		code, name string
	}{
		{[]string{"ec2", "describe-vpc-endpoints"}, "InvalidAction", `"DescribeVpcEndpoints" of ec2`},
		{[]string{"iam", "list-saml-providers"}, "InvalidAction", `"ListSAMLProviders" of iam`},
		{[]string{"cloudtrail", "list-trails"}, "UnknownOperationException", `"ListTrails" of cloudtrail`},
		{[]string{"guardduty", "list-filters", "--detector-id", "abc"}, "UnknownOperationException", `"GET /detector/abc/filter" of guardduty`},
	} {
		out := e.fail(tc.args...)
		require.Contains(t, out, tc.code, "aws %v", tc.args)
		require.Contains(t, out, tc.name, "aws %v", tc.args)
	}
}
