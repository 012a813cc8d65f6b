package responder

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"
	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/clock"
	"github.com/firedrill-ir/firedrill/cloudsim/azuresim"
	"github.com/firedrill-ir/firedrill/cloudsim/azuresim/azuresimtest"
	"github.com/firedrill-ir/firedrill/cloudsim/demo"
	"github.com/firedrill-ir/firedrill/cloudsim/detect"
	"github.com/firedrill-ir/firedrill/cloudsim/gcpsim"
	"github.com/firedrill-ir/firedrill/cloudsim/simhttp"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/azureworld"
	"github.com/firedrill-ir/firedrill/cloudsim/world/gcpworld"
	"github.com/firedrill-ir/firedrill/providers"
	"github.com/firedrill-ir/firedrill/providers/azure"
	"github.com/firedrill-ir/firedrill/providers/gcp"
	"github.com/firedrill-ir/firedrill/responder/action"
	"github.com/firedrill-ir/firedrill/timeline"
)

const (
	azurePoolIP = "45.9.148.21"
	gcpPoolIP   = "198.51.100.23"
	minerCmd    = "/tmp/.x/xmrig -o pool.minexmr.com:3333"
)

// vmDrill is a compromised VM on a simulated cloud on a virtual clock: a
// miner running with an established pool connection, and the VM
// identity's token stolen. attackerCall makes one API call with the stolen
// token, as the attacker would from outside the cloud.
type vmDrill struct {
	cloud        string
	clk          *clock.Virtual
	w            *world.World
	tl           *timeline.Timeline
	prov         providers.Provider
	victim       string
	bucket       string
	flow         *world.Flow
	attackerCall func(ctx context.Context) error
	// other is a VM that must not lose its identity's access unless the
	// cloud's revoke is all-or-nothing (GCP's batch VM).
	other string
}

func (d *vmDrill) responder(t *testing.T, pb *Playbook) *Responder {
	t.Helper()
	r, err := New(Options{Clock: d.clk, Timeline: d.tl, Provider: d.prov, Playbook: pb, CaseID: "IR-1",
		EvidenceBucket: d.bucket, PollInterval: time.Minute})
	require.NoError(t, err)
	return r
}

func addMiner(w *world.World, id string) {
	if inst := w.Instances.Lookup(id); inst != nil {
		inst.Processes = append(inst.Processes, world.Process{PID: 31337, User: "www-data", Command: minerCmd, CPU: 99})
	}
}

// newAzureDrill seeds the Azure demo (scale-in 25 minutes in: an
// unprotected victim would be deleted with its disks), serves ARM over
// loopback TLS, and builds the responder's provider in drill mode.
func newAzureDrill(t *testing.T, seed uint64, detectors bool) *vmDrill {
	t.Helper()
	clk := clock.NewVirtual(epoch, seed)
	w := world.New(clk, seed)
	if detectors {
		w.AddObserver(detect.NewDefender(detect.DefaultDefenderConfig()))
	}
	env, err := demo.SeedAzure(w, demo.AzureOptions{ScaleInAfter: 25 * time.Minute})
	require.NoError(t, err)
	hs := httptest.NewTLSServer(azuresim.New(w))
	t.Cleanup(hs.Close)
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: hs.Certificate().Raw})
	hc, err := azure.SimHTTPClient(ca, clk)
	require.NoError(t, err)
	p, err := azure.New(context.Background(), providers.Target{Cloud: providers.CloudAzure, Account: env.Subscription,
		Region: env.Location, Endpoint: hs.URL, HTTPClient: hc,
		Credentials: &providers.StaticCredentials{AccessKeyID: env.ResponderClientID, SecretAccessKey: env.ResponderSecret}},
		azure.WithTenant(env.Tenant), azure.WithSleeper(clk))
	require.NoError(t, err)
	d := &vmDrill{cloud: providers.CloudAzure, clk: clk, w: w, tl: timeline.New(clk), prov: p, victim: env.VMs[0],
		bucket: env.StorageAccount + "/" + env.EvidenceContainer, other: env.VMs[1]}
	w.Lock()
	addMiner(w, d.victim)
	d.flow, err = azureworld.Of(w).OpenFlow(d.victim, world.FlowSpec{RemoteIP: azurePoolIP, RemotePort: 3333, Domain: "pool.minexmr.com", Actor: "attacker"})
	var raw string
	if err == nil {
		raw, _, err = azureworld.Of(w).IMDSToken(d.victim, "")
	}
	w.Unlock()
	require.NoError(t, err)

	// The attacker reads the resource group's VMs with the stolen
	// managed-identity token (Contributor on the group).
	ahc, err := azure.SimHTTPClient(ca, clk)
	require.NoError(t, err)
	cfg := cloud.Configuration{ActiveDirectoryAuthorityHost: hs.URL + "/", Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
		cloud.ResourceManager: {Endpoint: hs.URL, Audience: "https://management.core.windows.net/"}}}
	vms, err := armcompute.NewVirtualMachinesClient(env.Subscription, azuresimtest.StaticToken(raw), &arm.ClientOptions{
		ClientOptions:         policy.ClientOptions{Cloud: cfg, Transport: ahc, Retry: policy.RetryOptions{MaxRetries: -1}},
		DisableRPRegistration: true})
	require.NoError(t, err)
	name := d.other[strings.LastIndex(d.other, "/")+1:]
	d.attackerCall = func(ctx context.Context) error {
		_, err := vms.Get(ctx, env.ResourceGroup, name, nil)
		return err
	}
	return d
}

