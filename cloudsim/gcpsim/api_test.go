package gcpsim_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	logging "cloud.google.com/go/logging/apiv2"
	"cloud.google.com/go/logging/apiv2/loggingpb"
	securitycenter "cloud.google.com/go/securitycenter/apiv2"
	"cloud.google.com/go/securitycenter/apiv2/securitycenterpb"
	"github.com/googleapis/gax-go/v2/apierror"
	"github.com/stretchr/testify/require"
	iamv1 "google.golang.org/api/iam/v1"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
	"google.golang.org/genproto/googleapis/cloud/audit"
	"google.golang.org/protobuf/proto"

	"github.com/firedrill-ir/firedrill/cloudsim/detect"
	"github.com/firedrill-ir/firedrill/cloudsim/gcpsim"
	"github.com/firedrill-ir/firedrill/cloudsim/gcpsim/gcpsimtest"
	"github.com/firedrill-ir/firedrill/cloudsim/world/gcpworld"
)

func TestDisksSnapshotsAndNetworks(t *testing.T) {
	e := gcpsimtest.New(t)
	e.Instance(t, gcpworld.InstanceSpec{Name: "web-1", DataDisksGb: []int{100}})
	ctx := context.Background()
	dc, err := compute.NewDisksRESTClient(ctx, e.Options(e.AdminToken)...)
	require.NoError(t, err)
	defer dc.Close()
	sc, err := compute.NewSnapshotsRESTClient(ctx, e.Options(e.AdminToken)...)
	require.NoError(t, err)
	defer sc.Close()
	d, err := dc.Get(ctx, &computepb.GetDiskRequest{Project: project, Zone: zone, Disk: "web-1-data-1"})
	require.NoError(t, err)
	require.Equal(t, int64(100), d.GetSizeGb())
	require.Equal(t, []string{"https://www.googleapis.com/compute/v1/projects/firedrill-test/zones/us-central1-a/instances/web-1"}, d.GetUsers())

	op, err := dc.CreateSnapshot(ctx, &computepb.CreateSnapshotDiskRequest{Project: project, Zone: zone, Disk: "web-1-data-1",
		SnapshotResource: &computepb.Snapshot{Name: proto.String("ir-1-data"), Labels: map[string]string{"case": "ir-1"}}})
	require.NoError(t, err)
	require.NoError(t, op.Wait(ctx))
	s, err := sc.Get(ctx, &computepb.GetSnapshotRequest{Project: project, Snapshot: "ir-1-data"})
	require.NoError(t, err)
	require.Equal(t, "CREATING", s.GetStatus(), "a snapshot takes minutes to become READY")
	require.Equal(t, d.GetId(), mustUint(t, s.GetSourceDiskId()))
	e.Clock.Advance(2 * time.Minute)
	s, err = sc.Get(ctx, &computepb.GetSnapshotRequest{Project: project, Snapshot: "ir-1-data"})
	require.NoError(t, err)
	require.Equal(t, "UPLOADING", s.GetStatus())
	e.Clock.Advance(20 * time.Minute)
	s, err = sc.Get(ctx, &computepb.GetSnapshotRequest{Project: project, Snapshot: "ir-1-data"})
	require.NoError(t, err)
	require.Equal(t, "READY", s.GetStatus())

	// snapshots.insert is a global operation.
	op, err = sc.Insert(ctx, &computepb.InsertSnapshotRequest{Project: project, SnapshotResource: &computepb.Snapshot{
		Name: proto.String("ir-1-boot"), SourceDisk: proto.String("projects/firedrill-test/zones/us-central1-a/disks/web-1")}})
	require.NoError(t, err)
	require.NoError(t, op.Wait(ctx))
	_, err = dc.CreateSnapshot(ctx, &computepb.CreateSnapshotDiskRequest{Project: project, Zone: zone, Disk: "web-1",
		SnapshotResource: &computepb.Snapshot{Name: proto.String("ir-1-boot")}})
	require.Equal(t, 409, googleErr(t, err).Code)

	nc, err := compute.NewNetworksRESTClient(ctx, e.Options(e.AdminToken)...)
	require.NoError(t, err)
	defer nc.Close()
	n, err := nc.Get(ctx, &computepb.GetNetworkRequest{Project: project, Network: "default"})
	require.NoError(t, err)
	require.Len(t, n.GetSubnetworks(), 1)

	ic := instancesClient(t, e, e.AdminToken)
	it := ic.AggregatedList(ctx, &computepb.AggregatedListInstancesRequest{Project: project})
	zones := 0
	for {
		pair, err := it.Next()
		if err == iterator.Done {
			break
		}
		require.NoError(t, err)
		zones++
		require.Equal(t, "zones/"+zone, pair.Key)
		require.Len(t, pair.Value.GetInstances(), 1)
	}
	require.Equal(t, 1, zones)
}

