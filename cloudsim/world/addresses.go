package world

import (
	"fmt"
	"net/netip"
	"strings"
)

// Address allocation shared by the clouds' network models: every draw comes
// from the current caller's "ids" stream.

// PublicIPLocked draws a public-looking IPv4 address.
func (w *World) PublicIPLocked() string {
	firsts := []int{3, 18, 34, 44, 52, 54}
	return fmt.Sprintf("%d.%d.%d.%d", firsts[w.ids.IntN(len(firsts))], w.ids.IntN(256), w.ids.IntN(256), 1+w.ids.IntN(254))
}

// PrivateIPLocked allocates the next address of a subnet (AWS reserves the
// first four).
func (w *World) PrivateIPLocked(subnet *Subnet) string {
	p, err := netip.ParsePrefix(subnet.CIDR)
	if err != nil {
		return ""
	}
	w.seq["ip:"+subnet.ID]++
	a := p.Masked().Addr()
	for i := uint64(0); i < 3+w.seq["ip:"+subnet.ID]; i++ {
		a = a.Next()
	}
	return a.String()
}

// MACLocked draws a locally administered MAC address.
func (w *World) MACLocked() string {
	b := make([]string, 5)
	for i := range b {
		b[i] = fmt.Sprintf("%02x", w.ids.IntN(256))
	}
	return "0e:" + strings.Join(b, ":")
}
