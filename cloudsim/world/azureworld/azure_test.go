package azureworld

import (
	"testing"
	"time"

	"github.com/firedrill-ir/firedrill/clock"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
)

// TestRoleAssignmentDeletionPropagates: the state is one per world and
// created on first use; a role assignment deleted through the wire goes on
// authorizing until the deletion has propagated (Knobs.AzureRBACPropagation),
// while readers see it gone at once.
func TestRoleAssignmentDeletionPropagates(t *testing.T) {
	clk := clock.NewManual(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	w := world.New(clk, 7)
	w.Lock()
	if Has(w) {
		t.Fatal("Azure state exists before first use")
	}
	az := Of(w)
	if !Has(w) || Of(w) != az {
		t.Fatal("Of does not keep one state per world")
	}
	k := w.KnobsLocked()
	k.AzureRBACPropagation = world.Latency{Min: time.Minute, Max: time.Minute}
	if err := w.SetKnobsLocked(k); err != nil {
		t.Fatal(err)
	}
	sub := az.AddSubscription("tenant", "sub-1", "prod", "eastus")
	app := az.AddApp("responder")
	scope := "/subscriptions/" + sub.ID
	ra, err := az.AssignRole(scope, RoleReader, app.ObjectID, "seed")
	if err != nil {
		t.Fatal(err)
	}
	read := func() bool {
		return az.Authorize(app.ObjectID, "Microsoft.Compute/virtualMachines/read", scope+"/resourceGroups/rg", false)
	}
	if !read() {
		t.Fatal("Reader cannot read")
	}
	if err := az.RoleAssignmentChange(ra.ID, func() error { az.DeleteRoleAssignment(ra); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(az.RoleAssignmentsOf(app.ObjectID)) != 0 {
		t.Fatal("listing still shows the deleted assignment")
	}
	if !read() {
		t.Fatal("the deletion authorized at once, before it propagated")
	}
	w.Unlock()
	clk.Advance(time.Minute)
	w.Lock()
	defer w.Unlock()
	if read() {
		t.Fatal("the deleted assignment still authorizes after it propagated")
	}
}
