package simcloud

import (
	"fmt"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
)

// BucketKind is the bucket kind of a cloud whose buckets live in the
// world's shared bucket store (S3 buckets, Cloud Storage buckets): created
// in the site's account and region unless the preset already has it.
func BucketKind() Kind {
	return Kind{Name: KindBucket, Doc: "an object storage bucket", Fields: []string{"versioned"},
		Apply: func(w *world.World, env Env, r *Resource, _ time.Time) error {
			site := env.Site()
			b := w.Buckets.Lookup(r.Name)
			if b == nil {
				var err error
				if b, err = w.CreateBucketLocked(site.Account, site.Region, r.Name, false); err != nil {
					return fmt.Errorf("creating bucket %s: %w", r.Name, err)
				}
			} else if b.Account != site.Account {
				return fmt.Errorf("bucket %s belongs to account %s, not %s", r.Name, b.Account, site.Account)
			}
			if r.Versioned {
				b.Versioning = "Enabled"
			}
			return nil
		}}
}

// VMGroupKind is a cloud's vm_group kind: the preset seeds the group at its
// size, and applying the resource schedules its scale-in, if any, through
// schedule.
func VMGroupKind(doc string, schedule func(w *world.World, site Site, group string, at time.Time, desired int) error) Kind {
	return Kind{Name: KindVMGroup, Doc: doc, Fields: []string{"size", "scale_in"}, Check: CheckVMGroup,
		Apply: func(w *world.World, env Env, r *Resource, start time.Time) error {
			if r.ScaleIn == nil {
				return nil
			}
			if err := schedule(w, env.Site(), r.Name, start.Add(r.ScaleIn.After), r.ScaleIn.Desired); err != nil {
				return fmt.Errorf("scheduling the scale-in of %s: %w", r.Name, err)
			}
			return nil
		}}
}