// newGCPDrill seeds the GCP demo (the MIG scales in 25 minutes in,
// deleting its newest unabandoned member, the victim, with its auto-delete
// disks) and builds the responder's provider in drill mode.
func newGCPDrill(t *testing.T, seed uint64, detectors bool) *vmDrill {
	t.Helper()
	clk := clock.NewVirtual(epoch, seed)
	w := world.New(clk, seed)
	if detectors {
		w.AddObserver(detect.NewSCC(detect.SCCConfig{}))
	}
	env, err := demo.SeedGCP(w, demo.GCPOptions{ScaleInAfter: 25 * time.Minute})
	require.NoError(t, err)
	srv := httptest.NewServer(gcpsim.New(w))
	t.Cleanup(srv.Close)
	newProv := func(who, token string) *gcp.Provider {
		p, err := gcp.New(context.Background(), providers.Target{Cloud: providers.CloudGCP, Account: env.Project, Region: env.Region,
			Endpoint: srv.URL, Credentials: &providers.StaticCredentials{AccessKeyID: who, SecretAccessKey: token},
			HTTPClient: &http.Client{Transport: &simhttp.Transport{Clock: clk, Base: &http.Transport{}}}},
			gcp.WithSleeper(clk), gcp.WithMaxAttempts(2))
		require.NoError(t, err)
		t.Cleanup(func() { _ = p.Close() })
		return p
	}
	d := &vmDrill{cloud: providers.CloudGCP, clk: clk, w: w, tl: timeline.New(clk), prov: newProv(env.Responder, env.ResponderToken),
		victim: env.Instances[len(env.Instances)-1], bucket: env.EvidenceBucket, other: env.BatchInstance}
	w.Lock()
	addMiner(w, d.victim)
	d.flow, err = gcpworld.Of(w).OpenFlow(d.victim, world.FlowSpec{RemoteIP: gcpPoolIP, RemotePort: 3333, Domain: "pool.minexmr.com", Actor: "attacker"})
	var tok *gcpworld.Token
	if err == nil {
		tok, err = gcpworld.Of(w).InstanceToken(d.victim)
	}
	w.Unlock()
	require.NoError(t, err)
	attacker := newProv(env.ServiceAccount, tok.Value)
	d.attackerCall = func(ctx context.Context) error {
		_, err := attacker.DescribeInstance(ctx, env.BatchInstance)
		return err
	}
	return d
}

func loadNaiveVM(t *testing.T) *Playbook {
	t.Helper()
	data, err := os.ReadFile("testdata/vm-cryptomining-naive.yaml")
	require.NoError(t, err)
	pb, err := LoadPlaybook("testdata/vm-cryptomining-naive.yaml", data)
	require.NoError(t, err)
	return pb
}

