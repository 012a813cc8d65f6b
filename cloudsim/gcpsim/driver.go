package gcpsim

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/fault"
	"github.com/firedrill-ir/firedrill/cloudsim/simcloud"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/gcpworld"
)

// CloudGCP is the cloud's name in scenarios and events.
const CloudGCP = "gcp"

// The GCP driver: how a drill serves, seeds and observes the simulated
// Google Cloud. Sites carry the zone as a property.
func init() {
	simcloud.Register(&simcloud.Driver{
		Cloud:     CloudGCP,
		Handler:   func(w *world.World, f *fault.Set) http.Handler { return New(w, WithFaults(f)) },
		AuditLog:  simcloud.AuditLog{Name: "cloud-audit-logs", Title: "Cloud Audit Logs"},
		OwnsAudit: func(a *world.AuditEvent) bool { return a.Cloud == CloudGCP },
		// A managed instance group's deletes are made by the project's
		// Google APIs service agent.
		Termination: func(a *world.AuditEvent) (bool, bool) {
			return a.Operation == "v1.compute.instances.delete", strings.HasSuffix(a.PrincipalID, "@cloudservices.gserviceaccount.com")
		},
		Host:       gcpHost{},
		Operations: Operations,
		Kinds: []simcloud.Kind{
			simcloud.VMGroupKind("a managed instance group (zonal)", ScheduleMIGResizeLocked),
			{Name: simcloud.KindServiceAccount, Doc: "a service account; roles are project roles granted to it",
				Fields: []string{"roles"}, Check: checkRoles, Apply: grantRoles},
			simcloud.BucketKind(),
		},
		PrincipalCredentialLocked: func(w *world.World, _ simcloud.Site, principal string) (*simcloud.Credential, bool, error) {
			t, err := gcpworld.Of(w).IssueToken(principal, "gcloud", "", time.Hour)
			if err != nil {
				return nil, false, fmt.Errorf("signing in as %s: %w", principal, err)
			}
			return &simcloud.Credential{Cloud: CloudGCP, Label: "user-token", Principal: principal, Token: t.Value, Expires: t.Expires}, true, nil
		},
	})
}

// ScheduleMIGResizeLocked schedules a zonal managed instance group of the
// site to shrink to desired at at; each VM the autoscaler deletes is
// recorded as the service agent's system event, as Cloud Audit Logs show it.
func ScheduleMIGResizeLocked(w *world.World, site simcloud.Site, group string, at time.Time, desired int) error {
	return gcpworld.Of(w).ScheduleResize(gcpworld.MIGKey(site.Account, site.Prop("zone"), group, false), at, desired,
		func(inst *gcpworld.Instance, at time.Time) {
			RecordSystemEventLocked(w, at, inst.Project, inst.Zone, "v1.compute.instances.delete", "gce_instance", inst.Key,
				map[string]string{"instance_id": strconv.FormatUint(inst.ID, 10), "zone": inst.Zone, "project_id": inst.Project}, 40*time.Second)
		})
}

func checkRoles(r *simcloud.Resource) (string, error) {
	for i, role := range r.Roles {
		if !gcpworld.RoleKnown(role) {
			return fmt.Sprintf("roles[%d]", i), fmt.Errorf("unknown or unmodelled GCP role %q (e.g. roles/compute.securityAdmin)", role)
		}
	}
	return "", nil
}

// serviceAccountEmail is a service account's email: the name as given, or
// the account id in the site's project.
func serviceAccountEmail(site simcloud.Site, name string) string {
	if strings.Contains(name, "@") {
		return name
	}
	return name + "@" + site.Account + ".iam.gserviceaccount.com"
}

// grantRoles grants the resource's project roles to the service account:
// the over-privilege that turns a stolen token into a persistent way in.
func grantRoles(w *world.World, env simcloud.Env, r *simcloud.Resource, _ time.Time) error {
	site := env.Site()
	email := serviceAccountEmail(site, r.Name)
	if gcpworld.Of(w).ServiceAccounts.Lookup(email) == nil {
		return fmt.Errorf("service account %s does not exist in the preset", email)
	}
	for _, role := range r.Roles {
		if err := gcpworld.Of(w).Grant(site.Account, role, "serviceAccount:"+email); err != nil {
			return fmt.Errorf("granting %s to %s: %w", role, email, err)
		}
	}
	return nil
}

