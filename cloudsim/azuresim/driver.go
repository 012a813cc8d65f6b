package azuresim

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/fault"
	"github.com/firedrill-ir/firedrill/cloudsim/simcloud"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/azureworld"
)

// CloudAzure is the cloud's name in scenarios and events.
const CloudAzure = "azure"

// ARMAudience is the audience of Azure Resource Manager tokens.
const ARMAudience = "https://management.azure.com/"

// The Azure driver: how a drill serves, seeds and observes the simulated
// Azure. Sites carry the tenant and the resource group as properties.
func init() {
	simcloud.Register(&simcloud.Driver{
		Cloud:   CloudAzure,
		Handler: func(w *world.World, f *fault.Set) http.Handler { return New(w, WithFaults(f)) },
		// azcore's bearer-token policy refuses plain HTTP.
		TLS:       true,
		AuditLog:  simcloud.AuditLog{Name: "activity-log", Title: "the Activity Log"},
		OwnsAudit: func(a *world.AuditEvent) bool { return a.Cloud == CloudAzure },
		Termination: func(a *world.AuditEvent) (bool, bool) {
			deletes := a.Operation == "Microsoft.Compute/virtualMachineScaleSets/delete/action" ||
				a.Operation == "Microsoft.Compute/virtualMachines/delete"
			return deletes, a.PrincipalID == "Microsoft.Insights/autoscaleSettings"
		},
		Host: azureHost{},
		Kinds: []simcloud.Kind{
			simcloud.VMGroupKind("a virtual machine scale set", func(w *world.World, site simcloud.Site, group string, at time.Time, desired int) error {
				return azureworld.Of(w).ScheduleScaleIn(scaleSetID(site, group), at, desired)
			}),
		},
		PrincipalCredentialLocked: appToken,
		Operations:                Operations,
	})
}

func scaleSetID(site simcloud.Site, name string) string {
	return azureworld.ResourceID(site.Account, site.Prop("resource_group"), "Microsoft.Compute", "virtualMachineScaleSets", name)
}

// appToken mints an ARM token for an application, by display name, object
// id or client id: what its client-credentials sign-in would return.
func appToken(w *world.World, _ simcloud.Site, name string) (*simcloud.Credential, bool, error) {
	az := azureworld.Of(w)
	for _, id := range az.Principals.Keys() {
		p := az.Principals.Lookup(id)
		if p.Deleted || p.VM != "" || (p.DisplayName != name && p.ObjectID != name && p.AppID != name) {
			continue
		}
		raw, t, err := azureworld.Of(w).IssueToken(p.ObjectID, ARMAudience, "client_credentials", azureworld.AppTokenTTL)
		if err != nil {
			return nil, false, fmt.Errorf("signing in as %s: %w", name, err)
		}
		return &simcloud.Credential{Cloud: CloudAzure, Label: "app-token", Principal: p.ObjectID, Token: raw, Expires: t.Expires}, true, nil
	}
	return nil, false, fmt.Errorf("no application %q in the tenant", name)
}

// azureHost is the view from an Azure VM.
type azureHost struct{}

// GroupMembersLocked lists a scale set's VMs oldest first: the reverse of
// the default scale-in policy's order (highest instance id first).
func (azureHost) GroupMembersLocked(w *world.World, site simcloud.Site, group string) ([]string, error) {
	ss := azureworld.Of(w).ScaleSet(scaleSetID(site, group))
	if ss == nil {
		return nil, fmt.Errorf("scale set %q does not exist", group)
	}
	cands := azureworld.Of(w).ScaleInCandidates(ss)
	out := make([]string, 0, len(cands))
	for i := len(cands) - 1; i >= 0; i-- {
		out = append(out, cands[i].ID)
	}
	return out, nil
}

func (azureHost) OpenFlowLocked(w *world.World, vm string, spec world.FlowSpec) (*world.Flow, error) {
	return azureworld.Of(w).OpenFlow(vm, spec)
}

// primaryNIC is the VM's first network interface, nil if it has none.
func primaryNIC(w *world.World, vm string) *world.ENI {
	inst := w.Instances.Lookup(vm)
	if inst == nil || len(inst.ENIs) == 0 {
		return nil
	}
	return w.ENIs.Lookup(inst.ENIs[0])
}