// respond runs pb once against the victim and returns the case with the
// attacker's call before and after.
func (d *vmDrill) respond(t *testing.T, pb *Playbook, trigType string) (c *Case, rerr, before, after error) {
	t.Helper()
	r := d.responder(t, pb)
	d.clk.Go(context.Background(), "test", func(ctx context.Context) {
		before = d.attackerCall(ctx)
		c, rerr = r.Respond(ctx, Trigger{Kind: TriggerFinding, Type: trigType, Resource: providers.ResourceRef{Kind: providers.KindVM, ID: d.victim}, At: d.clk.Now()})
		after = d.attackerCall(ctx)
		// Outlive the scheduled scale-in, so evidence lost to it would show.
		_ = d.clk.Sleep(ctx, 40*time.Minute)
	})
	require.NoError(t, d.clk.Run(context.Background()))
	require.NotNil(t, c)
	return c, rerr, before, after
}

func (d *vmDrill) flowState() (bool, string) {
	d.w.Lock()
	defer d.w.Unlock()
	return d.flow.Active(), d.flow.EndReason
}

func stepStatus(t *testing.T, c *Case, id string) StepRecord {
	t.Helper()
	rec, ok := c.Step(id)
	require.True(t, ok, "no record of step %s", id)
	return rec
}

// requireSnapshotsOfEveryDisk checks the manifest has a snapshot of every
// disk describe_instance recorded, collected before containment, and that
// the remediation check saw each complete.
func requireSnapshotsOfEveryDisk(t *testing.T, c *Case, wantDisks int) {
	t.Helper()
	disks, _ := c.Facts()["instance"].(map[string]any)["disks"].([]any)
	require.Len(t, disks, wantDisks)
	snapped := map[string]bool{}
	for _, e := range c.Evidence() {
		if e.Kind == KindDiskSnapshot {
			// Recorded when started (the point in time is fixed then);
			// chk_evidence verifies completion.
			require.Contains(t, []string{"pending", "completed"}, e.State)
			require.False(t, e.CollectedAt.After(c.ContainedAt), "snapshot %s taken after containment", e.ID)
			snapped[e.Source] = true
		}
	}
	for _, d := range disks {
		id := d.(map[string]any)["id"].(string)
		require.True(t, snapped[id], "disk %s has no evidence snapshot", id)
	}
	if chk, ok := c.Step("chk_evidence"); ok {
		require.Equal(t, StatusSucceeded, chk.Status, "the snapshots completed: %s", chk.Error)
	}
}

