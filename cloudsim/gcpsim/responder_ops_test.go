package gcpsim_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	securitycenter "cloud.google.com/go/securitycenter/apiv2"
	"cloud.google.com/go/securitycenter/apiv2/securitycenterpb"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2/google"
	crmv1 "google.golang.org/api/cloudresourcemanager/v1"
	crm "google.golang.org/api/cloudresourcemanager/v3"
	iamv1 "google.golang.org/api/iam/v1"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
	"google.golang.org/protobuf/proto"

	"github.com/firedrill-ir/firedrill/cloudsim/detect"
	"github.com/firedrill-ir/firedrill/cloudsim/gcpsim"
	"github.com/firedrill-ir/firedrill/cloudsim/gcpsim/gcpsimtest"
	"github.com/firedrill-ir/firedrill/cloudsim/simcloud"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/gcpworld"
)

// lastAudit is the newest audit record of a method.
func lastAudit(e *gcpsimtest.Env, method string) *world.AuditEvent {
	e.World.Lock()
	defer e.World.Unlock()
	for i := len(e.World.Audit) - 1; i >= 0; i-- {
		if e.World.Audit[i].Operation == method {
			return e.World.Audit[i]
		}
	}
	return nil
}

// TestServiceAccountKeyCreate: the key file a key creation answers is one
// the simulator's token endpoint accepts, until the key is disabled; the
// creation is audited with the caller; accounts hold at most 10 keys.
func TestServiceAccountKeyCreate(t *testing.T) {
	e := gcpsimtest.New(t)
	sa := e.ServiceAccount(t, "web-app", "roles/compute.viewer")
	e.Instance(t, gcpworld.InstanceSpec{Name: "web-1"})
	ctx := context.Background()
	svc, err := iamv1.NewService(ctx, e.Options(e.AdminToken)...)
	require.NoError(t, err)
	name := "projects/" + project + "/serviceAccounts/" + sa
	k, err := svc.Projects.ServiceAccounts.Keys.Create(name, &iamv1.CreateServiceAccountKeyRequest{}).Context(ctx).Do()
	require.NoError(t, err)
	require.Equal(t, "TYPE_GOOGLE_CREDENTIALS_FILE", k.PrivateKeyType)
	require.Equal(t, "USER_MANAGED", k.KeyType)
	raw, err := base64.StdEncoding.DecodeString(k.PrivateKeyData)
	require.NoError(t, err)
	var kf gcpsim.KeyFile
	require.NoError(t, json.Unmarshal(raw, &kf))
	require.Equal(t, "service_account", kf.Type)
	require.Equal(t, sa, kf.ClientEmail)
	require.True(t, strings.HasSuffix(k.Name, "/keys/"+kf.PrivateKeyID))
	require.Equal(t, e.URL+"/token", kf.TokenURI)
	require.Contains(t, kf.PrivateKey, "-----BEGIN PRIVATE KEY-----")
	ev := lastAudit(e, "google.iam.admin.v1.CreateServiceAccountKey")
	require.NotNil(t, ev)
	require.Equal(t, gcpsimtest.Admin, ev.PrincipalARN)
	require.Equal(t, name+"/keys/"+kf.PrivateKeyID, ev.Resources[0].Name)

	creds, err := google.CredentialsFromJSON(ctx, raw, "https://www.googleapis.com/auth/cloud-platform")
	require.NoError(t, err)
	ic, err := compute.NewInstancesRESTClient(ctx, option.WithEndpoint(e.URL), option.WithCredentials(creds))
	require.NoError(t, err)
	defer ic.Close()
	_, err = ic.Get(ctx, &computepb.GetInstanceRequest{Project: project, Zone: zone, Instance: "web-1"})
	require.NoError(t, err)
	ev = lastAudit(e, "v1.compute.instances.get")
	require.Equal(t, sa, ev.PrincipalARN)
	require.Equal(t, kf.PrivateKeyID, ev.AccessKeyID, "the call is attributed to the new key")

	_, err = svc.Projects.ServiceAccounts.Keys.Disable(k.Name, &iamv1.DisableServiceAccountKeyRequest{}).Context(ctx).Do()
	require.NoError(t, err)
	fresh, err := google.CredentialsFromJSON(ctx, raw, "https://www.googleapis.com/auth/cloud-platform")
	require.NoError(t, err)
	_, err = fresh.TokenSource.Token()
	require.ErrorContains(t, err, "invalid_grant", "a disabled key is refused at the token endpoint")

	for i := 0; i < 9; i++ {
		_, err = svc.Projects.ServiceAccounts.Keys.Create(name, &iamv1.CreateServiceAccountKeyRequest{}).Context(ctx).Do()
		require.NoError(t, err)
	}
	_, err = svc.Projects.ServiceAccounts.Keys.Create(name, &iamv1.CreateServiceAccountKeyRequest{}).Context(ctx).Do()
	require.Equal(t, 400, googleErr(t, err).Code, "ten user-managed keys is the limit")
	_, err = svc.Projects.ServiceAccounts.Keys.Create(name, &iamv1.CreateServiceAccountKeyRequest{PrivateKeyType: "TYPE_PKCS12_FILE"}).Context(ctx).Do()
	require.Equal(t, 400, googleErr(t, err).Code)

	viewer := e.User(t, "viewer@firedrill.test", "roles/viewer")
	vs, err := iamv1.NewService(ctx, e.Options(viewer)...)
	require.NoError(t, err)
	_, err = vs.Projects.ServiceAccounts.Keys.Create(name, &iamv1.CreateServiceAccountKeyRequest{}).Context(ctx).Do()
	require.Equal(t, 403, googleErr(t, err).Code)
}

