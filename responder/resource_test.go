package responder

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/clock"
	"github.com/firedrill-ir/firedrill/providers"
	"github.com/firedrill-ir/firedrill/responder/action"
	"github.com/firedrill-ir/firedrill/timeline"
)

// bucketProvider is a test cloud that can describe and block buckets:
// the kind of provider a storage playbook needs, with nothing of a VM's.
type bucketProvider struct{ stubProvider }

// testBucketBlocker is a capability defined by a test: adding one is an
// interface and its implementations, nothing else.
type testBucketBlocker interface {
	BlockBucket(ctx context.Context, bucket string) error
}

func (bucketProvider) BlockBucket(context.Context, string) error { return nil }

func init() {
	action.RegisterDescriber(action.Describer{Kind: providers.KindBucket, Needs: action.Need[testBucketBlocker](),
		EvidenceKind: "bucket_record", Describe: func(ctx context.Context, x *action.Run) (map[string]any, []byte, error) {
			f := map[string]any{"versioning": "Enabled", "public": false}
			b, err := json.Marshal(f)
			return f, b, err
		}})
	action.Register(action.Spec{Name: "test_block_bucket", Mutates: true, Kinds: []providers.Kind{providers.KindBucket},
		Needs: []action.Capability{action.Need[testBucketBlocker]()},
		Run: func(ctx context.Context, x *action.Run) (map[string]any, error) {
			bb, err := action.Get[testBucketBlocker](x)
			if err != nil {
				return nil, err
			}
			return map[string]any{"blocked": x.ResourceID()}, bb.BlockBucket(ctx, x.ResourceID())
		}})
	action.Register(action.Spec{Name: "test_manual_block", Mutates: true,
		Run: func(ctx context.Context, x *action.Run) (map[string]any, error) {
			return map[string]any{"ticket": "opened for " + x.ResourceID()}, nil
		}})
}

// bucketPlaybook is a playbook about buckets written in YAML alone from
// registered actions.
const bucketPlaybook = `id: bucket-test
title: Bucket test
clouds: [aws, azure]
resources: [bucket]
severity: high
triggers:
  findings:
    aws: ["Exfiltration:S3/AnomalousBehavior"]
evidence:
  - {id: record, action: describe_resource, params: {store: false}}
outcomes: [{id: block}, {id: watch}]
decisions:
  - id: public
    question: Is the bucket public or unversioned?
    predicate: 'facts.resource.kind == "bucket" && facts.resource.versioning == "Enabled"'
    yes: block
    no: watch
containment:
  - id: block
    action: test_block_bucket
    needs: [record]
    when: block
    fallback:
      azure: {action: test_manual_block}
`

func respondTo(t *testing.T, pb *Playbook, p providers.Provider, ref providers.ResourceRef) (*Case, []timeline.Event, error) {
	t.Helper()
	clk := clock.NewVirtual(epoch, 1)
	tl := timeline.New(clk)
	r, err := New(Options{Clock: clk, Timeline: tl, Provider: p, Playbook: pb, CaseID: "c"})
	require.NoError(t, err)
	var c *Case
	var rerr error
	clk.Go(context.Background(), "test", func(ctx context.Context) {
		c, rerr = r.Respond(ctx, Trigger{Kind: TriggerFinding, Type: "Exfiltration:S3/AnomalousBehavior", Resource: ref})
	})
	require.NoError(t, clk.Run(context.Background()))
	return c, tl.Events(), rerr
}