func TestVMCryptominingOnAzure(t *testing.T) {
	d := newAzureDrill(t, 7, false)
	pb, ok := PlaybookByID("vm-cryptomining")
	require.True(t, ok)
	c, rerr, before, after := d.respond(t, pb, detect.DefenderMiningBehavior)
	require.NoError(t, rerr, "steps: %+v", c.Steps())
	require.NoError(t, before, "the stolen managed-identity token works before the response")

	// Role assignments gone: the token, still valid for ~24 h, authorizes nothing.
	require.Error(t, after, "the stolen token must be denied after remove_role_assignments")
	require.Contains(t, after.Error(), "AuthorizationFailed")
	active, reason := d.flowState()
	require.False(t, active, "the pool connection must be cut")
	require.Regexp(t, "flushConnection|public IP address dissociated", reason, "the isolation, not the stop, cuts it")
	d.w.Lock()
	ended := d.flow.Ended
	d.w.Unlock()
	require.False(t, ended.After(find(d.tl.Events(), timeline.StepFinish, "isolate").At), "cut by the isolate step")

	ra := stepStatus(t, c, "remove_role_assignments")
	require.Equal(t, StatusSucceeded, ra.Status)
	require.GreaterOrEqual(t, ra.Output["removed"], 2, "Contributor on the group and the evidence upload role")
	// Azure documents up to 10 minutes for the deletion to take effect:
	// the step waits it out, so containment is not declared before.
	require.Equal(t, "10m0s", ra.Output["propagation"])
	require.Equal(t, "10m0s", ra.Output["waited"])
	require.GreaterOrEqual(t, ra.FinishedAt.Sub(ra.StartedAt), 10*time.Minute)
	require.False(t, c.ContainedAt.Before(ra.FinishedAt), "declared after the wait")
	det := stepStatus(t, c, "detach_identity")
	require.Equal(t, StatusSucceeded, det.Status)
	require.Equal(t, "remove", det.Output["mode"], "Azure has no deny-all replacement identity")
	for _, id := range []string{"revoke_sessions", "disable_service_account", "notify_blast_radius", "remove_service_account"} {
		rec := stepStatus(t, c, id)
		require.Equal(t, StatusSkipped, rec.Status, id)
		require.Equal(t, SkipCloud, rec.SkipCause, id)
		require.Contains(t, rec.Reason, "this case is on azure")
	}
	for _, id := range []string{"capture_processes", "capture_connections", "capture_memory", "snapshot_disks", "isolate", "stop"} {
		require.Equal(t, StatusSucceeded, stepStatus(t, c, id).Status, id)
	}
	procs := stepStatus(t, c, "capture_processes")
	require.Contains(t, procs.Output["top_cpu"], "xmrig")
	requireSnapshotsOfEveryDisk(t, c, 2)
	kinds := map[string]int{}
	for _, e := range c.Evidence() {
		kinds[e.Kind]++
	}
	for _, k := range []string{KindMemory, KindProcessList, KindConnections, KindInstanceMetadata, KindAuditLog} {
		require.NotZero(t, kinds[k], "no %s evidence", k)
	}

	ev := d.tl.Events()
	memDone := find(ev, timeline.StepFinish, "capture_memory")
	require.Less(t, memDone.Seq, find(ev, timeline.StepStart, "isolate").Seq, "memory before isolation (Run Command needs egress)")
	require.Less(t, memDone.Seq, find(ev, timeline.StepStart, "remove_role_assignments").Seq, "the memory upload runs as the identity")
	require.Less(t, find(ev, timeline.StepFinish, "remove_role_assignments").Seq, find(ev, timeline.StepStart, "detach_identity").Seq)
	require.Empty(t, all(ev, timeline.StepError, ""), "no step failed")
	require.True(t, c.Contained)
	require.Equal(t, "isolate_and_stop", c.Outcome)
	for _, st := range c.Remediation() {
		if st.ID == "isolated" || st.ID == "identity" || st.ID == "scaling" || st.ID == "evidence" {
			require.Equal(t, "passed", st.Status, "%s: %s", st.ID, st.Detail)
		}
	}
	// The Activity Log records writes only: the attacker's reads leave no
	// trace there, but the query itself must run and be kept as evidence.
	require.Equal(t, StatusSucceeded, stepStatus(t, c, "q_role_calls").Status)

	// The scheduled scale-in could not take the victim or its disks.
	d.w.Lock()
	vm := azureworld.Of(d.w).VMs.Lookup(strings.ToLower(d.victim))
	d.w.Unlock()
	require.NotNil(t, vm)
	require.False(t, vm.Deleted, "scale-in must not delete the protected victim")
}

