package azure

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/security/armsecurity"

	"github.com/firedrill-ir/firedrill/providers"
)

var severities = map[armsecurity.AlertSeverity]float64{
	armsecurity.AlertSeverityHigh: 8, armsecurity.AlertSeverityMedium: 5,
	armsecurity.AlertSeverityLow: 2, armsecurity.AlertSeverityInformational: 0,
}

// List returns the subscription's Defender alerts generated or updated at
// or after since, ordered by update time, then id. Severity maps High 8,
// Medium 5, Low 2 onto GuardDuty's scale so playbook thresholds carry over.
func (f *Provider) ListFindings(ctx context.Context, since time.Time) ([]providers.Finding, error) {
	var out []providers.Finding
	pg := f.defender.NewListPager(nil)
	for pg.More() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return nil, wrapErr("security:Alerts.List", "", err)
		}
		for _, a := range page.Value {
			nf := toFinding(a)
			if since.IsZero() || !nf.UpdatedAt.Before(since) {
				out = append(out, nf)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].UpdatedAt.Equal(out[j].UpdatedAt) {
			return out[i].UpdatedAt.Before(out[j].UpdatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

func toFinding(a *armsecurity.Alert) providers.Finding {
	f := providers.Finding{ID: str(a.Name), Count: 1}
	pr := a.Properties
	if pr == nil {
		return f
	}
	f.Type, f.Title = str(pr.AlertType), str(pr.AlertDisplayName)
	if pr.Severity != nil {
		f.Severity = severities[*pr.Severity]
	}
	if pr.TimeGeneratedUTC != nil {
		f.CreatedAt = pr.TimeGeneratedUTC.UTC()
	}
	f.UpdatedAt = f.CreatedAt
	if pr.ProcessingEndTimeUTC != nil && pr.ProcessingEndTimeUTC.After(f.UpdatedAt) {
		f.UpdatedAt = pr.ProcessingEndTimeUTC.UTC()
	}
	for _, ri := range pr.ResourceIdentifiers {
		if az, ok := ri.(*armsecurity.AzureResourceIdentifier); ok && f.ResourceID == "" {
			f.ResourceID = str(az.AzureResourceID)
			f.ResourceType = "AzureResource"
		}
	}
	if v, ok := pr.ExtendedProperties["resourceType"]; ok && v != nil {
		f.ResourceType = *v
	}
	if v, ok := pr.ExtendedProperties["Token id"]; ok && v != nil {
		f.AccessKeyID = *v
	}
	if f.ResourceID != "" {
		f.Resource = providers.Ref(providers.CloudAzure, armKind(f.ResourceID), f.ResourceID)
	}
	return f
}

// armKinds types ARM resource ids by their provider namespace and type.
var armKinds = map[string]providers.Kind{
	"microsoft.compute/virtualmachines":                         providers.KindVM,
	"microsoft.compute/virtualmachinescalesets/virtualmachines": providers.KindVM,
	"microsoft.compute/disks":                                   providers.KindDisk,
	"microsoft.storage/storageaccounts":                         providers.KindBucket,
	"microsoft.managedidentity/userassignedidentities":          providers.KindPrincipal,
	"microsoft.network/networksecuritygroups":                   providers.KindNetworkRule,
	"microsoft.web/sites":                                       providers.KindFunction,
	"microsoft.containerservice/managedclusters":                providers.KindCluster,
	"microsoft.sql/servers/databases":                           providers.KindDatabase,
}

// armKind types an ARM resource id; unknown types are "" (the finding
// still names the resource, untyped).
func armKind(id string) providers.Kind {
	segs := strings.Split(strings.Trim(strings.ToLower(id), "/"), "/")
	for i, s := range segs {
		if s != "providers" || i+2 >= len(segs) {
			continue
		}
		typ := segs[i+1]
		for j := i + 2; j < len(segs); j += 2 {
			typ += "/" + segs[j]
		}
		if k, ok := armKinds[typ]; ok {
			return k
		}
	}
	return ""
}
