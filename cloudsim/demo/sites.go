package demo

import "github.com/firedrill-ir/firedrill/cloudsim/simcloud"

// AWSEnvOf is the AWS demo environment a preset pack seeded (ok false for
// any other environment).
func AWSEnvOf(env simcloud.Env) (*AWSEnv, bool) {
	s, ok := env.(awsSite)
	return s.AWSEnv, ok
}

// AzureEnvOf is the Azure demo environment a preset pack seeded.
func AzureEnvOf(env simcloud.Env) (*AzureEnv, bool) {
	s, ok := env.(azureSite)
	return s.AzureEnv, ok
}

// GCPEnvOf is the GCP demo environment a preset pack seeded.
func GCPEnvOf(env simcloud.Env) (*GCPEnv, bool) {
	s, ok := env.(gcpSite)
	return s.GCPEnv, ok
}

// ResponderIdentities are the GCP responder's identities: the responder
// user and the service account whose key file `sim serve` writes.
func (e gcpSite) ResponderIdentities() []string {
	return []string{e.GCPEnv.Responder, e.ResponderServiceAccount}
}
