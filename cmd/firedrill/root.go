package main

import (
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// helpWidth is the terminal width help text is wrapped to.
const helpWidth = 100

func init() {
	cobra.AddTemplateFunc("wrappedFlagUsages", func(f *pflag.FlagSet) string {
		return strings.TrimRight(f.FlagUsagesWrapped(helpWidth), " ")
	})
}

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
	// Flag descriptions wrap at helpWidth, so --help fits a 100-column
	// terminal however long a description is.
	tmpl := strings.NewReplacer(".LocalFlags.FlagUsages", "wrappedFlagUsages .LocalFlags",
		".InheritedFlags.FlagUsages", "wrappedFlagUsages .InheritedFlags").Replace(root.UsageTemplate())
	root.SetUsageTemplate(tmpl)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &usageError{msg: err.Error()}
	})
	root.AddCommand(newVersionCmd(), newSimCmd(), newListCmd(), newShowCmd(), newRunCmd(), newTUICmd(), newTabletopCmd(), newReportCmd(), newRespondCmd(), newSchemaCmd())
	return root
}
