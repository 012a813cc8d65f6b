package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"strings"
	"testing"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/stretchr/testify/require"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
)

// TestSimServeAllCloudsWithStandardClients starts the three simulators and
// talks to each with its cloud's own SDK, configured only from the printed
// environment, as a user's tooling would be.
func TestSimServeAllCloudsWithStandardClients(t *testing.T) {
	vars, _ := startSimCloud(t, "all", 5)
	ctx := context.Background()

	// Azure: Entra ID client-secret credential and ARM over TLS, trusting
	// the printed CA.
	ca, err := os.ReadFile(vars["FIREDRILL_AZURE_CA"])
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(ca))
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	endpoint := vars["FIREDRILL_AZURE_ENDPOINT"]
	co := policy.ClientOptions{Transport: hc, Cloud: cloud.Configuration{
		ActiveDirectoryAuthorityHost: vars["AZURE_AUTHORITY_HOST"],
		Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
			cloud.ResourceManager: {Endpoint: endpoint, Audience: "https://management.core.windows.net/"},
		}}}
	cred, err := azidentity.NewClientSecretCredential(vars["AZURE_TENANT_ID"], vars["AZURE_CLIENT_ID"], vars["AZURE_CLIENT_SECRET"],
		&azidentity.ClientSecretCredentialOptions{ClientOptions: co, DisableInstanceDiscovery: true})
	require.NoError(t, err)
	ra, err := armauthorization.NewRoleAssignmentsClient(vars["AZURE_SUBSCRIPTION_ID"], azcore.TokenCredential(cred),
		&arm.ClientOptions{ClientOptions: co, DisableRPRegistration: true})
	require.NoError(t, err)
	pager := ra.NewListForScopePager("/subscriptions/"+vars["AZURE_SUBSCRIPTION_ID"], nil)
	assignments := 0
	for pager.More() {
		page, err := pager.NextPage(ctx)
		require.NoError(t, err)
		assignments += len(page.Value)
	}
	require.GreaterOrEqual(t, assignments, 3, "the scale set's managed identities hold role assignments")

	// GCP: Application Default Credentials from the printed key file; only
	// the endpoint is overridden.
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", vars["GOOGLE_APPLICATION_CREDENTIALS"])
	ic, err := compute.NewInstancesRESTClient(ctx, option.WithEndpoint(vars["FIREDRILL_GCP_ENDPOINT"]))
	require.NoError(t, err)
	defer ic.Close()
	it := ic.AggregatedList(ctx, &computepb.AggregatedListInstancesRequest{Project: vars["GOOGLE_CLOUD_PROJECT"]})
	var names []string
	for {
		pair, err := it.Next()
		if err == iterator.Done {
			break
		}
		require.NoError(t, err)
		for _, inst := range pair.Value.Instances {
			names = append(names, inst.GetName())
		}
	}
	require.GreaterOrEqual(t, len(names), 4, "three MIG members and the batch VM: %s", strings.Join(names, ", "))

	// AWS still answers on the first port.
	require.True(t, strings.HasPrefix(vars["AWS_ENDPOINT_URL"], "http://127.0.0.1:"))
}