func TestVMCryptominingOnGCP(t *testing.T) {
	d := newGCPDrill(t, 7, false)
	pb, _ := PlaybookByID("vm-cryptomining")
	c, rerr, before, after := d.respond(t, pb, detect.SCCMiningBadIP)
	require.NoError(t, rerr, "steps: %+v", c.Steps())
	require.NoError(t, before, "the stolen service-account token works before the response")
	require.ErrorIs(t, after, providers.ErrAccessDenied, "disabling the service account rejects the stolen token")
	active, reason := d.flowState()
	require.False(t, active, "the pool connection must be cut")
	require.Contains(t, reason, "access config", "the access-config churn, not the stop, cuts it")

	// No run-command on GCP: skipped with the documented fallback, never failed.
	ev := d.tl.Events()
	for _, id := range []string{"capture_processes", "capture_connections", "capture_memory"} {
		rec := stepStatus(t, c, id)
		require.Equal(t, StatusSkipped, rec.Status, id)
		require.Equal(t, SkipUnsupported, rec.SkipCause, id)
		require.Contains(t, rec.Reason, "documented fallback")
		require.Contains(t, rec.Reason, "IAP")
		skip := find(ev, timeline.StepSkip, id)
		require.Equal(t, rec.Reason, skip.Detail["reason"])
		require.Zero(t, find(ev, timeline.StepStart, id).Seq, "a step the cloud cannot do does not start")
	}
	require.Empty(t, all(ev, timeline.StepError, ""), "no step failed")

	// Abandon before deletion protection; the revoke's blast radius is
	// recorded and its owners told.
	require.Less(t, find(ev, timeline.StepFinish, "protect_scaling").Seq, find(ev, timeline.StepStart, "protect_termination").Seq)
	require.Equal(t, StatusSucceeded, stepStatus(t, c, "protect_termination").Status)
	dis := stepStatus(t, c, "disable_service_account")
	require.Equal(t, StatusSucceeded, dis.Status)
	require.Contains(t, dis.Output["other_workloads"], d.other, "the batch VM shares the service account")
	br, _ := c.Facts()["blast_radius"].(map[string]any)
	require.NotNil(t, br, "the blast radius is recorded in the case")
	require.Contains(t, br["others"], d.other)
	require.NotContains(t, br["others"], d.victim)
	note := find(ev, timeline.Notify, "blast_radius")
	require.NotZero(t, note.Seq, "the owners of the other workloads are told")
	require.Contains(t, note.Detail["contacts"], "batch-team@example.com")
	require.Contains(t, note.Message, d.other)
	for _, id := range []string{"revoke_sessions", "detach_identity", "remove_role_assignments"} {
		require.Equal(t, SkipCloud, stepStatus(t, c, id).SkipCause, id)
	}
	require.Equal(t, StatusSucceeded, stepStatus(t, c, "remove_service_account").Status)
	requireSnapshotsOfEveryDisk(t, c, 2)
	meta := stepStatus(t, c, "describe")
	require.Equal(t, StatusSucceeded, meta.Status, "no evidence storage on GCP: the metadata stays in the case record")
	for _, e := range c.Evidence() {
		if e.Kind == KindInstanceMetadata {
			b, ok := c.Artifact(e.Location)
			require.True(t, ok, "artifact %s kept in the case", e.Location)
			require.Contains(t, string(b), d.victim)
			require.Len(t, e.SHA256, 64)
		}
	}
	require.True(t, c.Contained)
	for _, st := range c.Remediation() {
		if st.ID == "isolated" || st.ID == "identity" || st.ID == "scaling" || st.ID == "evidence" {
			require.Equal(t, "passed", st.Status, "%s: %s", st.ID, st.Detail)
		}
	}

	// The scale-in came and went: the abandoned victim and its disks stayed.
	d.w.Lock()
	inst, alive := gcpworld.Of(d.w).Instances.Get(d.victim)
	d.w.Unlock()
	require.True(t, alive && inst.Deleted.IsZero(), "the MIG must not delete the abandoned victim")
}

// The naive variant fails on each cloud for that cloud's reason.
func TestNaiveVMPlaybookLeavesTheAttackerIn(t *testing.T) {
	pb := loadNaiveVM(t)
	t.Run("azure", func(t *testing.T) {
		d := newAzureDrill(t, 7, false)
		c, _, _, after := d.respond(t, pb, detect.DefenderMiningBehavior)
		require.NoError(t, after, "identity removed but role assignments kept: the stolen token still authorizes")
		active, _ := d.flowState()
		require.True(t, active, "an NSG swap without flushConnection leaves the pool connection up")
		require.Equal(t, StatusSucceeded, stepStatus(t, c, "naive_isolate").Status)
		require.Equal(t, StatusSucceeded, stepStatus(t, c, "naive_detach").Status)
		d.w.Lock()
		vm := azureworld.Of(d.w).VMs.Lookup(strings.ToLower(d.victim))
		d.w.Unlock()
		require.Equal(t, "None", vm.IdentityType, "the identity removal itself happened")
		require.True(t, c.Contained, "the naive responder believes it contained the VM")
	})
	t.Run("gcp", func(t *testing.T) {
		d := newGCPDrill(t, 7, false)
		c, _, _, after := d.respond(t, pb, detect.SCCMiningBadIP)
		require.NoError(t, after, "setServiceAccount without disabling the account: the stolen token still works")
		// The naive identity removal (setServiceAccount) has to stop the
		// VM, which ends the miner's connection; the deny-by-tag rules
		// never did: the flow outlived the isolation step.
		iso := find(d.tl.Events(), timeline.StepFinish, "naive_isolate")
		require.NotZero(t, iso.Seq)
		d.w.Lock()
		ended, reason := d.flow.Ended, d.flow.EndReason
		d.w.Unlock()
		require.True(t, ended.IsZero() || ended.After(iso.At),
			"deny-by-tag without an access-config churn leaves the pool connection up (ended %v: %s)", ended, reason)
		require.NotContains(t, reason, "access config")
		require.NotContains(t, reason, "firewall")
		require.Equal(t, StatusSucceeded, stepStatus(t, c, "naive_isolate").Status)
		require.Equal(t, StatusSucceeded, stepStatus(t, c, "naive_detach").Status)
		d.w.Lock()
		inst := gcpworld.Of(d.w).DeletedInstances.Lookup(d.victim)
		d.w.Unlock()
		require.NotNil(t, inst, "without abandoning it, the MIG's scale-in deleted the victim")
		require.Contains(t, inst.Tags, "quarantine", "the quarantine tag itself was applied")
		require.True(t, c.Contained, "steps: %+v", c.Steps())
	})
	t.Run("aws", func(t *testing.T) {
		d := newDrill(t, 7)
		r := d.responder(t, pb)
		attacker := d.attackerEC2()
		var after error
		var c *Case
		d.clk.Go(context.Background(), "test", func(ctx context.Context) {
			c, _ = r.Respond(ctx, Trigger{Kind: TriggerFinding, Type: cryptoFinder, Resource: providers.ResourceRef{Kind: providers.KindVM, ID: d.victim}})
			_, after = attacker.DescribeInstances(ctx, nil)
		})
		require.NoError(t, d.clk.Run(context.Background()))
		require.NoError(t, after, "profile disassociated without revoking sessions: the stolen keys still work")
		d.w.Lock()
		active := d.flow.Active()
		d.w.Unlock()
		require.True(t, active, "a single security-group swap does not cut a tracked flow")
		require.Equal(t, StatusSucceeded, stepStatus(t, c, "naive_isolate").Status)
	})
}