// A finding about a bucket starts a case about that bucket, described by
// the bucket describer (facts.resource.*), contained by a bucket action.
func TestACaseAboutABucket(t *testing.T) {
	pb, err := LoadPlaybook("bucket.yaml", []byte(bucketPlaybook))
	require.NoError(t, err)
	r, err := New(Options{Clock: clock.NewVirtual(epoch, 1), Timeline: timeline.New(clock.NewVirtual(epoch, 1)),
		Provider: bucketProvider{}, Playbook: pb})
	require.NoError(t, err)
	bucket := providers.Ref("aws", providers.KindBucket, "corp-data")
	got := r.Matching("aws", []providers.Finding{
		{ID: "f1", Type: "Exfiltration:S3/AnomalousBehavior", Resource: bucket},
		{ID: "f2", Type: "Exfiltration:S3/AnomalousBehavior", Resource: providers.Ref("aws", providers.KindVM, "i-1")},
	}, nil)
	require.Len(t, got, 1, "a VM finding does not start a bucket case")
	require.Equal(t, bucket, got[0].Resource)

	c, ev, err := respondTo(t, pb, bucketProvider{}, bucket)
	require.NoError(t, err)
	require.Equal(t, "corp-data", c.Resource)
	require.Equal(t, bucket, c.Ref)
	require.Equal(t, "block", c.Outcome, "the predicate read facts.resource.versioning")
	rec, _ := c.Step("block")
	require.Equal(t, StatusSucceeded, rec.Status)
	require.Equal(t, "corp-data", rec.Output["blocked"])
	require.Equal(t, "bucket", c.Facts()["resource"].(map[string]any)["kind"])
	require.True(t, c.Contained)
	require.Equal(t, "aws", find(ev, timeline.StepStart, "block").Cloud)
}

// A cloud without the capability runs the playbook's fallback action for
// that cloud in the step's place; without a fallback the step is skipped
// with the missing capability named.
func TestFallbackRunsInPlaceOfAMissingCapability(t *testing.T) {
	pb, err := LoadPlaybook("bucket.yaml", []byte(bucketPlaybook))
	require.NoError(t, err)
	az := azureStub{}
	// The Azure stub cannot describe buckets either: describe is skipped
	// and block (which needs it) is skipped for the same reason; make the
	// decision answerable by dropping the need.
	pb.Containment[0].Needs = nil
	pb.Decisions[0].Predicate = "true"
	pb2, err := LoadPlaybook("bucket.yaml", mustYAML(t, pb))
	require.NoError(t, err)
	c, ev, err := respondTo(t, pb2, az, providers.Ref("azure", providers.KindBucket, "acct/container"))
	require.NoError(t, err)
	start := find(ev, timeline.StepStart, "block")
	require.Equal(t, "test_manual_block", start.Detail["action"])
	require.Equal(t, "test_block_bucket", start.Detail["fallback_for"])
	rec, _ := c.Step("block")
	require.Equal(t, "opened for acct/container", rec.Output["ticket"])
	skip := find(ev, timeline.StepSkip, "record")
	require.Contains(t, skip.Message, "azure has no test_bucket_blocker capability")
	require.True(t, c.Contained, "a fallback is containment done the cloud's way")
}

type azureStub struct{}

func (azureStub) Cloud() string            { return "azure" }
func (azureStub) Target() providers.Target { return providers.Target{Cloud: "azure"} }

// mustYAML round-trips a playbook through its YAML form.
func mustYAML(t *testing.T, pb *Playbook) []byte {
	t.Helper()
	b, err := MarshalPlaybook(pb)
	require.NoError(t, err)
	return b
}