// TestProjectIamPolicy: get and set on the v3 and v1 paths, with the etag
// guarding read-modify-write, and the new binding enforced at once.
func TestProjectIamPolicy(t *testing.T) {
	e := gcpsimtest.New(t)
	ctx := context.Background()
	dev := e.User(t, "dev@firedrill.test")
	svc, err := crm.NewService(ctx, e.Options(e.AdminToken)...)
	require.NoError(t, err)
	res := "projects/" + project
	pol, err := svc.Projects.GetIamPolicy(res, &crm.GetIamPolicyRequest{}).Context(ctx).Do()
	require.NoError(t, err)
	require.NotEmpty(t, pol.Etag)
	require.Equal(t, []*crm.Binding{{Role: "roles/owner", Members: []string{"user:" + gcpsimtest.Admin}}}, pol.Bindings)

	// The developer cannot list firewalls yet.
	fcDev, err := compute.NewFirewallsRESTClient(ctx, e.Options(dev)...)
	require.NoError(t, err)
	defer fcDev.Close()
	_, err = fcDev.List(ctx, &computepb.ListFirewallsRequest{Project: project}).Next()
	require.Equal(t, 403, googleErr(t, err).Code)

	stale := pol.Etag
	pol.Bindings = append(pol.Bindings, &crm.Binding{Role: "roles/compute.viewer", Members: []string{"user:dev@firedrill.test"}})
	set, err := svc.Projects.SetIamPolicy(res, &crm.SetIamPolicyRequest{Policy: pol}).Context(ctx).Do()
	require.NoError(t, err)
	require.NotEqual(t, stale, set.Etag, "every change gives the policy a new etag")
	require.Len(t, set.Bindings, 2)
	_, err = fcDev.List(ctx, &computepb.ListFirewallsRequest{Project: project}).Next()
	require.NoError(t, err, "the new binding is enforced")
	ev := lastAudit(e, "SetIamPolicy")
	require.NotNil(t, ev)
	require.Equal(t, "cloudresourcemanager.googleapis.com", ev.Service)
	require.Equal(t, "projects/"+project, ev.Resources[0].Name)

	// A writer that read before that change loses the race.
	pol.Etag = stale
	pol.Bindings = pol.Bindings[:1]
	_, err = svc.Projects.SetIamPolicy(res, &crm.SetIamPolicyRequest{Policy: pol}).Context(ctx).Do()
	require.Equal(t, 409, googleErr(t, err).Code)

	// v1, as gcloud calls it: remove the binding again.
	v1, err := crmv1.NewService(ctx, e.Options(e.AdminToken)...)
	require.NoError(t, err)
	p1, err := v1.Projects.GetIamPolicy(project, &crmv1.GetIamPolicyRequest{}).Context(ctx).Do()
	require.NoError(t, err)
	require.Equal(t, set.Etag, p1.Etag)
	p1.Bindings = slices.DeleteFunc(p1.Bindings, func(b *crmv1.Binding) bool { return b.Role == "roles/compute.viewer" })
	_, err = v1.Projects.SetIamPolicy(project, &crmv1.SetIamPolicyRequest{Policy: p1}).Context(ctx).Do()
	require.NoError(t, err)
	_, err = fcDev.List(ctx, &computepb.ListFirewallsRequest{Project: project}).Next()
	require.Equal(t, 403, googleErr(t, err).Code, "the removed binding no longer grants")

	for _, bad := range []*crmv1.Policy{
		{Bindings: []*crmv1.Binding{{Role: "roles/viewer", Members: []string{"user:dev@firedrill.test"}}}},                   // no owner left
		{Bindings: append(p1.Bindings, &crmv1.Binding{Role: "roles/no.such", Members: []string{"user:dev@firedrill.test"}})}, // unknown role
		{Bindings: append(p1.Bindings, &crmv1.Binding{Role: "roles/viewer", Members: []string{"dev@firedrill.test"}})},       // no member type
	} {
		_, err = v1.Projects.SetIamPolicy(project, &crmv1.SetIamPolicyRequest{Policy: bad}).Context(ctx).Do()
		require.Equal(t, 400, googleErr(t, err).Code)
	}
	devSvc, err := crm.NewService(ctx, e.Options(dev)...)
	require.NoError(t, err)
	_, err = devSvc.Projects.GetIamPolicy(res, &crm.GetIamPolicyRequest{}).Context(ctx).Do()
	require.Equal(t, 403, googleErr(t, err).Code)
}

