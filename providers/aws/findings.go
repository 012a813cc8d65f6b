package aws

import (
	"context"
	"sort"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/guardduty"
	gdtypes "github.com/aws/aws-sdk-go-v2/service/guardduty/types"

	"github.com/firedrill-ir/firedrill/providers"
)

// getFindingsBatch is GuardDuty's limit of finding ids per GetFindings call.
const getFindingsBatch = 50

// List returns the findings of every detector in the region updated at or
// after since. The time filter is pushed down as an updatedAt criterion and
// re-checked here; results are ordered by update time, then id.
func (f *Provider) ListFindings(ctx context.Context, since time.Time) ([]providers.Finding, error) {
	p := f
	var detectors []string
	dp := guardduty.NewListDetectorsPaginator(p.gd, &guardduty.ListDetectorsInput{})
	for dp.HasMorePages() {
		page, err := dp.NextPage(ctx)
		if err != nil {
			return nil, wrapErr("guardduty:ListDetectors", "", err)
		}
		detectors = append(detectors, page.DetectorIds...)
	}
	sort.Strings(detectors)
	var out []providers.Finding
	for _, det := range detectors {
		in := &guardduty.ListFindingsInput{DetectorId: awssdk.String(det), MaxResults: awssdk.Int32(50)}
		if !since.IsZero() {
			in.FindingCriteria = &gdtypes.FindingCriteria{Criterion: map[string]gdtypes.Condition{
				"updatedAt": {GreaterThanOrEqual: awssdk.Int64(since.UnixMilli())}}}
		}
		var ids []string
		fp := guardduty.NewListFindingsPaginator(p.gd, in)
		for fp.HasMorePages() {
			page, err := fp.NextPage(ctx)
			if err != nil {
				return nil, wrapErr("guardduty:ListFindings", det, err)
			}
			ids = append(ids, page.FindingIds...)
		}
		for start := 0; start < len(ids); start += getFindingsBatch {
			batch := ids[start:min(start+getFindingsBatch, len(ids))]
			got, err := p.gd.GetFindings(ctx, &guardduty.GetFindingsInput{DetectorId: awssdk.String(det), FindingIds: batch})
			if err != nil {
				return nil, wrapErr("guardduty:GetFindings", det, err)
			}
			for _, g := range got.Findings {
				nf := toFinding(g)
				if since.IsZero() || !nf.UpdatedAt.Before(since) {
					out = append(out, nf)
				}
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

// parseGDTime reads GuardDuty's ISO-8601 timestamps (with or without
// fractional seconds); an unreadable one becomes the zero time.
func parseGDTime(s *string) time.Time {
	if s == nil {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

func toFinding(g gdtypes.Finding) providers.Finding {
	f := providers.Finding{
		ID: awssdk.ToString(g.Id), Type: awssdk.ToString(g.Type), Severity: awssdk.ToFloat64(g.Severity),
		Title: awssdk.ToString(g.Title), CreatedAt: parseGDTime(g.CreatedAt), UpdatedAt: parseGDTime(g.UpdatedAt), Count: 1,
	}
	if r := g.Resource; r != nil {
		f.ResourceType = awssdk.ToString(r.ResourceType)
		if r.InstanceDetails != nil {
			f.ResourceID = awssdk.ToString(r.InstanceDetails.InstanceId)
		}
		if r.AccessKeyDetails != nil {
			f.AccessKeyID = awssdk.ToString(r.AccessKeyDetails.AccessKeyId)
			if f.ResourceID == "" {
				f.ResourceID = f.AccessKeyID
			}
		}
		if f.ResourceID == "" && len(r.S3BucketDetails) > 0 {
			f.ResourceID = awssdk.ToString(r.S3BucketDetails[0].Name)
		}
	}
	if g.Service != nil && g.Service.Count != nil {
		f.Count = int(*g.Service.Count)
	}
	if kind, ok := gdResourceKinds[f.ResourceType]; ok && f.ResourceID != "" {
		f.Resource = providers.Ref(providers.CloudAWS, kind, f.ResourceID)
	}
	return f
}

// gdResourceKinds types GuardDuty's resource types.
var gdResourceKinds = map[string]providers.Kind{
	"Instance": providers.KindVM, "AccessKey": providers.KindAccessKey, "S3Bucket": providers.KindBucket,
	"EKSCluster": providers.KindCluster, "Lambda": providers.KindFunction, "RDSDBInstance": providers.KindDatabase,
	"Container": providers.KindPod,
}

// An EC2 role session is named after its instance, so the audit log's
// caller for a key (arn:aws:sts::…:assumed-role/<role>/i-…) names the
// instance the key was issued to: GuardDuty's
// InstanceCredentialExfiltration findings name only the key.
func init() {
	providers.RegisterResolver(providers.Resolver{Cloud: providers.CloudAWS, From: providers.KindAccessKey, To: providers.KindVM,
		Resolve: func(ctx context.Context, pv providers.Provider, f providers.Finding) ([]providers.ResourceRef, error) {
			p, ok := pv.(*Provider)
			if !ok {
				return nil, nil
			}
			now := p.sleeper.Now()
			events, err := p.QueryAudit(ctx, providers.AuditQuery{Start: now.Add(-24 * time.Hour), End: now,
				AccessKeyID: f.Resource.ID, Max: 50})
			if err != nil {
				return nil, err
			}
			for _, e := range events {
				if strings.HasPrefix(e.Session, "i-") {
					return []providers.ResourceRef{providers.Ref(providers.CloudAWS, providers.KindVM, e.Session)}, nil
				}
			}
			return nil, nil
		}})
}
