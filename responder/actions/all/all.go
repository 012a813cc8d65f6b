// Package all registers every domain's actions: the engine imports it so a
// playbook can name any of them.
package all

import (
	_ "github.com/firedrill-ir/firedrill/responder/actions/audit"    // query_audit
	_ "github.com/firedrill-ir/firedrill/responder/actions/comms"    // notify
	_ "github.com/firedrill-ir/firedrill/responder/actions/identity" // detach, revoke, remove grants
	_ "github.com/firedrill-ir/firedrill/responder/actions/network"  // isolate
	_ "github.com/firedrill-ir/firedrill/responder/actions/resource" // describe_resource
	_ "github.com/firedrill-ir/firedrill/responder/actions/vm"       // VM evidence, protection, stop
)