// vm-cryptomining handles AWS too: the same checks as ec2-cryptomining.
func TestVMCryptominingOnAWS(t *testing.T) {
	d := newDrill(t, 7)
	pb, _ := PlaybookByID("vm-cryptomining")
	r := d.responder(t, pb)
	attacker := d.attackerEC2()
	var after error
	var c *Case
	var rerr error
	d.clk.Go(context.Background(), "test", func(ctx context.Context) {
		c, rerr = r.Respond(ctx, Trigger{Kind: TriggerFinding, Type: cryptoFinder, Resource: providers.ResourceRef{Kind: providers.KindVM, ID: d.victim}})
		_, after = attacker.DescribeInstances(ctx, nil)
	})
	require.NoError(t, d.clk.Run(context.Background()))
	require.NoError(t, rerr, "steps: %+v", c.Steps())
	require.Error(t, after)
	require.Contains(t, after.Error(), "UnauthorizedOperation")
	d.w.Lock()
	active, reason := d.flow.Active(), d.flow.EndReason
	d.w.Unlock()
	require.False(t, active)
	require.Contains(t, reason, "untracked flow cut")
	require.Equal(t, StatusSucceeded, stepStatus(t, c, "revoke_sessions").Status)
	for _, id := range []string{"remove_role_assignments", "disable_service_account", "notify_blast_radius", "remove_service_account"} {
		require.Equal(t, SkipCloud, stepStatus(t, c, id).SkipCause, id)
	}
	requireSnapshotsOfEveryDisk(t, c, 2)
	require.Empty(t, all(d.tl.Events(), timeline.StepError, ""))
	require.True(t, c.Contained)
	for _, st := range c.Remediation() {
		if st.ID == "isolated" || st.ID == "identity" || st.ID == "scaling" || st.ID == "evidence" {
			require.Equal(t, "passed", st.Status, "%s: %s", st.ID, st.Detail)
		}
	}
}

// Watch opens the case from each cloud's own detector: Defender for Cloud
// alerts on Azure, Security Command Center findings on GCP.
func TestWatchTriggersOnDefenderAndSCC(t *testing.T) {
	for _, tc := range []struct {
		name  string
		drill func(*testing.T, uint64, bool) *vmDrill
		types []string
	}{
		{"azure", newAzureDrill, []string{detect.DefenderMiningBehavior, detect.DefenderSuspectDomain, detect.DefenderMITokenOutsideAzure}},
		{"gcp", newGCPDrill, []string{detect.SCCMiningBadDomain, detect.SCCMiningBadIP, detect.SCCMiningCombined}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.drill(t, 5, true)
			pb, _ := PlaybookByID("vm-cryptomining")
			r := d.responder(t, pb)
			ctx := context.Background()
			d.clk.GoDaemon(ctx, "responder watch", func(ctx context.Context) { _ = r.Watch(ctx) })
			d.clk.Go(ctx, "scenario", func(ctx context.Context) { _ = d.clk.Sleep(ctx, 3*time.Hour) })
			require.NoError(t, d.clk.Run(ctx))
			cases := r.Cases()
			require.Len(t, cases, 1, "one case, on the victim")
			require.Equal(t, d.victim, cases[0].Resource)
			require.Contains(t, tc.types, cases[0].Trigger.Type)
			require.True(t, cases[0].Contained)
		})
	}
}

