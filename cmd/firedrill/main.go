// Command firedrill rehearses and runs cloud incident response across AWS,
// Azure and GCP: drills on a deterministic simulated multi-cloud, tabletop
// exercises, and live response through the official SDKs.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := execute(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
