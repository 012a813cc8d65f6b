package main

import (
	"github.com/spf13/cobra"
)

func newSimCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Run the simulated clouds",
		Long: `The simulated clouds are deterministic models of AWS, Azure and GCP that speak
each cloud's real wire protocol. Drills run them in-process on a virtual clock;
'sim serve' runs them in real time on loopback ports so that any client can talk to
them, optionally with a scenario's attack playing live for your own responder;
'sim score' asks it for the scorecard; 'sim ops' lists what each cloud serves.`,
	}
	cmd.AddCommand(newSimServeCmd(), newSimScoreCmd(), newSimOpsCmd())
	return cmd
}