func mustUint(t *testing.T, s string) uint64 {
	t.Helper()
	var n uint64
	for _, c := range s {
		n = n*10 + uint64(c-'0')
	}
	return n
}

func TestFirewallInsertListFilterAndGet(t *testing.T) {
	e := gcpsimtest.New(t)
	ctx := context.Background()
	fc, err := compute.NewFirewallsRESTClient(ctx, e.Options(e.AdminToken)...)
	require.NoError(t, err)
	defer fc.Close()
	op, err := fc.Insert(ctx, &computepb.InsertFirewallRequest{Project: project, FirewallResource: &computepb.Firewall{
		Name: proto.String("deny-q"), Network: proto.String("global/networks/default"), Priority: proto.Int32(0),
		Direction: proto.String("EGRESS"), DestinationRanges: []string{"0.0.0.0/0"}, TargetTags: []string{"quarantine"},
		Denied: []*computepb.Denied{{IPProtocol: proto.String("all")}}}})
	require.NoError(t, err)
	require.NoError(t, op.Wait(ctx))
	_, err = fc.Insert(ctx, &computepb.InsertFirewallRequest{Project: project, FirewallResource: &computepb.Firewall{
		Name: proto.String("deny-q"), Network: proto.String("global/networks/default"), Denied: []*computepb.Denied{{IPProtocol: proto.String("all")}}}})
	require.Equal(t, 409, googleErr(t, err).Code)
	_, err = fc.Insert(ctx, &computepb.InsertFirewallRequest{Project: project, FirewallResource: &computepb.Firewall{
		Name: proto.String("bad"), Network: proto.String("global/networks/default")}})
	require.Equal(t, 400, googleErr(t, err).Code, "a rule needs allowed or denied")

	it := fc.List(ctx, &computepb.ListFirewallsRequest{Project: project, Filter: proto.String(`direction = "EGRESS"`)})
	var names []string
	for {
		fw, err := it.Next()
		if err == iterator.Done {
			break
		}
		require.NoError(t, err)
		names = append(names, fw.GetName())
	}
	require.Equal(t, []string{"deny-q"}, names)
	fw, err := fc.Get(ctx, &computepb.GetFirewallRequest{Project: project, Firewall: "deny-q"})
	require.NoError(t, err)
	require.Equal(t, int32(0), fw.GetPriority())
	require.Equal(t, "all", fw.GetDenied()[0].GetIPProtocol())
	require.Equal(t, "https://www.googleapis.com/compute/v1/projects/firedrill-test/global/networks/default", fw.GetNetwork())
}

func TestRegionalMIGAbandon(t *testing.T) {
	e := gcpsimtest.New(t)
	e.World.Lock()
	m, err := gcpworld.Of(e.World).AddMIG(project, "", gcpsimtest.Region, "batch", 2, gcpworld.InstanceSpec{Subnet: gcpsimtest.Subnet})
	require.NoError(t, err)
	member := m.Members[0]
	e.World.Unlock()
	ctx := context.Background()
	rc, err := compute.NewRegionInstanceGroupManagersRESTClient(ctx, e.Options(e.AdminToken)...)
	require.NoError(t, err)
	defer rc.Close()
	it := rc.ListManagedInstances(ctx, &computepb.ListManagedInstancesRegionInstanceGroupManagersRequest{Project: project, Region: gcpsimtest.Region, InstanceGroupManager: "batch"})
	n := 0
	for {
		_, err := it.Next()
		if err == iterator.Done {
			break
		}
		require.NoError(t, err)
		n++
	}
	require.Equal(t, 2, n)
	op, err := rc.AbandonInstances(ctx, &computepb.AbandonInstancesRegionInstanceGroupManagerRequest{Project: project, Region: gcpsimtest.Region,
		InstanceGroupManager: "batch", RegionInstanceGroupManagersAbandonInstancesRequestResource: &computepb.RegionInstanceGroupManagersAbandonInstancesRequest{
			Instances: []string{member}}})
	require.NoError(t, err)
	require.NoError(t, op.Wait(ctx))
	g, err := rc.Get(ctx, &computepb.GetRegionInstanceGroupManagerRequest{Project: project, Region: gcpsimtest.Region, InstanceGroupManager: "batch"})
	require.NoError(t, err)
	require.Equal(t, int32(1), g.GetTargetSize())
}

