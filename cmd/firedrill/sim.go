package main

import (
	"github.com/spf13/cobra"
)

func newSimCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Run the simulated clouds",
		Long: `The simulated clouds are deterministic models of AWS (Azure and GCP to follow)
that speak each cloud's real wire protocol. Drills run them in-process on a virtual
clock; 'sim serve' runs one in real time on a loopback port so that any client can
talk to it.`,
	}
	cmd.AddCommand(newSimServeCmd())
	return cmd
}
