package main

import (
	"github.com/spf13/cobra"
)

// usageError marks errors caused by bad flags or arguments; they exit with 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "firedrill",
		Short: "Rehearse and run cloud incident response on AWS, Azure and GCP",
		Long: `firedrill plays cloud attacks against a deterministic simulated multi-cloud (or
allow-listed real accounts), lets a provider-abstracted responder run the matching
playbook, and scores how fast and how well the incident was detected and contained.

The simulated clouds speak each cloud's real wire protocol, so any client works
against them: start one with 'firedrill sim serve --cloud aws' and point the AWS
CLI, boto3, Terraform or your own tooling at it.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &usageError{msg: err.Error()}
	})
	root.AddCommand(newVersionCmd(), newSimCmd(), newListCmd(), newShowCmd(), newRunCmd(), newTUICmd(), newTabletopCmd(), newReportCmd(), newRespondCmd(), newSchemaCmd())
	return root
}