// TestEnumerationLists: the lists `gcloud compute … list` and a responder's
// first look call, with filters, and a VM's IAM policy and console.
func TestEnumerationLists(t *testing.T) {
	e := gcpsimtest.New(t)
	e.Instance(t, gcpworld.InstanceSpec{Name: "web-1", DataDisksGb: []int{50}})
	e.Instance(t, gcpworld.InstanceSpec{Name: "web-2"})
	ctx := context.Background()
	opts := e.Options(e.AdminToken)

	nc, err := compute.NewNetworksRESTClient(ctx, opts...)
	require.NoError(t, err)
	defer nc.Close()
	nets := collect(t, nc.List(ctx, &computepb.ListNetworksRequest{Project: project}).Next)
	require.Len(t, nets, 1)
	require.Equal(t, "default", nets[0].GetName())
	require.Equal(t, []string{"https://www.googleapis.com/compute/v1/" + gcpsimtest.Subnet}, nets[0].GetSubnetworks())

	sc, err := compute.NewSubnetworksRESTClient(ctx, opts...)
	require.NoError(t, err)
	defer sc.Close()
	agg := collect(t, sc.AggregatedList(ctx, &computepb.AggregatedListSubnetworksRequest{Project: project}).Next)
	require.Len(t, agg, 1)
	require.Equal(t, "regions/"+gcpsimtest.Region, agg[0].Key)
	sub := agg[0].Value.GetSubnetworks()[0]
	require.Equal(t, "10.128.0.0/20", sub.GetIpCidrRange())
	require.Equal(t, "10.128.0.1", sub.GetGatewayAddress())
	require.Len(t, collect(t, sc.List(ctx, &computepb.ListSubnetworksRequest{Project: project, Region: gcpsimtest.Region}).Next), 1)

	dc, err := compute.NewDisksRESTClient(ctx, opts...)
	require.NoError(t, err)
	defer dc.Close()
	disks := collect(t, dc.List(ctx, &computepb.ListDisksRequest{Project: project, Zone: zone}).Next)
	var names []string
	for _, d := range disks {
		names = append(names, d.GetName())
	}
	require.Equal(t, []string{"web-1", "web-1-data-1", "web-2"}, names)
	one := collect(t, dc.List(ctx, &computepb.ListDisksRequest{Project: project, Zone: zone, Filter: proto.String(`name = "web-1-data-1"`)}).Next)
	require.Len(t, one, 1)
	require.Equal(t, int64(50), one[0].GetSizeGb())
	page, err := dc.List(ctx, &computepb.ListDisksRequest{Project: project, Zone: zone, MaxResults: proto.Uint32(2)}).Next()
	require.NoError(t, err)
	require.Equal(t, "web-1", page.GetName())
	require.Len(t, collect(t, dc.AggregatedList(ctx, &computepb.AggregatedListDisksRequest{Project: project}).Next), 1)

	snc, err := compute.NewSnapshotsRESTClient(ctx, opts...)
	require.NoError(t, err)
	defer snc.Close()
	require.Empty(t, collect(t, snc.List(ctx, &computepb.ListSnapshotsRequest{Project: project}).Next))
	op, err := dc.CreateSnapshot(ctx, &computepb.CreateSnapshotDiskRequest{Project: project, Zone: zone, Disk: "web-1-data-1",
		SnapshotResource: &computepb.Snapshot{Name: proto.String("ir-web-1"), Labels: map[string]string{"case": "ir-7"}}})
	require.NoError(t, err)
	require.NoError(t, op.Wait(ctx))
	snaps := collect(t, snc.List(ctx, &computepb.ListSnapshotsRequest{Project: project, Filter: proto.String(`labels.case = "ir-7"`)}).Next)
	require.Len(t, snaps, 1)
	require.Equal(t, "CREATING", snaps[0].GetStatus())

	ic := instancesClient(t, e, e.AdminToken)
	pol, err := ic.GetIamPolicy(ctx, &computepb.GetIamPolicyInstanceRequest{Project: project, Zone: zone, Resource: "web-1"})
	require.NoError(t, err)
	require.Equal(t, "ACAB", pol.GetEtag())
	require.Empty(t, pol.GetBindings())

	out, err := ic.GetSerialPortOutput(ctx, &computepb.GetSerialPortOutputInstanceRequest{Project: project, Zone: zone, Instance: "web-1"})
	require.NoError(t, err)
	require.Contains(t, out.GetContents(), "web-1 google_guest_agent")
	require.Equal(t, int64(len(out.GetContents())), out.GetNext())
	stop, err := ic.Stop(ctx, &computepb.StopInstanceRequest{Project: project, Zone: zone, Instance: "web-1"})
	require.NoError(t, err)
	e.Clock.Advance(time.Minute)
	require.NoError(t, stop.Wait(ctx))
	more, err := ic.GetSerialPortOutput(ctx, &computepb.GetSerialPortOutputInstanceRequest{Project: project, Zone: zone, Instance: "web-1", Start: proto.Int64(out.GetNext())})
	require.NoError(t, err)
	require.Contains(t, more.GetContents(), "reboot: Power down", "the console shows the shutdown")
	require.NotContains(t, more.GetContents(), "SeaBIOS", "start skips what was read")

	nobody := e.User(t, "nobody@firedrill.test")
	ncNobody, err := compute.NewNetworksRESTClient(ctx, e.Options(nobody)...)
	require.NoError(t, err)
	defer ncNobody.Close()
	_, err = ncNobody.List(ctx, &computepb.ListNetworksRequest{Project: project}).Next()
	require.Equal(t, 403, googleErr(t, err).Code)
	icNobody := instancesClient(t, e, nobody)
	_, err = icNobody.GetSerialPortOutput(ctx, &computepb.GetSerialPortOutputInstanceRequest{Project: project, Zone: zone, Instance: "web-1"})
	require.Equal(t, 403, googleErr(t, err).Code)
	require.NotNil(t, lastAudit(e, "v1.compute.instances.getSerialPortOutput"))
}