func TestLoggingEntriesListAuditLogs(t *testing.T) {
	e := gcpsimtest.New(t)
	e.Instance(t, gcpworld.InstanceSpec{Name: "web-1"})
	ctx := context.Background()
	ic := instancesClient(t, e, e.AdminToken)
	got, err := ic.Get(ctx, &computepb.GetInstanceRequest{Project: project, Zone: zone, Instance: "web-1"})
	require.NoError(t, err)
	op, err := ic.SetTags(ctx, &computepb.SetTagsInstanceRequest{Project: project, Zone: zone, Instance: "web-1",
		TagsResource: &computepb.Tags{Items: []string{"q"}, Fingerprint: got.GetTags().Fingerprint}})
	require.NoError(t, err)
	require.NoError(t, op.Wait(ctx))
	viewer := e.User(t, "viewer@firedrill.test", "roles/compute.viewer")
	_, err = instancesClient(t, e, viewer).Stop(ctx, &computepb.StopInstanceRequest{Project: project, Zone: zone, Instance: "web-1"})
	ge := googleErr(t, err)
	require.Equal(t, 403, ge.Code)
	require.Equal(t, "forbidden", ge.Errors[0].Reason)

	lc, err := logging.NewRESTClient(ctx, e.Options(e.AdminToken)...)
	require.NoError(t, err)
	defer lc.Close()
	list := func(filter string) []*loggingpb.LogEntry {
		it := lc.ListLogEntries(ctx, &loggingpb.ListLogEntriesRequest{ResourceNames: []string{"projects/" + project}, Filter: filter})
		var out []*loggingpb.LogEntry
		for {
			le, err := it.Next()
			if err == iterator.Done {
				return out
			}
			require.NoError(t, err)
			out = append(out, le)
		}
	}
	filter := `logName="projects/firedrill-test/logs/cloudaudit.googleapis.com%2Factivity" AND resource.type="gce_instance"`
	require.Empty(t, list(filter), "audit logs are delivered with a delay")
	e.Clock.Advance(5 * time.Minute)
	entries := list(filter)
	require.Len(t, entries, 2, "the setTags and the denied stop; reads go to the (disabled) Data Access log")
	var al audit.AuditLog
	require.NoError(t, entries[0].GetProtoPayload().UnmarshalTo(&al))
	require.Equal(t, "v1.compute.instances.setTags", al.GetMethodName())
	require.Equal(t, gcpsimtest.Admin, al.GetAuthenticationInfo().GetPrincipalEmail())
	require.Equal(t, "projects/firedrill-test/zones/us-central1-a/instances/web-1", al.GetResourceName())
	require.NoError(t, entries[1].GetProtoPayload().UnmarshalTo(&al))
	require.Equal(t, int32(7), al.GetStatus().GetCode(), "denied calls are audited with PERMISSION_DENIED")

	require.Len(t, list(`protoPayload.authenticationInfo.principalEmail="viewer@firedrill.test"`), 1)
	require.Len(t, list(`protoPayload.methodName:"setTags" OR protoPayload.methodName:"stop"`), 2)
	require.Len(t, list(`timestamp>="2026-11-26T10:00:00Z"`), 0)
	require.Len(t, list(`log_id("cloudaudit.googleapis.com/activity") AND NOT severity=ERROR`), 1)

	_, err = lc.ListLogEntries(ctx, &loggingpb.ListLogEntriesRequest{ResourceNames: []string{"projects/" + project}, Filter: `a = (`}).Next()
	require.Error(t, err)
	var ae *apierror.APIError
	require.ErrorAs(t, err, &ae)
	require.Equal(t, 400, ae.HTTPCode())
}

