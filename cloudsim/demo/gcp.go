package demo

import (
	"fmt"
	"strconv"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/gcpsim"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/gcpworld"
)

// GCPOptions tune the GCP demo environment.
type GCPOptions struct {
	// Project is the project id (default firedrill-demo).
	Project string
	// Region and Zone (defaults us-central1, us-central1-a).
	Region, Zone string
	// Instances is the size of the web managed instance group (default 3).
	Instances int
	// ScaleInAfter schedules the MIG's autoscaler to remove one VM this
	// long after seeding; zero means two hours, negative disables it.
	ScaleInAfter time.Duration
}

// GCPEnv describes what was seeded, for printing and for tests.
type GCPEnv struct {
	Project, Region, Zone string
	Network, Subnet       string
	// MIG is the web managed instance group's resource path; Instances are
	// its members' resource paths ("projects/P/zones/Z/instances/N").
	MIG       string
	Instances []string
	// BatchInstance runs as the same service account as the web tier, so
	// disabling that account shows a blast radius beyond the MIG.
	BatchInstance  string
	ServiceAccount string
	// Principals and their long-lived access tokens (static bearer tokens
	// the simulator accepts); key files for ADC come from
	// gcpsim.Server.KeyFileJSON.
	Admin, Responder           string
	AdminToken, ResponderToken string
	ResponderServiceAccount    string
	// DeployerServiceAccount is the CI pipeline's service account.
	DeployerServiceAccount string
	EvidenceBucket         string
	QuarantineTag          string
}

// Fixed names of the GCP demo environment.
const (
	GCPDemoMIG            = "web-mig"
	GCPDemoBatch          = "batch-worker-1"
	GCPDemoServiceAccount = "web-app"
	GCPDemoDeployer       = "ci-deploy"
	GCPDemoEvidenceBucket = "firedrill-demo-gcp-forensics"
	GCPDemoAdmin          = "admin@firedrill.example"
	GCPDemoResponder      = "responder@firedrill.example"
)

func (o *GCPOptions) defaults() {
	if o.Project == "" {
		o.Project = "firedrill-demo"
	}
	if o.Region == "" {
		o.Region = "us-central1"
	}
	if o.Zone == "" {
		o.Zone = o.Region + "-a"
	}
	if o.Instances == 0 {
		o.Instances = 3
	}
	if o.ScaleInAfter == 0 {
		o.ScaleInAfter = 2 * time.Hour
	}
}

// responderRoles is what a GCP incident responder needs for a VM
// compromise: read compute, logs and findings; stop, tag, snapshot and
// abandon VMs; write firewall rules; disable service accounts and keys;
// read IAM policies; close and mute findings.
var responderRoles = []string{"roles/compute.instanceAdmin.v1", "roles/compute.securityAdmin", "roles/compute.viewer",
	"roles/logging.viewer", "roles/securitycenter.findingsViewer", "roles/iam.serviceAccountAdmin",
	"roles/iam.serviceAccountKeyAdmin", "roles/iam.serviceAccountUser", "roles/storage.admin", "roles/iam.securityReviewer",
	"roles/securitycenter.findingsStateSetter", "roles/securitycenter.findingsMuteSetter"}

