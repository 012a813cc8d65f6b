package gcpsim

import "testing"

func TestUnservedOperationNames(t *testing.T) {
	for _, tc := range []struct{ verb, path, want string }{
		{"POST", "/compute/v1/projects/p/zones/z/instances/vm/setMetadata", "compute.instances.setMetadata"},
		{"POST", "/compute/v1/projects/p/zones/z/instances", "compute.instances.insert"},
		{"GET", "/compute/v1/projects/p/global/images", "compute.images.list"},
		{"GET", "/compute/v1/projects/p/global/images/debian", "compute.images.get"},
		{"GET", "/compute/v1/projects/p/aggregated/addresses", "compute.addresses.aggregatedList"},
		{"DELETE", "/compute/v1/projects/p/global/snapshots/s", "compute.snapshots.delete"},
		{"DELETE", "/v1/projects/p/serviceAccounts/sa@p.iam.gserviceaccount.com/keys/k", "iam.keys.delete"},
		{"POST", "/v1/projects/p/serviceAccounts", "iam.serviceAccounts.create"},
		{"POST", "/v1/projects/p:testIamPermissions", "cloudresourcemanager.projects.testIamPermissions"},
		{"GET", "/v3/projects/p", "cloudresourcemanager.projects.get"},
		{"PATCH", "/v2/projects/p/sources/1/locations/global/findings/f", "securitycenter.findings.patch"},
		{"GET", "/v2/projects/p/sinks", "logging.sinks.list"},
		{"POST", "/batch/compute/v1", "compute.batch"},
		{"GET", "/compute/v1/projects/p/zones", "compute.zones.list"},
		{"GET", "/compute/v1/projects/p/regions/r", "compute.regions.get"},
		{"GET", "/v1/projects", "cloudresourcemanager.projects.list"},
		{"GET", "/storage/v1/b", "storage.buckets.list"},
		{"GET", "/storage/v1/b/evidence/o/mem.img", "storage.objects.get"},
		{"GET", "/storage/v1/b/evidence/iam", "storage.iam.list"},
		{"GET", "/pubsub/v1/projects/p/topics", "pubsub.topics.list"},
		{"GET", "/container/v1/projects/p/locations/-/clusters", "container.clusters.list"},
		{"GET", "/nothing", ""},
	} {
		if got := unservedOperation(tc.verb, tc.path); got != tc.want {
			t.Errorf("unservedOperation(%s %s) = %q, want %q", tc.verb, tc.path, got, tc.want)
		}
	}
}
