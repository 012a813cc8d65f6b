package simcloud

import (
	"log/slog"
	"net"
	"net/http"

	"github.com/firedrill-ir/firedrill/cloudsim/fault"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
)

// ServeConfig is what `sim serve` gives a cloud to serve it to outside
// clients.
type ServeConfig struct {
	World *world.World
	// Env is the environment a scenario seeded; nil: seed the cloud's demo
	// environment (and its managed detector).
	Env Env
	// Listener is the bound TCP listener to serve on.
	Listener net.Listener
	Faults   *fault.Set
	Logger   *slog.Logger
	// WriteFile writes a client file (a CA certificate, a key file) to
	// the state directory and returns its path.
	WriteFile func(name string, data []byte) (path string, err error)
}

// Served is one cloud served to outside clients.
type Served struct {
	Handler http.Handler
	// Listener is ServeConfig's, wrapped in TLS when the cloud needs it.
	Listener net.Listener
	// URL is the endpoint; Base reaches it (trusting its certificate).
	URL  string
	Base http.RoundTripper
	// Exports are shell lines pointing standard clients at it: the
	// responder's credentials when a scenario plays (its calls are the
	// ones scored), the administrator's otherwise; both are printed.
	Exports []string
}