// FactsLocked: the NSG on the VM's NIC and the rule that admits fromIP to
// port through it.
func (azureHost) FactsLocked(w *world.World, vm, fromIP string, port int) map[string]string {
	eni := primaryNIC(w, vm)
	if eni == nil || len(eni.Groups) == 0 {
		return nil
	}
	nsg := azureworld.Of(w).NSG(eni.Groups[0])
	facts := map[string]string{"network_security_group": eni.Groups[0]}
	if ok, rule := azureworld.Of(w).NSGDecision(nsg, w.VPCs.Lookup(eni.VPC), "Inbound", "Tcp", fromIP, 50000, eni.PrivateIP, port); ok {
		facts["exposed_by"] = eni.Groups[0] + "/securityRules/" + rule
	}
	return facts
}

// CredentialLocked reads the VM's managed-identity token for ARM from IMDS.
func (azureHost) CredentialLocked(w *world.World, vm string) (*simcloud.Credential, map[string]string, error) {
	raw, t, err := azureworld.Of(w).IMDSToken(vm, "")
	if err != nil {
		return nil, nil, err
	}
	return &simcloud.Credential{Cloud: CloudAzure, Principal: t.ObjectID, Token: raw, Expires: t.Expires},
		map[string]string{"principal_id": t.ObjectID, "expires": t.Expires.UTC().Format(time.RFC3339)}, nil
}

// AdmitsLocked says whether an NSG security rule (by its resource id) still
// lets fromIP reach port on a running VM whose NIC the NSG guards: the rule
// must be the one deciding, as a connection attempt would find.
func (azureHost) AdmitsLocked(w *world.World, rule, fromIP string, port int) (bool, string, string) {
	nsgID, name, ok := strings.Cut(rule, "/securityRules/")
	nsg := azureworld.Of(w).NSG(nsgID)
	if !ok || nsg == nil {
		return false, "", "NotFound"
	}
	for _, id := range w.ENIs.Keys() {
		eni := w.ENIs.Lookup(id)
		if len(eni.Groups) == 0 || !strings.EqualFold(eni.Groups[0], nsg.ID) {
			continue
		}
		vm := azureworld.Of(w).VM(eni.Instance)
		if vm == nil || vm.Deleted || vm.PowerState != "running" {
			continue
		}
		if allowed, by := azureworld.Of(w).NSGDecision(nsg, w.VPCs.Lookup(eni.VPC), "Inbound", "Tcp", fromIP, 50000, eni.PrivateIP, port); allowed && by == name {
			return true, vm.ID, ""
		}
	}
	for _, r := range nsg.Rules {
		if r.Name == name {
			return false, "", "Blocked"
		}
	}
	return false, "", "SecurityRuleNotFound"
}

// AcceptsLocked: the VM's primary NIC must have a public IP, and its NSG
// must let the connection in (NSGs are stateful: answers go out).
func (azureHost) AcceptsLocked(w *world.World, vm, fromIP string, port int) (bool, string) {
	if err := azureworld.Of(w).AdmitFlow(vm, simcloud.ClientFlow(fromIP, port)); err != nil {
		return false, simcloud.RefusalCode(err)
	}
	if eni := primaryNIC(w, vm); eni == nil || eni.PublicIP == "" {
		return false, "NoPublicAddress"
	}
	return true, ""
}

// ArtifactLocked: NSG security rules and VMs (not deleted).
func (azureHost) ArtifactLocked(w *world.World, kind, id string) (bool, float64) {
	switch kind {
	case "network_rule":
		nsgID, name, ok := strings.Cut(id, "/securityRules/")
		if nsg := azureworld.Of(w).NSG(nsgID); ok && nsg != nil {
			for _, r := range nsg.Rules {
				if strings.EqualFold(r.Name, name) {
					return true, 0
				}
			}
		}
		return false, 0
	case "vm":
		vm := azureworld.Of(w).VM(id)
		return vm != nil && !vm.Deleted, 0
	}
	return false, 0
}