// gcpHost is the view from a Compute Engine VM.
type gcpHost struct{}

// GroupMembersLocked lists a zonal managed instance group's members in
// creation order: the autoscaler deletes the last first.
func (gcpHost) GroupMembersLocked(w *world.World, site simcloud.Site, group string) ([]string, error) {
	m := gcpworld.Of(w).MIGs.Lookup(gcpworld.MIGKey(site.Account, site.Prop("zone"), group, false))
	if m == nil {
		return nil, fmt.Errorf("managed instance group %q does not exist", group)
	}
	return append([]string(nil), m.Members...), nil
}

func (gcpHost) OpenFlowLocked(w *world.World, vm string, spec world.FlowSpec) (*world.Flow, error) {
	return gcpworld.Of(w).OpenFlow(vm, spec)
}

// FactsLocked: the VM's network and the firewall rule that admits fromIP
// to port.
func (gcpHost) FactsLocked(w *world.World, vm, fromIP string, port int) map[string]string {
	inst := gcpworld.Of(w).Instances.Lookup(vm)
	if inst == nil || len(inst.NICs) == 0 {
		return nil
	}
	facts := map[string]string{"network": inst.NICs[0].Network}
	if ok, rule := gcpworld.Of(w).FirewallDecision(inst, "INGRESS", "tcp", port, fromIP); ok {
		facts["exposed_by"] = gcpworld.FirewallKey(inst.Project, rule)
	}
	return facts
}

// CredentialLocked asks the VM's metadata server for a token of its
// service account.
func (gcpHost) CredentialLocked(w *world.World, vm string) (*simcloud.Credential, map[string]string, error) {
	t, err := gcpworld.Of(w).InstanceToken(vm)
	if err != nil {
		return nil, nil, err
	}
	return &simcloud.Credential{Cloud: CloudGCP, Principal: t.Principal, Token: t.Value, Expires: t.Expires},
		map[string]string{"service_account": t.Principal, "expires": t.Expires.UTC().Format(time.RFC3339)}, nil
}

// AdmitsLocked says whether a VPC firewall rule (by its resource path)
// still lets fromIP reach port on a running VM of its network with an
// external address: the rule must be the one deciding.
func (gcpHost) AdmitsLocked(w *world.World, rule, fromIP string, port int) (bool, string, string) {
	g := gcpworld.Of(w)
	fw := g.Firewalls.Lookup(rule)
	if fw == nil {
		return false, "", "NOT_FOUND"
	}
	for _, k := range g.Instances.Keys() {
		inst := g.Instances.Lookup(k)
		if inst.Status != gcpworld.StatusRunning || len(inst.NICs) == 0 || inst.NICs[0].Network != fw.Network || inst.PublicIP() == "" {
			continue
		}
		if ok, by := gcpworld.Of(w).FirewallDecision(inst, "INGRESS", "tcp", port, fromIP); ok && by == fw.Name {
			return true, inst.Key, ""
		}
	}
	return false, "", "Blocked"
}

// AcceptsLocked: the VM needs an external access config and the VPC
// firewall must let the connection's first packet in (the firewall is
// stateful: answers go out).
func (gcpHost) AcceptsLocked(w *world.World, vm, fromIP string, port int) (bool, string) {
	if err := gcpworld.Of(w).AdmitFlow(vm, simcloud.ClientFlow(fromIP, port)); err != nil {
		return false, simcloud.RefusalCode(err)
	}
	return true, ""
}

// ArtifactLocked: VPC firewall rules and instances (not deleted).
func (gcpHost) ArtifactLocked(w *world.World, kind, id string) (bool, float64) {
	g := gcpworld.Of(w)
	switch kind {
	case "network_rule":
		return g.Firewalls.Lookup(id) != nil, 0
	case "vm":
		return g.Instances.Lookup(id) != nil, 0
	}
	return false, 0
}
