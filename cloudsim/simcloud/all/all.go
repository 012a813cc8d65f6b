// Package all registers every simulated cloud's driver and the demo preset
// packs with simcloud: import it for its side effect wherever scenarios are
// loaded or drills are run.
package all

import (
	_ "github.com/firedrill-ir/firedrill/cloudsim/awssim"   // the AWS driver
	_ "github.com/firedrill-ir/firedrill/cloudsim/azuresim" // the Azure driver
	_ "github.com/firedrill-ir/firedrill/cloudsim/demo"     // the preset packs
	_ "github.com/firedrill-ir/firedrill/cloudsim/gcpsim"   // the GCP driver
)