// SeedGCP builds the GCP demo environment in w: a project with Security
// Command Center on; an owner, a least-privilege responder (user and
// service account) and a developer; a VPC network and subnet with the
// usual firewall rules; a managed instance group of web VMs running as one
// service account that a batch VM shares; an evidence bucket; and a day of
// audit-log history. The MIG scales in by one VM after ScaleInAfter,
// deleting the newest unabandoned member and its auto-delete disks.
func SeedGCP(w *world.World, opts GCPOptions) (*GCPEnv, error) {
	opts.defaults()
	w.Lock()
	defer w.Unlock()
	p := opts.Project
	proj := gcpworld.Of(w).AddProject(p, opts.Region)
	proj.SCC = true
	env := &GCPEnv{Project: p, Region: opts.Region, Zone: opts.Zone, Admin: GCPDemoAdmin, Responder: GCPDemoResponder,
		EvidenceBucket: GCPDemoEvidenceBucket, QuarantineTag: "firedrill-quarantine"}

	gcpworld.Of(w).AddUser(GCPDemoAdmin)
	gcpworld.Of(w).AddUser(GCPDemoResponder)
	gcpworld.Of(w).AddUser("alice@firedrill.example")
	grants := map[string][]string{"user:" + GCPDemoAdmin: {"roles/owner"}, "user:" + GCPDemoResponder: responderRoles,
		"user:alice@firedrill.example": {"roles/compute.viewer", "roles/viewer"}}
	rsa, err := gcpworld.Of(w).AddServiceAccount(p, "firedrill-responder", "firedrill incident responder")
	if err != nil {
		return nil, fmt.Errorf("seeding GCP responder service account: %w", err)
	}
	env.ResponderServiceAccount = rsa.Email
	grants["serviceAccount:"+rsa.Email] = responderRoles
	sa, err := gcpworld.Of(w).AddServiceAccount(p, GCPDemoServiceAccount, "web application")
	if err != nil {
		return nil, fmt.Errorf("seeding GCP workload service account: %w", err)
	}
	env.ServiceAccount = sa.Email
	grants["serviceAccount:"+sa.Email] = []string{"roles/compute.viewer", "roles/storage.objectViewer", "roles/monitoring.viewer"}
	for _, member := range world.SortedKeys(grants) {
		for _, role := range grants[member] {
			if err := gcpworld.Of(w).Grant(p, role, member); err != nil {
				return nil, fmt.Errorf("seeding GCP IAM policy: %w", err)
			}
		}
	}
	for _, who := range []string{GCPDemoAdmin, GCPDemoResponder} {
		t, err := gcpworld.Of(w).IssueToken(who, "static", "", 30*24*time.Hour)
		if err != nil {
			return nil, fmt.Errorf("seeding GCP token for %s: %w", who, err)
		}
		if who == GCPDemoAdmin {
			env.AdminToken = t.Value
		} else {
			env.ResponderToken = t.Value
		}
	}

	net := gcpworld.Of(w).AddNetwork(p, "prod-vpc")
	env.Network = net.Key
	sub, err := gcpworld.Of(w).AddSubnet(p, opts.Region, "prod-"+opts.Region, net.Key, "10.10.0.0/20")
	if err != nil {
		return nil, fmt.Errorf("seeding GCP subnet: %w", err)
	}
	env.Subnet = sub.Key
	for _, fw := range []*gcpworld.Firewall{
		{Name: "prod-allow-internal", Direction: "INGRESS", Priority: 65534, SourceRanges: []string{"10.10.0.0/16"},
			Allowed: []gcpworld.FirewallRule{{Protocol: "all"}}},
		{Name: "prod-allow-ssh-iap", Direction: "INGRESS", Priority: 1000, SourceRanges: []string{"35.235.240.0/20"},
			Allowed: []gcpworld.FirewallRule{{Protocol: "tcp", Ports: []string{"22"}}}},
		{Name: "prod-allow-web", Direction: "INGRESS", Priority: 1000, SourceRanges: []string{"0.0.0.0/0"},
			TargetTags: []string{"web"}, Allowed: []gcpworld.FirewallRule{{Protocol: "tcp", Ports: []string{"80", "443"}}}},
	} {
		fw.Project, fw.Network = p, net.Key
		if _, err := gcpworld.Of(w).AddFirewall(fw); err != nil {
			return nil, fmt.Errorf("seeding GCP firewall %s: %w", fw.Name, err)
		}
	}

	mig, err := gcpworld.Of(w).AddMIG(p, opts.Zone, "", GCPDemoMIG, opts.Instances, gcpworld.InstanceSpec{
		Subnet: sub.Key, MachineType: "e2-standard-4", ExternalIP: true, Tags: []string{"web"},
		Labels: map[string]string{"app": "web", "env": "prod"}, ServiceAccount: sa.Email,
		DataDisksGb: []int{20}, DataDiskAutoDelete: true,
		Processes: []world.Process{{PID: 1, User: "root", Command: "/sbin/init"}, {PID: 812, User: "www-data", Command: "nginx: worker process", CPU: 3}}})
	if err != nil {
		return nil, fmt.Errorf("seeding GCP MIG: %w", err)
	}
	env.MIG = mig.Key
	env.Instances = append(env.Instances, mig.Members...)
	batch, err := gcpworld.Of(w).AddInstance(gcpworld.InstanceSpec{Project: p, Zone: opts.Zone, Name: GCPDemoBatch,
		Subnet: sub.Key, MachineType: "e2-standard-2", Tags: []string{"batch"},
		Labels: map[string]string{"app": "batch", "env": "prod"}, ServiceAccount: sa.Email})
	if err != nil {
		return nil, fmt.Errorf("seeding GCP batch VM: %w", err)
	}
	env.BatchInstance = batch.Key

	if _, err := w.CreateBucketLocked(p, opts.Region, GCPDemoEvidenceBucket, true); err != nil {
		return nil, fmt.Errorf("seeding GCP evidence bucket: %w", err)
	}
	if opts.ScaleInAfter > 0 {
		err := gcpworld.Of(w).ScheduleResize(mig.Key, w.Now().Add(opts.ScaleInAfter), opts.Instances-1, func(inst *gcpworld.Instance, at time.Time) {
			gcpsim.RecordSystemEventLocked(w, at, inst.Project, inst.Zone, "v1.compute.instances.delete", "gce_instance", inst.Key,
				map[string]string{"instance_id": strconv.FormatUint(inst.ID, 10), "zone": inst.Zone, "project_id": inst.Project}, 40*time.Second)
		})
		if err != nil {
			return nil, fmt.Errorf("scheduling GCP scale-in: %w", err)
		}
	}
	seedGCPHistory(w, env)
	// Last, so that adding it shifted none of the draws above.
	if err := seedGCPDeployer(w, env); err != nil {
		return nil, err
	}
	return env, nil
}

