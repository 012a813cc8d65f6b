package demo

import (
	"github.com/firedrill-ir/firedrill/cloudsim/simcloud"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/providers"
)

// The demo environments as preset packs: each seeds its cloud's demo
// environment sized by the scenario's VM group and expands into that group
// and the workload identity, which scenarios change through the preset's
// overrides (instances, scale_in, role_policies, service_account_roles).
func init() {
	res := func(cloud string, kinds ...string) []simcloud.Resource {
		var out []simcloud.Resource
		for i := 0; i < len(kinds); i += 2 {
			out = append(out, simcloud.Resource{Cloud: cloud, Kind: kinds[i], Name: kinds[i+1]})
		}
		return out
	}
	register("aws-web-asg", "an AWS account: a web Auto Scaling group behind an instance role, IAM users, buckets, GuardDuty",
		res(providers.CloudAWS, simcloud.KindRole, DemoRole, simcloud.KindVMGroup, DemoASG), DemoASG, DemoRole,
		func(w *world.World, size int) (simcloud.Env, error) {
			env, err := SeedAWS(w, Options{Instances: size, ScaleInAfter: -1})
			return awsSite{env}, err
		})
	register("azure-web-vmss", "an Azure subscription: a web scale set whose VMs' managed identities are Contributor on the resource group",
		res(providers.CloudAzure, simcloud.KindVMGroup, AzureDemoScaleSet), AzureDemoScaleSet, "",
		func(w *world.World, size int) (simcloud.Env, error) {
			env, err := SeedAzure(w, AzureOptions{Instances: size, ScaleInAfter: -1})
			return azureSite{env}, err
		})
	register("gcp-web-mig", "a GCP project: a web managed instance group running as one service account, Security Command Center",
		res(providers.CloudGCP, simcloud.KindServiceAccount, GCPDemoServiceAccount, simcloud.KindVMGroup, GCPDemoMIG), GCPDemoMIG, GCPDemoServiceAccount,
		func(w *world.World, size int) (simcloud.Env, error) {
			env, err := SeedGCP(w, GCPOptions{Instances: size, ScaleInAfter: -1})
			return gcpSite{env}, err
		})
}

// defaultGroupSize is the demo VM groups' size unless a scenario says.
const defaultGroupSize = 3

// register adds a demo preset whose VM group (the workload) starts at the
// default size; seed builds the environment with the group at a size.
func register(name, doc string, res []simcloud.Resource, group, identity string, seed func(w *world.World, size int) (simcloud.Env, error)) {
	for i := range res {
		if res[i].Kind == simcloud.KindVMGroup {
			res[i].Size = defaultGroupSize
		}
	}
	simcloud.RegisterPack(&simcloud.Pack{Name: name, Cloud: res[0].Cloud, Doc: doc, Resources: res, Group: group, Identity: identity,
		Seed: func(w *world.World, res []simcloud.Resource) (simcloud.Env, error) {
			return seed(w, groupSize(res, group))
		}})
}

// groupSize is the size the scenario gives the preset's VM group (0 keeps
// the seed's default).
func groupSize(res []simcloud.Resource, group string) int {
	if r := simcloud.Find(res, simcloud.KindVMGroup, group); r != nil {
		return r.Size
	}
	return 0
}

// Demo application data that routine activity reads.
const (
	demoAppBucket = "firedrill-demo-app-data"
	demoAppObject = "config/app.json"
)

// The seeded demo environments as simcloud environments.
type (
	awsSite   struct{ *AWSEnv }
	azureSite struct{ *AzureEnv }
	gcpSite   struct{ *GCPEnv }
)

// Site is where the AWS demo environment lives; the workload's VM group
// and the application data routine users read are properties.
func (e awsSite) Site() simcloud.Site {
	return simcloud.Site{Cloud: providers.CloudAWS, Account: e.Account, Region: e.Region,
		Props: map[string]string{"vm_group": e.ASG, "data_bucket": demoAppBucket, "data_object": demoAppObject}}
}

// Responder acts as the least-privilege firedrill-responder IAM user and
// keeps evidence in the object-lock bucket.
func (e awsSite) Responder() (providers.Target, string) {
	return providers.Target{Cloud: providers.CloudAWS, Account: e.Account, Region: e.Region,
		Credentials: &providers.StaticCredentials{AccessKeyID: e.ResponderKeyID, SecretAccessKey: e.ResponderSecret}}, e.EvidenceBucket
}

// Site is where the Azure demo environment lives: tenant, resource group
// and the web scale set are properties.
func (e azureSite) Site() simcloud.Site {
	return simcloud.Site{Cloud: providers.CloudAzure, Account: e.Subscription, Region: e.Location,
		Props: map[string]string{"tenant": e.Tenant, "resource_group": e.ResourceGroup, "vm_group": AzureDemoScaleSet}}
}

// Responder acts as the firedrill-responder application and keeps
// evidence in the evidence container.
func (e azureSite) Responder() (providers.Target, string) {
	return providers.Target{Cloud: providers.CloudAzure, Account: e.Subscription, Region: e.Location, Tenant: e.Tenant,
			Credentials: &providers.StaticCredentials{AccessKeyID: e.ResponderClientID, SecretAccessKey: e.ResponderSecret}},
		e.StorageAccount + "/" + e.EvidenceContainer
}

// Site is where the GCP demo environment lives: the zone and the web MIG
// are properties.
func (e gcpSite) Site() simcloud.Site {
	return simcloud.Site{Cloud: providers.CloudGCP, Account: e.Project, Region: e.Region,
		Props: map[string]string{"zone": e.Zone, "vm_group": GCPDemoMIG}}
}

// Responder acts as the responder user with its static token and keeps
// evidence in the forensics bucket.
func (e gcpSite) Responder() (providers.Target, string) {
	return providers.Target{Cloud: providers.CloudGCP, Account: e.Project, Region: e.Region,
		Credentials: &providers.StaticCredentials{AccessKeyID: e.GCPEnv.Responder, SecretAccessKey: e.ResponderToken}}, e.EvidenceBucket
}