func TestMatchingAzureCPUAlarmAndSkipsNonVMFindings(t *testing.T) {
	pb, _ := PlaybookByID("vm-cryptomining")
	r, err := New(Options{Clock: clock.NewVirtual(epoch, 1), Timeline: timeline.New(clock.NewVirtual(epoch, 1)), Provider: stubProvider{}, Playbook: pb})
	require.NoError(t, err)
	vm := "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/web_0"
	got := r.Matching("azure", nil, []providers.Alarm{
		{Name: "cpu-high-web_0", State: "ALARM", Resource: providers.Ref("azure", providers.KindVM, vm), Metric: "Percentage CPU", Threshold: 95, For: 10 * time.Minute},
		{Name: "cpu-high-web_1", State: "OK", Resource: providers.Ref("azure", providers.KindVM, vm+"x"), Metric: "Percentage CPU", Threshold: 95, For: 10 * time.Minute},
	})
	require.Len(t, got, 1)
	require.Equal(t, vm, got[0].Resource.ID)
	got = r.Matching("gcp", []providers.Finding{
		{ID: "f1", Type: detect.SCCMiningBadIP, Resource: providers.Ref("gcp", providers.KindVM, "projects/p/zones/z/instances/a")},
		{ID: "f2", Type: detect.SCCMiningBadIP, Resource: providers.Ref("gcp", providers.KindPrincipal, "projects/p/serviceAccounts/x")},
		{ID: "f3", Type: detect.DefenderMiningBehavior, Resource: providers.Ref("gcp", providers.KindVM, "projects/p/zones/z/instances/b")},
	}, nil)
	require.Len(t, got, 1, "a service account is not a VM; another cloud's type does not match")
	require.Equal(t, "f1", got[0].FindingID)
}

// Same scenario and seed give byte-identical timelines on every cloud,
// whatever GOMAXPROCS.
func TestVMCryptominingIsDeterministic(t *testing.T) {
	for _, tc := range []struct {
		name  string
		drill func(*testing.T, uint64, bool) *vmDrill
		trig  string
	}{
		{"azure", newAzureDrill, detect.DefenderMiningBehavior},
		{"gcp", newGCPDrill, detect.SCCMiningBadIP},
		{"aws", awsVMDrill, cryptoFinder},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := func(procs int) string {
				prev := runtime.GOMAXPROCS(procs)
				defer runtime.GOMAXPROCS(prev)
				d := tc.drill(t, 11, true)
				pb, _ := PlaybookByID("vm-cryptomining")
				d.respond(t, pb, tc.trig)
				b, err := json.Marshal(d.tl.Events())
				require.NoError(t, err)
				return string(b)
			}
			first := run(1)
			second := run(2)
			if first != second && os.Getenv("FIREDRILL_DUMP") != "" {
				_ = os.WriteFile("/tmp/det-"+tc.name+"-1.json", []byte(first), 0o644)
				_ = os.WriteFile("/tmp/det-"+tc.name+"-2.json", []byte(second), 0o644)
			}
			require.Equal(t, first, second)
			require.Greater(t, len(first), 1000)
		})
	}
}

// Loading rejects cloud-specific settings that could never apply.
func TestLoadRejectsBadCloudSteps(t *testing.T) {
	src := `id: x
title: x
clouds: [aws, gcp]
severity: high
triggers: {findings: {aws: [T]}}
evidence:
  - id: a
    action: describe_instance
    clouds: [azure]
  - id: b
    action: describe_instance
    clouds: [gcp]
    cloud_params:
      aws: {store: false}
      gcp: {nope: 1}
  - id: c
    action: describe_instance
    clouds: [moon]
containment: []
communication: {roles: [], notify: [], templates: []}
`
	_, err := LoadPlaybook("bad.yaml", []byte(src))
	var le *LoadError
	require.True(t, errors.As(err, &le), "%v", err)
	msg := err.Error()
	require.Contains(t, msg, `evidence[0].clouds[0]: cloud "azure" is not among the playbook's clouds (aws, gcp)`)
	require.Contains(t, msg, "evidence[1].cloud_params.aws: the step runs only on gcp")
	require.Contains(t, msg, `evidence[1].cloud_params.gcp.nope: unknown parameter "nope"`)
	require.Contains(t, msg, `evidence[2].clouds[0]: unknown cloud "moon"`)
	require.Contains(t, msg, "bad.yaml:9:14: evidence[0].clouds[0]")
}