// The loader rejects fallbacks and kinds that cannot work.
func TestLoadRejectsBadFallbacksAndKinds(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"unknown fallback action", strings.Replace(bucketPlaybook, "{action: test_manual_block}", "{action: nope}", 1),
			`containment[0].fallback.azure.action: unknown action "nope"`},
		{"fallback for a cloud the playbook does not cover", strings.Replace(bucketPlaybook, "      azure: {", "      gcp: {", 1),
			`containment[0].fallback.gcp: cloud "gcp" is not among the playbook's clouds`},
		{"empty fallback", strings.Replace(bucketPlaybook, "{action: test_manual_block}", "{}", 1),
			`containment[0].fallback.azure: says nothing`},
		{"action on another kind", strings.Replace(bucketPlaybook, "action: test_block_bucket", "action: isolate_network", 1),
			`containment[0].action: action isolate_network acts on vm resources; the playbook's cases are about bucket`},
		{"unknown kind", strings.Replace(bucketPlaybook, "resources: [bucket]", "resources: [bukket]", 1),
			`resources[0]: unknown resource kind "bukket"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadPlaybook("bucket.yaml", []byte(tc.yaml))
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

// A finding about one kind resolves to the kind the playbook acts on
// through a resolver registered for the cloud.
func TestFindingsResolveToThePlaybooksKind(t *testing.T) {
	providers.RegisterResolver(providers.Resolver{Cloud: "azure", From: providers.KindAccessKey, To: providers.KindVM,
		Types: []string{"Test:KeyUsedOutside"},
		Resolve: func(ctx context.Context, p providers.Provider, f providers.Finding) ([]providers.ResourceRef, error) {
			return []providers.ResourceRef{providers.Ref("azure", providers.KindVM, "vm-of-"+f.Resource.ID)}, nil
		}})
	pb := testPlaybook(t, "")
	pb.Clouds = []string{"azure"}
	pb.Triggers.Findings = map[string][]string{"azure": {"Test:KeyUsedOutside", "Test:Other"}}
	clk := clock.NewVirtual(epoch, 1)
	r, err := New(Options{Clock: clk, Timeline: timeline.New(clk), Provider: azureStub{}, Playbook: pb})
	require.NoError(t, err)
	fs := []providers.Finding{
		{ID: "a", Type: "Test:KeyUsedOutside", Resource: providers.Ref("azure", providers.KindAccessKey, "k1")},
		{ID: "b", Type: "Test:Other", Resource: providers.Ref("azure", providers.KindAccessKey, "k2")},
	}
	r.resolveFindings(context.Background(), fs)
	got := r.Matching("azure", fs, nil)
	require.Len(t, got, 1, "only the type the resolver covers resolves")
	require.Equal(t, providers.Ref("azure", providers.KindVM, "vm-of-k1"), got[0].Resource)
}

// facts.capabilities names every capability registered actions need,
// after its provider interface.
func TestCapabilityFactsAreTheProviderInterfaces(t *testing.T) {
	f := CapabilityFacts(bucketProvider{})
	require.Equal(t, true, f["test_bucket_blocker"])
	require.Equal(t, false, f["session_revoker"])
	require.Contains(t, f, "network_isolator")
	_ = time.Second
}

// goneProvider describes an instance that is terminated, or no longer
// exists at all.
type goneProvider struct {
	stubProvider
	notFound bool
}

func (g goneProvider) DescribeInstance(_ context.Context, id string) (*providers.Instance, error) {
	if g.notFound {
		return nil, &providers.OpError{Op: "ec2:DescribeInstances", Resource: id, Kind: providers.ErrNotFound}
	}
	return &providers.Instance{ID: id, State: "terminated", Gone: true}, nil
}

// A remediation check fails with "resource gone" on an instance that is
// terminated or deleted: it must not pass on nothing (a terminated
// instance has no interface in the wrong group).
func TestChecksCannotPassOnNothing(t *testing.T) {
	pb := testPlaybook(t, `
remediation:
  - {id: iso, item: isolated, owner: ir, check: {id: chk_isolated, action: check_isolated}}
  - {id: idn, item: identity, owner: ir, check: {id: chk_identity, action: check_identity_detached}}
  - {id: asg, item: scaling, owner: ir, check: {id: chk_scaling, action: check_scale_in_protected}}
`)
	for _, notFound := range []bool{false, true} {
		c, _, _ := respond(t, pb, "gone", func(o *Options) { o.Provider = goneProvider{notFound: notFound} })
		for _, id := range []string{"chk_identity", "chk_scaling"} {
			rec, _ := c.Step(id)
			require.Equal(t, StatusFailed, rec.Status, id)
			require.Contains(t, rec.Error, "resource gone", id)
		}
		rec, _ := c.Step("chk_isolated")
		require.Equal(t, StatusFailed, rec.Status, "no isolation recorded, and nothing to isolate")
	}
}