// mining turns Security Command Center on and starts a VM that mines
// through a public pool: SCC raises a finding about 15 minutes later.
func mining(t *testing.T, e *gcpsimtest.Env, name string) *gcpworld.Instance {
	t.Helper()
	e.World.AddObserver(detect.NewSCC(detect.SCCConfig{}))
	inst := e.Instance(t, gcpworld.InstanceSpec{Name: name, ExternalIP: true,
		Processes: []world.Process{{PID: 4242, User: "root", Command: "/tmp/.x/xmrig -o pool.minexmr.com:3333", CPU: 390}}})
	_, err := openPoolFlow(t, e, inst.Key)
	require.NoError(t, err)
	return inst
}

func collect[T any](t *testing.T, next func() (T, error)) []T {
	t.Helper()
	var out []T
	for {
		v, err := next()
		if err == iterator.Done {
			return out
		}
		require.NoError(t, err)
		out = append(out, v)
	}
}

// TestSCCSetStateAndMute: a responder closes and mutes a finding; lists
// and filters see it, and a setter without the permission is refused.
func TestSCCSetStateAndMute(t *testing.T) {
	e := gcpsimtest.New(t)
	mining(t, e, "miner-1")
	e.Clock.Advance(16 * time.Minute)
	ctx := context.Background()
	sc, err := securitycenter.NewRESTClient(ctx, e.Options(e.AdminToken)...)
	require.NoError(t, err)
	defer sc.Close()
	list := func(filter string) []*securitycenterpb.ListFindingsResponse_ListFindingsResult {
		return collect(t, sc.ListFindings(ctx, &securitycenterpb.ListFindingsRequest{Parent: "projects/" + project + "/sources/-", Filter: filter}).Next)
	}
	active := list(`state="ACTIVE"`)
	require.Len(t, active, 1)
	name := active[0].GetFinding().GetName()
	require.Equal(t, securitycenterpb.Finding_UNDEFINED, active[0].GetFinding().GetMute())

	f, err := sc.SetMute(ctx, &securitycenterpb.SetMuteRequest{Name: name, Mute: securitycenterpb.Finding_MUTED})
	require.NoError(t, err)
	require.Equal(t, securitycenterpb.Finding_MUTED, f.GetMute())
	require.Len(t, list(`mute="MUTED"`), 1)
	f, err = sc.SetFindingState(ctx, &securitycenterpb.SetFindingStateRequest{Name: name, State: securitycenterpb.Finding_INACTIVE})
	require.NoError(t, err)
	require.Equal(t, securitycenterpb.Finding_INACTIVE, f.GetState())
	require.Empty(t, list(`state="ACTIVE"`))
	require.Len(t, list(`state="INACTIVE"`), 1)
	require.NotNil(t, lastAudit(e, "google.cloud.securitycenter.v2.SecurityCenter.SetFindingState"))

	_, err = sc.SetFindingState(ctx, &securitycenterpb.SetFindingStateRequest{Name: name + "x", State: securitycenterpb.Finding_ACTIVE})
	require.Equal(t, 404, googleErr(t, err).Code)
	viewer := e.User(t, "analyst@firedrill.test", "roles/securitycenter.findingsViewer")
	vc, err := securitycenter.NewRESTClient(ctx, e.Options(viewer)...)
	require.NoError(t, err)
	defer vc.Close()
	_, err = vc.SetFindingState(ctx, &securitycenterpb.SetFindingStateRequest{Name: name, State: securitycenterpb.Finding_ACTIVE})
	require.Equal(t, 403, googleErr(t, err).Code)
	setter := e.User(t, "tier1@firedrill.test", "roles/securitycenter.findingsStateSetter")
	tc, err := securitycenter.NewRESTClient(ctx, e.Options(setter)...)
	require.NoError(t, err)
	defer tc.Close()
	_, err = tc.SetFindingState(ctx, &securitycenterpb.SetFindingStateRequest{Name: name, State: securitycenterpb.Finding_ACTIVE})
	require.NoError(t, err)
	require.Len(t, list(`state="ACTIVE"`), 1)
}

