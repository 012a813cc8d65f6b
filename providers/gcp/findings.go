package gcp

import (
	"context"
	"path"
	"sort"
	"strings"
	"time"

	"cloud.google.com/go/securitycenter/apiv2/securitycenterpb"
	"google.golang.org/api/iterator"

	"github.com/firedrill-ir/firedrill/providers"
)

// List returns the project's active Security Command Center findings
// created or seen at or after since, oldest first. The time cut is made
// locally because a finding can surface (create_time) long after its event
// (event_time), and a responder must not miss it.
func (f *Provider) ListFindings(ctx context.Context, since time.Time) ([]providers.Finding, error) {
	p := f
	parent := "projects/" + p.project + "/sources/-"
	var out []providers.Finding
	err := p.call(ctx, "securitycenter.findings.list", parent, func(ctx context.Context) error {
		out = nil
		it := p.scc.ListFindings(ctx, &securitycenterpb.ListFindingsRequest{Parent: parent, Filter: `state="ACTIVE"`, PageSize: 1000}, noRetry)
		for {
			r, err := it.Next()
			if err == iterator.Done {
				return nil
			}
			if err != nil {
				return err
			}
			fd := r.GetFinding()
			created, event := fd.GetCreateTime().AsTime(), fd.GetEventTime().AsTime()
			updated := created
			if event.After(updated) {
				updated = event
			}
			if updated.Before(since) {
				continue
			}
			nf := providers.Finding{ID: fd.GetName(), Type: fd.GetCategory(), Severity: severity(fd.GetSeverity()),
				Title: fd.GetCategory(), ResourceID: strings.TrimPrefix(strings.TrimPrefix(fd.GetResourceName(), "//compute.googleapis.com/"), "//iam.googleapis.com/"),
				CreatedAt: created, UpdatedAt: updated, Count: 1}
			switch r.GetResource().GetType() {
			case "google.compute.Instance":
				nf.ResourceType = "Instance"
			case "google.iam.ServiceAccount":
				nf.ResourceType = "ServiceAccount"
			default:
				nf.ResourceType = r.GetResource().GetType()
			}
			if v, ok := fd.GetSourceProperties()["detectionCount"]; ok && v.GetNumberValue() >= 1 {
				nf.Count = int(v.GetNumberValue())
			}
			if k := fd.GetAccess().GetServiceAccountKeyName(); k != "" {
				nf.AccessKeyID = path.Base(k)
			}
			if kind, ok := sccResourceKinds[r.GetResource().GetType()]; ok && nf.ResourceID != "" {
				nf.Resource = providers.Ref(providers.CloudGCP, kind, nf.ResourceID)
			}
			out = append(out, nf)
		}
	})
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].UpdatedAt.Equal(out[j].UpdatedAt) {
			return out[i].UpdatedAt.Before(out[j].UpdatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, err
}

// severity maps SCC's levels onto GuardDuty's 0–10 scale so triggers can
// compare findings across clouds.
func severity(s securitycenterpb.Finding_Severity) float64 {
	switch s {
	case securitycenterpb.Finding_CRITICAL:
		return 9
	case securitycenterpb.Finding_HIGH:
		return 8
	case securitycenterpb.Finding_MEDIUM:
		return 5
	case securitycenterpb.Finding_LOW:
		return 2
	}
	return 0
}

// sccResourceKinds types Security Command Center's resource types.
var sccResourceKinds = map[string]providers.Kind{
	"google.compute.Instance":              providers.KindVM,
	"google.compute.Disk":                  providers.KindDisk,
	"google.compute.Firewall":              providers.KindNetworkRule,
	"google.iam.ServiceAccount":            providers.KindPrincipal,
	"google.cloud.storage.Bucket":          providers.KindBucket,
	"google.cloud.functions.CloudFunction": providers.KindFunction,
	"google.container.Cluster":             providers.KindCluster,
}
