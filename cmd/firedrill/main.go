// Command firedrill rehearses and runs cloud incident response across AWS,
// Azure and GCP: drills on a deterministic simulated multi-cloud, tabletop
// exercises, and live response through the official SDKs.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRootCmd().ExecuteContext(ctx); err != nil {
		var ue *usageError
		if errors.As(err, &ue) {
			fmt.Fprintln(os.Stderr, "firedrill:", err)
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "firedrill:", err)
		os.Exit(1)
	}
}