// TestUnservedRouteNamesTheMethod: a method the simulator does not serve
// answers Google's 404 envelope naming it, through the SDK and on the wire.
func TestUnservedRouteNamesTheMethod(t *testing.T) {
	e := gcpsimtest.New(t)
	e.Instance(t, gcpworld.InstanceSpec{Name: "web-1"})
	ctx := context.Background()
	ic := instancesClient(t, e, e.AdminToken)
	_, err := ic.SetMetadata(ctx, &computepb.SetMetadataInstanceRequest{Project: project, Zone: zone, Instance: "web-1",
		MetadataResource: &computepb.Metadata{}})
	ge := googleErr(t, err)
	require.Equal(t, 404, ge.Code)
	require.Contains(t, ge.Message, "compute.instances.setMetadata")

	req, err := http.NewRequest("DELETE", e.URL+"/v1/projects/"+project+"/serviceAccounts/x@y/keys/k", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+e.AdminToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var env struct {
		Error struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
			Status  string `json:"status"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal(body, &env), string(body))
	require.Equal(t, 404, env.Error.Code)
	require.Equal(t, "NOT_FOUND", env.Error.Status)
	require.Contains(t, env.Error.Message, "iam.keys.delete")
}

// TestOperationsListTheRouteTable: the driver lists every served method,
// sorted, once.
func TestOperationsListTheRouteTable(t *testing.T) {
	d, ok := simcloud.Get(gcpsim.CloudGCP)
	require.True(t, ok)
	require.NotNil(t, d.Operations)
	ops := d.Operations()
	require.True(t, slices.IsSortedFunc(ops, func(a, b simcloud.Operation) int {
		return strings.Compare(a.Service+" "+a.Name, b.Service+" "+b.Name)
	}))
	require.Equal(t, len(ops), len(slices.Compact(slices.Clone(ops))), "no duplicates")
	for _, want := range []simcloud.Operation{
		{Service: "compute", Name: "instances.list"}, {Service: "compute", Name: "networks.list"},
		{Service: "compute", Name: "subnetworks.aggregatedList"}, {Service: "compute", Name: "disks.list"},
		{Service: "compute", Name: "snapshots.list"}, {Service: "compute", Name: "instances.getIamPolicy"},
		{Service: "compute", Name: "instances.getSerialPortOutput"},
		{Service: "iam", Name: "serviceAccounts.keys.create"},
		{Service: "cloudresourcemanager", Name: "projects.getIamPolicy"}, {Service: "cloudresourcemanager", Name: "projects.setIamPolicy"},
		{Service: "securitycenter", Name: "findings.setState"}, {Service: "securitycenter", Name: "findings.setMute"},
		{Service: "securitycenter", Name: "findings.list"}, {Service: "logging", Name: "entries.list"},
	} {
		require.Contains(t, ops, want)
	}
}

// TestOperationWaitAnswersAtOnce: operations.wait (what gcloud polls)
// answers the operation's state without blocking; a stop is DONE once the
// guest has shut down.
func TestOperationWaitAnswersAtOnce(t *testing.T) {
	e := gcpsimtest.New(t)
	e.Instance(t, gcpworld.InstanceSpec{Name: "web-1"})
	ctx := context.Background()
	ic := instancesClient(t, e, e.AdminToken)
	op, err := ic.Stop(ctx, &computepb.StopInstanceRequest{Project: project, Zone: zone, Instance: "web-1"})
	require.NoError(t, err)
	zc, err := compute.NewZoneOperationsRESTClient(ctx, e.Options(e.AdminToken)...)
	require.NoError(t, err)
	defer zc.Close()
	got, err := zc.Wait(ctx, &computepb.WaitZoneOperationRequest{Project: project, Zone: zone, Operation: op.Name()})
	require.NoError(t, err)
	require.Equal(t, computepb.Operation_RUNNING, got.GetStatus())
	e.Clock.Advance(time.Minute)
	got, err = zc.Wait(ctx, &computepb.WaitZoneOperationRequest{Project: project, Zone: zone, Operation: op.Name()})
	require.NoError(t, err)
	require.Equal(t, computepb.Operation_DONE, got.GetStatus())
	_, err = zc.Wait(ctx, &computepb.WaitZoneOperationRequest{Project: project, Zone: zone, Operation: "operation-nope"})
	require.Equal(t, 404, googleErr(t, err).Code)
}