// awsVMDrill is the AWS drill of sim_test.go as a vmDrill.
func awsVMDrill(t *testing.T, seed uint64, _ bool) *vmDrill {
	d := newDrill(t, seed)
	attacker := d.attackerEC2()
	return &vmDrill{cloud: providers.CloudAWS, clk: d.clk, w: d.w, tl: d.tl, prov: d.prov, victim: d.victim,
		bucket: d.env.EvidenceBucket, flow: d.flow, other: d.env.Instances[1],
		attackerCall: func(ctx context.Context) error {
			_, err := attacker.DescribeInstances(ctx, nil)
			return err
		}}
}

var _ azcore.TokenCredential = azuresimtest.StaticToken("")

func init() {
	// test_unsupported fails the way a provider does for a call its cloud
	// does not offer.
	action.Register(ActionSpec{Name: "test_unsupported", Run: func(context.Context, *action.Run) (map[string]any, error) {
		return nil, &providers.OpError{Op: "compute:Hibernate", Kind: providers.ErrUnsupported, Code: "NotOffered", Err: errors.New("no such call")}
	}})
}

// An unsupported call is a skip with a reason, not a failure, and a step
// that needs it is skipped for the same reason; a genuine failure still
// leaves containment incomplete.
func TestUnsupportedIsASkipThatDoesNotFailContainment(t *testing.T) {
	pb := testPlaybook(t, `
containment:
  - {id: hibernate, action: test_unsupported, retries: 3}
  - {id: after_hibernate, action: test_wait, needs: [hibernate]}
  - {id: ok, action: test_wait}
`)
	c, ev, err := respond(t, pb, "unsupported", nil)
	require.NoError(t, err)
	skip := find(ev, timeline.StepSkip, "hibernate")
	require.NotZero(t, skip.Seq)
	require.Contains(t, skip.Detail["reason"], "unsupported")
	require.Equal(t, "NotOffered", skip.Detail["error_code"])
	require.Empty(t, all(ev, timeline.StepRetry, "hibernate"), "an unsupported call is not retried")
	require.Empty(t, all(ev, timeline.StepError, ""))
	rec, _ := c.Step("after_hibernate")
	require.Equal(t, SkipUnsupported, rec.SkipCause)
	require.True(t, c.Contained)

	pb = testPlaybook(t, `
containment:
  - {id: broken, action: test_wait, params: {fail: 5}}
  - {id: after_broken, action: test_wait, needs: [broken]}
`)
	c, _, err = respond(t, pb, "broken", nil)
	require.Error(t, err)
	rec, _ = c.Step("after_broken")
	require.Equal(t, SkipDependency, rec.SkipCause)
	require.False(t, c.Contained)
}

// facts.cloud and facts.capabilities are visible to decision predicates.
func TestDecisionsSeeTheCloudAndItsCapabilities(t *testing.T) {
	pb := testPlaybook(t, `
outcomes: [{id: revoke}, {id: fallback}]
decisions:
  - id: can
    question: Can this cloud revoke sessions?
    predicate: 'facts.cloud == "aws" && !facts.capabilities.session_revoker'
    yes: fallback
    no: revoke
containment:
  - {id: a, action: test_wait, when: fallback}
  - {id: b, action: test_wait, when: revoke}
`)
	c, ev, err := respond(t, pb, "facts", nil)
	require.NoError(t, err)
	require.Equal(t, "fallback", c.Outcome, "the stub is aws with no capabilities")
	require.Equal(t, `{"capabilities.session_revoker":false,"cloud":"aws"}`, find(ev, timeline.Decision, "can").Detail["inputs"])
	rec, _ := c.Step("b")
	require.Equal(t, SkipDecision, rec.SkipCause)
	require.True(t, c.Contained)
}
