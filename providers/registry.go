package providers

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Options are what every cloud's provider takes besides its Target.
type Options struct {
	// Sleeper is the clock every wait goes through (default: wall clock).
	Sleeper Sleeper
	// Drill: the provider runs on a virtual clock against the simulator.
	// SDK retries then never sleep on the wall clock (the drill transport
	// charges backoff on the clock instead) and client-side retry quotas
	// are off, so a long chaos drill does not run out of retries.
	Drill bool
	// Log receives the provider's own log lines (default: discarded).
	Log *slog.Logger
}

// Opener builds one cloud's provider.
type Opener func(ctx context.Context, t Target, o Options) (Provider, error)

var (
	openersMu sync.RWMutex
	openers   = map[string]Opener{}
)

// Register makes a cloud's provider available to Open. Each provider
// package registers itself in init; the importer chooses which clouds are
// built in by importing the packages (see providers/all).
func Register(cloud string, open Opener) {
	openersMu.Lock()
	defer openersMu.Unlock()
	if _, dup := openers[cloud]; dup {
		panic("providers: cloud registered twice: " + cloud)
	}
	openers[cloud] = open
}

// Clouds lists the registered clouds, sorted.
func Clouds() []string {
	openersMu.RLock()
	defer openersMu.RUnlock()
	out := make([]string, 0, len(openers))
	for c := range openers {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// Open builds the provider of t.Cloud. It makes no network call beyond what
// the cloud's credential chain needs to read its configuration.
func Open(ctx context.Context, t Target, o Options) (Provider, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	openersMu.RLock()
	open, ok := openers[t.Cloud]
	openersMu.RUnlock()
	if !ok {
		known := Clouds()
		return nil, &TargetError{Field: "Cloud", Problem: fmt.Sprintf("no provider for %q is built in (have %s)",
			t.Cloud, strings.Join(known, ", "))}
	}
	if o.Sleeper == nil {
		o.Sleeper = RealSleeper{}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return open(ctx, t, o)
}

// Close releases what a provider holds (connections of the gRPC-style
// clients), when it holds anything.
func Close(p Provider) error {
	if c, ok := p.(interface{ Close() error }); ok {
		return c.Close()
	}
	return nil
}

// KnownCloud reports whether cloud is one of the clouds firedrill knows.
func KnownCloud(cloud string) bool {
	return slices.Contains([]string{CloudAWS, CloudAzure, CloudGCP}, cloud)
}
