package simcloud_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/clock"
	"github.com/firedrill-ir/firedrill/cloudsim/simcloud"
	_ "github.com/firedrill-ir/firedrill/cloudsim/simcloud/all"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
)

// TestPresetPacksExpandIntoResourcesTheirCloudSeeds: every pack's cloud has
// a driver whose kinds take every resource the pack expands into, and
// seeding the pack then its resources builds the workload at its size, in
// a world that can tell each VM's cloud.
func TestPresetPacksExpandIntoResourcesTheirCloudSeeds(t *testing.T) {
	require.Equal(t, []string{"aws", "azure", "gcp"}, simcloud.Clouds())
	require.Equal(t, []string{"aws-web-asg", "azure-web-vmss", "gcp-web-mig"}, simcloud.Packs())
	for _, name := range simcloud.Packs() {
		t.Run(name, func(t *testing.T) {
			pack, _ := simcloud.GetPack(name)
			drv, ok := simcloud.Get(pack.Cloud)
			require.True(t, ok)
			require.NotNil(t, drv.Host)
			require.NotNil(t, simcloud.Find(pack.Resources, simcloud.KindVMGroup, pack.Group), "the overrides' VM group")
			res := append([]simcloud.Resource(nil), pack.Resources...)
			simcloud.Find(res, simcloud.KindVMGroup, pack.Group).Size = 4
			simcloud.Find(res, simcloud.KindVMGroup, pack.Group).ScaleIn = &simcloud.ScaleIn{After: time.Hour, Desired: 2}
			clk := clock.NewVirtual(time.Date(2026, 1, 15, 9, 0, 0, 0, time.UTC), 1)
			w := world.New(clk, 1)
			env, err := pack.Seed(w, res)
			require.NoError(t, err)
			site := env.Site()
			require.Equal(t, pack.Cloud, site.Cloud)
			w.Lock()
			defer w.Unlock()
			for i := range res {
				k, ok := drv.Kind(res[i].Kind)
				require.True(t, ok, res[i].Key())
				for _, f := range res[i].SetFields() {
					require.Contains(t, k.Fields, f, res[i].Key())
				}
				require.NoError(t, k.Apply(w, env, &res[i], clk.Now()), res[i].Key())
			}
			members, err := drv.Host.GroupMembersLocked(w, site, site.Prop("vm_group"))
			require.NoError(t, err)
			require.Len(t, members, 4)
			for _, m := range members {
				require.Equal(t, pack.Cloud, simcloud.CloudOfLocked(w, m))
			}
			target, bucket := env.Responder()
			require.Equal(t, pack.Cloud, target.Cloud)
			require.NotEmpty(t, bucket)
		})
	}
}