// seedGCPDeployer adds the CI pipeline's service account, which rolls
// the web tier out (it reads and updates the group and its instances).
func seedGCPDeployer(w *world.World, env *GCPEnv) error {
	ci, err := gcpworld.Of(w).AddServiceAccount(env.Project, GCPDemoDeployer, "CI deployments")
	if err != nil {
		return fmt.Errorf("seeding GCP CI service account: %w", err)
	}
	env.DeployerServiceAccount = ci.Email
	for _, role := range []string{"roles/compute.instanceAdmin.v1", "roles/compute.viewer"} {
		if err := gcpworld.Of(w).Grant(env.Project, role, "serviceAccount:"+ci.Email); err != nil {
			return fmt.Errorf("granting %s to the CI service account: %w", role, err)
		}
	}
	return nil
}

// seedGCPHistory writes a day of ordinary administration into the Admin
// Activity log, already delivered, so investigations have a baseline.
func seedGCPHistory(w *world.World, env *GCPEnv) {
	now := w.Now()
	type entry struct {
		ago          time.Duration
		who, method  string
		typ, resName string
	}
	entries := []entry{
		{26 * time.Hour, GCPDemoAdmin, "google.iam.admin.v1.CreateServiceAccount", "service_account", "projects/" + env.Project + "/serviceAccounts/" + env.ServiceAccount},
		{25 * time.Hour, GCPDemoAdmin, "v1.compute.firewalls.insert", "gce_firewall_rule", gcpworld.FirewallKey(env.Project, "prod-allow-web")},
		{24 * time.Hour, GCPDemoAdmin, "v1.compute.instanceGroupManagers.insert", "gce_instance_group_manager", env.MIG},
		{23 * time.Hour, GCPDemoAdmin, "v1.compute.instances.insert", "gce_instance", env.BatchInstance},
		{6 * time.Hour, "alice@firedrill.example", "v1.compute.instances.setLabels", "gce_instance", env.BatchInstance},
	}
	rng := w.IDRandLocked()
	for _, e := range entries {
		t := now.Add(-e.ago)
		w.Audit = append(w.Audit, &world.AuditEvent{ID: fmt.Sprintf("%016x%08x", rng.Uint64(), rng.Uint32()), Time: t,
			DeliverAt: t.Add(30 * time.Second), Cloud: "gcp", Account: env.Project, Region: env.Zone,
			Service: "compute.googleapis.com", Operation: e.method, PrincipalARN: e.who, PrincipalID: e.who, UserName: e.who,
			IdentityType: "user", SourceIP: "203.0.113.10", UserAgent: "google-cloud-sdk gcloud/520.0.0",
			Resources: []world.AuditResource{{Type: e.typ, Name: e.resName}},
			Params:    map[string]string{"logName": gcpsim.LogActivity, "resource.labels.project_id": env.Project}})
	}
}
