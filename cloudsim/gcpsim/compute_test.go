package gcpsim_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	"github.com/googleapis/gax-go/v2/apierror"
	"github.com/stretchr/testify/require"
	"google.golang.org/api/googleapi"
	"google.golang.org/protobuf/proto"

	"github.com/firedrill-ir/firedrill/cloudsim/fault"
	"github.com/firedrill-ir/firedrill/cloudsim/gcpsim"
	"github.com/firedrill-ir/firedrill/cloudsim/gcpsim/gcpsimtest"
	"github.com/firedrill-ir/firedrill/cloudsim/world/gcpworld"
)

const (
	project = gcpsimtest.Project
	zone    = gcpsimtest.Zone
)

func instancesClient(t *testing.T, e *gcpsimtest.Env, token string) *compute.InstancesClient {
	t.Helper()
	c, err := compute.NewInstancesRESTClient(context.Background(), e.Options(token)...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func googleErr(t *testing.T, err error) *googleapi.Error {
	t.Helper()
	require.Error(t, err)
	var ge *googleapi.Error
	require.True(t, errors.As(err, &ge), "want *googleapi.Error, got %T: %v", err, err)
	return ge
}

func TestInstanceGetWireShape(t *testing.T) {
	e := gcpsimtest.New(t)
	sa := e.ServiceAccount(t, "web-app")
	inst := e.Instance(t, gcpworld.InstanceSpec{Name: "web-1", ServiceAccount: sa, ExternalIP: true, Tags: []string{"web"},
		Labels: map[string]string{"app": "web"}, DataDisksGb: []int{50}})
	ic := instancesClient(t, e, e.AdminToken)
	got, err := ic.Get(context.Background(), &computepb.GetInstanceRequest{Project: project, Zone: zone, Instance: "web-1"})
	require.NoError(t, err)
	require.Equal(t, inst.ID, got.GetId())
	require.Equal(t, "RUNNING", got.GetStatus())
	require.Equal(t, "https://www.googleapis.com/compute/v1/projects/firedrill-test/zones/us-central1-a/instances/web-1", got.GetSelfLink())
	require.Equal(t, "https://www.googleapis.com/compute/v1/projects/firedrill-test/zones/us-central1-a", got.GetZone())
	require.Equal(t, []string{"web"}, got.GetTags().GetItems())
	require.NotEmpty(t, got.GetTags().GetFingerprint())
	require.Equal(t, sa, got.GetServiceAccounts()[0].GetEmail())
	require.Len(t, got.GetDisks(), 2)
	require.True(t, got.GetDisks()[0].GetBoot())
	require.True(t, got.GetDisks()[0].GetAutoDelete(), "GCE boot disks auto-delete by default")
	require.Equal(t, "ONE_TO_ONE_NAT", got.GetNetworkInterfaces()[0].GetAccessConfigs()[0].GetType())

	// The raw JSON carries the 64-bit id as a string (proto3 JSON).
	req, _ := http.NewRequest("GET", e.URL+"/compute/v1/projects/firedrill-test/zones/us-central1-a/instances/web-1", nil)
	req.Header.Set("Authorization", "Bearer "+e.AdminToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var raw map[string]any
	require.NoError(t, jsonDecode(resp, &raw))
	require.IsType(t, "", raw["id"])
	require.NotEmpty(t, resp.Header.Get("X-Firedrill-Latency"))

	_, err = ic.Get(context.Background(), &computepb.GetInstanceRequest{Project: project, Zone: zone, Instance: "nope"})
	ge := googleErr(t, err)
	require.Equal(t, 404, ge.Code)
	require.Equal(t, "notFound", ge.Errors[0].Reason)
	var ae *apierror.APIError
	require.True(t, errors.As(err, &ae))
	require.Equal(t, 404, ae.HTTPCode())
}

func TestSetTagsAndLabelsEnforceFingerprints(t *testing.T) {
	e := gcpsimtest.New(t)
	e.Instance(t, gcpworld.InstanceSpec{Name: "web-1", Tags: []string{"web"}})
	ic := instancesClient(t, e, e.AdminToken)
	ctx := context.Background()
	got, err := ic.Get(ctx, &computepb.GetInstanceRequest{Project: project, Zone: zone, Instance: "web-1"})
	require.NoError(t, err)
	fp := got.GetTags().GetFingerprint()

	op, err := ic.SetTags(ctx, &computepb.SetTagsInstanceRequest{Project: project, Zone: zone, Instance: "web-1",
		TagsResource: &computepb.Tags{Items: []string{"web", "quarantine"}, Fingerprint: proto.String(fp)}})
	require.NoError(t, err)
	require.False(t, op.Done(), "a mutation answers a RUNNING operation")
	require.NoError(t, op.Wait(ctx), "the first poll is DONE, so Wait never sleeps")
	require.True(t, op.Done())

	// Re-using the old fingerprint is a lost update: 412 conditionNotMet.
	_, err = ic.SetTags(ctx, &computepb.SetTagsInstanceRequest{Project: project, Zone: zone, Instance: "web-1",
		TagsResource: &computepb.Tags{Items: []string{"web"}, Fingerprint: proto.String(fp)}})
	ge := googleErr(t, err)
	require.Equal(t, 412, ge.Code)
	require.Equal(t, "conditionNotMet", ge.Errors[0].Reason)

	got, err = ic.Get(ctx, &computepb.GetInstanceRequest{Project: project, Zone: zone, Instance: "web-1"})
	require.NoError(t, err)
	require.Equal(t, []string{"quarantine", "web"}, got.GetTags().GetItems())

	_, err = ic.SetLabels(ctx, &computepb.SetLabelsInstanceRequest{Project: project, Zone: zone, Instance: "web-1",
		InstancesSetLabelsRequestResource: &computepb.InstancesSetLabelsRequest{LabelFingerprint: proto.String("stale="),
			Labels: map[string]string{"case": "ir-1"}}})
	require.Equal(t, 412, googleErr(t, err).Code)
	op, err = ic.SetLabels(ctx, &computepb.SetLabelsInstanceRequest{Project: project, Zone: zone, Instance: "web-1",
		InstancesSetLabelsRequestResource: &computepb.InstancesSetLabelsRequest{LabelFingerprint: proto.String(got.GetLabelFingerprint()),
			Labels: map[string]string{"case": "ir-1"}}})
	require.NoError(t, err)
	require.NoError(t, op.Wait(ctx))
	_, err = ic.SetLabels(ctx, &computepb.SetLabelsInstanceRequest{Project: project, Zone: zone, Instance: "web-1",
		InstancesSetLabelsRequestResource: &computepb.InstancesSetLabelsRequest{LabelFingerprint: proto.String("x"),
			Labels: map[string]string{"Case": "IR 1"}}})
	require.Error(t, err)
}

func TestSetServiceAccountRequiresStoppedInstance(t *testing.T) {
	e := gcpsimtest.New(t)
	sa := e.ServiceAccount(t, "web-app")
	e.Instance(t, gcpworld.InstanceSpec{Name: "web-1", ServiceAccount: sa})
	ic := instancesClient(t, e, e.AdminToken)
	ctx := context.Background()
	req := &computepb.SetServiceAccountInstanceRequest{Project: project, Zone: zone, Instance: "web-1",
		InstancesSetServiceAccountRequestResource: &computepb.InstancesSetServiceAccountRequest{Email: proto.String("")}}
	_, err := ic.SetServiceAccount(ctx, req)
	ge := googleErr(t, err)
	require.Equal(t, 400, ge.Code)
	require.Equal(t, "resourceNotReady", ge.Errors[0].Reason)

	op, err := ic.Stop(ctx, &computepb.StopInstanceRequest{Project: project, Zone: zone, Instance: "web-1"})
	require.NoError(t, err)
	got, err := ic.Get(ctx, &computepb.GetInstanceRequest{Project: project, Zone: zone, Instance: "web-1"})
	require.NoError(t, err)
	require.Equal(t, "STOPPING", got.GetStatus())
	_, err = ic.SetServiceAccount(ctx, req)
	require.Equal(t, 400, googleErr(t, err).Code, "still STOPPING")

	// The stop operation completes when the guest has shut down.
	require.NoError(t, op.Poll(ctx))
	require.False(t, op.Done())
	e.Clock.Advance(time.Minute)
	require.NoError(t, op.Wait(ctx))
	got, err = ic.Get(ctx, &computepb.GetInstanceRequest{Project: project, Zone: zone, Instance: "web-1"})
	require.NoError(t, err)
	require.Equal(t, "TERMINATED", got.GetStatus())

	op, err = ic.SetServiceAccount(ctx, req)
	require.NoError(t, err)
	require.NoError(t, op.Wait(ctx))
	got, err = ic.Get(ctx, &computepb.GetInstanceRequest{Project: project, Zone: zone, Instance: "web-1"})
	require.NoError(t, err)
	require.Empty(t, got.GetServiceAccounts())

	op, err = ic.Start(ctx, &computepb.StartInstanceRequest{Project: project, Zone: zone, Instance: "web-1"})
	require.NoError(t, err)
	e.Clock.Advance(time.Minute)
	require.NoError(t, op.Wait(ctx))
}

func TestThrottleIsNotRetriedBySDK(t *testing.T) {
	faults := &fault.Set{}
	require.NoError(t, faults.Add(fault.Rule{Cloud: "gcp", Operation: "instances.get", Kind: fault.Throttle, Times: 1}))
	e := gcpsimtest.New(t, gcpsim.WithFaults(faults))
	e.Instance(t, gcpworld.InstanceSpec{Name: "web-1"})
	ic := instancesClient(t, e, e.AdminToken)
	_, err := ic.Get(context.Background(), &computepb.GetInstanceRequest{Project: project, Zone: zone, Instance: "web-1"})
	ge := googleErr(t, err)
	require.Equal(t, 429, ge.Code)
	require.Equal(t, "rateLimitExceeded", ge.Errors[0].Reason)
	_, err = ic.Get(context.Background(), &computepb.GetInstanceRequest{Project: project, Zone: zone, Instance: "web-1"})
	require.NoError(t, err, "the rule fired once")
}
