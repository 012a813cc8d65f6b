// Package all builds every cloud's provider into the importing binary:
// import it for its side effect, then build providers with providers.Open.
package all

import (
	_ "github.com/firedrill-ir/firedrill/providers/aws"   // AWS on aws-sdk-go-v2
	_ "github.com/firedrill-ir/firedrill/providers/azure" // Azure on azcore and the arm* clients
	_ "github.com/firedrill-ir/firedrill/providers/gcp"   // GCP on cloud.google.com/go
)