func TestLoggingReadQuota(t *testing.T) {
	e := gcpsimtest.New(t)
	ctx := context.Background()
	lc, err := logging.NewRESTClient(ctx, e.Options(e.AdminToken)...)
	require.NoError(t, err)
	defer lc.Close()
	var last error
	for i := 0; i < 61; i++ {
		_, last = lc.ListLogEntries(ctx, &loggingpb.ListLogEntriesRequest{ResourceNames: []string{"projects/" + project}}).Next()
	}
	var ae *apierror.APIError
	require.ErrorAs(t, last, &ae)
	require.Equal(t, 429, ae.HTTPCode())
	require.Equal(t, "RATE_LIMIT_EXCEEDED", ae.Reason(), "the newer APIs carry ErrorInfo, which gax exposes as Reason()")
	e.Clock.Advance(time.Minute)
	_, err = lc.ListLogEntries(ctx, &loggingpb.ListLogEntriesRequest{ResourceNames: []string{"projects/" + project}}).Next()
	require.ErrorIs(t, err, iterator.Done)
}

func TestSCCListFindings(t *testing.T) {
	e := gcpsimtest.New(t)
	inst := mining(t, e, "miner-1")
	ctx := context.Background()
	sc, err := securitycenter.NewRESTClient(ctx, e.Options(e.AdminToken)...)
	require.NoError(t, err)
	defer sc.Close()
	list := func(filter string) []*securitycenterpb.ListFindingsResponse_ListFindingsResult {
		it := sc.ListFindings(ctx, &securitycenterpb.ListFindingsRequest{Parent: "projects/" + project + "/sources/-", Filter: filter})
		var out []*securitycenterpb.ListFindingsResponse_ListFindingsResult
		for {
			r, err := it.Next()
			if err == iterator.Done {
				return out
			}
			require.NoError(t, err)
			out = append(out, r)
		}
	}
	require.Empty(t, list(""), "findings take minutes")
	e.Clock.Advance(16 * time.Minute)
	got := list(`state="ACTIVE"`)
	require.Len(t, got, 1)
	f := got[0].GetFinding()
	require.Equal(t, detect.SCCMiningBadDomain, f.GetCategory())
	require.Equal(t, "//compute.googleapis.com/"+inst.Key, f.GetResourceName())
	require.Equal(t, []string{"pool.minexmr.com"}, f.GetIndicator().GetDomains())
	require.Equal(t, securitycenterpb.Finding_HIGH, f.GetSeverity())
	e.Clock.Advance(2 * time.Hour)
	require.Len(t, list(""), 2, "VM Threat Detection's memory scan follows")
	require.Len(t, list(`category="`+detect.SCCMiningCombined+`"`), 1)
	require.Len(t, list(`event_time >= "2026-11-27T00:00:00Z"`), 0)

	e.World.Lock()
	gcpworld.Of(e.World).Projects.Lookup(project).SCC = false
	e.World.Unlock()
	_, err = sc.ListFindings(ctx, &securitycenterpb.ListFindingsRequest{Parent: "projects/" + project + "/sources/-"}).Next()
	require.Error(t, err)
}

func TestSCCFlagsServiceAccountTokenUsedOutside(t *testing.T) {
	e := gcpsimtest.New(t)
	e.World.AddObserver(detect.NewSCC(detect.SCCConfig{}))
	sa := e.ServiceAccount(t, "web-app", "roles/compute.viewer")
	inst := e.Instance(t, gcpworld.InstanceSpec{Name: "web-1", ServiceAccount: sa, ExternalIP: true})
	e.World.Lock()
	tok, err := gcpworld.Of(e.World).InstanceToken(inst.Key)
	e.World.Unlock()
	require.NoError(t, err)
	ctx := context.Background()
	// The loopback caller is not one of the VM's addresses: outside Google.
	_, err = instancesClient(t, e, tok.Value).Get(ctx, &computepb.GetInstanceRequest{Project: project, Zone: zone, Instance: "web-1"})
	require.NoError(t, err)
	e.Clock.Advance(20 * time.Minute)
	e.World.Lock()
	defer e.World.Unlock()
	fs := e.World.VisibleFindingsLocked("scc/etd", e.World.Now())
	require.Len(t, fs, 1)
	require.Equal(t, detect.SCCSATokenOutside, fs[0].Type)
	require.Equal(t, sa, fs[0].PrincipalARN)
}

func TestIAMServiceAccountsAndKeys(t *testing.T) {
	e := gcpsimtest.New(t)
	sa := e.ServiceAccount(t, "web-app")
	e.World.Lock()
	key, err := gcpworld.Of(e.World).AddServiceAccountKey(sa)
	e.World.Unlock()
	require.NoError(t, err)
	ctx := context.Background()
	svc, err := iamv1.NewService(ctx, e.Options(e.AdminToken)...)
	require.NoError(t, err)
	name := "projects/" + project + "/serviceAccounts/" + sa
	got, err := svc.Projects.ServiceAccounts.Get(name).Context(ctx).Do()
	require.NoError(t, err)
	require.Equal(t, sa, got.Email)
	require.False(t, got.Disabled)
	list, err := svc.Projects.ServiceAccounts.List("projects/" + project).Context(ctx).Do()
	require.NoError(t, err)
	require.Len(t, list.Accounts, 1)
	keys, err := svc.Projects.ServiceAccounts.Keys.List(name).KeyTypes("USER_MANAGED").Context(ctx).Do()
	require.NoError(t, err)
	require.Len(t, keys.Keys, 1)
	require.True(t, strings.HasSuffix(keys.Keys[0].Name, "/keys/"+key.ID))
	_, err = svc.Projects.ServiceAccounts.Keys.Disable(keys.Keys[0].Name, &iamv1.DisableServiceAccountKeyRequest{}).Context(ctx).Do()
	require.NoError(t, err)
	k, err := svc.Projects.ServiceAccounts.Keys.Get(keys.Keys[0].Name).Context(ctx).Do()
	require.NoError(t, err)
	require.True(t, k.Disabled)
	_, err = svc.Projects.ServiceAccounts.Disable(name, &iamv1.DisableServiceAccountRequest{}).Context(ctx).Do()
	require.NoError(t, err)
	got, err = svc.Projects.ServiceAccounts.Get("projects/-/serviceAccounts/" + sa).Context(ctx).Do()
	require.NoError(t, err)
	require.True(t, got.Disabled)
	_, err = svc.Projects.ServiceAccounts.Get(name + "x").Context(ctx).Do()
	require.Equal(t, 404, googleErr(t, err).Code)

	viewer := e.User(t, "viewer@firedrill.test", "roles/viewer")
	vs, err := iamv1.NewService(ctx, e.Options(viewer)...)
	require.NoError(t, err)
	_, err = vs.Projects.ServiceAccounts.Enable(name, &iamv1.EnableServiceAccountRequest{}).Context(ctx).Do()
	require.Equal(t, 403, googleErr(t, err).Code)
}

// TestApplicationDefaultCredentials: a key file whose token_uri points at
// the simulator is all ADC needs; the client gets only the endpoint.
func TestApplicationDefaultCredentials(t *testing.T) {
	e := gcpsimtest.New(t)
	sa := e.ServiceAccount(t, "responder", "roles/compute.viewer")
	e.Instance(t, gcpworld.InstanceSpec{Name: "web-1"})
	kf, err := e.Server.KeyFileJSON(sa, e.URL)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "key.json")
	require.NoError(t, os.WriteFile(path, kf, 0o600))
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", path)
	ctx := context.Background()
	ic, err := compute.NewInstancesRESTClient(ctx, option.WithEndpoint(e.URL))
	require.NoError(t, err)
	defer ic.Close()
	got, err := ic.Get(ctx, &computepb.GetInstanceRequest{Project: project, Zone: zone, Instance: "web-1"})
	require.NoError(t, err)
	require.Equal(t, "web-1", got.GetName())
	e.World.Lock()
	last := e.World.Audit[len(e.World.Audit)-1]
	e.World.Unlock()
	require.Equal(t, sa, last.PrincipalARN, "the caller is the key file's service account")

	// A disabled key can no longer be exchanged for tokens.
	var kf2 gcpsim.KeyFile
	require.NoError(t, json.Unmarshal(kf, &kf2))
	e.World.Lock()
	gcpworld.Of(e.World).ServiceAccounts.Lookup(sa).Key(kf2.PrivateKeyID).Disabled = true
	e.World.Unlock()
	ic2, err := compute.NewInstancesRESTClient(ctx, option.WithEndpoint(e.URL))
	require.NoError(t, err)
	defer ic2.Close()
	_, err = ic2.Get(ctx, &computepb.GetInstanceRequest{Project: project, Zone: zone, Instance: "web-1"})
	require.Error(t, err)
	require.Contains(t, err.Error(), "invalid_grant")
}
